/* interp_lib.h — library kernels of the reference interpreter.
 *
 * Ops whose work is not a loop nest (sorting, selection, data-dependent
 * output sizes: TopK, NonZero, Unique, CumSum and CumProd along a run-time
 * axis, Det's pivoting, MaxUnpool's scatter) lower to
 * a library kernel (kb_library): a routine named after the graph op, with
 * buffer operands. Every runtime implements the same names; this is the
 * interpreter's set. A routine sees its inputs as run-time tensors (dtype,
 * shape, data) and the graph node (for attributes); it creates each output
 * with lib_output once it knows the output's shape, which also binds the
 * fresh symbols that inference gave the data-dependent sizes (NonZero's
 * count, Unique's number of distinct values) so that later kernels see them.
 * Elements are read and written as interp_slots, the interpreter's scalar
 * values (floats as doubles, integers as int64 wrapped to their width).
 */
#ifndef SMELT_INTERP_LIB_H
#define SMELT_INTERP_LIB_H

#include "kir.h"

typedef union interp_slot {
    double f;
    int64_t i;
    uint64_t u;
} interp_slot;

typedef struct lib_tensor {
    bool present;      /* false for an omitted optional input */
    ir_dtype dtype;
    int rank;
    int64_t shape[IR_MAX_RANK];
    int64_t numel;
    void *data;
} lib_tensor;

typedef struct lib_call {
    ir_graph *g;
    const ir_node *node;       /* the graph node: attributes, name for messages */
    const lib_tensor *in;      /* one per kernel input */
    uint32_t n_in, n_out;
    void *priv;                /* the interpreter's state */
} lib_call;

typedef int (*interp_lib_fn)(lib_call *c);

/* The routine named `name`; NULL when the interpreter has none (interp_lib.c). */
interp_lib_fn interp_lib_find(const char *name);

/* ---- services of the interpreter (interp.c) ------------------------------- */

/* Creates output o with the given sizes (one per axis of its buffer): binds
 * its still unbound size symbols, checks the others, allocates zeroed data.
 * NULL with an error naming the node when a size disagrees. */
lib_tensor *lib_output(lib_call *c, uint32_t o, const int64_t *shape);
/* An error about the call's node; returns -1. */
int lib_error(lib_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
interp_slot interp_read(ir_dtype t, const void *base, int64_t i);
void interp_write(ir_dtype t, void *base, int64_t i, interp_slot v);
/* Order of a and b of dtype t: -1, 0 or 1; NaN sorts above every number. */
int interp_compare(ir_dtype t, interp_slot a, interp_slot b);

#endif
