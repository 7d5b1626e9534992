/* precision.c — `--precision f16|bf16`: the float32 tensors of the graph
 * are stored in half precision, with the model's interface unchanged.
 *
 * Every node whose op is listed below (ops whose float inputs and outputs
 * share one type, and whose lowerings compute half inputs in f32: the
 * contractions and reductions accumulate in f32, element-wise kernels
 * widen at the load and round at the store) reads and writes f16 (or bf16)
 * in place of f32: its f32 constants become half constants (finite values
 * beyond the half range saturate to its largest finite value, so that a
 * mask constant of -3.4e38 stays finite: 0 * -65504 is 0, not NaN), its
 * other f32 inputs are read through a Cast to half, and a Cast node to f32
 * becomes a Cast to half. Nodes of other ops keep f32 and read a Cast back
 * to f32 of a half input. The graph's f32 inputs are cast at entry; an f32
 * output (or a value a subgraph names) computed in half is cast back to
 * f32 under its own name. Casts are made once per value; new nodes are
 * appended and the order restored at the end (rw_sort_nodes).
 *
 * Every backend runs the result (the ops' half forms are those of the
 * ONNX conformance suite); on Vulkan the half tensors need
 * storageBuffer16BitAccess (tools/run_vulkan.c checks it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/rewrite.h"
#include "runtime/half.h"

static bool converts(const ir_node *n) {
    switch (n->op) {
    case IR_OP_Identity: case IR_OP_Neg: case IR_OP_Abs: case IR_OP_Reciprocal: case IR_OP_Sqrt:
    case IR_OP_Exp: case IR_OP_Log: case IR_OP_Erf: case IR_OP_Tanh: case IR_OP_Relu: case IR_OP_Sigmoid:
    case IR_OP_Softplus: case IR_OP_HardSwish: case IR_OP_Swish: case IR_OP_Elu: case IR_OP_LeakyRelu:
    case IR_OP_HardSigmoid: case IR_OP_Gelu: case IR_OP_Clip: case IR_OP_Add: case IR_OP_Sub:
    case IR_OP_Mul: case IR_OP_Div: case IR_OP_Pow: case IR_OP_Max: case IR_OP_Min: case IR_OP_Sum:
    case IR_OP_Mean: case IR_OP_Where: case IR_OP_Equal: case IR_OP_Less: case IR_OP_Greater:
    case IR_OP_MatMul: case IR_OP_Gemm: case IR_OP_Conv: case IR_OP_ConvTranspose: case IR_OP_MaxPool:
    case IR_OP_AveragePool: case IR_OP_GlobalAveragePool: case IR_OP_GlobalMaxPool:
    case IR_OP_BatchNormalization: case IR_OP_LayerNormalization: case IR_OP_Softmax:
    case IR_OP_LogSoftmax: case IR_OP_ReduceSum: case IR_OP_ReduceMean: case IR_OP_ReduceMax:
    case IR_OP_ReduceMin: case IR_OP_Reshape: case IR_OP_Transpose: case IR_OP_Flatten: case IR_OP_Squeeze:
    case IR_OP_Unsqueeze: case IR_OP_Concat: case IR_OP_Gather: case IR_OP_Expand: case IR_OP_Slice:
    case IR_OP_Split: case IR_OP_Pad: case IR_OP_Tile:
        return true;
    case IR_OP_Cast: return ir_attr_int(n, "to") == IR_F32;
    default: return false;
    }
}

typedef struct prec {
    ir_graph *g;
    ir_dtype half;
    size_t cap;       /* entries of the maps below (grown with g->n_values) */
    ir_id *to_half;   /* f32 value -> its half form (IR_NONE: none yet) */
    ir_id *to_float;  /* retyped value -> its f32 form */
    bool *retyped;    /* values this pass made half */
    uint32_t n_captured;
    uint32_t *captured; /* n_captured entries: values subgraphs name */
    diag *d;
} prec;

/* The maps cover every value of the graph (new casts add values). */
static int grow(prec *p) {
    if (p->g->n_values <= p->cap) return 0;
    size_t cap = (size_t)p->g->n_values * 2 + 64;
    ir_id *h = realloc(p->to_half, cap * sizeof *h);
    if (h) p->to_half = h;
    ir_id *f = h ? realloc(p->to_float, cap * sizeof *f) : NULL;
    if (f) p->to_float = f;
    bool *r = f ? realloc(p->retyped, cap * sizeof *r) : NULL;
    if (!r) return diag_error(p->d, "%s: out of memory", p->g->source);
    p->retyped = r;
    for (size_t i = p->cap; i < cap; i++) {
        p->to_half[i] = p->to_float[i] = IR_NONE;
        p->retyped[i] = false;
    }
    p->cap = cap;
    return 0;
}

/* A Cast(v, to) node's output, inferred. */
static ir_id add_cast(prec *p, ir_id v, ir_dtype to, const char *origin) {
    ir_id c = ir_add_node(p->g, IR_OP_Cast, &v, 1, NULL, 1, origin, p->d);
    if (c == IR_NONE || ir_set_attr_int(p->g, c, "to", to, p->d) || ir_infer_node(p->g, c, p->d) || grow(p))
        return IR_NONE;
    return p->g->nodes[c].out[0];
}

static uint16_t half_bits(float f, ir_dtype half) {
    if (half == IR_BF16) return rt_f32_to_bf16(f);
    if (isfinite(f) && fabsf(f) > 65504.0f) f = f < 0 ? -65504.0f : 65504.0f;
    return rt_f32_to_f16(f);
}

static ir_id half_const(prec *p, ir_id v) {
    const ir_value *w = &p->g->values[v];
    int64_t n = ir_value_numel(p->g, v);
    if (n < 0 || (uint64_t)n * 4 != w->nbytes) {
        diag_error(p->d, "%s: constant '%s' holds %llu bytes, not %lld floats", p->g->source, w->name,
                   (unsigned long long)w->nbytes, (long long)n);
        return IR_NONE;
    }
    uint16_t *h = arena_alloc(&p->g->arena, (size_t)(n ? n : 1) * 2);
    if (!h) {
        diag_error(p->d, "%s: out of memory making the half form of '%s'", p->g->source, w->name);
        return IR_NONE;
    }
    for (int64_t i = 0; i < n; i++) {
        float f;
        memcpy(&f, (const uint8_t *)w->data + i * 4, 4);
        h[i] = half_bits(f, p->half);
    }
    char base[200];
    snprintf(base, sizeof base, "%.180s_%s", w->name, p->half == IR_BF16 ? "bf16" : "f16");
    w = &p->g->values[v];
    ir_id c = ir_add_const(p->g, ir_fresh_name(p->g, base), p->half, w->rank, w->dims, h, (uint64_t)n * 2, -1, p->d);
    return c == IR_NONE || grow(p) ? IR_NONE : c;
}

static ir_id half_of(prec *p, ir_id v, const char *origin) {
    if (p->to_half[v] != IR_NONE) return p->to_half[v];
    const ir_value *val = &p->g->values[v];
    ir_id h = val->kind == IR_VALUE_CONST && val->data ? half_const(p, v) : add_cast(p, v, p->half, origin);
    if (h != IR_NONE) p->to_half[v] = h;
    return h;
}

static ir_id float_of(prec *p, ir_id v, const char *origin) {
    if (p->to_float[v] == IR_NONE) p->to_float[v] = add_cast(p, v, IR_F32, origin);
    return p->to_float[v];
}

static bool is_captured(const prec *p, ir_id v) { return v < p->n_captured && p->captured[v]; }

/* Output slot k of node nid is a graph output or captured: the node now
 * writes a new value c, and a Cast(c, to f32) writes the old one, which
 * keeps its name. Readers other than that Cast read c. Returns the Cast
 * node (inferred by the caller once nid is). */
static ir_id split_output(prec *p, ir_id nid, uint32_t k) {
    ir_graph *g = p->g;
    ir_id v = g->nodes[nid].out[k];
    ir_id cn = ir_add_node(g, IR_OP_Cast, &v, 1, NULL, 1, g->nodes[nid].name, p->d);
    if (cn == IR_NONE || ir_set_attr_int(g, cn, "to", IR_F32, p->d) || grow(p)) return IR_NONE;
    ir_id c = g->nodes[cn].out[0];
    g->nodes[cn].out[0] = v;
    g->values[v].producer = cn;
    g->nodes[cn].in[0] = c;
    g->nodes[nid].out[k] = c;
    g->values[c].producer = nid;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead || i == cn) continue;
        for (uint32_t j = 0; j < n->n_in; j++)
            if (n->in[j] == v) n->in[j] = c;
    }
    return cn;
}

static int convert_node(prec *p, ir_id nid) {
    ir_graph *g = p->g;
    const char *origin = g->nodes[nid].name;
    for (uint32_t j = 0; j < g->nodes[nid].n_in; j++) {
        ir_id v = g->nodes[nid].in[j];
        if (v == IR_NONE || g->values[v].dtype != IR_F32) continue;
        ir_id h = half_of(p, v, origin);
        if (h == IR_NONE) return -1;
        g->nodes[nid].in[j] = h;
    }
    if (g->nodes[nid].op == IR_OP_Cast && ir_set_attr_int(g, nid, "to", p->half, p->d)) return -1;
    uint32_t n_out = g->nodes[nid].n_out;
    ir_id split[8];
    bool was_f32[8] = {0};
    uint32_t n_split = 0;
    for (uint32_t k = 0; k < n_out && k < 8; k++) {
        ir_id v = g->nodes[nid].out[k];
        was_f32[k] = g->values[v].dtype == IR_F32;
        if (!was_f32[k] || !(rw_is_output(g, v) || is_captured(p, v))) continue;
        if ((split[n_split++] = split_output(p, nid, k)) == IR_NONE) return -1;
    }
    if (ir_infer_node(g, nid, p->d)) return -1;
    for (uint32_t s = 0; s < n_split; s++)
        if (ir_infer_node(g, split[s], p->d)) return -1;
    for (uint32_t k = 0; k < n_out && k < 8; k++) {
        ir_id v = g->nodes[nid].out[k];
        if (was_f32[k] && g->values[v].dtype == p->half) p->retyped[v] = true;
    }
    return 0;
}

/* A node that stays f32 reads the f32 form of each retyped input. */
static int keep_node(prec *p, ir_id nid) {
    ir_graph *g = p->g;
    for (uint32_t j = 0; j < g->nodes[nid].n_in; j++) {
        ir_id v = g->nodes[nid].in[j];
        if (v == IR_NONE || !p->retyped[v]) continue;
        ir_id f = float_of(p, v, g->nodes[nid].name);
        if (f == IR_NONE) return -1;
        g->nodes[nid].in[j] = f;
    }
    return 0;
}

int pass_precision(ir_graph *g, ir_dtype half, diag *d) {
    if (half != IR_F16 && half != IR_BF16) return 0;
    prec p = {.g = g, .half = half, .d = d, .n_captured = g->n_values};
    uint32_t n_nodes = g->n_nodes; /* nodes added here are casts, complete as made */
    int rc = -1;
    if (!(p.captured = rw_capture_counts(g, d)) || grow(&p)) goto done;
    for (uint32_t i = 0; i < n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        bool conv = converts(&g->nodes[i]) && g->nodes[i].n_out <= 8;
        if (conv ? convert_node(&p, i) : keep_node(&p, i)) goto done;
    }
    rc = rw_sort_nodes(g, d);
done:
    free(p.to_half);
    free(p.to_float);
    free(p.retyped);
    free(p.captured);
    return rc;
}
