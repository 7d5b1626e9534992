/* spv_kernel.c — one loop kernel as a GLSL450 compute shader (the
 * interface is in spv.h).
 *
 * Each invocation computes one output element: its flat index comes from
 * the global invocation id (two dimensions, so that more than 65535
 * workgroups fit), the domain indices from that index by division by the
 * output's dimensions. A reduction is nested loops inside the invocation
 * with the accumulator in a Function variable, initialised as
 * kb_reduce_init_* says; the parts of the body that do not depend on a
 * reduction index are emitted before the loops. Float SUM/PROD accumulate
 * in the accumulator dtype's register (f32, or f64), not in double as the
 * interpreter does. Structured control flow: one selection (the in-range
 * test) around the work, one OpLoopMerge loop per reduction axis.
 * Reductions with few outputs and a long reduction run one workgroup per
 * output element instead (emit_wg_reduce, below; spv_tiling.per_group tells
 * the runtime to dispatch one workgroup per output element).
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/spirv/spv_internal.h"
#include "ir/kir_build.h"
#include "runtime/vulkan/vk.h"

void spv_label(spv_ctx *c, uint32_t id) { spv_inst(&c->b, c->cur, SpvOpLabel, &id, 1); }
void spv_branch(spv_ctx *c, uint32_t id) { spv_inst(&c->b, c->cur, SpvOpBranch, &id, 1); }
void spv_store(spv_ctx *c, uint32_t ptr, uint32_t v) {
    uint32_t ops[2] = {ptr, v};
    spv_inst(&c->b, c->cur, SpvOpStore, ops, 2);
}
#define label spv_label
#define branch spv_branch
#define store spv_store

uint32_t spv_fn_var(spv_ctx *c, uint32_t t) {
    int k = t == c->t_bool ? 0 : t == c->t_i64 ? 1 : t == c->t_f32 ? 2 : 3;
    if (!c->p_fn[k]) {
        uint32_t ops[2] = {SpvStorageFunction, t};
        c->p_fn[k] = spv_type(&c->b, SpvOpTypePointer, ops, 2);
    }
    uint32_t sc = SpvStorageFunction;
    return spv_op(&c->b, &c->vars, SpvOpVariable, c->p_fn[k], &sc, 1);
}

#define fn_var spv_fn_var
typedef spv_loop loop;

void spv_loop_begin(spv_ctx *c, spv_loop *l, uint32_t n) {
    l->var = fn_var(c, c->t_i64);
    l->head = spv_id(&c->b), l->body = spv_id(&c->b), l->cont = spv_id(&c->b), l->merge = spv_id(&c->b);
    store(c, l->var, spv_c_i64(c, 0));
    branch(c, l->head);
    label(c, l->head);
    l->iv = spv_op1(c, SpvOpLoad, c->t_i64, l->var);
    uint32_t go = spv_op2(c, SpvOpSLessThan, c->t_bool, l->iv, n);
    uint32_t lm[3] = {l->merge, l->cont, 0};
    spv_inst(&c->b, c->cur, SpvOpLoopMerge, lm, 3);
    uint32_t br[3] = {go, l->body, l->merge};
    spv_inst(&c->b, c->cur, SpvOpBranchConditional, br, 3);
    label(c, l->body);
}

void spv_loop_end(spv_ctx *c, spv_loop *l) {
    branch(c, l->cont);
    label(c, l->cont);
    store(c, l->var, spv_op2(c, SpvOpIAdd, c->t_i64, l->iv, spv_c_i64(c, 1)));
    branch(c, l->head);
    label(c, l->merge);
}

/* ---- reductions ---- */

/* Emit every sub-expression of e that does not depend on a reduction index. */
static void hoist(spv_ctx *c, signed char *dep, uint32_t e) {
    if (!kir_uses_ridx(c->p, dep, e)) {
        spv_emit_expr(c, e);
        return;
    }
    const kir_expr *x = &c->p->exprs[e];
    for (uint32_t i = 0; i < x->n_args && !c->failed; i++) hoist(c, dep, x->args[i]);
}

static bool is_unsigned(ir_dtype t) { return t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U; }

static uint32_t init_value(spv_ctx *c, ir_dtype t, kir_reduce r) {
    if (ir_dtype_is_float(t)) return spv_c_float(c, t, kb_reduce_init_f(r));
    if (t == IR_BOOL) return spv_c_bool(c, kb_reduce_init_i(r, t) != 0);
    return spv_c_i64(c, kb_reduce_init_i(r, t));
}

/* x of dtype bt in the accumulator's register (dtype at) */
static uint32_t to_acc(spv_ctx *c, uint32_t x, ir_dtype bt, ir_dtype at) {
    bool bf = ir_dtype_is_float(bt), af = ir_dtype_is_float(at);
    if (af && bf) {
        uint32_t ft = spv_reg_type(c, bt), tt = spv_reg_type(c, at);
        return ft == tt ? x : spv_op1(c, SpvOpFConvert, tt, x);
    }
    if (af) return spv_op1(c, SpvOpConvertSToF, spv_reg_type(c, at), spv_ext64(c, x, bt));
    if (bf) return spv_op1(c, SpvOpConvertFToS, c->t_i64, x);
    return spv_ext64(c, x, bt);
}

static void accumulate(spv_ctx *c, uint32_t acc_var, uint32_t best_var, uint32_t x, ir_dtype bt, uint32_t rflat) {
    const kir_kernel *k = c->k;
    uint32_t B = c->t_bool;
    if (k->reduce == KR_ARGMAX || k->reduce == KR_ARGMIN) {
        uint32_t bty = spv_reg_type(c, bt);
        uint32_t cur = spv_op1(c, SpvOpLoad, bty, best_var), better;
        uint32_t first = spv_op2(c, SpvOpIEqual, B, rflat, spv_c_i64(c, 0));
        bool mx = k->reduce == KR_ARGMAX, sl = k->select_last;
        if (ir_dtype_is_float(bt)) {
            uint32_t o = mx ? (sl ? SpvOpFOrdGreaterThanEqual : SpvOpFOrdGreaterThan)
                            : (sl ? SpvOpFOrdLessThanEqual : SpvOpFOrdLessThan);
            better = spv_op2(c, o, B, x, cur);
        } else {
            uint32_t xa = spv_ext64(c, x, bt), ca = spv_ext64(c, cur, bt);
            bool u = is_unsigned(bt);
            uint32_t gt = spv_op2(c, u ? SpvOpUGreaterThan : SpvOpSGreaterThan, B, xa, ca);
            uint32_t eq = spv_op2(c, SpvOpIEqual, B, xa, ca);
            uint32_t lt = spv_op1(c, SpvOpLogicalNot, B, spv_op2(c, SpvOpLogicalOr, B, gt, eq));
            better = mx ? gt : lt;
            if (sl) better = spv_op2(c, SpvOpLogicalOr, B, better, eq);
        }
        better = spv_op2(c, SpvOpLogicalOr, B, better, first);
        store(c, best_var, spv_sel(c, bty, better, x, cur));
        uint32_t ci = spv_op1(c, SpvOpLoad, c->t_i64, acc_var);
        store(c, acc_var, spv_sel(c, c->t_i64, better, rflat, ci));
        return;
    }
    ir_dtype at = k->acc_dtype;
    uint32_t art = spv_reg_type(c, at);
    uint32_t cur = spv_op1(c, SpvOpLoad, art, acc_var), r;
    x = to_acc(c, x, bt, at);
    if (ir_dtype_is_float(at)) {
        switch (k->reduce) {
        case KR_SUM: r = spv_op2(c, SpvOpFAdd, art, cur, x); break;
        case KR_PROD: r = spv_op2(c, SpvOpFMul, art, cur, x); break;
        default: r = spv_fmaxmin(c, at, k->reduce == KR_MAX ? KX_MAX : KX_MIN, x, cur); break;
        }
    } else {
        if (at == IR_BOOL) cur = spv_ext64(c, cur, at);
        bool u = is_unsigned(at);
        switch (k->reduce) {
        case KR_SUM: r = spv_op2(c, SpvOpIAdd, c->t_i64, cur, x); break;
        case KR_PROD: r = spv_op2(c, SpvOpIMul, c->t_i64, cur, x); break;
        default: {
            uint32_t o = k->reduce == KR_MAX ? (u ? SpvOpUGreaterThan : SpvOpSGreaterThan) : (u ? SpvOpULessThan : SpvOpSLessThan);
            r = spv_sel(c, c->t_i64, spv_op2(c, o, B, cur, x), cur, x);
        }
        }
        r = spv_wrap64(c, r, at);
    }
    store(c, acc_var, r);
}

/* The kernel's post expression of the accumulated value acc (dtype *t on
 * entry, the result's on return). */
static uint32_t apply_post(spv_ctx *c, uint32_t acc, ir_dtype *t) {
    const kir_kernel *k = c->k;
    if (k->post == KIR_NONE) return acc;
    c->acc = acc;
    *t = c->p->exprs[k->post].dtype;
    uint32_t v = spv_emit_expr(c, k->post);
    c->acc = 0;
    return v;
}

/* The value of the kernel at the current domain point (dtype in *t). */
static uint32_t emit_point(spv_ctx *c, signed char *dep, ir_dtype *t) {
    const kir_kernel *k = c->k;
    const kir_program *p = c->p;
    ir_dtype bt = p->exprs[k->body].dtype;
    if (k->reduce == KR_NONE) {
        *t = bt;
        return spv_emit_expr(c, k->body);
    }
    hoist(c, dep, k->body);
    if (c->failed) return 0;
    bool arg = k->reduce == KR_ARGMAX || k->reduce == KR_ARGMIN;
    ir_dtype at = arg ? IR_I64 : k->acc_dtype;
    uint32_t art = spv_reg_type(c, at), bty = spv_reg_type(c, bt);
    if (!art || !bty) return spv_fail(c, "accumulator dtype %s is not supported", ir_dtype_name(at));
    uint32_t acc_var = fn_var(c, art), best_var = 0;
    store(c, acc_var, arg ? spv_c_i64(c, 0) : init_value(c, at, k->reduce));
    if (arg) {
        best_var = fn_var(c, bty);
        store(c, best_var, init_value(c, bt, k->reduce));
    }
    loop loops[IR_MAX_RANK];
    uint32_t rflat = spv_c_i64(c, 0);
    for (int i = 0; i < k->rrank; i++) {
        uint32_t n = spv_dim(c, k->red[i]);
        spv_loop_begin(c, &loops[i], n);
        c->ridx[i] = loops[i].iv;
        spv_scope_push(c);
        if (arg) rflat = spv_op2(c, SpvOpIAdd, c->t_i64, spv_op2(c, SpvOpIMul, c->t_i64, rflat, n), loops[i].iv);
    }
    uint32_t x = spv_emit_expr(c, k->body);
    if (!x) return 0;
    accumulate(c, acc_var, best_var, x, bt, rflat);
    for (int i = k->rrank - 1; i >= 0; i--) {
        spv_scope_pop(c);
        spv_loop_end(c, &loops[i]);
        c->ridx[i] = 0;
    }
    uint32_t acc = spv_op1(c, SpvOpLoad, art, acc_var);
    if (ir_dtype_is_float(at)) acc = spv_round_to(c, acc, at);
    *t = at;
    return apply_post(c, acc, t);
}

/* v (register of dtype vt) as the output buffer's dtype ot */
static uint32_t to_output(spv_ctx *c, uint32_t v, ir_dtype vt, ir_dtype ot) {
    if (vt == ot) return v;
    return spv_convert(c, v, vt, ot, 0);
}

/* ---- the module ---- */

static void init_types(spv_ctx *c) {
    spv_builder *b = &c->b;
    uint32_t ops[3];
    spv_capability(b, SpvCapShader);
    spv_capability(b, SpvCapInt64);
    uint32_t name[4], n = 0;
    spv_string("GLSL.std.450", name, &n);
    c->glsl = spv_op(b, &b->imports, SpvOpExtInstImport, 0, name, n);
    ops[0] = SpvAddressingLogical, ops[1] = SpvMemoryModelGLSL450;
    spv_inst(b, &b->model, SpvOpMemoryModel, ops, 2);
    c->t_void = spv_type(b, SpvOpTypeVoid, NULL, 0);
    c->t_bool = spv_type(b, SpvOpTypeBool, NULL, 0);
    ops[0] = 32, ops[1] = 0;
    c->t_u32 = spv_type(b, SpvOpTypeInt, ops, 2);
    ops[0] = 64;
    c->t_i64 = spv_type(b, SpvOpTypeInt, ops, 2);
    ops[0] = 32;
    c->t_f32 = spv_type(b, SpvOpTypeFloat, ops, 1);
    ops[0] = c->t_f32, ops[1] = 2;
    c->t_v2f32 = spv_type(b, SpvOpTypeVector, ops, 2);
    ops[0] = c->t_u32, ops[1] = 3;
    c->t_v3u32 = spv_type(b, SpvOpTypeVector, ops, 2);
}

uint32_t spv_builtin_var(spv_ctx *c, uint32_t builtin, bool scalar) {
    uint32_t ops[2] = {SpvStorageInput, scalar ? c->t_u32 : c->t_v3u32};
    uint32_t pt = spv_type(&c->b, SpvOpTypePointer, ops, 2), sc = SpvStorageInput;
    uint32_t v = spv_op(&c->b, &c->b.types, SpvOpVariable, pt, &sc, 1);
    spv_decorate(&c->b, v, SpvDecoBuiltIn, &builtin, 1);
    return v;
}

uint32_t spv_extract(spv_ctx *c, uint32_t vec, uint32_t i) {
    uint32_t ops[2] = {vec, i};
    return spv_op(&c->b, c->cur, SpvOpCompositeExtract, c->t_u32, ops, 2);
}

/* Check the buffers' dtypes and declare their bindings. */
static int bind_buffers(spv_ctx *c, uint32_t ki) {
    const kir_program *p = c->p;
    uint32_t *mark = calloc((size_t)p->n_exprs + p->n_bufs, sizeof *mark);
    uint32_t *reads = malloc((p->n_bufs ? p->n_bufs : 1) * sizeof *reads);
    if (!mark || !reads) {
        free(mark);
        free(reads);
        return -1;
    }
    uint32_t n = kir_kernel_reads(p, ki, mark, reads);
    c->n_bindings = n + 2;
    if (n + 2 > c->f->max_storage_buffers)
        spv_fail(c, "%u buffers, more than the device binds per shader (%u)", n + 2, c->f->max_storage_buffers);
    for (uint32_t i = 0; i <= n && !c->failed; i++) {
        uint32_t buf = i == 0 ? c->k->out : reads[i - 1];
        const kir_buffer *kb = &p->bufs[buf];
        if (!spv_dtype_ok(c, kb->dtype, true))
            spv_fail(c, "buffer '%s' has dtype %s, which the SPIR-V backend or the device does not support", kb->name,
                     ir_dtype_name(kb->dtype));
        else spv_bind_buffer(c, buf, i == 0 ? SPV_BINDING_OUT : SPV_BINDING_READS + i - 1, i == 0);
    }
    free(mark);
    free(reads);
    return 0;
}

void spv_finish_main(spv_ctx *c, uint32_t in_range, uint32_t work, uint32_t end, const uint32_t *iface, uint32_t n_iface) {
    spv_builder *b = &c->b;
    /* the function: entry block (variables, pre, the in-range branch), body */
    uint32_t fnty = spv_type(b, SpvOpTypeFunction, &c->t_void, 1), fops[2] = {0, fnty};
    uint32_t main_fn = spv_op(b, &b->funcs, SpvOpFunction, c->t_void, fops, 2);
    spv_op(b, &b->funcs, SpvOpLabel, 0, NULL, 0);
    spv_put(b, &b->funcs, c->vars.w, c->vars.n);
    spv_put(b, &b->funcs, c->pre.w, c->pre.n);
    uint32_t sm[2] = {end, 0};
    spv_inst(b, &b->funcs, SpvOpSelectionMerge, sm, 2);
    uint32_t br[3] = {in_range, work, end};
    spv_inst(b, &b->funcs, SpvOpBranchConditional, br, 3);
    spv_put(b, &b->funcs, c->body.w, c->body.n);
    uint32_t ep[12] = {SpvExecModelGLCompute, main_fn}, n = 2;
    spv_string("main", ep, &n);
    for (uint32_t i = 0; i < n_iface && n < 12; i++) ep[n++] = iface[i];
    spv_inst(b, &b->entries, SpvOpEntryPoint, ep, n);
    spv_name(b, main_fn, c->k->name ? c->k->name : "kernel");
    c->main_fn = main_fn;
}

void spv_end_compute(spv_ctx *c, uint32_t in_range, uint32_t work, uint32_t end, const uint32_t *iface,
                     uint32_t n_iface, uint32_t local_size) {
    spv_branch(c, end);
    spv_label(c, end);
    spv_inst(&c->b, c->cur, SpvOpReturn, NULL, 0);
    spv_inst(&c->b, c->cur, SpvOpFunctionEnd, NULL, 0);
    spv_finish_main(c, in_range, work, end, iface, n_iface);
    uint32_t mode[5] = {c->main_fn, 17 /* LocalSize */, local_size, 1, 1};
    spv_inst(&c->b, &c->b.modes, SpvOpExecutionMode, mode, 5);
}

/* ---- workgroup reductions ----
 *
 * A float SUM/PROD/MAX/MIN (f32 accumulator) with few outputs and a long
 * reduction runs one workgroup per output element instead: invocation li
 * accumulates the flat reduction indices li, li + wg, li + 2 wg, ...
 * (unravelled over the reduction axes), the partials are combined in a tree
 * in workgroup memory, and invocation 0 applies the post expression and
 * stores. The rule (outputs' constant part < SPV_WG_RED_MAX_OUT, reduction
 * extent >= SPV_WG_RED_MIN, or symbolic): with one invocation per output a
 * reduction of one row (RMSNorm's sum of squares over 576) is one GPU
 * thread doing 576 dependent loads; with many outputs the per-invocation
 * loops already fill the GPU and read contiguous rows. */
#define SPV_WG_RED_MAX_OUT 16384
#define SPV_WG_RED_MIN 64
#define SPV_WG_RED_SLOTS 256 /* >= the runtime's workgroup size (vk_exec.c) */

static bool wg_reduce_fits(spv_ctx *c) {
    const kir_kernel *k = c->k;
    const kir_buffer *ob = &c->p->bufs[k->out];
    if (k->reduce != KR_SUM && k->reduce != KR_PROD && k->reduce != KR_MAX && k->reduce != KR_MIN) return false;
    if (k->rrank < 1 || !ir_dtype_is_float(k->acc_dtype) || spv_reg_type(c, k->acc_dtype) != c->t_f32) return false;
    int64_t out = 1, red = 1;
    bool red_sym = false;
    for (int ax = 0; ax < ob->rank; ax++)
        if (ir_dim_is_const(ob->dims[ax]) && __builtin_mul_overflow(out, ob->dims[ax].c, &out)) return false;
    for (int i = 0; i < k->rrank; i++) {
        if (!ir_dim_is_const(k->red[i])) red_sym = true;
        else if (__builtin_mul_overflow(red, k->red[i].c, &red)) red = INT64_MAX;
    }
    return out < SPV_WG_RED_MAX_OUT && (red_sym || red >= SPV_WG_RED_MIN);
}

static void wg_barrier(spv_ctx *c) {
    uint32_t ops[3] = {spv_c_u32(c, 2), spv_c_u32(c, 2), spv_c_u32(c, 0x108)}; /* Workgroup, Workgroup, AcqRel|WorkgroupMemory */
    spv_inst(&c->b, c->cur, 224 /* OpControlBarrier */, ops, 3);
}

static uint32_t if_begin(spv_ctx *c, uint32_t cond) {
    uint32_t then = spv_id(&c->b), merge = spv_id(&c->b), sm[2] = {merge, 0}, br[3] = {cond, then, merge};
    spv_inst(&c->b, c->cur, SpvOpSelectionMerge, sm, 2);
    spv_inst(&c->b, c->cur, SpvOpBranchConditional, br, 3);
    label(c, then);
    return merge;
}

static void if_end(spv_ctx *c, uint32_t merge) {
    branch(c, merge);
    label(c, merge);
}

/* i64 flat index -> indices over dims (innermost first) */
static void unravel64(spv_ctx *c, uint32_t flat, const ir_dim *dims, int rank, uint32_t *idx) {
    for (int ax = rank - 1; ax >= 0; ax--) {
        if (ir_dim_is_const(dims[ax]) && dims[ax].c == 1) {
            idx[ax] = spv_c_i64(c, 0);
            continue;
        }
        uint32_t dv = spv_dim(c, dims[ax]);
        idx[ax] = ax == 0 ? flat : spv_op2(c, SpvOpUMod, c->t_i64, flat, dv);
        if (ax > 0) flat = spv_op2(c, SpvOpUDiv, c->t_i64, flat, dv);
    }
}

static int emit_wg_reduce(spv_ctx *c, signed char *dep, uint32_t wgx) {
    const kir_kernel *k = c->k;
    const kir_buffer *ob = &c->p->bufs[k->out];
    spv_builder *b = &c->b;
    uint32_t wid = spv_builtin_var(c, 26 /* WorkgroupId */, false), nwg = spv_builtin_var(c, SpvBuiltInNumWorkgroups, false);
    uint32_t lix = spv_builtin_var(c, 29 /* LocalInvocationIndex */, true);
    uint32_t F = c->t_f32, U = c->t_u32, L = c->t_i64;
    c->cur = &c->pre;
    uint32_t w = spv_op1(c, SpvOpLoad, c->t_v3u32, wid), nw = spv_op1(c, SpvOpLoad, c->t_v3u32, nwg);
    uint32_t li = spv_op1(c, SpvOpLoad, U, lix);
    uint32_t lin = spv_op2(c, SpvOpIAdd, L,
                           spv_op2(c, SpvOpIMul, L, spv_op1(c, SpvOpUConvert, L, spv_extract(c, w, 1)),
                                   spv_op1(c, SpvOpUConvert, L, spv_extract(c, nw, 0))),
                           spv_op1(c, SpvOpUConvert, L, spv_extract(c, w, 0)));
    uint32_t numel = spv_c_i64(c, 1);
    for (int ax = 0; ax < ob->rank; ax++) numel = spv_op2(c, SpvOpIMul, L, numel, spv_dim(c, ob->dims[ax]));
    uint32_t in_range = spv_op2(c, SpvOpULessThan, c->t_bool, lin, numel);

    uint32_t work = spv_id(b), end = spv_id(b);
    c->cur = &c->body;
    label(c, work);
    unravel64(c, lin, ob->dims, ob->rank, c->idx);
    hoist(c, dep, k->body);
    if (c->failed) return 0;
    ir_dtype bt = c->p->exprs[k->body].dtype, at = k->acc_dtype;
    uint32_t acc_var = fn_var(c, F);
    store(c, acc_var, init_value(c, at, k->reduce));
    uint32_t R = spv_c_i64(c, 1);
    for (int i = 0; i < k->rrank; i++) R = spv_op2(c, SpvOpIMul, L, R, spv_dim(c, k->red[i]));
    uint32_t wg64 = spv_op1(c, SpvOpUConvert, L, wgx), li64 = spv_op1(c, SpvOpUConvert, L, li);
    uint32_t iters = spv_op2(c, SpvOpUDiv, L, spv_op2(c, SpvOpIAdd, L, R, spv_op2(c, SpvOpISub, L, wg64, spv_c_i64(c, 1))), wg64);
    loop lp;
    spv_loop_begin(c, &lp, iters);
    uint32_t r = spv_op2(c, SpvOpIAdd, L, spv_op2(c, SpvOpIMul, L, lp.iv, wg64), li64);
    uint32_t merge = if_begin(c, spv_op2(c, SpvOpSLessThan, c->t_bool, r, R));
    spv_scope_push(c);
    unravel64(c, r, k->red, k->rrank, c->ridx);
    uint32_t x = spv_emit_expr(c, k->body);
    if (!x) return 0;
    accumulate(c, acc_var, 0, x, bt, 0);
    spv_scope_pop(c);
    for (int i = 0; i < k->rrank; i++) c->ridx[i] = 0;
    if_end(c, merge);
    spv_loop_end(c, &lp);

    /* the tree in workgroup memory */
    uint32_t ops[2] = {F, spv_c_u32(c, SPV_WG_RED_SLOTS)};
    uint32_t arr = spv_type(b, 28 /* OpTypeArray */, ops, 2);
    ops[0] = 4 /* Workgroup */, ops[1] = arr;
    uint32_t p_arr = spv_type(b, SpvOpTypePointer, ops, 2);
    ops[1] = F;
    uint32_t p_sh = spv_type(b, SpvOpTypePointer, ops, 2), wsc = 4;
    uint32_t red = spv_op(b, &b->types, SpvOpVariable, p_arr, &wsc, 1);
    ops[0] = red, ops[1] = li;
    uint32_t slot = spv_op(b, c->cur, SpvOpAccessChain, p_sh, ops, 2);
    store(c, slot, spv_op1(c, SpvOpLoad, F, acc_var));
    wg_barrier(c);
    for (uint32_t half = SPV_WG_RED_SLOTS / 2; half; half /= 2) {
        uint32_t other = spv_op2(c, SpvOpIAdd, U, li, spv_c_u32(c, half));
        uint32_t go = spv_op2(c, SpvOpLogicalAnd, c->t_bool, spv_op2(c, SpvOpULessThan, c->t_bool, li, spv_c_u32(c, half)),
                              spv_op2(c, SpvOpULessThan, c->t_bool, other, wgx));
        uint32_t m = if_begin(c, go);
        ops[0] = red, ops[1] = other;
        uint32_t o = spv_op1(c, SpvOpLoad, F, spv_op(b, c->cur, SpvOpAccessChain, p_sh, ops, 2));
        accumulate(c, slot, 0, o, at, 0);
        if_end(c, m);
        wg_barrier(c);
    }
    uint32_t m0 = if_begin(c, spv_op2(c, SpvOpIEqual, c->t_bool, li, spv_c_u32(c, 0)));
    uint32_t v = spv_round_to(c, spv_op1(c, SpvOpLoad, F, slot), at);
    ir_dtype vt = at;
    v = apply_post(c, v, &vt);
    if (!v || c->failed) return 0;
    v = to_output(c, v, vt, ob->dtype);
    if (!v || c->failed) return 0;
    spv_store_elem(c, k->out, lin, v);
    if_end(c, m0);
    branch(c, end);
    label(c, end);
    spv_inst(b, c->cur, SpvOpReturn, NULL, 0);
    spv_inst(b, c->cur, SpvOpFunctionEnd, NULL, 0);
    uint32_t iface[3] = {wid, nwg, lix};
    spv_finish_main(c, in_range, work, end, iface, 3);
    return 1;
}

static int emit_main(spv_ctx *c, signed char *dep, spv_tiling *t) {
    const kir_buffer *ob = &c->p->bufs[c->k->out];
    spv_builder *b = &c->b;
    uint32_t gid = spv_builtin_var(c, SpvBuiltInGlobalInvocationId, false), nwg = spv_builtin_var(c, SpvBuiltInNumWorkgroups, false);
    /* the workgroup size: specialization constant 0, (size, 1, 1) */
    uint32_t def = 64, spec0 = 0;
    uint32_t wgx = spv_op(b, &b->types, SpvOpSpecConstant, c->t_u32, &def, 1);
    spv_decorate(b, wgx, SpvDecoSpecId, &spec0, 1);
    uint32_t one = spv_c_u32(c, 1), comp[3] = {wgx, one, one};
    uint32_t wgs = spv_op(b, &b->types, SpvOpSpecConstantComposite, c->t_v3u32, comp, 3);
    uint32_t bi = SpvBuiltInWorkgroupSize;
    spv_decorate(b, wgs, SpvDecoBuiltIn, &bi, 1);
    if (wg_reduce_fits(c)) {
        t->per_group = true;
        return emit_wg_reduce(c, dep, wgx);
    }

    c->cur = &c->pre;
    uint32_t g = spv_op1(c, SpvOpLoad, c->t_v3u32, gid), nw = spv_op1(c, SpvOpLoad, c->t_v3u32, nwg);
    uint32_t row = spv_op2(c, SpvOpIMul, c->t_u32, spv_extract(c, nw, 0), wgx);
    /* a constant domain under 2^31 elements unravels in 32 bits (64-bit
     * division is emulated on most GPUs) */
    int64_t total = 1;
    bool small = true;
    for (int ax = 0; ax < ob->rank && small; ax++)
        small = ir_dim_is_const(ob->dims[ax]) && !__builtin_mul_overflow(total, ob->dims[ax].c, &total) &&
                total <= INT32_MAX;
    uint32_t lin32 = spv_op2(c, SpvOpIAdd, c->t_u32, spv_op2(c, SpvOpIMul, c->t_u32, spv_extract(c, g, 1), row),
                             spv_extract(c, g, 0));
    uint32_t lin, in_range;
    if (small) {
        lin = spv_op1(c, SpvOpUConvert, c->t_i64, lin32);
        in_range = spv_op2(c, SpvOpULessThan, c->t_bool, lin32, spv_c_u32(c, (uint32_t)total));
    } else {
        lin = spv_op2(c, SpvOpIAdd, c->t_i64,
                      spv_op2(c, SpvOpIMul, c->t_i64, spv_op1(c, SpvOpUConvert, c->t_i64, spv_extract(c, g, 1)),
                              spv_op1(c, SpvOpUConvert, c->t_i64, row)),
                      spv_op1(c, SpvOpUConvert, c->t_i64, spv_extract(c, g, 0)));
        uint32_t numel = spv_c_i64(c, 1);
        for (int ax = 0; ax < ob->rank; ax++) numel = spv_op2(c, SpvOpIMul, c->t_i64, numel, spv_dim(c, ob->dims[ax]));
        in_range = spv_op2(c, SpvOpULessThan, c->t_bool, lin, numel);
    }

    uint32_t work = spv_id(b), end = spv_id(b);
    c->cur = &c->body;
    label(c, work);
    uint32_t flat = small ? lin32 : lin; /* unravel the flat index, innermost axis first */
    for (int ax = ob->rank - 1; ax >= 0; ax--) {
        ir_dim d = ob->dims[ax];
        if (ir_dim_is_const(d) && d.c == 1) {
            c->idx[ax] = spv_c_i64(c, 0);
            continue;
        }
        if (small) {
            uint32_t dv = spv_c_u32(c, (uint32_t)d.c);
            uint32_t i32 = ax == 0 ? flat : spv_op2(c, SpvOpUMod, c->t_u32, flat, dv);
            c->idx[ax] = spv_op1(c, SpvOpUConvert, c->t_i64, i32);
            if (ax > 0) flat = spv_op2(c, SpvOpUDiv, c->t_u32, flat, dv);
            continue;
        }
        uint32_t dv = spv_dim(c, d);
        c->idx[ax] = ax == 0 ? flat : spv_op2(c, SpvOpUMod, c->t_i64, flat, dv);
        if (ax > 0) flat = spv_op2(c, SpvOpUDiv, c->t_i64, flat, dv);
    }
    ir_dtype vt = IR_DTYPE_NONE;
    uint32_t v = emit_point(c, dep, &vt);
    if (!v || c->failed) return 0;
    v = to_output(c, v, vt, ob->dtype);
    if (!v || c->failed) return 0;
    spv_store_elem(c, c->k->out, lin, v);
    branch(c, end);
    label(c, end);
    spv_inst(b, c->cur, SpvOpReturn, NULL, 0);
    spv_inst(b, c->cur, SpvOpFunctionEnd, NULL, 0);

    uint32_t iface[2] = {gid, nwg};
    spv_finish_main(c, in_range, work, end, iface, 2);
    return 0;
}

int spv_emit_kernel(const kir_program *p, uint32_t ki, const spv_features *f, spv_kernel *out) {
    const kir_kernel *k = &p->kernels[ki];
    memset(out, 0, sizeof *out);
    spv_ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->p = p;
    c->k = k;
    c->f = f;
    c->why = out->why;
    c->why_size = sizeof out->why;
    spv_builder_init(&c->b);
    c->memo = calloc(p->n_exprs ? p->n_exprs : 1, sizeof *c->memo);
    c->memo_depth = calloc(p->n_exprs ? p->n_exprs : 1, sizeof *c->memo_depth);
    c->memo_serial = calloc(p->n_exprs ? p->n_exprs : 1, sizeof *c->memo_serial);
    c->sym_val = calloc(p->g->n_syms ? p->g->n_syms : 1, sizeof *c->sym_val);
    c->buf_var = calloc(p->n_bufs ? p->n_bufs : 1, sizeof *c->buf_var);
    signed char *dep = malloc(p->n_exprs ? p->n_exprs : 1);
    int rc = -1;
    if (!c->memo || !c->memo_depth || !c->memo_serial || !c->sym_val || !c->buf_var || !dep) goto done;
    memset(dep, -1, p->n_exprs);
    init_types(c);
    c->cur = &c->body;
    if (k->rrank > SPV_MAX_DEPTH - 2) spv_fail(c, "too many reduction axes");
    if (k->kind == KK_LIB) spv_emit_ggml(c, &out->tile); /* the library kernels spv_ggml.c expresses */
    else if (!c->failed && bind_buffers(c, ki)) goto done;
    else if (!c->failed && f->tiled && spv_match_contraction(c, &out->tile)) spv_emit_tiled(c, &out->tile, dep);
    else if (!c->failed) emit_main(c, dep, &out->tile);
    if (c->failed) {
        rc = 1;
        goto done;
    }
    out->needs = spv_needs(c) | (out->tile.coop ? RT_VK_NEEDS_COOP : 0);
    out->n_bindings = c->n_bindings;
    rc = spv_finish(&c->b, &out->words, &out->n_words) ? -1 : 0;
done:
    spv_words_free(&c->vars);
    spv_words_free(&c->pre);
    spv_words_free(&c->body);
    spv_builder_free(&c->b);
    free(c->memo);
    free(c->memo_depth);
    free(c->memo_serial);
    free(c->sym_val);
    free(c->buf_var);
    free(dep);
    free(c);
    return rc;
}
