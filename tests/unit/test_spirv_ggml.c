/* test_spirv_ggml.c — MatMulGGML's SPIR-V kernels (codegen/spirv/spv_ggml.c:
 * weights kept in ggml block formats, dequantized in the kernel) on the
 * first Vulkan device (lavapipe in CI), against an independent reference:
 * the weights dequantized by runtime/ggml_quant.c (ggml's reference
 * formulas, checked against gguf-py in test_gguf) and multiplied with x in
 * double here. The tolerance is that of an f32 sum of K products in any
 * order: 1e-5 of sum |w x| (plus 1e-6).
 *
 * Each block type the kernel has, at several (M, K, N): M 1 (decode) and
 * M > 1 (prefill), K of one and several blocks, N not a multiple of the
 * rows a workgroup takes (ragged), a rank-3 x with a symbolic length. The
 * weights are random bytes (every bit pattern of the quants is valid) with
 * the f16 scales set to random values in [0.002, 0.05): nothing comes from
 * smelt's quantizer. Every module passes SPIRV-Tools' validator; each
 * program runs twice (the second run resubmits the recorded command
 * buffers). Every type MatMulGGML takes has its cases. Without a Vulkan device the runs are skipped (validation runs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/spirv/spv.h"
#include "runtime/ggml_quant.h"
#include "runtime/half.h"
#include "runtime/qmatmul.h"
#include "runtime/vulkan/vk.h"
#include "support/check.h"
#include "tools/artifact.h"

static int skipped;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((double)(next() >> 11) / 9007199254740992.0); }

/* The byte offsets of a block's f16 scales (ggml-common.h); -1 ends. */
static void scale_offsets(ir_dtype t, int off[3]) {
    off[0] = 0, off[1] = -1, off[2] = -1;
    switch (t) {
    case IR_Q4_1: case IR_Q5_1: case IR_Q4_K: case IR_Q5_K: off[1] = 2; break;
    case IR_Q6_K: off[0] = 208; break;
    default: break;
    }
}

static uint8_t *random_blocks(ir_dtype t, int64_t n, int64_t k, size_t *bytes) {
    const ir_dtype_info *ti = ir_dtype_get(t);
    int64_t blocks = n * k / ti->block_elems;
    *bytes = (size_t)(blocks * ti->block_bytes);
    uint8_t *w = malloc(*bytes);
    for (size_t i = 0; w && i < *bytes; i++) w[i] = (uint8_t)next();
    int off[3];
    scale_offsets(t, off);
    for (int64_t b = 0; w && b < blocks; b++)
        for (int j = 0; j < 3 && off[j] >= 0; j++) {
            uint16_t h = rt_f32_to_f16(uniform(0.002f, 0.05f));
            w[b * ti->block_bytes + off[j]] = (uint8_t)h;
            w[b * ti->block_bytes + off[j] + 1] = (uint8_t)(h >> 8);
        }
    return w;
}

typedef struct gcase {
    ir_dtype t;
    int64_t m, k, n;
    bool sym;                  /* x [1, seq, K] with seq a symbol (bound to m) */
} gcase;

static void features_of(const rt_vk *vk, spv_features *f) {
    const rt_vk_device_info *i = rt_vk_info(vk);
    *f = (spv_features){.float64 = i->float64, .int8 = i->int8, .int16 = i->int16, .storage8 = i->storage8,
                        .storage16 = i->storage16, .max_storage_buffers = i->max_storage_buffers, .tiled = false};
}

/* y = x @ W^T as MatMulGGML: a graph with x an input and W a constant. */
static ir_graph *graph(const gcase *c, const uint8_t *w, size_t wbytes, diag *d) {
    ir_graph *g = ir_graph_new("ggml", "t.ir");
    ir_dim xd[3], wd[2] = {ir_dim_const(c->n), ir_dim_const(c->k)};
    int rank = c->sym ? 3 : 2;
    if (c->sym) {
        xd[0] = ir_dim_const(1), xd[1] = ir_dim_named(g, "seq"), xd[2] = ir_dim_const(c->k);
    } else {
        xd[0] = ir_dim_const(c->m), xd[1] = ir_dim_const(c->k);
    }
    ir_id x = ir_add_input(g, "x", IR_F32, rank, xd, d);
    ir_id wv = ir_add_const(g, "w", c->t, 2, wd, w, wbytes, -1, d);
    ir_id in[2] = {x, wv};
    const char *out = "y";
    ir_id nd = ir_add_node(g, IR_OP_MatMulGGML, in, 2, &out, 1, "mm", d);
    if (nd == IR_NONE || ir_infer(g, d) || ir_add_output(g, ir_find_value(g, "y"), d)) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

static void run_case(const gcase *c, rt_vk *vk) {
    char what[160], err[2048];
    snprintf(what, sizeof what, "%s M %lld K %lld N %lld%s", ir_dtype_name(c->t), (long long)c->m, (long long)c->k,
             (long long)c->n, c->sym ? " (symbolic)" : "");
    diag d;
    diag_init(&d);
    size_t wbytes;
    uint8_t *w = random_blocks(c->t, c->n, c->k, &wbytes);
    float *wf = malloc((size_t)(c->n * c->k) * sizeof *wf), *x = malloc((size_t)(c->m * c->k) * sizeof *x);
    double *want = malloc((size_t)(c->m * c->n) * sizeof *want), *mag = malloc((size_t)(c->m * c->n) * sizeof *mag);
    CHECK(w && wf && x && want && mag && rt_ggml_dequantize(c->t, w, c->n * c->k, wf) == 0);
    for (int64_t i = 0; i < c->m * c->k; i++) x[i] = uniform(-2, 2);
    for (int64_t i = 0; i < c->m; i++)
        for (int64_t j = 0; j < c->n; j++) {
            double s = 0, a = 0;
            for (int64_t e = 0; e < c->k; e++) {
                s += (double)x[i * c->k + e] * wf[j * c->k + e];
                a += fabs((double)x[i * c->k + e] * wf[j * c->k + e]);
            }
            want[i * c->n + j] = s, mag[i * c->n + j] = a;
        }
    ir_graph *g = graph(c, w, wbytes, &d);
    kir_program *p = NULL;
    if (!g || cli_lower_graph(g, NULL, 1, &p, &d)) fprintf(stderr, "%s: %s\n", what, d.msg);
    CHECK(p != NULL);
    spv_features f;
    if (vk) features_of(vk, &f);
    else spv_features_all(&f);
    spv_program sp = {0};
    CHECK(p && spv_compile(p, &f, &sp, &d) == 0);
    if (p && sp.n_device != sp.n_kernels) fprintf(stderr, "%s: %u of %u kernels on the device (%s)\n", what, sp.n_device,
                                                  sp.n_kernels, sp.n_kernels ? sp.k[0].why : "");
    CHECK(p && sp.n_kernels >= 1 && sp.n_device == sp.n_kernels);
    for (uint32_t k = 0; k < sp.n_device && k < sp.n_kernels; k++) {
        int v = spv_validate(sp.k[k].words, sp.k[k].n_words, err, sizeof err);
        if (v) fprintf(stderr, "%s: invalid SPIR-V: %s\n", what, err);
        CHECK(v == 0);
    }
    if (!vk || !p || sp.n_device != sp.n_kernels) {
        skipped += !vk;
        goto done;
    }
    cg_options o = {.opt_level = 1, .pic = 1, .model = "t.ir", .shared_weights = 1};
    cg_bytes so = {0};
    smelt_model *m = NULL;
    smelt_session *s = NULL;
    rt_vk_exec *ex = NULL;
    rt_vk_module mods[8] = {{0}};
    for (uint32_t k = 0; k < sp.n_kernels && k < 8; k++)
        mods[k] = (rt_vk_module){sp.k[k].words, sp.k[k].n_words, sp.k[k].tile.tile, sp.k[k].tile.m_axis, sp.k[k].tile.n_axis, sp.k[k].tile.per_group};
    int ok = sp.n_kernels <= 8 && !cli_build_artifact(p, &o, CLI_EMIT_SO, "t.ir", &so, NULL, &d) &&
             !cli_load_shared(&so, "t.ir", &m, &d);
    if (!ok) fprintf(stderr, "%s: %s\n", what, d.msg);
    ok = ok && !smelt_session_new(m, &(smelt_options){.threads = 1}, &s, err, sizeof err) &&
         !rt_vk_attach(vk, s, mods, sp.n_kernels, false, &ex, err, sizeof err);
    if (!ok) fprintf(stderr, "%s: %s\n", what, err);
    CHECK(ok);
    int64_t shape[3] = {c->m, c->k}, sshape[3] = {1, c->m, c->k};
    if (ok) CHECK(!smelt_set_input(s, 0, x, c->sym ? sshape : shape, c->sym ? 3 : 2, err, sizeof err));
    for (int run = 0; ok && run < 2; run++) {
        int rc = smelt_run(s, err, sizeof err);
        if (rc) fprintf(stderr, "%s: run %d: %s\n", what, run, err);
        CHECK(rc == 0);
        const void *data;
        int64_t os[IR_MAX_RANK];
        int rank;
        if (rc || smelt_get_output(s, 0, &data, os, &rank)) continue;
        CHECK(rank == (c->sym ? 3 : 2) && os[rank - 1] == c->n && os[rank - 2] == c->m);
        const float *y = data;
        int bad = 0;
        for (int64_t i = 0; i < c->m * c->n && !bad; i++)
            if (!(fabs(y[i] - want[i]) <= 1e-5 * mag[i] + 1e-6)) {
                fprintf(stderr, "%s: run %d: y[%lld] = %.9g, expected %.9g\n", what, run, (long long)i, y[i], want[i]);
                bad = 1;
            }
        CHECK(!bad);
    }
    smelt_session_free(s);
    rt_vk_exec_free(ex);
    smelt_model_free(m);
    cg_bytes_free(&so);
done:
    spv_program_free(&sp);
    kir_free(p);
    ir_graph_free(g);
    free(w);
    free(wf);
    free(x);
    free(want);
    free(mag);
}

int main(void) {
    char err[1024];
    rt_vk *vk = NULL;
    if (rt_vk_open(-1, &vk, err, sizeof err)) {
        fprintf(stderr, "test_spirv_ggml: no Vulkan device (%s): device runs skipped\n", err);
        vk = NULL;
    }
    static const ir_dtype types[] = {IR_Q8_0, IR_Q4_0, IR_Q4_1, IR_Q5_0, IR_Q5_1, IR_Q4_K, IR_Q5_K, IR_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        bool k256 = ir_dtype_get(types[i])->block_elems == 256;
        gcase cs[] = {{types[i], 1, k256 ? 256 : 32, 7, false},   /* one block, ragged N */
                      {types[i], 1, k256 ? 768 : 576, 9, false},  /* decode, several blocks */
                      {types[i], 5, k256 ? 512 : 96, 13, false},  /* prefill */
                      {types[i], 3, k256 ? 256 : 64, 4, true}};   /* [1, seq, K] */
        for (size_t j = 0; j < sizeof cs / sizeof *cs; j++) run_case(&cs[j], vk);
    }
    /* every block type MatMulGGML takes (rt_qmatmul_supported; Q2_K and
     * Q3_K go through DequantizeGGML + Gemm) has a kernel, tested above */
    for (int t = 0; t < IR_DTYPE_COUNT; t++) {
        bool listed = false;
        for (size_t i = 0; i < sizeof types / sizeof *types; i++) listed |= types[i] == (ir_dtype)t;
        if (rt_qmatmul_supported((ir_dtype)t) && !listed) fprintf(stderr, "%s: no case\n", ir_dtype_name((ir_dtype)t));
        CHECK(!rt_qmatmul_supported((ir_dtype)t) || listed);
    }
    rt_vk_close(vk);
    printf("test_spirv_ggml: %d passed, %d failed, %d skipped\n", check_passed, check_failed, skipped);
    return check_failed ? 1 : 0;
}
