/* run_text.h — what the kernel-level unit tests share: parse a graph from
 * IR text, lower it and run it on the reference interpreter; build input
 * tensors; compare float outputs. */
#ifndef SMELT_RUN_TEXT_H
#define SMELT_RUN_TEXT_H

#include <stdbool.h>

#include "ir/interp.h"

/* The diagnostics of the last run_text / parse_text call. */
extern diag run_text_diag;

/* Parses text ("t.ir"), lowers it, runs it on the inputs; outputs are
 * malloc'd (free_outputs). Returns 0 or -1 with run_text_diag filled. */
int run_text(const char *text, interp_tensor *in, interp_tensor *out);
/* Parses text: 0 when the graph is accepted (inferred and verified). */
int parse_text(const char *text);
/* A tensor over caller-owned data; nbytes from the dtype and shape. */
interp_tensor test_tensor(ir_dtype t, int rank, const int64_t *shape, void *data);
/* The n f32 values of t within 1e-5 (relative to 1 + |want|) of want. */
bool near_f32(const interp_tensor *t, const float *want, int64_t n);
void free_outputs(interp_tensor *out, int n);

#endif
