/* onnx_scope.c — name scopes for inlined function bodies and If branches
 * (see onnx_scope.h). Whether a scope defines a name is read off the graph:
 * prefixes are unique, so the prefixed name exists exactly when the scope
 * has defined it. */
#include "onnx_scope.h"

#include <stdio.h>
#include <string.h>

static const char *prefixed(ir_graph *g, const onnx_scope *s, const char *name) {
    size_t n = strlen(s->prefix) + strlen(name) + 1;
    char *p = arena_alloc(&g->arena, n);
    if (p) snprintf(p, n, "%s%s", s->prefix, name);
    return p ? p : "";
}

/* The call's name for a function's formal input or output `name`; NULL if
 * it is not one (or the call leaves that output out). */
static const char *formal(const onnx_scope *s, const char *name, bool outputs_only) {
    const onnx_function *f = s->fn;
    for (size_t i = 0; !outputs_only && i < f->n_inputs; i++)
        if (!strcmp(f->inputs[i], name)) return i < s->call->n_inputs ? s->call->inputs[i] : "";
    for (size_t i = 0; i < f->n_outputs; i++)
        if (!strcmp(f->outputs[i], name) && i < s->call->n_outputs && *s->call->outputs[i]) return s->call->outputs[i];
    return NULL;
}

const char *onnx_scope_resolve(ir_graph *g, const onnx_scope *s, const char *name) {
    for (; s && *name; s = s->parent) {
        const char *actual = s->fn ? formal(s, name, false) : NULL;
        if (actual) return actual;
        const char *p = prefixed(g, s, name);
        if (ir_find_value(g, p) != IR_NONE || s->fn) return p; /* a function sees only its own names */
    }
    return name;
}

const char *onnx_scope_define(ir_graph *g, const onnx_scope *s, const char *name) {
    if (!s || !*name) return name;
    const char *actual = s->fn ? formal(s, name, true) : NULL;
    return actual ? actual : prefixed(g, s, name);
}

/* The attribute a reference names: the call's, else the function's default;
 * NULL when neither has it (the attribute is then left out). */
static const onnx_attribute *referenced(const onnx_scope *s, const char *ref) {
    while (s && !s->fn) s = s->parent;
    if (!s) return NULL;
    for (size_t k = 0; k < s->call->n_attrs; k++)
        if (!strcmp(s->call->attrs[k].name, ref)) return &s->call->attrs[k];
    for (size_t k = 0; k < s->fn->n_attr_defaults; k++)
        if (!strcmp(s->fn->attr_defaults[k].name, ref)) return &s->fn->attr_defaults[k];
    return NULL;
}

int onnx_scope_node(ir_graph *g, const onnx_scope *s, const onnx_node *n, onnx_node *out, diag *d) {
    *out = *n;
    out->inputs = arena_array(&g->arena, n->n_inputs, sizeof *out->inputs);
    out->outputs = arena_array(&g->arena, n->n_outputs, sizeof *out->outputs);
    out->attrs = arena_array(&g->arena, n->n_attrs, sizeof *out->attrs);
    if ((n->n_inputs && !out->inputs) || (n->n_outputs && !out->outputs) || (n->n_attrs && !out->attrs))
        return diag_error(d, "%s: out of memory", g->source);
    for (size_t i = 0; i < n->n_inputs; i++) out->inputs[i] = onnx_scope_resolve(g, s, n->inputs[i]);
    for (size_t i = 0; i < n->n_outputs; i++) out->outputs[i] = onnx_scope_define(g, s, n->outputs[i]);
    out->n_attrs = 0;
    for (size_t k = 0; k < n->n_attrs; k++) {
        const onnx_attribute *a = &n->attrs[k];
        if (*a->ref_attr_name) {
            const onnx_attribute *r = referenced(s, a->ref_attr_name);
            if (!r) continue;
            out->attrs[out->n_attrs] = *r;
            out->attrs[out->n_attrs].name = a->name;
            out->attrs[out->n_attrs++].ref_attr_name = "";
        } else {
            out->attrs[out->n_attrs++] = *a;
        }
    }
    if (s && *n->name) out->name = prefixed(g, s, n->name);
    return 0;
}
