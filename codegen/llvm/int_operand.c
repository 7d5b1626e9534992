/* int_operand.c — integer operands of contractions for the integer GEMM
 * engine (gemm.h, CG_DOT_*): their value range, and their values at
 * compile time when they read only constants.
 *
 * An integer contraction (MatMulInteger, ConvInteger, QLinear*: lowered by
 * ir/lower_contraction.c and ir/lower_conv.c) multiplies i32 operands like
 * CAST(i32, x) - CAST(i32, zero_point), maybe under a padding select, with
 * x and the zero point int8: so every operand value lies in [-255, 255].
 * cg_int_operand_range bounds an operand conservatively from that
 * structure, so that the engine may pack it as i16; cg_int_operand_eval
 * evaluates it at one point when its loads are of constant buffers (the
 * weights and their zero points), for packing at compile time.
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/contraction.h"

static bool int_range_of(ir_dtype t, int64_t *lo, int64_t *hi) {
    switch (t) {
    case IR_BOOL: *lo = 0, *hi = 1; return true;
    case IR_I8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
    case IR_U8: *lo = 0, *hi = UINT8_MAX; return true;
    case IR_I16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
    case IR_U16: *lo = 0, *hi = UINT16_MAX; return true;
    case IR_I32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    default: return false;
    }
}

bool cg_int_operand_range(const kir_program *p, uint32_t e, int64_t *lo, int64_t *hi) {
    const kir_expr *x = &p->exprs[e];
    int64_t tl, th, al, ah, bl, bh;
    if (!int_range_of(x->dtype, &tl, &th)) return false;
    *lo = tl, *hi = th;
    switch (x->op) {
    case KX_CONST: *lo = *hi = x->ival; return true;
    case KX_LOAD: return true;
    case KX_CAST: { /* from a narrower integer: its range */
        if (!cg_int_operand_range(p, x->args[0], &al, &ah)) return true;
        if (al >= tl && ah <= th) *lo = al, *hi = ah;
        return true;
    }
    case KX_ADD: case KX_SUB:
        if (!cg_int_operand_range(p, x->args[0], &al, &ah) || !cg_int_operand_range(p, x->args[1], &bl, &bh))
            return true;
        al = x->op == KX_ADD ? al + bl : al - bh;
        ah = x->op == KX_ADD ? ah + bh : ah - bl;
        if (al >= tl && ah <= th) *lo = al, *hi = ah; /* no wrapping */
        return true;
    case KX_SELECT:
        if (!cg_int_operand_range(p, x->args[1], &al, &ah) || !cg_int_operand_range(p, x->args[2], &bl, &bh))
            return true;
        *lo = al < bl ? al : bl, *hi = ah > bh ? ah : bh;
        return true;
    default: return true;
    }
}

bool cg_int_operand_i16(const kir_program *p, uint32_t e) {
    int64_t lo, hi;
    return p->exprs[e].dtype == IR_I32 && cg_int_operand_range(p, e, &lo, &hi) && lo >= -32767 && hi <= 32767;
}

/* the integer element `at` of a constant buffer */
static bool read_int(const kir_buffer *b, int64_t at, int64_t *v) {
    const unsigned char *d = (const unsigned char *)b->data + at * (int64_t)ir_dtype_get(b->dtype)->block_bytes;
    if (ir_dtype_get(b->dtype)->block_elems != 1) return false;
    switch (b->dtype) {
    case IR_BOOL: case IR_U8: *v = d[0]; return true;
    case IR_I8: *v = (int8_t)d[0]; return true;
    case IR_I16: { int16_t t; memcpy(&t, d, 2); *v = t; return true; }
    case IR_U16: { uint16_t t; memcpy(&t, d, 2); *v = t; return true; }
    case IR_I32: { int32_t t; memcpy(&t, d, 4); *v = t; return true; }
    case IR_I64: { int64_t t; memcpy(&t, d, 8); *v = t; return true; }
    default: return false;
    }
}

/* v wrapped to integer type t */
static int64_t wrap(ir_dtype t, int64_t v) {
    switch (t) {
    case IR_BOOL: return v != 0;
    case IR_I8: return (int8_t)v;
    case IR_U8: return (uint8_t)v;
    case IR_I16: return (int16_t)v;
    case IR_U16: return (uint16_t)v;
    case IR_I32: return (int32_t)v;
    default: return v;
    }
}

bool cg_int_operand_eval(const kir_program *p, uint32_t e, const int64_t *idx, const int64_t *ridx, int64_t *v) {
    const kir_expr *x = &p->exprs[e];
    int64_t a, b;
    if (ir_dtype_is_float(x->dtype)) return false;
    switch (x->op) {
    case KX_CONST: *v = x->ival; return true;
    case KX_IDX: *v = idx[x->axis]; return true;
    case KX_RIDX: *v = ridx[x->axis]; return true;
    case KX_LOAD: {
        const kir_buffer *kb = &p->bufs[x->buffer];
        if (kb->kind != KB_CONST || !kb->data || (int)x->n_args != kb->rank) return false;
        int64_t at = 0;
        for (int j = 0; j < kb->rank; j++) {
            if (!ir_dim_is_const(kb->dims[j]) || !cg_int_operand_eval(p, x->args[j], idx, ridx, &a)) return false;
            if (a < 0 || a >= kb->dims[j].c) return false;
            at = at * kb->dims[j].c + a;
        }
        return read_int(kb, at, v);
    }
    case KX_CAST:
        if (!cg_int_operand_eval(p, x->args[0], idx, ridx, &a)) return false;
        *v = wrap(x->dtype, a);
        return true;
    case KX_ADD: case KX_SUB: case KX_MUL:
        if (!cg_int_operand_eval(p, x->args[0], idx, ridx, &a) || !cg_int_operand_eval(p, x->args[1], idx, ridx, &b))
            return false;
        *v = wrap(x->dtype, x->op == KX_ADD ? a + b : x->op == KX_SUB ? a - b : a * b);
        return true;
    default: return false;
    }
}

/* a load of a constant buffer whose indices read a reduction axis (the
 * weights, as opposed to their zero points), or -1 */
static int weight_buffer(const kir_program *p, uint32_t e, const uint32_t *mask_r) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD) {
        const kir_buffer *kb = &p->bufs[x->buffer];
        if (kb->kind != KB_CONST || !kb->data) return -2; /* not a constant operand */
        return mask_r[e] ? (int)x->buffer : -1;
    }
    int w = -1;
    for (uint32_t i = 0; i < x->n_args; i++) {
        int r = weight_buffer(p, x->args[i], mask_r);
        if (r == -2) return -2;
        if (r >= 0) w = r;
    }
    return w;
}

/* reduction axes read by each expression under e */
static uint32_t ridx_mask(const kir_program *p, uint32_t e, uint32_t *m) {
    const kir_expr *x = &p->exprs[e];
    uint32_t r = x->op == KX_RIDX ? 1u << x->axis : 0;
    for (uint32_t i = 0; i < x->n_args; i++) r |= ridx_mask(p, x->args[i], m);
    return m[e] = r;
}

int cg_int_operand_const(const kir_program *p, const kir_kernel *k, uint32_t e, uint32_t side, const uint32_t *mask) {
    if ((mask[e] & ~side) || !cg_int_operand_i16(p, e)) return -1;
    for (int r = 0; r < k->rrank; r++)
        if (!ir_dim_is_const(k->red[r])) return -1;
    uint32_t *mr = calloc(p->n_exprs, sizeof *mr);
    if (!mr) return -1;
    ridx_mask(p, e, mr);
    int w = weight_buffer(p, e, mr);
    free(mr);
    return w >= 0 ? w : -1;
}
