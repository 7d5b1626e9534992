/* cg_harness.h — a test-only executor of objects from the LLVM backend,
 * standing in for the runtime: it links the object into a temporary shared
 * object (ld.lld-16 -shared), dlopens it, reads the manifest, binds the
 * symbols from the input shapes, calls eval_symbols, gives every buffer
 * memory and runs the loop steps over their extent in a few uneven chunks.
 */
#ifndef SMELT_CG_HARNESS_H
#define SMELT_CG_HARNESS_H

#include "codegen/llvm/cg_llvm.h"
#include "ir/interp.h"

typedef struct cg_harness cg_harness;

/* Link and load o (compiled with pic). NULL with d filled on failure. */
cg_harness *cg_harness_load(const cg_object *o, const char *symbol, diag *d);
/* Run on inputs (one per manifest input, as interp_run takes them); fills
 * outputs with malloc'd data. 0: done; 1: the model has a library step
 * (not executed here); -1: error in d. */
int cg_harness_run(cg_harness *h, const interp_tensor *in, uint32_t n_in, interp_tensor *out, uint32_t n_out,
                   diag *d);
void cg_harness_free(cg_harness *h);

#endif
