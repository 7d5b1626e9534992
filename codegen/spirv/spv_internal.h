/* spv_internal.h — what the files of codegen/spirv share while emitting
 * one kernel's module: the builder, common type ids, the main function's
 * streams, the current loop point and the expression memo.
 *
 * Register types: bool as OpTypeBool, every integer dtype as int64 (the
 * value wrapped to its width, as ir/interp.c holds it), f32/f16/bf16 as
 * float (f16/bf16 rounded after every operation), f64 as double.
 * The main function is written into three streams: `vars` (Function
 * variables, first in the entry block), `pre` (entry-block code: the
 * invocation index, symbol loads; dominates everything) and `body` (from
 * the in-range branch on). Memoized values are valid in the scope they were
 * made in and the scopes inside it (a loop body is a scope).
 */
#ifndef SMELT_SPV_INTERNAL_H
#define SMELT_SPV_INTERNAL_H

#include "codegen/spirv/spv.h"
#include "codegen/spirv/spv_builder.h"
#include "codegen/spirv/spv_ops.h"

#define SPV_MAX_DEPTH 64

typedef struct spv_ctx {
    spv_builder b;
    const kir_program *p;
    const kir_kernel *k;
    const spv_features *f;
    bool failed;
    char *why;
    size_t why_size;
    uint32_t glsl;
    uint32_t t_void, t_bool, t_u32, t_u16, t_u8, t_i64, t_f32, t_f64, t_v2f32, t_v3u32;
    spv_words vars, pre, body;
    spv_words *cur;               /* where spv_op1/op2/sel write */
    uint32_t sk_elem[6], sk_pstruct[6], sk_pelem[6]; /* per storage kind (spv_values.c) */
    uint32_t p_fn[4];             /* Function pointers: bool, i64, f32, f64 */
    uint32_t syms_var;
    uint32_t *sym_val;            /* per symbol: its loaded value id, 0 until used */
    uint32_t *buf_var;            /* per buffer: its variable, 0 when not bound */
    uint32_t idx[IR_MAX_RANK], ridx[IR_MAX_RANK], acc;
    uint32_t *memo, *memo_depth, *memo_serial;
    uint32_t depth, next_serial, serial[SPV_MAX_DEPTH];
    uint32_t fn_f16_bits, fn_ipow, fn_erf; /* helper functions, 0 until used */
    uint32_t main_fn;
    uint32_t n_bindings;
} spv_ctx;

/* Report that the kernel cannot be expressed (why, printf-style); returns 0. */
uint32_t spv_fail(spv_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* spv_values.c: types, constants, symbols, element access, conversions */
uint32_t spv_reg_type(spv_ctx *c, ir_dtype t);       /* 0: not expressible */
uint32_t spv_needs(const spv_ctx *c);                 /* RT_VK_NEEDS_* of the module so far */
bool spv_dtype_ok(spv_ctx *c, ir_dtype t, bool storage);
uint32_t spv_c_i64(spv_ctx *c, int64_t v);
uint32_t spv_c_u32(spv_ctx *c, uint32_t v);
uint32_t spv_c_f32(spv_ctx *c, float v);
uint32_t spv_c_f64(spv_ctx *c, double v);
uint32_t spv_c_bool(spv_ctx *c, bool v);
uint32_t spv_c_float(spv_ctx *c, ir_dtype t, double v); /* of t's register type */
uint32_t spv_dim(spv_ctx *c, ir_dim d);
uint32_t spv_bind_buffer(spv_ctx *c, uint32_t buf, uint32_t binding, bool writable);
uint32_t spv_load_elem(spv_ctx *c, uint32_t buf, uint32_t lin64);
void spv_store_elem(spv_ctx *c, uint32_t buf, uint32_t lin64, uint32_t v);
uint32_t spv_round_to(spv_ctx *c, uint32_t v, ir_dtype t);       /* float register v rounded to t */
uint32_t spv_wrap64(spv_ctx *c, uint32_t v, ir_dtype t);         /* int64 v wrapped to int/bool dtype t */
uint32_t spv_ext64(spv_ctx *c, uint32_t v, ir_dtype t);          /* bool/int register to int64 */
uint32_t spv_convert(spv_ctx *c, uint32_t v, ir_dtype from, ir_dtype to, int64_t flags); /* CAST */
uint32_t spv_to_float(spv_ctx *c, uint32_t v, ir_dtype from, ir_dtype to); /* float register change */
uint32_t spv_ext(spv_ctx *c, uint32_t type, uint32_t inst, uint32_t a, uint32_t b2); /* GLSL.std.450 */
/* one-instruction helpers in the body stream */
uint32_t spv_op1(spv_ctx *c, uint32_t op, uint32_t type, uint32_t a);
uint32_t spv_op2(spv_ctx *c, uint32_t op, uint32_t type, uint32_t a, uint32_t b);
uint32_t spv_sel(spv_ctx *c, uint32_t type, uint32_t cond, uint32_t a, uint32_t b);

/* spv_helpers.c: helper functions called from the body */
uint32_t spv_call_f16_bits(spv_ctx *c, uint32_t f32v);  /* f32 -> f16 bits (u32), to nearest even */
uint32_t spv_call_ipow(spv_ctx *c, uint32_t a, uint32_t b);
uint32_t spv_call_erf(spv_ctx *c, uint32_t x);          /* f32 */

/* spv_expr.c */
uint32_t spv_emit_expr(spv_ctx *c, uint32_t e);
/* float max/min of t's registers, NaN when either is NaN */
uint32_t spv_fmaxmin(spv_ctx *c, ir_dtype t, kx_op op, uint32_t a, uint32_t b);
void spv_scope_push(spv_ctx *c);
void spv_scope_pop(spv_ctx *c);

/* spv_kernel.c: control flow and the main function */
typedef struct spv_loop {
    uint32_t var, head, body, cont, merge, iv;
} spv_loop;
void spv_label(spv_ctx *c, uint32_t id);
void spv_branch(spv_ctx *c, uint32_t id);
void spv_store(spv_ctx *c, uint32_t ptr, uint32_t v);
uint32_t spv_fn_var(spv_ctx *c, uint32_t reg_type);   /* a Function variable (entry block) */
void spv_loop_begin(spv_ctx *c, spv_loop *l, uint32_t n); /* for iv in [0, n) (int64) */
void spv_loop_end(spv_ctx *c, spv_loop *l);
uint32_t spv_builtin_var(spv_ctx *c, uint32_t builtin, bool scalar); /* an Input uint / uvec3 */
uint32_t spv_extract(spv_ctx *c, uint32_t vec, uint32_t i);
/* The main function from the streams: entry block (vars, pre, a selection
 * on in_range to `work`, merging at `end`), then body; the entry point. */
void spv_finish_main(spv_ctx *c, uint32_t in_range, uint32_t work, uint32_t end, const uint32_t *iface, uint32_t n_iface);
/* The same for a fixed workgroup size (LocalSize local_size, 1, 1), after
 * the body's branch to `end`, the end block and the function's end. */
void spv_end_compute(spv_ctx *c, uint32_t in_range, uint32_t work, uint32_t end, const uint32_t *iface,
                     uint32_t n_iface, uint32_t local_size);

/* spv_contraction.c: matched contractions as a shared-memory tiled GEMM */
bool spv_match_contraction(spv_ctx *c, spv_tiling *t);
void spv_emit_tiled(spv_ctx *c, const spv_tiling *t, signed char *dep);

/* spv_ggml.c: MatMulGGML with block-format weights dequantized in the
 * kernel (a ROWS-row tiling of the last output axis) */
bool spv_ggml_kernel(const kir_kernel *k);
void spv_emit_ggml(spv_ctx *c, spv_tiling *tile);

/* spv_kernel.c: one loop kernel's module (0, 1 when it cannot be
 * expressed: c->why says why; -1: out of memory) */
int spv_emit_kernel(const kir_program *p, uint32_t ki, const spv_features *f, spv_kernel *out);

#endif
