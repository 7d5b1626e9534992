/* gemm_emit.c — a contraction kernel (contraction.c) as a register-blocked
 * GEMM.
 *
 * Work items are tiles: a point of the batch axes, a block of NR columns
 * along N (the output's innermost axis) and a block of MR rows along M,
 * M innermost so that consecutive tiles of one thread reuse the K x NR
 * panel of b from cache. Per tile, a loop nest over the reduction axes
 * (K) keeps MR x NR/VL vector accumulators (f32, in allocas that SROA
 * turns into registers): per k it takes an NR-wide vector of b — one
 * (masked) vector load when b is a plain unit-stride load along N, else
 * NR scalar evaluations of b's expression (padding selects, casts,
 * inlined producers) — and MR broadcast scalars of a, and FMAs
 * (llvm.fma). Rows past M are computed on the last row and not stored;
 * columns past N are masked (vector load) or clamped (scalar b). The
 * epilogue spills the accumulators to a stack tile and evaluates the
 * kernel's post expression per stored element (KX_ACC = the f32 sum).
 *
 * Accumulation is f32 with FMA in blocked order; the reference
 * interpreter accumulates in double, so results differ by f32 rounding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/contraction.h"

/* largest packed b panel (stack) */
#define CG_GEMM_PANEL_BYTES (256 * 1024)

typedef struct gemm {
    cg_fn *f;
    const cg_contraction *ct;
    const kir_buffer *ob;
    LLVMTypeRef vt;            /* <vl x float> */
    int nv;                    /* vectors per row: nr / vl */
    LLVMValueRef dm, dn;       /* M and N extents (dm = 1 without an M axis) */
    LLVMValueRef nbm, nbn;     /* blocks along M and N */
} gemm;

static LLVMValueRef i64c(cg_fn *f, long long v) { return LLVMConstInt(f->c->t_i64, (unsigned long long)v, 1); }

static LLVMValueRef imin(cg_fn *f, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef ceil_div(LLVMBuilderRef B, cg_fn *f, LLVMValueRef a, int d) {
    return LLVMBuildSDiv(B, LLVMBuildAdd(B, a, i64c(f, d - 1), ""), i64c(f, d), "");
}

static void gemm_setup(gemm *g, cg_fn *f, const cg_contraction *ct) {
    cg_ctx *c = f->c;
    g->f = f;
    g->ct = ct;
    g->ob = &c->p->bufs[f->k->out];
    g->vt = LLVMVectorType(c->t_f32, (unsigned)ct->vl);
    g->nv = ct->nr / ct->vl;
    g->dm = ct->m_axis >= 0 ? cg_emit_dim(f, g->ob->dims[ct->m_axis]) : i64c(f, 1);
    g->dn = cg_emit_dim(f, g->ob->dims[ct->n_axis]);
    g->nbm = ceil_div(f->eb, f, g->dm, ct->mr);
    g->nbn = ceil_div(f->eb, f, g->dn, ct->nr);
}

/* number of work items: batch points x N blocks */
static LLVMValueRef tile_count(gemm *g) {
    cg_fn *f = g->f;
    LLVMValueRef n = g->nbn;
    for (int ax = 0; ax < g->ob->rank; ax++)
        if (ax != g->ct->m_axis && ax != g->ct->n_axis) n = LLVMBuildMul(f->eb, n, cg_emit_dim(f, g->ob->dims[ax]), "");
    return n;
}

static LLVMValueRef call_intrinsic(cg_fn *f, const char *name, LLVMTypeRef *tys, unsigned nt, LLVMValueRef *args,
                                   unsigned n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(f->c->mod, id, tys, nt);
    return LLVMBuildCall2(f->b, LLVMIntrinsicGetType(f->c->ctx, id, tys, nt), fn, args, n, "");
}

static LLVMValueRef splat(gemm *g, LLVMValueRef s) {
    cg_fn *f = g->f;
    LLVMValueRef v = LLVMBuildInsertElement(f->b, LLVMGetUndef(g->vt), s, LLVMConstInt(f->c->t_i32, 0, 0), "");
    return LLVMBuildShuffleVector(f->b, v, LLVMGetUndef(g->vt),
                                  LLVMConstNull(LLVMVectorType(f->c->t_i32, (unsigned)g->ct->vl)), "");
}

/* mask of the lanes of vector v that lie before column `cols` */
static LLVMValueRef lane_mask(gemm *g, int v, LLVMValueRef cols) {
    cg_fn *f = g->f;
    LLVMValueRef lanes[64];
    for (int j = 0; j < g->ct->vl; j++) lanes[j] = i64c(f, v * g->ct->vl + j);
    LLVMTypeRef iv = LLVMVectorType(f->c->t_i64, (unsigned)g->ct->vl);
    LLVMValueRef lim = LLVMBuildInsertElement(f->b, LLVMGetUndef(iv), cols, LLVMConstInt(f->c->t_i32, 0, 0), "");
    lim = LLVMBuildShuffleVector(f->b, lim, LLVMGetUndef(iv), LLVMConstNull(LLVMVectorType(f->c->t_i32, (unsigned)g->ct->vl)), "");
    return LLVMBuildICmp(f->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)g->ct->vl), lim, "");
}

/* Row-major linear index of load expression x's element at the loop point. */
static LLVMValueRef load_index(cg_fn *f, const kir_expr *x) {
    const kir_buffer *bb = &f->c->p->bufs[x->buffer];
    LLVMValueRef lin = i64c(f, 0);
    for (uint32_t i = 0; i < x->n_args; i++) {
        LLVMValueRef ix = cg_emit_expr(f, x->args[i]);
        if (!ix) return NULL;
        lin = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, lin, cg_emit_dim(f, bb->dims[i]), ""), ix, "");
    }
    return lin;
}

/* the nv vectors of b at the current k, columns n0.. (masks: partial tile) */
static int load_b(gemm *g, LLVMValueRef n0, LLVMValueRef *masks, LLVMValueRef *bv) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const cg_contraction *ct = g->ct;
    if (ct->b_vec) {
        const kir_expr *x = &c->p->exprs[ct->b];
        cg_set_idx(f, ct->n_axis, n0);
        cg_scope_push(f);
        LLVMValueRef lin = load_index(f, x);
        cg_scope_pop(f);
        if (!lin) return -1;
        LLVMTypeRef tys[2] = {g->vt, c->t_ptr};
        for (int v = 0; v < g->nv; v++) {
            LLVMValueRef at = LLVMBuildAdd(f->b, lin, i64c(f, v * ct->vl), "");
            LLVMValueRef ptr = LLVMBuildGEP2(f->b, c->t_f32, cg_buffer_ptr(f, x->buffer), &at, 1, "");
            LLVMValueRef args[4] = {ptr, LLVMConstInt(c->t_i32, 4, 0), masks[v], LLVMConstNull(g->vt)};
            bv[v] = call_intrinsic(f, "llvm.masked.load", tys, 2, args, 4);
        }
        return 0;
    }
    LLVMValueRef last = LLVMBuildSub(f->b, g->dn, i64c(f, 1), "");
    for (int v = 0; v < g->nv; v++) {
        bv[v] = LLVMGetUndef(g->vt);
        for (int j = 0; j < ct->vl; j++) {
            cg_set_idx(f, ct->n_axis, imin(f, LLVMBuildAdd(f->b, n0, i64c(f, v * ct->vl + j), ""), last));
            cg_scope_push(f);
            LLVMValueRef s = cg_emit_expr(f, ct->b);
            cg_scope_pop(f);
            if (!s) return -1;
            bv[v] = LLVMBuildInsertElement(f->b, bv[v], s, LLVMConstInt(c->t_i32, (unsigned long long)j, 0), "");
        }
    }
    return 0;
}

/* one k step: acc[i][v] += a(m0 + i, k) * bv[v] */
static int kstep(gemm *g, LLVMValueRef m0, const LLVMValueRef *bv, LLVMValueRef *acc) {
    cg_fn *f = g->f;
    const cg_contraction *ct = g->ct;
    LLVMValueRef last = LLVMBuildSub(f->b, g->dm, i64c(f, 1), "");
    for (int i = 0; i < ct->mr; i++) {
        if (ct->m_axis >= 0) cg_set_idx(f, ct->m_axis, imin(f, LLVMBuildAdd(f->b, m0, i64c(f, i), ""), last));
        cg_scope_push(f);
        LLVMValueRef s = cg_emit_expr(f, ct->a);
        cg_scope_pop(f);
        if (!s) return -1;
        LLVMValueRef bs = splat(g, s);
        for (int v = 0; v < g->nv; v++) {
            LLVMValueRef slot = acc[i * g->nv + v];
            LLVMValueRef cur = LLVMBuildLoad2(f->b, g->vt, slot, "");
            LLVMValueRef args[3] = {bs, bv[v], cur};
            LLVMBuildStore(f->b, call_intrinsic(f, "llvm.fma", &g->vt, 1, args, 3), slot);
        }
    }
    return 0;
}

/* store the tile: post expression per element, rows < rows, columns < cols */
static int epilogue(gemm *g, LLVMValueRef m0, LLVMValueRef n0, LLVMValueRef *acc, LLVMValueRef tile) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const cg_contraction *ct = g->ct;
    const kir_kernel *k = f->k;
    for (int i = 0; i < ct->mr; i++)
        for (int v = 0; v < g->nv; v++) {
            LLVMValueRef at = i64c(f, i * ct->nr + v * ct->vl);
            LLVMValueRef ptr = LLVMBuildGEP2(f->b, c->t_f32, tile, &at, 1, "");
            LLVMValueRef st = LLVMBuildStore(f->b, LLVMBuildLoad2(f->b, g->vt, acc[i * g->nv + v], ""), ptr);
            LLVMSetAlignment(st, 4);
        }
    LLVMValueRef rows = imin(f, i64c(f, ct->mr), LLVMBuildSub(f->b, g->dm, m0, ""));
    LLVMValueRef cols = imin(f, i64c(f, ct->nr), LLVMBuildSub(f->b, g->dn, n0, ""));
    cg_loop li, lj;
    cg_loop_begin(f, &li, i64c(f, 0), rows, "ei");
    if (ct->m_axis >= 0) cg_set_idx(f, ct->m_axis, LLVMBuildAdd(f->b, m0, li.iv, ""));
    cg_scope_push(f);
    cg_loop_begin(f, &lj, i64c(f, 0), cols, "ej");
    cg_set_idx(f, ct->n_axis, LLVMBuildAdd(f->b, n0, lj.iv, ""));
    cg_scope_push(f);
    LLVMValueRef at = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, li.iv, i64c(f, ct->nr), ""), lj.iv, "");
    LLVMValueRef v = LLVMBuildLoad2(f->b, c->t_f32, LLVMBuildGEP2(f->b, c->t_f32, tile, &at, 1, ""), "");
    ir_dtype vt = IR_F32, ot = g->ob->dtype;
    if (k->post != KIR_NONE) {
        cg_set_acc(f, v);
        v = cg_emit_expr(f, k->post);
        cg_set_acc(f, NULL);
        if (!v) return -1;
        vt = c->p->exprs[k->post].dtype;
    }
    if (vt != ot) v = cg_convert(f, v, vt, ot, 0);
    LLVMValueRef lin = i64c(f, 0);
    for (int ax = 0; ax < g->ob->rank; ax++)
        lin = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, lin, cg_emit_dim(f, g->ob->dims[ax]), ""), f->idx[ax], "");
    cg_store_elem(f, k->out, lin, v);
    cg_scope_pop(f);
    cg_loop_end(f, &lj);
    cg_scope_pop(f);
    cg_loop_end(f, &li);
    return 0;
}

/* K loops over the reduction axes (ridx set) with the flat k index in *kf */
static void k_begin(gemm *g, cg_loop *loops, LLVMValueRef *kf) {
    cg_fn *f = g->f;
    const kir_kernel *k = f->k;
    *kf = i64c(f, 0);
    for (int i = 0; i < k->rrank; i++) {
        LLVMValueRef d = cg_emit_dim(f, k->red[i]);
        cg_loop_begin(f, &loops[i], i64c(f, 0), d, "k");
        cg_set_ridx(f, i, loops[i].iv);
        *kf = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, *kf, d, ""), loops[i].iv, "");
    }
    cg_scope_push(f);
}

static void k_end(gemm *g, cg_loop *loops) {
    cg_fn *f = g->f;
    cg_scope_pop(f);
    for (int i = f->k->rrank - 1; i >= 0; i--) cg_loop_end(f, &loops[i]);
    for (int i = 0; i < f->k->rrank; i++) cg_set_ridx(f, i, NULL);
}

/* elements of the packed b panel (K x NR) when K is a constant small
 * enough for a stack buffer, else 0 (b is evaluated per tile) */
static int64_t panel_elems(gemm *g) {
    const kir_kernel *k = g->f->k;
    int64_t n = g->ct->nr;
    for (int i = 0; i < k->rrank; i++) {
        if (!ir_dim_is_const(k->red[i])) return 0;
        n *= k->red[i].c;
    }
    return n * 4 <= CG_GEMM_PANEL_BYTES ? n : 0;
}

static LLVMValueRef panel_ptr(gemm *g, LLVMValueRef panel, LLVMValueRef kf, int v) {
    cg_fn *f = g->f;
    LLVMValueRef at = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, kf, i64c(f, g->ct->nr), ""), i64c(f, v * g->ct->vl), "");
    return LLVMBuildGEP2(f->b, f->c->t_f32, panel, &at, 1, "");
}

static int emit_run(gemm *g) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const cg_contraction *ct = g->ct;
    int nacc = ct->mr * g->nv;
    LLVMValueRef acc[12 * 8];
    if (nacc > 12 * 8 || g->nv > 8 || ct->vl > 64) {
        cg_fail(f, "GEMM tile too large");
        return -1;
    }
    for (int i = 0; i < nacc; i++) acc[i] = LLVMBuildAlloca(f->eb, g->vt, "acc");
    LLVMValueRef tile = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)(ct->mr * ct->nr)), "tile");
    int64_t np = panel_elems(g);
    LLVMValueRef panel = NULL;
    if (np) {
        panel = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)np), "panel");
        LLVMSetAlignment(panel, 64);
    }
    cg_loop item, mloop, loops[IR_MAX_RANK];
    cg_loop_begin(f, &item, LLVMGetParam(f->fn, 1), LLVMGetParam(f->fn, 2), "item");
    LLVMValueRef flat = item.iv;
    LLVMValueRef nb = LLVMBuildURem(f->b, flat, g->nbn, "");
    flat = LLVMBuildUDiv(f->b, flat, g->nbn, "");
    for (int ax = g->ob->rank - 1; ax >= 0; ax--) {
        if (ax == ct->m_axis || ax == ct->n_axis) continue;
        LLVMValueRef d = cg_emit_dim(f, g->ob->dims[ax]);
        cg_set_idx(f, ax, LLVMBuildURem(f->b, flat, d, ""));
        flat = LLVMBuildUDiv(f->b, flat, d, "");
    }
    LLVMValueRef n0 = LLVMBuildMul(f->b, nb, i64c(f, ct->nr), ""), kf;
    if (ct->m_axis >= 0) cg_set_idx(f, ct->m_axis, i64c(f, 0));
    cg_set_idx(f, ct->n_axis, n0);
    cg_scope_push(f);
    LLVMValueRef masks[8], bv[8];
    LLVMValueRef cols = LLVMBuildSub(f->b, g->dn, n0, "");
    for (int v = 0; v < g->nv; v++) masks[v] = ct->b_vec ? lane_mask(g, v, cols) : NULL;
    if (panel) { /* pack b: K x NR, contiguous */
        k_begin(g, loops, &kf);
        if (load_b(g, n0, masks, bv)) return -1;
        for (int v = 0; v < g->nv; v++) LLVMSetAlignment(LLVMBuildStore(f->b, bv[v], panel_ptr(g, panel, kf, v)), 4);
        k_end(g, loops);
    }
    cg_loop_begin(f, &mloop, i64c(f, 0), g->nbm, "mb");
    LLVMValueRef m0 = LLVMBuildMul(f->b, mloop.iv, i64c(f, ct->mr), "");
    cg_scope_push(f);
    for (int i = 0; i < nacc; i++) LLVMBuildStore(f->b, LLVMConstNull(g->vt), acc[i]);
    k_begin(g, loops, &kf);
    for (int v = 0; v < g->nv && panel; v++) {
        bv[v] = LLVMBuildLoad2(f->b, g->vt, panel_ptr(g, panel, kf, v), "");
        LLVMSetAlignment(bv[v], 4);
    }
    if (!panel && load_b(g, n0, masks, bv)) return -1;
    if (kstep(g, m0, bv, acc)) return -1;
    k_end(g, loops);
    if (epilogue(g, m0, n0, acc, tile)) return -1;
    cg_scope_pop(f);
    cg_loop_end(f, &mloop);
    cg_scope_pop(f);
    cg_loop_end(f, &item);
    return 0;
}

int cg_emit_gemm(cg_ctx *c, uint32_t ki, const cg_contraction *ct, LLVMValueRef *extent_fn, LLVMValueRef *run_fn) {
    const kir_kernel *k = &c->p->kernels[ki];
    char name[64];
    cg_fn f;
    gemm g;
    snprintf(name, sizeof name, "smelt.k%u.extent", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_extent, 0, 1)) return -1;
    gemm_setup(&g, &f, ct);
    LLVMBuildRet(f.b, tile_count(&g));
    *extent_fn = f.fn;
    cg_fn_end(&f);

    snprintf(name, sizeof name, "smelt.k%u.run", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_run, 0, 1)) return -1;
    gemm_setup(&g, &f, ct);
    int rc = emit_run(&g);
    if (!rc) LLVMBuildRetVoid(f.b);
    *run_fn = f.fn;
    rc = rc || f.failed ? -1 : 0;
    cg_fn_end(&f);
    return rc;
}
