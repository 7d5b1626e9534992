/* kernel.c — one `extent` + `run` function pair per loop kernel.
 *
 * Work items: for an output of rank >= 2 (not packed), an item is one
 * "row": a point of the leading axes; the innermost axis (the two innermost
 * when the last one is short) run as an inner loop over contiguous elements,
 * which LLVM vectorizes. Rank 0/1 outputs and packed (4-/2-bit) outputs are
 * split in chunks of CG_CHUNK flat elements (an even number, so no two items
 * share a byte). A reduction runs as nested inner loops with an accumulator
 * of the kernel's acc_dtype initialised as kb_reduce_init_* says; the parts
 * of the body that do not depend on a reduction index are emitted before
 * the reduction loop. Float SUM/PROD accumulate in double (as the reference
 * interpreter does) with reassoc+contract, so that LLVM vectorizes them;
 * float MAX/MIN step with llvm.maxnum/minnum into 8 accumulators along the
 * innermost reduction axis, with a NaN flag (NaN if any element was), so
 * that no serial compare-select chain limits them (DynamicQuantizeLinear's
 * range reductions).
 * Contractions that contraction.c recognizes go to the packed GEMM engine
 * (gemm_kernel.c) or, where it cannot store the output, to the register-
 * tiled GEMM of gemm_emit.c instead.
 */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/cg_internal.h"
#include "codegen/llvm/contraction.h"
#include "ir/kir_build.h"

#define CG_CHUNK 4096
#define CG_MINMAX_LANES 8

void cg_loop_begin(cg_fn *f, cg_loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name) {
    cg_ctx *c = f->c;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(f->b);
    l->head = LLVMAppendBasicBlockInContext(c->ctx, f->fn, name);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "exit");
    LLVMBuildBr(f->b, l->head);
    LLVMPositionBuilderAtEnd(f->b, l->head);
    l->phi = LLVMBuildPhi(f->b, c->t_i64, "i");
    LLVMAddIncoming(l->phi, &lo, &pre, 1);
    LLVMBuildCondBr(f->b, LLVMBuildICmp(f->b, LLVMIntSLT, l->phi, hi, ""), body, l->exit);
    LLVMPositionBuilderAtEnd(f->b, body);
    l->iv = l->phi;
}

void cg_loop_end(cg_fn *f, cg_loop *l) {
    LLVMValueRef next = LLVMBuildNSWAdd(f->b, l->iv, LLVMConstInt(f->c->t_i64, 1, 0), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->b);
    LLVMBuildBr(f->b, l->head);
    LLVMAddIncoming(l->phi, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(f->b, l->exit);
}

/* ---- layout of the work items ---- */

typedef struct layout {
    int rank;
    int lead;     /* ROWS: leading axes making the items; -1: CHUNK */
} layout;

static layout choose_layout(const kir_program *p, const kir_kernel *k) {
    const kir_buffer *ob = &p->bufs[k->out];
    layout L = {ob->rank, -1};
    if (ob->rank <= 1 || ir_dtype_get(ob->dtype)->block_elems > 1) return L;
    ir_dim last = ob->dims[ob->rank - 1];
    L.lead = ob->rank - 1;
    if (ob->rank >= 3 && ir_dim_is_const(last) && last.c <= 16) L.lead = ob->rank - 2;
    return L;
}

static LLVMValueRef product(cg_fn *f, const ir_dim *dims, int from, int to) {
    LLVMValueRef v = LLVMConstInt(f->c->t_i64, 1, 0);
    for (int i = from; i < to; i++) v = LLVMBuildMul(f->eb, v, cg_emit_dim(f, dims[i]), "");
    return v;
}

/* ---- reductions ---- */

/* Emit every sub-expression of e that does not depend on a reduction index. */
static int hoist(cg_fn *f, signed char *dep, uint32_t e) {
    const kir_program *p = f->c->p;
    if (!kir_uses_ridx(p, dep, e)) return cg_emit_expr(f, e) ? 0 : -1;
    const kir_expr *x = &p->exprs[e];
    for (uint32_t i = 0; i < x->n_args; i++)
        if (hoist(f, dep, x->args[i])) return -1;
    return 0;
}

static bool is_unsigned(ir_dtype t) { return t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U; }

static LLVMValueRef entry_alloca(cg_fn *f, LLVMTypeRef t, LLVMValueRef init) {
    LLVMBuilderRef eb = f->eb;
    LLVMValueRef a = LLVMBuildAlloca(eb, t, "acc");
    LLVMBuildStore(f->b, init, a);
    return a;
}

/* Register type of the accumulator: float SUM/PROD accumulate in double, as
 * the interpreter does (rounded to acc_dtype at the end). */
static LLVMTypeRef acc_reg_type(cg_ctx *c, ir_dtype t, kir_reduce r) {
    if (ir_dtype_is_float(t) && (r == KR_SUM || r == KR_PROD)) return c->t_f64;
    return cg_reg_type(c, t);
}

static LLVMValueRef init_value(cg_fn *f, ir_dtype t, kir_reduce r) {
    cg_ctx *c = f->c;
    if (ir_dtype_is_float(t)) return LLVMConstReal(acc_reg_type(c, t, r), kb_reduce_init_f(r));
    return LLVMConstInt(cg_reg_type(c, t), (unsigned long long)kb_reduce_init_i(r, t), 1);
}

/* Float MAX / MIN keep a NaN flag (nan_slot, i1) beside the accumulator,
 * which steps with llvm.maxnum / minnum: both reductions vectorize, and the
 * result is NaN when any element was (which of +0 and -0 a tie of zeros
 * gives is not specified). */
static bool float_minmax(const kir_kernel *k) {
    return ir_dtype_is_float(k->acc_dtype) && (k->reduce == KR_MAX || k->reduce == KR_MIN);
}

/* One accumulation step of x (dtype bt) into the slots. */
static void accumulate(cg_fn *f, const kir_kernel *k, LLVMValueRef acc_slot, LLVMValueRef best_slot,
                       LLVMValueRef nan_slot, LLVMValueRef x, ir_dtype bt, LLVMValueRef rflat) {
    cg_ctx *c = f->c;
    LLVMBuilderRef B = f->b;
    ir_dtype at = k->acc_dtype;
    if (k->reduce == KR_ARGMAX || k->reduce == KR_ARGMIN) {
        LLVMTypeRef vt = LLVMTypeOf(x);
        LLVMValueRef cur = LLVMBuildLoad2(B, vt, best_slot, "");
        LLVMValueRef better, first = LLVMBuildICmp(B, LLVMIntEQ, rflat, LLVMConstInt(c->t_i64, 0, 0), "");
        bool mx = k->reduce == KR_ARGMAX, sl = k->select_last;
        if (ir_dtype_is_float(bt)) {
            LLVMRealPredicate p = mx ? (sl ? LLVMRealOGE : LLVMRealOGT) : (sl ? LLVMRealOLE : LLVMRealOLT);
            better = LLVMBuildFCmp(B, p, x, cur, "");
        } else {
            bool u = is_unsigned(bt);
            LLVMValueRef gt = LLVMBuildICmp(B, u ? LLVMIntUGT : LLVMIntSGT, x, cur, "");
            LLVMValueRef eq = LLVMBuildICmp(B, LLVMIntEQ, x, cur, "");
            LLVMValueRef lt = LLVMBuildNot(B, LLVMBuildOr(B, gt, eq, ""), "");
            better = mx ? gt : lt;
            if (sl) better = LLVMBuildOr(B, better, eq, "");
        }
        better = LLVMBuildOr(B, better, first, "");
        LLVMBuildStore(B, LLVMBuildSelect(B, better, x, cur, ""), best_slot);
        LLVMValueRef ci = LLVMBuildLoad2(B, c->t_i64, acc_slot, "");
        LLVMBuildStore(B, LLVMBuildSelect(B, better, rflat, ci, ""), acc_slot);
        return;
    }
    LLVMTypeRef art = acc_reg_type(c, at, k->reduce);
    LLVMValueRef cur = LLVMBuildLoad2(B, art, acc_slot, ""), r;
    if (ir_dtype_is_float(at)) {
        if (!ir_dtype_is_float(bt)) x = LLVMBuildSIToFP(B, cg_ext64(f, x, bt), art, "");
        else if (LLVMTypeOf(x) != art)
            x = LLVMTypeOf(x) == c->t_f64 ? LLVMBuildFPTrunc(B, x, art, "") : LLVMBuildFPExt(B, x, art, "");
        switch (k->reduce) {
        case KR_SUM: r = cg_fadd_reassoc(f, cur, x, 0); break;
        case KR_PROD: r = cg_fadd_reassoc(f, cur, x, 1); break;
        default: {
            const char *name = k->reduce == KR_MAX ? "llvm.maxnum" : "llvm.minnum";
            unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
            LLVMValueRef args[2] = {cur, x};
            r = LLVMBuildCall2(B, LLVMIntrinsicGetType(c->ctx, id, &art, 1), LLVMGetIntrinsicDeclaration(c->mod, id, &art, 1),
                               args, 2, "");
            LLVMValueRef nan = LLVMBuildLoad2(B, c->t_i1, nan_slot, "");
            LLVMBuildStore(B, LLVMBuildOr(B, nan, LLVMBuildFCmp(B, LLVMRealUNO, x, x, ""), ""), nan_slot);
        }
        }
    } else {
        LLVMValueRef a64 = cg_ext64(f, cur, at);
        LLVMValueRef x64 = ir_dtype_is_float(bt) ? LLVMBuildFreeze(B, LLVMBuildFPToSI(B, x, c->t_i64, ""), "")
                                                 : cg_ext64(f, x, bt);
        bool u = is_unsigned(at);
        switch (k->reduce) {
        case KR_SUM: r = LLVMBuildAdd(B, a64, x64, ""); break;
        case KR_PROD: r = LLVMBuildMul(B, a64, x64, ""); break;
        default: {
            LLVMIntPredicate p = k->reduce == KR_MAX ? (u ? LLVMIntUGT : LLVMIntSGT) : (u ? LLVMIntULT : LLVMIntSLT);
            r = LLVMBuildSelect(B, LLVMBuildICmp(B, p, a64, x64, ""), a64, x64, "");
        }
        }
        r = cg_wrap64(f, r, at);
    }
    LLVMBuildStore(B, r, acc_slot);
}

/* The value of the kernel at the current domain point (its dtype in *t). */
static LLVMValueRef emit_point(cg_fn *f, signed char *dep, ir_dtype *t) {
    cg_ctx *c = f->c;
    const kir_kernel *k = f->k;
    const kir_program *p = c->p;
    ir_dtype bt = p->exprs[k->body].dtype;
    if (k->reduce == KR_NONE) {
        *t = bt;
        return cg_emit_expr(f, k->body);
    }
    if (hoist(f, dep, k->body)) return NULL;
    bool arg = k->reduce == KR_ARGMAX || k->reduce == KR_ARGMIN;
    LLVMValueRef acc_slot, best_slot = NULL, nan_slot = NULL;
    if (arg) {
        acc_slot = entry_alloca(f, c->t_i64, LLVMConstInt(c->t_i64, 0, 0));
        best_slot = entry_alloca(f, cg_reg_type(c, bt), init_value(f, bt, k->reduce));
    } else {
        if (!cg_reg_type(c, k->acc_dtype)) return cg_fail(f, "accumulator dtype %s is not supported", ir_dtype_name(k->acc_dtype));
        acc_slot = entry_alloca(f, acc_reg_type(c, k->acc_dtype, k->reduce), init_value(f, k->acc_dtype, k->reduce));
        if (float_minmax(k)) nan_slot = entry_alloca(f, c->t_i1, LLVMConstInt(c->t_i1, 0, 0));
    }
    /* float MAX / MIN: CG_MINMAX_LANES independent accumulators along the
     * innermost reduction axis (no serial dependence), merged at the end */
    int lanes = float_minmax(k) ? CG_MINMAX_LANES : 1, inner = k->rrank - 1;
    LLVMValueRef accs[CG_MINMAX_LANES] = {acc_slot};
    for (int u = 1; u < lanes; u++)
        accs[u] = entry_alloca(f, acc_reg_type(c, k->acc_dtype, k->reduce), init_value(f, k->acc_dtype, k->reduce));
    cg_loop loops[IR_MAX_RANK + 1];
    LLVMValueRef rflat = LLVMConstInt(c->t_i64, 0, 0);
    for (int i = 0; i < k->rrank; i++) {
        LLVMValueRef n = cg_emit_dim(f, k->red[i]);
        if (i == inner && lanes > 1) n = LLVMBuildUDiv(f->b, n, LLVMConstInt(c->t_i64, (unsigned)lanes, 0), "");
        cg_loop_begin(f, &loops[i], LLVMConstInt(c->t_i64, 0, 0), n, "r");
        cg_set_ridx(f, i, loops[i].iv);
        if (arg) rflat = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, rflat, cg_emit_dim(f, k->red[i]), ""), loops[i].iv, "");
    }
    for (int u = 0; u < lanes; u++) {
        if (lanes > 1)
            cg_set_ridx(f, inner, LLVMBuildAdd(f->b, LLVMBuildMul(f->b, loops[inner].iv, LLVMConstInt(c->t_i64, (unsigned)lanes, 0), ""),
                                               LLVMConstInt(c->t_i64, (unsigned)u, 0), ""));
        cg_scope_push(f);
        LLVMValueRef x = cg_emit_expr(f, k->body);
        if (!x) return NULL;
        if (arg && LLVMTypeOf(x) != cg_reg_type(c, bt)) x = cg_round_to(f, x, bt);
        accumulate(f, k, accs[u], best_slot, nan_slot, x, bt, rflat);
        cg_scope_pop(f);
    }
    if (lanes > 1) { /* the rest of the innermost axis, into the first accumulator */
        cg_loop_end(f, &loops[inner]);
        LLVMValueRef n = cg_emit_dim(f, k->red[inner]);
        LLVMValueRef lo = LLVMBuildMul(f->b, LLVMBuildUDiv(f->b, n, LLVMConstInt(c->t_i64, (unsigned)lanes, 0), ""),
                                       LLVMConstInt(c->t_i64, (unsigned)lanes, 0), "");
        cg_loop_begin(f, &loops[inner], lo, n, "rr");
        cg_set_ridx(f, inner, loops[inner].iv);
        cg_scope_push(f);
        LLVMValueRef x = cg_emit_expr(f, k->body);
        if (!x) return NULL;
        accumulate(f, k, acc_slot, NULL, nan_slot, x, bt, rflat);
        cg_scope_pop(f);
    }
    for (int i = k->rrank - 1; i >= 0; i--) cg_loop_end(f, &loops[i]);
    for (int i = 0; i < k->rrank; i++) cg_set_ridx(f, i, NULL);
    ir_dtype at = arg ? IR_I64 : k->acc_dtype;
    for (int u = 1; u < lanes; u++)
        accumulate(f, k, acc_slot, NULL, nan_slot, LLVMBuildLoad2(f->b, acc_reg_type(c, at, k->reduce), accs[u], ""), at, rflat);
    LLVMValueRef acc = LLVMBuildLoad2(f->b, arg ? c->t_i64 : acc_reg_type(c, at, k->reduce), acc_slot, "");
    if (nan_slot)
        acc = LLVMBuildSelect(f->b, LLVMBuildLoad2(f->b, c->t_i1, nan_slot, ""), LLVMConstReal(LLVMTypeOf(acc), NAN), acc, "");
    if (ir_dtype_is_float(at)) acc = cg_round_to(f, acc, at);
    if (k->post == KIR_NONE) {
        *t = at;
        return acc;
    }
    cg_set_acc(f, acc);
    *t = p->exprs[k->post].dtype;
    LLVMValueRef v = cg_emit_expr(f, k->post);
    cg_set_acc(f, NULL);
    return v;
}

static int store_point(cg_fn *f, signed char *dep, LLVMValueRef lin) {
    uint32_t out = f->k->out;
    ir_dtype ot = f->c->p->bufs[out].dtype, vt;
    cg_scope_push(f);
    LLVMValueRef v = emit_point(f, dep, &vt);
    if (!v) return -1;
    if (vt != ot) v = cg_convert(f, v, vt, ot, 0);
    cg_store_elem(f, out, lin, v);
    cg_scope_pop(f);
    return 0;
}

/* linear index of the current domain point */
static LLVMValueRef linear(cg_fn *f, const kir_buffer *ob) {
    LLVMValueRef lin = LLVMConstInt(f->c->t_i64, 0, 0);
    for (int ax = 0; ax < ob->rank; ax++)
        lin = LLVMBuildAdd(f->b, LLVMBuildMul(f->b, lin, cg_emit_dim(f, ob->dims[ax]), ""), f->idx[ax], "");
    return lin;
}

/* Set the domain indices of axes [0, n) from their row-major flat index. */
static void unravel(cg_fn *f, const kir_buffer *ob, int n, LLVMValueRef flat) {
    for (int ax = n - 1; ax > 0; ax--) {
        LLVMValueRef d = cg_emit_dim(f, ob->dims[ax]);
        cg_set_idx(f, ax, LLVMBuildURem(f->b, flat, d, ""));
        flat = LLVMBuildUDiv(f->b, flat, d, "");
    }
    if (n > 0) cg_set_idx(f, 0, flat);
}

static int emit_run(cg_fn *f, layout L, signed char *dep) {
    cg_ctx *c = f->c;
    const kir_buffer *ob = &c->p->bufs[f->k->out];
    LLVMValueRef begin = LLVMGetParam(f->fn, 1), end = LLVMGetParam(f->fn, 2);
    LLVMBuilderRef B = f->b;
    if (L.lead < 0) {
        LLVMValueRef numel = product(f, ob->dims, 0, ob->rank), ch = LLVMConstInt(c->t_i64, CG_CHUNK, 0);
        LLVMValueRef lo = LLVMBuildMul(B, begin, ch, ""), hi = LLVMBuildMul(B, end, ch, "");
        hi = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, hi, numel, ""), hi, numel, "");
        cg_loop l;
        cg_loop_begin(f, &l, lo, hi, "p");
        unravel(f, ob, ob->rank, l.iv);
        if (store_point(f, dep, l.iv)) return -1;
        cg_loop_end(f, &l);
        return 0;
    }
    cg_loop item;
    cg_loop_begin(f, &item, begin, end, "item");
    unravel(f, ob, L.lead, item.iv);
    cg_scope_push(f);
    cg_loop in[2];
    for (int ax = L.lead; ax < ob->rank; ax++) {
        cg_loop_begin(f, &in[ax - L.lead], LLVMConstInt(c->t_i64, 0, 0), cg_emit_dim(f, ob->dims[ax]), "j");
        cg_set_idx(f, ax, in[ax - L.lead].iv);
        cg_scope_push(f);
    }
    if (store_point(f, dep, linear(f, ob))) return -1;
    for (int ax = ob->rank - 1; ax >= L.lead; ax--) {
        cg_scope_pop(f);
        cg_loop_end(f, &in[ax - L.lead]);
    }
    cg_scope_pop(f);
    cg_loop_end(f, &item);
    return 0;
}

int cg_emit_kernel(cg_ctx *c, uint32_t ki, LLVMValueRef *extent_fn, LLVMValueRef *run_fn) {
    const kir_kernel *k = &c->p->kernels[ki];
    const kir_buffer *ob = &c->p->bufs[k->out];
    if (!cg_reg_type(c, ob->dtype))
        return diag_error(c->d, "kernel '%s': output '%s' has dtype %s, which the LLVM backend does not support yet",
                          k->name, ob->name, ir_dtype_name(ob->dtype));
    cg_gemm_plan pl;
    if (cg_gemm_plan_match(c, k, &pl))
        return cg_emit_gemm_engine(c, ki, &pl, extent_fn, run_fn);
    cg_contraction ct;
    if (cg_contraction_match(c, k, &ct)) return cg_emit_gemm(c, ki, &ct, extent_fn, run_fn);
    layout L = choose_layout(c->p, k);
    char name[64];
    cg_fn f;
    snprintf(name, sizeof name, "smelt.k%u.extent", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_extent, 0, 1)) return -1;
    LLVMValueRef ext;
    if (L.lead < 0) {
        LLVMValueRef numel = product(&f, ob->dims, 0, ob->rank);
        LLVMValueRef n = LLVMBuildAdd(f.b, numel, LLVMConstInt(c->t_i64, CG_CHUNK - 1, 0), "");
        ext = LLVMBuildSDiv(f.b, n, LLVMConstInt(c->t_i64, CG_CHUNK, 0), "");
    } else {
        ext = product(&f, ob->dims, 0, L.lead);
        for (int ax = L.lead; ax < ob->rank; ax++) /* an empty inner domain: no work */
            ext = LLVMBuildSelect(f.b, LLVMBuildICmp(f.b, LLVMIntEQ, cg_emit_dim(&f, ob->dims[ax]),
                                                     LLVMConstInt(c->t_i64, 0, 0), ""),
                                  LLVMConstInt(c->t_i64, 0, 0), ext, "");
    }
    LLVMBuildRet(f.b, ext);
    *extent_fn = f.fn;
    cg_fn_end(&f);

    snprintf(name, sizeof name, "smelt.k%u.run", ki);
    if (cg_fn_begin(&f, c, k, name, c->t_run, 0, 1)) return -1;
    signed char *dep = malloc(c->p->n_exprs);
    if (!dep) {
        cg_fn_end(&f);
        return diag_error(c->d, "out of memory");
    }
    for (uint32_t i = 0; i < c->p->n_exprs; i++) dep[i] = -1;
    int rc = emit_run(&f, L, dep);
    free(dep);
    if (!rc) LLVMBuildRetVoid(f.b);
    *run_fn = f.fn;
    rc = rc || f.failed ? -1 : 0;
    cg_fn_end(&f);
    return rc;
}
