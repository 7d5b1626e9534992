/* passes.h — graph passes, one file each (passes/NAME.c exporting
 * pass_NAME), the pipeline that runs them in order (pipeline.c), plus the
 * per-node helpers that the importer also uses. */
#ifndef SMELT_PASSES_H
#define SMELT_PASSES_H

#include <stdio.h>

#include "ir/ir.h"

/* Largest result (elements) that constant folding computes at compile time. */
#define FOLD_MAX_ELEMENTS (1 << 20)

/* Evaluate one node whose inputs are all constants with the reference
 * interpreter and turn its outputs into constants (the node becomes dead).
 * Returns 1 if folded, 0 if the node is not foldable (an input is not
 * constant, no lowering, too large), -1 on error. */
int fold_node(ir_graph *g, ir_id node, diag *d);

/* Each pass returns 0, or -1 with an error in d; the graph stays valid
 * (verified types and shapes) after every pass. */
int pass_fold_constants(ir_graph *g, diag *d); /* fold every foldable node, in order */
int pass_remove_identity(ir_graph *g, diag *d); /* Identity, Dropout, no-op Reshape/Transpose/Cast */
int pass_cse(ir_graph *g, diag *d);            /* common subexpressions */
int pass_fold_batchnorm(ir_graph *g, diag *d); /* BatchNorm into Conv/ConvTranspose/Gemm/MatMul */
int pass_fold_bias_add(ir_graph *g, diag *d);  /* Add of a per-channel constant into their bias */
int pass_dce(ir_graph *g, diag *d);            /* nodes whose results nobody reads */

/* What the pipeline does besides running the passes. */
typedef struct pass_options {
    bool disable;           /* run no pass (the graph as imported) */
    const char *print_after;/* print the IR after the pass of this name ("dce"), or NULL */
    bool print_after_all;   /* print the IR after every pass */
    FILE *print_out;        /* where the IR is printed (NULL: nothing is printed) */
    bool verify;            /* run ir_verify after every pass (SMELT_VERIFY=1 in tests) */
} pass_options;

/* Run the graph passes in order (o may be NULL: defaults, no printing, no
 * verification). A print_after naming no pass is an error. */
int pass_pipeline(ir_graph *g, const pass_options *o, diag *d);
/* Whether name is the name of a pipeline pass (for option checking). */
bool pass_known(const char *name);

#endif
