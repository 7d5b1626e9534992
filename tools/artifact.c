/* artifact.c — building, loading and running compiled models for the
 * compile and run verbs (see artifact.h). */
#include "artifact.h"
#include "calibrate.h"
#include "step_profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/run_util.h"
#include "tensor_io.h"

int cli_run_passes(ir_graph *g, const pass_options *popts, diag *d) {
    const pass_quant_options *q = popts ? &popts->quant : NULL; /* NULL: the default passes */
    if (!q || !q->calibrate_dir || q->ranges) return pass_pipeline(g, popts, d);
    if (q->mode != PASS_QUANT_INT8)
        return diag_error(d, "--calibrate %s: static quantization is --quantize int8 only", q->calibrate_dir);
    /* static int8: the ranges from the samples first */
    pass_options calibrated = *popts;
    int rc = cli_calibrate(g->source, popts, (pass_act_range **)&calibrated.quant.ranges, &calibrated.quant.n_ranges, d);
    if (rc == 0) rc = pass_pipeline(g, &calibrated, d);
    cli_calibrate_free((pass_act_range *)calibrated.quant.ranges, calibrated.quant.n_ranges);
    return rc;
}

int cli_lower_graph(ir_graph *g, const pass_options *popts, int fuse, kir_program **out, diag *d) {
    *out = NULL;
    if (cli_run_passes(g, popts, d)) return -1;
    kir_program *p = kir_lower(g, d);
    /* epilogues first, so that a ReLU after a Conv is not inlined into the next Conv's loads */
    if (!p || (fuse && (kir_fuse_epilogue(p, d) || kir_fuse(p, d) || kir_fuse_epilogue(p, d))) || kir_prune(p, d)) {
        kir_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

int cli_build_artifact(kir_program *p, const cg_options *o, cli_emit emit, const char *model, cg_bytes *main,
                       cg_bytes *header, diag *d) {
    cg_object obj = {0};
    char rt_dir[4096];
    size_t mark = d->len;
    int rc = cg_llvm_compile(p, o, &obj, d);
    if (rc == 0) switch (emit) {
        case CLI_EMIT_SO: rc = cg_link_shared(&obj, main, d); break;
        case CLI_EMIT_EXE:
            rc = cg_link_runtime_dir(obj.triple, rt_dir, sizeof rt_dir, d);
            if (rc == 0) rc = cg_link_exe(&obj, rt_dir, o->symbol, main, d);
            break;
        case CLI_EMIT_OBJ:
            rc = cg_link_header(&obj, o->symbol, header, d);
            if (rc == 0) {
                main->data = obj.data; /* the object itself: take it over */
                main->size = obj.size;
                obj.data = NULL;
                obj.size = 0;
            }
            break;
        }
    cg_object_free(&obj);
    /* the backend and the linker name the node or the tool, not the model */
    if (rc && strncmp(d->msg + mark + (mark > 0), model, strlen(model))) diag_prefix_since(d, mark, model);
    return rc;
}

int cli_is_elf(const char *path) {
    unsigned char head[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == 4 && !memcmp(head, "\177ELF", 4);
}

int cli_load_shared(const cg_bytes *so, const char *name, smelt_model **m, diag *d) {
    const char *tmp = getenv("TMPDIR");
    char path[4096], err[2048];
    snprintf(path, sizeof path, "%s/smelt-run-XXXXXX.so", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 3);
    if (fd < 0) return diag_error(d, "%s: cannot create a temporary file: %s", path, strerror(errno));
    size_t done = 0;
    while (done < so->size) {
        ssize_t w = write(fd, so->data + done, so->size - done);
        if (w <= 0) {
            close(fd);
            unlink(path);
            return diag_error(d, "%s: write failed: %s", path, strerror(errno));
        }
        done += (size_t)w;
    }
    close(fd);
    int rc = smelt_load(path, m, err, sizeof err);
    unlink(path); /* the loader holds its mapping */
    return rc ? diag_error(d, "%s: %s", name, err) : 0;
}

/* Check given tensor against the model's input i and bind it. */
int cli_bind_input(smelt_session *s, const smelt_model *m, int i, const interp_tensor *t, diag *d) {
    smelt_tensor_info info;
    char err[2048];
    if (smelt_input_info(m, i, &info)) return diag_error(d, "input %d: no such input", i);
    if (strcmp(info.dtype, ir_dtype_name(t->dtype)))
        return diag_error(d, "input '%s' must be %s, the file holds %s", info.name, info.dtype, ir_dtype_name(t->dtype));
    if (smelt_set_input(s, i, t->data, t->shape, t->rank, err, sizeof err)) return diag_error(d, "%s", err);
    return 0;
}

static int write_outputs(smelt_session *s, const smelt_model *m, const char *outdir, diag *d) {
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
        return diag_error(d, "%s: cannot create folder: %s", outdir, strerror(errno));
    for (int o = 0; o < smelt_num_outputs(m); o++) {
        smelt_tensor_info info;
        const void *data;
        interp_tensor t = {0};
        if (smelt_output_info(m, o, &info) || smelt_get_output(s, o, &data, t.shape, &t.rank))
            return diag_error(d, "output %d: not available", o);
        t.dtype = ir_dtype_from_name(info.dtype, -1);
        if (t.dtype == IR_DTYPE_NONE) return diag_error(d, "output '%s': unknown dtype %s", info.name, info.dtype);
        int64_t n = 1;
        for (int k = 0; k < t.rank; k++) n *= t.shape[k];
        t.data = (void *)data;
        t.nbytes = (size_t)ir_dtype_storage_bytes(t.dtype, n);
        char path[4096];
        rt_output_path(path, sizeof path, outdir, info.name);
        if (tensor_write_npy(path, &t, d)) return -1;
    }
    return 0;
}

int cli_run_model(smelt_model *m, const interp_tensor *in, int threads, int repeat, int profile,
                  double load_start_ms, const char *outdir, diag *d) {
    smelt_session *s = NULL;
    char err[2048];
    if (smelt_session_new(m, &(smelt_options){.threads = threads}, &s, err, sizeof err)) return diag_error(d, "%s", err);
    cli_step_profile prof = {0};
    int rc = profile && cli_step_profile_attach(&prof, s) ? diag_error(d, "out of memory") : 0;
    if (rc == 0) rc = cli_run_session(s, m, in, repeat, load_start_ms, outdir, d);
    if (rc == 0 && profile) cli_step_profile_print(&prof, getenv("SMELT_PROFILE_ALL") ? 1 << 30 : 25, stdout);
    cli_step_profile_free(&prof);
    smelt_session_free(s);
    return rc;
}

int cli_run_session(smelt_session *s, smelt_model *m, const interp_tensor *in, int repeat, double load_start_ms,
                    const char *outdir, diag *d) {
    char err[2048];
    double med, min, first;
    for (int i = 0; i < smelt_num_inputs(m); i++)
        if (cli_bind_input(s, m, i, &in[i], d)) return -1;
    /* the first run (the warm-up of --repeat), timed from the load */
    if (rt_run_timed(s, 1, &first, &min, err, sizeof err)) return diag_error(d, "%s", err);
    double first_end = rt_now_ms();
    if (repeat > 0 && rt_run_timed(s, repeat, &med, &min, err, sizeof err)) return diag_error(d, "%s", err);
    if (repeat > 0) {
        if (load_start_ms >= 0) printf("first run: %.3f ms including the load\n", first_end - load_start_ms);
        printf("latency: median %.3f ms, min %.3f ms over %d runs after one warm-up run\n", med, min, repeat);
    }
    return outdir ? write_outputs(s, m, outdir, d) : 0;
}
