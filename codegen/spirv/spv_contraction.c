/* spv_contraction.c — contractions as a shared-memory tiled GEMM.
 *
 * A kernel matches when it is a SUM with an f32 accumulator of MUL(a, b),
 * a and b f32 expressions (loads, casts, padding selects, inlined
 * producers: MatMul, Gemm, batched MatMul, Conv as an implicit GEMM since
 * its window taps are the reduction axes). The output's innermost axis is
 * N (read by b only; a and b swap when a reads it), M the innermost other
 * axis read by a only; every other domain axis is a batch axis. A
 * workgroup of 256 invocations computes one T x T tile of the (M, N) plane
 * at one batch point (T = 16, or 64 where M and N are both at least 64,
 * each invocation then computing 4 x 4 outputs held in registers): per step
 * of 16 along the flattened reduction, the invocations evaluate the tile's
 * elements of a and b into workgroup memory (each element once, instead of
 * once per output that uses it), then after a barrier accumulate from
 * there. The post expression (bias, activation) is applied before each
 * guarded store.
 */
#include <stdlib.h>

#include "codegen/spirv/spv_internal.h"

bool spv_match_contraction(spv_ctx *c, spv_tiling *t) {
    const kir_program *p = c->p;
    const kir_buffer *ob = &p->bufs[c->k->out];
    uint32_t *mask = malloc(p->n_exprs * sizeof *mask);
    unsigned char *seen = calloc(p->n_exprs, 1);
    uint32_t a, b;
    int m_axis;
    bool ok = mask && seen && kir_contraction_operands(p, c->k, mask, seen, &a, &b, &m_axis) && m_axis >= 0 &&
              p->exprs[a].dtype == IR_F32 && p->exprs[b].dtype == IR_F32;
    free(mask);
    free(seen);
    if (!ok) return false;
    /* a tile mostly idle is slower than one invocation per element */
    ir_dim md = ob->dims[m_axis], nd = ob->dims[ob->rank - 1];
    if ((ir_dim_is_const(md) && md.c < SPV_TILE / 2) || (ir_dim_is_const(nd) && nd.c < SPV_TILE / 2)) return false;
    /* large planes: 64 x 64 tiles, 4 x 4 outputs per invocation */
    bool big = ir_dim_is_const(md) && md.c >= 64 && ir_dim_is_const(nd) && nd.c >= 64;
    *t = (spv_tiling){.m_axis = m_axis, .n_axis = ob->rank - 1, .tile = big ? 64 : SPV_TILE, .a = a, .b = b};
    return true;
}

static uint32_t u32c(spv_ctx *c, uint32_t v) { return spv_c_u32(c, v); }
static uint32_t i64c(spv_ctx *c, int64_t v) { return spv_c_i64(c, v); }

/* Set the reduction indices from flat index k (row-major over red dims). */
static void unravel_red(spv_ctx *c, uint32_t k) {
    for (int i = c->k->rrank - 1; i >= 0; i--) {
        uint32_t d = spv_dim(c, c->k->red[i]);
        c->ridx[i] = i == 0 ? k : spv_op2(c, SpvOpUMod, c->t_i64, k, d);
        if (i > 0) k = spv_op2(c, SpvOpUDiv, c->t_i64, k, d);
    }
}

/* Operand e at domain index `axis` = `at` and reduction position k into
 * the shared array `tile` at `slot`, 0 where !valid. */
static void load_elem(spv_ctx *c, uint32_t e, int axis, uint32_t at, uint32_t k, uint32_t valid, uint32_t tile,
                      uint32_t p_elem, uint32_t slot) {
    spv_scope_push(c);
    uint32_t saved = c->idx[axis];
    c->idx[axis] = at;
    /* k past the end: read position 0 (a valid index), the value is dropped */
    unravel_red(c, spv_sel(c, c->t_i64, valid, k, i64c(c, 0)));
    uint32_t v = spv_emit_expr(c, e);
    c->idx[axis] = saved;
    spv_scope_pop(c);
    if (!v) return;
    v = spv_sel(c, c->t_f32, valid, v, spv_c_f32(c, 0.0f));
    uint32_t ops[2] = {tile, slot};
    spv_store(c, spv_op(&c->b, c->cur, SpvOpAccessChain, p_elem, ops, 2), v);
}

/* Element e of the BK x T block of an operand for the step at k0: its
 * position along `axis` (from base, below limit) and along the reduction
 * (below Kn), consecutive e walking the axis (axis_inner) or the reduction;
 * stored reduction-major in `tile`. */
static void load_share(spv_ctx *c, uint32_t op, int axis, uint32_t base, uint32_t limit, uint32_t k0, uint32_t Kn,
                       uint32_t e, bool axis_inner, uint32_t T, uint32_t tile, uint32_t p_elem) {
    uint32_t U = c->t_u32, I = c->t_i64, B = c->t_bool, BK = 16;
    uint32_t pos = axis_inner ? spv_op2(c, SpvOpUMod, U, e, u32c(c, T)) : spv_op2(c, SpvOpUDiv, U, e, u32c(c, BK));
    uint32_t kk = axis_inner ? spv_op2(c, SpvOpUDiv, U, e, u32c(c, T)) : spv_op2(c, SpvOpUMod, U, e, u32c(c, BK));
    uint32_t at = spv_op2(c, SpvOpIAdd, I, base, spv_op1(c, SpvOpUConvert, I, pos));
    uint32_t kx = spv_op2(c, SpvOpIAdd, I, k0, spv_op1(c, SpvOpUConvert, I, kk));
    uint32_t ok = spv_op2(c, SpvOpLogicalAnd, B, spv_op2(c, SpvOpSLessThan, B, at, limit), spv_op2(c, SpvOpSLessThan, B, kx, Kn));
    load_elem(c, op, axis, at, kx, ok, tile, p_elem, spv_op2(c, SpvOpIAdd, U, spv_op2(c, SpvOpIMul, U, kk, u32c(c, T)), pos));
}

static void barrier(spv_ctx *c) {
    uint32_t ops[3] = {u32c(c, 2), u32c(c, 2), u32c(c, 0x108)}; /* Workgroup, Workgroup, AcquireRelease|WorkgroupMemory */
    spv_inst(&c->b, c->cur, 224 /* OpControlBarrier */, ops, 3);
}

static uint32_t shared_load(spv_ctx *c, uint32_t arr, uint32_t p_elem, uint32_t slot) {
    uint32_t ops[2] = {arr, slot};
    return spv_op1(c, SpvOpLoad, c->t_f32, spv_op(&c->b, c->cur, SpvOpAccessChain, p_elem, ops, 2));
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
 * tx + 16 j), steps of BK = 16 along the reduction. */
void spv_emit_tiled(spv_ctx *c, const spv_tiling *t, signed char *dep) {
    (void)dep;
    spv_builder *b = &c->b;
    const kir_kernel *k = c->k;
    const kir_buffer *ob = &c->p->bufs[k->out];
    uint32_t U = c->t_u32, I = c->t_i64, B = c->t_bool, F = c->t_f32, T = t->tile, R = T / 16, BK = 16;
    uint32_t wid = spv_builtin_var(c, 26 /* WorkgroupId */, false), nwg = spv_builtin_var(c, SpvBuiltInNumWorkgroups, false);
    uint32_t lix = spv_builtin_var(c, 29 /* LocalInvocationIndex */, true);
    /* two BK x T float arrays in workgroup memory, reduction-major */
    uint32_t ops[3] = {F, u32c(c, BK * T)};
    uint32_t arr = spv_type(b, 28 /* OpTypeArray */, ops, 2);
    ops[0] = 4 /* Workgroup */, ops[1] = arr;
    uint32_t p_arr = spv_type(b, SpvOpTypePointer, ops, 2);
    ops[1] = F;
    uint32_t p_elem = spv_type(b, SpvOpTypePointer, ops, 2), wg = 4;
    uint32_t as = spv_op(b, &b->types, SpvOpVariable, p_arr, &wg, 1), bs = spv_op(b, &b->types, SpvOpVariable, p_arr, &wg, 1);

    c->cur = &c->pre;
    uint32_t w = spv_op1(c, SpvOpLoad, c->t_v3u32, wid), nw = spv_op1(c, SpvOpLoad, c->t_v3u32, nwg);
    uint32_t li = spv_op1(c, SpvOpLoad, U, lix);
    uint32_t wgi = spv_op1(c, SpvOpUConvert, I, spv_op2(c, SpvOpIAdd, U, spv_op2(c, SpvOpIMul, U, spv_extract(c, w, 1), spv_extract(c, nw, 0)),
                                                        spv_extract(c, w, 0)));
    uint32_t M = spv_dim(c, ob->dims[t->m_axis]), N = spv_dim(c, ob->dims[t->n_axis]), Kn = i64c(c, 1);
    for (int i = 0; i < k->rrank; i++) Kn = spv_op2(c, SpvOpIMul, I, Kn, spv_dim(c, k->red[i]));
    uint32_t tc = i64c(c, T);
    uint32_t tiles_m = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, M, i64c(c, T - 1)), tc);
    uint32_t tiles_n = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, N, i64c(c, T - 1)), tc);
    uint32_t tiles_k = spv_op2(c, SpvOpUDiv, I, spv_op2(c, SpvOpIAdd, I, Kn, i64c(c, BK - 1)), i64c(c, BK));
    uint32_t groups = spv_op2(c, SpvOpIMul, I, tiles_m, tiles_n);
    for (int ax = 0; ax < ob->rank; ax++)
        if (ax != t->m_axis && ax != t->n_axis) groups = spv_op2(c, SpvOpIMul, I, groups, spv_dim(c, ob->dims[ax]));
    uint32_t in_range = spv_op2(c, SpvOpULessThan, B, wgi, groups); /* the same in the whole workgroup */

    uint32_t work = spv_id(b), end = spv_id(b);
    c->cur = &c->body;
    spv_label(c, work);
    uint32_t tn = spv_op2(c, SpvOpUMod, I, wgi, tiles_n), r = spv_op2(c, SpvOpUDiv, I, wgi, tiles_n);
    uint32_t tm = spv_op2(c, SpvOpUMod, I, r, tiles_m);
    r = spv_op2(c, SpvOpUDiv, I, r, tiles_m);
    for (int ax = ob->rank - 1; ax >= 0; ax--) { /* the batch point */
        if (ax == t->m_axis || ax == t->n_axis) continue;
        uint32_t d = spv_dim(c, ob->dims[ax]);
        c->idx[ax] = spv_op2(c, SpvOpUMod, I, r, d);
        r = spv_op2(c, SpvOpUDiv, I, r, d);
    }
    uint32_t m0 = spv_op2(c, SpvOpIMul, I, tm, tc), n0 = spv_op2(c, SpvOpIMul, I, tn, tc);
    uint32_t tx = spv_op2(c, SpvOpUMod, U, li, u32c(c, 16)), ty = spv_op2(c, SpvOpUDiv, U, li, u32c(c, 16));
    uint32_t acc[16];
    for (uint32_t i = 0; i < R * R; i++) {
        acc[i] = spv_fn_var(c, F);
        spv_store(c, acc[i], spv_c_f32(c, 0.0f));
    }

    spv_loop kt;
    spv_loop_begin(c, &kt, tiles_k);
    spv_scope_push(c);
    uint32_t k0 = spv_op2(c, SpvOpIMul, I, kt.iv, i64c(c, BK));
    for (uint32_t q = 0; q < R; q++) {
        uint32_t e = spv_op2(c, SpvOpIAdd, U, li, u32c(c, 256 * q));
        load_share(c, t->a, t->m_axis, m0, M, k0, Kn, e, false, T, as, p_elem); /* A: the reduction innermost */
        load_share(c, t->b, t->n_axis, n0, N, k0, Kn, e, true, T, bs, p_elem);  /* B: the columns innermost */
    }
    barrier(c);
    uint32_t sum[16];
    for (uint32_t i = 0; i < R * R; i++) sum[i] = spv_op1(c, SpvOpLoad, F, acc[i]);
    for (uint32_t kk = 0; kk < BK; kk++) {
        uint32_t av[4], bv[4];
        for (uint32_t q = 0; q < R; q++) {
            av[q] = shared_load(c, as, p_elem, spv_op2(c, SpvOpIAdd, U, ty, u32c(c, kk * T + 16 * q)));
            bv[q] = shared_load(c, bs, p_elem, spv_op2(c, SpvOpIAdd, U, tx, u32c(c, kk * T + 16 * q)));
        }
        for (uint32_t i = 0; i < R; i++)
            for (uint32_t j = 0; j < R; j++)
                sum[i * R + j] = spv_op2(c, SpvOpFAdd, F, sum[i * R + j], spv_op2(c, SpvOpFMul, F, av[i], bv[j]));
    }
    for (uint32_t i = 0; i < R * R; i++) spv_store(c, acc[i], sum[i]);
    barrier(c);
    spv_scope_pop(c);
    spv_loop_end(c, &kt);

    /* each output: the post expression and the guarded store */
    for (uint32_t i = 0; i < R && !c->failed; i++)
        for (uint32_t j = 0; j < R && !c->failed; j++) {
            spv_scope_push(c);
            uint32_t m = spv_op2(c, SpvOpIAdd, I, m0, spv_op1(c, SpvOpUConvert, I, spv_op2(c, SpvOpIAdd, U, ty, u32c(c, 16 * i))));
            uint32_t n = spv_op2(c, SpvOpIAdd, I, n0, spv_op1(c, SpvOpUConvert, I, spv_op2(c, SpvOpIAdd, U, tx, u32c(c, 16 * j))));
            c->idx[t->m_axis] = m;
            c->idx[t->n_axis] = n;
            uint32_t inside = spv_op2(c, SpvOpLogicalAnd, B, spv_op2(c, SpvOpSLessThan, B, m, M), spv_op2(c, SpvOpSLessThan, B, n, N));
            store_point(c, spv_op1(c, SpvOpLoad, F, acc[i * R + j]), inside);
            spv_scope_pop(c);
        }
    if (c->failed) return;
    spv_branch(c, end);
    spv_label(c, end);
    spv_inst(b, c->cur, SpvOpReturn, NULL, 0);
    spv_inst(b, c->cur, SpvOpFunctionEnd, NULL, 0);
    uint32_t iface[3] = {wid, nwg, lix};
    spv_finish_main(c, in_range, work, end, iface, 3);
    uint32_t mode[5] = {c->main_fn, 17 /* LocalSize */, 256, 1, 1};
    spv_inst(b, &b->modes, SpvOpExecutionMode, mode, 5);
}
