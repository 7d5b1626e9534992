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
int pass_fuse_qdq(ir_graph *g, diag *d);       /* DQ -> Conv/MatMul -> Q groups into QLinearConv/QLinearMatMul */
int pass_remove_identity(ir_graph *g, diag *d); /* Identity, Dropout, no-op Reshape/Transpose/Cast */
int pass_cse(ir_graph *g, diag *d);            /* common subexpressions */
int pass_fold_batchnorm(ir_graph *g, diag *d); /* BatchNorm into Conv/ConvTranspose/Gemm/MatMul */
int pass_fold_bias_add(ir_graph *g, diag *d);  /* Add of a per-channel constant into their bias */
int pass_dce(ir_graph *g, diag *d);            /* nodes whose results nobody reads */

/* --quantize (passes/quantize.c): which weights of MatMul / Gemm / Conv
 * are rewritten, and into what. */
typedef enum pass_quant_mode {
    PASS_QUANT_NONE, PASS_QUANT_F16, PASS_QUANT_BF16, PASS_QUANT_INT8,
    PASS_QUANT_Q8_0, PASS_QUANT_Q4_0, PASS_QUANT_Q4_K /* ggml block formats, weight only (MatMulGGML) */
} pass_quant_mode;
#define PASS_QUANT_MAX_SKIP 32
#define PASS_QUANT_MAX_WHY 8
typedef struct pass_quant_options {
    pass_quant_mode mode;
    const char *skip[PASS_QUANT_MAX_SKIP]; /* node-name globs (fnmatch) that stay float */
    int n_skip;
    bool keep_ends;       /* the first and the last contraction stay float */
    int64_t min_elements; /* weights with fewer elements stay float */
    /* int8 static: the calibrated range of activations by value name
     * (tools/calibrate.c); a contraction whose input has one quantizes it
     * with a fixed scale and zero point instead of DynamicQuantizeLinear */
    const char *calibrate_dir;              /* --calibrate DIR, or NULL */
    const struct pass_act_range *ranges;
    int n_ranges;
} pass_quant_options;
typedef struct pass_act_range {
    const char *name;
    float min, max;
} pass_act_range;
typedef struct pass_quant_stats {
    int quantized, kept;          /* contractions with a constant float weight */
    int64_t weight_bytes_before;  /* of those weights */
    int64_t weight_bytes_after;
    int n_why;                    /* contractions kept float for a reason of their own */
    char why[PASS_QUANT_MAX_WHY][160]; /* "NODE: reason" for the first PASS_QUANT_MAX_WHY */
} pass_quant_stats;
/* Defaults: no quantization, keep_ends, min_elements 4096. */
void pass_quant_defaults(pass_quant_options *q);
/* "f16", "bf16", "int8", "q8_0", "q4_0", "q4_k" -> mode (0), else -1. */
int pass_quant_mode_parse(const char *s, pass_quant_mode *m);
const char *pass_quant_mode_name(pass_quant_mode m);
/* Rewrite the weights as q says; stats (may be NULL) gets the counts. */
int pass_quantize(ir_graph *g, const pass_quant_options *q, pass_quant_stats *stats, diag *d);
/* The activations (inputs of the contractions) that int8 would quantize in
 * g, as pass_quantize would choose them: up to cap ids into x; the count. */
int pass_quant_int8_inputs(const ir_graph *g, const pass_quant_options *q, ir_id *x, int cap);
/* onnxruntime's u8 scale and zero point of a calibrated range
 * (quant_utils.compute_scale_zp: the range widened to hold 0). */
void pass_quant_u8_params(float min, float max, float *scale, uint8_t *zero_point);

/* --precision (passes/precision.c): the graph's f32 tensors stored as half
 * (f16 or bf16; anything else: nothing done), the interface kept f32. */
int pass_precision(ir_graph *g, ir_dtype half, diag *d);

/* What the pipeline does besides running the passes. */
typedef struct pass_options {
    bool disable;           /* run no pass (the graph as imported) */
    const char *print_after;/* print the IR after the pass of this name ("dce"), or NULL */
    bool print_after_all;   /* print the IR after every pass */
    FILE *print_out;        /* where the IR is printed (NULL: nothing is printed) */
    bool verify;            /* run ir_verify after every pass (SMELT_VERIFY=1 in tests) */
    pass_quant_options quant; /* the quantize pass (after fold_bias_add), off by default */
    pass_quant_stats *quant_stats; /* where its counts go, or NULL */
    ir_dtype precision;     /* --precision: IR_F16 or IR_BF16 storage of the f32 tensors; 0: off */
} pass_options;

/* Run the graph passes in order (o may be NULL: defaults, no printing, no
 * verification). A print_after naming no pass is an error. */
int pass_pipeline(ir_graph *g, const pass_options *o, diag *d);
/* Whether name is the name of a pipeline pass (for option checking). */
bool pass_known(const char *name);

#endif
