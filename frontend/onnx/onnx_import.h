/* onnx_import.h — ONNX model file -> graph IR. */
#ifndef SMELT_ONNX_IMPORT_H
#define SMELT_ONNX_IMPORT_H

#include "ir/ir.h"

/* Read an .onnx file (mapped, never copied: constants point into the file or
 * into its external-data files) and build the graph, with dtypes and shapes
 * inferred. Every unsupported op is reported at once, each with its node
 * name. Returns NULL with errors in d. */
ir_graph *onnx_import_file(const char *path, diag *d);

#endif
