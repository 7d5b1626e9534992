/* passes.h — graph passes, one file each (passes/NAME.c exporting
 * pass_NAME), plus the per-node helpers that the importer also uses. */
#ifndef SMELT_PASSES_H
#define SMELT_PASSES_H

#include "ir/ir.h"

/* Largest result (elements) that constant folding computes at compile time. */
#define FOLD_MAX_ELEMENTS (1 << 20)

/* Evaluate one node whose inputs are all constants with the reference
 * interpreter and turn its outputs into constants (the node becomes dead).
 * Returns 1 if folded, 0 if the node is not foldable (an input is not
 * constant, no lowering, too large), -1 on error. */
int fold_node(ir_graph *g, ir_id node, diag *d);

/* Fold every foldable node, in order. */
int pass_fold_constants(ir_graph *g, diag *d);

#endif
