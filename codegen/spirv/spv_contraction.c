/* spv_contraction.c — contractions as a shared-memory tiled GEMM.
 *
 * A kernel matches when it is a SUM with an f32 accumulator of MUL(a, b),
 * a and b f32 expressions (loads, casts, padding selects, inlined
 * producers: MatMul, Gemm, batched MatMul, Conv as an implicit GEMM since
 * its window taps are the reduction axes). The output's innermost axis is
 * N (read by b only; a and b swap when a reads it), M the innermost other
 * axis read by a only; every other domain axis is a batch axis. A
 * workgroup of 256 invocations computes one T x T tile of the (M, N) plane
 * at one batch point (T = 16, or 64 where M and N are both at least 64 and
 * such tiles make f->big_tile_groups workgroups,
 * each invocation then computing 4 x 4 outputs held in registers): per step
 * of BK = 16 along the flattened reduction, the invocations evaluate the tile's
 * elements of a and b into workgroup memory (each element once, instead of
 * once per output that uses it), then after a barrier accumulate from
 * there. The post expression (bias, activation) is applied before each
 * guarded store.
 *
 * Cooperative matrices (spv_tiling.coop: 64 x 64 tiles, operands whose
 * values f16 holds exactly, the device's VK_NV_cooperative_matrix 16 x 16
 * x 16 f16 -> f32): the staged elements are f16 in workgroup memory; each
 * of the 8 subgroups of 32 owns two 16 x 16 accumulators (rows 16 (s / 2),
 * columns 32 (s % 2)) and per 16 of the step multiplies one A by two B fragments
 * (OpCooperativeMatrixMulAddNV); at the end the accumulators go through a
 * 64 x 64 f32 array in workgroup memory to the same per-output epilogue.
 * (The NV extension, not VK_KHR_cooperative_matrix: SPIRV-Tools 2023.1,
 * the validator here, knows only the NV one; NVIDIA drivers have both.)
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/spirv/spv_internal.h"
#include "runtime/half.h"

bool spv_f16_exact(const kir_program *p, uint32_t e) {
    const kir_expr *x = &p->exprs[e];
    if (x->dtype == IR_F16) return true;
    switch (x->op) {
    case KX_CAST: return x->dtype == IR_F32 && spv_f16_exact(p, x->args[0]);
    case KX_SELECT: return spv_f16_exact(p, x->args[1]) && spv_f16_exact(p, x->args[2]);
    case KX_CONST: return ir_dtype_is_float(x->dtype) && (double)rt_f16_to_f32(rt_f32_to_f16((float)x->fval)) == x->fval;
    default: return false;
    }
}

bool spv_match_contraction(spv_ctx *c, spv_tiling *t) {
    const kir_program *p = c->p;
    const kir_buffer *ob = &p->bufs[c->k->out];
    uint32_t *mask = malloc(p->n_exprs * sizeof *mask);
    unsigned char *seen = calloc(p->n_exprs, 1);
    uint32_t a, b;
    int m_axis;
    bool ok = mask && seen && kir_contraction_operands(p, c->k, mask, seen, &a, &b, &m_axis) && m_axis >= 0 &&
              p->exprs[a].dtype == IR_F32 && p->exprs[b].dtype == IR_F32;
    /* N: the innermost axis and the constant ones before it down to M that
     * b reads and a does not (a Conv's output rows with its columns) */
    int n_axis = ob->rank - 1;
    int64_t nsize = ir_dim_is_const(ob->dims[n_axis]) ? ob->dims[n_axis].c : -1;
    if (ok && !c->f->one_n_axis) {
        memset(seen, 0, p->n_exprs);
        uint32_t ma = kir_idx_mask(p, a, mask, seen), mb = kir_idx_mask(p, b, mask, seen);
        while (nsize > 0 && n_axis - 1 > m_axis && !(ma >> (n_axis - 1) & 1) && (mb >> (n_axis - 1) & 1) &&
               ir_dim_is_const(ob->dims[n_axis - 1]))
            nsize *= ob->dims[--n_axis].c;
    }
    free(mask);
    free(seen);
    if (!ok) return false;
    /* a tile mostly idle is slower than one invocation per element */
    ir_dim md = ob->dims[m_axis], nd = nsize > 0 ? ir_dim_const(nsize) : ob->dims[ob->rank - 1];
    if ((ir_dim_is_const(md) && md.c < SPV_TILE / 2) || (ir_dim_is_const(nd) && nd.c < SPV_TILE / 2)) return false;
    /* large planes: 64 x 64 tiles, 4 x 4 outputs per invocation, where
     * that still makes at least f->big_tile_groups workgroups */
    bool big = ir_dim_is_const(md) && md.c >= 64 && ir_dim_is_const(nd) && nd.c >= 64;
    int64_t groups = big ? (md.c / 64) * (nd.c / 64) : 0;
    for (int ax = 0; big && ax < n_axis && groups < c->f->big_tile_groups; ax++)
        if (ax != m_axis) groups = ir_dim_is_const(ob->dims[ax]) ? groups * ob->dims[ax].c : c->f->big_tile_groups;
    big = big && groups >= c->f->big_tile_groups;
    bool coop = c->f->coop && big && spv_f16_exact(p, a) && spv_f16_exact(p, b);
    *t = (spv_tiling){.m_axis = m_axis, .n_axis = n_axis, .tile = big ? 64 : SPV_TILE, .a = a, .b = b, .coop = coop};
    return true;
}

/* the step along the flattened reduction: elements of each operand staged
 * per barrier pair */
#define BK 16

static uint32_t u32c(spv_ctx *c, uint32_t v) { return spv_c_u32(c, v); }
static uint32_t i64c(spv_ctx *c, int64_t v) { return spv_c_i64(c, v); }

/* Set the domain indices of axes [axis, end) from flat index at (row-major);
 * in 32-bit arithmetic where the axes are constant and their product fits
 * (64-bit division is emulated on GPUs). */
static void set_flat(spv_ctx *c, int axis, int end, uint32_t at) {
    const ir_dim *dims = c->p->bufs[c->k->out].dims;
    int64_t prod = 1;
    for (int ax = axis; ax < end && prod > 0; ax++) prod = ir_dim_is_const(dims[ax]) ? prod * dims[ax].c : -1;
    if (end - axis > 1 && prod > 0 && prod < ((int64_t)1 << 31)) {
        uint32_t U = c->t_u32, a32 = spv_op1(c, SpvOpUConvert, U, at);
        for (int ax = end - 1; ax >= axis; ax--) {
            uint32_t d = u32c(c, (uint32_t)dims[ax].c);
            uint32_t v = ax == axis ? a32 : spv_op2(c, SpvOpUMod, U, a32, d);
            c->idx[ax] = spv_op1(c, SpvOpUConvert, c->t_i64, v);
            if (ax > axis) a32 = spv_op2(c, SpvOpUDiv, U, a32, d);
        }
        return;
    }
    for (int ax = end - 1; ax >= axis; ax--) {
        if (ax == axis) {
            c->idx[ax] = at;
            break;
        }
        uint32_t d = spv_dim(c, c->p->bufs[c->k->out].dims[ax]);
        c->idx[ax] = spv_op2(c, SpvOpUMod, c->t_i64, at, d);
        at = spv_op2(c, SpvOpUDiv, c->t_i64, at, d);
    }
}

/* Set the reduction indices from flat index k (row-major over red dims). */
static void unravel_red(spv_ctx *c, uint32_t k) {
    for (int i = c->k->rrank - 1; i >= 0; i--) {
        uint32_t d = spv_dim(c, c->k->red[i]);
        c->ridx[i] = i == 0 ? k : spv_op2(c, SpvOpUMod, c->t_i64, k, d);
        if (i > 0) k = spv_op2(c, SpvOpUDiv, c->t_i64, k, d);
    }
}

/* Operand e at domain index `axis` = `at` and reduction position k into
 * the shared array `tile` (elements of type et: f32, or f16) at `slot`, 0
 * where !valid. */
static void load_elem(spv_ctx *c, uint32_t e, int axis, int axis_end, uint32_t at, uint32_t k, uint32_t valid,
                      uint32_t tile, uint32_t et, uint32_t p_elem, uint32_t slot) {
    spv_scope_push(c);
    uint32_t saved[IR_MAX_RANK];
    memcpy(saved, c->idx, sizeof saved);
    /* at past the end: position 0 (a valid index), the value is dropped */
    set_flat(c, axis, axis_end, spv_sel(c, c->t_i64, valid, at, i64c(c, 0)));
    /* k past the end: read position 0 (a valid index), the value is dropped */
    unravel_red(c, spv_sel(c, c->t_i64, valid, k, i64c(c, 0)));
    uint32_t v = spv_emit_expr(c, e);
    memcpy(c->idx, saved, sizeof saved);
    spv_scope_pop(c);
    if (!v) return;
    v = spv_sel(c, c->t_f32, valid, v, spv_c_f32(c, 0.0f));
    if (et != c->t_f32) v = spv_op1(c, SpvOpFConvert, et, v);
    uint32_t ops[2] = {tile, slot};
    spv_store(c, spv_op(&c->b, c->cur, SpvOpAccessChain, p_elem, ops, 2), v);
}

/* Element e of the BK x T block of an operand for the step at k0: its
 * position along `axis` (from base, below limit) and along the reduction
 * (below Kn), consecutive e walking the axis (axis_inner) or the reduction;
 * stored reduction-major in `tile`. */
static void load_share(spv_ctx *c, uint32_t op, int axis, int axis_end, uint32_t base, uint32_t limit, uint32_t k0,
                       uint32_t Kn, uint32_t e, bool axis_inner, uint32_t T, uint32_t tile, uint32_t et,
                       uint32_t p_elem) {
    uint32_t U = c->t_u32, I = c->t_i64, B = c->t_bool;
    uint32_t pos = axis_inner ? spv_op2(c, SpvOpUMod, U, e, u32c(c, T)) : spv_op2(c, SpvOpUDiv, U, e, u32c(c, BK));
    uint32_t kk = axis_inner ? spv_op2(c, SpvOpUDiv, U, e, u32c(c, T)) : spv_op2(c, SpvOpUMod, U, e, u32c(c, BK));
    uint32_t at = spv_op2(c, SpvOpIAdd, I, base, spv_op1(c, SpvOpUConvert, I, pos));
    uint32_t kx = spv_op2(c, SpvOpIAdd, I, k0, spv_op1(c, SpvOpUConvert, I, kk));
    uint32_t ok = spv_op2(c, SpvOpLogicalAnd, B, spv_op2(c, SpvOpSLessThan, B, at, limit), spv_op2(c, SpvOpSLessThan, B, kx, Kn));
    load_elem(c, op, axis, axis_end, at, kx, ok, tile, et, p_elem, spv_op2(c, SpvOpIAdd, U, spv_op2(c, SpvOpIMul, U, kk, u32c(c, T)), pos));
}

static void barrier(spv_ctx *c) {
    uint32_t ops[3] = {u32c(c, 2), u32c(c, 2), u32c(c, 0x108)}; /* Workgroup, Workgroup, AcquireRelease|WorkgroupMemory */
    spv_inst(&c->b, c->cur, 224 /* OpControlBarrier */, ops, 3);
}

static uint32_t shared_ptr(spv_ctx *c, uint32_t arr, uint32_t p_elem, uint32_t slot) {
    uint32_t ops[2] = {arr, slot};
    return spv_op(&c->b, c->cur, SpvOpAccessChain, p_elem, ops, 2);
}

static uint32_t shared_load(spv_ctx *c, uint32_t arr, uint32_t p_elem, uint32_t slot) {
    return spv_op1(c, SpvOpLoad, c->t_f32, shared_ptr(c, arr, p_elem, slot));
}

/* A workgroup array of n elements of type et and the pointer type to one
 * element; *var the variable. */
static uint32_t shared_array(spv_ctx *c, uint32_t et, uint32_t n, uint32_t *var) {
    spv_builder *b = &c->b;
    uint32_t ops[2] = {et, u32c(c, n)};
    uint32_t arr = spv_type(b, 28 /* OpTypeArray */, ops, 2);
    ops[0] = SpvStorageWorkgroup, ops[1] = arr;
    uint32_t p_arr = spv_type(b, SpvOpTypePointer, ops, 2), wg = SpvStorageWorkgroup;
    *var = spv_op(b, &b->types, SpvOpVariable, p_arr, &wg, 1);
    ops[1] = et;
    return spv_type(b, SpvOpTypePointer, ops, 2);
}

/* The cooperative-matrix state of a 64 x 64 tile (see the header). */
typedef struct coop_gemm {
    uint32_t t_h, t_a, t_c;       /* f16; the f16 16 x 16 matrix; the f32 one */
    uint32_t acc[2];              /* Function variables of t_c */
    uint32_t a_off, b_off[2];     /* u32 offsets of the fragments in the staged tiles */
} coop_gemm;

static void coop_types(spv_ctx *c, coop_gemm *g) {
    spv_builder *b = &c->b;
    spv_capability(b, SpvCapFloat16);
    spv_capability(b, SpvCapGroupNonUniform);
    spv_capability(b, SpvCapCooperativeMatrixNV);
    spv_extension(b, "SPV_NV_cooperative_matrix");
    uint32_t w16 = 16;
    g->t_h = spv_type(b, SpvOpTypeFloat, &w16, 1);
    uint32_t ops[4] = {g->t_h, u32c(c, SpvScopeSubgroup), u32c(c, 16), u32c(c, 16)};
    g->t_a = spv_type(b, SpvOpTypeCooperativeMatrixNV, ops, 4);
    ops[0] = c->t_f32;
    g->t_c = spv_type(b, SpvOpTypeCooperativeMatrixNV, ops, 4);
}

/* Subgroup sg's fragments, and its accumulators set to 0 (in the body). */
static void coop_begin(spv_ctx *c, coop_gemm *g, uint32_t sg, uint32_t T) {
    uint32_t U = c->t_u32, ops[2] = {SpvStorageFunction, g->t_c};
    uint32_t p_c = spv_type(&c->b, SpvOpTypePointer, ops, 2), sc = SpvStorageFunction;
    uint32_t f0 = spv_c_f32(c, 0.0f);
    uint32_t zero = spv_const(&c->b, SpvOpConstantComposite, g->t_c, &f0, 1);
    uint32_t row = spv_op2(c, SpvOpIMul, U, spv_op2(c, SpvOpUDiv, U, sg, u32c(c, 2)), u32c(c, 16));
    uint32_t col = spv_op2(c, SpvOpIMul, U, spv_op2(c, SpvOpUMod, U, sg, u32c(c, 2)), u32c(c, 32));
    g->a_off = row; /* A: reduction-major, (m, k) at k T + m */
    for (int j = 0; j < 2; j++) {
        g->acc[j] = spv_op(&c->b, &c->vars, SpvOpVariable, p_c, &sc, 1);
        spv_store(c, g->acc[j], zero);
        g->b_off[j] = spv_op2(c, SpvOpIAdd, U, col, u32c(c, 16 * j)); /* B: (k, n) at k T + n */
    }
    (void)T;
}

/* One step of BK along the reduction from the staged tiles, 16 at a time. */
static void coop_step(spv_ctx *c, const coop_gemm *g, uint32_t as, uint32_t bs, uint32_t p_h, uint32_t T) {
    for (uint32_t kk = 0; kk < BK; kk += 16) {
        uint32_t stride = u32c(c, T), ko = u32c(c, kk * T), U = c->t_u32;
        uint32_t lo[3] = {shared_ptr(c, as, p_h, spv_op2(c, SpvOpIAdd, U, g->a_off, ko)), stride, spv_c_bool(c, true)};
        uint32_t a = spv_op(&c->b, c->cur, SpvOpCooperativeMatrixLoadNV, g->t_a, lo, 3);
        for (int j = 0; j < 2; j++) {
            uint32_t lb[3] = {shared_ptr(c, bs, p_h, spv_op2(c, SpvOpIAdd, U, g->b_off[j], ko)), stride,
                              spv_c_bool(c, false)};
            uint32_t bm = spv_op(&c->b, c->cur, SpvOpCooperativeMatrixLoadNV, g->t_a, lb, 3);
            uint32_t ma[3] = {a, bm, spv_op1(c, SpvOpLoad, g->t_c, g->acc[j])};
            spv_store(c, g->acc[j], spv_op(&c->b, c->cur, SpvOpCooperativeMatrixMulAddNV, g->t_c, ma, 3));
        }
    }
}

/* The accumulators into the T x T f32 array cs (row-major). */
static void coop_end(spv_ctx *c, const coop_gemm *g, uint32_t cs, uint32_t p_f, uint32_t T) {
    uint32_t U = c->t_u32;
    uint32_t row0 = spv_op2(c, SpvOpIMul, U, g->a_off, u32c(c, T));
    for (int j = 0; j < 2; j++) {
        uint32_t st[4] = {shared_ptr(c, cs, p_f, spv_op2(c, SpvOpIAdd, U, row0, g->b_off[j])),
                          spv_op1(c, SpvOpLoad, g->t_c, g->acc[j]), u32c(c, T), spv_c_bool(c, false)};
        spv_inst(&c->b, c->cur, SpvOpCooperativeMatrixStoreNV, st, 4);
    }
}

/* The post expression of acc at the current point and the store, when
 * inside (a selection). */
static void store_point(spv_ctx *c, uint32_t acc, uint32_t inside) {
    const kir_kernel *k = c->k;
    const kir_buffer *ob = &c->p->bufs[k->out];
    uint32_t v = acc, I = c->t_i64;
    ir_dtype vt = IR_F32;
    if (k->post != KIR_NONE) {
        c->acc = v;
        vt = c->p->exprs[k->post].dtype;
        v = spv_emit_expr(c, k->post);
        c->acc = 0;
    }
    if (!v || c->failed) return;
    if (vt != ob->dtype) v = spv_convert(c, v, vt, ob->dtype, 0);
    uint32_t lin = i64c(c, 0);
    for (int ax = 0; ax < ob->rank; ax++)
        lin = spv_op2(c, SpvOpIAdd, I, spv_op2(c, SpvOpIMul, I, lin, spv_dim(c, ob->dims[ax])), c->idx[ax]);
    uint32_t st = spv_id(&c->b), skip = spv_id(&c->b), sm[2] = {skip, 0};
    spv_inst(&c->b, c->cur, SpvOpSelectionMerge, sm, 2);
    uint32_t br[3] = {inside, st, skip};
    spv_inst(&c->b, c->cur, SpvOpBranchConditional, br, 3);
    spv_label(c, st);
    spv_store_elem(c, k->out, lin, v);
    spv_branch(c, skip);
    spv_label(c, skip);
}

/* Workgroup: 256 invocations, tile T x T of the (M, N) plane, R = T / 16
 * outputs per invocation along each of M and N (rows ty + 16 i, columns
 * tx + 16 j), steps of BK along the reduction. */
void spv_emit_tiled(spv_ctx *c, const spv_tiling *t, signed char *dep) {
    (void)dep;
    spv_builder *b = &c->b;
    const kir_kernel *k = c->k;
    const kir_buffer *ob = &c->p->bufs[k->out];
    uint32_t U = c->t_u32, I = c->t_i64, B = c->t_bool, F = c->t_f32, T = t->tile, R = T / 16;
    uint32_t wid = spv_builtin_var(c, 26 /* WorkgroupId */, false), nwg = spv_builtin_var(c, SpvBuiltInNumWorkgroups, false);
    uint32_t lix = spv_builtin_var(c, 29 /* LocalInvocationIndex */, true);
    uint32_t sgid = t->coop ? spv_builtin_var(c, SpvBuiltInSubgroupId, true) : 0;
    coop_gemm cg = {0};
    if (t->coop) coop_types(c, &cg);
    /* two BK x T arrays in workgroup memory, reduction-major (f16 for the
     * cooperative matrices); with those, the T x T f32 results */
    uint32_t et = t->coop ? cg.t_h : F, as, bs, cs = 0;
    uint32_t p_elem = shared_array(c, et, BK * T, &as);
    shared_array(c, et, BK * T, &bs);
    uint32_t p_f = t->coop ? shared_array(c, F, T * T, &cs) : 0;

    c->cur = &c->pre;
    uint32_t w = spv_op1(c, SpvOpLoad, c->t_v3u32, wid), nw = spv_op1(c, SpvOpLoad, c->t_v3u32, nwg);
    uint32_t li = spv_op1(c, SpvOpLoad, U, lix), sg = t->coop ? spv_op1(c, SpvOpLoad, U, sgid) : 0;
    uint32_t wgi = spv_op1(c, SpvOpUConvert, I, spv_op2(c, SpvOpIAdd, U, spv_op2(c, SpvOpIMul, U, spv_extract(c, w, 1), spv_extract(c, nw, 0)),
                                                        spv_extract(c, w, 0)));
    uint32_t M = spv_dim(c, ob->dims[t->m_axis]), N = i64c(c, 1), Kn = i64c(c, 1);
    for (int ax = t->n_axis; ax < ob->rank; ax++) N = spv_op2(c, SpvOpIMul, I, N, spv_dim(c, ob->dims[ax]));
    for (int i = 0; i < k->rrank; i++) Kn = spv_op2(c, SpvOpIMul, I, Kn, spv_dim(c, k->red[i]));
    uint32_t tc = i64c(c, T);
    uint32_t tiles_m = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, M, i64c(c, T - 1)), tc);
    uint32_t tiles_n = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, N, i64c(c, T - 1)), tc);
    uint32_t tiles_k = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, Kn, i64c(c, BK - 1)), i64c(c, BK));
    uint32_t groups = spv_op2(c, SpvOpIMul, I, tiles_m, tiles_n);
    for (int ax = 0; ax < t->n_axis; ax++)
        if (ax != t->m_axis) groups = spv_op2(c, SpvOpIMul, I, groups, spv_dim(c, ob->dims[ax]));
    uint32_t in_range = spv_op2(c, SpvOpULessThan, B, wgi, groups); /* the same in the whole workgroup */

    uint32_t work = spv_id(b), end = spv_id(b);
    c->cur = &c->body;
    spv_label(c, work);
    uint32_t tn = spv_op2(c, SpvOpUMod, I, wgi, tiles_n), r = spv_op2(c, SpvOpUDiv, I, wgi, tiles_n);
    uint32_t tm = spv_op2(c, SpvOpUMod, I, r, tiles_m);
    r = spv_op2(c, SpvOpUDiv, I, r, tiles_m);
    for (int ax = t->n_axis - 1; ax >= 0; ax--) { /* the batch point */
        if (ax == t->m_axis) continue;
        uint32_t d = spv_dim(c, ob->dims[ax]);
        c->idx[ax] = spv_op2(c, SpvOpUMod, I, r, d);
        r = spv_op2(c, SpvOpUDiv, I, r, d);
    }
    uint32_t m0 = spv_op2(c, SpvOpIMul, I, tm, tc), n0 = spv_op2(c, SpvOpIMul, I, tn, tc);
    uint32_t tx = spv_op2(c, SpvOpUMod, U, li, u32c(c, 16)), ty = spv_op2(c, SpvOpUDiv, U, li, u32c(c, 16));
    uint32_t acc[16];
    for (uint32_t i = 0; i < R * R && !t->coop; i++) {
        acc[i] = spv_fn_var(c, F);
        spv_store(c, acc[i], spv_c_f32(c, 0.0f));
    }
    if (t->coop) coop_begin(c, &cg, sg, T);

    spv_loop kt;
    spv_loop_begin(c, &kt, tiles_k);
    spv_scope_push(c);
    uint32_t k0 = spv_op2(c, SpvOpIMul, I, kt.iv, i64c(c, BK));
    for (uint32_t q = 0; q < BK * T / 256; q++) {
        uint32_t e = spv_op2(c, SpvOpIAdd, U, li, u32c(c, 256 * q));
        load_share(c, t->a, t->m_axis, t->m_axis + 1, m0, M, k0, Kn, e, false, T, as, et, p_elem); /* A: the reduction innermost */
        load_share(c, t->b, t->n_axis, ob->rank, n0, N, k0, Kn, e, true, T, bs, et, p_elem); /* B: the columns innermost */
    }
    barrier(c);
    uint32_t sum[16];
    if (t->coop) coop_step(c, &cg, as, bs, p_elem, T);
    for (uint32_t i = 0; i < R * R && !t->coop; i++) sum[i] = spv_op1(c, SpvOpLoad, F, acc[i]);
    for (uint32_t kk = 0; kk < BK && !t->coop; kk++) {
        uint32_t av[4], bv[4];
        for (uint32_t q = 0; q < R; q++) {
            av[q] = shared_load(c, as, p_elem, spv_op2(c, SpvOpIAdd, U, ty, u32c(c, kk * T + 16 * q)));
            bv[q] = shared_load(c, bs, p_elem, spv_op2(c, SpvOpIAdd, U, tx, u32c(c, kk * T + 16 * q)));
        }
        for (uint32_t i = 0; i < R; i++)
            for (uint32_t j = 0; j < R; j++)
                sum[i * R + j] = spv_op2(c, SpvOpFAdd, F, sum[i * R + j], spv_op2(c, SpvOpFMul, F, av[i], bv[j]));
    }
    for (uint32_t i = 0; i < R * R && !t->coop; i++) spv_store(c, acc[i], sum[i]);
    barrier(c);
    spv_scope_pop(c);
    spv_loop_end(c, &kt);
    if (t->coop) {
        coop_end(c, &cg, cs, p_f, T);
        barrier(c);
    }

    /* each output: the post expression and the guarded store */
    for (uint32_t i = 0; i < R && !c->failed; i++)
        for (uint32_t j = 0; j < R && !c->failed; j++) {
            spv_scope_push(c);
            uint32_t m = spv_op2(c, SpvOpIAdd, I, m0, spv_op1(c, SpvOpUConvert, I, spv_op2(c, SpvOpIAdd, U, ty, u32c(c, 16 * i))));
            uint32_t n = spv_op2(c, SpvOpIAdd, I, n0, spv_op1(c, SpvOpUConvert, I, spv_op2(c, SpvOpIAdd, U, tx, u32c(c, 16 * j))));
            c->idx[t->m_axis] = m;
            set_flat(c, t->n_axis, ob->rank, n);
            uint32_t inside = spv_op2(c, SpvOpLogicalAnd, B, spv_op2(c, SpvOpSLessThan, B, m, M), spv_op2(c, SpvOpSLessThan, B, n, N));
            uint32_t slot = spv_op2(c, SpvOpIAdd, U, spv_op2(c, SpvOpIMul, U, spv_op2(c, SpvOpIAdd, U, ty, u32c(c, 16 * i)), u32c(c, T)),
                                    spv_op2(c, SpvOpIAdd, U, tx, u32c(c, 16 * j)));
            store_point(c, t->coop ? shared_load(c, cs, p_f, slot) : spv_op1(c, SpvOpLoad, F, acc[i * R + j]), inside);
            spv_scope_pop(c);
        }
    if (c->failed) return;
    spv_branch(c, end);
    spv_label(c, end);
    spv_inst(b, c->cur, SpvOpReturn, NULL, 0);
    spv_inst(b, c->cur, SpvOpFunctionEnd, NULL, 0);
    uint32_t iface[4] = {wid, nwg, lix, sgid};
    spv_finish_main(c, in_range, work, end, iface, t->coop ? 4 : 3);
    uint32_t mode[5] = {c->main_fn, 17 /* LocalSize */, 256, 1, 1};
    spv_inst(b, &b->modes, SpvOpExecutionMode, mode, 5);
}
