/* test_gguf.c — unit tests of the GGUF reader (frontend/gguf/gguf.c) and of
 * the ggml block formats (runtime/ggml_quant.c), and the helper that
 * tests/gguf/run_gguf.sh drives.
 *
 * Without arguments: blocks written by hand from ggml's layouts decode to
 * the values the layout defines; the quantizers stay within half a step of
 * their input and reject what they cannot do; a GGUF file written here with
 * every value type and nested arrays reads back through every getter; and
 * every truncation and many byte flips of it give a clean error or a valid
 * file, never a crash (run under ASan by `make asan`).
 *
 * As a helper (the oracle comparisons live in tests/gguf/check_gguf.py):
 *   test_gguf dump FILE.gguf DIR     every tensor as DIR/NAME.npy: float and
 *                                    block types dequantized to f32, ints and
 *                                    f64 as they are; numpy shape is ne reversed
 *   test_gguf quant TYPE IN.npy OUT  rt_ggml_quantize of an f32 array, raw blocks
 */
#include "frontend/gguf/gguf.h"
#include "runtime/ggml_quant.h"
#include "runtime/half.h"
#include "runtime/npy.h"
#include "tests/unit/support/check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the helper modes ------------------------------------------------------ */

static int dump(const char *path, const char *dir) {
    diag d;
    diag_init(&d);
    gguf_file *f = gguf_open(path, &d);
    if (!f) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        npy_array a = {0};
        int64_t n = 1;
        a.rank = (int)t->n_dims;
        for (uint32_t k = 0; k < t->n_dims; k++) a.shape[k] = (int64_t)t->ne[t->n_dims - 1 - k];
        for (int k = 0; k < 4; k++) n *= (int64_t)t->ne[k];
        const ir_dtype_info *info = ir_dtype_get(t->dtype);
        float *y = NULL;
        switch (t->dtype) {
        case IR_F64: a.dtype = NPY_F64; break;
        case IR_I8: a.dtype = NPY_I8; break;
        case IR_I16: a.dtype = NPY_I16; break;
        case IR_I32: a.dtype = NPY_I32; break;
        case IR_I64: a.dtype = NPY_I64; break;
        default:
            a.dtype = NPY_F32;
            y = malloc((size_t)(n ? n : 1) * sizeof *y);
            if (!y) return 1;
            if (t->dtype == IR_F32) memcpy(y, t->data, (size_t)n * 4);
            else if (t->dtype == IR_F16 || t->dtype == IR_BF16)
                for (int64_t j = 0; j < n; j++) {
                    uint16_t h = (uint16_t)(t->data[2 * j] | t->data[2 * j + 1] << 8);
                    y[j] = t->dtype == IR_F16 ? rt_f16_to_f32(h) : rt_bf16_to_f32(h);
                }
            else if (info->cls != IR_CLASS_Q || rt_ggml_dequantize(t->dtype, t->data, n, y)) {
                fprintf(stderr, "%s: tensor %.*s: cannot dequantize %s\n", path, (int)t->name.len, t->name.ptr,
                        info->name);
                rc = 1;
            }
        }
        a.data = y ? (void *)y : (void *)t->data;
        a.nbytes = (size_t)n * npy_dtype_size(a.dtype);
        char out[1024], err[256];
        snprintf(out, sizeof out, "%s/%.*s.npy", dir, (int)t->name.len, t->name.ptr);
        for (char *p = out + strlen(dir) + 1; *p; p++)
            if (*p == '/') *p = '_';
        if (!rc && npy_write_file(out, &a, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            rc = 1;
        }
        free(y);
    }
    gguf_close(f);
    return rc;
}

static int quant(const char *type, const char *in, const char *out) {
    char err[256];
    npy_array a;
    ir_dtype t = ir_dtype_from_name(type, -1);
    if (npy_read_file(in, &a, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    int64_t n = npy_numel(&a), bytes = ir_dtype_storage_bytes(t, n);
    void *q = bytes > 0 ? malloc((size_t)bytes) : NULL;
    int rc = a.dtype != NPY_F32 || !q || rt_ggml_quantize(t, a.data, n, q);
    if (rc) fprintf(stderr, "%s: cannot quantize %lld elements to %s\n", in, (long long)n, type);
    FILE *f = rc ? NULL : fopen(out, "wb");
    if (!rc && (!f || fwrite(q, 1, (size_t)bytes, f) != (size_t)bytes)) rc = 1;
    if (f && fclose(f)) rc = 1;
    free(q);
    npy_free(&a);
    return rc;
}

/* ---- block formats --------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void test_blocks(void) {
    uint8_t b[256];
    float y[256];
    /* q4_0: d = 0.5; byte j holds element j (low nibble j) and j + 16 (15 - j) */
    put16(b, 0x3800);
    for (int j = 0; j < 16; j++) b[2 + j] = (uint8_t)(j | (15 - j) << 4);
    CHECK(rt_ggml_dequantize(IR_Q4_0, b, 32, y) == 0);
    int ok = 1;
    for (int j = 0; j < 16; j++) ok &= y[j] == 0.5f * (float)(j - 8) && y[j + 16] == 0.5f * (float)(7 - j);
    CHECK(ok);
    /* q4_1: d = 2, m = -1: x = 2 q - 1 */
    put16(b, 0x4000);
    put16(b + 2, 0xbc00);
    for (int j = 0; j < 16; j++) b[4 + j] = (uint8_t)(j | (15 - j) << 4);
    CHECK(rt_ggml_dequantize(IR_Q4_1, b, 32, y) == 0);
    CHECK(y[0] == -1 && y[3] == 5 && y[16] == 29 && y[31] == -1);
    /* q5_0: d = 1, qh bit j = element j's fifth bit; all nibbles 0 */
    memset(b, 0, sizeof b);
    put16(b, 0x3c00);
    b[2] = 0x01; /* element 0 */
    b[5] = 0x80; /* element 31 */
    CHECK(rt_ggml_dequantize(IR_Q5_0, b, 32, y) == 0);
    CHECK(y[0] == 0 && y[1] == -16 && y[31] == 0);
    /* q8_0: d = 0.25, q = -128 .. */
    put16(b, 0x3400);
    for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)(j * 8 - 128);
    CHECK(rt_ggml_dequantize(IR_Q8_0, b, 32, y) == 0);
    CHECK(y[0] == -32 && y[31] == 0.25f * (31 * 8 - 128));
    /* q6_k: d = 1, scale 2 everywhere, ql = qh = 0 -> q = -32 -> -64; then
     * element 32 k + l's high bits: set qh[0] bits 2..3 (k = 1) to 3 -> 48 - 32 */
    memset(b, 0, 210);
    for (int j = 0; j < 16; j++) b[192 + j] = 2;
    put16(b + 208, 0x3c00);
    b[128] = 0x0c;
    CHECK(rt_ggml_dequantize(IR_Q6_K, b, 256, y) == 0);
    CHECK(y[0] == -64 && y[32] == 32 && y[255] == -64);
    /* q4_k: d = 1, dmin = 1; scale/min j < 4 in bytes j, j + 4: sub-block 1
     * (elements 32..63: high nibbles of qs[0..31]) scale 3, min 5 */
    memset(b, 0, 144);
    put16(b, 0x3c00);
    put16(b + 2, 0x3c00);
    b[4 + 1] = 3;
    b[4 + 5] = 5;
    b[16] = 0x70;
    CHECK(rt_ggml_dequantize(IR_Q4_K, b, 256, y) == 0);
    CHECK(y[0] == 0 && y[32] == 3 * 7 - 5 && y[33] == -5);
    /* errors */
    CHECK(rt_ggml_dequantize(IR_Q4_0, b, 31, y) == -1);
    CHECK(rt_ggml_dequantize(IR_F32, b, 32, y) == -1);
    CHECK(rt_ggml_quantize(IR_F16, y, 32, b) == -1);
    CHECK(rt_ggml_quantize(IR_Q8_0, y, 48, b) == -1);
}

/* quantize -> dequantize stays within half a step (one for the clamped top) */
static void test_quant_roundtrip(void) {
    const ir_dtype types[] = {IR_Q4_0, IR_Q4_1, IR_Q5_0, IR_Q5_1, IR_Q8_0};
    const float steps[] = {1.0f / 8, 1.0f / 15, 1.0f / 16, 1.0f / 31, 1.0f / 127};
    float x[64], y[64];
    uint8_t q[128];
    uint32_t s = 12345;
    for (int j = 0; j < 64; j++) {
        s = s * 1103515245u + 12345u;
        x[j] = ((float)(s >> 8) / (float)(1 << 24)) * 2.0f - 1.0f;
    }
    for (int t = 0; t < 5; t++) {
        CHECK(rt_ggml_quantize(types[t], x, 64, q) == 0);
        CHECK(rt_ggml_dequantize(types[t], q, 64, y) == 0);
        float worst = 0;
        for (int j = 0; j < 64; j++) worst = fmaxf(worst, fabsf(x[j] - y[j]));
        /* range at most 2, step = range x steps[t]; f16 scale rounding adds a little */
        CHECK(worst <= 2.0f * steps[t] * 1.01f);
    }
    float z[32] = {0};
    CHECK(rt_ggml_quantize(IR_Q4_0, z, 32, q) == 0 && rt_ggml_dequantize(IR_Q4_0, q, 32, y) == 0 && y[7] == 0);
}

/* ---- a GGUF file written here --------------------------------------------- */

typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf;

static void w(buf *o, const void *p, size_t n) {
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void w32(buf *o, uint32_t v) { w(o, &v, 4); }
static void w64(buf *o, uint64_t v) { w(o, &v, 8); }
static void wstr(buf *o, const char *s) {
    w64(o, strlen(s));
    w(o, s, strlen(s));
}

/* v3, alignment 64, 9 keys, 2 tensors */
static void make_file(buf *o) {
    o->n = 0;
    w(o, "GGUF", 4);
    w32(o, 3);
    w64(o, 2);
    w64(o, 9);
    wstr(o, "general.alignment"), w32(o, GGUF_U32), w32(o, 64);
    wstr(o, "a.i8"), w32(o, GGUF_I8), w(o, "\xfe", 1);
    wstr(o, "a.u16"), w32(o, GGUF_U16), w(o, "\x34\x12", 2);
    wstr(o, "a.f32"), w32(o, GGUF_F32), w32(o, 0x3fc00000); /* 1.5 */
    wstr(o, "a.bool"), w32(o, GGUF_BOOL), w(o, "\x01", 1);
    wstr(o, "a.str"), w32(o, GGUF_STRING), wstr(o, "llama");
    wstr(o, "a.i64"), w32(o, GGUF_I64), w64(o, (uint64_t)-5);
    wstr(o, "a.strs"), w32(o, GGUF_ARRAY), w32(o, GGUF_STRING), w64(o, 2), wstr(o, "x"), wstr(o, "yz");
    /* [[1, 2], [3]] as i16 */
    wstr(o, "a.nested"), w32(o, GGUF_ARRAY), w32(o, GGUF_ARRAY), w64(o, 2);
    w32(o, GGUF_I16), w64(o, 2), w(o, "\x01\x00\x02\x00", 4);
    w32(o, GGUF_I16), w64(o, 1), w(o, "\x03\x00", 2);
    wstr(o, "w"), w32(o, 2), w64(o, 4), w64(o, 2), w32(o, 0), w64(o, 0);        /* f32 [4,2] */
    wstr(o, "q"), w32(o, 1), w64(o, 32), w32(o, 8), w64(o, 64);                  /* q8_0 [32] */
    while (o->n % 64) w(o, "", 1);
    for (int i = 0; i < 8; i++) {
        float v = (float)i;
        w(o, &v, 4);
    }
    while (o->n % 64) w(o, "", 1);
    w(o, "\x00\x3c", 2); /* d = 1 */
    for (int i = 0; i < 32; i++) {
        int8_t v = (int8_t)(i - 16);
        w(o, &v, 1);
    }
}

static char tmp_path[64];

static gguf_file *open_bytes(const uint8_t *p, size_t n, diag *d) {
    FILE *f = fopen(tmp_path, "wb");
    if (!f) return NULL;
    fwrite(p, 1, n, f);
    fclose(f);
    diag_init(d);
    return gguf_open(tmp_path, d);
}

static void test_reader(void) {
    buf o;
    make_file(&o);
    diag d;
    gguf_file *f = open_bytes(o.b, o.n, &d);
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "%s\n", d.msg);
        return;
    }
    CHECK(f->version == 3 && f->alignment == 64 && f->n_kv == 9 && f->n_tensors == 2);
    uint64_t u;
    int64_t i;
    double x;
    bool bl;
    gguf_str s;
    CHECK(gguf_get_u64(f, "a.u16", &u, &d) == 0 && u == 0x1234);
    CHECK(gguf_get_i64(f, "a.i8", &i, &d) == 0 && i == -2);
    CHECK(gguf_get_i64(f, "a.i64", &i, &d) == 0 && i == -5);
    CHECK(gguf_get_f64(f, "a.f32", &x, &d) == 0 && x == 1.5);
    CHECK(gguf_get_bool(f, "a.bool", &bl, &d) == 0 && bl);
    CHECK(gguf_get_str(f, "a.str", &s, &d) == 0 && s.len == 5 && !memcmp(s.ptr, "llama", 5));
    diag_init(&d);
    CHECK(gguf_get_u64(f, "a.i8", &u, &d) == -1);
    CHECK_CONTAINS(d.msg, "key 'a.i8': -2 is negative");
    diag_init(&d);
    CHECK(gguf_get_u64(f, "missing.key", &u, &d) == -1);
    CHECK_CONTAINS(d.msg, "key 'missing.key' is missing");
    CHECK_CONTAINS(d.msg, tmp_path);
    diag_init(&d);
    CHECK(gguf_get_str(f, "a.bool", &s, &d) == -1);
    CHECK_CONTAINS(d.msg, "key 'a.bool': type bool, expected string");
    uint64_t n;
    const uint8_t *data;
    CHECK(gguf_get_arr(f, "a.strs", GGUF_STRING, &n, &data, &d) == 0 && n == 2);
    gguf_str s0 = gguf_arr_str(&data), s1 = gguf_arr_str(&data);
    CHECK(s0.len == 1 && s1.len == 2 && !memcmp(s1.ptr, "yz", 2));
    CHECK(gguf_get_arr(f, "a.nested", GGUF_ARRAY, &n, &data, &d) == 0 && n == 2);
    gguf_value a0 = gguf_arr_next(GGUF_ARRAY, &data), a1 = gguf_arr_next(GGUF_ARRAY, &data);
    CHECK(a0.arr.type == GGUF_I16 && a0.arr.n == 2 && gguf_arr_i64(GGUF_I16, a0.arr.data, 1) == 2);
    CHECK(a1.arr.n == 1 && gguf_arr_f64(GGUF_I16, a1.arr.data, 0) == 3.0);
    const gguf_tensor *tw = gguf_find_tensor(f, "w"), *tq = gguf_find_tensor(f, "q");
    CHECK(tw && tw->dtype == IR_F32 && tw->ne[0] == 4 && tw->ne[1] == 2 && tw->ne[2] == 1 && tw->nbytes == 32);
    CHECK(tq && tq->dtype == IR_Q8_0 && tq->nbytes == 34 && (size_t)(tq->data - f->base) % 64 == 0);
    float y[32];
    CHECK(tq && rt_ggml_dequantize(IR_Q8_0, tq->data, 32, y) == 0 && y[0] == -16 && y[31] == 15);
    CHECK(gguf_find(f, "nope") == NULL && gguf_find_tensor(f, "nope") == NULL);
    gguf_close(f);

    /* every truncation: an error, never a crash; the full file reads */
    int clean = 1;
    for (size_t len = 0; len < o.n; len++) {
        gguf_file *g = open_bytes(o.b, len, &d);
        clean &= g == NULL && d.errors > 0 && strstr(d.msg, tmp_path) != NULL;
        gguf_close(g);
    }
    CHECK(clean);
    /* byte flips in the header and tables: an error or a valid file */
    uint32_t r = 7;
    int survived = 0;
    for (int k = 0; k < 3000; k++) {
        buf m = o;
        r = r * 1664525u + 1013904223u;
        size_t at = (r >> 8) % 400;
        m.b[at] ^= (uint8_t)(1u << (r & 7));
        if (k & 1) m.b[(at * 7) % 400] = 0xff;
        gguf_file *g = open_bytes(m.b, m.n, &d);
        survived += g != NULL;
        if (!g) clean &= d.errors > 0;
        gguf_close(g);
    }
    CHECK(clean);
    CHECK(survived > 0);
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "dump")) return dump(argv[2], argv[3]);
    if (argc == 5 && !strcmp(argv[1], "quant")) return quant(argv[2], argv[3], argv[4]);
    if (argc > 1) {
        fprintf(stderr, "usage: test_gguf [dump FILE.gguf DIR | quant TYPE IN.npy OUT]\n");
        return 2;
    }
    snprintf(tmp_path, sizeof tmp_path, "/tmp/test_gguf_%d.gguf", (int)getpid());
    test_blocks();
    test_quant_roundtrip();
    test_reader();
    unlink(tmp_path);
    return check_summary("test_gguf");
}
