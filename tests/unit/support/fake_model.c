/* fake_model.c — hand-written smelt artifacts for the runtime's tests
 * (tests/unit/test_runtime.c): what the code generator would emit, in plain
 * C, following runtime/smelt_abi.h and docs/artifact.md.
 *
 * smelt_model (also built alone as a shared object by the test, as a real
 * artifact is): over a symbolic batch,
 *   h = relu(x + b)   t = 2 h (a temp, flat: batch*4)   u = t + 1   y = rowsum(u)
 * with outputs y, x (an input as output) and b (a constant as output).
 * fake_model_dd: a data-dependent size: s = x * m, idx = FakeNonZero(s) (a
 * library step; the test supplies the routine), w[i] = 10 idx[i / 2] of
 * size 2 * count. Only smelt_abi.h is included: this file is what a
 * compiler produces, not a runtime client.
 */
#include <stdint.h>

#include "runtime/smelt_abi.h"

/* ---- smelt_model ------------------------------------------------------------ */

static int fm_eval(int64_t *syms) {
    if (syms[0] < 0 || syms[0] > INT64_MAX / 4) return -1;
    syms[1] = syms[0] * 4;
    return 0;
}

static int64_t fm_flat(const smelt_kargs *a) { return a->syms[1]; }
static int64_t fm_rows(const smelt_kargs *a) { return a->syms[0]; }

static void fm_relu_add(const smelt_kargs *a, int64_t begin, int64_t end) {
    const float *x = a->bufs[0], *b = a->bufs[1];
    float *h = a->bufs[2];
    for (int64_t i = begin; i < end; i++) {
        float v = x[i] + b[i % 4];
        h[i] = v > 0 ? v : 0;
    }
}

static void fm_twice(const smelt_kargs *a, int64_t begin, int64_t end) {
    const float *h = a->bufs[2];
    float *t = a->bufs[4];
    for (int64_t i = begin; i < end; i++) t[i] = 2 * h[i];
}

static void fm_plus_one(const smelt_kargs *a, int64_t begin, int64_t end) {
    const float *t = a->bufs[4];
    float *u = a->bufs[5];
    for (int64_t i = begin; i < end; i++) u[i] = t[i] + 1;
}

static void fm_rowsum(const smelt_kargs *a, int64_t begin, int64_t end) {
    const float *u = a->bufs[5];
    float *y = a->bufs[3];
    for (int64_t r = begin; r < end; r++) y[r] = u[4 * r] + u[4 * r + 1] + u[4 * r + 2] + u[4 * r + 3];
}

static const smelt_kernel fm_kernels[] = {
    {fm_flat, fm_relu_add}, {fm_flat, fm_twice}, {fm_flat, fm_plus_one}, {fm_rows, fm_rowsum}};

#define FM_MANIFEST                                                                                          \
    "{\"format\": \"smelt-artifact\", \"format_version\": 1, \"compiler\": \"hand\", \"model\": \"fake\",\n" \
    " \"symbols\": [{\"name\": \"batch\"}, {\"expr\": \"(batch*4)\"}],\n"                                     \
    " \"buffers\": [\n"                                                                                      \
    "  {\"name\": \"x\", \"kind\": \"input\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}, 4]},\n"          \
    "  {\"name\": \"b\", \"kind\": \"const\", \"dtype\": \"f32\", \"shape\": [4], \"offset\": 0, \"bytes\": 16},\n" \
    "  {\"name\": \"h\", \"kind\": \"value\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}, 4]},\n"          \
    "  {\"name\": \"y\", \"kind\": \"value\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}]},\n"             \
    "  {\"name\": \"t\", \"kind\": \"temp\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 1}]},\n"              \
    "  {\"name\": \"u\", \"kind\": \"value\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}, 4]}],\n"         \
    " \"inputs\": [0], \"outputs\": [3, 0, 1],\n"                                                            \
    " \"steps\": [\n"                                                                                        \
    "  {\"kernel\": 0, \"node\": \"Relu_0\", \"out\": 2, \"reads\": [0, 1]},\n"                              \
    "  {\"kernel\": 1, \"node\": \"Mul_1\", \"out\": 4, \"reads\": [2]},\n"                                  \
    "  {\"kernel\": 2, \"node\": \"Add_2\", \"out\": 5, \"reads\": [4]},\n"                                  \
    "  {\"kernel\": 3, \"node\": \"ReduceSum_3\", \"out\": 3, \"reads\": [5]}]}"

static const char fm_manifest[] = FM_MANIFEST;

static const float fm_weights[16] __attribute__((aligned(SMELT_WEIGHTS_ALIGN))) = {0.5f, -1.0f, 2.0f, -3.0f};

const smelt_model_desc smelt_model = {
    SMELT_FORMAT_VERSION, 4, fm_kernels, fm_eval, fm_manifest, sizeof fm_manifest - 1,
    (const unsigned char *)fm_weights, 16};

/* ---- fake_model_dd ------------------------------------------------------------- */

static int dd_eval(int64_t *syms) {
    if (syms[1] < 0 || syms[1] > INT64_MAX / 2) return -1;
    syms[2] = syms[1] * 2;
    return 0;
}

static int64_t dd_n(const smelt_kargs *a) { return a->syms[0]; }
static int64_t dd_w(const smelt_kargs *a) { return a->syms[2]; }

static void dd_mul(const smelt_kargs *a, int64_t begin, int64_t end) {
    const float *x = a->bufs[0], *m = a->bufs[1];
    float *s = a->bufs[4];
    for (int64_t i = begin; i < end; i++) s[i] = x[i] * m[i];
}

static void dd_spread(const smelt_kargs *a, int64_t begin, int64_t end) {
    const int64_t *idx = a->bufs[2];
    int64_t *w = a->bufs[3];
    for (int64_t i = begin; i < end; i++) w[i] = 10 * idx[i / 2];
}

static const smelt_kernel dd_kernels[] = {{dd_n, dd_mul}, {dd_w, dd_spread}};

static const char dd_manifest[] =
    "{\"format\": \"smelt-artifact\", \"format_version\": 1,\n"
    " \"symbols\": [{\"name\": \"n\"}, {\"name\": \"_d1\"}, {\"expr\": \"(_d1*2)\"}],\n"
    " \"buffers\": [\n"
    "  {\"name\": \"x\", \"kind\": \"input\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}]},\n"
    "  {\"name\": \"m\", \"kind\": \"input\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}]},\n"
    "  {\"name\": \"idx\", \"kind\": \"value\", \"dtype\": \"i64\", \"shape\": [{\"sym\": 1}]},\n"
    "  {\"name\": \"w\", \"kind\": \"value\", \"dtype\": \"i64\", \"shape\": [{\"sym\": 2}]},\n"
    "  {\"name\": \"s\", \"kind\": \"value\", \"dtype\": \"f32\", \"shape\": [{\"sym\": 0}]}],\n"
    " \"inputs\": [0, 1], \"outputs\": [3, 2],\n"
    " \"steps\": [\n"
    "  {\"kernel\": 0, \"node\": \"Mul_0\", \"out\": 4, \"reads\": [0, 1]},\n"
    "  {\"lib\": \"FakeNonZero\", \"node\": \"NonZero_1\", \"in\": [4], \"out\": [2], \"attrs\": {}},\n"
    "  {\"kernel\": 1, \"node\": \"Spread_2\", \"out\": 3, \"reads\": [2]}]}";

const smelt_model_desc fake_model_dd = {
    SMELT_FORMAT_VERSION, 2, dd_kernels, dd_eval, dd_manifest, sizeof dd_manifest - 1, 0, 0};
