/* test_cg_llvm.c — the LLVM backend against the reference interpreter.
 *
 * For an ONNX node case (a folder with model.onnx and test_data_set_0) the
 * model is loaded with the case's inputs (small integer inputs specialized
 * as `smelt run` does), optimized by the graph passes, lowered, fused and
 * pruned; the interpreter's outputs
 * (ir/interp.c, the oracle) are compared with those of the compiled object
 * run through tests/unit/support/cg_harness.c. Floats must match within
 * 1e-5 relative (f32/f64; reductions reassociate) or one f16/bf16 step,
 * everything else bit for bit; NaN matches NaN.
 *
 *   test_cg_llvm                  a fast subset of the ONNX node cases
 *   test_cg_llvm --all [FILTER]   every node case (counts by outcome)
 *   test_cg_llvm DIR...           the given case folders
 *   test_cg_llvm --time MODEL     time cg_llvm_compile on a model
 *   test_cg_llvm --bench N DIR... run each case's compiled model N times
 *                                 (single thread) and print the time per
 *                                 run and the largest difference from the
 *                                 case's expected outputs (bench/ makes them)
 */
#include <float.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codegen/llvm/cg_llvm.h"
#include "frontend/load.h"
#include "ir/interp.h"
#include "ir/text.h"
#include "runtime/elem.h"
#include "passes/passes.h"
#include "runtime/half.h"
#include "runtime/minifloat.h"
#include "support/cg_harness.h"
#include "support/check.h"
#include "tools/tensor_io.h"

enum { R_MATCH, R_MISMATCH, R_COMPILE, R_LIB, R_LOAD, R_RUN, R_COUNT };
static const char *r_names[R_COUNT] = {"match", "mismatch", "compile-error", "library-step", "no-lowering",
                                       "run-error"};
static int exact_count;
static int bench_repeat; /* --bench: timed runs, expected outputs from the case */

static bool specializable(const interp_tensor *t, bool any) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->shape[i];
    return (any || t->dtype == IR_I64 || t->dtype == IR_I32) && n <= 64;
}

static bool dynamic_dims(const ir_graph *g) {
    for (uint32_t v = 0; v < g->n_values; v++)
        for (int i = 0; i < g->values[v].rank; i++)
            if (!ir_dim_is_const(g->values[v].dims[i])) return true;
    return false;
}

/* lowering and kernel fusion as `smelt run` does them */
static kir_program *lower(ir_graph *g, diag *d) {
    kir_program *p = kir_lower(g, d);
    if (p && (kir_fuse_epilogue(p, d) || kir_fuse(p, d) || kir_fuse_epilogue(p, d) || kir_prune(p, d))) {
        kir_free(p);
        return NULL;
    }
    return p;
}

static double elem_f(ir_dtype t, const void *p, int64_t i) { return rt_elem_read(t, p, i).f; }

/* 0: different; 1: equal within tolerance; 2: identical bytes */
static int compare(const interp_tensor *a, const interp_tensor *b, char *why, size_t n) {
    if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes) {
        snprintf(why, n, "dtype/shape differ");
        return 0;
    }
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) {
            snprintf(why, n, "shape differs at axis %d", i);
            return 0;
        }
    if (!memcmp(a->data, b->data, a->nbytes)) return 2;
    ir_dtype t = a->dtype;
    if (t != IR_F32 && t != IR_F64 && t != IR_F16 && t != IR_BF16) {
        snprintf(why, n, "%s bytes differ", ir_dtype_name(t));
        return 0;
    }
    int64_t numel = 1;
    for (int i = 0; i < a->rank; i++) numel *= a->shape[i];
    double rel = t == IR_F16 ? 1e-3 : t == IR_BF16 ? 8e-3 : 1e-5;
    for (int64_t i = 0; i < numel; i++) {
        double x = elem_f(t, a->data, i), y = elem_f(t, b->data, i);
        if (isnan(x) && isnan(y)) continue;
        if (x == y) continue;
        if (!(fabs(x - y) <= rel * (fabs(y) > 1 ? fabs(y) : 1))) {
            snprintf(why, n, "element %lld: compiled %.9g, interpreter %.9g", (long long)i, x, y);
            return 0;
        }
    }
    return 1;
}

static double now(void);

/* --bench: time bench_repeat runs, print ms per run and the largest error */
static void bench_case(cg_harness *h, const interp_tensor *in, interp_tensor *got, const ir_graph *g,
                       const interp_tensor *ref) {
    diag d;
    diag_init(&d);
    double best = 1e30;
    for (int r = 0; r < bench_repeat; r++) {
        interp_tensor tmp[64] = {0};
        double t0 = now();
        int rc = cg_harness_run(h, in, g->n_inputs, tmp, g->n_outputs, &d);
        double t = now() - t0;
        for (uint32_t k = 0; k < g->n_outputs; k++) free(tmp[k].data);
        if (rc) return;
        if (t < best) best = t;
    }
    double maxabs = 0, maxrel = 0;
    if (got[0].dtype == IR_F32 && ref[0].dtype == IR_F32 && got[0].nbytes == ref[0].nbytes)
        for (int64_t i = 0; i < (int64_t)(ref[0].nbytes / 4); i++) {
            double x = elem_f(IR_F32, got[0].data, i), y = elem_f(IR_F32, ref[0].data, i), e = fabs(x - y);
            if (e > maxabs) maxabs = e;
            if (e / (fabs(y) > 1 ? fabs(y) : 1) > maxrel) maxrel = e / (fabs(y) > 1 ? fabs(y) : 1);
        }
    printf("bench: best of %d runs %.3f ms; max |diff| %.3g, max diff/max(|ref|,1) %.3g\n", bench_repeat,
           best * 1e3, maxabs, maxrel);
}

static int check_case(const char *dir, char *why, size_t wn) {
    char model[1024], path[1100];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    diag d;
    diag_init(&d);
    char **names = NULL;
    uint32_t n_names = 0;
    int result = R_LOAD;
    interp_tensor given[64] = {0}, in[64] = {0}, ref[64] = {0}, got[64] = {0};
    onnx_input_binding bind[64];
    ir_graph *g = NULL;
    kir_program *p = NULL;
    cg_object obj = {0};
    cg_harness *h = NULL;
    if (onnx_list_inputs(model, &names, &n_names, &d) || n_names > 64) goto done;
    for (uint32_t k = 0; k < n_names; k++) {
        char *pb = NULL;
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%u.pb", dir, k);
        if (tensor_read(path, &given[k], &pb, &d)) goto done;
        free(pb);
    }
    for (int any = 0; any < 2; any++) {
        for (uint32_t k = 0; k < n_names; k++)
            bind[k] = (onnx_input_binding){names[k], given[k].dtype, given[k].rank, given[k].shape,
                                           specializable(&given[k], any) ? given[k].data : NULL, given[k].nbytes};
        diag_init(&d);
        ir_graph_free(g);
        g = model_load_bound(model, bind, n_names, &d);
        if (g && !dynamic_dims(g)) break;
    }
    if (!g || pass_pipeline(g, NULL, &d) || !(p = lower(g, &d))) goto done;
    if (g->n_inputs > 64 || g->n_outputs > 64) goto done;
    for (uint32_t i = 0; i < g->n_inputs; i++)
        for (uint32_t k = 0; k < n_names; k++)
            if (!strcmp(names[k], g->values[g->inputs[i]].name)) in[i] = given[k];
    for (uint32_t k = 0; k < p->n_kernels; k++)
        if (p->kernels[k].kind == KK_LIB) {
            snprintf(why, wn, "library routine %s", p->kernels[k].lib);
            result = R_LIB;
            goto done;
        }
    result = R_RUN;
    if (bench_repeat) {
        for (uint32_t k = 0; k < g->n_outputs; k++) {
            char *pb = NULL;
            snprintf(path, sizeof path, "%s/test_data_set_0/output_%u.pb", dir, k);
            if (tensor_read(path, &ref[k], &pb, &d)) goto done;
            free(pb);
        }
    } else if (interp_run(p, in, ref, &d))
        goto done;
    cg_options o = {.opt_level = -1, .pic = 1};
    result = R_COMPILE;
    if (cg_llvm_compile(p, &o, &obj, &d)) goto done;
    result = R_RUN;
    if (!(h = cg_harness_load(&obj, NULL, &d))) goto done;
    int rc = cg_harness_run(h, in, g->n_inputs, got, g->n_outputs, &d);
    if (rc) {
        result = rc == 1 ? R_LIB : R_RUN;
        goto done;
    }
    if (bench_repeat) bench_case(h, in, got, g, ref);
    result = R_MATCH;
    bool exact = true;
    for (uint32_t o2 = 0; o2 < g->n_outputs; o2++) {
        int c = compare(&got[o2], &ref[o2], why, wn);
        if (!c) {
            result = R_MISMATCH;
            break;
        }
        exact = exact && c == 2;
    }
    if (result == R_MATCH && exact) exact_count++;
done:
    if (result != R_MATCH && result != R_MISMATCH && result != R_LIB) snprintf(why, wn, "%.300s", d.msg);
    for (uint32_t k = 0; g && k < g->n_outputs && k < 64; k++) {
        free(ref[k].data);
        free(got[k].data);
    }
    for (uint32_t k = 0; k < n_names; k++) {
        free(given[k].data);
        free(names[k]);
    }
    free(names);
    cg_harness_free(h);
    cg_object_free(&obj);
    kir_free(p);
    ir_graph_free(g);
    return result;
}

static const char *node_root(void) {
    static char root[1024];
    glob_t gl;
    if (glob(".venv/lib/python3*/site-packages/onnx/backend/test/data/node", 0, NULL, &gl) || !gl.gl_pathc) return NULL;
    snprintf(root, sizeof root, "%s", gl.gl_pathv[0]);
    globfree(&gl);
    return root;
}

/* A fast, diverse subset: each must compile and match. */
static const char *fast_cases[] = {
    "test_conv_with_strides_padding", "test_matmul_2d", "test_matmul_4d", "test_gemm_default_matrix_bias",
    "test_reduce_sum_keepdims_random", "test_reduce_max_do_not_keepdims_random", "test_reduce_prod_default_axes_keepdims_random",
    "test_reduce_mean_keepdims_random", "test_reduce_log_sum_exp_keepdims_random",
    "test_argmax_keepdims_random_select_last_index", "test_argmin_no_keepdims_random", "test_cast_FLOAT_to_FLOAT16",
    "test_cast_FLOAT16_to_FLOAT", "test_cast_FLOAT_to_BFLOAT16", "test_cast_DOUBLE_to_FLOAT", "test_cast_FLOAT_to_DOUBLE",
    "test_cast_FLOAT_to_INT4", "test_cast_INT4_to_FLOAT", "test_cast_UINT4_to_FLOAT16", "test_cast_FLOAT_to_FLOAT8E4M3FN",
    "test_cast_FLOAT8E5M2_to_FLOAT", "test_cast_FLOAT_to_FLOAT4E2M1", "test_add_bcast", "test_mul_uint8", "test_div_int8",
    "test_mod_mixed_sign_int32", "test_mod_mixed_sign_float32", "test_bitshift_right_uint16", "test_pow_types_int64_int64",
    "test_gather_1", "test_gather_elements_negative_indices", "test_softmax_axis_1", "test_layer_normalization_4d_axis1",
    "test_resize_upsample_scales_linear", "test_maxpool_2d_pads", "test_averagepool_2d_pads", "test_round",
    "test_clip_default_int8_inbounds", "test_where_long_example", "test_relu", "test_erf", "test_sqrt", "test_min_float16",
    "test_max_int64", "test_equal_bcast", "test_not_2d", "test_xor_bcast4v4d", "test_sign", "test_neg", "test_abs",
    "test_transpose_all_permutations_3", "test_concat_3d_axis_1", "test_slice_neg_steps", "test_constant_pad", "test_reflect_pad", "test_expand_dim_changed",
    "test_tile", "test_instancenorm_example", "test_batchnorm_epsilon", "test_hardsigmoid", "test_elu", "test_gelu_tanh_2",
    "test_hardmax_axis_1", "test_einsum_batch_matmul", "test_convtranspose", "test_depthtospace_crd_mode_example",
    "test_conv_with_autopad_same", "test_gemm_transposeA", "test_gemm_transposeB", "test_matmul_bcast",
    "test_matmul_1d_3d", "test_convtranspose_group_2",
};

/* Compiled f32 Exp (codegen/llvm/helpers.c's cg.exp.f32, vectorized)
 * against the correctly rounded exp (libm's double exp rounded to f32)
 * over a sweep of [-110, 95]: within 1 ulp where that is at least FLT_MIN,
 * 0 or within 1 ulp below it (subnormal results are flushed), exact at 0,
 * +-inf, NaN and on overflow. */
static void check_exp_ulps(void) {
    enum { N = 1 << 20 };
    const char *text = "graph \"g\" { input %x: f32[1048576]\n %y: f32[1048576] = Exp(%x)\n output %y }";
    diag d;
    diag_init(&d);
    float *x = malloc(N * sizeof *x);
    ir_graph *g = ir_parse(text, strlen(text), "exp.ir", &d);
    kir_program *p = g ? lower(g, &d) : NULL;
    cg_object obj = {0};
    cg_options o = {.opt_level = -1, .pic = 1};
    cg_harness *h = p && !cg_llvm_compile(p, &o, &obj, &d) ? cg_harness_load(&obj, NULL, &d) : NULL;
    CHECK(x && h);
    if (x && h) {
        const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.72f, 88.73f, -87.3f, -103.9f, -104.1f};
        int ns = sizeof special / sizeof *special;
        for (int i = 0; i < N; i++) x[i] = i < ns ? special[i] : -110.0f + 205.0f * (float)(i - ns) / (float)(N - ns);
        interp_tensor in = {.dtype = IR_F32, .rank = 1, .shape = {N}, .data = x, .nbytes = N * sizeof *x}, out = {0};
        CHECK(cg_harness_run(h, &in, 1, &out, 1, &d) == 0 && out.nbytes == N * sizeof(float));
        const float *y = out.data;
        double worst = 0;
        int64_t bad = -1;
        for (int i = 0; y && i < N; i++) {
            float want = (float)exp((double)x[i]);
            if (i < 5 || !isfinite(want)) { /* 0, -0, +-inf, NaN and overflow: exactly */
                if (isnan(want) ? !isnan(y[i]) : y[i] != want) bad = i;
                continue;
            }
            if (want < FLT_MIN && y[i] == 0) continue;
            double ulp = (double)nextafterf(want, INFINITY) - want, err = fabs((double)y[i] - want) / ulp;
            if (err > worst) worst = err;
        }
        if (bad >= 0 || worst > 1.0)
            fprintf(stderr, "FAIL exp: worst %.3f ulp; x = %.9g gives %.9g, exp %.9g\n", worst, bad >= 0 ? x[bad] : 0,
                    bad >= 0 && y ? y[bad] : 0, bad >= 0 ? exp((double)x[bad]) : 0);
        CHECK(y && bad < 0 && worst <= 1.0);
        free(out.data);
    }
    if (d.msg[0] && !h) fprintf(stderr, "FAIL exp: %s\n", d.msg);
    cg_harness_free(h);
    cg_object_free(&obj);
    kir_free(p);
    ir_graph_free(g);
    free(x);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int time_model(const char *model) {
    diag d;
    diag_init(&d);
    double t0 = now();
    ir_graph *g = model_load(model, &d);
    kir_program *p = g && !pass_pipeline(g, NULL, &d) ? lower(g, &d) : NULL;
    if (!p) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    double t1 = now();
    cg_options o = {.opt_level = -1, .pic = 1};
    cg_object obj;
    int rc = cg_llvm_compile(p, &o, &obj, &d);
    double t2 = now();
    printf("%s: load+lower %.2f s, cg_llvm_compile %.2f s (%u kernels, object %zu bytes)%s%s\n", model, t1 - t0,
           t2 - t1, p->n_kernels, rc ? 0 : obj.size, rc ? " FAILED: " : "", rc ? d.msg : "");
    if (!rc) cg_object_free(&obj);
    kir_free(p);
    ir_graph_free(g);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    char why[512], dir[1400];
    const char *root = node_root();
    if (argc > 2 && !strcmp(argv[1], "--time")) return time_model(argv[2]);
    if (argc > 3 && !strcmp(argv[1], "--bench")) {
        bench_repeat = atoi(argv[2]) > 0 ? atoi(argv[2]) : 1;
        for (int i = 3; i < argc; i++) {
            why[0] = 0;
            int r = check_case(argv[i], why, sizeof why);
            printf("%s %s %s\n", r_names[r], argv[i], why);
        }
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--all")) {
        int fails = 0;
        for (int i = 1; i < argc; i++) {
            why[0] = 0;
            int r = check_case(argv[i], why, sizeof why);
            printf("%s %s %s\n", r_names[r], argv[i], why);
            fails += r != R_MATCH;
        }
        return fails ? 1 : 0;
    }
    if (!root) {
        printf("test_cg_llvm: 0 passed, 0 failed, 1 skipped\n");
        return 0;
    }
    if (argc > 1) { /* --all [FILTER] */
        glob_t gl;
        snprintf(dir, sizeof dir, "%s/*", root);
        glob(dir, 0, NULL, &gl);
        int count[R_COUNT] = {0};
        for (size_t i = 0; i < gl.gl_pathc; i++) {
            if (argc > 2 && !strstr(gl.gl_pathv[i], argv[2])) continue;
            why[0] = 0;
            int r = check_case(gl.gl_pathv[i], why, sizeof why);
            count[r]++;
            printf("%s %s %s\n", r_names[r], strrchr(gl.gl_pathv[i], '/') + 1, why);
            fflush(stdout);
        }
        globfree(&gl);
        for (int r = 0; r < R_COUNT; r++) printf("%s: %d\n", r_names[r], count[r]);
        printf("bit-exact among matches: %d\n", exact_count);
        return count[R_MISMATCH] || count[R_COMPILE] ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof fast_cases / sizeof *fast_cases; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, fast_cases[i]);
        why[0] = 0;
        int r = check_case(dir, why, sizeof why);
        if (r != R_MATCH) fprintf(stderr, "FAIL %s: %s %s\n", fast_cases[i], r_names[r], why);
        CHECK(r == R_MATCH);
    }
    check_exp_ulps();
    return check_summary("test_cg_llvm");
}
