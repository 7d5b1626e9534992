/* interp.h — the reference interpreter of the kernel IR.
 *
 * It evaluates a kir_program exactly as the kernel IR defines it: float
 * operations are computed in double and rounded to the value's dtype after
 * every operation (so f32, f16 and bf16 results are the correctly rounded
 * ones), integers wrap to their width, ROUND is half-to-even. It is the oracle
 * every backend is tested against and the compiler's constant folder; it is
 * not the product's execution path.
 */
#ifndef SMELT_INTERP_H
#define SMELT_INTERP_H

#include "kir.h"

typedef struct interp_tensor {
    ir_dtype dtype;
    int rank;
    int64_t shape[IR_MAX_RANK];
    void *data;      /* inputs: caller-owned; outputs: malloc'd, caller frees */
    size_t nbytes;
} interp_tensor;

/* Run p on inputs (one per graph input, in order). Fills outputs (one per
 * graph output) with malloc'd data. Input dtypes and shapes are checked
 * against the graph; symbolic dims are bound from them. */
int interp_run(const kir_program *p, const interp_tensor *inputs, interp_tensor *outputs, diag *d);


#endif
