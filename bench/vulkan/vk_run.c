/* vk_run.c — run an artifact compiled with `smelt compile --target
 * cpu,vulkan` on a Vulkan device, without the compiler: only the runtime
 * (libsmeltrt.a + libsmeltrt_vk.a), so it runs on machines that have a GPU
 * driver but no LLVM (bench/vulkan/README.md). Prints the latency and
 * writes each output as OUTDIR/NAME.npy (f32 and i64 outputs).
 *
 *   vk_run ARTIFACT.so OUTDIR [--cpu] [--device N] [--repeat N] [--profile] NAME=FILE.npy|NAME=rand ...
 *
 * NAME=rand gives an f32 input of fixed shape uniform values in [-1, 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/npy.h"
#include "runtime/run_util.h"
#include "runtime/smelt.h"
#include "runtime/vulkan/vk.h"

static int fail(const char *msg) {
    fprintf(stderr, "vk_run: %s\n", msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: vk_run ARTIFACT.so OUTDIR [--cpu] [--device N] [--repeat N] [--profile] NAME=FILE.npy ...\n"), 2;
    char err[2048];
    int cpu = 0, device = -1, repeat = 10, profile = 0;
    smelt_model *m;
    if (smelt_load(argv[1], &m, err, sizeof err)) return fail(err);
    smelt_session *s;
    if (smelt_session_new(m, NULL, &s, err, sizeof err)) return fail(err);
    npy_array in[64];
    int n_in = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--cpu")) cpu = 1;
        else if (!strcmp(argv[i], "--profile")) profile = 1;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else {
            char *eq = strchr(argv[i], '=');
            if (!eq || n_in == 64) return fail("inputs are NAME=FILE.npy");
            *eq = 0;
            int k = -1;
            smelt_tensor_info t;
            for (int j = 0; j < smelt_num_inputs(m); j++)
                if (!smelt_input_info(m, j, &t) && !strcmp(t.name, argv[i])) k = j;
            if (k < 0) return fail("no such input");
            if (!strcmp(eq + 1, "rand")) {
                smelt_input_info(m, k, &t);
                npy_array *a = &in[n_in];
                *a = (npy_array){.dtype = NPY_F32, .rank = t.rank};
                for (int d = 0; d < t.rank; d++) a->shape[d] = t.dims[d] < 0 ? 1 : t.dims[d];
                a->nbytes = (size_t)npy_numel(a) * 4;
                float *f = malloc(a->nbytes ? a->nbytes : 4);
                if (!f) return fail("out of memory");
                uint32_t r = 12345;
                for (size_t e = 0; e < a->nbytes / 4; e++) {
                    r = r * 1664525u + 1013904223u;
                    f[e] = (float)(r >> 8) / 8388608.0f - 1.0f;
                }
                a->data = f;
            } else if (npy_read_file(eq + 1, &in[n_in], err, sizeof err)) {
                return fail(err);
            }
            if (smelt_set_input(s, k, in[n_in].data, in[n_in].shape, in[n_in].rank, err, sizeof err)) return fail(err);
            n_in++;
        }
    }
    rt_vk *vk = NULL;
    rt_vk_exec *x = NULL;
    uint32_t on = 0;
    if (!cpu) {
        if (rt_vk_open(device, &vk, err, sizeof err)) return fail(err);
        if (rt_vk_attach_artifact(vk, s, profile, &x, &on, err, sizeof err)) return fail(err);
        printf("device: %s; %u steps on the device\n", rt_vk_info(vk)->name, on);
    }
    double med, min, first;
    double t0 = rt_now_ms();
    if (rt_run_timed(s, 1, &first, &min, err, sizeof err)) return fail(err);
    printf("first run: %.3f ms\n", rt_now_ms() - t0);
    if (repeat > 0 && rt_run_timed(s, repeat, &med, &min, err, sizeof err)) return fail(err);
    if (repeat > 0) printf("latency: median %.3f ms, min %.3f ms over %d runs\n", med, min, repeat);
    if (x && profile) {
        uint32_t n;
        const rt_vk_profile *pr = rt_vk_last_profile(x, &n);
        for (uint32_t i = 0; i < n; i++) printf("  %9.3f ms  step %u\n", pr[i].ms, pr[i].step);
    }
    mkdir(argv[2], 0755);
    for (int o = 0; o < smelt_num_outputs(m); o++) {
        smelt_tensor_info t;
        npy_array a = {0};
        const void *data;
        if (smelt_output_info(m, o, &t) || smelt_get_output(s, o, &data, a.shape, &a.rank)) return fail("no output");
        if (strcmp(t.dtype, "f32") && strcmp(t.dtype, "i64")) continue;
        a.dtype = strcmp(t.dtype, "f32") ? NPY_I64 : NPY_F32;
        a.data = (void *)data;
        a.nbytes = (size_t)npy_numel(&a) * npy_dtype_size(a.dtype);
        char path[4096];
        rt_output_path(path, sizeof path, argv[2], t.name);
        if (npy_write_file(path, &a, err, sizeof err)) return fail(err);
    }
    smelt_session_free(s);
    rt_vk_exec_free(x);
    rt_vk_close(vk);
    smelt_model_free(m);
    for (int i = 0; i < n_in; i++) npy_free(&in[i]);
    return 0;
}
