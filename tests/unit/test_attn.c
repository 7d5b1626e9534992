/* test_attn.c — unit tests of the attention and sampling ops (attn family):
 * small graphs in the text format, lowered and run through the interpreter,
 * with results worked out by hand from the ONNX op definitions. They cover
 * what the ONNX suite's fixed-shape cases do not: symbolic sequence lengths,
 * a past cache with grouped-query heads and a mask shorter than the keys,
 * NonMaxSuppression's run-time count feeding a later kernel, the linear
 * recurrence of LinearAttention, and the errors of bad attributes and
 * shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/text.h"
#include "support/check.h"
#include "support/run_text.h"

#define D run_text_diag

/* Attention over a zero query, keys 1 2 3 and values v (sequence length a
 * symbol bound by the inputs) with the attributes attrs: each row averages
 * the values its mask allows; true when Y is want. */
static bool zero_query_rows(const char *attrs, const float *v, const float *want) {
    char text[512];
    snprintf(text, sizeof text,
             "graph \"t\" source \"t.ir\" {\n  sym s\n"
             "  input %%q: f32[1,1,s,1]\n  input %%k: f32[1,1,s,1]\n  input %%v: f32[1,1,s,1]\n"
             "  %%y: f32[1,1,s,1] = Attention(%%q, %%k, %%v) {%s}\n  output %%y\n}\n",
             attrs);
    float q[3] = {0, 0, 0}, k[3] = {1, 2, 3};
    int64_t shape[4] = {1, 1, 3, 1};
    interp_tensor in[3] = {test_tensor(IR_F32, 4, shape, q), test_tensor(IR_F32, 4, shape, k),
                           test_tensor(IR_F32, 4, shape, (float *)v)},
                  out[1];
    if (run_text(text, in, out)) return false;
    bool ok = near_f32(&out[0], want, 3);
    free_outputs(out, 1);
    return ok;
}

/* Causal: row i averages V[0..i]. */
static void test_attention_causal_symbolic(void) {
    CHECK(zero_query_rows("is_causal=1", (float[]){2, 4, 6}, (float[]){2, 3, 4}));
}

/* sliding_window 2: row i averages V[i-1..i] only; with a past cache of
 * 2 (query at position 2) the window keeps past key 1 and the new key. */
static void test_attention_sliding_window(void) {
    CHECK(zero_query_rows("is_causal=1, sliding_window=2", (float[]){2, 4, 8}, (float[]){2, 3, 6}));
    interp_tensor out[3];
    const char *past = "graph \"t\" source \"t.ir\" {\n"
                       "  input %q: f32[1,1,1,1]\n  input %k: f32[1,1,1,1]\n  input %v: f32[1,1,1,1]\n"
                       "  input %pk: f32[1,1,2,1]\n  input %pv: f32[1,1,2,1]\n"
                       "  %y: f32[1,1,1,1], %k2: f32[1,1,3,1], %v2: f32[1,1,3,1] =\n"
                       "    Attention(%q, %k, %v, _, %pk, %pv) {is_causal=1, sliding_window=2}\n"
                       "  output %y\n  output %k2\n  output %v2\n}\n";
    float one[1] = {0}, pk[2] = {1, 2}, pv[2] = {2, 4}, nv[1] = {10};
    int64_t s1[4] = {1, 1, 1, 1}, s2[4] = {1, 1, 2, 1};
    interp_tensor in2[5] = {test_tensor(IR_F32, 4, s1, one), test_tensor(IR_F32, 4, s1, one), test_tensor(IR_F32, 4, s1, nv),
                            test_tensor(IR_F32, 4, s2, pk), test_tensor(IR_F32, 4, s2, pv)};
    CHECK(run_text(past, in2, out) == 0 && near_f32(&out[0], (float[]){7}, 1));
    free_outputs(out, 3);
}

/* Two query heads share one key/value head; the past cache (2 keys) and
 * the new key make 3, of which the boolean mask (covering 2) keeps the
 * first 2: Y = mean(1, 4) for both heads; present = concat(past, new). */
static void test_attention_past_gqa_short_mask(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %q: f32[1,2,1,1]\n  input %k: f32[1,1,1,1]\n  input %v: f32[1,1,1,1]\n"
                       "  const %m: bool[1,2] = [1, 1]\n"
                       "  input %pk: f32[1,1,2,1]\n  input %pv: f32[1,1,2,1]\n"
                       "  %y: f32[1,2,1,1], %k2: f32[1,1,3,1], %v2: f32[1,1,3,1] =\n"
                       "    Attention(%q, %k, %v, %m, %pk, %pv)\n"
                       "  output %y\n  output %k2\n  output %v2\n}\n";
    float q[2] = {0, 0}, k[1] = {5}, v[1] = {7}, pk[2] = {1, 2}, pv[2] = {1, 4};
    interp_tensor in[5] = {test_tensor(IR_F32, 4, (int64_t[]){1, 2, 1, 1}, q), test_tensor(IR_F32, 4, (int64_t[]){1, 1, 1, 1}, k),
                           test_tensor(IR_F32, 4, (int64_t[]){1, 1, 1, 1}, v), test_tensor(IR_F32, 4, (int64_t[]){1, 1, 2, 1}, pk),
                           test_tensor(IR_F32, 4, (int64_t[]){1, 1, 2, 1}, pv)},
                  out[3];
    CHECK(run_text(text, in, out) == 0);
    CHECK(near_f32(&out[0], (float[]){2.5f, 2.5f}, 2));
    CHECK(near_f32(&out[1], (float[]){1, 2, 5}, 3) && near_f32(&out[2], (float[]){1, 4, 7}, 3));
    free_outputs(out, 3);
}

/* update_rule linear, one head of size 1, scale 1: S_t = S_{t-1} + k_t v_t,
 * o_t = q_t S_t. */
static void test_linear_attention_recurrence(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %q: f32[1,2,1]\n  input %k: f32[1,2,1]\n  input %v: f32[1,2,1]\n"
                       "  %o: f32[1,2,1], %s: f32[1,1,1,1] = LinearAttention(%q, %k, %v) "
                       "{kv_num_heads=1, q_num_heads=1, scale=1, update_rule=\"linear\"}\n"
                       "  output %o\n  output %s\n}\n";
    float q[2] = {1, 2}, k[2] = {1, 2}, v[2] = {3, 4};
    int64_t shape[3] = {1, 2, 1};
    interp_tensor in[3] = {test_tensor(IR_F32, 3, shape, q), test_tensor(IR_F32, 3, shape, k), test_tensor(IR_F32, 3, shape, v)}, out[2];
    CHECK(run_text(text, in, out) == 0);
    CHECK(near_f32(&out[0], (float[]){3, 22}, 2) && near_f32(&out[1], (float[]){11}, 1));
    free_outputs(out, 2);
}

/* Box 1 overlaps box 0 (IoU 0.9 > 0.5) and is suppressed; the count (2)
 * binds the symbol n that the Cast after it iterates over. */
static void test_nms_count_feeds_later_kernel(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %boxes: f32[1,3,4]\n  input %scores: f32[1,1,3]\n"
                       "  const %max: i64[1] = [3]\n  const %iou: f32[1] = [0.5]\n"
                       "  %sel: i64[n,3] = NonMaxSuppression(%boxes, %scores, %max, %iou)\n"
                       "  %f: f32[n,3] = Cast(%sel) {to=f32}\n  output %f\n}\n";
    float boxes[12] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 5, 1, 6}, scores[3] = {0.9f, 0.8f, 0.7f};
    interp_tensor in[2] = {test_tensor(IR_F32, 3, (int64_t[]){1, 3, 4}, boxes), test_tensor(IR_F32, 3, (int64_t[]){1, 1, 3}, scores)}, out[1];
    CHECK(run_text(text, in, out) == 0);
    CHECK(out[0].shape[0] == 2 && near_f32(&out[0], (float[]){0, 0, 0, 0, 0, 2}, 6));
    free_outputs(out, 1);
}

/* align_corners: -1 and 1 are the first and last elements; with border
 * padding, 3 is clamped to the last. */
static void test_grid_sample_corners_and_border(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[1,1,1,3]\n  input %g: f32[1,1,3,2]\n"
                       "  %y: f32[1,1,1,3] = GridSample(%x, %g) {align_corners=1, padding_mode=\"border\"}\n"
                       "  output %y\n}\n";
    float x[3] = {10, 20, 30}, g[6] = {-1, 0, 0.5f, 0, 3, 0};
    interp_tensor in[2] = {test_tensor(IR_F32, 4, (int64_t[]){1, 1, 1, 3}, x), test_tensor(IR_F32, 4, (int64_t[]){1, 1, 3, 2}, g)}, out[1];
    CHECK(run_text(text, in, out) == 0 && near_f32(&out[0], (float[]){10, 25, 30}, 3));
    free_outputs(out, 1);
}

/* Errors name the node and the problem rather than crash. */
static void test_errors(void) {
    interp_tensor out[1];
    CHECK(run_text("graph \"t\" source \"t.ir\" {\n  input %q: f32[1,3,2,4]\n  input %k: f32[1,2,2,4]\n"
              "  %y: f32[1,3,2,4] = Attention(%q, %k, %k)\n  output %y\n}\n",
              NULL, out) != 0);
    CHECK_CONTAINS(D.msg, "3 query heads are not a multiple of 2 key/value heads");
    CHECK(run_text("graph \"t\" source \"t.ir\" {\n  input %q: f32[1,2,8]\n"
              "  %y: f32[1,2,8] = Attention(%q, %q, %q) {q_num_heads=3, kv_num_heads=3}\n  output %y\n}\n",
              NULL, out) != 0);
    CHECK_CONTAINS(D.msg, "Q's hidden size (8) is not a multiple of 3 heads");
    CHECK(run_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[1,1,4,4]\n  input %r: f32[2,4]\n"
              "  input %b: i64[2]\n  %y: f32[2,1,1,1] = RoiAlign(%x, %r, %b)\n  output %y\n}\n",
              NULL, out) != 0);
    CHECK_CONTAINS(D.msg, "sampling_ratio 0");
    CHECK(run_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[1,1,2,2]\n  input %g: f32[1,1,1,2]\n"
              "  %y: f32[1,1,1,1] = GridSample(%x, %g) {mode=\"area\"}\n  output %y\n}\n",
              NULL, out) != 0);
    CHECK_CONTAINS(D.msg, "unknown mode 'area'");
    CHECK(run_text("graph \"t\" source \"t.ir\" {\n  input %x: f32[1,8,4]\n  input %c: f32[4,2]\n"
              "  %y: f32[1,8,4] = RotaryEmbedding(%x, %c, %c) {num_heads=2, rotary_embedding_dim=6}\n"
              "  output %y\n}\n",
              NULL, out) != 0);
    CHECK_CONTAINS(D.msg, "rank 2, expected 3");
    CHECK(run_text("graph \"t\" source \"t.ir\" {\n  input %q: f32[1,1,2,4]\n"
              "  %y: f32[1,1,2,4] = Attention(%q, %q, %q) {sliding_window=-1}\n  output %y\n}\n",
              NULL, out) != 0);
    CHECK_CONTAINS(D.msg, "sliding_window must not be negative");
}

int main(void) {
    test_attention_causal_symbolic();
    test_attention_past_gqa_short_mask();
    test_attention_sliding_window();
    test_linear_attention_recurrence();
    test_nms_count_feeds_later_kernel();
    test_grid_sample_corners_and_border();
    test_errors();
    return check_summary("attn");
}
