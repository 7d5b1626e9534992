/* test_loss.c — unit tests of the loss family: the classification losses,
 * CumProd and Det, the signal ops (windows, DFT, STFT) and the image ops
 * (MaxUnpool, Col2Im, CenterCropPad). Small graphs in the text format,
 * some with symbolic sizes, lowered and run through the interpreter, with
 * results worked out by hand from the ONNX op definitions; and the errors
 * that bad operands give. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/text.h"
#include "support/check.h"
#include "support/run_text.h"

#define D run_text_diag

/* n f32 (or f64 when f64) values of t within 1e-5 of want. */
static bool near(const interp_tensor *t, const double *want, int64_t n, bool f64) {
    if ((int64_t)(t->nbytes / (f64 ? 8 : 4)) != n) return false;
    for (int64_t i = 0; i < n; i++) {
        double v = f64 ? ((const double *)t->data)[i] : ((const float *)t->data)[i];
        if (!(fabs(v - want[i]) <= 1e-5)) return false;
    }
    return true;
}

/* ---- losses ---------------------------------------------------------------------------- */

static void test_nll_loss(void) {
    /* loss = -x[n, t[n]] * w[t[n]]: [-(-3) * 3, -(-4) * 1] = [9, 4]; mean divides by 3 + 1 */
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %x: f32[n,3]\n  input %t: i64[n]\n  const %w: f32[3] = [1, 2, 3]\n"
                       "  %a: f32[n] = NegativeLogLikelihoodLoss(%x, %t, %w) {reduction=\"none\"}\n"
                       "  %b: f32[] = NegativeLogLikelihoodLoss(%x, %t, %w) {reduction=\"sum\"}\n"
                       "  %c: f32[] = NegativeLogLikelihoodLoss(%x, %t, %w)\n"
                       "  %e: f32[] = NegativeLogLikelihoodLoss(%x, %t, %w) {ignore_index=2}\n"
                       "  %f: f32[] = NegativeLogLikelihoodLoss(%x, %t) {ignore_index=0}\n"
                       "  output %a\n  output %b\n  output %c\n  output %e\n  output %f\n}\n";
    float x[6] = {-1, -2, -3, -4, -5, -6};
    int64_t t[2] = {2, 0};
    interp_tensor in[2] = {test_tensor(IR_F32, 2, (int64_t[]){2, 3}, x), test_tensor(IR_I64, 1, (int64_t[]){2}, t)};
    interp_tensor out[5];
    CHECK(run_text(text, in, out) == 0);
    CHECK(near(&out[0], (double[]){9, 4}, 2, false) && near(&out[1], (double[]){13}, 1, false));
    CHECK(near(&out[2], (double[]){13.0 / 4}, 1, false) && near(&out[3], (double[]){4}, 1, false));
    CHECK(near(&out[4], (double[]){3}, 1, false)); /* only the first element counts, weight 1 */
    free_outputs(out, 5);
}

static void test_softmax_cross_entropy(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[1,2]\n  const %t: i64[1] = [1]\n"
                       "  %l: f32[], %p: f32[1,2] = SoftmaxCrossEntropyLoss(%x, %t)\n  output %l\n  output %p\n}\n";
    float x[2] = {0, 0};
    interp_tensor in = test_tensor(IR_F32, 2, (int64_t[]){1, 2}, x), out[2];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(near(&out[0], (double[]){M_LN2}, 1, false) && near(&out[1], (double[]){-M_LN2, -M_LN2}, 2, false));
    free_outputs(out, 2);
}

static void test_loss_errors(void) {
    CHECK(parse_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[2,3]\n  input %t: i64[3]\n"
                     "  %l: f32[] = NegativeLogLikelihoodLoss(%x, %t)\n}\n") != 0);
    CHECK_CONTAINS(D.msg, "target: size 3 where 2 is expected");
    CHECK(parse_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[2,3]\n  input %t: i64[2]\n"
                     "  %l: f32[] = NegativeLogLikelihoodLoss(%x, %t) {reduction=\"max\"}\n}\n") != 0);
    CHECK_CONTAINS(D.msg, "reduction must be none, sum or mean");
}

/* ---- CumProd, Det ------------------------------------------------------------------------ */

static void test_cumprod(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: i32[4]\n  const %a: i64[] = [0]\n"
                       "  %y: i32[4] = CumProd(%x, %a)\n"
                       "  %z: i32[4] = CumProd(%x, %a) {exclusive=1, reverse=1}\n  output %y\n  output %z\n}\n";
    int32_t x[4] = {1, 2, 3, 4};
    interp_tensor in = test_tensor(IR_I32, 1, (int64_t[]){4}, x), out[2];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(!memcmp(out[0].data, (int32_t[]){1, 2, 6, 24}, 16) && !memcmp(out[1].data, (int32_t[]){24, 12, 4, 1}, 16));
    free_outputs(out, 2);
}

static void test_det(void) {
    /* a plain matrix, one that needs a row swap, a singular one */
    const char *text = "graph \"t\" source \"t.ir\" {\n  input %x: f64[3,2,2]\n"
                       "  %y: f64[3] = Det(%x)\n  output %y\n}\n";
    double x[12] = {1, 2, 3, 4, 0, 1, 1, 0, 2, 4, 1, 2};
    interp_tensor in = test_tensor(IR_F64, 3, (int64_t[]){3, 2, 2}, x), out[1];
    CHECK(run_text(text, &in, out) == 0 && near(&out[0], (double[]){-2, -1, 0}, 3, true));
    free_outputs(out, 1);
}

/* ---- signal ops ---------------------------------------------------------------------------- */

static void test_windows(void) {
    /* Hann periodic 4: sin^2(pi n / 4); Hamming symmetric 3: 25/46 - 21/46 cos(pi n);
     * Blackman periodic 2: 0.42 - 0.5 cos(pi n) + 0.08 cos(2 pi n) */
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  const %s4: i64[] = [4]\n  const %s3: i32[] = [3]\n  const %s2: i64[] = [2]\n"
                       "  %h: f32[4] = HannWindow(%s4)\n"
                       "  %m: f64[3] = HammingWindow(%s3) {output_datatype=f64, periodic=0}\n"
                       "  %b: f32[2] = BlackmanWindow(%s2)\n  output %h\n  output %m\n  output %b\n}\n";
    interp_tensor out[3];
    CHECK(run_text(text, NULL, out) == 0);
    CHECK(near(&out[0], (double[]){0, 0.5, 1, 0.5}, 4, false));
    CHECK(near(&out[1], (double[]){4.0 / 46, 1, 4.0 / 46}, 3, true) && near(&out[2], (double[]){0, 1}, 2, false));
    free_outputs(out, 3);
    CHECK(parse_text("graph \"t\" source \"t.ir\" {\n  input %s: i64[]\n  %h: f32[4] = HannWindow(%s)\n}\n") != 0);
    CHECK_CONTAINS(D.msg, "size must be a constant");
}

static void test_dft(void) {
    /* DFT of 1, 2, 3, 4 (a signal of symbolic length): 10, -2+2i, -2, -2-2i; the
     * one-sided spectrum back to the signal (irfft); the inverse of the full one */
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %x: f32[1,n,1]\n  const %ax: i64[] = [1]\n  const %len: i64[] = [4]\n"
                       "  %y: f32[1,n,2] = DFT(%x, _, %ax)\n"
                       "  %h: f32[1,3,2] = DFT(%x, %len, %ax) {onesided=1}\n"
                       "  %r: f32[1,4,1] = DFT(%h, %len, %ax) {inverse=1, onesided=1}\n"
                       "  %c: f32[1,n,2] = DFT(%y, _, %ax) {inverse=1}\n"
                       "  output %y\n  output %h\n  output %r\n  output %c\n}\n";
    float x[4] = {1, 2, 3, 4};
    interp_tensor in = test_tensor(IR_F32, 3, (int64_t[]){1, 4, 1}, x), out[4];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(near(&out[0], (double[]){10, 0, -2, 2, -2, 0, -2, -2}, 8, false));
    CHECK(near(&out[1], (double[]){10, 0, -2, 2, -2, 0}, 6, false));
    CHECK(near(&out[2], (double[]){1, 2, 3, 4}, 4, false) && near(&out[3], (double[]){1, 0, 2, 0, 3, 0, 4, 0}, 8, false));
    free_outputs(out, 4);
    CHECK(parse_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[1,4,1]\n  input %len: i64[]\n"
                     "  %y: f32[1,4,2] = DFT(%x, %len)\n}\n") != 0);
    CHECK_CONTAINS(D.msg, "dft_length must be a constant");
    CHECK(parse_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[1,4,2]\n  const %ax: i64[] = [2]\n"
                     "  %y: f32[1,4,2] = DFT(%x, _, %ax)\n}\n") != 0);
    CHECK_CONTAINS(D.msg, "axis must not be the last (complex) axis");
}

static void test_stft(void) {
    /* frames 1 2 3 4 and 3 4 5 6: bins 10, -2+2i, -2 and 18, -2+2i, -2 */
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[1,6,1]\n  const %step: i64[] = [2]\n  const %len: i64[] = [4]\n"
                       "  %y: f32[1,2,3,2] = STFT(%x, %step, _, %len)\n  output %y\n}\n";
    float x[6] = {1, 2, 3, 4, 5, 6};
    interp_tensor in = test_tensor(IR_F32, 3, (int64_t[]){1, 6, 1}, x), out[1];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(near(&out[0], (double[]){10, 0, -2, 2, -2, 0, 18, 0, -2, 2, -2, 0}, 12, false));
    free_outputs(out, 1);
}

/* ---- image ops ------------------------------------------------------------------------------ */

static void test_max_unpool(void) {
    /* kernel 2, stride 2 over 2 positions: 4 outputs, X at the positions I names */
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[1,1,2]\n  input %i: i64[1,1,2]\n  const %os: i64[3] = [1, 1, 6]\n"
                       "  %y: f32[1,1,4] = MaxUnpool(%x, %i) {kernel_shape=[2], strides=[2]}\n"
                       "  %z: f32[1,1,6] = MaxUnpool(%x, %i, %os) {kernel_shape=[2], strides=[2]}\n"
                       "  output %y\n  output %z\n}\n";
    float x[2] = {5, 6};
    int64_t i[2] = {1, 2};
    interp_tensor in[2] = {test_tensor(IR_F32, 3, (int64_t[]){1, 1, 2}, x),
                           test_tensor(IR_I64, 3, (int64_t[]){1, 1, 2}, i)},
                  out[2];
    CHECK(run_text(text, in, out) == 0);
    CHECK(near(&out[0], (double[]){0, 5, 6, 0}, 4, false) && near(&out[1], (double[]){0, 5, 6, 0, 0, 0}, 6, false));
    free_outputs(out, 2);
    i[1] = 7;
    CHECK(run_text(text, in, out) != 0);
    CHECK_CONTAINS(D.msg, "index 7 is out of range");
}

static void test_col2im(void) {
    /* a 1-D image of 3 from blocks of 2 at 2 positions: y[o] = sum over taps t of col[t, o - t] */
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[1,2,2]\n  const %im: i64[1] = [3]\n  const %bl: i64[1] = [2]\n"
                       "  %y: f32[1,1,3] = Col2Im(%x, %im, %bl)\n  output %y\n}\n";
    float x[4] = {1, 2, 3, 4};
    interp_tensor in = test_tensor(IR_F32, 3, (int64_t[]){1, 2, 2}, x), out[1];
    CHECK(run_text(text, &in, out) == 0 && near(&out[0], (double[]){1, 5, 4}, 3, false));
    free_outputs(out, 1);
}

static void test_center_crop_pad(void) {
    /* crop 5 to 3 (symbolic input size), pad 5 to 7, pad 2 to 5 (the odd element at the end) */
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %x: f32[n]\n  input %s: f32[2]\n"
                       "  const %three: i64[1] = [3]\n  const %seven: i64[1] = [7]\n  const %five: i64[1] = [5]\n"
                       "  %a: f32[3] = CenterCropPad(%x, %three)\n  %b: f32[7] = CenterCropPad(%x, %seven)\n"
                       "  %c: f32[5] = CenterCropPad(%s, %five)\n  output %a\n  output %b\n  output %c\n}\n";
    float x[5] = {1, 2, 3, 4, 5}, s[2] = {1, 2};
    interp_tensor in[2] = {test_tensor(IR_F32, 1, (int64_t[]){5}, x), test_tensor(IR_F32, 1, (int64_t[]){2}, s)};
    interp_tensor out[3];
    CHECK(run_text(text, in, out) == 0);
    CHECK(near(&out[0], (double[]){2, 3, 4}, 3, false) && near(&out[1], (double[]){0, 1, 2, 3, 4, 5, 0}, 7, false));
    CHECK(near(&out[2], (double[]){0, 1, 2, 0, 0}, 5, false));
    free_outputs(out, 3);
}

int main(void) {
    test_nll_loss();
    test_softmax_cross_entropy();
    test_loss_errors();
    test_cumprod();
    test_det();
    test_windows();
    test_dft();
    test_stft();
    test_max_unpool();
    test_col2im();
    test_center_crop_pad();
    return check_summary("loss");
}
