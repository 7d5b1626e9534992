/* onnx_scope.h — name scopes for inlining ONNX subgraphs into one IR graph.
 *
 * The importer inlines the body of a model-local function (FunctionProto) at
 * each call, and the branches of an If, into the main graph. Their nodes
 * name values locally; a scope maps those names to the graph's:
 *   - a function's formal inputs and outputs become the call's actual names
 *     (a function body sees nothing else of its caller),
 *   - every other name a scope defines gets the scope's unique prefix,
 *   - a branch also sees the names of the scope around it.
 * Attribute references (AttributeProto.ref_attr_name) inside a function body
 * take the call's attribute of that name, or the function's default.
 */
#ifndef SMELT_ONNX_SCOPE_H
#define SMELT_ONNX_SCOPE_H

#include "frontend/onnx/onnx_pb.h"
#include "ir/ir.h"

typedef struct onnx_scope onnx_scope;
struct onnx_scope {
    const onnx_scope *parent;     /* the scope around it; NULL: the main graph */
    const char *prefix;           /* prepended to the names it defines */
    const onnx_function *fn;      /* a function body: its formal names ... */
    const onnx_node *call;        /* ... and the call (names already the graph's) */
};

/* The graph's name for `name` read in scope s (NULL: the main graph). */
const char *onnx_scope_resolve(ir_graph *g, const onnx_scope *s, const char *name);
/* The graph's name for a value that scope s defines. */
const char *onnx_scope_define(ir_graph *g, const onnx_scope *s, const char *name);
/* A copy of n (in the graph arena) with its input names resolved, its
 * output names defined, and attribute references substituted. -1 on error. */
int onnx_scope_node(ir_graph *g, const onnx_scope *s, const onnx_node *n, onnx_node *out, diag *d);

#endif
