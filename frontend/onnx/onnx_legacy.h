/* onnx_legacy.h — the forms of old ONNX opsets that the importer turns into
 * the newest one (the IR's ops have the semantics of their newest opset):
 * attributes of old opsets (onnx_legacy.def: dropped, checked, or B of an
 * old broadcasting binary op aligned at `axis`) and ops whose meaning
 * changed (Softmax, LogSoftmax and Hardmax before opset 13 work on the input
 * coerced to 2-D at `axis`; PRelu before opset 7 has a per-channel slope;
 * DFT before opset 20 has its axis as an attribute, default 1).
 * Attributes that moved to inputs are in
 * onnx_moved_attrs.def instead.
 */
#ifndef SMELT_ONNX_LEGACY_H
#define SMELT_ONNX_LEGACY_H

#include "frontend/onnx/onnx_pb.h"
#include "ir/ir.h"

/* True when the node's attribute `attr` is an old-opset attribute that the
 * importer handles here rather than as an attribute of the IR op. */
bool onnx_legacy_attr(const char *op_type, const char *attr, int64_t opset);

/* Checks the node's old-opset attributes (MUST_BE_1 rules) and aligns B of
 * an old broadcasting binary op with `axis` (PRelu's slope with the channel
 * axis before opset 7), replacing in[1]. Errors name the node (label) and
 * the file (path). */
int onnx_legacy_prepare(ir_graph *g, const onnx_node *n, const char *label, int64_t opset, ir_id *in,
                        uint32_t n_in, const char *path, diag *d);

/* Builds an old-semantics op from newer ones (the node's outputs keep their
 * names). Returns 1 when the node needs no such rewrite, 0 when it was built,
 * -1 on error. */
int onnx_legacy_expand(ir_graph *g, const onnx_node *n, const char *label, int64_t opset, const ir_id *in,
                       uint32_t n_in, const char *path, diag *d);

#endif
