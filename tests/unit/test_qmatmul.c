/* test_qmatmul.c — the quantized matmul (runtime/qmatmul.h) against a
 * reference computed here from ggml's definitions: weights decoded by
 * rt_ggml_dequantize (checked bit for bit against gguf's dequantize in
 * tests/gguf), activations quantized by this file's own q8_0 / q8_1 / q8_K
 * (ggml's rules: q8_0/q8_1 scale amax / 127 with round-half-even of
 * x * 127 / amax, q8_K -127 / max with the largest-magnitude value's sign),
 * and the dot product of the decoded values in double (with q4_1 / q5_1's
 * min times the block's f16 sum s, as ggml uses it). The activation bytes
 * must equal this file's exactly; products agree to float rounding, for
 * every kernel set the CPU has (forced with SMELT_QMATMUL_KERNELS), on one
 * thread and on a pool, for odd row counts, several K and several
 * activation row counts (the GEMM tiles of prefill and the rows left over),
 * each product equal bit for bit to rt_qdot_row of its rows, except where
 * the set repacks the weights for a prefill (rt_qmatmul_packed: 4 or more
 * activation rows), whose products equal the portable set's rt_qdot_row
 * (and, with SMELT_QMATMUL_NO_PACK=1, the set's own tiles are checked as
 * before). The sets that
 * share a rounding order must agree bit for bit: AVX-VNNI with AVX2 (the
 * same float steps over exact integer sums), NEON and dotprod with the
 * portable kernels (each block reduced to its integer sum, then added as
 * ggml's generic code adds it). tests/unit/run_qmatmul_arm.sh runs this
 * file for aarch64 under qemu, with and without the dot product extension.
 */
#include <math.h>
#include <stdlib.h>

#include "runtime/ggml_quant.h"
#include "runtime/half.h"
#include "runtime/qmatmul.h"
#include "tests/unit/support/check.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}
static float uniform(void) { return (float)next() / 4294967296.0f * 2 - 1; }

static void put_half(uint8_t *p, float x) {
    uint16_t h = rt_f32_to_f16(x);
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
}

/* random block bytes with plausible scales: the offsets of the f16 scales */
static void random_blocks(ir_dtype t, uint8_t *w, int64_t nblocks) {
    const ir_dtype_info *info = ir_dtype_get(t);
    for (int64_t b = 0; b < nblocks; b++) {
        uint8_t *p = w + b * info->block_bytes;
        for (uint32_t i = 0; i < info->block_bytes; i++) p[i] = (uint8_t)next();
        float d = 0.01f + 0.02f * fabsf(uniform()), m = 0.05f * uniform();
        switch (t) {
        case IR_Q4_0: case IR_Q5_0: case IR_Q8_0: put_half(p, d); break;
        case IR_Q4_1: case IR_Q5_1: put_half(p, d), put_half(p + 2, m); break;
        case IR_Q4_K: case IR_Q5_K: put_half(p, d * 0.1f), put_half(p + 2, fabsf(m) * 0.1f); break;
        case IR_Q6_K: put_half(p + 208, d * 0.05f); break;
        default: break;
        }
    }
}

/* ggml's activation quantization, written from its definition: returns the
 * decoded values in xd and the bytes in q */
static void ref_q8(rt_q8_type vt, const float *x, int64_t k, uint8_t *q, double *xd) {
    int bl = vt == RT_Q8_K ? 256 : 32;
    size_t bb = vt == RT_Q8_K ? RT_Q8_K_BYTES : vt == RT_Q8_1 ? RT_Q8_1_BYTES : RT_Q8_0_BYTES;
    for (int64_t b = 0; b < k / bl; b++, q += bb) {
        const float *v = x + b * bl;
        memset(q, 0, bb);
        if (vt == RT_Q8_K) {
            float amax = 0, max = 0;
            for (int j = 0; j < bl; j++)
                if (fabsf(v[j]) > amax) amax = fabsf(v[j]), max = v[j];
            float iscale = amax ? -127.0f / max : 0, d = amax ? 1 / iscale : 0;
            memcpy(q, &d, 4);
            for (int j = 0; j < bl; j++) {
                float r = rintf(iscale * v[j]);
                int8_t qi = (int8_t)(r > 127 ? 127 : r);
                q[4 + j] = (uint8_t)qi;
                int16_t s;
                memcpy(&s, q + 260 + 2 * (j / 16), 2);
                s = (int16_t)(s + qi);
                memcpy(q + 260 + 2 * (j / 16), &s, 2);
                xd[b * bl + j] = (double)d * qi;
            }
        } else {
            float amax = 0;
            for (int j = 0; j < bl; j++) amax = fmaxf(amax, fabsf(v[j]));
            float d = amax / 127, id = amax ? 127 / amax : 0;
            put_half(q, d);
            int off = vt == RT_Q8_1 ? 4 : 2, sum = 0;
            float dh = rt_f16_to_f32((uint16_t)(q[0] | q[1] << 8));
            for (int j = 0; j < bl; j++) {
                int8_t qi = (int8_t)rintf(v[j] * id);
                q[off + j] = (uint8_t)qi;
                sum += qi;
                xd[b * bl + j] = (double)dh * qi;
            }
            if (vt == RT_Q8_1) put_half(q + 2, d * (float)sum);
        }
    }
}

/* the kernel sets; a run skips those the CPU lacks */
static const char *const SETS[] = {"portable", "avx2", "avxvnni", "neon", "dotprod"};
#define NSETS (int)(sizeof SETS / sizeof SETS[0])
static int runs[NSETS];

static void one_type(ir_dtype t, int64_t n, int64_t k, int64_t m) {
    const ir_dtype_info *info = ir_dtype_get(t);
    int64_t rowb = ir_dtype_storage_bytes(t, k);
    uint8_t *w = malloc((size_t)(n * rowb)), *q = malloc((size_t)k * 2), *q2 = malloc((size_t)k * 2);
    float *x = malloc(sizeof(float) * (size_t)(m * k)), *wd = malloc(sizeof(float) * (size_t)(n * k));
    float *y = malloc(sizeof(float) * (size_t)(m * n)), *y2 = malloc(sizeof(float) * (size_t)(m * n));
    double *xd = malloc(sizeof(double) * (size_t)(m * k)), *ref = malloc(sizeof(double) * (size_t)(m * n));
    random_blocks(t, w, n * k / info->block_elems);
    CHECK(rt_ggml_dequantize(t, w, n * k, wd) == 0);
    for (int64_t i = 0; i < m * k; i++) x[i] = uniform() * (i % 7 == 0 ? 4.0f : 1.0f);
    for (int j = 0; j < 8; j++) x[j] = 0; /* a block with zeros */
    for (int j = 0; m > 3 && j < 256 && j < k; j++) x[3 * k + j] = 0; /* a whole zero row start (q8_K: amax 0) */
    rt_q8_type vt = rt_qmatmul_vec_type(t);
    bool same_bytes = true;
    for (int64_t r = 0; r < m; r++) {
        ref_q8(vt, x + r * k, k, q, xd + r * k);
        rt_q8_quantize_row(vt, x + r * k, k, q2);
        size_t nbytes = vt == RT_Q8_K ? (size_t)(k / 256) * RT_Q8_K_BYTES
                                      : (size_t)(k / 32) * (vt == RT_Q8_1 ? RT_Q8_1_BYTES : RT_Q8_0_BYTES);
        same_bytes = same_bytes && !memcmp(q, q2, nbytes);
    }
    CHECK(same_bytes);
    double worst = 0;
    for (int64_t r = 0; r < m; r++)
        for (int64_t c = 0; c < n; c++) {
            double s = 0;
            for (int64_t i = 0; i < k; i++) s += (double)wd[c * k + i] * xd[r * k + i];
            if (vt == RT_Q8_1) { /* ggml takes sum(x) of a block as its f16 s = d * sum q */
                uint8_t *qb = malloc((size_t)(k / 32) * RT_Q8_1_BYTES);
                double *unused = malloc(sizeof(double) * (size_t)k);
                ref_q8(vt, x + r * k, k, qb, unused);
                for (int64_t b = 0; b < k / 32; b++) {
                    const uint8_t *wb = w + c * rowb + b * info->block_bytes, *xb = qb + b * RT_Q8_1_BYTES;
                    double mw = rt_f16_to_f32((uint16_t)(wb[2] | wb[3] << 8)), sx = 0;
                    for (int j = 0; j < 32; j++) sx += xd[r * k + b * 32 + j];
                    s += mw * (rt_f16_to_f32((uint16_t)(xb[2] | xb[3] << 8)) - sx);
                }
                free(qb), free(unused);
            }
            ref[r * n + c] = s;
        }
    rt_pool *pool = rt_pool_new(2);
    float *out[NSETS] = {0}, *pdot = malloc(sizeof(float) * (size_t)(m * n));
    bool packed[NSETS] = {0};
    setenv("SMELT_QMATMUL_KERNELS", "portable", 1);
    for (int64_t r = 0; r < m; r++) {
        rt_q8_quantize_row(vt, x + r * k, k, q2);
        for (int64_t c = 0; c < n; c++) pdot[r * n + c] = rt_qdot_row(t, w + c * rowb, q2, k);
    }
    for (int run = 0; run < 2 * NSETS; run++) {
        int v = run % NSETS, own = run >= NSETS; /* the second round: SMELT_QMATMUL_NO_PACK */
        setenv("SMELT_QMATMUL_KERNELS", SETS[v], 1);
        if (strcmp(rt_qmatmul_kernels(t), SETS[v])) continue; /* not on this CPU / for this type */
        if (own) {
            if (!rt_qmatmul_packed(t)) continue; /* the first round checked the set's own products */
            setenv("SMELT_QMATMUL_NO_PACK", "1", 1);
        }
        bool pk = rt_qmatmul_packed(t) && m >= 4;
        float *o = malloc(sizeof(float) * (size_t)(m * n));
        if (!own) runs[v]++, out[v] = o, packed[v] = pk;
        CHECK(rt_qmatmul(t, w, n, k, x, m, o, NULL) == 0);
        CHECK(rt_qmatmul(t, w, n, k, x, m, y2, pool) == 0);
        CHECK(!memcmp(o, y2, sizeof(float) * (size_t)(m * n)));
        bool ok = true;
        for (int64_t i = 0; i < m * n; i++) {
            double e = fabs(o[i] - ref[i]);
            worst = fmax(worst, e);
            ok = ok && e <= 2e-4 * (1 + fabs(ref[i]));
        }
        if (!ok) fprintf(stderr, "%s k=%lld (%s): max |diff| %g\n", info->name, (long long)k, SETS[v], worst);
        CHECK(ok);
        /* every product equals the set's dot product of its two rows bit for
         * bit, whether it came from a GEMM tile or from the dot product; the
         * packed prefill GEMM's the portable one */
        bool exact = true;
        for (int64_t r = 0; r < m; r++) {
            rt_q8_quantize_row(vt, x + r * k, k, q2);
            for (int64_t c = 0; c < n; c++)
                exact = exact && (pk ? pdot[r * n + c] : rt_qdot_row(t, w + c * rowb, q2, k)) == o[r * n + c];
        }
        if (!exact)
            fprintf(stderr, "%s k=%lld m=%lld (%s%s): a product differs from rt_qdot_row\n", info->name, (long long)k,
                    (long long)m, SETS[v], pk ? ", packed" : own ? ", not packed" : "");
        CHECK(exact);
        if (own) free(o);
        unsetenv("SMELT_QMATMUL_NO_PACK");
    }
    unsetenv("SMELT_QMATMUL_KERNELS");
    CHECK(out[0] != NULL); /* the portable set always runs */
    size_t bytes = sizeof(float) * (size_t)(m * n);
    for (int v = 1; v < NSETS; v++) {
        /* the same rounding: avxvnni as avx2; neon and dotprod as portable */
        int like = !strcmp(SETS[v], "avxvnni") ? 1 : !strcmp(SETS[v], "avx2") ? -1 : 0;
        if (out[v] && like >= 0 && out[like] && packed[v] == packed[like]) {
            bool same = !memcmp(out[v], out[like], bytes);
            if (!same) fprintf(stderr, "%s k=%lld: %s differs from %s\n", info->name, (long long)k, SETS[v], SETS[like]);
            CHECK(same);
        }
    }
    for (int v = 0; v < NSETS; v++) free(out[v]);
    free(pdot);
    CHECK(rt_qmatmul(t, w, n, k + 16, x, m, y, NULL) == -1); /* not whole blocks */
    rt_pool_free(pool);
    free(w), free(q), free(q2), free(x), free(wd), free(y), free(y2), free(xd), free(ref);
}

int main(void) {
    ir_dtype types[] = {IR_Q4_0, IR_Q4_1, IR_Q5_0, IR_Q5_1, IR_Q8_0, IR_Q4_K, IR_Q5_K, IR_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        CHECK(rt_qmatmul_supported(types[i]));
        bool kq = ir_dtype_get(types[i])->block_elems == 256;
        const int64_t ks[] = {kq ? 256 : 32, kq ? 768 : 160, 512};
        for (int j = 0; j < 3; j++) one_type(types[i], 37, ks[j], 5);
        one_type(types[i], 1, 512, 1); /* one row: the decode case */
        /* prefill shapes: whole GEMM tiles of activation rows, and leftovers */
        const int64_t ms[] = {4, 8, 13};
        for (int j = 0; j < 3; j++) one_type(types[i], 40, ks[1], ms[j]);
    }
    fprintf(stderr, "kernel sets run (type x K):");
    for (int v = 0; v < NSETS; v++) fprintf(stderr, " %s %d", SETS[v], runs[v]);
    fprintf(stderr, "\n");
    CHECK(!rt_qmatmul_supported(IR_Q2_K) && !rt_qmatmul_supported(IR_F32));
    float x[256] = {0}, y[1];
    uint8_t w[84] = {0};
    CHECK(rt_qmatmul(IR_Q2_K, w, 1, 256, x, 1, y, NULL) == -1);
    return check_summary("test_qmatmul");
}
