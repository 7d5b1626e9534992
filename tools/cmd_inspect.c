/* cmd_inspect.c — `smelt inspect MODEL`: what a model is before compiling
 * it: inputs and outputs with symbolic shapes, op histogram, parameters and
 * their bytes, and an estimate of the FLOPs of its contractions. */
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

static int64_t numel_or(const ir_graph *g, ir_id v) { return v == IR_NONE ? -1 : ir_value_numel(g, v); }

/* 2 x multiply-accumulates of a contraction; -1 when shapes are symbolic. */
static double node_flops(ir_graph *g, const ir_node *n) {
    int64_t out = numel_or(g, n->out[0]);
    if (out < 0) return -1;
    const ir_value *a = &g->values[n->in[0]], *w = n->n_in > 1 ? &g->values[n->in[1]] : NULL;
    switch (n->op) {
    case IR_OP_MatMul: {
        ir_dim k = a->dims[a->rank - 1];
        return ir_dim_is_const(k) ? 2.0 * (double)out * (double)k.c : -1;
    }
    case IR_OP_Gemm: {
        ir_dim k = a->dims[ir_attr_int(n, "transA") ? 0 : 1];
        return ir_dim_is_const(k) ? 2.0 * (double)out * (double)k.c : -1;
    }
    case IR_OP_Conv: {
        /* each output element: (C/group) x kernel MACs */
        double per = 1;
        for (int i = 1; i < w->rank; i++) {
            if (!ir_dim_is_const(w->dims[i])) return -1;
            per *= (double)w->dims[i].c;
        }
        return 2.0 * (double)out * per;
    }
    default: return 0;
    }
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
    printf("inputs (%u):\n", g->n_inputs);
    for (uint32_t i = 0; i < g->n_inputs; i++) print_value(g, g->inputs[i]);
    printf("outputs (%u):\n", g->n_outputs);
    for (uint32_t i = 0; i < g->n_outputs; i++) print_value(g, g->outputs[i]);

    int hist[IR_OP_COUNT][2];
    for (int op = 0; op < IR_OP_COUNT; op++) hist[op][0] = op, hist[op][1] = 0;
    double flops = 0;
    int symbolic = 0;
    uint32_t live = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        live++;
        hist[n->op][1]++;
        double f = node_flops(g, n);
        if (f < 0) symbolic = 1;
        else flops += f;
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
    printf("flops (MatMul/Gemm/Conv): %.4g%s\n", flops,
           symbolic ? " (nodes with symbolic shapes not counted)" : "");
    ir_graph_free(g);
    return EXIT_OK;
}
