/* load.h — open any model file smelt reads (ONNX, smelt IR text, GGUF)
 * and return its graph, choosing the frontend by the file's content. */
#ifndef SMELT_LOAD_H
#define SMELT_LOAD_H

#include "frontend/onnx/onnx_import.h"
#include "ir/ir.h"

typedef enum model_format { MODEL_UNKNOWN, MODEL_ONNX, MODEL_IR_TEXT, MODEL_GGUF } model_format;

model_format model_detect_format(const char *path);
/* Loads, infers shapes and (when SMELT_VERIFY=1 is set) verifies the graph. */
ir_graph *model_load(const char *path, diag *d);
/* model_load with graph inputs fixed to values (ONNX models only; ignored
 * for formats whose inputs cannot be bound at load). */
ir_graph *model_load_bound(const char *path, const onnx_input_binding *bind, uint32_t n_bind, diag *d);

#endif
