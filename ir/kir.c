/* kir.c — kernel programs: lowering a whole graph (each node through the
 * lowering function of its ops.def row), freeing, and the text dump used by
 * `smelt convert --print-kernels` and the tests. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kir_build.h"

void kir_free(kir_program *p) {
    if (!p) return;
    free(p->bufs);
    free(p->kernels);
    free(p->exprs);
    free(p->hash);
    free(p->value_buf);
    arena_free(&p->arena);
    free(p);
}

static kir_program *new_program(ir_graph *g, diag *d) {
    kir_program *p = calloc(1, sizeof *p);
    if (!p) {
        diag_error(d, "%s: out of memory", g->source);
        return NULL;
    }
    p->g = g;
    arena_init(&p->arena);
    p->value_buf = malloc((g->n_values ? g->n_values : 1) * sizeof(uint32_t));
    if (!p->value_buf) {
        kir_free(p);
        diag_error(d, "%s: out of memory", g->source);
        return NULL;
    }
    memset(p->value_buf, 0xff, (g->n_values ? g->n_values : 1) * sizeof(uint32_t));
    return p;
}

/* Lower the given nodes (NULL: every live node) in order; errors list every
 * node without a lowering at once. */
static int lower_nodes(kir_program *p, const ir_id *nodes, uint32_t n_nodes, diag *d) {
    ir_graph *g = p->g;
    int missing = 0;
    uint32_t count = nodes ? n_nodes : g->n_nodes;
    for (uint32_t k = 0; k < count; k++) {
        ir_id i = nodes ? nodes[k] : k;
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        ir_lower_fn lower = ir_op_get(n->op)->lower;
        if (!lower) {
            if (!missing++) diag_error(d, "%s: ops without a lowering to kernels:", g->source);
            ir_node_error(g, n, d, "no lowering for %s yet", ir_op_get(n->op)->name);
            continue;
        }
        if (!missing && lower(p, i, d)) return -1;
    }
    return missing ? -1 : 0;
}

kir_program *kir_lower(ir_graph *g, diag *d) {
    kir_program *p = new_program(g, d);
    if (!p) return NULL;
    p->inputs = arena_array(&p->arena, g->n_inputs, sizeof(uint32_t));
    p->outputs = arena_array(&p->arena, g->n_outputs, sizeof(uint32_t));
    if ((g->n_inputs && !p->inputs) || (g->n_outputs && !p->outputs)) {
        kir_free(p);
        diag_error(d, "%s: out of memory", g->source);
        return NULL;
    }
    for (uint32_t i = 0; i < g->n_inputs; i++) p->inputs[i] = kb_value(p, g->inputs[i]);
    p->n_inputs = g->n_inputs;
    if (lower_nodes(p, NULL, 0, d)) {
        kir_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i < g->n_outputs; i++) p->outputs[i] = kb_value(p, g->outputs[i]);
    p->n_outputs = g->n_outputs;
    return p;
}

kir_program *kir_lower_node(ir_graph *g, ir_id node, diag *d) {
    kir_program *p = new_program(g, d);
    if (!p) return NULL;
    const ir_node *n = &g->nodes[node];
    p->outputs = arena_array(&p->arena, n->n_out, sizeof(uint32_t));
    if ((n->n_out && !p->outputs) || lower_nodes(p, &node, 1, d)) {
        kir_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i < n->n_out; i++) p->outputs[i] = kb_value(p, n->out[i]);
    p->n_outputs = n->n_out;
    return p;
}

/* ---- printing ------------------------------------------------------------------ */

static void print_dims(const kir_program *p, int rank, const ir_dim *dims, FILE *out) {
    char buf[128];
    fputc('[', out);
    for (int i = 0; i < rank; i++) {
        ir_dim_format(p->g, dims[i], buf, sizeof buf);
        fprintf(out, "%s%s", i ? "," : "", buf);
    }
    fputc(']', out);
}

static void print_expr(const kir_program *p, uint32_t e, FILE *out) {
    const kir_expr *x = &p->exprs[e];
    char buf[128];
    switch (x->op) {
    case KX_CONST:
        if (ir_dtype_is_float(x->dtype)) fprintf(out, "%.9g", x->fval);
        else fprintf(out, "%" PRId64, x->ival);
        if (x->dtype != IR_I64) fprintf(out, ":%s", ir_dtype_name(x->dtype));
        return;
    case KX_IDX: fprintf(out, "i%d", x->axis); return;
    case KX_RIDX: fprintf(out, "r%d", x->axis); return;
    case KX_ACC: fputs("acc", out); return;
    case KX_DIM:
        ir_dim_format(p->g, x->dim, buf, sizeof buf);
        fprintf(out, "dim(%s)", buf);
        return;
    case KX_LOAD:
        fprintf(out, "%s[", p->bufs[x->buffer].name);
        for (uint32_t i = 0; i < x->n_args; i++) {
            if (i) fputs(", ", out);
            print_expr(p, x->args[i], out);
        }
        fputc(']', out);
        return;
    case KX_CAST: fprintf(out, "cast<%s>(", ir_dtype_name(x->dtype)); break;
    default: fprintf(out, "%s(", kx_get(x->op)->name); break;
    }
    for (uint32_t i = 0; i < x->n_args; i++) {
        if (i) fputs(", ", out);
        print_expr(p, x->args[i], out);
    }
    fputc(')', out);
}

void kir_print(const kir_program *p, FILE *out) {
    static const char *kinds[] = {"input", "const", "value", "temp"};
    static const char *reds[] = {"", "sum", "prod", "max", "min", "argmax", "argmin"};
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        const kir_buffer *buf = &p->bufs[b];
        fprintf(out, "buffer %s %s: %s", kinds[buf->kind], buf->name, ir_dtype_name(buf->dtype));
        print_dims(p, buf->rank, buf->dims, out);
        fputc('\n', out);
    }
    for (uint32_t k = 0; k < p->n_kernels; k++) {
        const kir_kernel *kn = &p->kernels[k];
        if (kn->kind == KK_LIB) {
            fprintf(out, "kernel %s: lib %s(", kn->name, kn->lib);
            for (uint32_t i = 0; i < kn->n_lib_in; i++) fprintf(out, "%s%s", i ? ", " : "", p->bufs[kn->lib_in[i]].name);
            fputs(") -> ", out);
            for (uint32_t i = 0; i < kn->n_lib_out; i++) fprintf(out, "%s%s", i ? ", " : "", p->bufs[kn->lib_out[i]].name);
            fputc('\n', out);
            continue;
        }
        const kir_buffer *o = &p->bufs[kn->out];
        fprintf(out, "kernel %s: %s", kn->name, o->name);
        print_dims(p, o->rank, o->dims, out);
        if (kn->reduce) {
            fprintf(out, " = %s%s<%s> over ", reds[kn->reduce], kn->select_last ? "_last" : "",
                    ir_dtype_name(kn->acc_dtype));
            print_dims(p, kn->rrank, kn->red, out);
            fputs(" of ", out);
        } else {
            fputs(" = ", out);
        }
        print_expr(p, kn->body, out);
        if (kn->post != KIR_NONE) {
            fputs(" then ", out);
            print_expr(p, kn->post, out);
        }
        fputc('\n', out);
    }
}

static void reads_of(const kir_program *p, uint32_t e, uint32_t stamp, uint32_t *mark, uint32_t *reads, uint32_t *n) {
    if (mark[e] == stamp) return;
    mark[e] = stamp;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && mark[p->n_exprs + x->buffer] != stamp) {
        mark[p->n_exprs + x->buffer] = stamp;
        reads[(*n)++] = x->buffer;
    }
    for (uint32_t i = 0; i < x->n_args; i++) reads_of(p, x->args[i], stamp, mark, reads, n);
}

uint32_t kir_kernel_reads(const kir_program *p, uint32_t k, uint32_t *mark, uint32_t *reads) {
    const kir_kernel *kn = &p->kernels[k];
    uint32_t n = 0, stamp = k + 1; /* marks of earlier kernels are smaller: no clearing */
    reads_of(p, kn->body, stamp, mark, reads, &n);
    if (kn->post != KIR_NONE) reads_of(p, kn->post, stamp, mark, reads, &n);
    return n;
}
