/* module.c — cg_llvm_compile: builds the whole LLVM module (helpers, one
 * function pair per loop kernel, eval_symbols, weights, manifest, the
 * exported smelt_model_desc), optimizes it with the new pass manager
 * (default<O3>) and emits the object file into memory. Also the function
 * scaffolding every emitter uses (cg_fn_begin / cg_fn_end / cg_fail).
 * The same program and options give the same bytes: nothing depends on
 * addresses or time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/llvm/cg_internal.h"
#include "runtime/smelt_abi.h"

/* ---- functions ---- */

static LLVMMetadataRef scope_of(cg_ctx *c, uint32_t b) {
    char name[32];
    int n = snprintf(name, sizeof name, "buf%u", b);
    LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(c->ctx, name, (size_t)n), c->md_domain};
    return LLVMMDNodeInContext2(c->ctx, ops, 2);
}

static void mark_buffers(const kir_program *p, uint32_t e, unsigned char *used, unsigned char *seen) {
    if (seen[e]) return;
    seen[e] = 1;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD) used[x->buffer] = 1;
    for (uint32_t i = 0; i < x->n_args; i++) mark_buffers(p, x->args[i], used, seen);
}

/* alias scopes of the buffers kernel k touches: each its own scope, known
 * not to alias the others (distinct buffers never overlap) */
static int alias_scopes(cg_fn *f) {
    cg_ctx *c = f->c;
    const kir_program *p = c->p;
    unsigned char *used = calloc(p->n_bufs, 1), *seen = calloc(p->n_exprs ? p->n_exprs : 1, 1);
    LLVMMetadataRef *scopes = calloc(p->n_bufs, sizeof *scopes), *others = calloc(p->n_bufs, sizeof *others);
    f->md_scope = calloc(p->n_bufs, sizeof *f->md_scope);
    f->md_noalias = calloc(p->n_bufs, sizeof *f->md_noalias);
    int rc = -1;
    if (!used || !seen || !scopes || !others || !f->md_scope || !f->md_noalias) goto done;
    used[f->k->out] = 1;
    mark_buffers(p, f->k->body, used, seen);
    if (f->k->post != KIR_NONE) mark_buffers(p, f->k->post, used, seen);
    for (uint32_t b = 0; b < p->n_bufs; b++)
        if (used[b]) scopes[b] = scope_of(c, b);
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        if (!used[b]) continue;
        uint32_t n = 0;
        for (uint32_t o = 0; o < p->n_bufs; o++)
            if (used[o] && o != b) others[n++] = scopes[o];
        f->md_scope[b] = LLVMMetadataAsValue(c->ctx, LLVMMDNodeInContext2(c->ctx, &scopes[b], 1));
        f->md_noalias[b] = LLVMMetadataAsValue(c->ctx, LLVMMDNodeInContext2(c->ctx, others, n));
    }
    rc = 0;
done:
    free(used);
    free(seen);
    free(scopes);
    free(others);
    return rc;
}

int cg_fn_begin(cg_fn *f, cg_ctx *c, const kir_kernel *k, const char *name, LLVMTypeRef ty, int exported,
                int has_kargs) {
    memset(f, 0, sizeof *f);
    f->c = c;
    f->k = k;
    f->fn = LLVMAddFunction(c->mod, name, ty);
    if (!exported) LLVMSetLinkage(f->fn, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(f->fn, LLVMAttributeFunctionIndex,
                               LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    f->b = LLVMCreateBuilderInContext(c->ctx);
    f->eb = LLVMCreateBuilderInContext(c->ctx);
    f->entry = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "entry");
    f->body = LLVMAppendBasicBlockInContext(c->ctx, f->fn, "start");
    LLVMPositionBuilderAtEnd(f->eb, f->entry);
    LLVMPositionBuilderAtEnd(f->b, f->body);
    uint32_t ne = c->p->n_exprs ? c->p->n_exprs : 1;
    f->buf_base = calloc(c->p->n_bufs ? c->p->n_bufs : 1, sizeof *f->buf_base);
    f->sym_val = calloc(c->g->n_syms ? c->g->n_syms : 1, sizeof *f->sym_val);
    f->memo = calloc(ne, sizeof *f->memo);
    f->memo_depth = calloc(ne, sizeof *f->memo_depth);
    f->memo_serial = calloc(ne, sizeof *f->memo_serial);
    if (!f->buf_base || !f->sym_val || !f->memo || !f->memo_depth || !f->memo_serial ||
        (k && k->kind == KK_LOOP && alias_scopes(f))) {
        cg_fn_end(f);
        return diag_error(c->d, "out of memory");
    }
    f->serial[0] = f->next_serial = 1;
    if (has_kargs) {
        f->kargs = LLVMGetParam(f->fn, 0);
        LLVMValueRef fields[3];
        for (unsigned i = 0; i < 3; i++) {
            LLVMValueRef p = LLVMBuildStructGEP2(f->eb, c->t_kargs, f->kargs, i, "");
            fields[i] = LLVMBuildLoad2(f->eb, c->t_ptr, p, "");
        }
        f->bufs_arr = fields[0];
        f->syms_arr = fields[1];
        f->rt = fields[2];
    }
    return 0;
}

void cg_fn_end(cg_fn *f) {
    if (f->eb && f->entry) {
        LLVMPositionBuilderAtEnd(f->eb, f->entry);
        LLVMBuildBr(f->eb, f->body);
    }
    if (f->b) LLVMDisposeBuilder(f->b);
    if (f->eb) LLVMDisposeBuilder(f->eb);
    free(f->buf_base);
    free(f->sym_val);
    free(f->memo);
    free(f->memo_depth);
    free(f->memo_serial);
    free(f->md_scope);
    free(f->md_noalias);
    f->b = f->eb = NULL;
    f->entry = NULL;
    f->buf_base = f->sym_val = f->memo = f->md_scope = f->md_noalias = NULL;
    f->memo_depth = f->memo_serial = NULL;
}

LLVMValueRef cg_fail(cg_fn *f, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!f->failed) {
        if (f->k) diag_error(f->c->d, "%s: kernel '%s': %s", f->c->g->source ? f->c->g->source : "", f->k->name, msg);
        else diag_error(f->c->d, "LLVM backend: %s", msg);
    }
    f->failed = 1;
    return NULL;
}

/* ---- the module ---- */

static void init_types(cg_ctx *c) {
    c->t_void = LLVMVoidTypeInContext(c->ctx);
    c->t_i1 = LLVMInt1TypeInContext(c->ctx);
    c->t_i8 = LLVMInt8TypeInContext(c->ctx);
    c->t_i16 = LLVMInt16TypeInContext(c->ctx);
    c->t_i32 = LLVMInt32TypeInContext(c->ctx);
    c->t_i64 = LLVMInt64TypeInContext(c->ctx);
    c->t_f32 = LLVMFloatTypeInContext(c->ctx);
    c->t_f64 = LLVMDoubleTypeInContext(c->ctx);
    c->t_ptr = LLVMPointerTypeInContext(c->ctx, 0);
    LLVMTypeRef k3[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
    c->t_kargs = LLVMStructTypeInContext(c->ctx, k3, 3, 0);
    LLVMTypeRef rp[3] = {c->t_ptr, c->t_i64, c->t_i64};
    c->t_run = LLVMFunctionType(c->t_void, rp, 3, 0);
    c->t_extent = LLVMFunctionType(c->t_i64, rp, 1, 0);
    c->md_scope = LLVMGetMDKindIDInContext(c->ctx, "alias.scope", 11);
    c->md_noalias = LLVMGetMDKindIDInContext(c->ctx, "noalias", 7);
    LLVMMetadataRef dn = LLVMMDStringInContext2(c->ctx, "smelt.buffers", 13);
    c->md_domain = LLVMMDNodeInContext2(c->ctx, &dn, 1);
}

static LLVMValueRef const_string(cg_ctx *c, const char *name, const char *s, size_t n) {
    LLVMValueRef init = LLVMConstStringInContext(c->ctx, s, (unsigned)n, 0);
    LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    return gv;
}

/* the kernels table, eval_symbols, manifest, weights and the exported desc */
static int emit_desc(cg_ctx *c, LLVMValueRef *fns, uint32_t n_fns, const char *manifest, LLVMValueRef weights,
                     uint64_t weights_len) {
    LLVMTypeRef kt_fields[2] = {c->t_ptr, c->t_ptr};
    LLVMTypeRef kt = LLVMStructTypeInContext(c->ctx, kt_fields, 2, 0);
    LLVMValueRef *elems = malloc((n_fns ? n_fns : 1) * sizeof *elems);
    if (!elems) return diag_error(c->d, "out of memory");
    for (uint32_t i = 0; i < n_fns; i++) elems[i] = LLVMConstNamedStruct(kt, &fns[2 * i], 2);
    LLVMValueRef table = LLVMConstArray(kt, elems, n_fns);
    free(elems);
    LLVMValueRef tg = LLVMAddGlobal(c->mod, LLVMTypeOf(table), "smelt.kernels");
    LLVMSetInitializer(tg, table);
    LLVMSetGlobalConstant(tg, 1);
    LLVMSetLinkage(tg, LLVMPrivateLinkage);
    LLVMValueRef ev = cg_emit_eval_symbols(c);
    if (!ev) return diag_error(c->d, "out of memory");
    size_t mlen = strlen(manifest);
    LLVMValueRef mg = const_string(c, "smelt.manifest", manifest, mlen);
    LLVMTypeRef df[8] = {c->t_i32, c->t_i32, c->t_ptr, c->t_ptr, c->t_ptr, c->t_i64, c->t_ptr, c->t_i64};
    LLVMTypeRef dt = LLVMStructTypeInContext(c->ctx, df, 8, 0);
    LLVMValueRef dv[8] = {LLVMConstInt(c->t_i32, SMELT_FORMAT_VERSION, 0), LLVMConstInt(c->t_i32, n_fns, 0), tg, ev,
                          mg, LLVMConstInt(c->t_i64, mlen, 0), weights, LLVMConstInt(c->t_i64, weights_len, 0)};
    const char *sym = c->o && c->o->symbol ? c->o->symbol : SMELT_MODEL_SYMBOL;
    LLVMValueRef desc = LLVMAddGlobal(c->mod, dt, sym);
    LLVMSetInitializer(desc, LLVMConstNamedStruct(dt, dv, 8));
    LLVMSetGlobalConstant(desc, 1);
    return 0;
}

static int optimize(cg_ctx *c, int level) {
    char passes[32];
    snprintf(passes, sizeof passes, "default<O%d>", level);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(c->mod, passes, c->tm, po);
    LLVMDisposePassBuilderOptions(po);
    const char *dump = getenv("SMELT_LLVM_IR"); /* for compiler work: the optimized module as text */
    if (!err && dump) LLVMPrintModuleToFile(c->mod, dump, NULL);
    if (err) {
        char *msg = LLVMGetErrorMessage(err);
        diag_error(c->d, "LLVM optimization failed: %s", msg);
        LLVMDisposeErrorMessage(msg);
        return -1;
    }
    return 0;
}

int cg_llvm_compile(kir_program *p, const cg_options *o, cg_object *out, diag *d) {
    memset(out, 0, sizeof *out);
    cg_options defaults = {.opt_level = -1};
    if (!o) o = &defaults;
    int level = o->opt_level < 0 || o->opt_level > 3 ? 3 : o->opt_level;
    cg_ctx c = {.p = p, .g = p->g, .o = o, .d = d};
    int rc = -1;
    int64_t *offset = NULL;
    int32_t *kernel_of = NULL;
    LLVMValueRef *fns = NULL;
    char *manifest = NULL;
    if (cg_target_resolve(&o->target, &out->triple, &out->cpu, &out->features, &c.tm, level, o->pic, d)) goto done;
    c.ctx = LLVMContextCreate();
    c.mod = LLVMModuleCreateWithNameInContext(p->g->name ? p->g->name : "smelt", c.ctx);
    LLVMSetTarget(c.mod, out->triple);
    c.td = LLVMCreateTargetDataLayout(c.tm);
    char *layout = LLVMCopyStringRepOfTargetData(c.td);
    LLVMSetDataLayout(c.mod, layout);
    LLVMDisposeMessage(layout);
    init_types(&c);
    if (cg_define_helpers(&c)) goto done;
    offset = malloc((p->n_bufs ? p->n_bufs : 1) * sizeof *offset);
    kernel_of = malloc((p->n_kernels ? p->n_kernels : 1) * sizeof *kernel_of);
    fns = malloc(2 * (p->n_kernels ? p->n_kernels : 1) * sizeof *fns);
    if (!offset || !kernel_of || !fns) {
        diag_error(d, "out of memory");
        goto done;
    }
    uint32_t n_fns = 0;
    int errors = 0;
    for (uint32_t k = 0; k < p->n_kernels; k++) {
        kernel_of[k] = -1;
        if (p->kernels[k].kind != KK_LOOP) continue;
        if (cg_emit_kernel(&c, k, &fns[2 * n_fns], &fns[2 * n_fns + 1])) {
            errors++;
            continue;
        }
        kernel_of[k] = (int32_t)n_fns++;
    }
    if (errors) goto done;
    uint64_t total, checksum = 0;
    if (cg_weights_layout(&c, offset, &total, d)) goto done;
    uint64_t extra_at[CG_MAX_EXTRAS] = {0};
    if (o->n_extras < 0 || o->n_extras > CG_MAX_EXTRAS) {
        diag_error(d, "%d artifact sections: at most %d", o->n_extras, CG_MAX_EXTRAS);
        goto done;
    }
    for (int i = 0; i < o->n_extras; i++) { /* named sections follow the weights, each 64-byte aligned */
        extra_at[i] = (total + SMELT_WEIGHTS_ALIGN - 1) / SMELT_WEIGHTS_ALIGN * SMELT_WEIGHTS_ALIGN;
        total = extra_at[i] + o->extras[i].len;
    }
    LLVMValueRef weights = cg_emit_weights(&c, offset, total, extra_at, &checksum);
    if (!weights) {
        diag_error(d, "out of memory");
        goto done;
    }
    manifest = cg_manifest(p, o, out->triple, out->cpu, out->features, offset, checksum, kernel_of, c.packed_only,
                           extra_at, d);
    if (!manifest || emit_desc(&c, fns, n_fns, manifest, weights, total)) goto done;
    char *verr = NULL;
    if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &verr)) {
        diag_error(d, "LLVM backend produced an invalid module: %.2000s", verr ? verr : "?");
        LLVMDisposeMessage(verr);
        goto done;
    }
    LLVMDisposeMessage(verr);
    if (optimize(&c, level)) goto done;
    char *err = NULL;
    LLVMMemoryBufferRef mb;
    if (LLVMTargetMachineEmitToMemoryBuffer(c.tm, c.mod, LLVMObjectFile, &err, &mb)) {
        diag_error(d, "LLVM cannot emit the object: %s", err ? err : "?");
        LLVMDisposeMessage(err);
        goto done;
    }
    out->size = LLVMGetBufferSize(mb);
    out->data = malloc(out->size ? out->size : 1);
    if (out->data) memcpy(out->data, LLVMGetBufferStart(mb), out->size);
    LLVMDisposeMemoryBuffer(mb);
    if (!out->data) {
        diag_error(d, "out of memory");
        goto done;
    }
    out->manifest = manifest;
    manifest = NULL;
    rc = 0;
done:
    free(offset);
    free(kernel_of);
    free(fns);
    free(manifest);
    cg_weights_free_packed(&c);
    if (c.td) LLVMDisposeTargetData(c.td);
    if (c.mod) LLVMDisposeModule(c.mod);
    if (c.ctx) LLVMContextDispose(c.ctx);
    if (c.tm) LLVMDisposeTargetMachine(c.tm);
    if (rc) cg_object_free(out);
    return rc;
}

void cg_object_free(cg_object *o) {
    if (!o) return;
    free(o->data);
    free(o->manifest);
    free(o->triple);
    free(o->cpu);
    free(o->features);
    memset(o, 0, sizeof *o);
}
