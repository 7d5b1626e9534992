/* graph.c — building graphs: values, nodes, inputs/outputs, mappings, and the
 * name index that keeps value names unique. */
#include "ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mapfile.h"

/* Grow *arr (elements of `elem` bytes) so that it holds at least need. */
static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return 0;
    uint64_t ncap = *cap ? (uint64_t)*cap * 2 : 16;
    while (ncap < need) ncap *= 2;
    if (ncap > UINT32_MAX - 1) return -1;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return -1;
    *arr = p;
    *cap = (uint32_t)ncap;
    return 0;
}

ir_graph *ir_graph_new(const char *name, const char *source) {
    ir_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    arena_init(&g->arena);
    g->name = arena_strdup(&g->arena, name ? name : "main");
    g->source = arena_strdup(&g->arena, source ? source : "");
    return g;
}

static void free_subgraphs(ir_graph *g) {
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        const ir_op_info *info = ir_op_get(n->op);
        for (uint16_t a = 0; a < info->n_attrs; a++)
            if (info->attrs[a].kind == IR_AK_GRAPH && n->attrs[a].set) ir_graph_free(n->attrs[a].v.graph);
    }
}

void ir_graph_free(ir_graph *g) {
    if (!g) return;
    free_subgraphs(g);
    for (uint32_t i = 0; i < g->n_maps; i++)
        if (g->maps[i].owned) unmap_file(g->maps[i].base, g->maps[i].size);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->syms);
    free(g->maps);
    free(g->meta);
    free(g->name_index);
    arena_free(&g->arena);
    free(g);
}

/* ---- name index ---------------------------------------------------------- */

static uint32_t hash_name(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static int index_insert(ir_graph *g, ir_id v) {
    if ((uint64_t)(g->n_values + 1) * 2 > g->name_index_cap) {
        uint32_t ncap = g->name_index_cap ? g->name_index_cap * 2 : 64;
        uint32_t *idx = malloc((size_t)ncap * sizeof *idx);
        if (!idx) return -1;
        memset(idx, 0xff, (size_t)ncap * sizeof *idx);
        for (uint32_t i = 0; i < g->name_index_cap; i++) {
            uint32_t e = g->name_index[i];
            if (e == IR_NONE) continue;
            uint32_t h = hash_name(g->values[e].name) & (ncap - 1);
            while (idx[h] != IR_NONE) h = (h + 1) & (ncap - 1);
            idx[h] = e;
        }
        free(g->name_index);
        g->name_index = idx;
        g->name_index_cap = ncap;
    }
    uint32_t h = hash_name(g->values[v].name) & (g->name_index_cap - 1);
    while (g->name_index[h] != IR_NONE) h = (h + 1) & (g->name_index_cap - 1);
    g->name_index[h] = v;
    return 0;
}

ir_id ir_find_value(const ir_graph *g, const char *name) {
    if (!g->name_index_cap) return IR_NONE;
    uint32_t h = hash_name(name) & (g->name_index_cap - 1);
    for (;;) {
        uint32_t e = g->name_index[h];
        if (e == IR_NONE) return IR_NONE;
        if (strcmp(g->values[e].name, name) == 0) return e;
        h = (h + 1) & (g->name_index_cap - 1);
    }
}

const char *ir_fresh_name(ir_graph *g, const char *base) {
    char buf[256];
    if (base && *base && ir_find_value(g, base) == IR_NONE) return arena_strdup(&g->arena, base);
    for (uint32_t k = g->n_values;; k++) {
        snprintf(buf, sizeof buf, "%.200s_%u", base && *base ? base : "t", k);
        if (ir_find_value(g, buf) == IR_NONE) return arena_strdup(&g->arena, buf);
    }
}

/* ---- values ---------------------------------------------------------------- */

int ir_set_type(ir_graph *g, ir_id v, ir_dtype t, int rank, const ir_dim *dims) {
    ir_value *val = &g->values[v];
    val->dtype = t;
    val->rank = rank;
    val->dims = NULL;
    val->sval = NULL; /* recomputed by inference from the new type */
    if (rank > 0) {
        val->dims = arena_memdup(&g->arena, dims, (size_t)rank, sizeof *dims);
        if (!val->dims) return -1;
    }
    return 0;
}

static ir_id add_value(ir_graph *g, const char *name, ir_value_kind kind, ir_dtype t, int rank,
                       const ir_dim *dims, diag *d) {
    if (rank > IR_MAX_RANK) {
        diag_error(d, "%s: value '%s' has rank %d, more than the supported %d", g->source, name, rank,
                   IR_MAX_RANK);
        return IR_NONE;
    }
    if (!name || !*name) name = ir_fresh_name(g, "t");
    if (ir_find_value(g, name) != IR_NONE) {
        diag_error(d, "%s: value '%s' is defined twice", g->source, name);
        return IR_NONE;
    }
    if (grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(ir_value))) goto oom;
    ir_id id = g->n_values;
    ir_value *v = &g->values[id];
    memset(v, 0, sizeof *v);
    v->name = arena_strdup(&g->arena, name);
    if (!v->name) goto oom;
    v->kind = kind;
    v->producer = IR_NONE;
    v->mapping = -1;
    g->n_values++;
    if (ir_set_type(g, id, t, rank, dims) || index_insert(g, id)) goto oom;
    return id;
oom:
    diag_error(d, "%s: out of memory adding value '%s'", g->source, name);
    return IR_NONE;
}

static int push_id(ir_id **arr, uint32_t *n, uint32_t *cap, ir_id v) {
    if (grow((void **)arr, cap, *n + 1, sizeof(ir_id))) return -1;
    (*arr)[(*n)++] = v;
    return 0;
}

ir_id ir_add_input(ir_graph *g, const char *name, ir_dtype t, int rank, const ir_dim *dims, diag *d) {
    ir_id v = add_value(g, name, IR_VALUE_INPUT, t, rank, dims, d);
    if (v == IR_NONE) return IR_NONE;
    if (push_id(&g->inputs, &g->n_inputs, &g->cap_inputs, v)) {
        diag_error(d, "%s: out of memory", g->source);
        return IR_NONE;
    }
    return v;
}

ir_id ir_add_const(ir_graph *g, const char *name, ir_dtype t, int rank, const ir_dim *dims,
                   const void *data, uint64_t nbytes, int32_t mapping, diag *d) {
    ir_id v = add_value(g, name, IR_VALUE_CONST, t, rank, dims, d);
    if (v == IR_NONE) return IR_NONE;
    g->values[v].data = data;
    g->values[v].nbytes = nbytes;
    g->values[v].mapping = mapping;
    return v;
}

int ir_add_output(ir_graph *g, ir_id v, diag *d) {
    if (push_id(&g->outputs, &g->n_outputs, &g->cap_outputs, v))
        return diag_error(d, "%s: out of memory", g->source);
    return 0;
}

int ir_add_mapping(ir_graph *g, const char *path, const uint8_t *base, size_t size, bool owned) {
    if (grow((void **)&g->maps, &g->cap_maps, g->n_maps + 1, sizeof(ir_mapping))) return -1;
    ir_mapping *m = &g->maps[g->n_maps];
    m->path = arena_strdup(&g->arena, path);
    m->base = base;
    m->size = size;
    m->owned = owned;
    return (int)g->n_maps++;
}

int ir_add_meta(ir_graph *g, const char *key, const char *value) {
    if (grow((void **)&g->meta, &g->cap_meta, g->n_meta + 1, sizeof(ir_meta))) return -1;
    ir_meta *m = &g->meta[g->n_meta];
    m->key = arena_strdup(&g->arena, key);
    m->value = arena_strdup(&g->arena, value);
    if (!m->key || !m->value) return -1;
    g->n_meta++;
    return 0;
}

int64_t ir_value_numel(const ir_graph *g, ir_id v) {
    const ir_value *val = &g->values[v];
    if (val->rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < val->rank; i++) {
        if (!ir_dim_is_const(val->dims[i])) return -1;
        uint64_t m;
        if (checked_mul_u64((uint64_t)n, (uint64_t)val->dims[i].c, &m) || m > INT64_MAX) return -1;
        n = (int64_t)m;
    }
    return n;
}

/* ---- nodes ----------------------------------------------------------------- */

ir_id ir_add_node(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in,
                  const char *const *out_names, uint32_t n_out,
                  const char *origin_name, diag *d) {
    const ir_op_info *info = ir_op_get(op);
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(ir_node))) goto oom;
    ir_id nid = g->n_nodes;
    ir_node n = {0};
    n.op = op;
    n.n_in = n_in;
    n.n_out = n_out;
    n.in = arena_memdup(&g->arena, in, n_in, sizeof(ir_id));
    n.out = arena_array(&g->arena, n_out, sizeof(ir_id));
    n.attrs = arena_array(&g->arena, info->n_attrs, sizeof(ir_attr));
    n.name = arena_strdup(&g->arena, origin_name ? origin_name : "");
    n.file = g->source;
    if ((n_in && !n.in) || (n_out && !n.out) || (info->n_attrs && !n.attrs) || !n.name) goto oom;
    for (uint32_t o = 0; o < n_out; o++) {
        const char *nm = out_names && out_names[o] && *out_names[o] ? out_names[o] : NULL;
        if (!nm) {
            char base[160];
            snprintf(base, sizeof base, "%.120s_out%u", n.name[0] ? n.name : info->name, o);
            nm = ir_fresh_name(g, base);
        }
        ir_id v = add_value(g, nm, IR_VALUE_NODE, IR_DTYPE_NONE, -1, NULL, d);
        if (v == IR_NONE) return IR_NONE;
        g->values[v].producer = nid;
        n.out[o] = v;
    }
    g->nodes[g->n_nodes++] = n;
    return nid;
oom:
    diag_error(d, "%s: out of memory adding node '%s'", g->source, origin_name ? origin_name : "");
    return IR_NONE;
}

int ir_node_error(const ir_graph *g, const ir_node *n, diag *d, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = n->file && *n->file ? n->file : g->source;
    char where[600];
    if (n->name && *n->name) snprintf(where, sizeof where, "node '%.500s'", n->name);
    else snprintf(where, sizeof where, "node #%u", (unsigned)(n - g->nodes));
    /* a graph without a source file (built in memory, or being parsed) leaves the prefix to its caller */
    if (!*file) return diag_error(d, "%s (%s): %s", where, ir_op_get(n->op)->name, msg);
    return diag_error(d, "%s: %s (%s): %s", file, where, ir_op_get(n->op)->name, msg);
}
