/* cmd_inspect.c — `smelt inspect MODEL`: what a model is before compiling
 * it: inputs and outputs with symbolic shapes, op histogram, parameters and
 * their bytes, and an estimate of the FLOPs of its contractions. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "frontend/load.h"

static int run_inspect(int argc, char **argv);

const cli_verb verb_inspect = {
    "inspect", "describe a model: inputs, outputs, ops, parameters, FLOPs",
    "usage: smelt inspect MODEL\n\n"
    "Prints the model's inputs and outputs with their dtypes and (symbolic)\n"
    "shapes, a histogram of its ops, the parameter count and bytes, and the\n"
    "estimated FLOPs of MatMul/Gemm/Conv for the shapes it declares.\n",
    run_inspect};

static void print_value(ir_graph *g, ir_id v) {
    char buf[512];
    ir_type_format(g, g->values[v].dtype, g->values[v].rank, g->values[v].dims, buf, sizeof buf);
    printf("  %-32s %s\n", g->values[v].name, buf);
}

/* Element count with every named symbol taken as 1 (vals: symbol values). */
static double numel_at(const ir_graph *g, ir_id v, int64_t *vals) {
    double n = 1;
    for (int i = 0; i < g->values[v].rank; i++) {
        int64_t dv = ir_dim_eval(g, g->values[v].dims[i], vals);
        if (dv < 0) return -1; /* a size known only at run time */
        n *= (double)dv;
    }
    return n;
}

/* 2 x multiply-accumulates of a contraction; 0 when sizes are data-dependent. */
static double node_flops(ir_graph *g, const ir_node *n, int64_t *vals) {
    double out = numel_at(g, n->out[0], vals), f;
    const ir_value *a = &g->values[n->in[0]], *w = n->n_in > 1 ? &g->values[n->in[1]] : NULL;
    switch (n->op) {
    case IR_OP_MatMul: f = 2.0 * out * (double)ir_dim_eval(g, a->dims[a->rank - 1], vals); break;
    case IR_OP_Gemm: f = 2.0 * out * (double)ir_dim_eval(g, a->dims[ir_attr_int(n, "transA") ? 0 : 1], vals); break;
    case IR_OP_Conv: /* each output element: (C/group) x kernel MACs */
        f = 2.0 * out * numel_at(g, n->in[1], vals) / (double)ir_dim_eval(g, w->dims[0], vals);
        break;
    default: return 0;
    }
    return f > 0 ? f : 0;
}

static int cmp_count(const void *x, const void *y) {
    const int *a = x, *b = y;
    return b[1] != a[1] ? b[1] - a[1] : a[0] - b[0];
}

static int run_inspect(int argc, char **argv) {
    const char *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(&verb_inspect, "unknown option '%s'", argv[i]);
        if (model) return cli_usage_error(&verb_inspect, "more than one model given");
        model = argv[i];
    }
    if (!model) return cli_usage_error(&verb_inspect, "no model given");
    diag d;
    diag_init(&d);
    ir_graph *g = model_load(model, &d);
    if (!g) return cli_fail(&d);

    printf("model: %s\ngraph: %s\n", model, g->name);
    for (uint32_t i = 0; i < g->n_meta; i++) printf("%s: %s\n", g->meta[i].key, g->meta[i].value);
    printf("inputs (%u):\n", g->n_inputs);
    for (uint32_t i = 0; i < g->n_inputs; i++) print_value(g, g->inputs[i]);
    printf("outputs (%u):\n", g->n_outputs);
    for (uint32_t i = 0; i < g->n_outputs; i++) print_value(g, g->outputs[i]);

    int hist[IR_OP_COUNT][2];
    for (int op = 0; op < IR_OP_COUNT; op++) hist[op][0] = op, hist[op][1] = 0;
    /* FLOPs for every named symbol (batch, seq, ...) set to 1 */
    int64_t *vals = malloc((g->n_syms ? g->n_syms : 1) * sizeof *vals);
    if (!vals) {
        ir_graph_free(g);
        return EXIT_USER;
    }
    char named[256] = "";
    size_t nl = 0;
    for (uint32_t s = 0; s < g->n_syms; s++) {
        bool is_named = g->syms[s].kind == IR_SYM_NAMED;
        vals[s] = is_named ? 1 : -1;
        if (is_named && nl < sizeof named - 1)
            nl += (size_t)snprintf(named + nl, sizeof named - nl, "%s%s=1", nl ? ", " : "", g->syms[s].name);
    }
    double flops = 0;
    uint32_t live = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        live++;
        hist[n->op][1]++;
        flops += node_flops(g, n, vals);
    }
    qsort(hist, IR_OP_COUNT, sizeof hist[0], cmp_count);
    printf("ops (%u nodes):\n", live);
    for (int k = 0; k < IR_OP_COUNT && hist[k][1]; k++)
        printf("  %-24s %d\n", ir_op_get((ir_op)hist[k][0])->name, hist[k][1]);

    uint64_t params = 0, bytes = 0;
    uint32_t consts = 0;
    for (uint32_t v = 0; v < g->n_values; v++) {
        if (g->values[v].kind != IR_VALUE_CONST) continue;
        int64_t n = ir_value_numel(g, v);
        consts++;
        params += n > 0 ? (uint64_t)n : 0;
        bytes += g->values[v].nbytes;
    }
    printf("parameters: %llu in %u constants, %llu bytes (%.2f MiB)\n", (unsigned long long)params, consts,
           (unsigned long long)bytes, (double)bytes / (1024.0 * 1024.0));
    printf("flops (MatMul/Gemm/Conv): %.4g%s%s%s\n", flops, nl ? " (with " : "", named, nl ? ")" : "");
    free(vals);
    ir_graph_free(g);
    return EXIT_OK;
}
