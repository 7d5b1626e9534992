/* calibrate.c — activation ranges for static int8 (calibrate.h): the
 * float graph, after the passes that run before quantization, gets the
 * activations int8 would quantize as extra outputs, is compiled for this
 * CPU in memory and run on every sample; min and max accumulate per value. */
#include "calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "dir_list.h"
#include "frontend/load.h"
#include "tensor_io.h"

/* The sample entries of dir (paths, sorted): subfolders, else .npy files. */
static int list_samples(const char *dir, char ***out, int *n, diag *d) {
    char **names = NULL;
    int k = 0, folders = 0, npy = 0;
    if (cli_list_dir(dir, &names, &k, d)) return -1;
    for (int i = 0; i < k; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = strlen(names[i]);
        folders += cli_is_dir(path);
        npy += !cli_is_dir(path) && len > 4 && !strcmp(names[i] + len - 4, ".npy");
        free(names[i]);
        names[i] = strdup(path);
    }
    *out = names, *n = k;
    if (!k) return diag_error(d, "%s: no samples (subfolders of NAME.npy, or .npy files)", dir);
    if (folders + npy != k || (folders && npy))
        return diag_error(d, "%s: expected only sample folders or only .npy files", dir);
    return 0;
}

/* Bind the inputs of one sample (folder of NAME.npy, or one .npy file). */
static int bind_sample(smelt_session *s, smelt_model *m, const char *sample, interp_tensor *t, diag *d) {
    int n_in = smelt_num_inputs(m);
    bool folder = cli_is_dir(sample);
    if (!folder && n_in != 1)
        return diag_error(d, "%s: the model has %d inputs: give each sample as a folder of NAME.npy", sample, n_in);
    for (int i = 0; i < n_in; i++) {
        smelt_tensor_info info;
        char path[4096];
        if (smelt_input_info(m, i, &info)) return diag_error(d, "input %d: not available", i);
        if (folder) snprintf(path, sizeof path, "%s/%s.npy", sample, info.name);
        else snprintf(path, sizeof path, "%s", sample);
        char *pb_name = NULL;
        int rc = tensor_read(path, &t[i], &pb_name, d);
        free(pb_name);
        if (rc) return -1;
        if (cli_bind_input(s, m, i, &t[i], d)) return -1;
    }
    return 0;
}

/* Widen r by the float values of output o of the last run. */
static void widen(smelt_session *s, int o, pass_act_range *r) {
    const void *data;
    int64_t shape[8];
    int rank;
    if (smelt_get_output(s, o, &data, shape, &rank)) return;
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= shape[k];
    const float *x = data;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        if (x[i] < r->min) r->min = x[i];
        if (x[i] > r->max) r->max = x[i];
    }
}

static int run_samples(smelt_model *m, const char *dir, pass_act_range *r, int n_r, int first_out, diag *d) {
    char **samples = NULL, err[2048];
    int n_samples = 0, rc = list_samples(dir, &samples, &n_samples, d);
    smelt_session *s = NULL;
    if (rc == 0 && smelt_session_new(m, NULL, &s, err, sizeof err)) rc = diag_error(d, "%s", err);
    interp_tensor t[64];
    for (int k = 0; rc == 0 && k < n_samples; k++) {
        memset(t, 0, sizeof t);
        if (smelt_num_inputs(m) > 64) rc = diag_error(d, "%s: more than 64 inputs", dir);
        if (rc == 0) rc = bind_sample(s, m, samples[k], t, d);
        if (rc == 0 && smelt_run(s, err, sizeof err)) rc = diag_error(d, "%s: %s", samples[k], err);
        for (int i = 0; rc == 0 && i < n_r; i++) widen(s, first_out + i, &r[i]);
        for (int i = 0; i < 64; i++) free(t[i].data);
    }
    for (int k = 0; samples && k < n_samples; k++) free(samples[k]);
    free(samples);
    smelt_session_free(s);
    return rc;
}

int cli_calibrate(const char *model, const pass_options *popts, pass_act_range **out, int *n_out, diag *d) {
    *out = NULL, *n_out = 0;
    pass_options plain = *popts; /* the passes before quantization, and none of it */
    plain.quant.mode = PASS_QUANT_NONE;
    plain.quant.calibrate_dir = NULL;
    ir_graph *g = model_load(model, d);
    if (!g || pass_pipeline(g, &plain, d)) {
        ir_graph_free(g);
        return -1;
    }
    int cap = (int)g->n_values, n = 0, first_out = (int)g->n_outputs, rc = 0;
    ir_id *x = malloc((size_t)(cap ? cap : 1) * sizeof *x);
    pass_act_range *r = NULL;
    if (!x) rc = diag_error(d, "out of memory");
    if (rc == 0) n = pass_quant_int8_inputs(g, &popts->quant, x, cap);
    if (rc == 0 && !(r = calloc((size_t)(n ? n : 1), sizeof *r))) rc = diag_error(d, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        r[i] = (pass_act_range){.name = strdup(g->values[x[i]].name), .min = INFINITY, .max = -INFINITY};
        if (!r[i].name || ir_add_output(g, x[i], d)) rc = -1;
    }
    kir_program *p = NULL;
    cg_bytes so = {0};
    smelt_model *m = NULL;
    cg_options o = {.opt_level = -1, .pic = 1, .model = model};
    if (rc == 0) rc = cli_lower_graph(g, &plain, 1, &p, d);
    if (rc == 0) rc = cli_build_artifact(p, &o, CLI_EMIT_SO, model, &so, NULL, d);
    if (rc == 0) rc = cli_load_shared(&so, model, &m, d);
    if (rc == 0) rc = run_samples(m, popts->quant.calibrate_dir, r, n, first_out, d);
    smelt_model_free(m);
    cg_bytes_free(&so);
    kir_free(p);
    ir_graph_free(g);
    free(x);
    if (rc) {
        cli_calibrate_free(r, n);
        return -1;
    }
    *out = r, *n_out = n;
    return 0;
}

void cli_calibrate_free(pass_act_range *r, int n) {
    for (int i = 0; r && i < n; i++) free((char *)r[i].name);
    free(r);
}
