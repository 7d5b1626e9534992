/* lower_elementwise.c — lowering of elementwise ops: one loop kernel per
 * node whose body reads each input broadcast to the output's domain and
 * applies the op's scalar function. Plain unary ops map onto one scalar op
 * of the kernel IR (the table below); activations are short formulas. */
#include <math.h>
#include <string.h>

#include "lower.h"
#include "runtime/minifloat.h"

#define NODE (&p->g->nodes[node])

/* The output buffer and input i loaded at the output's domain point. */
static uint32_t out_buf(kir_program *p, ir_id node) { return kb_value(p, p->g->nodes[node].out[0]); }

static uint32_t in_at_out(kir_program *p, ir_id node, uint32_t i) {
    const ir_node *n = &p->g->nodes[node];
    const ir_value *o = &p->g->values[n->out[0]];
    return kb_load_bcast(p, kb_value(p, n->in[i]), o->rank, o->dims);
}

static uint32_t fconst(kir_program *p, uint32_t like, double v) { return kb_const_f(p, kb_type(p, like), v); }

/* ---- unary ops that are one scalar op ---- */

static const struct { ir_op op; kx_op kx; } unary_table[] = {
    {IR_OP_Identity, KX_COUNT}, {IR_OP_Neg, KX_NEG}, {IR_OP_Abs, KX_ABS}, {IR_OP_Sign, KX_SIGN},
    {IR_OP_Reciprocal, KX_RECIP}, {IR_OP_Sqrt, KX_SQRT}, {IR_OP_Exp, KX_EXP}, {IR_OP_Log, KX_LOG},
    {IR_OP_Floor, KX_FLOOR}, {IR_OP_Ceil, KX_CEIL}, {IR_OP_Round, KX_ROUND}, {IR_OP_Erf, KX_ERF},
    {IR_OP_Sin, KX_SIN}, {IR_OP_Cos, KX_COS}, {IR_OP_Tan, KX_TAN}, {IR_OP_Asin, KX_ASIN},
    {IR_OP_Acos, KX_ACOS}, {IR_OP_Atan, KX_ATAN}, {IR_OP_Sinh, KX_SINH}, {IR_OP_Cosh, KX_COSH},
    {IR_OP_Tanh, KX_TANH}, {IR_OP_Asinh, KX_ASINH}, {IR_OP_Acosh, KX_ACOSH}, {IR_OP_Atanh, KX_ATANH},
    {IR_OP_Not, KX_NOT}, {IR_OP_BitwiseNot, KX_BNOT}, {IR_OP_IsNaN, KX_ISNAN},
};

int lower_unary(kir_program *p, ir_id node, diag *d) {
    uint32_t x = in_at_out(p, node, 0);
    for (size_t i = 0; i < sizeof unary_table / sizeof unary_table[0]; i++) {
        if (unary_table[i].op != NODE->op) continue;
        uint32_t body = unary_table[i].kx == KX_COUNT ? x : kb_un(p, unary_table[i].kx, x);
        return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
    }
    return ir_node_error(p->g, NODE, d, "no scalar op for %s", ir_op_get(NODE->op)->name);
}

/* ---- activations and other short formulas ---- */

uint32_t lower_sigmoid(kir_program *p, uint32_t x) {
    /* 1 / (1 + exp(-x)) */
    return kb_un(p, KX_RECIP, kb_bin(p, KX_ADD, fconst(p, x, 1), kb_un(p, KX_EXP, kb_un(p, KX_NEG, x))));
}

static uint32_t softplus(kir_program *p, uint32_t x) {
    /* log(1 + exp(x)), computed as max(x,0) + log(1 + exp(-|x|)) so that it does not overflow */
    uint32_t t = kb_un(p, KX_LOG, kb_bin(p, KX_ADD, fconst(p, x, 1), kb_un(p, KX_EXP, kb_un(p, KX_NEG, kb_un(p, KX_ABS, x)))));
    return kb_bin(p, KX_ADD, kb_bin(p, KX_MAX, x, fconst(p, x, 0)), t);
}

/* The activations whose only parameters are alpha and beta (lower.h). */
uint32_t lower_activation_expr(kir_program *p, ir_op op, uint32_t x, double alpha, double beta) {
    bool fl = ir_dtype_is_float(kb_type(p, x));
    uint32_t zero = fl ? fconst(p, x, 0) : kb_const_i(p, kb_type(p, x), 0);
    if (op != IR_OP_Relu && !fl) return KIR_NONE;
    uint32_t one = fl ? fconst(p, x, 1) : 0;
    switch (op) {
    case IR_OP_Relu: return kb_bin(p, KX_MAX, x, zero);
    case IR_OP_Sigmoid: return lower_sigmoid(p, x);
    case IR_OP_Softplus: return softplus(p, x);
    case IR_OP_Softsign: return kb_bin(p, KX_DIV, x, kb_bin(p, KX_ADD, one, kb_un(p, KX_ABS, x)));
    case IR_OP_Mish: return kb_bin(p, KX_MUL, x, kb_un(p, KX_TANH, softplus(p, x)));
    case IR_OP_Swish: /* x * sigmoid(alpha * x) */
        return kb_bin(p, KX_MUL, x, lower_sigmoid(p, kb_bin(p, KX_MUL, fconst(p, x, alpha), x)));
    case IR_OP_HardSwish: { /* x * max(0, min(1, x/6 + 0.5)) */
        uint32_t hs = kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, x, fconst(p, x, 1.0 / 6.0)), fconst(p, x, 0.5));
        return kb_bin(p, KX_MUL, x, kb_bin(p, KX_MAX, zero, kb_bin(p, KX_MIN, one, hs)));
    }
    case IR_OP_HardSigmoid: { /* max(0, min(1, alpha*x + beta)) */
        uint32_t a = fconst(p, x, alpha), b = fconst(p, x, beta);
        return kb_bin(p, KX_MAX, zero, kb_bin(p, KX_MIN, one, kb_bin(p, KX_ADD, kb_bin(p, KX_MUL, a, x), b)));
    }
    case IR_OP_Elu: { /* x < 0 ? alpha*(exp(x)-1) : x */
        uint32_t neg = kb_bin(p, KX_MUL, fconst(p, x, alpha), kb_bin(p, KX_SUB, kb_un(p, KX_EXP, x), one));
        return kb_select(p, kb_bin(p, KX_LT, x, zero), neg, x);
    }
    case IR_OP_Celu: { /* max(0,x) + min(0, alpha*(exp(x/alpha)-1)) */
        uint32_t a = fconst(p, x, alpha);
        uint32_t e = kb_bin(p, KX_MUL, a, kb_bin(p, KX_SUB, kb_un(p, KX_EXP, kb_bin(p, KX_DIV, x, a)), one));
        return kb_bin(p, KX_ADD, kb_bin(p, KX_MAX, zero, x), kb_bin(p, KX_MIN, zero, e));
    }
    case IR_OP_LeakyRelu:
        return kb_select(p, kb_bin(p, KX_LT, x, zero), kb_bin(p, KX_MUL, fconst(p, x, alpha), x), x);
    case IR_OP_ThresholdedRelu: return kb_select(p, kb_bin(p, KX_GT, x, fconst(p, x, alpha)), x, zero);
    default: return KIR_NONE;
    }
}

/* An attribute of the node's op read as a double, 0 when the op has none. */
static double attr_or_zero(const ir_node *n, const char *name) {
    return ir_attr_index(n->op, name) >= 0 ? ir_attr_float(n, name) : 0.0;
}

int lower_activation(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = in_at_out(p, node, 0), zero = 0, one = 0;
    bool fl = ir_dtype_is_float(kb_type(p, x));
    if (fl) zero = fconst(p, x, 0), one = fconst(p, x, 1);
    uint32_t body = lower_activation_expr(p, n->op, x, attr_or_zero(n, "alpha"), attr_or_zero(n, "beta"));
    if (body != KIR_NONE) return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
    switch (n->op) {
    case IR_OP_Selu: { /* gamma * (x > 0 ? x : alpha*exp(x) - alpha) */
        uint32_t a = fconst(p, x, ir_attr_float(n, "alpha")), gm = fconst(p, x, ir_attr_float(n, "gamma"));
        uint32_t neg = kb_bin(p, KX_SUB, kb_bin(p, KX_MUL, a, kb_un(p, KX_EXP, x)), a);
        body = kb_bin(p, KX_MUL, gm, kb_select(p, kb_bin(p, KX_GT, x, zero), x, neg));
        break;
    }
    case IR_OP_Shrink: { /* x < -l ? x + b : x > l ? x - b : 0 */
        ir_dtype t = kb_type(p, x);
        uint32_t xf = ir_dtype_is_float(t) ? x : kb_cast(p, IR_F64, x, false);
        uint32_t l = kb_const_f(p, kb_type(p, xf), ir_attr_float(n, "lambd"));
        uint32_t b = kb_const_f(p, kb_type(p, xf), ir_attr_float(n, "bias"));
        uint32_t z = kb_const_f(p, kb_type(p, xf), 0);
        uint32_t r = kb_select(p, kb_bin(p, KX_LT, xf, kb_un(p, KX_NEG, l)), kb_bin(p, KX_ADD, xf, b),
                               kb_select(p, kb_bin(p, KX_GT, xf, l), kb_bin(p, KX_SUB, xf, b), z));
        body = kb_cast(p, t, r, false);
        break;
    }
    case IR_OP_Gelu: {
        if (!strcmp(ir_attr_str(n, "approximate"), "tanh")) {
            /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
            uint32_t x3 = kb_bin(p, KX_MUL, kb_bin(p, KX_MUL, x, x), x);
            uint32_t inner = kb_bin(p, KX_MUL, fconst(p, x, sqrt(2.0 / M_PI)),
                                    kb_bin(p, KX_ADD, x, kb_bin(p, KX_MUL, fconst(p, x, 0.044715), x3)));
            body = kb_bin(p, KX_MUL, kb_bin(p, KX_MUL, fconst(p, x, 0.5), x), kb_bin(p, KX_ADD, one, kb_un(p, KX_TANH, inner)));
        } else {
            /* 0.5 x (1 + erf(x / sqrt(2))) */
            uint32_t e = kb_un(p, KX_ERF, kb_bin(p, KX_MUL, x, fconst(p, x, M_SQRT1_2)));
            body = kb_bin(p, KX_MUL, kb_bin(p, KX_MUL, fconst(p, x, 0.5), x), kb_bin(p, KX_ADD, one, e));
        }
        break;
    }
    case IR_OP_IsInf: {
        uint32_t inf = kb_un(p, KX_ISINF, x);
        bool neg = ir_attr_int(n, "detect_negative") != 0, pos = ir_attr_int(n, "detect_positive") != 0;
        uint32_t sign_ok = neg && pos ? kb_const_i(p, IR_BOOL, 1)
                           : neg      ? kb_bin(p, KX_LT, x, zero)
                           : pos      ? kb_bin(p, KX_GT, x, zero)
                                      : kb_const_i(p, IR_BOOL, 0);
        body = kb_bin(p, KX_AND, inf, sign_ok);
        break;
    }
    default: return ir_node_error(p->g, n, d, "not an activation");
    }
    return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
}

/* ---- Cast, Clip ---- */

int lower_cast(kir_program *p, ir_id node, diag *d) {
    const ir_value *o = &p->g->values[NODE->out[0]];
    int round = mf_round_from_name(ir_attr_str(NODE, "round_mode")); /* checked by inference */
    if (round < 0) return ir_node_error(p->g, NODE, d, "bad round_mode");
    uint32_t body = kb_cast_round(p, o->dtype, in_at_out(p, node, 0), ir_attr_int(NODE, "saturate") != 0, round);
    return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
}

int lower_clip(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    uint32_t x = in_at_out(p, node, 0), body = x;
    /* min and max are scalars (rank 0 or one element): read element 0 */
    for (uint32_t i = 1; i < 3 && i < n->n_in; i++) {
        if (n->in[i] == IR_NONE) continue;
        uint32_t b = kb_value(p, n->in[i]);
        uint32_t zeros[IR_MAX_RANK] = {0};
        for (int a = 0; a < kb_buf(p, b)->rank; a++) zeros[a] = kb_const_i(p, IR_I64, 0);
        uint32_t bound = kb_load(p, b, zeros);
        body = kb_bin(p, i == 1 ? KX_MAX : KX_MIN, body, bound);
    }
    return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
}

/* ---- binary and variadic ops with broadcasting ---- */

static const struct { ir_op op; kx_op kx; } binary_table[] = {
    {IR_OP_Add, KX_ADD}, {IR_OP_Sub, KX_SUB}, {IR_OP_Mul, KX_MUL}, {IR_OP_Div, KX_DIV},
    {IR_OP_BitwiseAnd, KX_BAND}, {IR_OP_BitwiseOr, KX_BOR}, {IR_OP_BitwiseXor, KX_BXOR},
    {IR_OP_Max, KX_MAX}, {IR_OP_Min, KX_MIN}, {IR_OP_Sum, KX_ADD}, {IR_OP_Mean, KX_ADD},
    {IR_OP_Equal, KX_EQ}, {IR_OP_Less, KX_LT}, {IR_OP_LessOrEqual, KX_LE}, {IR_OP_Greater, KX_GT},
    {IR_OP_GreaterOrEqual, KX_GE}, {IR_OP_And, KX_AND}, {IR_OP_Or, KX_OR}, {IR_OP_Xor, KX_XOR},
};

int lower_binary(kir_program *p, ir_id node, diag *d) {
    const ir_node *n = NODE;
    kx_op kx = KX_COUNT;
    for (size_t i = 0; i < sizeof binary_table / sizeof binary_table[0]; i++)
        if (binary_table[i].op == n->op) kx = binary_table[i].kx;
    uint32_t body = in_at_out(p, node, 0);
    switch (n->op) {
    case IR_OP_Mod:
        kx = ir_attr_int(n, "fmod") || ir_dtype_is_float(kb_type(p, body)) ? KX_FMOD : KX_MOD;
        break;
    case IR_OP_BitShift: kx = !strcmp(ir_attr_str(n, "direction"), "LEFT") ? KX_SHL : KX_SHR; break;
    case IR_OP_PRelu: { /* x < 0 ? slope * x : x */
        uint32_t s = in_at_out(p, node, 1);
        uint32_t zero = ir_dtype_is_float(kb_type(p, body)) ? fconst(p, body, 0) : kb_const_i(p, kb_type(p, body), 0);
        body = kb_select(p, kb_bin(p, KX_LT, body, zero), kb_bin(p, KX_MUL, s, body), body);
        return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
    }
    case IR_OP_Pow: {
        /* x ** y; the exponent is converted to the base's type */
        uint32_t y = kb_cast(p, kb_type(p, body), in_at_out(p, node, 1), false);
        body = kb_bin(p, KX_POW, body, y);
        return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
    }
    default: break;
    }
    if (kx == KX_COUNT) return ir_node_error(p->g, n, d, "no scalar op for %s", ir_op_get(n->op)->name);
    for (uint32_t i = 1; i < n->n_in; i++) body = kb_bin(p, kx, body, in_at_out(p, node, i));
    if (n->op == IR_OP_Mean) body = kb_bin(p, KX_DIV, body, kb_const_f(p, kb_type(p, body), (double)n->n_in));
    return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
}

int lower_where(kir_program *p, ir_id node, diag *d) {
    uint32_t body = kb_select(p, in_at_out(p, node, 0), in_at_out(p, node, 1), in_at_out(p, node, 2));
    return kb_kernel(p, node, out_buf(p, node), body) < 0 ? -1 : 0;
}
