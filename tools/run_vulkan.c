/* run_vulkan.c — `smelt run MODEL --target vulkan`: the model compiled in
 * memory twice from one kernel program, for this CPU (codegen/llvm: the
 * artifact's steps, which also run every kernel the device cannot) and as
 * SPIR-V (codegen/spirv, for the features of the chosen device), loaded,
 * and run with the Vulkan executor attached to the session
 * (runtime/vulkan). --profile prints each dispatch's device time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "codegen/spirv/spv.h"
#include "run_vulkan.h"
#include "runtime/rt_session.h"
#include "runtime/vulkan/vk.h"

/* What the device offers; contractions are tiled on GPUs, or as
 * SMELT_VK_TILE=0/1 says (the tests tile on lavapipe too). */
static void features_of(const rt_vk_device_info *i, spv_features *f) {
    const char *tile = getenv("SMELT_VK_TILE");
    *f = (spv_features){.float64 = i->float64, .int8 = i->int8, .int16 = i->int16, .storage8 = i->storage8,
                        .storage16 = i->storage16, .max_storage_buffers = i->max_storage_buffers,
                        .tiled = tile && *tile ? *tile != '0' : strcmp(i->type, "cpu") != 0,
                        .coop = rt_vk_has_coop(i, 16, 16, 16) && !getenv("SMELT_VK_NO_COOP"),
                        .one_n_axis = getenv("SMELT_VK_ONE_N") != NULL, .big_tile_groups = SPV_MIN_BIG_GROUPS};
}

void cli_vk_print_profile(FILE *f, const rt_vk_exec *x, const smelt_session *s) {
    uint32_t n;
    const rt_vk_profile *pr = rt_vk_last_profile(x, &n);
    double total = 0;
    fprintf(f, "profile (device time of each dispatch in the last run):\n");
    for (uint32_t i = 0; i < n; i++) {
        fprintf(f, "  %9.3f ms  step %u  %s\n", pr[i].ms, pr[i].step, s->man->steps[pr[i].step].node);
        total += pr[i].ms;
    }
    fprintf(f, "  %9.3f ms  total on the device, %u dispatches\n", total, n);
}

int cli_run_vulkan(kir_program *p, const char *model, const interp_tensor *in, const cli_vk_opts *vo, int threads,
                   int repeat, const char *outdir, diag *d) {
    char err[2048];
    rt_vk *vk = NULL;
    rt_vk_exec *x = NULL;
    smelt_model *m = NULL;
    smelt_session *s = NULL;
    spv_program sp = {0};
    cg_bytes so = {0};
    rt_vk_module *mods = NULL;
    int rc = -1;
    if (rt_vk_open(vo->device, &vk, err, sizeof err)) return diag_error(d, "%s", err);
    if (vo->half && !rt_vk_info(vk)->storage16) {
        diag_error(d, "%s: --precision f16/bf16 needs storageBuffer16BitAccess, which the Vulkan device '%s' lacks "
                   "(run without --precision, or with --target cpu)", model, rt_vk_info(vk)->name);
        goto done;
    }
    spv_features f;
    features_of(rt_vk_info(vk), &f);
    if (spv_compile(p, &f, &sp, d)) goto done;
    for (uint32_t k = 0; vo->verbose && k < sp.n_kernels; k++)
        if (!sp.k[k].words) fprintf(stderr, "vulkan: kernel %u '%s' runs on the host: %s\n", k,
                                    p->kernels[k].name ? p->kernels[k].name : "", sp.k[k].why);
    const char *slash = strrchr(model, '/');
    /* the CPU code runs only the steps the device does not: -O1 compiles it in half the time */
    cg_options o = {.opt_level = 1, .pic = 1, .model = slash ? slash + 1 : model, .shared_weights = 1};
    if (cli_build_artifact(p, &o, CLI_EMIT_SO, model, &so, NULL, d) || cli_load_shared(&so, model, &m, d)) goto done;
    if (smelt_session_new(m, &(smelt_options){.threads = threads}, &s, err, sizeof err)) {
        diag_error(d, "%s", err);
        goto done;
    }
    mods = calloc(sp.n_kernels ? sp.n_kernels : 1, sizeof *mods);
    if (!mods) {
        diag_error(d, "out of memory");
        goto done;
    }
    for (uint32_t k = 0; k < sp.n_kernels; k++) mods[k] = (rt_vk_module){sp.k[k].words, sp.k[k].n_words, sp.k[k].tile.tile, sp.k[k].tile.m_axis,
                                              sp.k[k].tile.n_axis, sp.k[k].tile.per_group};
    if (rt_vk_attach(vk, s, mods, sp.n_kernels, vo->profile, &x, err, sizeof err)) {
        diag_error(d, "%s: %s", model, err);
        goto done;
    }
    rc = cli_run_session(s, m, in, repeat, -1, outdir, d);
    if (rc == 0 && vo->profile) cli_vk_print_profile(stdout, x, s);
done:
    smelt_session_free(s);
    rt_vk_exec_free(x);
    smelt_model_free(m);
    rt_vk_close(vk);
    cg_bytes_free(&so);
    spv_program_free(&sp);
    free(mods);
    return rc;
}

int cli_vk_attach_session(smelt_session *s, const cli_vk_opts *vo, rt_vk **vk, rt_vk_exec **x, diag *d) {
    char err[2048];
    uint32_t on = 0;
    *vk = NULL;
    *x = NULL;
    if (rt_vk_open(vo->device, vk, err, sizeof err)) {
        if (vo->device >= 0) return diag_error(d, "%s", err); /* a device that was asked for by number */
        fprintf(stderr, "smelt run: %s: running on the CPU\n", err);
        return 1;
    }
    if (rt_vk_attach_artifact(*vk, s, vo->profile, x, &on, err, sizeof err)) {
        rt_vk_close(*vk);
        *vk = NULL;
        return diag_error(d, "%s", err);
    }
    if (vo->verbose) fprintf(stderr, "vulkan: %u steps on the device\n", on);
    return 0;
}

int cli_run_artifact_vulkan(smelt_model *m, const interp_tensor *in, const cli_vk_opts *vo, int threads, int repeat,
                            double load_start_ms, const char *outdir, diag *d) {
    char err[2048];
    rt_vk *vk = NULL;
    smelt_session *s = NULL;
    rt_vk_exec *x = NULL;
    int rc = -1;
    if (smelt_session_new(m, &(smelt_options){.threads = threads}, &s, err, sizeof err)) return diag_error(d, "%s", err);
    int on = cli_vk_attach_session(s, vo, &vk, &x, d);
    if (on == 1) {
        smelt_session_free(s);
        return cli_run_model(m, in, threads, repeat, vo->profile, load_start_ms, outdir, d);
    }
    if (on == 0) {
        rc = cli_run_session(s, m, in, repeat, load_start_ms, outdir, d);
        if (rc == 0 && vo->profile) cli_vk_print_profile(stdout, x, s);
    }
    smelt_session_free(s);
    rt_vk_exec_free(x);
    rt_vk_close(vk);
    return rc;
}
