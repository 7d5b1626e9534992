/* test_runtime.c — unit tests of the runtime library (runtime/: model.c,
 * manifest.c, target.c, session.c, plan.c, pool.c, exec.c).
 *
 * The artifacts are hand-written in C (tests/unit/support/fake_model.c);
 * expected values come from the fake model's formulas evaluated here, not
 * from the runtime. Covered: loading through smelt_load_desc and through
 * dlopen of the fake model built as a shared object, input and output info,
 * shape checks and their messages, symbol binding across inputs, derived
 * symbols, data-dependent sizes bound by a library step, the arena (reuse,
 * and no overlap among simultaneously live buffers by brute force on
 * random plans), identical results on 1, 2 and 4 threads, caller- and
 * session-owned outputs, inputs and constants as outputs, and malformed
 * manifests (every truncation, wrong version, missing fields, indices out
 * of range, overflowing shapes, another CPU) refused with a message.
 * Run from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/plan.h"
#include "runtime/pool.h"
#include "runtime/rt_session.h"
#include "runtime/smelt.h"
#include "tests/unit/support/check.h"

/* smelt.h names its model type smelt_model: the desc gets another C name */
extern const smelt_model_desc fake_desc __asm__("smelt_model");
extern const smelt_model_desc fake_model_dd;

static char err[1024];

/* ---- the expected values, from the fake model's formulas --------------------- */

static const float bias[4] = {0.5f, -1.0f, 2.0f, -3.0f};

static void expect_y(const float *x, int64_t batch, float *y) {
    for (int64_t r = 0; r < batch; r++) {
        float s = 0;
        for (int j = 0; j < 4; j++) {
            float v = x[r * 4 + j] + bias[j];
            s += 2 * (v > 0 ? v : 0) + 1;
        }
        y[r] = s;
    }
}

static float *make_x(int64_t batch, unsigned seed) {
    float *x = malloc((size_t)batch * 4 * sizeof *x);
    srand(seed);
    for (int64_t i = 0; i < batch * 4; i++) x[i] = (float)(rand() % 2001 - 1000) / 100.0f;
    return x;
}

static bool same_floats(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* ---- loading and info ------------------------------------------------------------------------ */

static void test_load_info(void) {
    smelt_model *m;
    CHECK(smelt_load_desc(&fake_desc, "fake", &m, err, sizeof err) == 0);
    if (!m) return;
    CHECK(smelt_num_inputs(m) == 1);
    CHECK(smelt_num_outputs(m) == 3);
    smelt_tensor_info t;
    CHECK(smelt_input_info(m, 0, &t) == 0);
    CHECK(!strcmp(t.name, "x") && !strcmp(t.dtype, "f32") && t.rank == 2);
    CHECK(t.dims[0] == -1 && !strcmp(t.dim_names[0], "batch") && t.dims[1] == 4 && t.dim_names[1] == NULL);
    CHECK(smelt_output_info(m, 0, &t) == 0 && !strcmp(t.name, "y") && t.rank == 1);
    CHECK(smelt_output_info(m, 2, &t) == 0 && !strcmp(t.name, "b") && t.dims[0] == 4);
    CHECK(smelt_input_info(m, 1, &t) == -1);
    CHECK(smelt_output_info(m, -1, &t) == -1);
    CHECK(strstr(smelt_manifest(m), "smelt-artifact") != NULL);
    smelt_model_free(m);
}

/* Run the fake model on batch rows with the given threads; y (batch floats) out. */
static int run_fake(smelt_model *m, int threads, const float *x, int64_t batch, float *y) {
    smelt_session *s;
    if (smelt_session_new(m, &(smelt_options){.threads = threads}, &s, err, sizeof err)) return -1;
    int64_t shape[2] = {batch, 4};
    int rc = smelt_set_input(s, 0, x, shape, 2, err, sizeof err) || smelt_run(s, err, sizeof err);
    const void *data;
    int64_t oshape[16];
    int rank;
    if (!rc) rc = smelt_get_output(s, 0, &data, oshape, &rank);
    if (!rc && (rank != 1 || oshape[0] != batch)) rc = -1;
    if (!rc) memcpy(y, data, (size_t)batch * sizeof *y);
    smelt_session_free(s);
    return rc;
}

static void test_run_threads(void) {
    smelt_model *m;
    if (smelt_load_desc(&fake_desc, "fake", &m, err, sizeof err)) {
        CHECK(!"load");
        return;
    }
    const int64_t batch = 3001;
    float *x = make_x(batch, 7), *want = malloc(batch * sizeof *want), *got[3];
    expect_y(x, batch, want);
    int threads[3] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
        got[k] = calloc(batch, sizeof *got[k]);
        CHECK(run_fake(m, threads[k], x, batch, got[k]) == 0);
        CHECK(same_floats(got[k], want, batch));
    }
    CHECK(memcmp(got[0], got[1], batch * sizeof(float)) == 0);
    CHECK(memcmp(got[0], got[2], batch * sizeof(float)) == 0);
    /* threads = 0: the machine's cores */
    CHECK(run_fake(m, 0, x, batch, got[0]) == 0 && same_floats(got[0], want, batch));
    for (int k = 0; k < 3; k++) free(got[k]);
    free(x);
    free(want);
    smelt_model_free(m);
}

/* Outputs: session-owned, caller-owned, an input and a constant as outputs,
 * new shapes on the same session, the arena's reuse, no reallocation. */
static void test_outputs_arena(void) {
    smelt_model *m;
    smelt_session *s;
    if (smelt_load_desc(&fake_desc, "fake", &m, err, sizeof err) ||
        smelt_session_new(m, &(smelt_options){.threads = 2}, &s, err, sizeof err)) {
        CHECK(!"load");
        return;
    }
    CHECK(smelt_arena_bytes(s) == 0); /* symbolic: planned at the first run */
    int64_t batch = 10, shape[2] = {batch, 4};
    float *x = make_x(64, 3), want[64], y_user[64];
    const void *data;
    int64_t oshape[16];
    int rank;
    CHECK(smelt_get_output(s, 0, &data, oshape, &rank) == -1); /* no run yet */
    CHECK(smelt_set_input(s, 0, x, shape, 2, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == 0);
    expect_y(x, batch, want);
    CHECK(smelt_get_output(s, 0, &data, oshape, &rank) == 0 && same_floats(data, want, batch));
    /* x as output: a copy of the input, not the caller's pointer */
    CHECK(smelt_get_output(s, 1, &data, oshape, &rank) == 0 && rank == 2 && oshape[0] == batch && oshape[1] == 4);
    CHECK(data != (const void *)x && same_floats(data, x, batch * 4));
    CHECK(smelt_get_output(s, 2, &data, oshape, &rank) == 0 && rank == 1 && oshape[0] == 4);
    CHECK(data != (const void *)fake_desc.weights && same_floats(data, bias, 4));

    /* arena: h, t, u (16 B a row each), session-owned y (4 B a row) and the
     * copies of x (16 B a row) and b (16 B), each rounded up to 64 bytes; h,
     * u and the copies may share (h dies at step 1, u at step 3). */
    uint64_t r64 = (batch * 16 + 63) / 64 * 64, sum = 3 * r64 + (batch * 4 + 63) / 64 * 64 + r64 + 64;
    size_t arena = smelt_arena_bytes(s);
    CHECK(arena > 0 && arena < sum);
    CHECK(arena % 64 == 0);

    /* the same shapes again: nothing reallocated, same results */
    unsigned char *arena_ptr = s->arena;
    CHECK(smelt_run(s, err, sizeof err) == 0);
    CHECK(s->arena == arena_ptr);
    CHECK(smelt_get_output(s, 0, &data, oshape, &rank) == 0 && same_floats(data, want, batch));

    /* caller-owned y: written in place; too small is refused with a message */
    CHECK(smelt_set_output(s, 0, y_user, 4, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "output 'y' needs 40 bytes");
    CHECK(smelt_set_output(s, 0, y_user, sizeof y_user, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == 0);
    CHECK(smelt_get_output(s, 0, &data, oshape, &rank) == 0 && data == (const void *)y_user);
    CHECK(same_floats(y_user, want, batch));
    CHECK(s->plan[3].bytes == 0 && smelt_arena_bytes(s) <= arena); /* y no longer in the arena */
    CHECK(smelt_set_output(s, 5, y_user, sizeof y_user, err, sizeof err) == -1);

    /* a new batch on the same session: resized */
    batch = 64;
    shape[0] = batch;
    CHECK(smelt_set_output(s, 0, NULL, 0, err, sizeof err) == 0);
    CHECK(smelt_set_input(s, 0, x, shape, 2, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == 0);
    expect_y(x, batch, want);
    CHECK(smelt_get_output(s, 0, &data, oshape, &rank) == 0 && oshape[0] == 64 && same_floats(data, want, batch));
    CHECK(smelt_arena_bytes(s) > arena);
    /* batch 0: empty tensors run */
    shape[0] = 0;
    CHECK(smelt_set_input(s, 0, NULL, shape, 2, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == 0);
    CHECK(smelt_get_output(s, 0, &data, oshape, &rank) == 0 && oshape[0] == 0);
    smelt_session_free(s);
    smelt_model_free(m);
    free(x);
}

static void test_input_checks(void) {
    smelt_model *m;
    smelt_session *s;
    if (smelt_load_desc(&fake_desc, "fake", &m, err, sizeof err) ||
        smelt_session_new(m, &(smelt_options){.threads = 1}, &s, err, sizeof err)) {
        CHECK(!"load");
        return;
    }
    float x[40] = {0};
    CHECK(smelt_run(s, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "fake: input 'x' is not set");
    CHECK(smelt_set_input(s, 0, x, (int64_t[]){2, 5}, 2, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "fake: input 'x' axis 1: expected 4, given 5");
    CHECK(smelt_set_input(s, 0, x, (int64_t[]){2, 4, 1}, 3, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "input 'x': rank 3 given, the model takes rank 2");
    CHECK(smelt_set_input(s, 0, x, (int64_t[]){-2, 4}, 2, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "negative size");
    CHECK(smelt_set_input(s, 1, x, (int64_t[]){2, 4}, 2, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "no input 1");
    /* a batch whose derived size (batch*4) overflows: eval_symbols refuses */
    CHECK(smelt_set_input(s, 0, x, (int64_t[]){INT64_MAX / 2, 4}, 2, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "negative or overflowing");
    smelt_session_free(s);
    smelt_model_free(m);
}

/* ---- data-dependent sizes -------------------------------------------------------------- */

/* NonZero of a 1-D float tensor, as the library would do it. */
static int fake_nonzero(rt_lib_call *c) {
    const rt_tensor *in = &c->in[0];
    if (c->n_in != 1 || !in->present || in->rank != 1) {
        snprintf(c->err, c->err_size, "bad input");
        return -1;
    }
    const float *x = in->data;
    int64_t n = 0;
    for (int64_t i = 0; i < in->numel; i++) n += x[i] != 0;
    rt_tensor *o = c->output(c, 0, &n);
    if (!o) return -1;
    int64_t *idx = o->data, k = 0;
    for (int64_t i = 0; i < in->numel; i++)
        if (x[i] != 0) idx[k++] = i;
    return 0;
}

static int bad_size_nonzero(rt_lib_call *c) {
    int64_t n = 3;
    if (!c->output(c, 0, &n)) return -1; /* binds _d1 = 3 */
    n = 2;
    return c->output(c, 0, &n) ? 0 : -1; /* disagrees */
}

static void test_data_dependent(void) {
    smelt_model *m;
    smelt_session *s;
    CHECK(smelt_load_desc(&fake_model_dd, "dd", &m, err, sizeof err) == 0);
    if (!m) return;
    /* the stub library has no FakeNonZero: refused when the session starts */
    CHECK(smelt_session_new(m, NULL, &s, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "node NonZero_1: library kernel FakeNonZero not available");
    CHECK(rt_model_set_lib(m, "FakeNonZero", fake_nonzero) == 1);
    CHECK(smelt_session_new(m, &(smelt_options){.threads = 2}, &s, err, sizeof err) == 0);
    if (!s) return;
    float x[6] = {1, 0, 3, 4, 0, 6}, mask[6] = {1, 1, 0, 1, 1, 1}, mask7[7] = {0};
    /* both inputs bind n: disagreeing sizes are refused, naming both */
    CHECK(smelt_set_input(s, 0, x, (int64_t[]){6}, 1, err, sizeof err) == 0);
    CHECK(smelt_set_input(s, 1, mask7, (int64_t[]){7}, 1, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "input 'm' axis 0 (n): given 7, but input 'x' has n = 6");
    CHECK(smelt_set_input(s, 1, mask, (int64_t[]){6}, 1, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == 0);
    /* s = x*m = {1,0,0,4,0,6}: idx = {0,3,5}, w = {0,0,30,30,50,50} */
    const void *data;
    int64_t shape[16];
    int rank;
    CHECK(smelt_get_output(s, 1, &data, shape, &rank) == 0 && rank == 1 && shape[0] == 3);
    const int64_t want_idx[3] = {0, 3, 5}, want_w[6] = {0, 0, 30, 30, 50, 50};
    CHECK(data && memcmp(data, want_idx, sizeof want_idx) == 0);
    CHECK(smelt_get_output(s, 0, &data, shape, &rank) == 0 && rank == 1 && shape[0] == 6);
    CHECK(data && memcmp(data, want_w, sizeof want_w) == 0);
    /* the next run, after rebinding one input (n is unchanged), counts again */
    float mask2[6] = {0, 0, 0, 0, 0, 1};
    CHECK(smelt_set_input(s, 1, mask2, (int64_t[]){6}, 1, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == 0);
    CHECK(smelt_get_output(s, 1, &data, shape, &rank) == 0 && shape[0] == 1 && ((const int64_t *)data)[0] == 5);
    CHECK(smelt_get_output(s, 0, &data, shape, &rank) == 0 && shape[0] == 2 && ((const int64_t *)data)[1] == 50);
    /* caller-owned storage of a data-dependent output, too small */
    int64_t w_user[1];
    CHECK(smelt_set_output(s, 0, w_user, sizeof w_user, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "output 'w' needs 16 bytes");
    smelt_session_free(s);

    /* a library routine giving a size that disagrees with the bound one */
    CHECK(rt_model_set_lib(m, "FakeNonZero", bad_size_nonzero) == 1);
    CHECK(smelt_session_new(m, &(smelt_options){.threads = 1}, &s, err, sizeof err) == 0);
    CHECK(smelt_set_input(s, 0, x, (int64_t[]){6}, 1, err, sizeof err) == 0);
    CHECK(smelt_set_input(s, 1, mask, (int64_t[]){6}, 1, err, sizeof err) == 0);
    CHECK(smelt_run(s, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "node NonZero_1 (FakeNonZero): output 0 (idx) axis 0: size 2, the model expects 3");
    smelt_session_free(s);
    smelt_model_free(m);
}

/* ---- arena planning ------------------------------------------------------------------- */

static void test_plan(void) {
    /* lives [0,1] [1,2] [2,3] of 100 B each: the first and third may share */
    rt_plan_buffer b[3] = {{100, 0, 1}, {100, 1, 2}, {100, 2, 3}};
    uint64_t off[3], total;
    CHECK(rt_plan_arena(b, 3, off, &total) == 0);
    CHECK(total == 256 && off[0] == off[2] && off[0] != off[1]);
    srand(11);
    int bad = 0, reused = 0;
    for (int trial = 0; trial < 200; trial++) {
        uint32_t n = 1 + (uint32_t)(rand() % 60);
        rt_plan_buffer p[60];
        uint64_t o[60], sum = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t a = (uint32_t)(rand() % 40), len = (uint32_t)(rand() % 10);
            p[i] = (rt_plan_buffer){(uint64_t)(rand() % 5 ? rand() % 5000 : 0), a, a + len};
            sum += (p[i].bytes + 63) / 64 * 64;
        }
        if (rt_plan_arena(p, n, o, &total)) {
            bad++;
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (o[i] % 64 || o[i] + p[i].bytes > total) bad++;
            for (uint32_t j = i + 1; j < n; j++) {
                bool live = p[i].first <= p[j].last && p[j].first <= p[i].last;
                bool overlap = o[i] < o[j] + p[j].bytes && o[j] < o[i] + p[i].bytes;
                if (live && overlap && p[i].bytes && p[j].bytes) bad++;
            }
        }
        if (total > sum) bad++;
        reused += total < sum;
    }
    CHECK(bad == 0);
    CHECK(reused > 150);
    rt_plan_buffer huge[2] = {{UINT64_MAX - 10, 0, 0}, {100, 0, 0}};
    CHECK(rt_plan_arena(huge, 2, off, &total) == -1);
}

/* ---- the pool ------------------------------------------------------------------------------ */

typedef struct cover {
    int *hits;
} cover;

static void mark(void *ctx, int64_t begin, int64_t end) {
    cover *c = ctx;
    for (int64_t i = begin; i < end; i++) c->hits[i]++;
}

static void test_pool(void) {
    for (int threads = 1; threads <= 4; threads++) {
        rt_pool *p = rt_pool_new(threads);
        CHECK(p && rt_pool_threads(p) == threads);
        if (!p) continue;
        int hits[1000];
        int bad = 0;
        for (int round = 0; round < 300; round++) {
            int64_t n = round % 7 == 0 ? round % 3 : 1 + round * 3;
            memset(hits, 0, sizeof hits);
            cover c = {hits};
            rt_parallel_for(p, n, mark, &c);
            for (int64_t i = 0; i < n; i++) bad += hits[i] != 1;
            if (round % 50 == 0) usleep(2000); /* let the workers fall asleep */
        }
        CHECK(bad == 0);
        rt_pool_free(p);
    }
}

/* ---- malformed manifests --------------------------------------------------------------------- */

static int load_text(const char *text, char *e, size_t es) {
    smelt_model_desc d = fake_desc;
    d.manifest = text;
    d.manifest_len = strlen(text);
    smelt_model *m = NULL;
    int rc = smelt_load_desc(&d, "bad.so", &m, e, es);
    smelt_model_free(m);
    return rc;
}

/* The fake manifest with `from` replaced by `to`. */
static int load_edit(const char *from, const char *to) {
    const char *text = fake_desc.manifest, *at = strstr(text, from);
    if (!at) {
        snprintf(err, sizeof err, "(edit '%s' not found)", from);
        return 0;
    }
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *t = malloc(n);
    snprintf(t, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    int rc = load_text(t, err, sizeof err);
    free(t);
    return rc;
}

static const char *host_lacks(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("fma4")) return "fma4";
    if (!__builtin_cpu_supports("avx512fp16")) return "avx512fp16";
    if (!__builtin_cpu_supports("avx512f")) return "avx512f";
#endif
    return NULL;
}

static void test_malformed(void) {
    CHECK(load_text(fake_desc.manifest, err, sizeof err) == 0);
    /* every truncation is refused, none crashes (each one in a buffer of its size) */
    size_t len = strlen(fake_desc.manifest);
    int refused = 0;
    for (size_t k = 0; k < len; k++) {
        char *t = malloc(k + 1);
        memcpy(t, fake_desc.manifest, k);
        t[k] = 0;
        smelt_model_desc d = fake_desc;
        d.manifest = t;
        d.manifest_len = k;
        smelt_model *m = NULL;
        char e[256];
        refused += smelt_load_desc(&d, "bad.so", &m, e, sizeof e) == -1 && strstr(e, "bad.so: manifest:");
        smelt_model_free(m);
        free(t);
    }
    CHECK(refused == (int)len);
    CHECK(load_text("{\"format\": \"smelt-artifact\", \"format_vers", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "bad.so: manifest: invalid JSON near byte");

    CHECK(load_edit("\"format_version\": 1", "\"format_version\": 2") == -1);
    CHECK_CONTAINS(err, "format version 2, this runtime reads version 1");
    CHECK(load_edit("\"format_version\": 1,", "") == -1);
    CHECK_CONTAINS(err, "format_version: missing");
    CHECK(load_edit("\"smelt-artifact\"", "\"other\"") == -1);
    CHECK_CONTAINS(err, "format: not \"smelt-artifact\"");
    CHECK(load_edit("\"inputs\": [0], ", "") == -1);
    CHECK_CONTAINS(err, "inputs: missing or not an array");
    CHECK(load_edit("\"reads\": [2]", "\"reads\": [99]") == -1);
    CHECK_CONTAINS(err, "steps[1] (Mul_1).reads[0]: 99 is not an integer in [0, 5]");
    CHECK(load_edit("\"kernel\": 3", "\"kernel\": 4") == -1);
    CHECK_CONTAINS(err, "steps[3] (ReduceSum_3).kernel");
    CHECK(load_edit("\"outputs\": [3, 0, 1]", "\"outputs\": [3, 0, 6]") == -1);
    CHECK_CONTAINS(err, "outputs[2]");
    CHECK(load_edit("{\"sym\": 1}", "{\"sym\": 2}") == -1);
    CHECK_CONTAINS(err, "buffers[4] (t).shape[0]");
    CHECK(load_edit("\"shape\": [{\"sym\": 0}, 4]},\n  {\"name\": \"b\"",
                    "\"shape\": [{\"sym\": 0}, 4294967296, 4294967296]},\n  {\"name\": \"b\"") == -1);
    CHECK_CONTAINS(err, "buffers[0] (x).shape: the element count overflows");
    CHECK(load_edit("\"shape\": [{\"sym\": 0}]}", "\"shape\": [4294967296, 1073741824]}") == -1);
    CHECK_CONTAINS(err, "buffers[3] (y): its size in bytes overflows");
    CHECK(load_edit("\"dtype\": \"f32\", \"shape\": [4]", "\"dtype\": \"f33\", \"shape\": [4]") == -1);
    CHECK_CONTAINS(err, "unknown dtype 'f33'");
    CHECK(load_edit("\"offset\": 0, \"bytes\": 16", "\"offset\": 8, \"bytes\": 16") == -1);
    CHECK_CONTAINS(err, "outside the 16 bytes of weights");
    CHECK(load_edit("\"offset\": 0, \"bytes\": 16", "\"offset\": 0, \"bytes\": 12") == -1);
    CHECK_CONTAINS(err, "12 bytes given, its shape needs 16");
    CHECK(load_edit("\"kind\": \"temp\"", "\"kind\": \"scratch\"") == -1);
    CHECK_CONTAINS(err, "unknown kind 'scratch'");
    CHECK(load_edit("\"shape\": [{\"sym\": 0}]}", "\"shape\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}") == -1);
    CHECK_CONTAINS(err, "rank 17 over 16");
    CHECK(load_edit("\"out\": 2,", "\"out\": 0,") == -1);
    CHECK_CONTAINS(err, "writes input buffer 0 (x)");
    CHECK(load_edit("\"reads\": [0, 1]", "\"reads\": [0, 1.5]") == -1);
    CHECK(load_edit("\"buffers\": [", "\"buffers\": 7, \"x\": [") == -1);
    CHECK_CONTAINS(err, "buffers: missing or not an array");
    CHECK(load_text("[1, 2]", err, sizeof err) == -1);
    CHECK_CONTAINS(err, "not a JSON object");

    /* the desc itself */
    smelt_model_desc d = fake_desc;
    smelt_model *m = NULL;
    d.format_version = 2;
    CHECK(smelt_load_desc(&d, "v2.so", &m, err, sizeof err) == -1 && m == NULL);
    CHECK_CONTAINS(err, "v2.so: artifact format version 2, this runtime reads version 1");
    d = fake_desc;
    d.eval_symbols = NULL;
    CHECK(smelt_load_desc(&d, "x.so", &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "incomplete");

    /* another CPU */
    const char *target_x86 = "\"compiler\": \"hand\", \"target\": {\"triple\": \"x86_64-unknown-linux-gnu\", "
                             "\"cpu\": \"znver3\", \"features\": \"+sse2,-avx512f,+avx\"},";
#if defined(__x86_64__)
    __builtin_cpu_init();
    CHECK(load_edit("\"compiler\": \"hand\",", target_x86) == (__builtin_cpu_supports("avx") ? 0 : -1));
    CHECK(load_edit("\"compiler\": \"hand\",", "\"target\": {\"triple\": \"aarch64-unknown-linux-gnu\"},") == -1);
    CHECK_CONTAINS(err, "bad.so: built for aarch64-unknown-linux-gnu, this machine is x86_64");
#endif
    (void)target_x86;
    const char *lacks = host_lacks();
    if (lacks) {
        char t[256];
        snprintf(t, sizeof t, "\"target\": {\"triple\": \"x86_64-pc-linux-gnu\", \"cpu\": \"x\", \"features\": \"+sse2,+%s\"},",
                 lacks);
        CHECK(load_edit("\"compiler\": \"hand\",", t) == -1);
        char want[128];
        snprintf(want, sizeof want, "bad.so: built for CPU feature '%s'", lacks);
        CHECK_CONTAINS(err, want);
    }
}

/* ---- a real shared object ----------------------------------------------------------------------- */

static void test_shared_object(void) {
    char dir[] = "/tmp/smelt_rt_XXXXXX", so[64], cmd[512];
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    snprintf(so, sizeof so, "%s/fake_model.so", dir);
    snprintf(cmd, sizeof cmd, "gcc -std=c11 -O1 -shared -fPIC -I. tests/unit/support/fake_model.c -o %s", so);
    CHECK(system(cmd) == 0);
    smelt_model *m;
    CHECK(smelt_load(so, &m, err, sizeof err) == 0);
    if (m) {
        const int64_t batch = 33;
        float *x = make_x(batch, 5), want[33], got[33];
        expect_y(x, batch, want);
        CHECK(run_fake(m, 2, x, batch, got) == 0 && same_floats(got, want, batch));
        CHECK(smelt_num_outputs(m) == 3);
        free(x);
        smelt_model_free(m);
    }
    CHECK(smelt_load("/nonexistent/model.so", &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "/nonexistent/model.so: cannot load");
    /* a shared object that is no artifact */
    char c_file[96], so2[96];
    snprintf(c_file, sizeof c_file, "%s/empty.c", dir);
    snprintf(so2, sizeof so2, "%s/empty.so", dir);
    FILE *f = fopen(c_file, "w");
    if (f) {
        fputs("int not_a_model = 1;\n", f);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "gcc -shared -fPIC %s -o %s", c_file, so2);
    CHECK(system(cmd) == 0);
    CHECK(smelt_load(so2, &m, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "no symbol 'smelt_model'");
    unlink(so);
    unlink(so2);
    unlink(c_file);
    rmdir(dir);
}

int main(void) {
    test_load_info();
    test_run_threads();
    test_outputs_arena();
    test_input_checks();
    test_data_dependent();
    test_plan();
    test_pool();
    test_malformed();
    test_shared_object();
    return check_summary("test_runtime");
}
