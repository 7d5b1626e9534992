/* contraction.c — which loop kernels are contractions, and how the GEMM
 * paths compute them.
 *
 * A kernel is a contraction when it is a SUM reduction with an f32
 * accumulator whose body is MUL(a, b) of f32 operands (any expressions:
 * loads, casts, padding selects, inlined producers).
 *
 * cg_gemm_plan_match plans it for the packed engine (gemm_kernel.c, f32
 * outputs): N = the longest suffix of output axes a does not read, M = the
 * run before it that b does not read, other axes batch points, K = every
 * reduction axis; an operand that loads an f32 constant at an affine,
 * in-range offset is marked for packing at compile time; the microkernel
 * tile is picked by padding; a plan without M (depthwise convolutions)
 * runs as rows.
 *
 * cg_contraction_match is the older register-tiled path (gemm_emit.c) for
 * outputs the engine cannot store: domain axes split by the operands that
 * read them: M (only a), N (only b), and the rest (both or neither) are
 * batch axes; the reduction axes are K. The output's innermost axis must
 * be an N axis (a and b are swapped when it is an M axis), so that a
 * tile's NR columns are contiguous in the output. The register tile
 * follows the target's vector width: AVX-512 16 lanes and 32 registers,
 * AVX2 8 lanes and 16 registers, NEON 4 lanes and 32 registers.
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/contraction.h"

/* vector lanes of f32 and vector registers of the target machine, from
 * its feature string (for a named CPU, target.c spells out the features it
 * implies: cpu_features.c) */
static void vector_shape(cg_ctx *c, int *lanes, int *regs) {
    char *triple = LLVMGetTargetMachineTriple(c->tm);
    char *feat = LLVMGetTargetMachineFeatureString(c->tm);
    bool x86 = strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "i686", 4) == 0;
    bool v512 = strstr(feat, "+avx512f") != NULL && !strstr(feat, "-avx512f");
    bool v256 = strstr(feat, "+avx2") != NULL && !strstr(feat, "-avx2");
    if (x86 && v512) *lanes = 16, *regs = 32;
    else if (x86 && v256) *lanes = 8, *regs = 16;
    else if (x86) *lanes = 4, *regs = 16;
    else *lanes = 4, *regs = 32; /* AArch64 NEON and others */
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(feat);
}

static bool b_is_vector_load(const kir_program *p, uint32_t b, int n_axis, const uint32_t *mask) {
    const kir_expr *x = &p->exprs[b];
    if (x->op != KX_LOAD || x->dtype != IR_F32 || p->bufs[x->buffer].dtype != IR_F32 || x->n_args == 0) return false;
    const kir_expr *last = &p->exprs[x->args[x->n_args - 1]];
    if (last->op != KX_IDX || last->axis != n_axis) return false;
    for (uint32_t i = 0; i + 1 < x->n_args; i++)
        if (mask[x->args[i]] & (1u << n_axis)) return false;
    return true;
}

int cg_contraction_match(cg_ctx *c, const kir_kernel *k, cg_contraction *ct) {
    const kir_program *p = c->p;
    const kir_buffer *ob = &p->bufs[k->out];
    if (ir_dtype_get(ob->dtype)->block_elems > 1 || !cg_reg_type(c, ob->dtype)) return 0;
    uint32_t *mask = malloc(p->n_exprs * sizeof *mask);
    unsigned char *seen = calloc(p->n_exprs, 1);
    int ok = 0, m_axis;
    uint32_t a, b;
    if (!mask || !seen || !kir_contraction_operands(p, k, mask, seen, &a, &b, &m_axis)) goto done;
    int n_axis = ob->rank - 1;
    int lanes, regs;
    vector_shape(c, &lanes, &regs);
    ir_dim nd = ob->dims[n_axis];
    int nv = ir_dim_is_const(nd) && nd.c <= lanes ? 1 : 2;
    /* accumulators + the b vectors + one broadcast */
    int mr = m_axis < 0 ? 1 : (regs - nv - 2) / nv;
    if (mr > 12) mr = 12;
    if (m_axis >= 0 && ir_dim_is_const(ob->dims[m_axis]) && ob->dims[m_axis].c < mr) mr = (int)ob->dims[m_axis].c;
    if (mr < 1) mr = 1;
    *ct = (cg_contraction){.a = a, .b = b, .m_axis = m_axis, .n_axis = n_axis,
                           .b_vec = b_is_vector_load(p, b, n_axis, mask), .vl = lanes, .mr = mr, .nr = nv * lanes};
    ok = 1;
done:
    free(mask);
    free(seen);
    return ok;
}

/* ---- the packed engine's plan ---- */

int cg_affine_of(const kir_program *p, uint32_t e, cg_affine *f) {
    const kir_expr *x = &p->exprs[e];
    memset(f, 0, sizeof *f);
    cg_affine l, r;
    switch (x->op) {
    case KX_CONST:
        if (ir_dtype_is_float(x->dtype)) return 0;
        f->c0 = x->ival;
        return 1;
    case KX_IDX: f->idx[x->axis] = 1; return 1;
    case KX_RIDX: f->ridx[x->axis] = 1; return 1;
    case KX_ADD: case KX_SUB: case KX_MUL: {
        if (!cg_affine_of(p, x->args[0], &l) || !cg_affine_of(p, x->args[1], &r)) return 0;
        int64_t s = x->op == KX_SUB ? -1 : 1;
        if (x->op == KX_MUL) { /* one side must be a constant */
            bool lc = true, rc = true;
            for (int i = 0; i < IR_MAX_RANK; i++) {
                lc = lc && !l.idx[i] && !l.ridx[i];
                rc = rc && !r.idx[i] && !r.ridx[i];
            }
            if (!lc && !rc) return 0;
            if (lc) { cg_affine t = l; l = r; r = t; }
            f->c0 = l.c0 * r.c0;
            for (int i = 0; i < IR_MAX_RANK; i++) f->idx[i] = l.idx[i] * r.c0, f->ridx[i] = l.ridx[i] * r.c0;
            return 1;
        }
        f->c0 = l.c0 + s * r.c0;
        for (int i = 0; i < IR_MAX_RANK; i++) f->idx[i] = l.idx[i] + s * r.idx[i], f->ridx[i] = l.ridx[i] + s * r.ridx[i];
        return 1;
    }
    default: return 0;
    }
}

/* Operand e is a load of an f32 constant whose element offset is an affine
 * form of the `side` axes and the reduction axes, in range for every point:
 * fills *off and returns the buffer, else -1. */
static int const_operand(const kir_program *p, const kir_kernel *k, uint32_t e, uint32_t side, cg_affine *off) {
    const kir_expr *x = &p->exprs[e];
    if (x->op != KX_LOAD) return -1;
    const kir_buffer *kb = &p->bufs[x->buffer], *ob = &p->bufs[k->out];
    if (kb->kind != KB_CONST || kb->dtype != IR_F32 || !kb->data || (int)x->n_args != kb->rank) return -1;
    for (int r = 0; r < k->rrank; r++)
        if (!ir_dim_is_const(k->red[r])) return -1;
    memset(off, 0, sizeof *off);
    int64_t stride = 1;
    for (int j = kb->rank - 1; j >= 0; j--) {
        cg_affine a;
        if (!ir_dim_is_const(kb->dims[j]) || !cg_affine_of(p, x->args[j], &a)) return -1;
        int64_t lo = a.c0, hi = a.c0;
        for (int ax = 0; ax < IR_MAX_RANK; ax++) {
            if (!a.idx[ax]) continue;
            if (ax >= ob->rank || !(side >> ax & 1) || !ir_dim_is_const(ob->dims[ax])) return -1;
            int64_t ext = a.idx[ax] * (ob->dims[ax].c - 1);
            if (ext > 0) hi += ext; else lo += ext;
        }
        for (int r = 0; r < IR_MAX_RANK; r++) {
            if (!a.ridx[r]) continue;
            if (r >= k->rrank) return -1;
            int64_t ext = a.ridx[r] * (k->red[r].c - 1);
            if (ext > 0) hi += ext; else lo += ext;
        }
        if (lo < 0 || hi >= kb->dims[j].c) return -1;
        off->c0 += a.c0 * stride;
        for (int i = 0; i < IR_MAX_RANK; i++) off->idx[i] += a.idx[i] * stride, off->ridx[i] += a.ridx[i] * stride;
        stride *= kb->dims[j].c;
    }
    return (int)x->buffer;
}

/* e is IDX(ax) plus terms that read no axis of S (a load index that stays
 * in range, so the emitter does not clamp it: see index_in_range) */
static bool unit_index(const kir_program *p, const kir_kernel *k, uint32_t e, int ax) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_IDX) return x->axis == ax;
    if (x->op != KX_ADD) return false;
    for (int s = 0; s < 2; s++) { /* IDX(ax) + RIDX(r) over a reduction axis of size 1 */
        const kir_expr *i = &p->exprs[x->args[s]], *r = &p->exprs[x->args[1 - s]];
        if (i->op == KX_IDX && i->axis == ax && r->op == KX_RIDX && ir_dim_is_const(k->red[r->axis]) &&
            k->red[r->axis].c == 1)
            return true;
    }
    return false;
}

/* Expression e reads the N axes (mask S = axes [n_lo, rank)) only as the
 * trailing indices of loads of buffers whose trailing dimensions are N's,
 * each exactly its axis: then setting the first N axes to 0 and the last
 * to the flat N index addresses the same elements. */
static bool flat_ok(const kir_program *p, const kir_kernel *k, uint32_t e, int n_lo, const uint32_t *mask,
                    unsigned char *seen) {
    const kir_buffer *ob = &p->bufs[k->out];
    uint32_t S = (ob->rank >= 32 ? 0xffffffffu : (1u << ob->rank) - 1) & ~((1u << n_lo) - 1);
    if (!(mask[e] & S) || seen[e] == 2) return true;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_IDX) return false;
    if (x->op == KX_LOAD) {
        int ns = ob->rank - n_lo, nb = (int)x->n_args;
        const kir_buffer *kb = &p->bufs[x->buffer];
        if (nb < ns || ir_dtype_get(kb->dtype)->block_elems > 1) return false;
        for (int j = 0; j < nb - ns; j++)
            if (mask[x->args[j]] & S) return false;
        for (int t = 0; t < ns; t++) {
            if (!ir_dim_eq(kb->dims[nb - ns + t], ob->dims[n_lo + t])) return false;
            if (!unit_index(p, k, x->args[nb - ns + t], n_lo + t)) return false;
        }
    } else {
        for (uint32_t i = 0; i < x->n_args; i++)
            if (!flat_ok(p, k, x->args[i], n_lo, mask, seen)) return false;
    }
    seen[e] = 2;
    return true;
}

/* padded extent of a dimension product for a tile side r (-1: unknown) */
static int64_t padded(const kir_buffer *ob, int lo, int hi, int r) {
    int64_t n = 1;
    for (int ax = lo; ax < hi; ax++) {
        if (!ir_dim_is_const(ob->dims[ax])) return -1;
        n *= ob->dims[ax].c;
    }
    return (n + r - 1) / r * r;
}

/* The microkernel tile with the least padding of M and N: the default
 * (AVX-512 14x32) or one with fewer rows and one more vector of columns
 * (8x48), which fits channel counts that are multiples of 8 and pads an M
 * known only at run time less. */
static void pick_tile(cg_gemm_config *cfg, const kir_buffer *ob, int m_lo, int n_lo) {
    int nv = cfg->nr / cfg->vec, alt_nv = nv + 1;
    int alt_mr = (cfg->nregs - alt_nv - 1) / alt_nv;
    if (alt_mr < 2 || alt_mr >= cfg->mr) return;
    if (alt_mr > 8) alt_mr = 8;
    int64_t m0 = padded(ob, m_lo, n_lo, cfg->mr), m1 = padded(ob, m_lo, n_lo, alt_mr);
    int64_t n0 = padded(ob, n_lo, ob->rank, cfg->nr), n1 = padded(ob, n_lo, ob->rank, alt_nv * cfg->vec);
    if (n0 < 0 || n1 < 0) n0 = n1 = 1;
    if (m0 < 0 || m1 < 0) { /* M known at run time only (batch x sequence): fewer rows pad less */
        if (n1 > n0 || alt_mr < 6) return;
    } else if (m1 * n1 * 20 >= m0 * n0 * 19) {
        return; /* keep the default unless 5% less padding */
    }
    cfg->mr = alt_mr;
    cfg->nr = alt_nv * cfg->vec;
    cfg->mc = alt_mr * 12;
    cfg->nc = cfg->nr * 16;
}

/* the integer engine's dot instruction on the target */
static int target_dot(cg_ctx *c, int lanes) {
    char *triple = LLVMGetTargetMachineTriple(c->tm);
    char *feat = LLVMGetTargetMachineFeatureString(c->tm);
    int dot = cg_gemm_dot_for(triple, feat, lanes);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(feat);
    return dot;
}

int cg_gemm_plan_match(cg_ctx *c, const kir_kernel *k, cg_gemm_plan *pl) {
    const kir_program *p = c->p;
    /* integer: an i32 sum of i32 products whose operands fit i16 (int8
     * minus zero points), C kept as i32 in the 4-byte output */
    bool integer = k->acc_dtype == IR_I32;
    ir_dtype et = integer ? IR_I32 : IR_F32;
    if (k->kind != KK_LOOP || k->reduce != KR_SUM || k->acc_dtype != et || k->rrank < 1) return 0;
    const kir_expr *body = &p->exprs[k->body];
    if (body->op != KX_MUL || body->dtype != et) return 0;
    const kir_buffer *ob = &p->bufs[k->out];
    if (ob->dtype != IR_F32 && !(integer && ob->dtype == IR_I32)) return 0;
    if (ob->rank < 1 || ob->rank > 31) return 0;
    if (integer && (!cg_int_operand_i16(p, body->args[0]) || !cg_int_operand_i16(p, body->args[1]))) return 0;
    if (k->post != KIR_NONE && !cg_reg_type(c, p->exprs[k->post].dtype)) return 0;
    uint32_t *mask = malloc(p->n_exprs * sizeof *mask);
    unsigned char *seen = calloc(p->n_exprs, 1);
    int ok = 0;
    if (!mask || !seen) goto done;
    uint32_t a = body->args[0], b = body->args[1];
    if (p->exprs[a].dtype != et || p->exprs[b].dtype != et) goto done;
    uint32_t ma = kir_idx_mask(p, a, mask, seen), mb = kir_idx_mask(p, b, mask, seen);
    if (k->post != KIR_NONE) kir_idx_mask(p, k->post, mask, seen);
    int last = ob->rank - 1;
    if ((ma >> last & 1) && !(mb >> last & 1)) {
        uint32_t t = a;
        a = b, b = t;
        t = ma, ma = mb, mb = t;
    }
    if (ma >> last & 1) goto done; /* both read the innermost axis */
    int n_lo = ob->rank, m_lo;
    while (n_lo > 0 && !(ma >> (n_lo - 1) & 1)) n_lo--;
    m_lo = n_lo;
    while (m_lo > 0 && !(mb >> (m_lo - 1) & 1)) m_lo--;
    memset(pl, 0, sizeof *pl);
    pl->a = a, pl->b = b, pl->m_lo = m_lo, pl->n_lo = n_lo;
    for (int ax = 0; ax < m_lo; ax++) pl->batch |= 1u << ax;
    uint32_t msk = 0, nsk = 0;
    for (int ax = m_lo; ax < n_lo; ax++) msk |= 1u << ax;
    for (int ax = n_lo; ax < ob->rank; ax++) nsk |= 1u << ax;
    int64_t M = 1;
    for (int ax = m_lo; ax < n_lo; ax++) M = ir_dim_is_const(ob->dims[ax]) ? M * ob->dims[ax].c : 2;
    pl->rows = M == 1 && ir_dim_is_const(ob->dims[ob->rank - 1]) && ob->dims[ob->rank - 1].c <= 4096;
    if (M == 1 && (!pl->rows || integer)) goto done;
    pl->post_flat = k->post == KIR_NONE || flat_ok(p, k, k->post, n_lo, mask, seen);
    int lanes, regs;
    vector_shape(c, &lanes, &regs);
    if (integer) {
        pl->a_const = cg_int_operand_const(p, k, a, msk, mask);
        pl->b_const = cg_int_operand_const(p, k, b, nsk, mask);
        cg_gemm_config_int(&pl->cfg, lanes, regs, target_dot(c, lanes));
    } else {
        pl->a_const = const_operand(p, k, a, msk, &pl->a_off);
        pl->b_const = const_operand(p, k, b, nsk, &pl->b_off);
        cg_gemm_config_init(&pl->cfg, lanes, regs);
    }
    pick_tile(&pl->cfg, ob, m_lo, n_lo);
    ok = 1;
done:
    free(mask);
    free(seen);
    return ok;
}
