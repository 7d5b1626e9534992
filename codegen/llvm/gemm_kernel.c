/* gemm_kernel.c — a contraction kernel (cg_gemm_plan, contraction.c)
 * through the packed GEMM engine of gemm.h.
 *
 * out[batch, M, N] = sum_K a(M, K) * b(K, N), M, N and K each the flattened
 * product of their axes; C rows (M) are N floats apart in the output. A
 * constant operand (conv and MatMul weights) is packed at compile time
 * with cg_gemm_pack_const into the weights blob, right after its buffer's
 * bytes (weights.c); the other operand is packed at run time into stack
 * panels by loops that evaluate its expression (im2col with the padding
 * selects, inlined producers, casts), per K block of KC. The microkernel
 * (cg_gemm_emit_micro, one per module) computes MR x NR tiles; the kernel's
 * post expression (bias, ReLU, clip, residual add) runs over each MC x NI
 * block of C after its last K block, while it is in cache.
 *
 * Work items: batch points x M ranges (MI rows) x N ranges (NI columns),
 * N fastest; NI is at most NI_RT panels when b is packed at run time
 * (KC x NI floats on the stack), and M is split only until there are
 * about GK_WANT_ITEMS items, since each M range packs b again.
 b is packed row by row (per k) with loops over the N axes, the innermost
 * inside, so that a convolution's im2col reads contiguous runs; loads that
 * are in range or guarded by a padding select are emitted without the
 * clamping of generic loads (analyse_operand), which lets LLVM vectorize
 * them. The epilogue sets the N axes from the flat column by div/mod, or,
 * when post_flat, as (0, ..., 0, n). Accumulation is f32 with FMA, K in
 * blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/contraction.h"

#define GK_WANT_ITEMS 4
#define GK_NI_RT 8     /* NR panels per item when b is packed at run time */
#define GK_NI_CONST 32 /* ... when b is a packed constant */

/* An operand expression as the pack loops emit it: e itself, or a load
 * whose indices need no clamping (in range, or checked by the select that
 * guards it: e = SELECT(cond, load, 0), the padding of a convolution),
 * emitted as an address computation under a branch on cond, so that LLVM
 * vectorizes it with (masked) contiguous loads. */
typedef struct opnd {
    uint32_t e, load, cond; /* load, cond: KIR_NONE when not used */
    uint32_t value;         /* the guarded value: load itself, or an integer
                               expression of it (CAST(load) - zero point) */
} opnd;

/* A packed integer constant held one byte an element: element = byte +
 * base (every value, and the 0 of the padding, within base .. base + 255). */
typedef struct bytes8 {
    bool on;
    int base;
} bytes8;

typedef struct gk {
    cg_fn *f;
    const cg_gemm_plan *pl;
    const kir_kernel *k;
    const kir_buffer *ob;
    const cg_gemm_config *cfg;
    LLVMValueRef M, N, K, nbat, MI, NI, nbm, nbn, items;
    LLVMValueRef Kp;         /* K in packed elements: K, or its pairs (integer engine) */
    bool integer;            /* the integer engine (cfg->dot): i16 operands, i32 C */
    LLVMValueRef apk, bpk;   /* packed constants, or NULL (packed at run time) */
    bytes8 an, bn;           /* integer engine: apk / bpk hold the i16 layout's
                                elements as bytes, widened per block into
                                abuf / bbuf at run time */
    LLVMValueRef abuf, bbuf; /* stack panels of the run-time packed operands */
    LLVMValueRef row;        /* one row of b's item columns (pack_b) */
    opnd opa, opb;           /* how the operands are emitted */
    LLVMValueRef Mp, Np;     /* M, N rounded up to MR, NR */
    LLVMValueRef boff, bt;   /* the item's batch: output offset, flat index */
} gk;

static LLVMValueRef i64c(cg_fn *f, long long v) { return LLVMConstInt(f->c->t_i64, (unsigned long long)v, 1); }

static LLVMValueRef imin(LLVMBuilderRef B, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef imax(LLVMBuilderRef B, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, a, b, ""), a, b, "");
}

/* ceil(a / d) for a >= 0, d > 0 */
static LLVMValueRef cdiv(LLVMBuilderRef B, cg_fn *f, LLVMValueRef a, LLVMValueRef d) {
    return LLVMBuildUDiv(B, LLVMBuildAdd(B, a, LLVMBuildSub(B, d, i64c(f, 1), ""), ""), d, "");
}

static LLVMValueRef round_up(LLVMBuilderRef B, cg_fn *f, LLVMValueRef a, int r) {
    return LLVMBuildMul(B, cdiv(B, f, a, i64c(f, r)), i64c(f, r), "");
}

static LLVMValueRef fptr(cg_fn *f, LLVMValueRef base, LLVMValueRef at) {
    return LLVMBuildGEP2(f->b, f->c->t_f32, base, &at, 1, "");
}

/* product of the output dims of the axes in mask */
static LLVMValueRef dims_of(gk *g, uint32_t mask) {
    cg_fn *f = g->f;
    LLVMValueRef v = i64c(f, 1);
    for (int ax = 0; ax < g->ob->rank; ax++)
        if (mask >> ax & 1) v = LLVMBuildMul(f->eb, v, cg_emit_dim(f, g->ob->dims[ax]), "");
    return v;
}

static uint32_t range_mask(int lo, int hi) {
    uint32_t m = 0;
    for (int ax = lo; ax < hi; ax++) m |= 1u << ax;
    return m;
}

/* sizes and the item grid (in the entry block) */
static void grid(gk *g) {
    cg_fn *f = g->f;
    LLVMBuilderRef B = f->eb;
    const cg_gemm_plan *pl = g->pl;
    int MR = g->cfg->mr, NR = g->cfg->nr;
    g->M = dims_of(g, range_mask(pl->m_lo, pl->n_lo));
    g->N = dims_of(g, range_mask(pl->n_lo, g->ob->rank));
    g->nbat = dims_of(g, pl->batch);
    g->K = i64c(f, 1);
    for (int r = 0; r < g->k->rrank; r++) g->K = LLVMBuildMul(B, g->K, cg_emit_dim(f, g->k->red[r]), "");
    g->Kp = g->integer ? cdiv(B, f, g->K, i64c(f, 2)) : g->K;
    LLVMValueRef one = i64c(f, 1);
    LLVMValueRef nimax = i64c(f, (long long)NR * (g->bpk && !g->bn.on ? GK_NI_CONST : GK_NI_RT));
    LLVMValueRef nbn = imax(B, cdiv(B, f, g->N, nimax), one);
    g->NI = imax(B, round_up(B, f, cdiv(B, f, g->N, nbn), NR), i64c(f, NR));
    g->nbn = cdiv(B, f, g->N, g->NI);
    LLVMValueRef base = imax(B, LLVMBuildMul(B, g->nbat, g->nbn, ""), one);
    LLVMValueRef nbm = imin(B, cdiv(B, f, i64c(f, GK_WANT_ITEMS), base), imax(B, cdiv(B, f, g->M, i64c(f, MR)), one));
    g->MI = imax(B, round_up(B, f, cdiv(B, f, g->M, nbm), MR), i64c(f, MR));
    g->nbm = cdiv(B, f, g->M, g->MI);
    g->items = LLVMBuildMul(B, g->nbat, LLVMBuildMul(B, g->nbm, g->nbn, ""), "");
    g->Mp = round_up(B, f, g->M, MR);
    g->Np = round_up(B, f, g->N, NR);
}

/* Set the indices of the axes in mask from their row-major flat index; with
 * flat, the last one takes the whole index and the others 0. */
static void unravel(gk *g, uint32_t mask, LLVMValueRef flat, bool as_flat) {
    cg_fn *f = g->f;
    bool first = true;
    for (int ax = g->ob->rank - 1; ax >= 0; ax--) {
        if (!(mask >> ax & 1)) continue;
        if (as_flat) {
            cg_set_idx(f, ax, first ? flat : i64c(f, 0));
            first = false;
            continue;
        }
        LLVMValueRef d = cg_emit_dim(f, g->ob->dims[ax]);
        cg_set_idx(f, ax, LLVMBuildURem(f->b, flat, d, ""));
        flat = LLVMBuildUDiv(f->b, flat, d, "");
    }
}

/* reduction indices from the flat k */
static void set_k(gk *g, LLVMValueRef k) {
    cg_fn *f = g->f;
    for (int r = g->k->rrank - 1; r >= 0; r--) {
        LLVMValueRef d = cg_emit_dim(f, g->k->red[r]);
        cg_set_ridx(f, r, r ? LLVMBuildURem(f->b, k, d, "") : k);
        k = LLVMBuildUDiv(f->b, k, d, "");
    }
}

static LLVMValueRef as_f32(cg_fn *f, LLVMValueRef v) {
    return LLVMTypeOf(v) == f->c->t_f32 ? v : LLVMBuildFPTrunc(f->b, v, f->c->t_f32, "");
}

/* ---- operand values in the pack loops ---- */


/* every index of load x that is not provably in range */
static bool arg_in_range(const kir_program *p, const kir_kernel *k, uint32_t e, ir_dim size) {
    const kir_expr *x = &p->exprs[e];
    const kir_buffer *ob = &p->bufs[k->out];
    if (x->op == KX_IDX && ir_dim_eq(ob->dims[x->axis], size)) return true;
    if (x->op == KX_RIDX && ir_dim_eq(k->red[x->axis], size)) return true;
    cg_affine a;
    if (!ir_dim_is_const(size) || !cg_affine_of(p, e, &a)) return false;
    int64_t lo = a.c0, hi = a.c0;
    for (int ax = 0; ax < IR_MAX_RANK; ax++) {
        if (a.idx[ax]) {
            if (ax >= ob->rank || !ir_dim_is_const(ob->dims[ax]) || ob->dims[ax].c < 1) return false;
            int64_t ext = a.idx[ax] * (ob->dims[ax].c - 1);
            if (ext > 0) hi += ext; else lo += ext;
        }
        if (a.ridx[ax]) {
            if (ax >= k->rrank || !ir_dim_is_const(k->red[ax]) || k->red[ax].c < 1) return false;
            int64_t ext = a.ridx[ax] * (k->red[ax].c - 1);
            if (ext > 0) hi += ext; else lo += ext;
        }
    }
    return lo >= 0 && hi < size.c;
}

/* the leaves of an AND tree */
static int and_leaves(const kir_program *p, uint32_t e, uint32_t *out, int n, int max) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_AND) {
        n = and_leaves(p, x->args[0], out, n, max);
        return n < 0 ? n : and_leaves(p, x->args[1], out, n, max);
    }
    if (n >= max) return -1;
    out[n] = e;
    return n + 1;
}

static bool is_int_const(const kir_program *p, uint32_t e, int64_t v) {
    const kir_expr *x = &p->exprs[e];
    return x->op == KX_CONST && !ir_dtype_is_float(x->dtype) && x->ival == v;
}

/* the guard's leaves check 0 <= arg < size */
static bool guarded(const kir_program *p, const uint32_t *leaf, int n, uint32_t arg, ir_dim size) {
    bool lo = false, hi = false;
    for (int i = 0; i < n; i++) {
        const kir_expr *x = &p->exprs[leaf[i]];
        if (x->n_args != 2 || x->args[0] != arg) continue;
        const kir_expr *y = &p->exprs[x->args[1]];
        if (x->op == KX_GE && is_int_const(p, x->args[1], 0)) lo = true;
        if (x->op == KX_LT && ((ir_dim_is_const(size) && is_int_const(p, x->args[1], size.c)) ||
                               (y->op == KX_DIM && ir_dim_eq(y->dim, size))))
            hi = true;
    }
    return lo && hi;
}

/* the load under an integer operand's value that reads the domain or
 * reduction indices (the activation, not its zero point), or KIR_NONE */
static uint32_t int_load(const kir_program *p, uint32_t e) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD) {
        for (uint32_t i = 0; i < x->n_args; i++) {
            const kir_expr *a = &p->exprs[x->args[i]];
            if (a->op != KX_CONST) return e;
        }
        return KIR_NONE;
    }
    if (x->op != KX_CAST && x->op != KX_SUB && x->op != KX_ADD) return KIR_NONE;
    uint32_t found = KIR_NONE;
    for (uint32_t i = 0; i < x->n_args; i++) {
        uint32_t l = int_load(p, x->args[i]);
        if (l != KIR_NONE && found != KIR_NONE) return KIR_NONE; /* two: not an operand of this form */
        if (l != KIR_NONE) found = l;
    }
    return found;
}

static opnd analyse_operand(const kir_program *p, const kir_kernel *k, uint32_t e) {
    opnd o = {e, KIR_NONE, KIR_NONE, e};
    const kir_expr *x = &p->exprs[e];
    uint32_t value = e, leaf[32];
    int nl = 0;
    const kir_expr *z = x->op == KX_SELECT ? &p->exprs[x->args[2]] : NULL;
    if (z && z->op == KX_CONST && (ir_dtype_is_float(z->dtype) ? z->fval == 0 : z->ival == 0) &&
        p->exprs[x->args[0]].dtype == IR_BOOL) {
        value = x->args[1];
        nl = and_leaves(p, x->args[0], leaf, 0, 32);
        if (nl < 0) return o;
    }
    bool integer = p->exprs[e].dtype == IR_I32;
    uint32_t load = integer ? int_load(p, value) : value;
    if (load == KIR_NONE) return o;
    const kir_expr *l = &p->exprs[load];
    if (l->op != KX_LOAD || (!integer && l->dtype != p->exprs[e].dtype)) return o;
    const kir_buffer *kb = &p->bufs[l->buffer];
    if ((integer ? ir_dtype_get(kb->dtype)->block_elems != 1 : kb->dtype != IR_F32) || (int)l->n_args != kb->rank) return o;
    for (int j = 0; j < kb->rank; j++) {
        const kir_expr *a = &p->exprs[l->args[j]];
        if (!ir_dim_is_const(kb->dims[j])) { /* a domain index over the same size: never empty when it runs */
            if (!(a->op == KX_IDX && ir_dim_eq(p->bufs[k->out].dims[a->axis], kb->dims[j])) &&
                !(a->op == KX_RIDX && ir_dim_eq(k->red[a->axis], kb->dims[j])))
                return o;
            continue;
        }
        if (kb->dims[j].c < 1) return o;
        if (!arg_in_range(p, k, l->args[j], kb->dims[j]) && !guarded(p, leaf, nl, l->args[j], kb->dims[j]))
            return o;
    }
    o.load = load;
    o.value = value;
    o.cond = value == e ? KIR_NONE : x->args[0];
    return o;
}

/* the operand's value (f32) at the current loop point */
static LLVMValueRef emit_operand(cg_fn *f, const opnd *o) {
    cg_ctx *c = f->c;
    const kir_program *p = c->p;
    if (o->load == KIR_NONE) {
        LLVMValueRef v = cg_emit_expr(f, o->e);
        if (v && c->p->exprs[o->e].dtype == IR_I32) return LLVMBuildTrunc(f->b, v, c->t_i16, ""); /* fits: cg_int_operand_i16 */
        return v ? as_f32(f, v) : NULL;
    }
    LLVMBasicBlockRef yes = NULL, join = NULL, from = NULL;
    if (o->cond != KIR_NONE) {
        LLVMValueRef cv = cg_emit_expr(f, o->cond);
        if (!cv) return NULL;
        from = LLVMGetInsertBlock(f->b);
        yes = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "in");
        join = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "pad");
        LLVMBuildCondBr(f->b, cv, yes, join);
        LLVMPositionBuilderAtEnd(f->b, yes);
        cg_scope_push(f);
    }
    const kir_expr *l = &p->exprs[o->load];
    const kir_buffer *kb = &p->bufs[l->buffer];
    LLVMValueRef off = i64c(f, 0);
    for (int j = 0; j < kb->rank; j++) {
        LLVMValueRef ix = cg_emit_expr(f, l->args[j]);
        if (!ix) return NULL;
        off = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, off, cg_emit_dim(f, kb->dims[j]), ""), ix, "");
    }
    LLVMValueRef v = cg_load_elem(f, l->buffer, off);
    if (o->value != o->load) { /* the integer value of the load: CAST(load) - zero point, as i16 */
        cg_memo_set(f, o->load, v);
        v = cg_emit_expr(f, o->value);
        if (!v) return NULL;
        v = LLVMBuildTrunc(f->b, v, c->t_i16, "");
    }
    if (!yes) return v;
    cg_scope_pop(f);
    LLVMBasicBlockRef at = LLVMGetInsertBlock(f->b);
    LLVMBuildBr(f->b, join);
    LLVMPositionBuilderAtEnd(f->b, join);
    LLVMValueRef phi = LLVMBuildPhi(f->b, LLVMTypeOf(v), "");
    LLVMValueRef vals[2] = {v, LLVMConstNull(LLVMTypeOf(v))};
    LLVMBasicBlockRef from2[2] = {at, from};
    LLVMAddIncoming(phi, vals, from2, 2);
    return phi;
}

/* does e read no loop index (a zero point, a constant)? */
static bool invariant(const kir_program *p, uint32_t e) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_IDX || x->op == KX_RIDX || x->op == KX_ACC) return false;
    for (uint32_t i = 0; i < x->n_args; i++)
        if (!invariant(p, x->args[i])) return false;
    return true;
}

/* Emit the parts of an integer operand's value that read no loop index
 * (its zero point) here, before the pack loops, which then reuse them
 * (memoized in this scope) instead of loading them per element. */
static int hoist_invariants(cg_fn *f, uint32_t e) {
    const kir_program *p = f->c->p;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_CONST) return 0;
    if (invariant(p, e)) return cg_emit_expr(f, e) ? 0 : -1;
    for (uint32_t i = 0; i < x->n_args; i++)
        if (hoist_invariants(f, x->args[i])) return -1;
    return 0;
}

/* One row of b (the current k) over columns [n0, n1) into row[0 ..
 * n1 - n0): loops over the N axes, the innermost one inner, so that its
 * loads are contiguous (im2col). Elements are f32, or i16 (integer). */
static int b_row(gk *g, const opnd *o, LLVMValueRef n0, LLVMValueRef n1, LLVMValueRef row) {
    cg_fn *f = g->f;
    int last = g->ob->rank - 1;
    LLVMTypeRef et = g->integer ? f->c->t_i16 : f->c->t_f32;
    uint32_t outer = range_mask(g->pl->n_lo, last);
    LLVMValueRef W = cg_emit_dim(f, g->ob->dims[last]);
    LLVMValueRef q0 = LLVMBuildUDiv(f->b, n0, W, ""), q1 = LLVMBuildAdd(f->b, LLVMBuildUDiv(f->b, LLVMBuildSub(f->b, n1, i64c(f, 1), ""), W, ""), i64c(f, 1), "");
    cg_loop lq, lw;
    cg_loop_begin(f, &lq, q0, q1, "bq");
    unravel(g, outer, lq.iv, false);
    cg_scope_push(f);
    LLVMValueRef qw = LLVMBuildMul(f->b, lq.iv, W, "");
    LLVMValueRef wlo = imax(f->b, i64c(f, 0), LLVMBuildSub(f->b, n0, qw, ""));
    LLVMValueRef whi = imin(f->b, W, LLVMBuildSub(f->b, n1, qw, ""));
    LLVMValueRef rbase = LLVMBuildSub(f->b, qw, n0, "");
    cg_loop_begin(f, &lw, wlo, whi, "bw");
    cg_set_idx(f, last, lw.iv);
    cg_scope_push(f);
    LLVMValueRef v = emit_operand(f, o);
    if (!v) return -1;
    LLVMValueRef at = LLVMBuildAdd(f->b, rbase, lw.iv, "");
    LLVMBuildStore(f->b, v, LLVMBuildGEP2(f->b, et, row, &at, 1, ""));
    cg_scope_pop(f);
    cg_loop_end(f, &lw);
    cg_scope_pop(f);
    cg_loop_end(f, &lq);
    return 0;
}

/* b's rows k0..k0+kc of the NR-column panels of columns [n0, n1) into
 * bbuf ([panel][k][NR]). Per k, the row is first made in `row` (b_row),
 * then copied panel by panel; columns past n1 are the zeros `row` holds
 * there. */
static int pack_b(gk *g, const opnd *o, LLVMValueRef k0, LLVMValueRef kc, LLVMValueRef n0, LLVMValueRef n1) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    int NR = g->cfg->nr;
    LLVMValueRef cols = LLVMBuildSub(f->b, n1, n0, ""), npan = cdiv(f->b, f, cols, i64c(f, NR));
    cg_loop lz, lk, lp;
    cg_loop_begin(f, &lz, cols, LLVMBuildMul(f->b, npan, i64c(f, NR), ""), "bz");
    LLVMBuildStore(f->b, LLVMConstNull(c->t_f32), fptr(f, g->row, lz.iv));
    cg_loop_end(f, &lz);
    cg_loop_begin(f, &lk, i64c(f, 0), kc, "bk");
    set_k(g, LLVMBuildAdd(f->b, k0, lk.iv, ""));
    cg_scope_push(f);
    if (b_row(g, o, n0, n1, g->row)) return -1;
    /* the row into the panels */
    LLVMValueRef dk = fptr(f, g->bbuf, LLVMBuildMul(f->b, lk.iv, i64c(f, NR), ""));
    LLVMValueRef pstride = LLVMBuildMul(f->b, kc, i64c(f, NR), "");
    cg_loop_begin(f, &lp, i64c(f, 0), npan, "bp");
    LLVMValueRef src = fptr(f, g->row, LLVMBuildMul(f->b, lp.iv, i64c(f, NR), ""));
    LLVMValueRef dst = fptr(f, dk, LLVMBuildMul(f->b, lp.iv, pstride, ""));
    LLVMTypeRef vt = LLVMVectorType(c->t_f32, (unsigned)g->cfg->vec);
    for (int j = 0; j < NR; j += g->cfg->vec) {
        LLVMValueRef x = LLVMBuildLoad2(f->b, vt, fptr(f, src, i64c(f, j)), "");
        LLVMSetAlignment(x, 4);
        LLVMSetAlignment(LLVMBuildStore(f->b, x, fptr(f, dst, i64c(f, j))), 4);
    }
    cg_loop_end(f, &lp);
    cg_scope_pop(f);
    cg_loop_end(f, &lk);
    return 0;
}

static LLVMValueRef hptr(cg_fn *f, LLVMValueRef base, LLVMValueRef at) {
    return LLVMBuildGEP2(f->b, f->c->t_i16, base, &at, 1, "");
}

/* The integer engine's pack_b: pairs k0..k0+kc (elements 2k0 .. 2k0+2kc,
 * those from K on 0) of columns [n0, n1). Per pair, rows k and k+1 are
 * made side by side in `row` (i16, NR * GK_NI_RT apart) and interleaved
 * into the panels ([panel][pair][NR][2]). */
static int pack_b_i16(gk *g, const opnd *o, LLVMValueRef k0, LLVMValueRef kc, LLVMValueRef n0, LLVMValueRef n1) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    int NR = g->cfg->nr, W2 = NR * GK_NI_RT;
    LLVMValueRef cols = LLVMBuildSub(f->b, n1, n0, ""), npan = cdiv(f->b, f, cols, i64c(f, NR));
    LLVMValueRef row1 = hptr(f, g->row, i64c(f, W2));
    cg_loop lz, lk, lp;
    if (hoist_invariants(f, o->e)) return -1;
    cg_loop_begin(f, &lz, cols, LLVMBuildMul(f->b, npan, i64c(f, NR), ""), "bz");
    LLVMBuildStore(f->b, LLVMConstNull(c->t_i16), hptr(f, g->row, lz.iv));
    LLVMBuildStore(f->b, LLVMConstNull(c->t_i16), hptr(f, row1, lz.iv));
    cg_loop_end(f, &lz);
    cg_loop_begin(f, &lk, i64c(f, 0), kc, "bk");
    LLVMValueRef ke = LLVMBuildMul(f->b, LLVMBuildAdd(f->b, k0, lk.iv, ""), i64c(f, 2), "");
    set_k(g, ke);
    cg_scope_push(f);
    if (b_row(g, o, n0, n1, g->row)) return -1;
    cg_scope_pop(f);
    LLVMValueRef ko = LLVMBuildAdd(f->b, ke, i64c(f, 1), "");
    LLVMBasicBlockRef in = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "bodd"),
                      out = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "bpad"),
                      join = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "bjoin");
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, ko, g->K, ""), in, out);
    LLVMPositionBuilderAtEnd(f->b, in);
    set_k(g, ko);
    cg_scope_push(f);
    if (b_row(g, o, n0, n1, row1)) return -1;
    cg_scope_pop(f);
    LLVMBuildBr(f->b, join);
    LLVMPositionBuilderAtEnd(f->b, out); /* K odd: the last pair's second row is 0 */
    cg_loop_begin(f, &lz, i64c(f, 0), cols, "bz1");
    LLVMBuildStore(f->b, LLVMConstNull(c->t_i16), hptr(f, row1, lz.iv));
    cg_loop_end(f, &lz);
    LLVMBuildBr(f->b, join);
    LLVMPositionBuilderAtEnd(f->b, join);
    /* the two rows, interleaved, into the panels */
    LLVMValueRef dk = fptr(f, g->bbuf, LLVMBuildMul(f->b, lk.iv, i64c(f, NR), ""));
    LLVMValueRef pstride = LLVMBuildMul(f->b, kc, i64c(f, NR), "");
    int V = g->cfg->vec;
    LLVMTypeRef ht = LLVMVectorType(c->t_i16, (unsigned)V);
    LLVMValueRef il[128];
    for (int i = 0; i < V; i++) {
        il[2 * i] = LLVMConstInt(c->t_i32, (unsigned)i, 0);
        il[2 * i + 1] = LLVMConstInt(c->t_i32, (unsigned)(V + i), 0);
    }
    LLVMValueRef mask = LLVMConstVector(il, (unsigned)(2 * V));
    cg_loop_begin(f, &lp, i64c(f, 0), npan, "bp");
    LLVMValueRef col = LLVMBuildMul(f->b, lp.iv, i64c(f, NR), "");
    LLVMValueRef dst = fptr(f, dk, LLVMBuildMul(f->b, lp.iv, pstride, ""));
    for (int j = 0; j < NR; j += V) {
        LLVMValueRef at = LLVMBuildAdd(f->b, col, i64c(f, j), "");
        LLVMValueRef x0 = LLVMBuildLoad2(f->b, ht, hptr(f, g->row, at), ""), x1 = LLVMBuildLoad2(f->b, ht, hptr(f, row1, at), "");
        LLVMSetAlignment(x0, 2);
        LLVMSetAlignment(x1, 2);
        LLVMValueRef x = LLVMBuildShuffleVector(f->b, x0, x1, mask, "");
        LLVMSetAlignment(LLVMBuildStore(f->b, x, fptr(f, dst, i64c(f, j))), 4);
    }
    cg_loop_end(f, &lp);
    cg_loop_end(f, &lk);
    return 0;
}

/* position of element k of a row in an i16 panel ([pair][R][2]) */
static LLVMValueRef pair_at(cg_fn *f, LLVMValueRef k, int R) {
    LLVMValueRef hi = LLVMBuildMul(f->b, LLVMBuildLShr(f->b, k, i64c(f, 1), ""), i64c(f, 2 * R), "");
    return LLVMBuildAdd(f->b, hi, LLVMBuildAnd(f->b, k, i64c(f, 1), ""), "");
}

/* element k of an A panel row that starts at dst */
static LLVMValueRef a_at(gk *g, LLVMValueRef dst, LLVMValueRef k) {
    cg_fn *f = g->f;
    int MR = g->cfg->mr;
    LLVMValueRef at = g->integer ? pair_at(f, k, MR) : LLVMBuildMul(f->b, k, i64c(f, MR), "");
    return LLVMBuildGEP2(f->b, g->integer ? f->c->t_i16 : f->c->t_f32, dst, &at, 1, "");
}

/* a's columns k0..k0+kc of rows [m0, m1) into abuf ([panel][k][MR]); rows
 * past m1 (to the panel's end) are 0. The integer engine: k0, kc count
 * pairs, the panel is [panel][pair][MR][2] i16, elements from K on 0. */
static int pack_a(gk *g, LLVMValueRef k0, LLVMValueRef kc, LLVMValueRef m0, LLVMValueRef m1) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    int MR = g->cfg->mr, w = g->integer ? 2 : 1;
    LLVMTypeRef et = g->integer ? c->t_i16 : c->t_f32;
    LLVMValueRef kb = LLVMBuildMul(f->b, k0, i64c(f, w), ""), k2 = LLVMBuildMul(f->b, kc, i64c(f, w), "");
    LLVMValueRef kn = g->integer ? imin(f->b, k2, LLVMBuildSub(f->b, g->K, kb, "")) : kc;
    cg_loop li, lk;
    if (g->integer && hoist_invariants(f, g->opa.e)) return -1;
    cg_loop_begin(f, &li, i64c(f, 0), round_up(f->b, f, LLVMBuildSub(f->b, m1, m0, ""), MR), "ai");
    LLVMValueRef m = LLVMBuildAdd(f->b, m0, li.iv, "");
    LLVMValueRef ip = LLVMBuildUDiv(f->b, li.iv, i64c(f, MR), ""), ii = LLVMBuildURem(f->b, li.iv, i64c(f, MR), "");
    LLVMValueRef at = LLVMBuildMul(f->b, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, LLVMBuildMul(f->b, ip, kc, ""), i64c(f, MR), ""), ii, ""), i64c(f, w), "");
    LLVMValueRef dst = LLVMBuildGEP2(f->b, et, g->abuf, &at, 1, "");
    LLVMBasicBlockRef bin = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "arow"),
                      bout = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "azero"),
                      join = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "ajoin");
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, m, m1, ""), bin, bout);
    LLVMPositionBuilderAtEnd(f->b, bin);
    unravel(g, range_mask(g->pl->m_lo, g->pl->n_lo), m, false);
    cg_scope_push(f);
    cg_loop_begin(f, &lk, i64c(f, 0), kn, "ak");
    set_k(g, LLVMBuildAdd(f->b, kb, lk.iv, ""));
    cg_scope_push(f);
    LLVMValueRef v = emit_operand(f, &g->opa);
    if (!v) return -1;
    LLVMBuildStore(f->b, v, a_at(g, dst, lk.iv));
    cg_scope_pop(f);
    cg_loop_end(f, &lk);
    cg_scope_pop(f);
    cg_loop_begin(f, &lk, kn, k2, "ap"); /* an odd K's last pair (integer) */
    LLVMBuildStore(f->b, LLVMConstNull(et), a_at(g, dst, lk.iv));
    cg_loop_end(f, &lk);
    LLVMBuildBr(f->b, join);
    LLVMPositionBuilderAtEnd(f->b, bout);
    cg_loop_begin(f, &lk, i64c(f, 0), k2, "az");
    LLVMBuildStore(f->b, LLVMConstNull(et), a_at(g, dst, lk.iv));
    cg_loop_end(f, &lk);
    LLVMBuildBr(f->b, join);
    LLVMPositionBuilderAtEnd(f->b, join);
    cg_loop_end(f, &li);
    return 0;
}

/* the post expression over C rows [m0, m1), columns [n0, n1) */
static int epilogue(gk *g, LLVMValueRef m0, LLVMValueRef m1, LLVMValueRef n0, LLVMValueRef n1) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const kir_kernel *k = g->k;
    cg_loop lm, ln;
    cg_loop_begin(f, &lm, m0, m1, "em");
    unravel(g, range_mask(g->pl->m_lo, g->pl->n_lo), lm.iv, false);
    cg_scope_push(f);
    LLVMValueRef row = LLVMBuildAdd(f->b, g->boff, LLVMBuildMul(f->b, lm.iv, g->N, ""), "");
    cg_loop_begin(f, &ln, n0, n1, "en");
    unravel(g, range_mask(g->pl->n_lo, g->ob->rank), ln.iv, g->pl->post_flat);
    cg_scope_push(f);
    LLVMValueRef lin = LLVMBuildAdd(f->b, row, ln.iv, "");
    if (g->integer) /* the i32 sum, in the output's 4 bytes */
        cg_set_acc(f, LLVMBuildLoad2(f->b, c->t_i32, LLVMBuildGEP2(f->b, c->t_i32, cg_buffer_ptr(f, k->out), &lin, 1, ""), ""));
    else
        cg_set_acc(f, cg_load_elem(f, k->out, lin));
    LLVMValueRef v = cg_emit_expr(f, k->post);
    cg_set_acc(f, NULL);
    if (!v) return -1;
    ir_dtype vt = c->p->exprs[k->post].dtype, ot = g->ob->dtype;
    if (vt != ot) v = cg_convert(f, v, vt, ot, 0);
    cg_store_elem(f, k->out, lin, ot == IR_F32 ? as_f32(f, v) : v);
    cg_scope_pop(f);
    cg_loop_end(f, &ln);
    cg_scope_pop(f);
    cg_loop_end(f, &lm);
    return 0;
}

/* the module's microkernel for cfg's tile, made on first use */
static LLVMValueRef micro_for(cg_ctx *c, const cg_gemm_config *cfg) {
    int i = 0;
    for (; i < CG_GEMM_MICROS && c->gemm_micro[i]; i++)
        if (c->gemm_tile[i][0] == cfg->mr && c->gemm_tile[i][1] == cfg->nr && c->gemm_tile[i][2] == cfg->dot)
            return c->gemm_micro[i];
    if (i == CG_GEMM_MICROS) return NULL;
    char name[64];
    snprintf(name, sizeof name, "smelt.gemm.micro%dx%d%s", cfg->mr, cfg->nr, cfg->dot ? ".i16" : "");
    LLVMValueRef fn = cg_gemm_emit_micro(c->mod, cfg, NULL, name);
    if (!fn) return NULL;
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    unsigned ni = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->ctx, ni, 0));
    c->gemm_micro[i] = fn;
    c->gemm_tile[i][0] = cfg->mr;
    c->gemm_tile[i][1] = cfg->nr;
    c->gemm_tile[i][2] = cfg->dot;
    return fn;
}

/* The packed constant's block of K block k0 (kc long), panels of [p0, p1)
 * (Pp: the side rounded up to R): its address, or, held as bytes, widened
 * into buf (a flat copy: the layouts match element for element). */
static LLVMValueRef packed_block(gk *g, LLVMValueRef pk, const bytes8 *nb, LLVMValueRef buf, LLVMValueRef k0, LLVMValueRef kc,
                                 LLVMValueRef Pp, LLVMValueRef p0, LLVMValueRef p1, int R) {
    cg_fn *f = g->f;
    LLVMValueRef at = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, k0, Pp, ""), LLVMBuildMul(f->b, p0, kc, ""), "");
    if (!nb->on) return fptr(f, pk, at);
    LLVMValueRef n = LLVMBuildMul(f->b, LLVMBuildMul(f->b, round_up(f->b, f, LLVMBuildSub(f->b, p1, p0, ""), R), kc, ""), i64c(f, 2), "");
    LLVMValueRef src = LLVMBuildGEP2(f->b, f->c->t_i8, pk, (LLVMValueRef[]){LLVMBuildMul(f->b, at, i64c(f, 2), "")}, 1, "");
    LLVMValueRef nv = LLVMBuildAnd(f->b, n, i64c(f, -32), "");
    for (int w = 32; w >= 1; w -= 31) { /* 32 elements at a time, then one */
        LLVMTypeRef t8 = w > 1 ? LLVMVectorType(f->c->t_i8, 32) : f->c->t_i8;
        LLVMTypeRef t16 = w > 1 ? LLVMVectorType(f->c->t_i16, 32) : f->c->t_i16;
        cg_loop l;
        cg_loop_begin(f, &l, w > 1 ? i64c(f, 0) : nv, w > 1 ? LLVMBuildUDiv(f->b, nv, i64c(f, 32), "") : n, "wid");
        LLVMValueRef i = w > 1 ? LLVMBuildMul(f->b, l.iv, i64c(f, 32), "") : l.iv;
        LLVMValueRef x = LLVMBuildLoad2(f->b, t8, LLVMBuildGEP2(f->b, f->c->t_i8, src, &i, 1, ""), "");
        LLVMSetAlignment(x, 1);
        LLVMValueRef bv[32];
        for (int j = 0; j < 32; j++) bv[j] = LLVMConstInt(f->c->t_i16, (unsigned long long)nb->base, 1);
        LLVMValueRef base = w > 1 ? LLVMConstVector(bv, 32) : bv[0];
        x = LLVMBuildAdd(f->b, LLVMBuildZExt(f->b, x, t16, ""), base, "");
        LLVMSetAlignment(LLVMBuildStore(f->b, x, hptr(f, buf, i)), 2);
        cg_loop_end(f, &l);
    }
    return buf;
}

static int emit_run(gk *g) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const cg_gemm_config *cfg = g->cfg;
    int MR = cfg->mr, NR = cfg->nr, KC = cfg->kc, MC = cfg->mc;
    if (!g->apk || g->an.on) {
        g->abuf = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)(MC * KC)), "apanel");
        LLVMSetAlignment(g->abuf, 64);
    }
    if (g->bn.on) {
        g->bbuf = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)(KC * NR * GK_NI_RT)), "bpanel");
        LLVMSetAlignment(g->bbuf, 64);
    }
    if (!g->bpk) {
        g->bbuf = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)(KC * NR * GK_NI_RT)), "bpanel");
        LLVMSetAlignment(g->bbuf, 64);
        g->row = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)(NR * GK_NI_RT)), "brow");
        LLVMSetAlignment(g->row, 64);
    }
    LLVMValueRef micro = micro_for(c, cfg);
    LLVMTypeRef mty = LLVMGlobalGetValueType(micro);
    LLVMValueRef out = cg_buffer_ptr(f, g->k->out);
    LLVMBuilderRef B = f->b;
    cg_loop item, lkb, lmc, ljr, lir;
    cg_loop_begin(f, &item, LLVMGetParam(f->fn, 1), LLVMGetParam(f->fn, 2), "item");
    LLVMValueRef per = LLVMBuildMul(B, g->nbm, g->nbn, "");
    g->bt = LLVMBuildUDiv(B, item.iv, per, "bt");
    LLVMValueRef r = LLVMBuildURem(B, item.iv, per, "");
    LLVMValueRef mb = LLVMBuildUDiv(B, r, g->nbn, ""), nb = LLVMBuildURem(B, r, g->nbn, "");
    unravel(g, g->pl->batch, g->bt, false);
    g->boff = i64c(f, 0);
    for (int ax = 0; ax < g->ob->rank; ax++)
        g->boff = LLVMBuildAdd(B, LLVMBuildMul(B, g->boff, cg_emit_dim(f, g->ob->dims[ax]), ""),
                               g->pl->batch >> ax & 1 ? f->idx[ax] : i64c(f, 0), "");
    cg_scope_push(f);
    LLVMValueRef m0 = LLVMBuildMul(B, mb, g->MI, ""), n0 = LLVMBuildMul(B, nb, g->NI, "");
    LLVMValueRef m1 = imin(B, g->M, LLVMBuildAdd(B, m0, g->MI, "")), n1 = imin(B, g->N, LLVMBuildAdd(B, n0, g->NI, ""));
    LLVMValueRef kpos = LLVMBuildICmp(B, LLVMIntSGT, g->Kp, i64c(f, 0), "");
    LLVMValueRef nkb = cdiv(B, f, imax(B, g->Kp, i64c(f, 1)), i64c(f, KC));
    cg_loop_begin(f, &lkb, i64c(f, 0), nkb, "kb");
    LLVMValueRef k0 = LLVMBuildMul(f->b, lkb.iv, i64c(f, KC), "");
    LLVMValueRef kc = LLVMBuildSelect(f->b, kpos, imin(f->b, i64c(f, KC), LLVMBuildSub(f->b, g->Kp, k0, "")), i64c(f, 0), "kc");
    LLVMValueRef lastk = LLVMBuildICmp(f->b, LLVMIntEQ, lkb.iv, LLVMBuildSub(f->b, nkb, i64c(f, 1), ""), "");
    LLVMValueRef flags = LLVMBuildZExt(f->b, LLVMBuildICmp(f->b, LLVMIntSGT, k0, i64c(f, 0), ""), c->t_i32, "");
    LLVMValueRef bp;
    if (g->bpk) {
        bp = packed_block(g, g->bpk, &g->bn, g->bbuf, k0, kc, g->Np, n0, n1, NR);
    } else {
        if ((g->integer ? pack_b_i16 : pack_b)(g, &g->opb, k0, kc, n0, n1)) return -1;
        bp = g->bbuf;
    }
    cg_loop_begin(f, &lmc, i64c(f, 0), cdiv(f->b, f, LLVMBuildSub(f->b, m1, m0, ""), i64c(f, MC)), "mc");
    LLVMValueRef mc0 = LLVMBuildAdd(f->b, m0, LLVMBuildMul(f->b, lmc.iv, i64c(f, MC), ""), "");
    LLVMValueRef mc1 = imin(f->b, m1, LLVMBuildAdd(f->b, mc0, i64c(f, MC), ""));
    LLVMValueRef ap;
    if (g->apk) {
        ap = packed_block(g, g->apk, &g->an, g->abuf, k0, kc, g->Mp, mc0, mc1, MR);
    } else {
        if (pack_a(g, k0, kc, mc0, mc1)) return -1;
        ap = g->abuf;
    }
    LLVMValueRef pstride_b = LLVMBuildMul(f->b, kc, i64c(f, NR), ""), pstride_a = LLVMBuildMul(f->b, kc, i64c(f, MR), "");
    cg_loop_begin(f, &ljr, i64c(f, 0), cdiv(f->b, f, LLVMBuildSub(f->b, n1, n0, ""), i64c(f, NR)), "jr");
    LLVMValueRef n = LLVMBuildAdd(f->b, n0, LLVMBuildMul(f->b, ljr.iv, i64c(f, NR), ""), "");
    LLVMValueRef nr = imin(f->b, i64c(f, NR), LLVMBuildSub(f->b, n1, n, ""));
    LLVMValueRef bpan = fptr(f, bp, LLVMBuildMul(f->b, ljr.iv, pstride_b, ""));
    LLVMValueRef bnext = fptr(f, bpan, pstride_b);
    cg_loop_begin(f, &lir, i64c(f, 0), cdiv(f->b, f, LLVMBuildSub(f->b, mc1, mc0, ""), i64c(f, MR)), "ir");
    LLVMValueRef m = LLVMBuildAdd(f->b, mc0, LLVMBuildMul(f->b, lir.iv, i64c(f, MR), ""), "");
    LLVMValueRef mr = imin(f->b, i64c(f, MR), LLVMBuildSub(f->b, mc1, m, ""));
    LLVMValueRef apan = fptr(f, ap, LLVMBuildMul(f->b, lir.iv, pstride_a, ""));
    LLVMValueRef cp = fptr(f, out, LLVMBuildAdd(f->b, g->boff, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, m, g->N, ""), n, ""), ""));
    LLVMValueRef args[13] = {kc, apan, bpan, cp, g->N, mr, nr, flags, g->bt, m, n, LLVMConstNull(c->t_ptr), bnext};
    LLVMBuildCall2(f->b, mty, micro, args, 13, "");
    cg_loop_end(f, &lir);
    cg_loop_end(f, &ljr);
    if (g->k->post != KIR_NONE) {
        LLVMBasicBlockRef epi = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "epi"),
                          join = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "epij");
        LLVMBuildCondBr(f->b, lastk, epi, join);
        LLVMPositionBuilderAtEnd(f->b, epi);
        if (epilogue(g, mc0, mc1, n0, n1)) return -1;
        LLVMBuildBr(f->b, join);
        LLVMPositionBuilderAtEnd(f->b, join);
    }
    cg_loop_end(f, &lmc);
    cg_loop_end(f, &lkb);
    cg_scope_pop(f);
    cg_loop_end(f, &item);
    return 0;
}

/* does expression e load buffer b? */
static bool reads_buffer(const kir_program *p, uint32_t e, uint32_t b) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && x->buffer == b) return true;
    for (uint32_t i = 0; i < x->n_args; i++)
        if (reads_buffer(p, x->args[i], b)) return true;
    return false;
}

/* The integer engine's constant operand e over P side points (axes [lo,
 * hi)) x K, evaluated (cg_int_operand_eval) and packed as i16 pairs;
 * NULL when an element cannot be evaluated or does not fit. */
static void *pack_const_i16(cg_ctx *c, const kir_kernel *k, const cg_gemm_plan *pl, cg_gemm_operand op,
                            uint32_t e, int lo, int hi, int64_t P, int64_t K, int64_t *bytes, bytes8 *nb) {
    const kir_buffer *ob = &c->p->bufs[k->out];
    int64_t n = 2 * cg_gemm_packed_floats(&pl->cfg, op, P, (K + 1) / 2);
    int16_t *dense = malloc((size_t)(P * K) * sizeof *dense), *packed = malloc((size_t)n * sizeof *packed);
    int64_t idx[IR_MAX_RANK] = {0}, ridx[IR_MAX_RANK] = {0}, v;
    bool ok = dense && packed;
    int64_t vlo = 0, vhi = 0; /* the padding's 0 included */
    for (int64_t p = 0; ok && p < P; p++) {
        for (int64_t ax = hi - 1, q = p; ax >= lo; ax--) {
            idx[ax] = q % ob->dims[ax].c;
            q /= ob->dims[ax].c;
        }
        for (int64_t kk = 0; ok && kk < K; kk++) {
            for (int64_t r = k->rrank - 1, q = kk; r >= 0; r--) {
                ridx[r] = q % k->red[r].c;
                q /= k->red[r].c;
            }
            ok = cg_int_operand_eval(c->p, e, idx, ridx, &v) && v >= -32767 && v <= 32767;
            if (ok) dense[p * K + kk] = (int16_t)v;
            vlo = v < vlo ? v : vlo;
            vhi = v > vhi ? v : vhi;
        }
    }
    if (ok && op == CG_GEMM_A) cg_gemm_pack_const_i16(&pl->cfg, op, dense, K, 1, P, K, packed);
    if (ok && op == CG_GEMM_B) cg_gemm_pack_const_i16(&pl->cfg, op, dense, 1, K, P, K, packed);
    free(dense);
    if (!ok) {
        free(packed);
        return NULL;
    }
    *bytes = n * (int64_t)sizeof *packed;
    *nb = (bytes8){vhi - vlo <= 255, (int)vlo};
    if (nb->on) { /* the same layout, one byte an element */
        uint8_t *narrow = (uint8_t *)packed;
        for (int64_t i = 0; i < n; i++) narrow[i] = (uint8_t)(packed[i] - vlo);
        *bytes = n;
    }
    return packed;
}

/* Pack the constant operand (A: a over M x K, B: b over K x N) at compile
 * time into the weights blob; returns its offset from the buffer's start,
 * or -1 when it stays packed at run time (sizes not constant or too big). */
static int64_t pack_const(cg_ctx *c, const kir_kernel *k, const cg_gemm_plan *pl, cg_gemm_operand op, bytes8 *nb) {
    const kir_buffer *ob = &c->p->bufs[k->out];
    int buf = op == CG_GEMM_A ? pl->a_const : pl->b_const;
    const cg_affine *off = op == CG_GEMM_A ? &pl->a_off : &pl->b_off;
    if (buf < 0) return -1;
    int lo = op == CG_GEMM_A ? pl->m_lo : pl->n_lo, hi = op == CG_GEMM_A ? pl->n_lo : ob->rank;
    int64_t P = 1, K = 1;
    for (int ax = lo; ax < hi; ax++) {
        if (!ir_dim_is_const(ob->dims[ax])) return -1;
        P *= ob->dims[ax].c;
    }
    for (int r = 0; r < k->rrank; r++) K *= k->red[r].c;
    if (P < 1 || K < 1 || P > (1 << 24) || K > (1 << 24) || P * K > ((int64_t)1 << 30)) return -1;
    bool others = !reads_buffer(c->p, op == CG_GEMM_A ? pl->b : pl->a, (uint32_t)buf) &&
                  (k->post == KIR_NONE || !reads_buffer(c->p, k->post, (uint32_t)buf));
    if (pl->cfg.dot) {
        int64_t bytes;
        void *pk = pack_const_i16(c, k, pl, op, op == CG_GEMM_A ? pl->a : pl->b, lo, hi, P, K, &bytes, nb);
        return pk ? cg_weights_add_packed(c, (uint32_t)buf, pk, (uint64_t)bytes, others) : -1;
    }
    int64_t *op_ = malloc((size_t)P * sizeof *op_), *ok_ = malloc((size_t)K * sizeof *ok_);
    float *dense = malloc((size_t)(P * K) * sizeof *dense);
    int64_t nf = cg_gemm_packed_floats(&pl->cfg, op, P, K);
    float *packed = malloc((size_t)nf * sizeof *packed);
    int64_t rel = -1;
    if (!op_ || !ok_ || !dense || !packed) goto done;
    for (int64_t p = 0; p < P; p++) { /* offset of the side axes' point p */
        int64_t o = off->c0, q = p;
        for (int ax = hi - 1; ax >= lo; ax--) {
            o += off->idx[ax] * (q % ob->dims[ax].c);
            q /= ob->dims[ax].c;
        }
        op_[p] = o;
    }
    for (int64_t kk = 0; kk < K; kk++) {
        int64_t o = 0, q = kk;
        for (int r = k->rrank - 1; r >= 0; r--) {
            o += off->ridx[r] * (q % k->red[r].c);
            q /= k->red[r].c;
        }
        ok_[kk] = o;
    }
    const unsigned char *src = c->p->bufs[buf].data; /* a file mapping: maybe not 4-byte aligned */
    for (int64_t p = 0; p < P; p++)
        for (int64_t kk = 0; kk < K; kk++) memcpy(&dense[p * K + kk], src + 4 * (op_[p] + ok_[kk]), 4);
    if (op == CG_GEMM_A) cg_gemm_pack_const(&pl->cfg, op, dense, K, 1, P, K, packed);
    else cg_gemm_pack_const(&pl->cfg, op, dense, 1, K, P, K, packed);
    rel = cg_weights_add_packed(c, (uint32_t)buf, packed, (uint64_t)nf * sizeof *packed, others);
    packed = NULL;
done:
    free(op_);
    free(ok_);
    free(dense);
    free(packed);
    return rel;
}

static void setup(gk *g, cg_fn *f, const cg_gemm_plan *pl, int64_t arel, int64_t brel, const bytes8 *nb) {
    memset(g, 0, sizeof *g);
    g->f = f;
    g->pl = pl;
    g->k = f->k;
    g->ob = &f->c->p->bufs[f->k->out];
    g->cfg = &pl->cfg;
    g->integer = pl->cfg.dot != CG_DOT_F32;
    if (arel >= 0) g->an = nb[0];
    if (brel >= 0) g->bn = nb[1];
    g->opa = analyse_operand(f->c->p, g->k, pl->a);
    g->opb = analyse_operand(f->c->p, g->k, pl->b);
    for (int s = 0; s < 2; s++) {
        int64_t rel = s ? brel : arel;
        if (rel < 0) continue;
        LLVMValueRef at = i64c(f, rel);
        LLVMValueRef p = LLVMBuildGEP2(f->eb, f->c->t_i8, cg_buffer_ptr(f, (uint32_t)(s ? pl->b_const : pl->a_const)), &at, 1, "packed");
        if (s) g->bpk = p;
        else g->apk = p;
    }
    grid(g);
}

/* ---- contractions without M (depthwise convolutions) ----
 *
 * out[..., w] = sum_K a(K) * b(K, w) where a reads no N axis and there is
 * no M to share a packed b with: an item is one row of the output (every
 * axis but the last); per k, a is one scalar and b a row along w,
 * accumulated into a stack row (acc[w] += a * b(k, w)), which LLVM
 * vectorizes along w (contiguous or masked loads for a stride-1 depthwise
 * convolution); then the post expression per element. */

/* the value v of output element (row, w = idx[last]) through the post
 * expression, stored */
static int rows_store(gk *g, LLVMValueRef v, LLVMValueRef lin) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const kir_kernel *k = g->k;
    if (k->post == KIR_NONE) {
        LLVMBuildStore(f->b, v, fptr(f, cg_buffer_ptr(f, k->out), lin));
        return 0;
    }
    cg_set_acc(f, v);
    v = cg_emit_expr(f, k->post);
    cg_set_acc(f, NULL);
    if (!v) return -1;
    ir_dtype vt = c->p->exprs[k->post].dtype;
    if (vt != IR_F32) v = cg_convert(f, v, vt, IR_F32, 0);
    cg_store_elem(f, k->out, lin, as_f32(f, v));
    return 0;
}

static int emit_rows_run(gk *g, LLVMValueRef W) {
    cg_fn *f = g->f;
    cg_ctx *c = f->c;
    const kir_kernel *k = g->k;
    int last = g->ob->rank - 1;
    LLVMValueRef acc = LLVMBuildAlloca(f->eb, LLVMArrayType(c->t_f32, (unsigned)g->ob->dims[last].c), "accrow");
    LLVMSetAlignment(acc, 64);
    LLVMValueRef fma = LLVMGetIntrinsicDeclaration(c->mod, LLVMLookupIntrinsicID("llvm.fma", 8), &c->t_f32, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(c->ctx, LLVMLookupIntrinsicID("llvm.fma", 8), &c->t_f32, 1);
    cg_loop item, lz, lk, lw;
    cg_loop_begin(f, &item, LLVMGetParam(f->fn, 1), LLVMGetParam(f->fn, 2), "row");
    unravel(g, range_mask(0, last), item.iv, false);
    cg_scope_push(f);
    LLVMValueRef base = LLVMBuildMul(f->b, item.iv, W, "");
    cg_loop_begin(f, &lz, i64c(f, 0), W, "z");
    LLVMBuildStore(f->b, LLVMConstNull(c->t_f32), fptr(f, acc, lz.iv));
    cg_loop_end(f, &lz);
    cg_loop_begin(f, &lk, i64c(f, 0), g->K, "k");
    set_k(g, lk.iv);
    cg_scope_push(f);
    LLVMValueRef av = emit_operand(f, &g->opa);
    if (!av) return -1;
    cg_loop_begin(f, &lw, i64c(f, 0), W, "w");
    cg_set_idx(f, last, lw.iv);
    cg_scope_push(f);
    LLVMValueRef bv = emit_operand(f, &g->opb);
    if (!bv) return -1;
    LLVMValueRef pa = fptr(f, acc, lw.iv);
    LLVMValueRef args[3] = {av, bv, LLVMBuildLoad2(f->b, c->t_f32, pa, "")};
    LLVMBuildStore(f->b, LLVMBuildCall2(f->b, fty, fma, args, 3, ""), pa);
    cg_scope_pop(f);
    cg_loop_end(f, &lw);
    cg_scope_pop(f);
    cg_loop_end(f, &lk);
    for (int r = 0; r < k->rrank; r++) cg_set_ridx(f, r, NULL);
    cg_loop_begin(f, &lw, i64c(f, 0), W, "ew");
    cg_set_idx(f, last, lw.iv);
    cg_scope_push(f);
    if (rows_store(g, LLVMBuildLoad2(f->b, c->t_f32, fptr(f, acc, lw.iv), ""), LLVMBuildAdd(f->b, base, lw.iv, "")))
        return -1;
    cg_scope_pop(f);
    cg_loop_end(f, &lw);
    cg_scope_pop(f);
    cg_loop_end(f, &item);
    return 0;
}

static int emit_rows(cg_ctx *c, uint32_t ki, const cg_gemm_plan *pl, LLVMValueRef *extent_fn, LLVMValueRef *run_fn) {
    const kir_kernel *k = &c->p->kernels[ki];
    const kir_buffer *ob = &c->p->bufs[k->out];
    char name[64];
    cg_fn f;
    gk g;
    snprintf(name, sizeof name, "smelt.k%u.extent", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_extent, 0, 1)) return -1;
    setup(&g, &f, pl, -1, -1, NULL);
    LLVMValueRef W = cg_emit_dim(&f, ob->dims[ob->rank - 1]);
    LLVMValueRef rows = dims_of(&g, range_mask(0, ob->rank - 1));
    LLVMBuildRet(f.b, LLVMBuildSelect(f.b, LLVMBuildICmp(f.b, LLVMIntEQ, W, i64c(&f, 0), ""), i64c(&f, 0), rows, ""));
    *extent_fn = f.fn;
    cg_fn_end(&f);

    snprintf(name, sizeof name, "smelt.k%u.run", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_run, 0, 1)) return -1;
    setup(&g, &f, pl, -1, -1, NULL);
    int rc = emit_rows_run(&g, cg_emit_dim(&f, ob->dims[ob->rank - 1]));
    if (!rc) LLVMBuildRetVoid(f.b);
    *run_fn = f.fn;
    rc = rc || f.failed ? -1 : 0;
    cg_fn_end(&f);
    return rc;
}

int cg_emit_gemm_engine(cg_ctx *c, uint32_t ki, const cg_gemm_plan *pl, LLVMValueRef *extent_fn, LLVMValueRef *run_fn) {
    const kir_kernel *k = &c->p->kernels[ki];
    if (pl->rows) return emit_rows(c, ki, pl, extent_fn, run_fn);
    if (!micro_for(c, &pl->cfg)) return diag_error(c->d, "kernel '%s': bad GEMM configuration", k->name);
    bytes8 nb[2] = {{false, 0}, {false, 0}};
    int64_t arel = pack_const(c, k, pl, CG_GEMM_A, &nb[0]);
    int64_t brel = arel >= 0 ? -1 : pack_const(c, k, pl, CG_GEMM_B, &nb[1]); /* both constant: pack one */
    char name[64];
    cg_fn f;
    gk g;
    snprintf(name, sizeof name, "smelt.k%u.extent", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_extent, 0, 1)) return -1;
    setup(&g, &f, pl, arel, brel, nb);
    LLVMBuildRet(f.b, g.items);
    *extent_fn = f.fn;
    cg_fn_end(&f);

    snprintf(name, sizeof name, "smelt.k%u.run", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_run, 0, 1)) return -1;
    setup(&g, &f, pl, arel, brel, nb);
    int rc = emit_run(&g);
    if (!rc) LLVMBuildRetVoid(f.b);
    *run_fn = f.fn;
    rc = rc || f.failed ? -1 : 0;
    cg_fn_end(&f);
    return rc;
}
