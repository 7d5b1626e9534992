/* rewrite.h — what the graph passes share to rewrite a graph in place:
 * counting the uses of values, redirecting uses from one value to another,
 * removing a node whose output equals one of its inputs, and making new
 * arena-owned f32 constants. Graph outputs keep their names: a value that
 * is a graph output is never replaced by another value; instead the node
 * that computes the replacement is made to produce the output value. Values
 * that a subgraph names (captured from this graph by name) are never
 * replaced or renamed.
 */
#ifndef SMELT_PASSES_REWRITE_H
#define SMELT_PASSES_REWRITE_H

#include "ir/ir.h"

/* Uses of each value by live nodes, +1 per graph output slot, +1 when a
 * subgraph names it. Returns a malloc'd array of g->n_values counts, or
 * NULL with an error in d. */
uint32_t *rw_use_counts(ir_graph *g, diag *d);
/* How many times subgraphs of live nodes name each value; malloc'd, or
 * NULL with an error in d. */
uint32_t *rw_capture_counts(const ir_graph *g, diag *d);
/* True when v is one of the graph outputs. */
bool rw_is_output(const ir_graph *g, ir_id v);
/* True when a subgraph of a live node names v (a capture by name). */
bool rw_is_captured(const ir_graph *g, ir_id v);

/* Make every reader of `from` read `to` instead (from is then unused).
 * `to` must have from's dtype and shape. When from is a graph output, `to`
 * is renamed in its place: to's producer now writes `from`, and readers of
 * `to` read `from`; this needs `to` to be a node output that is neither a
 * graph output nor captured. The caller then marks from's old producer
 * dead (it no longer owns `from`). Returns 1 when done, 0 when not possible
 * (the graph is unchanged). */
int rw_replace(ir_graph *g, ir_id from, ir_id to);

/* Same dtype, rank and dimensions. */
bool rw_same_type(const ir_graph *g, ir_id a, ir_id b);

/* The value of f32/f64 constant c at flat position i, or 0 for empty data
 * (callers check rw_float_const first). */
double rw_const_at(const ir_graph *g, ir_id c, int64_t i);
/* c is a constant of dtype f32 or f64 with data. */
bool rw_float_const(const ir_graph *g, ir_id c);
/* A new arena-owned constant of dtype t (f32 or f64) and the given shape
 * from n doubles, named after base. IR_NONE with an error in d. */
ir_id rw_new_const(ir_graph *g, const char *base, ir_dtype t, int rank, const ir_dim *dims, const double *vals,
                   int64_t n, diag *d);

/* Turn node into an `op` node reading in[0..n_in) (its outputs stay): the
 * attributes start unset (the schema defaults); arena-owned. 0 or -1. */
int rw_morph(ir_graph *g, ir_id node, ir_op op, const ir_id *in, uint32_t n_in, diag *d);
/* Copy the set attributes of `from` that node `to`'s op has too (same name
 * and kind): Conv's window into QLinearConv. */
void rw_copy_attrs(ir_graph *g, ir_id to, const ir_node *from);
/* Reorder the nodes so that every node follows the producers of its
 * inputs, keeping the present order where it already does (a pass that
 * appended nodes calls it once at its end). 0, or -1 on a cycle. */
int rw_sort_nodes(ir_graph *g, diag *d);

#endif
