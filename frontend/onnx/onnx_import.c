/* onnx_import.c — builds the graph IR from a decoded ONNX model.
 *
 * Initializers and Constant nodes become IR constants that point into the
 * mapped model (raw_data) or into mapped external-data files; only tensors
 * stored in typed protobuf fields are converted into the graph arena. Nodes
 * of the default domain map by name onto the IR op of the same name, with
 * attributes checked against the op's schema (ops.def); attributes that newer
 * opsets turned into inputs (onnx_moved_attrs.def) become constant inputs,
 * and old-opset forms are rewritten (onnx_legacy.h). Calls of model-local
 * functions are inlined, and so are the branches of If and, once per
 * iteration, the bodies of Scan and Loop (onnx_scope.h).
 * All unsupported ops are listed in one report before anything is built.
 */
#include "onnx_import.h"
#include "runtime/half.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_legacy.h"
#include "frontend/onnx/onnx_pb.h"
#include "frontend/onnx/onnx_scope.h"
#include "ir/interp.h"
#include "ir/mapfile.h"
#include "passes/passes.h"

typedef struct importer {
    const char *path;
    char dir[4096];     /* the model's folder, for external data */
    onnx_model *model;
    ir_graph *g;
    int64_t opset;      /* ai.onnx opset of the model (of a function body while inlining it) */
    const onnx_scope *scope; /* names of the function body or If branch being inlined; NULL: the graph */
    int depth;          /* nesting of inlined bodies */
    const onnx_input_binding *bind; /* graph inputs fixed to constants */
    uint32_t n_bind;
    diag *d;
} importer;

typedef enum { MOVED_INTS, MOVED_FLOAT, MOVED_FLOATS } moved_kind;
typedef struct moved_attr {
    const char *op_type, *attr;
    uint32_t input;
    int64_t since;
    moved_kind kind;
} moved_attr;

static const moved_attr moved_attrs[] = {
#define MOVED(op, attr, input, since, kind) {#op, #attr, input, since, MOVED_##kind},
#include "onnx_moved_attrs.def"
#undef MOVED
};
#define N_MOVED (sizeof moved_attrs / sizeof moved_attrs[0])

static const moved_attr *find_moved(const char *op_type, const char *attr, int64_t opset) {
    for (size_t i = 0; i < N_MOVED; i++)
        if (!strcmp(moved_attrs[i].op_type, op_type) && !strcmp(moved_attrs[i].attr, attr) &&
            opset < moved_attrs[i].since)
            return &moved_attrs[i];
    return NULL;
}

static bool is_default_domain(const char *domain) { return !*domain || !strcmp(domain, "ai.onnx"); }

static const char *node_label(const onnx_node *n) {
    if (*n->name) return n->name;
    return n->n_outputs ? n->outputs[0] : "";
}

/* ---- tensors -> constants ---------------------------------------------------- */

/* External data: map the file named by ext_location and point into it. */
static int external_bytes(importer *im, const onnx_tensor *t, uint64_t nbytes, const void **data, int32_t *mapping) {
    const char *loc = t->ext_location;
    if (!*loc) return diag_error(im->d, "%s: tensor '%s': external data without a location", im->path, t->name);
    if (loc[0] == '/' || strstr(loc, ".."))
        return diag_error(im->d, "%s: tensor '%s': external data location '%s' must be a relative path inside the model's folder",
                          im->path, t->name, loc);
    char full[8192];
    snprintf(full, sizeof full, "%s%s", im->dir, loc);
    int32_t m = -1;
    for (uint32_t i = 0; i < im->g->n_maps; i++)
        if (!strcmp(im->g->maps[i].path, full)) m = (int32_t)i;
    if (m < 0) {
        const uint8_t *base;
        size_t size;
        size_t mark = im->d->len;
        if (map_file(full, &base, &size, im->d)) {
            char prefix[512];
            snprintf(prefix, sizeof prefix, "%s: tensor '%s': external data", im->path, t->name);
            diag_prefix_since(im->d, mark, prefix);
            return -1;
        }
        m = ir_add_mapping(im->g, full, base, size, true);
        if (m < 0) {
            unmap_file(base, size);
            return diag_error(im->d, "%s: out of memory", im->path);
        }
    }
    const ir_mapping *map = &im->g->maps[m];
    uint64_t len = t->ext_has_length ? t->ext_length : nbytes;
    if (len != nbytes || t->ext_offset > map->size || map->size - t->ext_offset < nbytes)
        return diag_error(im->d, "%s: tensor '%s': external data needs %llu bytes at offset %llu of '%s', which has %zu bytes",
                          im->path, t->name, (unsigned long long)nbytes, (unsigned long long)t->ext_offset, loc,
                          map->size);
    *data = map->base + t->ext_offset;
    *mapping = m;
    return 0;
}

static ir_id import_tensor(importer *im, const onnx_tensor *t, const char *name) {
    ir_dtype dt = ir_dtype_from_onnx(t->data_type);
    if (dt == IR_DTYPE_NONE) {
        diag_error(im->d, "%s: tensor '%s' has data type %s, which smelt does not support", im->path, name,
                   onnx_dtype_name(t->data_type));
        return IR_NONE;
    }
    if (t->ndims > IR_MAX_RANK) {
        diag_error(im->d, "%s: tensor '%s' has rank %zu, more than %d", im->path, name, t->ndims, IR_MAX_RANK);
        return IR_NONE;
    }
    ir_dim dims[IR_MAX_RANK];
    for (size_t i = 0; i < t->ndims; i++) dims[i] = ir_dim_const(t->dims[i]);
    uint64_t nbytes;
    if (onnx_tensor_nbytes(t, &nbytes)) {
        diag_error(im->d, "%s: tensor '%s': unsupported data type", im->path, name);
        return IR_NONE;
    }
    const void *data = NULL;
    int32_t mapping = -1;
    if (t->is_external) {
        if (external_bytes(im, t, nbytes, &data, &mapping)) return IR_NONE;
    } else {
        const uint8_t *p;
        size_t n;
        if (onnx_tensor_bytes(t, &im->g->arena, &p, &n, im->d)) return IR_NONE;
        data = p;
        if (t->has_raw_data) {
            mapping = 0; /* the model file itself */
        } else if (n) {
            /* typed fields may be returned as decoded, in the scratch arena */
            data = arena_memdup(&im->g->arena, p, n, 1);
            if (!data) {
                diag_error(im->d, "%s: out of memory", im->path);
                return IR_NONE;
            }
        }
    }
    return ir_add_const(im->g, name, dt, (int)t->ndims, dims, data, nbytes, mapping, im->d);
}

/* A constant of `n` int64 values or one float, made for a moved attribute. */
static ir_id make_const(importer *im, const char *base, ir_dtype dt, int rank, int64_t n, const void *vals, size_t elem) {
    ir_dim dim = ir_dim_const(n);
    void *copy = arena_memdup(&im->g->arena, vals, (size_t)n, elem);
    if (n && !copy) {
        diag_error(im->d, "%s: out of memory", im->path);
        return IR_NONE;
    }
    return ir_add_const(im->g, ir_fresh_name(im->g, base), dt, rank, &dim, copy, (uint64_t)n * elem, -1, im->d);
}

/* ---- graph inputs -------------------------------------------------------------- */

/* A graph input bound to a value at import becomes a constant of that value. */
static int import_bound_input(importer *im, const onnx_value_info *vi, const onnx_input_binding *b) {
    if (b->rank > IR_MAX_RANK)
        return diag_error(im->d, "%s: value for input '%s' has rank %d, more than %d", im->path, vi->name, b->rank,
                          IR_MAX_RANK);
    ir_dim dims[IR_MAX_RANK];
    for (int i = 0; i < b->rank; i++) dims[i] = ir_dim_const(b->shape[i]);
    if (vi->type.kind == ONNX_TYPE_TENSOR && vi->type.has_shape) {
        if (vi->type.ndims != (size_t)b->rank)
            return diag_error(im->d, "%s: input '%s' has rank %zu, the value given has rank %d", im->path, vi->name,
                              vi->type.ndims, b->rank);
        for (int i = 0; i < b->rank; i++)
            if (vi->type.dims[i].kind == ONNX_DIM_VALUE && vi->type.dims[i].value != b->shape[i])
                return diag_error(im->d, "%s: input '%s' has size %lld at axis %d, the value given has %lld",
                                  im->path, vi->name, (long long)vi->type.dims[i].value, i, (long long)b->shape[i]);
    }
    ir_id v = b->data ? ir_add_const(im->g, vi->name, b->dtype, b->rank, dims, b->data, b->nbytes, -1, im->d)
                      : ir_add_input(im->g, vi->name, b->dtype, b->rank, dims, im->d);
    if (v == IR_NONE) return -1;
    /* the declared type must still hold */
    if (vi->type.kind == ONNX_TYPE_TENSOR && ir_dtype_from_onnx(vi->type.elem_type) != b->dtype)
        return diag_error(im->d, "%s: input '%s' is declared %s, the value given is %s", im->path, vi->name,
                          onnx_dtype_name(vi->type.elem_type), ir_dtype_name(b->dtype));
    return 0;
}

static int import_input(importer *im, const onnx_value_info *vi) {
    for (uint32_t i = 0; i < im->n_bind; i++)
        if (!strcmp(im->bind[i].name, vi->name)) return import_bound_input(im, vi, &im->bind[i]);
    if (vi->type.kind != ONNX_TYPE_TENSOR)
        return diag_error(im->d, "%s: graph input '%s' is not a tensor (sequence, map and optional inputs are not supported)",
                          im->path, vi->name);
    ir_dtype dt = ir_dtype_from_onnx(vi->type.elem_type);
    if (dt == IR_DTYPE_NONE)
        return diag_error(im->d, "%s: graph input '%s' has data type %s, which smelt does not support", im->path,
                          vi->name, onnx_dtype_name(vi->type.elem_type));
    if (!vi->type.has_shape)
        return diag_error(im->d, "%s: graph input '%s' has no shape; its rank must be known", im->path, vi->name);
    if (vi->type.ndims > IR_MAX_RANK)
        return diag_error(im->d, "%s: graph input '%s' has rank %zu, more than %d", im->path, vi->name,
                          vi->type.ndims, IR_MAX_RANK);
    ir_dim dims[IR_MAX_RANK];
    for (size_t i = 0; i < vi->type.ndims; i++) {
        const onnx_dim *od = &vi->type.dims[i];
        if (od->kind == ONNX_DIM_VALUE) dims[i] = ir_dim_const(od->value);
        else if (od->kind == ONNX_DIM_PARAM) dims[i] = ir_dim_named(im->g, od->param);
        else dims[i] = ir_dim_fresh(im->g);
    }
    return ir_add_input(im->g, vi->name, dt, (int)vi->type.ndims, dims, im->d) == IR_NONE ? -1 : 0;
}

/* ---- nodes ------------------------------------------------------------------------ */

static const onnx_function *find_function(const importer *im, const onnx_node *n);

/* The IR op of a node: its own name, or for ops that older opsets spelled
 * differently, the op with the newer semantics. */
static ir_op op_of(const onnx_node *n) {
    if (!strcmp(n->op_type, "Scatter")) return IR_OP_ScatterElements;
    if (!strcmp(n->op_type, "Upsample")) return IR_OP_Resize;
    return ir_op_from_name(n->op_type, -1);
}

/* Upsample and Resize-10 take (X, scales) and map output to input
 * coordinates as x / scale, rounding down for nearest: Resize(X, roi, scales)
 * with asymmetric coordinates and nearest_mode floor. */
static bool is_legacy_resize(const importer *im, const onnx_node *n) {
    return !strcmp(n->op_type, "Upsample") || (!strcmp(n->op_type, "Resize") && im->opset < 11);
}

static const char *unsupported_reason(const importer *im, const onnx_node *n) {
    if (find_function(im, n)) return NULL;
    if (!is_default_domain(n->domain)) return "custom domain";
    if (!strcmp(n->op_type, "If") || !strcmp(n->op_type, "Scan") || !strcmp(n->op_type, "Loop")) return NULL;
    if (!strcmp(n->op_type, "Constant")) return NULL;
    if (op_of(n) == IR_OP_NONE) return "unsupported op";
    return NULL;
}

static int import_constant_node(importer *im, const onnx_node *n) {
    if (n->n_outputs != 1 || n->n_attrs != 1)
        return diag_error(im->d, "%s: node '%s' (Constant): expected one output and one attribute", im->path,
                          node_label(n));
    const onnx_attribute *a = &n->attrs[0];
    const char *out = n->outputs[0];
    ir_id v = IR_NONE;
    if (!strcmp(a->name, "value") && a->t) v = import_tensor(im, a->t, out);
    else if (!strcmp(a->name, "value_float")) v = make_const(im, out, IR_F32, 0, 1, &a->f, 4);
    else if (!strcmp(a->name, "value_int")) v = make_const(im, out, IR_I64, 0, 1, &a->i, 8);
    else if (!strcmp(a->name, "value_floats")) v = make_const(im, out, IR_F32, 1, (int64_t)a->n_floats, a->floats, 4);
    else if (!strcmp(a->name, "value_ints")) v = make_const(im, out, IR_I64, 1, (int64_t)a->n_ints, a->ints, 8);
    else
        return diag_error(im->d, "%s: node '%s' (Constant): attribute '%s' is not supported", im->path,
                          node_label(n), a->name);
    if (v == IR_NONE) return -1;
    /* make_const picks a fresh name; the value must carry the ONNX output name */
    if (strcmp(im->g->values[v].name, out))
        return diag_error(im->d, "%s: node '%s' (Constant): output name '%s' is already defined", im->path,
                          node_label(n), out);
    return 0;
}

/* ConstantOfShape's `value`, a one-element tensor, becomes the IR
 * attributes dtype and value_float (float dtypes) or value_int. */
static int set_value_tensor(importer *im, ir_id nid, const onnx_tensor *t) {
    ir_graph *g = im->g;
    ir_dtype dt = ir_dtype_from_onnx(t->data_type);
    uint64_t numel = 1;
    for (size_t i = 0; i < t->ndims; i++) numel *= t->dims[i] > 0 ? (uint64_t)t->dims[i] : 0;
    if (dt == IR_DTYPE_NONE || ir_dtype_is_quant(dt) || dt == IR_I4 || dt == IR_U4 || numel != 1)
        return ir_node_error(g, &g->nodes[nid], im->d, "attribute 'value' must be one number, got %s with %llu elements",
                             onnx_dtype_name(t->data_type), (unsigned long long)numel);
    if (ir_set_attr_int(g, nid, "dtype", dt, im->d)) return -1;
    if (!ir_dtype_is_float(dt)) {
        const int64_t *v;
        size_t n;
        if (onnx_tensor_int64_values(t, &g->arena, &v, &n, im->d)) return -1;
        return ir_set_attr_int(g, nid, "value_int", n ? v[0] : 0, im->d);
    }
    const uint8_t *p;
    size_t n;
    if (onnx_tensor_bytes(t, &g->arena, &p, &n, im->d)) return -1;
    union { float f; double d; uint16_t h; } u = {0};
    memcpy(&u, p, n < sizeof u ? n : sizeof u);
    float f = dt == IR_F32 ? u.f : dt == IR_F64 ? (float)u.d : dt == IR_F16 ? rt_f16_to_f32(u.h) : rt_bf16_to_f32(u.h);
    return ir_set_attr_float(g, nid, "value_float", f, im->d);
}

static int set_attr(importer *im, ir_id nid, const onnx_node *n, const onnx_attribute *a) {
    ir_graph *g = im->g;
    ir_op op = g->nodes[nid].op;
    if (op == IR_OP_ConstantOfShape && a->t && !strcmp(a->name, "value")) return set_value_tensor(im, nid, a->t);
    int idx = ir_attr_index(op, a->name);
    if (idx < 0)
        return ir_node_error(g, &g->nodes[nid], im->d, "attribute '%s' is not supported", a->name);
    ir_attr_kind kind = ir_op_get(op)->attrs[idx].kind;
    switch (kind) {
    case IR_AK_INT:
        if (a->type != ONNX_ATTR_INT) break;
        return ir_set_attr_int(g, nid, a->name, a->i, im->d);
    case IR_AK_DTYPE: {
        int64_t code = a->i;
        if (a->type == ONNX_ATTR_STRING) /* Cast before opset 6 names the type: "FLOAT" */
            for (code = 1; code < 64 && strcmp(onnx_dtype_name((int32_t)code), a->s.str); code++) {}
        else if (a->type != ONNX_ATTR_INT) break;
        if (code == 0 && ir_op_get(op)->attrs[idx].def_i == IR_DTYPE_NONE) return 0; /* UNDEFINED: unset */
        ir_dtype dt = ir_dtype_from_onnx((int)code);
        if (dt == IR_DTYPE_NONE)
            return ir_node_error(g, &g->nodes[nid], im->d, "attribute '%s': data type %s is not supported", a->name,
                                 a->type == ONNX_ATTR_STRING ? a->s.str : onnx_dtype_name((int32_t)code));
        return ir_set_attr_int(g, nid, a->name, dt, im->d);
    }
    case IR_AK_FLOAT:
        if (a->type != ONNX_ATTR_FLOAT) break;
        return ir_set_attr_float(g, nid, a->name, a->f, im->d);
    case IR_AK_STR:
        if (a->type != ONNX_ATTR_STRING) break;
        return ir_set_attr_str(g, nid, a->name, a->s.str, im->d);
    case IR_AK_INTS:
        if (a->type != ONNX_ATTR_INTS) break;
        return ir_set_attr_ints(g, nid, a->name, a->ints, (uint32_t)a->n_ints, im->d);
    case IR_AK_FLOATS:
        if (a->type != ONNX_ATTR_FLOATS) break;
        return ir_set_attr_floats(g, nid, a->name, a->floats, (uint32_t)a->n_floats, im->d);
    case IR_AK_STRS: {
        if (a->type != ONNX_ATTR_STRINGS) break;
        const char **s = arena_array(&g->arena, a->n_strings, sizeof *s);
        for (size_t i = 0; s && i < a->n_strings; i++) s[i] = a->strings[i].str;
        return ir_set_attr_strs(g, nid, a->name, s, (uint32_t)a->n_strings, im->d);
    }
    case IR_AK_GRAPH:
        return ir_node_error(g, &g->nodes[nid], im->d, "attribute '%s': subgraphs are not supported yet", a->name);
    }
    (void)n;
    return ir_node_error(g, &g->nodes[nid], im->d, "attribute '%s' must be %s", a->name, ir_attr_kind_name(kind));
}

static int expand_function(importer *im, const onnx_node *n, const onnx_function *f);
static int import_if(importer *im, const onnx_node *n);
static int import_scan(importer *im, const onnx_node *n);
static int import_loop(importer *im, const onnx_node *n);

static int import_node(importer *im, const onnx_node *raw) {
    onnx_node scoped;
    const onnx_node *n = raw;
    if (im->scope) { /* inside an inlined body: the graph's names */
        if (onnx_scope_node(im->g, im->scope, raw, &scoped, im->d)) return -1;
        n = &scoped;
    }
    const onnx_function *f = find_function(im, n);
    if (f) return expand_function(im, n, f);
    if (is_default_domain(n->domain) && !strcmp(n->op_type, "If")) return import_if(im, n);
    if (is_default_domain(n->domain) && !strcmp(n->op_type, "Scan")) return import_scan(im, n);
    if (is_default_domain(n->domain) && !strcmp(n->op_type, "Loop")) return import_loop(im, n);
    if (!strcmp(n->op_type, "Constant")) return import_constant_node(im, n);
    const char *why = unsupported_reason(im, n); /* checked up front for the graph, not for inlined bodies */
    if (why)
        return diag_error(im->d, "%s: node '%s': %s%s%s is not supported (%s)", im->path, node_label(n), n->domain,
                          *n->domain ? "." : "", n->op_type, why);
    ir_graph *g = im->g;
    ir_op op = op_of(n);
    ir_id in[256];
    uint32_t n_in = 0;
    if (n->n_inputs > 200)
        return diag_error(im->d, "%s: node '%s' (%s): %zu inputs, at most 200 supported", im->path, node_label(n),
                          n->op_type, n->n_inputs);
    for (size_t i = 0; i < n->n_inputs; i++) {
        if (!*n->inputs[i]) {
            in[n_in++] = IR_NONE;
            continue;
        }
        ir_id v = ir_find_value(g, n->inputs[i]);
        if (v == IR_NONE)
            return diag_error(im->d, "%s: node '%s' (%s): input '%s' is not defined before it is used", im->path,
                              node_label(n), n->op_type, n->inputs[i]);
        in[n_in++] = v;
    }
    while (n_in > 0 && in[n_in - 1] == IR_NONE) n_in--; /* trailing omitted inputs */
    bool legacy_resize = is_legacy_resize(im, n);
    if (legacy_resize && n_in == 2) { /* (X, scales) -> (X, roi omitted, scales) */
        in[2] = in[1];
        in[1] = IR_NONE;
        n_in = 3;
    }
    for (size_t k = 0; k < n->n_attrs; k++) {
        const onnx_attribute *a = &n->attrs[k];
        const moved_attr *mv = find_moved(n->op_type, a->name, im->opset);
        if (!mv) continue;
        while (n_in <= mv->input) in[n_in++] = IR_NONE;
        ir_id c;
        if (mv->kind == MOVED_INTS) {
            c = make_const(im, a->name, IR_I64, 1, (int64_t)a->n_ints, a->ints, 8);
        } else if (mv->kind == MOVED_FLOATS) {
            c = make_const(im, a->name, IR_F32, 1, (int64_t)a->n_floats, a->floats, 4);
        } else {
            ir_dtype xt = n_in && in[0] != IR_NONE ? g->values[in[0]].dtype : IR_F32;
            if (xt != IR_F32)
                return diag_error(im->d, "%s: node '%s' (%s): attribute '%s' on %s input is not supported", im->path,
                                  node_label(n), n->op_type, a->name, ir_dtype_name(xt));
            ir_dim none;
            c = ir_add_const(g, ir_fresh_name(g, a->name), IR_F32, 0, &none, arena_memdup(&g->arena, &a->f, 1, 4),
                             4, -1, im->d);
        }
        if (c == IR_NONE) return -1;
        in[mv->input] = c;
    }
    if (onnx_legacy_prepare(g, n, node_label(n), im->opset, in, n_in, im->path, im->d)) return -1;
    int expanded = onnx_legacy_expand(g, n, node_label(n), im->opset, in, n_in, im->path, im->d);
    if (expanded <= 0) return expanded;
    ir_id nid = ir_add_node(g, op, in, n_in, (const char *const *)n->outputs, (uint32_t)n->n_outputs,
                            node_label(n), im->d);
    if (nid == IR_NONE) return -1;
    for (size_t k = 0; k < n->n_attrs; k++) {
        if (find_moved(n->op_type, n->attrs[k].name, im->opset)) continue;
        if (onnx_legacy_attr(n->op_type, n->attrs[k].name, im->opset)) continue;
        if (set_attr(im, nid, n, &n->attrs[k])) return -1;
    }
    if (legacy_resize && (ir_set_attr_str(g, nid, "coordinate_transformation_mode", "asymmetric", im->d) ||
                          ir_set_attr_str(g, nid, "nearest_mode", "floor", im->d)))
        return -1;
    if (onnx_legacy_defaults(g, nid, im->opset, im->d) || ir_infer_node(g, nid, im->d)) return -1;
    /* fold now, so that the nodes after it see constants (shape computations) */
    return fold_node(g, nid, im->d) < 0 ? -1 : 0;
}

/* ---- inlined bodies: model-local functions and If branches ------------------------ */

#define MAX_INLINE_DEPTH 32

static const onnx_function *find_function(const importer *im, const onnx_node *n) {
    for (size_t i = 0; i < im->model->n_functions; i++) {
        const onnx_function *f = &im->model->functions[i];
        if (!strcmp(f->name, n->op_type) && !strcmp(f->domain, n->domain) && !strcmp(f->overload, n->overload))
            return f;
    }
    return NULL;
}

static const char *scope_prefix(importer *im, const onnx_node *n, const char *what) {
    size_t len = strlen(node_label(n)) + strlen(what) + 3; /* label~what~ */
    char *p = arena_alloc(&im->g->arena, len);
    if (p) snprintf(p, len, "%s~%s~", node_label(n), what);
    return p;
}

/* Imports nodes (and initializers) in scope s. */
static int import_in_scope(importer *im, const onnx_scope *s, const onnx_node *nodes, size_t n_nodes,
                           const onnx_tensor *inits, size_t n_inits) {
    if (im->depth >= MAX_INLINE_DEPTH)
        return diag_error(im->d, "%s: functions and If branches nest more than %d deep (a recursive function?)",
                          im->path, MAX_INLINE_DEPTH);
    const onnx_scope *saved = im->scope;
    im->scope = s;
    im->depth++;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n_inits; i++)
        if (import_tensor(im, &inits[i], onnx_scope_define(im->g, s, inits[i].name)) == IR_NONE) rc = -1;
    for (size_t i = 0; rc == 0 && i < n_nodes; i++) rc = import_node(im, &nodes[i]);
    im->depth--;
    im->scope = saved;
    return rc;
}

/* A call of a model-local function: its body, inlined with the call's names. */
static int expand_function(importer *im, const onnx_node *n, const onnx_function *f) {
    const char *prefix = scope_prefix(im, n, f->name);
    if (!prefix) return diag_error(im->d, "%s: out of memory", im->path);
    onnx_scope fs = {.parent = im->scope, .prefix = prefix, .fn = f, .call = n};
    int64_t saved_opset = im->opset;
    for (size_t i = 0; i < f->n_opset_import; i++)
        if (is_default_domain(f->opset_import[i].domain)) im->opset = f->opset_import[i].version;
    int rc = import_in_scope(im, &fs, f->nodes, f->n_nodes, NULL, 0);
    im->opset = saved_opset;
    for (size_t i = 0; rc == 0 && i < n->n_outputs; i++)
        if (*n->outputs[i] && ir_find_value(im->g, n->outputs[i]) == IR_NONE)
            rc = diag_error(im->d, "%s: node '%s': function %s does not define its output %zu", im->path,
                            node_label(n), f->name, i);
    return rc;
}

static const onnx_graph *graph_attr(const onnx_node *n, const char *name) {
    for (size_t k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, name) && n->attrs[k].g) return n->attrs[k].g;
    return NULL;
}

/* One branch of an If, inlined; its outputs' values in outs. */
static int import_branch(importer *im, const onnx_node *n, const char *which, const onnx_graph *b, ir_id *outs) {
    const char *prefix = scope_prefix(im, n, which);
    if (!prefix) return diag_error(im->d, "%s: out of memory", im->path);
    if (b->n_inputs)
        return diag_error(im->d, "%s: node '%s' (If): the %s has inputs", im->path, node_label(n), which);
    onnx_scope bs = {.parent = im->scope, .prefix = prefix};
    if (import_in_scope(im, &bs, b->nodes, b->n_nodes, b->initializers, b->n_initializers)) return -1;
    for (size_t i = 0; i < b->n_outputs; i++) {
        outs[i] = ir_find_value(im->g, onnx_scope_resolve(im->g, &bs, b->outputs[i].name));
        if (outs[i] == IR_NONE)
            return diag_error(im->d, "%s: node '%s' (If): the %s does not define its output '%s'", im->path,
                              node_label(n), which, b->outputs[i].name);
    }
    return 0;
}

/* A one-output node made for node n, its output named name (NULL or "": a
 * fresh name), with an optional int attribute, inferred, and folded when
 * `fold`; its value, or IR_NONE. */
static ir_id add_value_node(importer *im, const onnx_node *n, ir_op op, const ir_id *in, uint32_t n_in,
                            const char *name, const char *int_attr, int64_t attr_value, bool fold) {
    ir_id nid = ir_add_node(im->g, op, in, n_in, &name, 1, node_label(n), im->d);
    if (nid == IR_NONE || (int_attr && ir_set_attr_int(im->g, nid, int_attr, attr_value, im->d)) ||
        ir_infer_node(im->g, nid, im->d) || (fold && fold_node(im->g, nid, im->d) < 0))
        return IR_NONE;
    return im->g->nodes[nid].out[0];
}

/* A one-output node named name (the graph's name of an If output). */
static int add_named(importer *im, ir_op op, const ir_id *in, uint32_t n_in, const char *name, const onnx_node *n) {
    return add_value_node(im, n, op, in, n_in, name, NULL, 0, false) == IR_NONE ? -1 : 0;
}

/* If(cond): a constant condition inlines its branch; otherwise both branches
 * are inlined and each output selects between them (Where), so the branches
 * must give outputs of the same dtype and rank. */
static int import_if(importer *im, const onnx_node *n) {
    ir_graph *g = im->g;
    const onnx_graph *tb = graph_attr(n, "then_branch"), *eb = graph_attr(n, "else_branch");
    ir_id cond = n->n_inputs == 1 ? ir_find_value(g, n->inputs[0]) : IR_NONE;
    if (!tb || !eb || cond == IR_NONE || tb->n_outputs != n->n_outputs || eb->n_outputs != n->n_outputs ||
        n->n_outputs > 64)
        return diag_error(im->d, "%s: node '%s' (If): needs a defined condition and two branches with one output "
                          "per If output (at most 64)", im->path, node_label(n));
    const ir_value *c = &g->values[cond]; /* not valid once branches add values */
    if (c->dtype != IR_BOOL || ir_value_numel(g, cond) != 1)
        return diag_error(im->d, "%s: node '%s' (If): the condition must be one bool", im->path, node_label(n));
    int cond_rank = c->rank;
    ir_id t[64], e[64];
    if (c->kind == IR_VALUE_CONST && c->data) { /* known branch: inline it alone */
        bool taken = *(const uint8_t *)c->data != 0;
        if (import_branch(im, n, taken ? "then" : "else", taken ? tb : eb, t)) return -1;
        for (size_t i = 0; i < n->n_outputs; i++)
            if (add_named(im, IR_OP_Identity, &t[i], 1, n->outputs[i], n)) return -1;
        return 0;
    }
    if (import_branch(im, n, "then", tb, t) || import_branch(im, n, "else", eb, e)) return -1;
    for (size_t i = 0; i < n->n_outputs; i++) {
        const ir_value *tv = &g->values[t[i]], *ev = &g->values[e[i]];
        bool agree = tv->dtype == ev->dtype && tv->rank == ev->rank;
        for (int k = 0; agree && k < tv->rank; k++) agree = ir_dim_eq(tv->dims[k], ev->dims[k]);
        if (!agree) {
            char ts[256], es[256];
            ir_type_format(g, tv->dtype, tv->rank, tv->dims, ts, sizeof ts);
            ir_type_format(g, ev->dtype, ev->rank, ev->dims, es, sizeof es);
            return diag_error(im->d, "%s: node '%s' (If): output %zu is %s in the then branch and %s in the else "
                              "branch; with a condition known only at run time the branches must agree", im->path,
                              node_label(n), i, ts, es);
        }
        if (cond_rank > tv->rank)
            return diag_error(im->d, "%s: node '%s' (If): a condition of rank %d cannot select output %zu of rank %d",
                              im->path, node_label(n), cond_rank, i, tv->rank);
        ir_id win[3] = {cond, t[i], e[i]};
        if (add_named(im, IR_OP_Where, win, 3, n->outputs[i], n)) return -1;
    }
    return 0;
}

/* ---- Scan and Loop: bodies unrolled ------------------------------------------------ */

/* A Scan or Loop becomes one inlined copy of its body per iteration (like an
 * If branch), so the number of iterations must be known at import: a Scan's
 * sequence length a constant size, a Loop's trip count and conditions
 * constants (after folding). Scan inputs are sliced with Gather at a
 * constant index, per-iteration outputs stacked with Unsqueeze + Concat. */

#define MAX_UNROLL 4096     /* iterations of one Scan or Loop */
#define MAX_UNROLLED_NODES (1 << 18) /* nodes of a graph grown by unrolling (nested loops multiply) */
#define MAX_LOOP_VALUES 64  /* states, scan inputs, scan outputs of one node */

static const onnx_attribute *attr_named(const onnx_node *n, const char *name) {
    for (size_t k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, name)) return &n->attrs[k];
    return NULL;
}

/* The value of a constant integer or bool with one element, in *v; -1 when
 * it is not one (no error reported). */
static int const_scalar(const ir_graph *g, ir_id id, int64_t *v) {
    const ir_value *x = &g->values[id];
    if (x->kind != IR_VALUE_CONST || !x->data || ir_value_numel(g, id) != 1) return -1;
    switch (x->dtype) {
    case IR_I64: { int64_t t; memcpy(&t, x->data, 8); *v = t; return 0; }
    case IR_I32: { int32_t t; memcpy(&t, x->data, 4); *v = t; return 0; }
    case IR_BOOL: *v = *(const uint8_t *)x->data != 0; return 0;
    default: return -1;
    }
}

/* Body input `vi` is bound to value v: its declared dtype and rank must hold. */
static int check_bound(importer *im, const onnx_node *n, const onnx_value_info *vi, ir_id v) {
    const ir_value *x = &im->g->values[v];
    if (vi->type.kind != ONNX_TYPE_TENSOR && vi->type.kind != ONNX_TYPE_NONE)
        return diag_error(im->d, "%s: node '%s' (%s): body input '%s' is not a tensor (sequence and optional values "
                          "are not supported)", im->path, node_label(n), n->op_type, vi->name);
    if (vi->type.kind == ONNX_TYPE_TENSOR && vi->type.elem_type &&
        ir_dtype_from_onnx(vi->type.elem_type) != x->dtype)
        return diag_error(im->d, "%s: node '%s' (%s): body input '%s' is declared %s but receives %s", im->path,
                          node_label(n), n->op_type, vi->name, onnx_dtype_name(vi->type.elem_type),
                          ir_dtype_name(x->dtype));
    if (vi->type.kind == ONNX_TYPE_TENSOR && vi->type.has_shape && (int)vi->type.ndims != x->rank)
        return diag_error(im->d, "%s: node '%s' (%s): body input '%s' has rank %zu but receives rank %d", im->path,
                          node_label(n), n->op_type, vi->name, vi->type.ndims, x->rank);
    return 0;
}

/* Iteration `iter` of body b, inlined in its own scope (named by `tag` and
 * iter): body input i is the value in[i]; the values of the body's outputs
 * go to out. */
static int import_iteration(importer *im, const onnx_node *n, const onnx_graph *b, const char *tag, int64_t iter,
                            const ir_id *in, ir_id *out) {
    char what[64];
    snprintf(what, sizeof what, "%siter%lld", tag, (long long)iter);
    const char *prefix = scope_prefix(im, n, what);
    if (!prefix) return diag_error(im->d, "%s: out of memory", im->path);
    onnx_scope bs = {.parent = im->scope, .prefix = prefix};
    if (im->g->n_nodes > MAX_UNROLLED_NODES)
        return diag_error(im->d, "%s: node '%s' (%s): unrolling makes the graph larger than %d nodes", im->path,
                          node_label(n), n->op_type, MAX_UNROLLED_NODES);
    for (size_t i = 0; i < b->n_inputs; i++) {
        if (check_bound(im, n, &b->inputs[i], in[i])) return -1;
        const char *name = onnx_scope_define(im->g, &bs, b->inputs[i].name);
        if (add_value_node(im, n, IR_OP_Identity, &in[i], 1, name, NULL, 0, true) == IR_NONE) return -1;
    }
    if (import_in_scope(im, &bs, b->nodes, b->n_nodes, b->initializers, b->n_initializers)) return -1;
    for (size_t i = 0; i < b->n_outputs; i++) {
        out[i] = ir_find_value(im->g, onnx_scope_resolve(im->g, &bs, b->outputs[i].name));
        if (out[i] == IR_NONE)
            return diag_error(im->d, "%s: node '%s' (%s): the body does not define its output '%s'", im->path,
                              node_label(n), n->op_type, b->outputs[i].name);
    }
    return 0;
}

/* x's slice at index i of axis `axis`, without that axis. */
static ir_id slice_at(importer *im, const onnx_node *n, ir_id x, int axis, int64_t i) {
    ir_id in[2] = {x, make_const(im, "index", IR_I64, 0, 1, &i, 8)};
    return in[1] == IR_NONE ? IR_NONE : add_value_node(im, n, IR_OP_Gather, in, 2, NULL, "axis", axis, true);
}

/* parts[0..count) stacked along a new axis `axis` (normalized), in reverse
 * order when `reverse`. */
static ir_id stack(importer *im, const onnx_node *n, const ir_id *parts, int64_t count, int axis, bool reverse) {
    int64_t ax = axis;
    ir_id axes = make_const(im, "axes", IR_I64, 1, 1, &ax, 8);
    ir_id *u = arena_array(&im->g->arena, (size_t)count, sizeof *u);
    if (axes == IR_NONE || !u) return IR_NONE;
    for (int64_t k = 0; k < count; k++) {
        ir_id in[2] = {parts[reverse ? count - 1 - k : k], axes};
        if ((u[k] = add_value_node(im, n, IR_OP_Unsqueeze, in, 2, NULL, NULL, 0, true)) == IR_NONE) return IR_NONE;
    }
    return add_value_node(im, n, IR_OP_Concat, u, (uint32_t)count, NULL, "axis", axis, true);
}

/* An axis attribute entry in [-rank, rank), normalized; -1 with an error. */
static int loop_axis(importer *im, const onnx_node *n, const char *attr, int64_t axis, int rank) {
    if (axis < -rank || axis >= rank)
        return diag_error(im->d, "%s: node '%s' (%s): %s entry %lld is out of range for rank %d", im->path,
                          node_label(n), n->op_type, attr, (long long)axis, rank);
    return (int)(axis < 0 ? axis + rank : axis);
}

/* The value of entry k of an ints attribute, or def. */
static int64_t ints_at(const onnx_node *n, const char *name, size_t k, int64_t def) {
    const onnx_attribute *a = attr_named(n, name);
    return a && k < a->n_ints ? a->ints[k] : def;
}

/* One Scan (opset 9 form) over values: n_state states, then n_in scan
 * inputs; results: the final states, then the stacked scan outputs. Its
 * iterations' scopes are named by tag. */
typedef struct scan_form {
    const onnx_graph *body;
    size_t n_state, n_in, n_out;
    int64_t in_axis[MAX_LOOP_VALUES], out_axis[MAX_LOOP_VALUES]; /* as written, maybe negative */
    bool in_rev[MAX_LOOP_VALUES], out_rev[MAX_LOOP_VALUES];
} scan_form;

static int unroll_scan(importer *im, const onnx_node *n, const scan_form *f, const char *tag, const ir_id *values,
                       ir_id *results) {
    ir_graph *g = im->g;
    int axis[MAX_LOOP_VALUES];
    int64_t steps = -1;
    for (size_t j = 0; j < f->n_in; j++) {
        ir_id x = values[f->n_state + j];
        if ((axis[j] = loop_axis(im, n, "scan_input_axes", f->in_axis[j], g->values[x].rank)) < 0) return -1;
        ir_dim len = g->values[x].dims[axis[j]];
        if (!ir_dim_is_const(len))
            return diag_error(im->d, "%s: node '%s' (Scan): the sequence length of scan input %zu is known only at "
                              "run time; Scan is unrolled and needs it at compile time", im->path, node_label(n), j);
        if (steps >= 0 && len.c != steps)
            return diag_error(im->d, "%s: node '%s' (Scan): scan input %zu has %lld steps, another has %lld",
                              im->path, node_label(n), j, (long long)len.c, (long long)steps);
        steps = len.c;
    }
    if (steps < 0 || steps > MAX_UNROLL || (steps == 0 && f->n_out))
        return diag_error(im->d, "%s: node '%s' (Scan): %lld steps; 1 to %d scan steps are supported", im->path,
                          node_label(n), (long long)steps, MAX_UNROLL);
    ir_id in[2 * MAX_LOOP_VALUES], out[2 * MAX_LOOP_VALUES];
    ir_id *ys = arena_array(&g->arena, f->n_out * (size_t)steps + 1, sizeof *ys); /* [k][t] */
    if (!ys) return diag_error(im->d, "%s: out of memory", im->path);
    for (size_t i = 0; i < f->n_state; i++) in[i] = values[i];
    for (int64_t t = 0; t < steps; t++) {
        for (size_t j = 0; j < f->n_in; j++) {
            ir_id x = values[f->n_state + j];
            in[f->n_state + j] = slice_at(im, n, x, axis[j], f->in_rev[j] ? steps - 1 - t : t);
            if (in[f->n_state + j] == IR_NONE) return -1;
        }
        if (import_iteration(im, n, f->body, tag, t, in, out)) return -1;
        for (size_t i = 0; i < f->n_state; i++) in[i] = out[i];
        for (size_t k = 0; k < f->n_out; k++) ys[k * (size_t)steps + (size_t)t] = out[f->n_state + k];
    }
    for (size_t i = 0; i < f->n_state; i++) results[i] = in[i];
    for (size_t k = 0; k < f->n_out; k++) {
        const ir_id *parts = &ys[k * (size_t)steps];
        int ax = loop_axis(im, n, "scan_output_axes", f->out_axis[k], g->values[parts[0]].rank + 1);
        if (ax < 0 || (results[f->n_state + k] = stack(im, n, parts, steps, ax, f->out_rev[k])) == IR_NONE) return -1;
    }
    return 0;
}

/* The values of the node's inputs from `first` on (all must be present). */
static int node_values(importer *im, const onnx_node *n, size_t first, ir_id *v) {
    for (size_t i = first; i < n->n_inputs; i++)
        if ((v[i - first] = *n->inputs[i] ? ir_find_value(im->g, n->inputs[i]) : IR_NONE) == IR_NONE)
            return diag_error(im->d, "%s: node '%s' (%s): input %zu is missing or not defined before it is used",
                              im->path, node_label(n), n->op_type, i);
    return 0;
}

/* Output i of the node is value v (an Identity carrying the output's name). */
static int name_outputs(importer *im, const onnx_node *n, const ir_id *v, size_t count) {
    for (size_t i = 0; i < count && i < n->n_outputs; i++)
        if (add_named(im, IR_OP_Identity, &v[i], 1, n->outputs[i], n)) return -1;
    return 0;
}

/* Scan opset 8: every state and scan input has a leading batch axis, the
 * body sees one batch entry; sequence_lens (input 0) must be absent. Each
 * batch entry is scanned on its own and the results stacked back. */
static int scan8_batched(importer *im, const onnx_node *n, scan_form *f, const ir_id *values, ir_id *results) {
    ir_graph *g = im->g;
    if (n->n_inputs && *n->inputs[0])
        return diag_error(im->d, "%s: node '%s' (Scan, opset 8): sequence_lens is not supported", im->path,
                          node_label(n));
    ir_dim batch = g->values[values[0]].rank > 0 ? g->values[values[0]].dims[0] : ir_dim_const(-1);
    if (!ir_dim_is_const(batch) || batch.c < 1 || batch.c > MAX_UNROLL)
        return diag_error(im->d, "%s: node '%s' (Scan, opset 8): the batch size must be a constant from 1 to %d",
                          im->path, node_label(n), MAX_UNROLL);
    size_t n_vals = f->n_state + f->n_in, n_res = f->n_state + f->n_out;
    ir_id *per = arena_array(&g->arena, n_res * (size_t)batch.c, sizeof *per); /* [result][b] */
    if (!per) return diag_error(im->d, "%s: out of memory", im->path);
    for (int64_t b = 0; b < batch.c; b++) {
        ir_id vb[2 * MAX_LOOP_VALUES], rb[2 * MAX_LOOP_VALUES];
        char tag[32];
        snprintf(tag, sizeof tag, "batch%lld.", (long long)b);
        for (size_t i = 0; i < n_vals; i++)
            if ((vb[i] = slice_at(im, n, values[i], 0, b)) == IR_NONE) return -1;
        if (unroll_scan(im, n, f, tag, vb, rb)) return -1;
        for (size_t r = 0; r < n_res; r++) per[r * (size_t)batch.c + (size_t)b] = rb[r];
    }
    for (size_t r = 0; r < n_res; r++)
        if ((results[r] = stack(im, n, &per[r * (size_t)batch.c], batch.c, 0, false)) == IR_NONE) return -1;
    return 0;
}

static int import_scan(importer *im, const onnx_node *n) {
    const onnx_attribute *m = attr_named(n, "num_scan_inputs");
    scan_form f = {.body = graph_attr(n, "body")};
    bool v8 = im->opset < 9;
    size_t first = v8 ? 1 : 0; /* opset 8: sequence_lens first */
    if (!f.body || !m || m->i < 1 || n->n_inputs < first + (size_t)m->i)
        return diag_error(im->d, "%s: node '%s' (Scan): needs a body and num_scan_inputs from 1 to its input count",
                          im->path, node_label(n));
    f.n_in = (size_t)m->i;
    f.n_state = n->n_inputs - first - f.n_in;
    if (f.n_state + f.n_in > MAX_LOOP_VALUES || f.body->n_inputs != f.n_state + f.n_in ||
        f.body->n_outputs < f.n_state || f.body->n_outputs - f.n_state > MAX_LOOP_VALUES ||
        n->n_outputs > f.body->n_outputs)
        return diag_error(im->d, "%s: node '%s' (Scan): the body must take the states and scan inputs (at most %d) "
                          "and give the states and scan outputs", im->path, node_label(n), MAX_LOOP_VALUES);
    f.n_out = f.body->n_outputs - f.n_state;
    for (size_t j = 0; j < f.n_in; j++) {
        f.in_axis[j] = v8 ? 0 : ints_at(n, "scan_input_axes", j, 0);
        f.in_rev[j] = ints_at(n, v8 ? "directions" : "scan_input_directions", j, 0) != 0;
    }
    for (size_t k = 0; k < f.n_out; k++) {
        f.out_axis[k] = v8 ? 0 : ints_at(n, "scan_output_axes", k, 0);
        f.out_rev[k] = !v8 && ints_at(n, "scan_output_directions", k, 0) != 0;
    }
    ir_id values[2 * MAX_LOOP_VALUES], results[2 * MAX_LOOP_VALUES];
    if (node_values(im, n, first, values)) return -1;
    int rc = v8 ? scan8_batched(im, n, &f, values, results) : unroll_scan(im, n, &f, "", values, results);
    return rc ? -1 : name_outputs(im, n, results, f.n_state + f.n_out);
}

/* Loop(M?, cond?, carried...): iterations while i < M and cond, each body
 * giving (cond, carried..., scan outputs...); M and every condition must be
 * constants (folded at import), so the trip count is known. */
static int import_loop(importer *im, const onnx_node *n) {
    ir_graph *g = im->g;
    const onnx_graph *b = graph_attr(n, "body");
    size_t n_carried = n->n_inputs >= 2 ? n->n_inputs - 2 : 0;
    if (!b || n->n_inputs < 2 || n_carried > MAX_LOOP_VALUES || b->n_inputs != n_carried + 2 ||
        b->n_outputs < n_carried + 1 || b->n_outputs - 1 - n_carried > MAX_LOOP_VALUES ||
        n->n_outputs > b->n_outputs - 1)
        return diag_error(im->d, "%s: node '%s' (Loop): needs a body taking (iteration, condition, carried values) "
                          "and giving (condition, carried values, scan outputs), at most %d of each", im->path,
                          node_label(n), MAX_LOOP_VALUES);
    size_t n_scan = b->n_outputs - 1 - n_carried;
    int64_t trips = MAX_UNROLL, cond = 1;
    ir_id mv = *n->inputs[0] ? ir_find_value(g, n->inputs[0]) : IR_NONE;
    ir_id cv = *n->inputs[1] ? ir_find_value(g, n->inputs[1]) : IR_NONE;
    bool m_bad = *n->inputs[0] && (mv == IR_NONE || const_scalar(g, mv, &trips));
    if (m_bad || (*n->inputs[1] && (cv == IR_NONE || const_scalar(g, cv, &cond))))
        return diag_error(im->d, "%s: node '%s' (Loop): the %s is known only at run time; the loop is unrolled at "
                          "import, so its number of iterations must be known then", im->path, node_label(n),
                          m_bad ? "trip count" : "initial condition");
    if (*n->inputs[0] && trips > MAX_UNROLL)
        return diag_error(im->d, "%s: node '%s' (Loop): trip count %lld; at most %d iterations are unrolled",
                          im->path, node_label(n), (long long)trips, MAX_UNROLL);
    ir_id in[2 + MAX_LOOP_VALUES], out[1 + 2 * MAX_LOOP_VALUES], results[2 * MAX_LOOP_VALUES];
    if (node_values(im, n, 2, in + 2)) return -1;
    size_t cap = trips > 0 ? (size_t)trips : 1;
    ir_id *ys = arena_array(&g->arena, n_scan * cap + 1, sizeof *ys); /* [k][iteration] */
    if (!ys) return diag_error(im->d, "%s: out of memory", im->path);
    int64_t i = 0;
    for (; i < trips && cond; i++) {
        uint8_t c = 1;
        in[0] = make_const(im, "iteration", IR_I64, 0, 1, &i, 8);
        in[1] = make_const(im, "cond", IR_BOOL, 0, 1, &c, 1);
        if (in[0] == IR_NONE || in[1] == IR_NONE || import_iteration(im, n, b, "", i, in, out)) return -1;
        if (const_scalar(g, out[0], &cond))
            return diag_error(im->d, "%s: node '%s' (Loop): the body's condition is known only at run time (the "
                              "loop is unrolled, so it must fold to a constant)", im->path, node_label(n));
        for (size_t k = 0; k < n_carried; k++) in[2 + k] = out[1 + k];
        for (size_t k = 0; k < n_scan; k++) ys[k * cap + (size_t)i] = out[1 + n_carried + k];
    }
    if (cond && !*n->inputs[0] && i == MAX_UNROLL)
        return diag_error(im->d, "%s: node '%s' (Loop): still running after %d iterations; at most %d are unrolled",
                          im->path, node_label(n), MAX_UNROLL, MAX_UNROLL);
    if (i == 0 && n_scan)
        return diag_error(im->d, "%s: node '%s' (Loop): runs no iteration, so its scan outputs have no known shape",
                          im->path, node_label(n));
    for (size_t k = 0; k < n_carried; k++) results[k] = in[2 + k];
    for (size_t k = 0; k < n_scan; k++)
        if ((results[n_carried + k] = stack(im, n, &ys[k * cap], i, 0, false)) == IR_NONE) return -1;
    return name_outputs(im, n, results, n_carried + n_scan);
}

/* ---- the model ------------------------------------------------------------------- */

static int check_supported(importer *im) {
    const onnx_graph *og = im->model->graph;
    int bad = 0;
    for (size_t i = 0; i < og->n_nodes; i++) {
        const onnx_node *n = &og->nodes[i];
        const char *why = unsupported_reason(im, n);
        if (!why) continue;
        if (!bad) diag_error(im->d, "%s: unsupported operators:", im->path);
        diag_error(im->d, "  node '%s': %s%s%s (%s)", node_label(n), *n->domain ? n->domain : "",
                   *n->domain ? "." : "", n->op_type, why);
        bad++;
    }
    if (og->n_sparse_initializers)
        return diag_error(im->d, "%s: sparse initializer '%s' is not supported", im->path,
                          og->sparse_initializers[0].name);
    return bad ? -1 : 0;
}

/* Producer and opsets, as `smelt inspect` shows them. */
static int record_meta(importer *im) {
    const onnx_model *m = im->model;
    char buf[512];
    snprintf(buf, sizeof buf, "%s%s%s", m->producer_name, *m->producer_version ? " " : "", m->producer_version);
    if (ir_add_meta(im->g, "producer", buf)) return diag_error(im->d, "%s: out of memory", im->path);
    snprintf(buf, sizeof buf, "%lld", (long long)m->ir_version);
    if (ir_add_meta(im->g, "onnx ir_version", buf)) return diag_error(im->d, "%s: out of memory", im->path);
    for (size_t i = 0; i < m->n_opset_import; i++) {
        char key[300];
        snprintf(key, sizeof key, "opset %s", *m->opset_import[i].domain ? m->opset_import[i].domain : "ai.onnx");
        snprintf(buf, sizeof buf, "%lld", (long long)m->opset_import[i].version);
        if (ir_add_meta(im->g, key, buf)) return diag_error(im->d, "%s: out of memory", im->path);
    }
    return 0;
}

static int build(importer *im) {
    const onnx_graph *og = im->model->graph;
    for (size_t i = 0; i < og->n_initializers; i++)
        if (import_tensor(im, &og->initializers[i], og->initializers[i].name) == IR_NONE) return -1;
    for (size_t i = 0; i < og->n_inputs; i++) {
        if (ir_find_value(im->g, og->inputs[i].name) != IR_NONE) continue; /* an initializer listed as input */
        if (import_input(im, &og->inputs[i])) return -1;
    }
    if (check_supported(im)) return -1;
    for (size_t i = 0; i < og->n_nodes; i++)
        if (import_node(im, &og->nodes[i])) return -1;
    for (size_t i = 0; i < og->n_outputs; i++) {
        ir_id v = ir_find_value(im->g, og->outputs[i].name);
        if (v == IR_NONE)
            return diag_error(im->d, "%s: graph output '%s' is not produced by any node", im->path,
                              og->outputs[i].name);
        if (ir_add_output(im->g, v, im->d)) return -1;
    }
    return 0;
}

ir_graph *onnx_import_file(const char *path, diag *d) { return onnx_import_file_bound(path, NULL, 0, d); }

ir_graph *onnx_import_file_bound(const char *path, const onnx_input_binding *bind, uint32_t n_bind, diag *d) {
    importer im = {.path = path, .bind = bind, .n_bind = n_bind, .d = d};
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path + 1) : 0;
    if (dl >= sizeof im.dir) dl = 0;
    memcpy(im.dir, path, dl);
    im.dir[dl] = 0;

    const uint8_t *base;
    size_t size;
    if (map_file(path, &base, &size, d)) return NULL;
    ir_graph *g = ir_graph_new("main", path);
    if (!g || ir_add_mapping(g, path, base, size, true) != 0) {
        unmap_file(base, size);
        ir_graph_free(g);
        diag_error(d, "%s: out of memory", path);
        return NULL;
    }
    arena scratch;
    arena_init(&scratch);
    if (onnx_pb_decode_model(base, size, path, &scratch, &im.model, d)) goto fail;
    if (*im.model->graph->name) g->name = arena_strdup(&g->arena, im.model->graph->name);
    im.g = g;
    im.opset = -1;
    for (size_t i = 0; i < im.model->n_opset_import; i++)
        if (is_default_domain(im.model->opset_import[i].domain)) im.opset = im.model->opset_import[i].version;
    if (im.opset < 0) im.opset = 1;
    if (record_meta(&im)) goto fail;
    if (build(&im)) goto fail;
    arena_free(&scratch);
    return g;
fail:
    ir_graph_free(g);
    arena_free(&scratch);
    return NULL;
}

int onnx_list_inputs(const char *path, char ***names, uint32_t *n, diag *d) {
    *names = NULL;
    *n = 0;
    const uint8_t *base;
    size_t size;
    if (map_file(path, &base, &size, d)) return -1;
    arena scratch;
    arena_init(&scratch);
    onnx_model *m;
    int rc = -1;
    if (onnx_pb_decode_model(base, size, path, &scratch, &m, d)) goto out;
    const onnx_graph *og = m->graph;
    *names = calloc(og->n_inputs ? og->n_inputs : 1, sizeof **names);
    if (!*names) goto oom;
    for (size_t i = 0; i < og->n_inputs; i++) {
        bool init = false;
        for (size_t k = 0; k < og->n_initializers && !init; k++)
            init = !strcmp(og->initializers[k].name, og->inputs[i].name);
        if (init) continue;
        if (!((*names)[*n] = strdup(og->inputs[i].name))) goto oom;
        (*n)++;
    }
    rc = 0;
    goto out;
oom:
    diag_error(d, "%s: out of memory", path);
    for (uint32_t i = 0; *names && i < *n; i++) free((*names)[i]);
    free(*names);
    *names = NULL;
    *n = 0;
out:
    arena_free(&scratch);
    unmap_file(base, size);
    return rc;
}
