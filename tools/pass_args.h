/* pass_args.h — the graph-pass options that `smelt run` and `smelt
 * convert` share: --opt / --no-opt, --print-after=PASS, --print-after-all (the IR
 * goes to stderr), the --quantize options, and SMELT_VERIFY=1 from the
 * environment. */
#ifndef SMELT_TOOLS_PASS_ARGS_H
#define SMELT_TOOLS_PASS_ARGS_H

#include "passes/passes.h"

#define PASS_ARGS_USAGE                                                                     \
    "Graph passes (passes/pipeline.c): --opt runs them, --no-opt does not;\n"              \
    "--print-after=PASS prints the IR after that pass (fold_constants, fuse_qdq,\n"       \
    "remove_identity, cse, fold_batchnorm, fold_bias_add, quantize, precision,\n"  \
    "dce), "          \
    "--print-after-all "                                                                  \
    "after each, on stderr. SMELT_VERIFY=1 verifies the IR after every pass.\n"  \
    "--quantize f16|bf16|int8|q8_0|q4_0|q4_k rewrites the constant weights of\n"  \
    "MatMul, Gemm and Conv: half-precision storage, or per-output-channel int8\n"  \
    "weights with the activations quantized at run time and integer\n"            \
    "contractions; q8_0, q4_0, q4_k store MatMul / Gemm weights in ggml's block\n" \
    "formats (weight only, K a multiple of the block: 32, 256 for q4_k; Conv\n"   \
    "stays float), multiplied as llama.cpp does (MatMulGGML). The first and\n"   \
    "last contraction stay float (--quantize-all quantizes them too), as do\n"      \
    "weights under N elements (--quantize-min N, default 4096) and nodes whose\n"  \
    "name matches a --quantize-skip GLOB (repeatable). --quantize int8\n"          \
    "--calibrate DIR quantizes activations statically: each one's u8 scale and\n"   \
    "zero point come from its min and max over the samples of DIR (one folder\n"  \
    "of NAME.npy per sample, or .npy files for one-input models), run in float\n"  \
    "first, computed as onnxruntime's quantize_static does.\n"                      \
    "--precision f16|bf16 stores the model's f32 tensors (weights and\n"            \
    "activations) in half precision, inputs and outputs staying f32;\n"            \
    "contractions and reductions accumulate in f32 (--precision f32: off).\n"

/* Defaults: passes on, nothing printed, verification from SMELT_VERIFY. */
void pass_args_init(pass_options *o);
/* Whether argv[*i] is a pass option: 1 (stored in o; *i moved past a
 * value that followed it), 0 when it is not one, -1 when its value is
 * missing or wrong (the caller reports argv[*i]). */
int pass_args_parse(pass_options *o, int argc, char **argv, int *i);

#endif
