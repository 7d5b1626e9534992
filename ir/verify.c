/* verify.c — the IR verifier: SSA order, operand counts, attribute kinds and
 * required attributes, and that every recorded dtype and shape is what
 * inference computes from the node's inputs. Runs after every pass in tests
 * (SMELT_VERIFY=1) and on every parsed or imported graph. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static int check_value_ref(const ir_graph *g, const ir_node *n, ir_id v, const uint8_t *defined,
                           const char *what, uint32_t i, diag *d) {
    if (v >= g->n_values) return ir_node_error(g, n, d, "%s %u refers to value #%u, which does not exist", what, i, v);
    if (!defined[v])
        return ir_node_error(g, n, d, "%s %u ('%s') is used before it is defined", what, i, g->values[v].name);
    return 0;
}

static int verify_attrs(const ir_graph *g, const ir_node *n, diag *d) {
    const ir_op_info *info = ir_op_get(n->op);
    for (uint16_t a = 0; a < info->n_attrs; a++) {
        const ir_attr *at = &n->attrs[a];
        const ir_attr_schema *s = &info->attrs[a];
        if (s->required && !at->set) return ir_node_error(g, n, d, "required attribute '%s' is missing", s->name);
        if (!at->set) continue;
        if (s->kind == IR_AK_DTYPE && (at->v.i <= IR_DTYPE_NONE || at->v.i >= IR_DTYPE_COUNT))
            return ir_node_error(g, n, d, "attribute '%s' is not a dtype", s->name);
        if (s->kind == IR_AK_STR && !at->v.s) return ir_node_error(g, n, d, "attribute '%s' has no string", s->name);
        if ((s->kind == IR_AK_INTS || s->kind == IR_AK_FLOATS || s->kind == IR_AK_STRS) && at->count && !at->v.ints)
            return ir_node_error(g, n, d, "attribute '%s' has no elements", s->name);
        if (s->kind == IR_AK_GRAPH && !at->v.graph) return ir_node_error(g, n, d, "attribute '%s' has no graph", s->name);
    }
    return 0;
}

/* Recorded type a equals the re-inferred one; a dimension that re-inference
 * had to make up as a fresh symbol (index >= fresh_from: a size known only at
 * run time) matches any recorded symbolic dimension. */
static bool same_type(const ir_value *a, ir_dtype t, int rank, const ir_dim *dims, uint32_t fresh_from) {
    if (a->dtype != t || a->rank != rank) return false;
    for (int i = 0; i < rank; i++) {
        bool fresh = !ir_dim_is_const(dims[i]) && (uint32_t)dims[i].sym >= fresh_from;
        if (fresh ? ir_dim_is_const(a->dims[i]) : !ir_dim_eq(a->dims[i], dims[i])) return false;
    }
    return true;
}

static int verify_types(ir_graph *g, ir_id nid, diag *d) {
    ir_node *n = &g->nodes[nid];
    /* save the recorded types, re-infer, compare, restore */
    ir_value saved[64];
    if (n->n_out > 64) return ir_node_error(g, n, d, "has %u outputs, at most 64 supported", n->n_out);
    for (uint32_t o = 0; o < n->n_out; o++) saved[o] = g->values[n->out[o]];
    uint32_t n_syms = g->n_syms;
    int rc = ir_infer_node(g, nid, d);
    for (uint32_t o = 0; o < n->n_out && rc == 0; o++) {
        ir_value *now = &g->values[n->out[o]];
        if (!same_type(&saved[o], now->dtype, now->rank, now->dims, n_syms)) {
            char want[256], have[256];
            ir_type_format(g, now->dtype, now->rank, now->dims, want, sizeof want);
            ir_type_format(g, saved[o].dtype, saved[o].rank, saved[o].dims, have, sizeof have);
            rc = ir_node_error(g, n, d, "output %u ('%s') is recorded as %s but its inputs give %s", o, now->name, have,
                               want);
        }
    }
    for (uint32_t o = 0; o < n->n_out; o++) g->values[n->out[o]] = saved[o];
    g->n_syms = n_syms; /* drop symbols that re-inference made */
    return rc;
}

int ir_verify(ir_graph *g, diag *d) {
    uint8_t *defined = calloc(g->n_values ? g->n_values : 1, 1);
    if (!defined) return diag_error(d, "%s: out of memory", g->source);
    int rc = -1;
    for (uint32_t v = 0; v < g->n_values; v++) {
        const ir_value *val = &g->values[v];
        if (val->kind == IR_VALUE_CONST) {
            int64_t numel = ir_value_numel(g, v);
            int64_t need = numel < 0 ? -1 : ir_dtype_storage_bytes(val->dtype, numel);
            if (need < 0 || (uint64_t)need != val->nbytes || (need > 0 && !val->data)) {
                diag_error(d, "%s: constant '%s' has %llu bytes, its type needs %lld", g->source, val->name,
                           (unsigned long long)val->nbytes, (long long)need);
                goto out;
            }
        }
        if (val->kind != IR_VALUE_NODE) {
            if (val->rank < 0 || val->dtype == IR_DTYPE_NONE) {
                diag_error(d, "%s: %s '%s' has no type", g->source, val->kind == IR_VALUE_CONST ? "constant" : "input",
                           val->name);
                goto out;
            }
            defined[v] = 1;
        }
        for (int i = 0; i < val->rank; i++)
            if (!ir_dim_is_const(val->dims[i]) && (uint32_t)val->dims[i].sym >= g->n_syms) {
                diag_error(d, "%s: value '%s' refers to an unknown symbol", g->source, val->name);
                goto out;
            }
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (n->op <= IR_OP_NONE || n->op >= IR_OP_COUNT) {
            diag_error(d, "%s: node #%u has an invalid op", g->source, i);
            goto out;
        }
        for (uint32_t k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE && check_value_ref(g, n, n->in[k], defined, "input", k, d)) goto out;
        if (verify_attrs(g, n, d)) goto out;
        for (uint32_t k = 0; k < n->n_out; k++) {
            ir_id o = n->out[k];
            if (o >= g->n_values || g->values[o].kind != IR_VALUE_NODE || g->values[o].producer != i) {
                ir_node_error(g, n, d, "output %u is not a value produced by this node", k);
                goto out;
            }
            if (defined[o]) {
                ir_node_error(g, n, d, "output %u ('%s') is defined twice", k, g->values[o].name);
                goto out;
            }
            defined[o] = 1;
        }
        if (verify_types(g, i, d)) goto out;
    }
    for (uint32_t k = 0; k < g->n_outputs; k++) {
        ir_id o = g->outputs[k];
        if (o >= g->n_values || !defined[o]) {
            diag_error(d, "%s: graph output %u is not defined", g->source, k);
            goto out;
        }
    }
    rc = 0;
out:
    free(defined);
    return rc;
}
