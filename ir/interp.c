/* interp.c — reference interpreter of the kernel IR (see interp.h).
 *
 * A loop kernel is evaluated LANES domain points at a time: the points are
 * consecutive in row-major order of the domain, each lane with its own
 * multi-index. The kernel's expression DAG is evaluated node by node over
 * all lanes (so dispatch costs are shared by the lanes); nodes that do not
 * depend on a reduction index are evaluated once per chunk, the others once
 * per reduction point. Values live in 8-byte slots: floats as doubles
 * holding a value exactly representable in their dtype (float8 / float4
 * through minifloat.h), integers as int64 wrapped to their width (u64 as its
 * bit pattern), bools as 0/1 (runtime/elem.h reads and writes them). A
 * library kernel calls its routine in the runtime (runtime/lib.h), with the
 * node's attributes through interp_lib.h; creating its outputs binds the
 * symbols of data-dependent sizes.
 */
#include "interp.h"
#include "runtime/half.h"
#include "runtime/elem.h"
#include "runtime/lib.h"

#include <stdarg.h>
#include <stdio.h>

#include "interp_lib.h"
#include "kir_build.h"
#include "runtime/minifloat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LANES 64

typedef rt_slot slot;

typedef struct rbuf {  /* a buffer at run time */
    void *data;
    int64_t shape[IR_MAX_RANK];
    int64_t strides[IR_MAX_RANK]; /* in elements */
    int64_t numel;
    bool owned, ready;
} rbuf;

typedef struct interp {
    const kir_program *p;
    ir_graph *g;
    int64_t *sym;      /* symbol values, -1 unbound */
    rbuf *bufs;
    diag *d;
} interp;


/* ---- dtype helpers ------------------------------------------------------------------ */

static double round_to(ir_dtype t, double v) {
    switch (t) {
    case IR_F32: return (double)(float)v;
    case IR_F16: return (double)rt_f16_to_f32(rt_f32_to_f16((float)v));
    case IR_BF16: return (double)rt_bf16_to_f32(rt_f32_to_bf16((float)v));
    case IR_F64: return v;
    default: return mf_is_minifloat(t) ? mf_round_to(t, v, false, MF_ROUND_NEAREST) : v;
    }
}

/* dtype classes from dtype.def, as tables: they are asked for every lane */
static bool float_dtype[IR_DTYPE_COUNT], unsigned_dtype[IR_DTYPE_COUNT];
__attribute__((constructor)) static void init_dtype_tables(void) {
    for (int t = 0; t < IR_DTYPE_COUNT; t++) {
        float_dtype[t] = ir_dtype_is_float((ir_dtype)t);
        unsigned_dtype[t] = t == IR_BOOL || (t != IR_DTYPE_NONE && ir_dtype_get((ir_dtype)t)->cls == IR_CLASS_U);
    }
}
static inline bool is_float(ir_dtype t) { return float_dtype[t]; }
/* unsigned integers (dtype.def class U) and bool compare and divide unsigned */
static inline bool is_unsigned(ir_dtype t) { return unsigned_dtype[t]; }

/* ---- symbols ------------------------------------------------------------------------ */

static int64_t floordiv64(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t dim_value(interp *it, ir_dim x) { return ir_dim_eval(it->g, x, it->sym); }

static int bind_dim(interp *it, ir_dim want, int64_t have, const char *what, int axis) {
    char buf[128];
    if (!ir_dim_is_const(want) && it->g->syms[want.sym].kind == IR_SYM_NAMED && it->sym[want.sym] < 0) {
        it->sym[want.sym] = have;
        return 0;
    }
    int64_t v = dim_value(it, want);
    if (v != have) {
        ir_dim_format(it->g, want, buf, sizeof buf);
        return diag_error(it->d, "%s: input '%s' has size %lld at axis %d, expected %s%s", it->g->source, what,
                          (long long)have, axis, buf, v >= 0 && !ir_dim_is_const(want) ? " (bound by other inputs)" : "");
    }
    return 0;
}

/* Shape of a buffer from its dims; -1 if some symbol is not bound yet. */
static int shape_of(interp *it, uint32_t b) {
    const kir_buffer *kb = &it->p->bufs[b];
    rbuf *r = &it->bufs[b];
    r->numel = 1;
    for (int i = 0; i < kb->rank; i++) {
        r->shape[i] = dim_value(it, kb->dims[i]);
        if (r->shape[i] < 0) return diag_error(it->d, "%s: the size of '%s' is unknown at run time", it->g->source, kb->name);
        r->numel *= r->shape[i];
    }
    int64_t st = 1;
    for (int i = kb->rank - 1; i >= 0; i--) {
        r->strides[i] = st;
        st *= r->shape[i];
    }
    return 0;
}

static int alloc_buffer(interp *it, uint32_t b) {
    rbuf *r = &it->bufs[b];
    if (r->ready) return 0;
    if (shape_of(it, b)) return -1;
    int64_t nbytes = ir_dtype_storage_bytes(it->p->bufs[b].dtype, r->numel);
    if (nbytes < 0 || nbytes > ((int64_t)1 << 40))
        return diag_error(it->d, "%s: buffer '%s' is too large", it->g->source, it->p->bufs[b].name);
    r->data = calloc(1, (size_t)(nbytes ? nbytes : 1));
    if (!r->data) return diag_error(it->d, "%s: out of memory for '%s'", it->g->source, it->p->bufs[b].name);
    r->owned = r->ready = true;
    return 0;
}

/* ---- expression evaluation ------------------------------------------------------------ */

typedef struct kstate {
    interp *it;
    const kir_kernel *k;
    int n;                    /* lanes in this chunk */
    int64_t idx[IR_MAX_RANK][LANES];
    int64_t ridx[IR_MAX_RANK];
    uint32_t *order;          /* expression ids in evaluation order */
    uint32_t n_order;
    uint8_t *dep;             /* per order entry: depends on RIDX */
    int32_t *slot_of;         /* expr id -> row in vals, -1 if not in this kernel */
    slot *vals;               /* n_order x LANES */
    slot acc[LANES];
} kstate;

static double math1(kx_op op, double x) {
    switch (op) {
    case KX_RECIP: return 1.0 / x;
    case KX_SQRT: return sqrt(x);
    case KX_EXP: return exp(x);
    case KX_LOG: return log(x);
    case KX_FLOOR: return floor(x);
    case KX_CEIL: return ceil(x);
    case KX_ROUND: return nearbyint(x); /* default rounding mode: half to even */
    case KX_TRUNC: return trunc(x);
    case KX_ERF: return erf(x);
    case KX_SIN: return sin(x);
    case KX_COS: return cos(x);
    case KX_TAN: return tan(x);
    case KX_ASIN: return asin(x);
    case KX_ACOS: return acos(x);
    case KX_ATAN: return atan(x);
    case KX_SINH: return sinh(x);
    case KX_COSH: return cosh(x);
    case KX_TANH: return tanh(x);
    case KX_ASINH: return asinh(x);
    case KX_ACOSH: return acosh(x);
    case KX_ATANH: return atanh(x);
    default: return NAN;
    }
}

static slot arith_f(kx_op op, double a, double b) {
    slot r;
    switch (op) {
    case KX_NEG: r.f = -a; break;
    case KX_ABS: r.f = fabs(a); break;
    case KX_SIGN: r.f = a > 0 ? 1.0 : a < 0 ? -1.0 : a; break;
    case KX_ADD: r.f = a + b; break;
    case KX_SUB: r.f = a - b; break;
    case KX_MUL: r.f = a * b; break;
    case KX_DIV: r.f = a / b; break;
    case KX_FLOORDIV: r.f = floor(a / b); break;
    case KX_MOD: {
        double m = fmod(a, b);
        r.f = (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
        break;
    }
    case KX_FMOD: r.f = fmod(a, b); break;
    case KX_MAX: r.f = isnan(a) || isnan(b) ? NAN : a > b ? a : b; break;
    case KX_MIN: r.f = isnan(a) || isnan(b) ? NAN : a < b ? a : b; break;
    case KX_POW: r.f = pow(a, b); break;
    default: r.f = NAN; break;
    }
    return r;
}

static int64_t ipow(int64_t base, int64_t e) {
    if (e < 0) return base == 1 ? 1 : base == -1 ? (e & 1 ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)base;
    while (e) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

static slot arith_i(kx_op op, ir_dtype t, int64_t a, int64_t b) {
    slot r;
    bool u = is_unsigned(t);
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case KX_NEG: r.i = (int64_t)(0 - ua); break;
    case KX_ABS: r.i = u ? a : a < 0 ? (int64_t)(0 - ua) : a; break;
    case KX_SIGN: r.i = u ? a != 0 : (a > 0) - (a < 0); break;
    case KX_ADD: r.i = (int64_t)(ua + ub); break;
    case KX_SUB: r.i = (int64_t)(ua - ub); break;
    case KX_MUL: r.i = (int64_t)(ua * ub); break;
    case KX_DIV:
        if (b == 0) r.i = 0;
        else if (u) r.i = (int64_t)(ua / ub);
        else if (a == INT64_MIN && b == -1) r.i = a;
        else r.i = a / b;
        break;
    case KX_FLOORDIV:
        if (b == 0) r.i = 0;
        else if (u) r.i = (int64_t)(ua / ub);
        else if (a == INT64_MIN && b == -1) r.i = a;
        else r.i = floordiv64(a, b);
        break;
    case KX_MOD:
        if (b == 0) r.i = 0;
        else if (u) r.i = (int64_t)(ua % ub);
        else if (b == -1) r.i = 0;
        else {
            int64_t m = a % b;
            r.i = (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
        }
        break;
    case KX_FMOD:
        if (b == 0) r.i = 0;
        else if (u) r.i = (int64_t)(ua % ub);
        else r.i = b == -1 ? 0 : a % b;
        break;
    case KX_MAX: r.i = u ? (int64_t)(ua > ub ? ua : ub) : (a > b ? a : b); break;
    case KX_MIN: r.i = u ? (int64_t)(ua < ub ? ua : ub) : (a < b ? a : b); break;
    case KX_POW: r.i = ipow(a, b); break;
    case KX_BNOT: r.i = ~a; break;
    case KX_BAND: r.i = a & b; break;
    case KX_BOR: r.i = a | b; break;
    case KX_BXOR: r.i = a ^ b; break;
    case KX_SHL: r.i = ub >= 64 ? 0 : (int64_t)(ua << ub); break;
    case KX_SHR: {
        int bits = (int)ir_dtype_get(t)->block_bytes * 8;
        uint64_t mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
        r.i = ub >= 64 ? 0 : u ? (int64_t)((ua & mask) >> ub) : (a >> ub);
        break;
    }
    default: r.i = 0; break;
    }
    r.i = rt_elem_wrap(t, r.i);
    return r;
}

#define COMPARE(x, y)                  \
    switch (op) {                      \
    case KX_EQ: return (x) == (y);     \
    case KX_NE: return (x) != (y);     \
    case KX_LT: return (x) < (y);      \
    case KX_LE: return (x) <= (y);     \
    case KX_GT: return (x) > (y);      \
    case KX_GE: return (x) >= (y);     \
    default: return false;             \
    }

static bool compare(kx_op op, ir_dtype t, slot a, slot b) {
    if (is_float(t)) COMPARE(a.f, b.f)
    if (is_unsigned(t)) COMPARE(a.u, b.u)
    COMPARE(a.i, b.i)
}
#undef COMPARE

/* flags: kir_expr.ival of a CAST (saturate, e8m0 rounding). */
static slot cast_slot(ir_dtype from, ir_dtype to, slot s, int64_t flags) {
    slot r;
    if (to == IR_BOOL) {
        r.i = is_float(from) ? s.f != 0 : s.i != 0;
    } else if (is_float(to)) {
        double v = is_float(from) ? s.f : from == IR_U64 ? (double)s.u : (double)s.i;
        if (mf_is_minifloat(to))
            r.f = mf_round_to(to, v, flags & KIR_CAST_SATURATE, (mf_round)(flags >> KIR_CAST_ROUND_SHIFT));
        else
            r.f = round_to(to, v);
    } else if (is_float(from)) {
        double v = trunc(s.f);
        if (isnan(v)) r.i = to == IR_U64 ? 0 : INT64_MIN;
        else if (to == IR_U64) r.u = v >= 18446744073709551616.0 ? UINT64_MAX : v <= 0 ? (uint64_t)(int64_t)v : (uint64_t)v;
        else r.i = v >= 9223372036854775808.0 ? INT64_MIN : v < -9223372036854775808.0 ? INT64_MIN : (int64_t)v;
        r.i = rt_elem_wrap(to, r.i);
    } else {
        r.i = rt_elem_wrap(to, s.i);
    }
    return r;
}

static void eval_node(kstate *ks, uint32_t e, slot *out) {
    const kir_program *p = ks->it->p;
    const kir_expr *x = &p->exprs[e];
    int n = ks->n;
    const slot *a = x->n_args > 0 && x->op != KX_LOAD ? &ks->vals[(size_t)ks->slot_of[x->args[0]] * LANES] : NULL;
    const slot *b = x->n_args > 1 && x->op != KX_LOAD ? &ks->vals[(size_t)ks->slot_of[x->args[1]] * LANES] : NULL;
    const slot *c = x->n_args > 2 && x->op != KX_LOAD ? &ks->vals[(size_t)ks->slot_of[x->args[2]] * LANES] : NULL;
    ir_dtype t = x->dtype;
    const kx_info *info = kx_get(x->op);
    switch (x->op) {
    case KX_CONST:
        for (int l = 0; l < n; l++) {
            if (is_float(t)) out[l].f = x->fval;
            else out[l].i = x->ival;
        }
        return;
    case KX_IDX:
        for (int l = 0; l < n; l++) out[l].i = ks->idx[x->axis][l];
        return;
    case KX_RIDX:
        for (int l = 0; l < n; l++) out[l].i = ks->ridx[x->axis];
        return;
    case KX_DIM: {
        int64_t v = dim_value(ks->it, x->dim);
        for (int l = 0; l < n; l++) out[l].i = v;
        return;
    }
    case KX_ACC:
        for (int l = 0; l < n; l++) out[l] = ks->acc[l];
        return;
    case KX_LOAD: {
        const rbuf *rb = &ks->it->bufs[x->buffer];
        ir_dtype bt = p->bufs[x->buffer].dtype;
        for (int l = 0; l < n; l++) {
            int64_t off = 0;
            for (uint32_t ax = 0; ax < x->n_args; ax++) {
                int64_t i = ks->vals[(size_t)ks->slot_of[x->args[ax]] * LANES + l].i;
                int64_t lim = rb->shape[ax] - 1;
                i = i < 0 ? 0 : i > lim ? lim : i; /* lowering guards out-of-range reads with selects */
                off += i * rb->strides[ax];
            }
            if (!rb->numel) out[l] = (slot){.i = 0};
            else if (bt == IR_F32) { /* the common case, without a call per lane */
                float v;
                memcpy(&v, (const uint8_t *)rb->data + 4 * off, 4);
                out[l].f = v;
            } else out[l] = rt_elem_read(bt, rb->data, off);
        }
        return;
    }
    case KX_SELECT:
        for (int l = 0; l < n; l++) out[l] = a[l].i ? b[l] : c[l];
        return;
    case KX_CAST: {
        ir_dtype from = p->exprs[x->args[0]].dtype;
        for (int l = 0; l < n; l++) out[l] = cast_slot(from, t, a[l], x->ival);
        return;
    }
    default: break;
    }
    ir_dtype at = p->exprs[x->args[0]].dtype;
    switch (info->cls) {
    case KXC_MATH:
        for (int l = 0; l < n; l++) out[l].f = round_to(t, math1(x->op, a[l].f));
        return;
    case KXC_CMP:
        if (x->op == KX_ISNAN || x->op == KX_ISINF) {
            for (int l = 0; l < n; l++) out[l].i = x->op == KX_ISNAN ? isnan(a[l].f) : isinf(a[l].f);
        } else if (at == IR_I64) { /* index bounds checks: one loop per comparison */
            switch (x->op) {
            case KX_LT: for (int l = 0; l < n; l++) out[l].i = a[l].i < b[l].i; break;
            case KX_LE: for (int l = 0; l < n; l++) out[l].i = a[l].i <= b[l].i; break;
            case KX_GT: for (int l = 0; l < n; l++) out[l].i = a[l].i > b[l].i; break;
            case KX_GE: for (int l = 0; l < n; l++) out[l].i = a[l].i >= b[l].i; break;
            case KX_EQ: for (int l = 0; l < n; l++) out[l].i = a[l].i == b[l].i; break;
            default: for (int l = 0; l < n; l++) out[l].i = a[l].i != b[l].i; break;
            }
        } else {
            for (int l = 0; l < n; l++) out[l].i = compare(x->op, at, a[l], b[l]);
        }
        return;
    case KXC_LOGIC:
        for (int l = 0; l < n; l++) {
            int64_t u = a[l].i != 0, v = b ? b[l].i != 0 : 0;
            out[l].i = x->op == KX_NOT ? !u : x->op == KX_AND ? (u && v) : x->op == KX_OR ? (u || v) : (u != v);
        }
        return;
    default: {
        bool b_float = b && is_float(p->exprs[x->args[1]].dtype);
        if (t == IR_F32 && b_float && (x->op == KX_ADD || x->op == KX_SUB || x->op == KX_MUL)) {
            /* the common case, without a call per lane: exact in double, rounded to f32 */
            for (int l = 0; l < n; l++) {
                double r = x->op == KX_ADD ? a[l].f + b[l].f : x->op == KX_SUB ? a[l].f - b[l].f : a[l].f * b[l].f;
                out[l].f = (double)(float)r;
            }
        } else if (t == IR_I64 && b && !b_float && (x->op == KX_ADD || x->op == KX_SUB || x->op == KX_MUL)) {
            /* index arithmetic: i64 wraps like uint64 */
            for (int l = 0; l < n; l++) {
                uint64_t u = (uint64_t)a[l].i, v = (uint64_t)b[l].i;
                out[l].i = (int64_t)(x->op == KX_ADD ? u + v : x->op == KX_SUB ? u - v : u * v);
            }
        } else if (is_float(t)) {
            for (int l = 0; l < n; l++) {
                double bv = b ? (b_float ? b[l].f : (double)b[l].i) : 0;
                out[l].f = round_to(t, arith_f(x->op, a[l].f, bv).f);
            }
        } else {
            for (int l = 0; l < n; l++) {
                int64_t bv = b ? (b_float ? (int64_t)b[l].f : b[l].i) : 0;
                out[l] = arith_i(x->op, t, a[l].i, bv);
            }
        }
        return;
    }
    }
}

/* Collect the expressions reachable from root in post-order. */
static void collect(kstate *ks, uint32_t root) {
    const kir_program *p = ks->it->p;
    if (ks->slot_of[root] >= 0) return;
    const kir_expr *x = &p->exprs[root];
    bool dep = x->op == KX_RIDX;
    for (uint32_t i = 0; i < x->n_args; i++) {
        collect(ks, x->args[i]);
        dep = dep || ks->dep[ks->slot_of[x->args[i]]];
    }
    ks->slot_of[root] = (int32_t)ks->n_order;
    ks->dep[ks->n_order] = dep;
    ks->order[ks->n_order++] = root;
}

static void eval_all(kstate *ks, uint32_t from, uint32_t to, int want_dep) {
    for (uint32_t o = from; o < to; o++)
        if (want_dep < 0 || ks->dep[o] == want_dep) eval_node(ks, ks->order[o], &ks->vals[(size_t)o * LANES]);
}

static void accumulate(kstate *ks, const slot *v, ir_dtype acc_t, ir_dtype body_t, int64_t rflat, slot *best) {
    const kir_kernel *k = ks->k;
    bool fl = is_float(body_t);
    for (int l = 0; l < ks->n; l++) {
        slot x = v[l];
        switch (k->reduce) {
        case KR_SUM:
            if (is_float(acc_t)) ks->acc[l].f += fl ? x.f : (double)x.i;
            else ks->acc[l] = arith_i(KX_ADD, acc_t, ks->acc[l].i, x.i);
            break;
        case KR_PROD:
            if (is_float(acc_t)) ks->acc[l].f *= fl ? x.f : (double)x.i;
            else ks->acc[l] = arith_i(KX_MUL, acc_t, ks->acc[l].i, x.i);
            break;
        case KR_MAX:
        case KR_MIN:
            if (fl) {
                double cur = ks->acc[l].f;
                if (isnan(x.f) || isnan(cur)) ks->acc[l].f = NAN;
                else if (k->reduce == KR_MAX ? x.f > cur : x.f < cur) ks->acc[l].f = x.f;
            } else {
                ks->acc[l] = arith_i(k->reduce == KR_MAX ? KX_MAX : KX_MIN, acc_t, ks->acc[l].i, x.i);
            }
            break;
        case KR_ARGMAX:
        case KR_ARGMIN: {
            bool better;
            if (rflat == 0) better = true;
            else if (fl) {
                double cur = best[l].f;
                better = k->reduce == KR_ARGMAX ? (k->select_last ? x.f >= cur : x.f > cur)
                                                : (k->select_last ? x.f <= cur : x.f < cur);
            } else {
                bool gt = compare(KX_GT, body_t, x, best[l]), eq = compare(KX_EQ, body_t, x, best[l]);
                better = k->reduce == KR_ARGMAX ? (gt || (k->select_last && eq))
                                                : ((!gt && !eq) || (k->select_last && eq));
            }
            if (better) {
                best[l] = x;
                ks->acc[l].i = rflat;
            }
            break;
        }
        default: break;
        }
    }
}

static int run_loop(interp *it, const kir_kernel *k) {
    const kir_program *p = it->p;
    if (alloc_buffer(it, k->out)) return -1;
    const kir_buffer *ob = &p->bufs[k->out];
    rbuf *out = &it->bufs[k->out];
    int rank = ob->rank;
    int64_t rshape[IR_MAX_RANK], rtotal = 1;
    for (int i = 0; i < k->rrank; i++) {
        rshape[i] = dim_value(it, k->red[i]);
        if (rshape[i] < 0) return diag_error(it->d, "%s: kernel '%s': reduction size unknown", it->g->source, k->name);
        rtotal *= rshape[i];
    }
    kstate *ks = calloc(1, sizeof *ks);
    if (!ks) return diag_error(it->d, "out of memory");
    ks->it = it;
    ks->k = k;
    ks->order = malloc(p->n_exprs * sizeof *ks->order);
    ks->dep = malloc(p->n_exprs);
    ks->slot_of = malloc(p->n_exprs * sizeof *ks->slot_of);
    int rc = -1;
    if (!ks->order || !ks->dep || !ks->slot_of) {
        diag_error(it->d, "out of memory");
        goto done;
    }
    memset(ks->slot_of, 0xff, p->n_exprs * sizeof *ks->slot_of);
    collect(ks, k->body);
    uint32_t body_end = ks->n_order;
    if (k->post != KIR_NONE) collect(ks, k->post);
    ks->vals = malloc((size_t)ks->n_order * LANES * sizeof(slot));
    if (!ks->vals) {
        diag_error(it->d, "out of memory");
        goto done;
    }
    ir_dtype body_t = p->exprs[k->body].dtype;
    const slot *bodyv = &ks->vals[(size_t)ks->slot_of[k->body] * LANES];
    slot best[LANES];
    for (int64_t start = 0; start < out->numel; start += LANES) {
        ks->n = (int)(out->numel - start < LANES ? out->numel - start : LANES);
        for (int l = 0; l < ks->n; l++) { /* unravel the lane's linear position */
            int64_t lin = start + l;
            for (int ax = rank - 1; ax >= 0; ax--) {
                ks->idx[ax][l] = out->shape[ax] ? lin % out->shape[ax] : 0;
                lin = out->shape[ax] ? lin / out->shape[ax] : 0;
            }
        }
        const slot *result;
        if (k->reduce == KR_NONE) {
            eval_all(ks, 0, body_end, -1);
            result = bodyv;
        } else {
            bool arg = k->reduce == KR_ARGMAX || k->reduce == KR_ARGMIN;
            for (int l = 0; l < ks->n; l++) {
                if (arg) ks->acc[l].i = 0; /* the index; the best value is tracked in best[] */
                else if (is_float(k->acc_dtype)) ks->acc[l].f = kb_reduce_init_f(k->reduce);
                else ks->acc[l].i = kb_reduce_init_i(k->reduce, k->acc_dtype);
            }
            eval_all(ks, 0, body_end, 0);
            for (int i = 0; i < k->rrank; i++) ks->ridx[i] = 0;
            for (int64_t r = 0; r < rtotal; r++) {
                eval_all(ks, 0, body_end, 1);
                accumulate(ks, bodyv, k->acc_dtype, body_t, r, best);
                for (int ax = k->rrank - 1; ax >= 0; ax--) { /* odometer */
                    if (++ks->ridx[ax] < rshape[ax]) break;
                    ks->ridx[ax] = 0;
                }
            }
            if (is_float(k->acc_dtype))
                for (int l = 0; l < ks->n; l++) ks->acc[l].f = round_to(k->acc_dtype, ks->acc[l].f);
            if (k->post != KIR_NONE) {
                eval_all(ks, body_end, ks->n_order, -1);
                result = &ks->vals[(size_t)ks->slot_of[k->post] * LANES];
            } else {
                result = ks->acc;
            }
        }
        for (int l = 0; l < ks->n; l++) rt_elem_write(ob->dtype, out->data, start + l, result[l]);
    }
    rc = 0;
done:
    free(ks->order);
    free(ks->dep);
    free(ks->slot_of);
    free(ks->vals);
    free(ks);
    return rc;
}

/* ---- library kernels (runtime/lib.h) ---------------------------------------------------- */

#define LIB_MAX_IN 64
#define LIB_MAX_OUT 16

typedef struct lib_state {
    interp *it;
    const kir_kernel *k;
    rt_tensor out[LIB_MAX_OUT];
} lib_state;

_Static_assert(sizeof ((rt_tensor *)0)->shape == IR_MAX_RANK * sizeof(int64_t), "rt_tensor holds IR_MAX_RANK sizes");

static rt_tensor view_of(interp *it, uint32_t b) {
    rt_tensor t = {.present = b != KIR_NONE};
    if (!t.present) return t;
    const rbuf *r = &it->bufs[b];
    t.dtype = it->p->bufs[b].dtype;
    t.rank = it->p->bufs[b].rank;
    memcpy(t.shape, r->shape, sizeof t.shape);
    t.numel = r->numel;
    t.data = r->data;
    return t;
}

/* The output callback of rt_lib_call: binds the still unbound size symbols
 * of output o's buffer, checks the others, allocates it zeroed. */
static rt_tensor *lib_output(rt_lib_call *c, uint32_t o, const int64_t *shape) {
    lib_state *st = c->priv;
    interp *it = st->it;
    if (o >= c->n_out || st->k->lib_out[o] == KIR_NONE) {
        rt_lib_error(c, "has no output %u", o);
        return NULL;
    }
    uint32_t b = st->k->lib_out[o];
    const kir_buffer *kb = &it->p->bufs[b];
    for (int ax = 0; ax < kb->rank; ax++) {
        ir_dim want = kb->dims[ax];
        if (!ir_dim_is_const(want) && it->g->syms[want.sym].kind == IR_SYM_NAMED && it->sym[want.sym] < 0)
            it->sym[want.sym] = shape[ax]; /* a data-dependent size, known now */
        int64_t v = dim_value(it, want);
        if (v != shape[ax]) {
            char buf[128];
            ir_dim_format(it->g, want, buf, sizeof buf);
            rt_lib_error(c, "output '%s' has size %lld at axis %d, its type says %s", kb->name, (long long)shape[ax],
                         ax, buf);
            return NULL;
        }
    }
    if (alloc_buffer(it, b)) {
        rt_lib_error(c, "cannot allocate output %u", o);
        return NULL;
    }
    st->out[o] = view_of(it, b);
    return &st->out[o];
}

static int run_lib(interp *it, const kir_kernel *k) {
    rt_lib_fn fn = rt_lib_find(k->lib);
    if (!fn)
        return diag_error(it->d, "%s: kernel '%s': library routine '%s' is not available in the interpreter",
                          it->g->source, k->name, k->lib);
    if (k->n_lib_in > LIB_MAX_IN || k->n_lib_out > LIB_MAX_OUT)
        return diag_error(it->d, "%s: kernel '%s': too many operands", it->g->source, k->name);
    rt_tensor in[LIB_MAX_IN];
    for (uint32_t i = 0; i < k->n_lib_in; i++) in[i] = view_of(it, k->lib_in[i]);
    const ir_node *n = &it->g->nodes[k->node];
    rt_attrs attrs;
    interp_lib_attrs(&attrs, n);
    char err[512] = "";
    lib_state st = {.it = it, .k = k};
    rt_lib_call c = {.node = n->name, .in = in, .n_in = k->n_lib_in, .n_out = k->n_lib_out, .attrs = &attrs,
                     .output = lib_output, .err = err, .err_size = sizeof err, .priv = &st};
    int rc = fn(&c);
    for (uint32_t o = 0; rc == 0 && o < k->n_lib_out; o++)
        if (k->lib_out[o] != KIR_NONE && !it->bufs[k->lib_out[o]].ready)
            rc = rt_lib_error(&c, "routine '%s' did not write output %u", k->lib, o);
    if (!rc) return 0;
    /* the message names the node ("node 'NAME': ..."); the diagnostic adds the op */
    size_t skip = strlen(n->name) + 9;
    const char *msg = !strncmp(err, "node '", 6) && strlen(err) >= skip ? err + skip : err[0] ? err : "failed";
    return diag_error(it->d, "%s: node '%s' (%s): %s", it->g->source, n->name, ir_op_get(n->op)->name, msg);
}

/* ---- driver ----------------------------------------------------------------------------- */

int interp_run(const kir_program *p, const interp_tensor *inputs, interp_tensor *outputs, diag *d) {
    interp it = {.p = p, .g = p->g, .d = d};
    it.sym = malloc((p->g->n_syms ? p->g->n_syms : 1) * sizeof(int64_t));
    it.bufs = calloc(p->n_bufs ? p->n_bufs : 1, sizeof(rbuf));
    int rc = -1;
    if (!it.sym || !it.bufs) {
        diag_error(d, "out of memory");
        goto done;
    }
    for (uint32_t s = 0; s < p->g->n_syms; s++) it.sym[s] = -1;
    for (uint32_t i = 0; i < p->n_inputs; i++) { /* bind symbols from the input shapes */
        const kir_buffer *kb = &p->bufs[p->inputs[i]];
        const interp_tensor *t = &inputs[i];
        if (t->dtype != kb->dtype || t->rank != kb->rank) {
            diag_error(d, "%s: input '%s' is %s of rank %d, expected %s of rank %d", p->g->source, kb->name,
                       ir_dtype_name(t->dtype), t->rank, ir_dtype_name(kb->dtype), kb->rank);
            goto done;
        }
        for (int ax = 0; ax < kb->rank; ax++)
            if (bind_dim(&it, kb->dims[ax], t->shape[ax], kb->name, ax)) goto done;
    }
    for (uint32_t i = 0; i < p->n_inputs; i++) {
        uint32_t b = p->inputs[i];
        if (shape_of(&it, b)) goto done;
        int64_t need = ir_dtype_storage_bytes(p->bufs[b].dtype, it.bufs[b].numel);
        if (need < 0 || (uint64_t)need > inputs[i].nbytes) {
            diag_error(d, "%s: input '%s' holds %zu bytes, its shape needs %lld", p->g->source, p->bufs[b].name,
                       inputs[i].nbytes, (long long)need);
            goto done;
        }
        it.bufs[b].data = inputs[i].data;
        it.bufs[b].ready = true;
    }
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        if (p->bufs[b].kind != KB_CONST) continue;
        if (shape_of(&it, b)) goto done;
        it.bufs[b].data = (void *)p->bufs[b].data;
        it.bufs[b].ready = true;
    }
    for (uint32_t k = 0; k < p->n_kernels; k++) {
        const kir_kernel *kn = &p->kernels[k];
        if (kn->kind == KK_LIB ? run_lib(&it, kn) : run_loop(&it, kn)) goto done;
    }
    for (uint32_t o = 0; o < p->n_outputs; o++) {
        uint32_t b = p->outputs[o];
        if (!it.bufs[b].ready && alloc_buffer(&it, b)) goto done;
        interp_tensor *t = &outputs[o];
        t->dtype = p->bufs[b].dtype;
        t->rank = p->bufs[b].rank;
        memcpy(t->shape, it.bufs[b].shape, sizeof t->shape);
        int64_t nbytes = ir_dtype_storage_bytes(t->dtype, it.bufs[b].numel);
        t->nbytes = (size_t)nbytes;
        t->data = malloc(nbytes ? (size_t)nbytes : 1);
        if (!t->data) {
            diag_error(d, "out of memory");
            goto done;
        }
        if (nbytes) memcpy(t->data, it.bufs[b].data, (size_t)nbytes);
    }
    rc = 0;
done:
    for (uint32_t b = 0; it.bufs && b < p->n_bufs; b++)
        if (it.bufs[b].owned) free(it.bufs[b].data);
    free(it.bufs);
    free(it.sym);
    return rc;
}
