/* onnx_import.h — ONNX model file -> graph IR. */
#ifndef SMELT_ONNX_IMPORT_H
#define SMELT_ONNX_IMPORT_H

#include "ir/ir.h"

/* Read an .onnx file (mapped, never copied: constants point into the file or
 * into its external-data files) and build the graph, with dtypes and shapes
 * inferred. Every unsupported op is reported at once, each with its node
 * name. Returns NULL with errors in d. */
ir_graph *onnx_import_file(const char *path, diag *d);

/* A value for a graph input, fixed at import: the input becomes a constant
 * (the graph is specialized to it; data must outlive the graph), or, with
 * data NULL, stays an input whose shape is fixed to `shape`. */
typedef struct onnx_input_binding {
    const char *name;
    ir_dtype dtype;
    int rank;
    const int64_t *shape;
    const void *data;
    uint64_t nbytes;
} onnx_input_binding;

/* Names of the graph inputs that are not initializers, in order, without
 * building the graph (malloc'd array of malloc'd strings; free both). */
int onnx_list_inputs(const char *path, char ***names, uint32_t *n, diag *d);

/* onnx_import_file, with the named graph inputs replaced by constants. */
ir_graph *onnx_import_file_bound(const char *path, const onnx_input_binding *bind, uint32_t n_bind, diag *d);

#endif
