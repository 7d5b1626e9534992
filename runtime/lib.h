/* lib.h — the library routines: ops whose work is not a loop nest.
 *
 * Sorting, selection, data-dependent output sizes (TopK, NonZero, Unique),
 * scans along a run-time axis (CumSum, CumProd), Det's pivoting,
 * MaxUnpool's scatter, BitCast, Dropout, LinearAttention's recurrence and
 * NonMaxSuppression lower to a library kernel: a routine named after the
 * graph op, with buffer operands. Each routine exists once, here, and serves
 * both the reference interpreter (ir/interp.c) and the compiled model's
 * runtime (a library step of the artifact, docs/artifact.md).
 *
 * A routine sees its inputs as tensors (dtype, shape, data) and the node's
 * attributes through an attribute source (rt_attrs: over the graph node in
 * the interpreter, over the manifest step's "attrs" object in the runtime).
 * It creates each output with c->output once it knows the output's shape;
 * the caller allocates it (zeroed) and binds the symbols of data-dependent
 * sizes (NonZero's count, Unique's number of distinct values) so that later
 * kernels see them. A routine returns 0, or -1 with a message naming the
 * node in c->err; it checks what inference could not (run-time K and axis
 * values, sizes that were symbols) and never crashes on bad data.
 */
#ifndef SMELT_RT_LIB_H
#define SMELT_RT_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_tensor {
    bool present;      /* false for an omitted optional input */
    int dtype;         /* an ir_dtype value */
    int rank;
    int64_t shape[16];
    int64_t numel;
    void *data;
} rt_tensor;

typedef struct rt_attrs rt_attrs; /* opaque attribute source (lib_attrs.h) */

/* An attribute source over the manifest step's "attrs" object (a cJSON *):
 * ints and floats as numbers, lists as arrays, strings as strings; a key
 * that is absent or null is an attribute the node does not have. The values
 * are copied: the object may be freed afterwards. 0, or -1 (out of memory,
 * not an object, a value of another type). */
int rt_attrs_from_json(rt_attrs **out, const void *cjson_attrs_object);
void rt_attrs_free(rt_attrs *a);

typedef struct rt_lib_call {
    const char *node;            /* node name for messages */
    const rt_tensor *in;         /* one per kernel input */
    uint32_t n_in, n_out;
    const rt_attrs *attrs;
    /* Creates output o with the given sizes (one per axis): the caller
     * allocates it zeroed and binds its data-dependent symbols; NULL with
     * c->err filled (rt_lib_error) when a size disagrees. */
    rt_tensor *(*output)(struct rt_lib_call *c, uint32_t o, const int64_t *shape);
    char *err;                   /* the message of a failure, err_size bytes */
    size_t err_size;
    void *priv;                  /* the caller's state */
    struct rt_pool *pool;        /* threads a routine may split work over; NULL: the caller's only */
} rt_lib_call;

typedef int (*rt_lib_fn)(rt_lib_call *c);

/* The routine named `name` (the graph op's name); NULL when there is none. */
rt_lib_fn rt_lib_find(const char *name);

/* Writes "node 'NAME': message" into c->err; returns -1. For routines and
 * for the callers' output callbacks. */
int rt_lib_error(rt_lib_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* LinearAttention's update_rule: whether the state decays (gated) and
 * whether writes are delta-corrected; -1 for an unknown rule (lib_attn.c).
 * Inference (ir/infer_attn.c) reads the rule through here too. */
int rt_linear_attention_rule(const char *rule, bool *gating, bool *delta);

#endif
