/* cmd_quantize_report.c — `smelt quantize-report MODEL --mode MODE -i DIR`:
 * how much a quantization mode costs in accuracy and gains in size. The
 * model is compiled twice for this CPU (float, and with --quantize MODE),
 * both run on every input sample of DIR, and the report gives per output
 * the max abs error, the cosine similarity and the top-1 agreement (argmax
 * over the last axis, for outputs with rows of at least 2 classes), the
 * weight and artifact sizes before and after, and the peak memory (the
 * activation arena plus the mapped artifact). --per-layer also exposes the
 * output of every MatMul / Gemm / Conv of the float graph in both builds
 * (they keep their names through the quantize pass), so the table shows
 * where the error enters and how it grows.
 *
 * Samples: DIR/SAMPLE/INPUT.npy (one folder per sample), or DIR/INPUT.npy
 * (one sample), or for a model with one input every .npy file of DIR.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifact.h"
#include "cli.h"
#include "dir_list.h"
#include "frontend/load.h"
#include "pass_args.h"
#include "tensor_io.h"

static int run_report(int argc, char **argv);

const cli_verb verb_quantize_report = {
    "quantize-report", "accuracy, size and memory of a quantization mode",
    "usage: smelt quantize-report MODEL --mode f16|bf16|int8|q8_0|q4_0|q4_k -i DIR [--calibrate DIR] [--per-layer] [--threads N]\n"
    "                             [--quantize-skip GLOB] [--quantize-all] [--quantize-min N]\n\n"
    "Compiles MODEL for this CPU as it is and with --quantize MODE, runs both on\n"
    "the inputs in DIR (DIR/SAMPLE/INPUT.npy, one folder per sample; or\n"
    "DIR/INPUT.npy; or, for a one-input model, every .npy file of DIR. and prints per\n"
    "output the max abs error, the cosine similarity and the top-1 agreement\n"
    "(argmax over the last axis), the weight and artifact sizes, and the peak\n"
    "memory (activation arena + artifact). --per-layer adds the same figures\n"
    "for the output of every MatMul, Gemm and Conv.\n",
    run_report};

#define MAX_SAMPLES 4096
#define MAX_NAMES 256

typedef struct sample {
    interp_tensor in[MAX_NAMES];
} sample;

/* Error statistics of one output over all samples. */
typedef struct err_stat {
    double max_abs, dot, nf, nq;
    int64_t rows, agree;
    bool is_float;
} err_stat;

typedef struct build {
    cg_bytes so;
    smelt_model *m;
    pass_quant_stats qs;
    size_t arena;
} build;


static int read_npy(const char *path, interp_tensor *t, diag *d) {
    char *pb_name = NULL;
    int rc = tensor_read(path, t, &pb_name, d);
    free(pb_name);
    return rc;
}

/* Read the inputs of one sample folder: FOLDER/INPUT.npy for each name. */
static int read_sample(const char *folder, const ir_graph *g, sample *s, diag *d) {
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.npy", folder, g->values[g->inputs[i]].name);
        if (read_npy(path, &s->in[i], d)) return -1;
    }
    return 0;
}

/* Every sample of DIR (see the file comment). */
static int read_samples(const char *dir, const ir_graph *g, sample **out, int *n_out, diag *d) {
    char **names = NULL;
    int n = 0, rc = -1, k = 0;
    if (cli_list_dir(dir, &names, &n, d)) return -1;
    sample *s = calloc(n ? (size_t)n : 1, sizeof *s);
    char path[4096];
    if (!s) {
        diag_error(d, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "%s/%s", dir, n ? names[0] : "");
    if (n && cli_is_dir(path)) { /* one folder per sample */
        for (int i = 0; i < n && k < MAX_SAMPLES; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            if (cli_is_dir(path) && read_sample(path, g, &s[k++], d)) goto done;
        }
    } else {
        snprintf(path, sizeof path, "%s/%s.npy", dir, g->n_inputs ? g->values[g->inputs[0]].name : "");
        struct stat st;
        if (stat(path, &st) == 0 || g->n_inputs != 1) {
            if (read_sample(dir, g, &s[k++], d)) goto done;
        } else {
            for (int i = 0; i < n && k < MAX_SAMPLES; i++) {
                size_t len = strlen(names[i]);
                if (len < 4 || strcmp(names[i] + len - 4, ".npy")) continue;
                snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                if (read_npy(path, &s[k++].in[0], d)) goto done;
            }
        }
    }
    if (!k) {
        diag_error(d, "%s: no input samples found", dir);
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    *out = s;
    *n_out = k;
    return rc;
}

/* Add the output of every MatMul / Gemm / Conv as a graph output. */
static int expose_layers(ir_graph *g, diag *d) {
    uint32_t n = g->n_nodes;
    for (uint32_t i = 0; i < n; i++) {
        const ir_node *nd = &g->nodes[i];
        if (nd->dead || (nd->op != IR_OP_MatMul && nd->op != IR_OP_Gemm && nd->op != IR_OP_Conv)) continue;
        bool is_out = false;
        for (uint32_t o = 0; o < g->n_outputs; o++) is_out |= g->outputs[o] == nd->out[0];
        if (!is_out && g->values[nd->out[0]].dtype == IR_F32 && ir_add_output(g, nd->out[0], d)) return -1;
    }
    return 0;
}

/* Load, optionally quantize, lower, compile and load MODEL. */
static int make_build(const char *model, const pass_options *popts, bool per_layer, build *b, diag *d) {
    ir_graph *g = model_load(model, d);
    kir_program *p = NULL;
    int rc = -1;
    pass_options o = *popts;
    o.quant_stats = &b->qs;
    const char *slash = strrchr(model, '/');
    cg_options co = {.opt_level = -1, .pic = 1, .model = slash ? slash + 1 : model};
    if (g && (!per_layer || !expose_layers(g, d)) && !cli_lower_graph(g, &o, 1, &p, d) &&
        !cli_build_artifact(p, &co, CLI_EMIT_SO, model, &b->so, NULL, d) && !cli_load_shared(&b->so, model, &b->m, d))
        rc = 0;
    kir_free(p);
    ir_graph_free(g);
    return rc;
}

static void accumulate(err_stat *st, const float *f, const float *q, int64_t n, int64_t row) {
    st->is_float = true;
    for (int64_t i = 0; i < n; i++) {
        double a = f[i], b = q[i], e = fabs(a - b);
        if (e > st->max_abs || isnan(e)) st->max_abs = isnan(e) ? INFINITY : e;
        st->dot += a * b;
        st->nf += a * a;
        st->nq += b * b;
    }
    if (row < 2) return;
    for (int64_t r = 0; r + row <= n; r += row) {
        int64_t af = 0, aq = 0;
        for (int64_t k = 1; k < row; k++) {
            if (f[r + k] > f[r + af]) af = k;
            if (q[r + k] > q[r + aq]) aq = k;
        }
        st->rows++;
        st->agree += af == aq;
    }
}

/* Run both builds on one sample and add to the statistics. */
static int run_sample(build *fb, build *qb, const sample *s, int threads, err_stat *stats, diag *d) {
    smelt_session *sf = NULL, *sq = NULL;
    char err[2048];
    int rc = -1, n_in = smelt_num_inputs(fb->m), n_out = smelt_num_outputs(fb->m);
    smelt_options so = {.threads = threads};
    if (smelt_session_new(fb->m, &so, &sf, err, sizeof err) || smelt_session_new(qb->m, &so, &sq, err, sizeof err)) {
        diag_error(d, "%s", err);
        goto done;
    }
    for (int i = 0; i < n_in; i++)
        if (cli_bind_input(sf, fb->m, i, &s->in[i], d) || cli_bind_input(sq, qb->m, i, &s->in[i], d)) goto done;
    if (smelt_run(sf, err, sizeof err) || smelt_run(sq, err, sizeof err)) {
        diag_error(d, "%s", err);
        goto done;
    }
    if (smelt_arena_bytes(sf) > fb->arena) fb->arena = smelt_arena_bytes(sf);
    if (smelt_arena_bytes(sq) > qb->arena) qb->arena = smelt_arena_bytes(sq);
    for (int o = 0; o < n_out; o++) {
        smelt_tensor_info info;
        const void *df, *dq;
        int64_t shf[IR_MAX_RANK], shq[IR_MAX_RANK];
        int rf, rq;
        if (smelt_output_info(fb->m, o, &info) || smelt_get_output(sf, o, &df, shf, &rf) ||
            smelt_get_output(sq, o, &dq, shq, &rq) || rf != rq) {
            diag_error(d, "output %d: not available", o);
            goto done;
        }
        if (strcmp(info.dtype, "f32")) continue;
        int64_t n = 1;
        for (int k = 0; k < rf; k++) n *= shf[k];
        accumulate(&stats[o], df, dq, n, rf >= 2 ? shf[rf - 1] : 0);
    }
    rc = 0;
done:
    smelt_session_free(sf);
    smelt_session_free(sq);
    return rc;
}

static double mb(double bytes) { return bytes / 1e6; }

static void print_stat(const char *name, const err_stat *st, bool top1) {
    double cos = st->nf > 0 && st->nq > 0 ? st->dot / sqrt(st->nf * st->nq) : (st->nf == st->nq ? 1 : 0);
    printf("  %-56s %12.4g %10.6f", name, st->max_abs, cos);
    if (top1 && st->rows) printf("   %lld/%lld (%.1f%%)", (long long)st->agree, (long long)st->rows,
                                 100.0 * (double)st->agree / (double)st->rows);
    printf("\n");
}

static int run_report(int argc, char **argv) {
    const char *model = NULL, *dir = NULL;
    int per_layer = 0, threads = 0;
    pass_options popts;
    pass_args_init(&popts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--mode")) {
            if (++i >= argc || pass_quant_mode_parse(argv[i], &popts.quant.mode))
                return cli_usage_error(&verb_quantize_report, "--mode needs f16, bf16, int8, q8_0, q4_0 or q4_k");
            continue;
        }
        int pa = pass_args_parse(&popts, argc, argv, &i);
        if (pa < 0) return cli_usage_error(&verb_quantize_report, "bad or missing value for '%s'", argv[i]);
        if (pa) continue;
        if (!strcmp(a, "-i")) {
            if (++i >= argc) return cli_usage_error(&verb_quantize_report, "-i needs a folder");
            dir = argv[i];
        } else if (!strcmp(a, "--per-layer")) {
            per_layer = 1;
        } else if (!strcmp(a, "--threads")) {
            if (++i >= argc || (threads = atoi(argv[i])) < 0)
                return cli_usage_error(&verb_quantize_report, "--threads needs a count");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(&verb_quantize_report, "unknown option '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error(&verb_quantize_report, "more than one model given ('%s' and '%s')", model, a);
        }
    }
    if (!model) return cli_usage_error(&verb_quantize_report, "no model given");
    if (!dir) return cli_usage_error(&verb_quantize_report, "no input folder given (-i DIR)");
    if (!popts.quant.mode) return cli_usage_error(&verb_quantize_report, "no mode given (--mode f16|bf16|int8|q8_0|q4_0|q4_k)");

    diag d;
    diag_init(&d);
    pass_options fopts = popts;
    fopts.quant.mode = PASS_QUANT_NONE;
    fopts.quant.calibrate_dir = NULL; /* the float model needs no ranges */
    build fb = {0}, qb = {0};
    sample *samples = NULL;
    err_stat *stats = NULL;
    int n_samples = 0, rc = -1;
    ir_graph *g = model_load(model, &d);
    if (!g) return cli_fail(&d);
    if (g->n_inputs > MAX_NAMES) {
        diag_error(&d, "%s: more than %d inputs", model, MAX_NAMES);
        goto done;
    }
    if (read_samples(dir, g, &samples, &n_samples, &d) || make_build(model, &fopts, per_layer, &fb, &d) ||
        make_build(model, &popts, per_layer, &qb, &d))
        goto done;
    int n_out = smelt_num_outputs(fb.m);
    if (n_out != smelt_num_outputs(qb.m)) {
        diag_error(&d, "%s: the quantized build has %d outputs, the float one %d", model, smelt_num_outputs(qb.m),
                   n_out);
        goto done;
    }
    stats = calloc((size_t)n_out, sizeof *stats);
    if (!stats) {
        diag_error(&d, "out of memory");
        goto done;
    }
    for (int k = 0; k < n_samples; k++)
        if (run_sample(&fb, &qb, &samples[k], threads, stats, &d)) goto done;

    printf("%s: --quantize %s, %d sample%s\n", model, pass_quant_mode_name(popts.quant.mode), n_samples,
           n_samples == 1 ? "" : "s");
    printf("contractions (and, in the block modes, embedding tables) with constant weights: %d quantized, %d kept float\n", qb.qs.quantized, qb.qs.kept);
    for (int k = 0; k < qb.qs.n_why && k < PASS_QUANT_MAX_WHY; k++) printf("  kept float: %s\n", qb.qs.why[k]);
    if (qb.qs.n_why > PASS_QUANT_MAX_WHY) printf("  (and %d more kept float)\n", qb.qs.n_why - PASS_QUANT_MAX_WHY);
    printf("their weights: %.2f MB -> %.2f MB (%.2fx smaller)\n", mb((double)qb.qs.weight_bytes_before),
           mb((double)qb.qs.weight_bytes_after),
           qb.qs.weight_bytes_after ? (double)qb.qs.weight_bytes_before / (double)qb.qs.weight_bytes_after : 0);
    printf("artifact: %.2f MB -> %.2f MB\n", mb((double)fb.so.size), mb((double)qb.so.size));
    printf("peak memory (activation arena + artifact): %.2f MB -> %.2f MB\n", mb((double)(fb.arena + fb.so.size)),
           mb((double)(qb.arena + qb.so.size)));
    int n_model_out = (int)g->n_outputs;
    printf("\n  %-56s %12s %10s   %s\n", "output", "max abs err", "cosine", "top-1 agreement");
    for (int o = 0; o < n_out; o++) {
        smelt_tensor_info info;
        if (o == n_model_out) printf("\nper layer (MatMul / Gemm / Conv outputs, in graph order):\n");
        if (!smelt_output_info(fb.m, o, &info) && stats[o].is_float) print_stat(info.name, &stats[o], o < n_model_out);
    }
    rc = 0;
done:
    for (int k = 0; k < n_samples; k++)
        for (uint32_t i = 0; i < g->n_inputs; i++) free(samples[k].in[i].data);
    free(samples);
    free(stats);
    smelt_model_free(fb.m);
    smelt_model_free(qb.m);
    cg_bytes_free(&fb.so);
    cg_bytes_free(&qb.so);
    ir_graph_free(g);
    return rc ? cli_fail(&d) : EXIT_OK;
}
