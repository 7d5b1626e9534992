/* cg_internal.h — what the parts of the LLVM backend share: the module
 * context, the function being emitted, and the expression-emitter API.
 *
 * module.c owns a cg_ctx (LLVM context, module, target machine, common
 * types). Each generated function is a cg_fn: an entry block that collects
 * loop invariants (kernel arguments, buffer base pointers, symbol values,
 * accumulator slots) and the blocks the emitter appends after it. A kernel
 * emitter (kernel.c today; a contraction microkernel emitter later) sets the
 * loop point — the i64 value of every domain index (cg_set_idx), reduction
 * index (cg_set_ridx) and the accumulator (cg_set_acc) — and asks for
 * expressions at that point with cg_emit_expr. Emitted expressions are
 * memoized per scope: cg_scope_push before entering a deeper loop body,
 * cg_scope_pop when leaving it, so a value is reused only where it
 * dominates.
 *
 * Scalar values live in "register types" (cg_reg_type): f32, f16 and bf16 as
 * float (holding a value exact in their dtype), f64 and the float8/float4
 * types as double, bool as i1, integers at their storage width (4- and 2-bit
 * ints in i8, sign- or zero-extended). Every operation follows ir/interp.c
 * exactly (see expr.c); cg_convert is the CAST of the kernel IR.
 */
#ifndef SMELT_CG_INTERNAL_H
#define SMELT_CG_INTERNAL_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/llvm/cg_llvm.h"

typedef struct cg_ctx {
    kir_program *p;
    ir_graph *g;
    const cg_options *o;
    diag *d;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMTargetMachineRef tm;
    LLVMTargetDataRef td;
    LLVMTypeRef t_void, t_i1, t_i8, t_i16, t_i32, t_i64, t_f32, t_f64, t_ptr;
    LLVMTypeRef t_kargs;   /* smelt_kargs {ptr bufs, ptr syms, ptr rt} */
    LLVMTypeRef t_run;     /* void (ptr kargs, i64 begin, i64 end) */
    LLVMTypeRef t_extent;  /* i64 (ptr kargs) */
    unsigned md_scope, md_noalias; /* metadata kinds alias.scope / noalias */
    LLVMMetadataRef md_domain;     /* the alias domain of buffers */
    /* constants packed at compile time for the GEMM engine (weights.c):
     * stored in the weights blob right after their buffer's bytes */
    struct cg_packed *packs;
    uint32_t n_packs, cap_packs;
    uint32_t *readers;             /* per buffer: kernels that read it (made on first use) */
    unsigned char *packed_only;    /* per buffer: its bytes in the blob are its packed copy */
#define CG_GEMM_MICROS 8
    LLVMValueRef gemm_micro[CG_GEMM_MICROS]; /* the engine's microkernels (gemm_kernel.c), one per tile */
    int gemm_tile[CG_GEMM_MICROS][3];        /* their MR, NR, dot instruction */
} cg_ctx;

/* A packed copy of constant buffer `buf` (malloc'd data, owned by the
 * cg_ctx): `rel` bytes after the start of the buffer's own bytes. */
typedef struct cg_packed {
    uint32_t buf;
    void *data;
    uint64_t bytes, rel;
} cg_packed;

/* The function being emitted. */
typedef struct cg_fn {
    cg_ctx *c;
    const kir_kernel *k;       /* the kernel (names errors); may be NULL */
    LLVMValueRef fn;
    LLVMBuilderRef b;          /* where code goes */
    LLVMBuilderRef eb;         /* end of the entry block (invariants) */
    LLVMBasicBlockRef entry, body; /* body: first block after the entry */
    LLVMValueRef kargs;
    LLVMValueRef bufs_arr, syms_arr, rt; /* loaded from kargs in the entry */
    LLVMValueRef *buf_base;    /* per buffer, loaded on first use */
    LLVMValueRef *md_scope, *md_noalias; /* per buffer the function touches:
                                  its scope list / the other buffers' scopes */
    LLVMValueRef *sym_val;     /* per symbol, computed on first use */
    LLVMValueRef idx[IR_MAX_RANK], ridx[IR_MAX_RANK], acc;
    /* memo: value of an expression, valid while the scope that made it is open */
    LLVMValueRef *memo;
    uint32_t *memo_depth, *memo_serial;
    uint32_t depth, serial[64], next_serial;
    int failed;                /* an error was reported in c->d */
} cg_fn;

/* ---- functions (module.c) ---- */
/* Start a function of type ty named name (internal linkage unless exported).
 * Parameter 0 must be the smelt_kargs pointer when has_kargs. */
int cg_fn_begin(cg_fn *f, cg_ctx *c, const kir_kernel *k, const char *name, LLVMTypeRef ty, int exported,
                int has_kargs);
/* Close the entry block (branch to the body) and free the emitter state. */
void cg_fn_end(cg_fn *f);
/* Report an error naming the kernel; returns NULL so emitters can
 * `return cg_fail(...)`. */
LLVMValueRef cg_fail(cg_fn *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the loop point and memo scopes (expr.c) ---- */
void cg_set_idx(cg_fn *f, int axis, LLVMValueRef i64v);
void cg_set_ridx(cg_fn *f, int axis, LLVMValueRef i64v);
void cg_set_acc(cg_fn *f, LLVMValueRef v);   /* register type of the kernel's acc_dtype */
void cg_scope_push(cg_fn *f);
void cg_scope_pop(cg_fn *f);
/* Take v as expression e's value in the current scope (an operand loaded
 * without clamping, under the guard that makes it in range). */
void cg_memo_set(cg_fn *f, uint32_t e, LLVMValueRef v);

/* ---- values (expr.c) ---- */
LLVMTypeRef cg_reg_type(cg_ctx *c, ir_dtype t);
/* Expression e of the program at the current loop point (register type of
 * its dtype); NULL after an error (reported). */
LLVMValueRef cg_emit_expr(cg_fn *f, uint32_t e);
/* The run-time value of a dimension (i64), hoisted to the entry block. */
LLVMValueRef cg_emit_dim(cg_fn *f, ir_dim d);
/* Base address of buffer b (hoisted to the entry block). */
LLVMValueRef cg_buffer_ptr(cg_fn *f, uint32_t b);
/* Element `lin` (row-major linear index, i64) of buffer b, as a register
 * value of its dtype / store one (v in the register type of b's dtype).
 * Loads and stores carry the buffer's alias scope. */
LLVMValueRef cg_load_elem(cg_fn *f, uint32_t b, LLVMValueRef lin);
void cg_store_elem(cg_fn *f, uint32_t b, LLVMValueRef lin, LLVMValueRef v);
/* The kernel IR's CAST from dtype `from` to `to` (flags: KIR_CAST_*). */
LLVMValueRef cg_convert(cg_fn *f, LLVMValueRef v, ir_dtype from, ir_dtype to, int64_t flags);
/* An integer/bool register value of dtype t as the interpreter's i64 (signed
 * types sign-extended, others zero-extended) / an i64 wrapped to dtype t. */
LLVMValueRef cg_ext64(cg_fn *f, LLVMValueRef v, ir_dtype t);
LLVMValueRef cg_wrap64(cg_fn *f, LLVMValueRef v, ir_dtype t);
/* v (register value, exact after any double/float op) rounded to dtype t. */
LLVMValueRef cg_round_to(cg_fn *f, LLVMValueRef v, ir_dtype t);
/* Float accumulate with reassoc+contract (reductions only): a+b or a*b. */
LLVMValueRef cg_fadd_reassoc(cg_fn *f, LLVMValueRef a, LLVMValueRef b, int mul);
/* A call of an internal helper defined in the module (by name). */
LLVMValueRef cg_call_helper(cg_fn *f, const char *name, LLVMValueRef *args, unsigned n);
/* Define the helpers cg_call_helper uses (module.c calls it once). */
int cg_define_helpers(cg_ctx *c);

/* ---- loops (kernel.c) ---- */
typedef struct cg_loop {
    LLVMValueRef iv;           /* i64 induction variable */
    LLVMBasicBlockRef head, latch, exit;
    LLVMValueRef phi;
} cg_loop;
/* for (iv = lo; iv < hi; iv++): after cg_loop_begin the builder is in the
 * body; cg_loop_end closes it and continues after the loop. */
void cg_loop_begin(cg_fn *f, cg_loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name);
void cg_loop_end(cg_fn *f, cg_loop *l);

/* ---- parts of the module ---- */
/* The "+feature" list a named CPU implies on the triple's architecture
 * (cpu_features.c), or NULL for a CPU not in its table. */
const char *cg_cpu_implied_features(const char *triple, const char *cpu);
int cg_target_resolve(const cg_target *t, char **triple, char **cpu, char **features, LLVMTargetMachineRef *tm,
                      int opt_level, int pic, diag *d);        /* target.c */
int cg_emit_kernel(cg_ctx *c, uint32_t k, LLVMValueRef *extent, LLVMValueRef *run); /* kernel.c */
LLVMValueRef cg_emit_eval_symbols(cg_ctx *c);                  /* symbols.c */
/* The weights blob: offsets per KB_CONST buffer (-1 for others), total
 * bytes, FNV-1a 64 checksum (weights.c). Each buffer's bytes are followed
 * by its packed copies (cg_weights_add_packed), 64-byte aligned. */
int cg_weights_layout(const cg_ctx *c, int64_t *offset, uint64_t *total, diag *d);
/* Register a packed copy of constant buffer b (data malloc'd; the context
 * owns it from now, even on failure); returns its offset in bytes from the
 * buffer's own start in the blob, or -1 (out of memory). `exclusive`: the
 * registering kernel reads b only through this copy; when no other kernel
 * reads b, it is no output and no other backend's code (o->shared_weights) reads the
 * weights, the copy replaces b's bytes (offset 0, b marked packed_only: the
 * manifest says "packed"). */
int64_t cg_weights_add_packed(cg_ctx *c, uint32_t b, void *data, uint64_t bytes, bool exclusive);
void cg_weights_free_packed(cg_ctx *c);
/* o->extras[i]'s bytes go at extra_at[i] */
LLVMValueRef cg_emit_weights(cg_ctx *c, const int64_t *offset, uint64_t total, const uint64_t *extra_at,
                             uint64_t *checksum);
uint64_t cg_fnv1a64(const unsigned char *data, uint64_t n);
/* The manifest JSON (manifest.c); malloc'd, NULL after an error. Each of
 * o->extras goes under its key with "base": extra_at[i] and "bytes". */
char *cg_manifest(const kir_program *p, const cg_options *o, const char *triple, const char *cpu,
                  const char *features, const int64_t *offset, uint64_t checksum, const int32_t *kernel_of,
                  const unsigned char *packed_only, const uint64_t *extra_at, diag *d);

#endif
