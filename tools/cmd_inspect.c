/* cmd_inspect.c — `smelt inspect MODEL`: what a model is before compiling
 * it: inputs and outputs with symbolic shapes, op histogram, parameters and
 * their bytes, and an estimate of the FLOPs of its contractions. With
 * --memory, what it will take to run: the model is lowered as for
 * compiling (passes, kernel IR, fusion, pruning) and the activation arena
 * is planned as the runtime will plan it (ir/kir_memory.h), for the input
 * shapes that --shape binds. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "cli.h"
#include "frontend/load.h"
#include "ir/kir_memory.h"
#include "pass_args.h"

static int run_inspect(int argc, char **argv);

const cli_verb verb_inspect = {
    "inspect", "describe a model: inputs, outputs, ops, parameters, FLOPs",
    "usage: smelt inspect MODEL [--memory [--shape NAME=DxDx...]...]\n\n"
    "Prints the model's inputs and outputs with their dtypes and (symbolic)\n"
    "shapes, a histogram of its ops, the parameter count and bytes, and the\n"
    "estimated FLOPs of MatMul/Gemm/Conv for the shapes it declares.\n\n"
    "--memory also lowers the model as for compiling and prints the peak\n"
    "activation bytes (the arena the runtime plans, buffers sharing memory when\n"
    "their lives do not overlap), the activation bytes without reuse, the\n"
    "largest live set (and the step where it occurs) and the weights' bytes.\n"
    "Symbolic input dimensions take their sizes from --shape (input NAME,\n"
    "sizes separated by x); without them the unbound symbols are named.\n\n"
    "A GGUF file prints its version and alignment, every metadata key with its\n"
    "type and value (long arrays: element type, count, first elements), and the\n"
    "tensor table: name, type, shape (innermost first, as ggml stores it),\n"
    "offset in the data section and bytes, with totals by type.\n",
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


/* ---- --memory ---------------------------------------------------------------- */

#define MAX_SHAPES 64

typedef struct shape_arg {
    const char *name;
    int rank;
    int64_t dims[IR_MAX_RANK];
} shape_arg;

/* NAME=DxDx... (a scalar: NAME=) */
static int parse_shape(char *arg, shape_arg *out) {
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return -1;
    *eq = 0;
    out->name = arg;
    out->rank = 0;
    for (char *p = eq + 1; *p;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || out->rank == IR_MAX_RANK || (*end && *end != 'x')) return -1;
        out->dims[out->rank++] = v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return -1;
    }
    return 0;
}

/* Named symbols from the --shape bindings (vals: -1 when unbound). */
static int bind_shapes(ir_graph *g, const shape_arg *shapes, int n, int64_t *vals, diag *d) {
    for (uint32_t s = 0; s < g->n_syms; s++) vals[s] = -1;
    for (int i = 0; i < n; i++) {
        const ir_value *v = NULL;
        for (uint32_t k = 0; k < g->n_inputs && !v; k++)
            if (!strcmp(g->values[g->inputs[k]].name, shapes[i].name)) v = &g->values[g->inputs[k]];
        if (!v) return diag_error(d, "--shape %s: the model has no input '%s'", shapes[i].name, shapes[i].name);
        if (v->rank != shapes[i].rank)
            return diag_error(d, "--shape %s: rank %d given, the input has rank %d", shapes[i].name, shapes[i].rank, v->rank);
        for (int k = 0; k < v->rank; k++) {
            ir_dim x = v->dims[k];
            int64_t want = shapes[i].dims[k];
            if (x.sym >= 0 && g->syms[x.sym].kind == IR_SYM_NAMED && vals[x.sym] < 0) vals[x.sym] = want;
            else if (x.sym >= 0 && g->syms[x.sym].kind == IR_SYM_NAMED && vals[x.sym] != want)
                return diag_error(d, "--shape %s axis %d: %lld, but %s = %lld from an earlier axis", shapes[i].name, k,
                                  (long long)want, g->syms[x.sym].name, (long long)vals[x.sym]);
            else if (x.sym < 0 && x.c != want)
                return diag_error(d, "--shape %s axis %d: %lld given, the input has %lld", shapes[i].name, k,
                                  (long long)want, (long long)x.c);
        }
    }
    /* derived input dimensions must agree with the symbols just bound */
    for (int i = 0; i < n; i++)
        for (uint32_t k = 0; k < g->n_inputs; k++) {
            const ir_value *v = &g->values[g->inputs[k]];
            if (strcmp(v->name, shapes[i].name)) continue;
            for (int a = 0; a < v->rank; a++) {
                int64_t got = v->dims[a].sym >= 0 ? ir_dim_eval(g, v->dims[a], vals) : -1;
                if (got >= 0 && got != shapes[i].dims[a]) {
                    char buf[128];
                    ir_dim_format(g, v->dims[a], buf, sizeof buf);
                    return diag_error(d, "--shape %s axis %d: %lld given, but %s = %lld", shapes[i].name, a,
                                      (long long)shapes[i].dims[a], buf, (long long)got);
                }
            }
        }
    return 0;
}

static void print_bytes(const char *what, uint64_t bytes) {
    printf("  %-28s %llu bytes (%.2f MiB)\n", what, (unsigned long long)bytes, (double)bytes / (1024.0 * 1024.0));
}

/* The arena and the rest, for the symbol values vals. */
static void print_memory(const kir_program *p, const kir_memory *m, const int64_t *vals) {
    const ir_graph *g = p->g;
    char named[512] = "";
    size_t nl = 0;
    for (uint32_t s = 0; s < g->n_syms; s++)
        if (g->syms[s].kind == IR_SYM_NAMED && vals[s] >= 0 && nl < sizeof named - 1)
            nl += (size_t)snprintf(named + nl, sizeof named - nl, "%s%s=%lld", nl ? ", " : "", g->syms[s].name,
                                   (long long)vals[s]);
    printf("memory (%u kernels%s%s):\n", p->n_kernels, nl ? "; " : "", named);
    uint64_t weights = 0;
    uint32_t n_consts = 0, n_acts = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        if (p->bufs[b].kind != KB_CONST) continue;
        int64_t n = 1;
        for (int k = 0; k < p->bufs[b].rank; k++) n *= p->bufs[b].dims[k].c;
        int64_t bytes = ir_dtype_storage_bytes(p->bufs[b].dtype, n);
        weights += bytes > 0 ? (uint64_t)bytes : 0;
        n_consts++;
    }
    if (!m->known) {
        char list[512] = "";
        size_t ll = 0;
        for (uint32_t i = 0; i < p->n_inputs; i++) {
            const kir_buffer *kb = &p->bufs[p->inputs[i]];
            for (int k = 0; k < kb->rank; k++) {
                int32_t s = kb->dims[k].sym;
                if (s < 0 || g->syms[s].kind != IR_SYM_NAMED || vals[s] >= 0 || strstr(list, g->syms[s].name)) continue;
                if (ll < sizeof list - 1)
                    ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s (input %s axis %d)", ll ? ", " : "",
                                           g->syms[s].name, kb->name, k);
            }
        }
        if (!ll && m->unbound >= 0) snprintf(list, sizeof list, "%s", g->syms[m->unbound].name);
        printf("  arena: unknown: unbound symbols: %s; bind them with --shape INPUT=DxDx...\n", list);
    } else {
        for (uint32_t e = 0; e < m->n_entries; e++) n_acts += m->plan[e].bytes && m->plan[e].first <= m->plan[e].last;
        uint64_t live;
        uint32_t t = kir_memory_peak_step(m, &live);
        print_bytes("arena (peak activations):", m->arena_bytes);
        print_bytes("activations without reuse:", kir_memory_sum(m));
        print_bytes("largest live set:", live);
        printf("  %-28s step %u of %u (%s)\n", "  at:", t, m->n_steps,
               t < p->n_kernels ? (p->kernels[t].name ? p->kernels[t].name : "?") : "after the last step: outputs");
        printf("  %-28s %u\n", "activation buffers:", n_acts);
    }
    if (m->n_deferred) printf("  %-28s %u (on the heap, not counted)\n", "data-dependent buffers:", m->n_deferred);
    printf("  %-28s %llu bytes (%.2f MiB) in %u constants\n", "weights:", (unsigned long long)weights,
           (double)weights / (1024.0 * 1024.0), n_consts);
}

/* Lower g as `smelt compile` does and print its memory for the symbol
 * values vals (bind_shapes). */
static int report_memory(ir_graph *g, const int64_t *vals, diag *d) {
    kir_program *p = NULL;
    kir_memory m = {0};
    pass_options popts;
    pass_args_init(&popts);
    int rc = -1;
    if (cli_run_passes(g, &popts, d)) goto done;
    p = kir_lower(g, d);
    if (!p || kir_fuse_epilogue(p, d) || kir_fuse(p, d) || kir_fuse_epilogue(p, d) || kir_prune(p, d)) goto done;
    if (kir_memory_plan(p, vals, &m, d)) goto done;
    print_memory(p, &m, vals);
    rc = 0;
done:
    kir_memory_free(&m);
    kir_free(p);
    return rc;
}

static int run_inspect(int argc, char **argv) {
    const char *model = NULL;
    shape_arg shapes[MAX_SHAPES];
    int n_shapes = 0, memory = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--memory")) {
            memory = 1;
            continue;
        }
        if (!strcmp(argv[i], "--shape")) {
            if (++i >= argc) return cli_usage_error(&verb_inspect, "--shape needs NAME=DxDx...");
            if (n_shapes == MAX_SHAPES) return cli_usage_error(&verb_inspect, "more than %d --shape", MAX_SHAPES);
            if (parse_shape(argv[i], &shapes[n_shapes++]))
                return cli_usage_error(&verb_inspect, "--shape '%s': expected NAME=DxDx... (sizes >= 0)", argv[i]);
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(&verb_inspect, "unknown option '%s'", argv[i]);
        if (model) return cli_usage_error(&verb_inspect, "more than one model given");
        model = argv[i];
    }
    if (!model) return cli_usage_error(&verb_inspect, "no model given");
    if (n_shapes && !memory) return cli_usage_error(&verb_inspect, "--shape is for --memory");
    if (!memory && model_detect_format(model) == MODEL_GGUF) return inspect_gguf(model);
    diag d;
    diag_init(&d);
    ir_graph *g = model_load(model, &d);
    if (!g) return cli_fail(&d);
    int64_t *mem_vals = memory ? malloc((g->n_syms ? g->n_syms : 1) * sizeof *mem_vals) : NULL;
    if (memory && (!mem_vals || bind_shapes(g, shapes, n_shapes, mem_vals, &d))) {
        if (!mem_vals) diag_error(&d, "out of memory");
        free(mem_vals);
        ir_graph_free(g);
        return cli_fail(&d);
    }

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
        free(mem_vals);
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
    int rc = memory && report_memory(g, mem_vals, &d) ? cli_fail(&d) : EXIT_OK;
    free(mem_vals);
    ir_graph_free(g);
    return rc;
}
