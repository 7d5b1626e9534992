/* ggml_quant_k.c — the q4_k quantizer (ggml_quant.h), with the result of
 * ggml's reference quantize_row_q4_K_ref (no importance matrix), bit for
 * bit.
 *
 * A 256-element super-block holds 8 sub-blocks of 32; each sub-block j gets
 * 4-bit levels L in [0, 15] with x ~ scale_j * L - min_j. scale_j and min_j
 * come from a weighted least-squares search (fit_sub_block): start from
 * the range (min clamped to <= 0), then try 21 level grids (iscale = (15 -
 * 1 + 0.1 is) / range, is = 0..20), fit scale and min to each grid in
 * closed form, and keep the one of least weighted squared error, with
 * weights |x| + rms(x). The 8 scales and mins are then quantized to 6 bits
 * against the super-block's largest (d = max scale / 63, dmin = max min /
 * 63, both f16) and the levels are recomputed from the rounded scales.
 * Rounding is to nearest, ties to even (ggml's nearest_int); products and
 * sums are in separate statements so that no fused multiply-add changes
 * the rounding.
 */
#include <math.h>
#include <string.h>

#include "ggml_quant.h"
#include "half.h"

#define SUB 32
#define N_SUB 8
#define NMAX 15

static int near_int(float x) { return (int)nearbyintf(x); }
static int clamp15(int l) { return l < 0 ? 0 : l > NMAX ? NMAX : l; }

/* sum_i w[i] * (scale * l[i] + min - x[i])^2 */
static float fit_error(const float *x, const float *w, const uint8_t *l, float scale, float min) {
    float err = 0;
    for (int i = 0; i < SUB; i++) {
        float p = scale * (float)l[i];
        float diff = p + min;
        diff = diff - x[i];
        float sq = diff * diff;
        float t = w[i] * sq;
        err += t;
    }
    return err;
}

/* Levels L of one sub-block and its scale; *neg_min gets -min. */
static float fit_sub_block(const float *x, const float *w, uint8_t *L, float *neg_min) {
    float min = x[0], max = x[0], sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < SUB; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        float t = w[i] * x[i];
        sum_x += t;
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, SUB);
        *neg_min = -min;
        return 0;
    }
    float iscale = (float)NMAX / (max - min), scale = 1 / iscale;
    for (int i = 0; i < SUB; i++) {
        float t = x[i] - min;
        L[i] = (uint8_t)clamp15(near_int(iscale * t));
    }
    float best = fit_error(x, w, L, scale, min);
    uint8_t aux[SUB];
    for (int is = 0; is <= 20; is++) {
        float step = 0.1f * (float)is;
        float top = -1.0f + step;
        top = top + (float)NMAX;
        iscale = top / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < SUB; i++) {
            float t = x[i] - min;
            int l = clamp15(near_int(iscale * t));
            aux[i] = (uint8_t)l;
            float wl = w[i] * (float)l;
            sum_l += wl;
            float wll = wl * (float)l;
            sum_l2 += wll;
            float wlx = wl * x[i];
            sum_xl += wlx;
        }
        float a = sum_w * sum_l2, b = sum_l * sum_l;
        float D = a - b;
        if (D <= 0) continue;
        float s1 = sum_w * sum_xl, s2 = sum_x * sum_l;
        float this_scale = (s1 - s2) / D;
        float m1 = sum_l2 * sum_x, m2 = sum_l * sum_xl;
        float this_min = (m1 - m2) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = fit_error(x, w, aux, this_scale, this_min);
        if (err < best) {
            memcpy(L, aux, SUB);
            best = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *neg_min = -min;
    return scale;
}

/* q4_k block: {f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128
 * bytes of nibbles}. */
void rt_ggml_quantize_q4_k_block(const float *x, uint8_t *b) {
    uint8_t L[SUB * N_SUB];
    float w[SUB], scales[N_SUB], mins[N_SUB], max_scale = 0, max_min = 0;
    for (int j = 0; j < N_SUB; j++) {
        const float *xs = x + SUB * j;
        float sum_x2 = 0;
        for (int l = 0; l < SUB; l++) {
            float t = xs[l] * xs[l];
            sum_x2 += t;
        }
        float av_x = sqrtf(sum_x2 / SUB);
        for (int l = 0; l < SUB; l++) w[l] = av_x + fabsf(xs[l]);
        scales[j] = fit_sub_block(xs, w, L + SUB * j, &mins[j]);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    uint8_t *sc = b + 4, *qs = b + 16;
    memset(sc, 0, 12);
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f, inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < N_SUB; j++) {
        uint8_t ls = (uint8_t)near_int(inv_scale * scales[j]), lm = (uint8_t)near_int(inv_min * mins[j]);
        ls = ls < 63 ? ls : 63;
        lm = lm < 63 ? lm : 63;
        if (j < 4) {
            sc[j] = ls;
            sc[j + 4] = lm;
        } else {
            sc[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
            sc[j - 4] |= (uint8_t)((ls >> 4) << 6);
            sc[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    uint16_t hd = rt_f32_to_f16(max_scale / 63.f), hm = rt_f32_to_f16(max_min / 63.f);
    b[0] = (uint8_t)hd, b[1] = (uint8_t)(hd >> 8), b[2] = (uint8_t)hm, b[3] = (uint8_t)(hm >> 8);
    for (int j = 0; j < N_SUB; j++) {
        int s, m;
        rt_ggml_scale_min_k4(j, sc, &s, &m);
        float d = rt_f16_to_f32(hd) * (float)s;
        if (d == 0) continue;
        float dm = rt_f16_to_f32(hm) * (float)m;
        for (int i = 0; i < SUB; i++) {
            float t = x[SUB * j + i] + dm;
            L[SUB * j + i] = (uint8_t)clamp15(near_int(t / d));
        }
    }
    for (int j = 0; j < SUB * N_SUB; j += 64)
        for (int l = 0; l < 32; l++) *qs++ = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
}
