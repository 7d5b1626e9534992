/* test_interp_lib.c — unit tests of the interpreter's library kernels
 * (runtime/lib_*.c, run by ir/interp.c) and of the data-dependent sizes they bind: small graphs
 * in the text format, lowered and run, with results worked out by hand from
 * the ONNX op definitions (TopK keeps equal values in index order, Unique's
 * four outputs, NonZero's count feeding a later kernel, CumSum's modes), and
 * the run-time errors on bad data. */
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/text.h"
#include "support/check.h"
#include "support/run_text.h"

#define D run_text_diag

static bool eq_i64(const interp_tensor *t, const int64_t *want, int64_t n) {
    return t->shape[t->rank - 1] * (t->rank > 1 ? t->shape[0] : 1) == n && !memcmp(t->data, want, (size_t)n * 8);
}

static bool eq_f32(const interp_tensor *t, const float *want, int64_t n) {
    return (int64_t)(t->nbytes / 4) == n && !memcmp(t->data, want, (size_t)n * 4);
}

static void test_topk(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[2,4]\n"
                       "  const %k: i64[1] = [2]\n"
                       "  %v: f32[2,2], %i: i64[2,2] = TopK(%x, %k)\n"
                       "  %s: f32[2,2], %j: i64[2,2] = TopK(%x, %k) {largest=0}\n"
                       "  output %v\n  output %i\n  output %s\n  output %j\n}\n";
    float x[8] = {1, 3, 3, 0, 5, -1, 5, 7};
    interp_tensor in = {.dtype = IR_F32, .rank = 2, .shape = {2, 4}, .data = x, .nbytes = sizeof x}, out[4];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(eq_f32(&out[0], (float[]){3, 3, 7, 5}, 4) && eq_i64(&out[1], (int64_t[]){1, 2, 3, 0}, 4));
    CHECK(eq_f32(&out[2], (float[]){0, 1, -1, 5}, 4) && eq_i64(&out[3], (int64_t[]){3, 0, 1, 0}, 4));
    free_outputs(out, 4);
}

static void test_topk_runtime_k(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %x: f32[4]\n  input %k: i64[1]\n"
                       "  %v: f32[n], %i: i64[n] = TopK(%x, %k)\n  output %i\n}\n";
    float x[4] = {1, 4, 2, 3};
    int64_t k = 3, bad = 5;
    interp_tensor in[2] = {test_tensor(IR_F32, 1, (int64_t[]){4}, x), test_tensor(IR_I64, 1, (int64_t[]){1}, &k)}, out[1];
    CHECK(run_text(text, in, out) == 0 && eq_i64(&out[0], (int64_t[]){1, 3, 2}, 3));
    free_outputs(out, 1);
    in[1].data = &bad;
    CHECK(run_text(text, in, out) != 0);
    CHECK_CONTAINS(D.msg, "K = 5 is out of range");
}

static void test_nonzero_binds_its_count(void) {
    /* the count n is known only after NonZero runs; the Cast kernel needs it */
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %x: i32[2,3]\n"
                       "  %y: i64[2,n] = NonZero(%x)\n"
                       "  %f: f32[2,n] = Cast(%y) {to=f32}\n  output %f\n}\n";
    int32_t x[6] = {0, 7, 0, -1, 0, 2};
    interp_tensor in = {.dtype = IR_I32, .rank = 2, .shape = {2, 3}, .data = x, .nbytes = sizeof x}, out[1];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(out[0].shape[1] == 3 && eq_f32(&out[0], (float[]){0, 1, 1, 1, 0, 2}, 6));
    free_outputs(out, 1);
}

static void test_unique(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym u, w\n"
                       "  input %x: f32[6]\n"
                       "  %y: f32[u], %i: i64[u], %r: i64[6], %c: i64[u] = Unique(%x)\n"
                       "  %z: f32[w], %j: i64[w], %s: i64[6], %d: i64[w] = Unique(%x) {sorted=0}\n"
                       "  output %y\n  output %i\n  output %r\n  output %c\n  output %z\n  output %s\n}\n";
    float x[6] = {2, 1, 1, 3, 4, 3};
    interp_tensor in = test_tensor(IR_F32, 1, (int64_t[]){6}, x), out[6];
    CHECK(run_text(text, &in, out) == 0);
    CHECK(eq_f32(&out[0], (float[]){1, 2, 3, 4}, 4) && eq_i64(&out[1], (int64_t[]){1, 0, 3, 4}, 4));
    CHECK(eq_i64(&out[2], (int64_t[]){1, 0, 0, 2, 3, 2}, 6) && eq_i64(&out[3], (int64_t[]){2, 1, 2, 1}, 4));
    CHECK(eq_f32(&out[4], (float[]){2, 1, 3, 4}, 4) && eq_i64(&out[5], (int64_t[]){0, 1, 1, 2, 3, 2}, 6));
    free_outputs(out, 6);
}

static void test_cumsum(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: i32[2,3]\n  input %a: i32[]\n"
                       "  %y: i32[2,3] = CumSum(%x, %a)\n"
                       "  %z: i32[2,3] = CumSum(%x, %a) {exclusive=1, reverse=1}\n  output %y\n  output %z\n}\n";
    int32_t x[6] = {1, 2, 3, 4, 5, 6}, axis = -1, bad = 2;
    interp_tensor in[2] = {{.dtype = IR_I32, .rank = 2, .shape = {2, 3}, .data = x, .nbytes = sizeof x},
                           {.dtype = IR_I32, .rank = 0, .data = &axis, .nbytes = 4}},
                  out[2];
    CHECK(run_text(text, in, out) == 0);
    CHECK(!memcmp(out[0].data, (int32_t[]){1, 3, 6, 4, 9, 15}, 24) && !memcmp(out[1].data, (int32_t[]){5, 3, 0, 11, 6, 0}, 24));
    free_outputs(out, 2);
    in[1].data = &bad;
    CHECK(run_text(text, in, out) != 0);
    CHECK_CONTAINS(D.msg, "axis 2 is out of range");
}

int main(void) {
    test_topk();
    test_topk_runtime_k();
    test_nonzero_binds_its_count();
    test_unique();
    test_cumsum();
    return check_summary("interp_lib");
}
