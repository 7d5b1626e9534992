/* load.h — open any model file smelt reads (ONNX, smelt IR text; GGUF
 * later) and return its graph, choosing the frontend by the file's content. */
#ifndef SMELT_LOAD_H
#define SMELT_LOAD_H

#include "ir/ir.h"

typedef enum model_format { MODEL_UNKNOWN, MODEL_ONNX, MODEL_IR_TEXT, MODEL_GGUF } model_format;

model_format model_detect_format(const char *path);
/* Loads, infers shapes and (when SMELT_VERIFY=1 is set) verifies the graph. */
ir_graph *model_load(const char *path, diag *d);

#endif
