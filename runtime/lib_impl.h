/* lib_impl.h — what the library routines (lib_*.c) share: the routines'
 * declarations for the name table, attribute reads that fail with a message
 * naming the attribute, element access on rt_tensors (elem.h), and the
 * helpers of several families (a tensor seen around one axis, scalar
 * operands, stable sorting of positions). Not for callers: they use lib.h.
 */
#ifndef SMELT_RT_LIB_IMPL_H
#define SMELT_RT_LIB_IMPL_H

#include "elem.h"
#include "lib_attrs.h"

/* ---- the routines (table in lib.c) ---- */
int rt_lib_topk(rt_lib_call *c);              /* lib_select.c */
int rt_lib_nonzero(rt_lib_call *c);
int rt_lib_unique(rt_lib_call *c);
int rt_lib_cumsum(rt_lib_call *c);            /* lib_math.c */
int rt_lib_cumprod(rt_lib_call *c);
int rt_lib_det(rt_lib_call *c);
int rt_lib_max_unpool(rt_lib_call *c);        /* lib_data.c */
int rt_lib_bitcast(rt_lib_call *c);
int rt_lib_dropout(rt_lib_call *c);
int rt_lib_linear_attention(rt_lib_call *c);  /* lib_attn.c */
int rt_lib_nms(rt_lib_call *c);               /* lib_nms.c */
int rt_lib_dequantize_ggml(rt_lib_call *c);   /* lib_data.c */

/* ---- attributes (lib.c) ---- */
/* Scalar attributes: 0, or -1 with an error when the source has no value. */
int rt_lib_attr_int(rt_lib_call *c, const char *name, int64_t *v);
int rt_lib_attr_float(rt_lib_call *c, const char *name, double *v);
int rt_lib_attr_str(rt_lib_call *c, const char *name, const char **v);
/* A list attribute; false (n = 0) when absent. */
bool rt_lib_attr_ints(rt_lib_call *c, const char *name, const int64_t **v, uint32_t *n);
/* Whether the node itself gives the attribute (not a default). */
bool rt_lib_attr_is_set(rt_lib_call *c, const char *name);

/* ---- elements ---- */
static inline rt_slot rt_tensor_read(const rt_tensor *t, int64_t i) { return rt_elem_read((ir_dtype)t->dtype, t->data, i); }
static inline void rt_tensor_write(rt_tensor *t, int64_t i, rt_slot v) { rt_elem_write((ir_dtype)t->dtype, t->data, i, v); }
static inline double rt_tensor_read_f(const rt_tensor *t, int64_t i) { return rt_tensor_read(t, i).f; }
static inline void rt_tensor_write_f(rt_tensor *t, int64_t i, double v) { rt_tensor_write(t, i, (rt_slot){.f = v}); }
static inline void rt_tensor_write_i64(rt_tensor *t, int64_t i, int64_t v) { rt_tensor_write(t, i, (rt_slot){.i = v}); }
/* to[j] = from[i], converted to to's dtype */
static inline void rt_tensor_copy_elem(const rt_tensor *from, int64_t i, rt_tensor *to, int64_t j) {
    rt_tensor_write(to, j, rt_tensor_read(from, i));
}
/* Input i, or NULL when the call has no such input or it is omitted. */
static inline const rt_tensor *rt_lib_opt_in(const rt_lib_call *c, uint32_t i) {
    return i < c->n_in && c->in[i].present ? &c->in[i] : NULL;
}

/* ---- helpers of several families (lib_util.c) ---- */

/* A tensor seen as (outer, len, inner) around one axis: element (o, j, i)
 * is at (o * len + j) * inner + i. */
typedef struct rt_axis_view {
    int64_t outer, len, inner;
} rt_axis_view;
rt_axis_view rt_lib_around_axis(const rt_tensor *t, int axis);

/* A scalar or one-element integer input i as int64; -1 with an error otherwise. */
int rt_lib_scalar_int(rt_lib_call *c, uint32_t i, const char *what, int64_t *out);
/* axis in [-rank, rank) (a scalar counts as rank 1) made non-negative; -1 with an error otherwise. */
int rt_lib_normalize_axis(rt_lib_call *c, int64_t axis, int rank, int *out);

/* Order of positions a and b (< 0: a first). */
typedef int (*rt_pos_cmp)(const void *ctx, int64_t a, int64_t b);
/* Positions 0..n-1 (malloc'd); NULL when out of memory. */
int64_t *rt_lib_identity_positions(int64_t n);
/* Positions 0..n-1 sorted stably by cmp (malloc'd); NULL when out of memory. */
int64_t *rt_lib_sorted_positions(int64_t n, rt_pos_cmp cmp, const void *ctx);

#endif
