/* gguf_build.h — what the architecture builders (arch_*.c) share: the
 * open file and the graph under construction, metadata reads under the
 * architecture's prefix, weights as constants (with the node that makes them
 * f32), and small node helpers. Internal to frontend/gguf/.
 */
#ifndef SMELT_GGUF_BUILD_H
#define SMELT_GGUF_BUILD_H

#include "gguf.h"
#include "ir/ir.h"

typedef struct gguf_builder {
    gguf_file *f;
    ir_graph *g;
    diag *d;
    char arch[64];      /* general.architecture */
    int32_t mapping;    /* the file's mapping in g */
    bool kv_cache;      /* build the generation step with KV-cache inputs/outputs */
} gguf_builder;

/* "ARCH.key" read as an integer / float; a missing optional key gives dflt. */
int gb_arch_u64(gguf_builder *b, const char *key, bool required, uint64_t dflt, uint64_t *out);
int gb_arch_f64(gguf_builder *b, const char *key, bool required, double dflt, double *out);

/* Tensor `name` as an f32 value of numpy shape (ne reversed), which must be
 * `want` (rank n, outermost first): a constant into the mapping, behind a
 * DequantizeGGML (block types) or Cast (f16, bf16) node. IR_NONE when it is
 * missing (an error only if required) or malformed (an error). */
ir_id gb_weight(gguf_builder *b, const char *name, int n, const int64_t *want, bool required);
/* As gb_weight (required), but a block type that has a quantized matmul
 * (runtime/qmatmul.h) stays the constant of its file type, for MatMulGGML
 * and GatherGGML, and *quant is set. */
ir_id gb_weight_q(gguf_builder *b, const char *name, int n, const int64_t *want, bool *quant);

/* A node with one output; its output value, or IR_NONE. */
ir_id gb_node(gguf_builder *b, ir_op op, const ir_id *in, uint32_t n_in, const char *origin);
/* Constants copied into the graph: i64 values (rank 1, or a scalar when
 * scalar is set) and an f32 tensor. */
ir_id gb_const_i64(gguf_builder *b, const int64_t *v, int64_t n, bool scalar);
ir_id gb_const_f32(gguf_builder *b, const float *v, int rank, const int64_t *dims);

/* The builders: 0, or -1 with an error in b->d. */
int gguf_build_llama(gguf_builder *b);   /* llama, qwen2, qwen3, gemma3 (arch_llama.c) */

#endif
