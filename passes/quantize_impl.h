/* quantize_impl.h — what the --quantize pass's files share (quantize.c,
 * quantize_ggml.c): node and constant construction over a graph being
 * rewritten. Not part of the pass interface (passes.h). */
#ifndef SMELT_QUANTIZE_IMPL_H
#define SMELT_QUANTIZE_IMPL_H

#include "passes/passes.h"

/* A new node of op reading in[] with n_out outputs (IR_NONE on error). */
ir_id qz_add(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in, uint32_t n_out, const char *origin, diag *d);
/* The first output of node nid after inference, or IR_NONE. */
ir_id qz_infer_out(ir_graph *g, ir_id nid, diag *d);
/* A constant of dtype t, rank and dims, holding a copy of nbytes of data. */
ir_id qz_new_const(ir_graph *g, const char *base, ir_dtype t, int rank, const ir_dim *dims, const void *data,
                   size_t nbytes, diag *d);
/* Element i of an f32 constant. */
float qz_weight_at(const ir_value *w, int64_t i);
/* Whether Gemm node n is out of reach of a quantized rewrite (transA,
 * alpha != 1, or a bias with beta != 1). */
bool qz_gemm_unsupported(const ir_graph *g, const ir_node *n);

/* Block modes (quantize_ggml.c): MatMul / Gemm node -> MatMulGGML with its
 * weight in block type t (q8_0, q4_0, q4_k). 1 done, 0 kept float (*why
 * says why), -1 error. *bytes gets the size of the quantized weight. */
int qz_to_ggml(ir_graph *g, ir_id node, ir_dtype t, const char **why, int64_t *bytes, diag *d);
/* Whether n is a Gather (axis 0) from a constant 2-D f32 table: an
 * embedding lookup that the block modes quantize too. */
bool qz_embedding_table(const ir_graph *g, const ir_node *n);
/* Such a Gather -> GatherGGML(table in block type t, indices); returns as
 * qz_to_ggml. */
int qz_gather_to_ggml(ir_graph *g, ir_id node, ir_dtype t, const char **why, int64_t *bytes, diag *d);

#endif
