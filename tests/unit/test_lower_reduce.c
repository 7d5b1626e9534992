/* test_lower_reduce.c — reductions, softmax and normalizations lowered to
 * kernels and run by the interpreter, on what the ONNX conformance suite
 * does not cover: symbolic dimensions (the element count of a mean comes
 * from a run-time size), empty reductions (each gives its identity element),
 * rows of -inf and large values in the log-sum-exp family, ties in
 * ArgMax/ArgMin, the statistics outputs of LayerNormalization, and the
 * errors for bad parameters. Expected values are worked out by hand from the
 * ONNX operator definitions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/text.h"
#include "tests/unit/support/check.h"

#define MAX_IO 4

/* A graph in the text format, run on f32 inputs of the given shapes. */
typedef struct run {
    interp_tensor out[MAX_IO];
    int n_out;
} run;

static int run_text(const char *text, int n_in, const float *const *data, const int64_t shapes[][IR_MAX_RANK],
                    const int *ranks, run *r, diag *d) {
    memset(r, 0, sizeof *r);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", d);
    if (!g) return -1;
    kir_program *p = kir_lower(g, d);
    int rc = -1;
    if (p) {
        interp_tensor in[MAX_IO];
        for (int i = 0; i < n_in; i++) {
            in[i] = (interp_tensor){.dtype = IR_F32, .rank = ranks[i], .data = (void *)data[i]};
            int64_t n = 1;
            for (int k = 0; k < ranks[i]; k++) n *= (in[i].shape[k] = shapes[i][k]);
            in[i].nbytes = (size_t)n * sizeof(float);
        }
        r->n_out = (int)g->n_outputs;
        rc = interp_run(p, in, r->out, d);
    }
    kir_free(p);
    ir_graph_free(g);
    return rc;
}

static void run_free(run *r) {
    for (int i = 0; i < r->n_out; i++) free(r->out[i].data);
}

static bool near(float got, double want) {
    if (isinf(want) || isnan(want)) return isinf(want) ? got == (float)want : isnan(got);
    return fabs(got - want) <= 1e-5 * (1 + fabs(want));
}

/* Output o holds n floats equal to want (within rounding). */
static bool out_is(const run *r, int o, const double *want, int n) {
    const interp_tensor *t = &r->out[o];
    if (t->dtype != IR_F32 || t->nbytes != (size_t)n * sizeof(float)) return false;
    const float *v = t->data;
    for (int i = 0; i < n; i++)
        if (!near(v[i], want[i])) {
            fprintf(stderr, "  element %d: got %g, want %g\n", i, v[i], want[i]);
            return false;
        }
    return true;
}

static bool out_is_i64(const run *r, int o, const int64_t *want, int n) {
    const interp_tensor *t = &r->out[o];
    return t->dtype == IR_I64 && t->nbytes == (size_t)n * 8 && !memcmp(t->data, want, (size_t)n * 8);
}

/* One input, one output: run and compare with want. */
static void check1(const char *text, const float *x, int rank, const int64_t *shape, const double *want, int n) {
    diag d;
    diag_init(&d);
    run r;
    int64_t shapes[1][IR_MAX_RANK];
    memcpy(shapes[0], shape, (size_t)rank * sizeof *shape);
    int rc = run_text(text, 1, &x, shapes, &rank, &r, &d);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "  %s\n", d.msg);
    else CHECK(out_is(&r, 0, want, n));
    run_free(&r);
}

static void test_symbolic_mean(void) {
    static const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* over the symbolic axis: the count is n, bound at run time */
    check1("graph \"g\" { sym n\n input %x: f32[n,4]\n const %a: i64[1] = [0]\n"
           " %y: f32[4] = ReduceMean(%x, %a) {keepdims=0}\n output %y }",
           x, 2, (int64_t[]){2, 4}, (double[]){3, 4, 5, 6}, 4);
    check1("graph \"g\" { sym n\n input %x: f32[n,4]\n const %a: i64[1] = [-1]\n"
           " %y: f32[n,1] = ReduceMean(%x, %a)\n output %y }",
           x, 2, (int64_t[]){2, 4}, (double[]){2.5, 6.5}, 2);
    /* no axes: every axis */
    check1("graph \"g\" { sym n\n input %x: f32[n,4]\n %y: f32[1,1] = ReduceMean(%x)\n output %y }", x, 2,
           (int64_t[]){2, 4}, (double[]){4.5}, 1);
    /* noop_with_empty_axes: element functions still apply (ReduceSumSquare squares) */
    check1("graph \"g\" { sym n\n input %x: f32[n,4]\n %y: f32[n,4] = ReduceSumSquare(%x) {noop_with_empty_axes=1}\n"
           " output %y }",
           x, 2, (int64_t[]){2, 4}, (double[]){1, 4, 9, 16, 25, 36, 49, 64}, 8);
}

static void test_empty_reductions(void) {
    static const char *fmt = "graph \"g\" { input %%x: f32[2,0]\n const %%a: i64[1] = [1]\n"
                             " %%y: f32[2,1] = %s(%%x, %%a)\n output %%y }";
    static const struct { const char *op; double id; } cases[] = {
        {"ReduceSum", 0}, {"ReduceProd", 1}, {"ReduceMax", -INFINITY}, {"ReduceMin", INFINITY},
        {"ReduceL1", 0}, {"ReduceL2", 0}, {"ReduceSumSquare", 0}, {"ReduceLogSum", -INFINITY},
        {"ReduceLogSumExp", -INFINITY},
    };
    static const float none[1] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, fmt, cases[i].op);
        check1(text, none, 2, (int64_t[]){2, 0}, (double[]){cases[i].id, cases[i].id}, 2);
    }
}

static void test_log_sum_exp(void) {
    static const float x[6] = {-INFINITY, -INFINITY, 1000, 1000, 0, INFINITY};
    const char *text = "graph \"g\" { input %x: f32[3,2]\n const %a: i64[1] = [1]\n"
                       " %y: f32[3] = ReduceLogSumExp(%x, %a) {keepdims=0}\n output %y }";
    check1(text, x, 2, (int64_t[]){3, 2}, (double[]){-INFINITY, 1000 + log(2.0), INFINITY}, 3);
    /* softmax of a large row: exp is taken after subtracting the max */
    static const float big[2] = {1000, 1000};
    check1("graph \"g\" { sym b\n input %x: f32[b,2]\n %y: f32[b,2] = Softmax(%x)\n output %y }", big, 2,
           (int64_t[]){1, 2}, (double[]){0.5, 0.5}, 2);
    static const float sm[3] = {0, (float)M_LN2, 0};
    check1("graph \"g\" { sym b\n input %x: f32[b,3]\n %y: f32[b,3] = LogSoftmax(%x)\n output %y }", sm, 2,
           (int64_t[]){1, 3}, (double[]){-log(4.0), log(0.5), -log(4.0)}, 3);
}

static void test_arg_ties(void) {
    static const float x[8] = {1, 3, 3, 0, 2, 0, 0, 5};
    diag d;
    diag_init(&d);
    run r;
    int rank = 2;
    int64_t shapes[1][IR_MAX_RANK] = {{2, 4}};
    const float *in = x;
    CHECK(run_text("graph \"g\" { input %x: f32[2,4]\n"
                   " %a: i64[2] = ArgMax(%x) {axis=1, keepdims=0}\n"
                   " %b: i64[2,1] = ArgMax(%x) {axis=1, select_last_index=1}\n"
                   " %c: i64[2] = ArgMin(%x) {axis=-1, keepdims=0}\n"
                   " %e: i64[2] = ArgMin(%x) {axis=-1, keepdims=0, select_last_index=1}\n"
                   " output %a\n output %b\n output %c\n output %e }",
                   1, &in, shapes, &rank, &r, &d) == 0);
    CHECK(out_is_i64(&r, 0, (int64_t[]){1, 3}, 2));
    CHECK(out_is_i64(&r, 1, (int64_t[]){2, 3}, 2));
    CHECK(out_is_i64(&r, 2, (int64_t[]){3, 1}, 2));
    CHECK(out_is_i64(&r, 3, (int64_t[]){3, 2}, 2));
    run_free(&r);
    /* Hardmax: the first maximum only */
    check1("graph \"g\" { input %x: f32[2,4]\n %y: f32[2,4] = Hardmax(%x)\n output %y }", x, 2,
           (int64_t[]){2, 4}, (double[]){0, 1, 0, 0, 0, 0, 0, 1}, 8);
}

static void test_norm_stats(void) {
    /* LayerNormalization over the last (symbolic) axis with its Mean and
     * InvStdDev outputs: x = 1 2 3 4, mean 2.5, variance 1.25 */
    static const float x[4] = {1, 2, 3, 4}, s[4] = {1, 1, 2, 2}, b[4] = {0, 0, 0, 1};
    diag d;
    diag_init(&d);
    run r;
    int ranks[3] = {2, 1, 1};
    int64_t shapes[3][IR_MAX_RANK] = {{1, 4}, {4}, {4}};
    const float *in[3] = {x, s, b};
    CHECK(run_text("graph \"g\" { sym n\n input %x: f32[1,n]\n input %s: f32[n]\n input %b: f32[n]\n"
                   " %y: f32[1,n], %m: f32[1,1], %i: f32[1,1] = LayerNormalization(%x, %s, %b) {epsilon=0}\n"
                   " output %y\n output %m\n output %i }",
                   3, in, shapes, ranks, &r, &d) == 0);
    double k = 1 / sqrt(1.25);
    CHECK(out_is(&r, 0, (double[]){-1.5 * k, -0.5 * k, 1.0 * k, 3.0 * k + 1}, 4));
    CHECK(out_is(&r, 1, (double[]){2.5}, 1));
    CHECK(out_is(&r, 2, (double[]){k}, 1));
    run_free(&r);

    /* GroupNormalization, 4 channels in 2 groups: (1, 3) has mean 2 and
     * variance 1, (10, 14) mean 12 and variance 4; scale and bias per channel */
    static const float gx[4] = {1, 3, 10, 14}, gs[4] = {1, 2, 3, 4}, gb[4] = {0, 0, 0, 1};
    int64_t gshapes[3][IR_MAX_RANK] = {{1, 4, 1}, {4}, {4}};
    int granks[3] = {3, 1, 1};
    const float *gin[3] = {gx, gs, gb};
    CHECK(run_text("graph \"g\" { sym n\n input %x: f32[n,4,1]\n input %s: f32[4]\n input %b: f32[4]\n"
                   " %y: f32[n,4,1] = GroupNormalization(%x, %s, %b) {epsilon=0, num_groups=2}\n output %y }",
                   3, gin, gshapes, granks, &r, &d) == 0);
    CHECK(out_is(&r, 0, (double[]){-1, 2, -3, 5}, 4));
    run_free(&r);

    /* LRN over 3 channels with size 2: the window of c is c .. c+1 */
    static const float lx[3] = {1, 2, 3};
    check1("graph \"g\" { input %x: f32[1,3,1]\n %y: f32[1,3,1] = LRN(%x) {alpha=2, beta=1, bias=1, size=2}\n"
           " output %y }",
           lx, 3, (int64_t[]){1, 3, 1}, (double[]){1.0 / 6, 2.0 / 14, 3.0 / 10}, 3);
    /* a window wider than the (symbolic) channel count covers every channel: 1 + 5/5 * 14 */
    check1("graph \"g\" { sym c\n input %x: f32[1,c,1]\n %y: f32[1,c,1] = LRN(%x) {alpha=5, beta=1, bias=1, size=5}\n"
           " output %y }",
           lx, 3, (int64_t[]){1, 3, 1}, (double[]){1.0 / 15, 2.0 / 15, 3.0 / 15}, 3);
}

/* A graph that must fail to parse (inference) or to lower, with msg. */
static void check_error(const char *text, bool at_lowering, const char *msg) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &d);
    CHECK((g != NULL) == at_lowering);
    if (g) {
        kir_program *p = kir_lower(g, &d);
        CHECK(p == NULL);
        kir_free(p);
        ir_graph_free(g);
    }
    CHECK_CONTAINS(d.msg, msg);
}

static void test_errors(void) {
    check_error("graph \"g\" { input %x: f32[2,3,4]\n input %v: f32[4]\n"
                " %y: f32[2,3,4] = BatchNormalization(%x, %v, %v, %v, %v)\n output %y }",
                false, "expected one value per channel (3)");
    check_error("graph \"g\" { input %x: f32[2,4,4]\n input %v: f32[4]\n"
                " %y: f32[2,4,4] = GroupNormalization(%x, %v, %v) {num_groups=3}\n output %y }",
                false, "4 channels do not split into 3 groups");
    check_error("graph \"g\" { input %x: f32[2,4,4]\n input %v: f32[2]\n"
                " %y: f32[2,4,4] = GroupNormalization(%x, %v, %v) {num_groups=2}\n output %y }",
                false, "one value per group, the form of opset 18");
    check_error("graph \"g\" { input %x: f32[2,4]\n input %w: f32[3]\n"
                " %y: f32[2,4] = LayerNormalization(%x, %w)\n output %y }",
                false, "does not broadcast to the input's shape");
    check_error("graph \"g\" { input %x: f32[2,4,4]\n %y: f32[2,4,4] = LRN(%x) {size=0}\n output %y }", false,
                "size must be positive");
    check_error("graph \"g\" { input %x: f32[2,4,4]\n %y: f32[2,4,4] = MeanVarianceNormalization(%x)\n output %y }",
                false, "axis 3 is out of range for rank 3");
    check_error("graph \"g\" { input %x: f32[2,4]\n %y: f32[2,4] = LpNormalization(%x) {p=3}\n output %y }", true,
                "p must be 1 or 2, got 3");
}

int main(void) {
    test_symbolic_mean();
    test_empty_reductions();
    test_log_sum_exp();
    test_arg_ties();
    test_norm_stats();
    test_errors();
    return check_summary("lower_reduce");
}
