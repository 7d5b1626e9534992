/* test_spirv.c — the SPIR-V backend (codegen/spirv) and the Vulkan runtime
 * (runtime/vulkan) against the reference interpreter, kernel by kernel.
 *
 * Each case is a small graph in the IR text format, lowered and fused as
 * `smelt run` does. Every module the backend writes must pass SPIRV-Tools'
 * validator (Vulkan 1.1 environment); then the program runs on the first
 * Vulkan device (lavapipe in CI) through the runtime, twice (the second run
 * resubmits the recorded command buffers), and every output must match the
 * interpreter's: integers and bools exactly, f32/f64 within 1e-5 of
 * 1 + |expected|, test_cg_llvm's tolerance for reassociated sums (sums
 * accumulate in f32 in another order, the interpreter in double; GLSL's
 * transcendentals are a few ulp from the interpreter's double results,
 * lavapipe's atan some 30; erf is an approximation within 3e-7), f16/bf16
 * within one step of their precision; NaN matches NaN. The cases cover elementwise float,
 * integer and logic ops, casts through f16/bf16/i8/u8/bool, reductions,
 * contractions, data-dependent indexing, movement, symbolic sizes, empty
 * tensors, and kernels that run on the host between dispatches (a library
 * routine, f64 transcendentals), and graphs under --precision f16 / bf16
 * (passes/precision.c: half buffers, f32 at the interface and in the
 * sums; f32 outputs then within one step of the half's precision, since a
 * sum in another order can round to the neighbouring half). Error paths: a device number that does not
 * exist, a module count that does not match. Without a Vulkan device the
 * runs are skipped (validation still runs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/spirv/spv.h"
#include "ir/text.h"
#include "runtime/elem.h"
#include "runtime/vulkan/vk.h"
#include "support/check.h"
#include "tools/artifact.h"

static int skipped;
static int per_group_seen; /* kernels compiled as workgroup reductions */

typedef struct tcase {
    const char *name;
    const char *text;
    int host_kernels;          /* kernels expected on the host */
    int tiled_kernels;         /* contractions expected tiled */
    ir_dtype precision;        /* --precision: IR_F16 / IR_BF16, 0: none */
} tcase;

static const tcase cases[] = {
    {"elementwise f32, symbolic n",
     "graph \"g\" { sym n\n input %x: f32[n,5]\n input %y: f32[n,5]\n"
     " %a: f32[n,5] = Mul(%x, %y)\n %b: f32[n,5] = Add(%a, %x)\n %c: f32[n,5] = Tanh(%b)\n"
     " %d: f32[n,5] = Erf(%b)\n %e: f32[n,5] = Div(%c, %y)\n %f: f32[n,5] = Max(%d, %e)\n output %f\n}\n", 0, 0, 0},
    {"math f32",
     "graph \"g\" { input %x: f32[4,6]\n input %y: f32[4,6]\n"
     " %a: f32[4,6] = Exp(%x)\n %l: f32[4,6] = Log(%x)\n %s: f32[4,6] = Sqrt(%x)\n %r: f32[4,6] = Round(%y)\n"
     " %p: f32[4,6] = Pow(%x, %r)\n %sn: f32[4,6] = Sin(%x)\n %at: f32[4,6] = Atan(%x)\n %sg: f32[4,6] = Sigmoid(%x)\n"
     " %fl: f32[4,6] = Floor(%y)\n %m: f32[4,6] = Mod(%x, %y) {fmod=1}\n"
     " output %a\n output %l\n output %s\n output %p\n output %sn\n output %at\n output %sg\n output %fl\n output %m\n}\n",
     0, 0, 0},
    {"integers",
     "graph \"g\" { input %a: i64[3,4]\n input %b: i64[3,4]\n input %c: i32[3,4]\n input %d: i32[3,4]\n"
     " %q: i64[3,4] = Div(%a, %b)\n %m: i64[3,4] = Mod(%a, %b)\n %s: i32[3,4] = Mul(%c, %d)\n"
     " %t: i32[3,4] = Sub(%s, %c)\n %n: i32[3,4] = Neg(%t)\n %x: i64[3,4] = Max(%a, %b)\n"
     " output %q\n output %m\n output %n\n output %x\n}\n", 0, 0, 0},
    {"casts, f16, bf16, u8, bool",
     "graph \"g\" { input %x: f32[3,7]\n input %y: f32[3,7]\n"
     " %h: f16[3,7] = Cast(%x) {to=f16}\n %h2: f16[3,7] = Mul(%h, %h)\n %i: i32[3,7] = Cast(%y) {to=i32}\n"
     " %u: u8[3,7] = Cast(%i) {to=u8}\n %g: bool[3,7] = Greater(%x, %y)\n %w: f32[3,7] = Where(%g, %x, %y)\n"
     " %bf: bf16[3,7] = Cast(%x) {to=bf16}\n %bf2: bf16[3,7] = Add(%bf, %bf)\n %k: i8[3,7] = Cast(%y) {to=i8}\n"
     " %ka: i8[3,7] = Abs(%k)\n %e: bool[3,7] = Equal(%ka, %k)\n %ne: bool[3,7] = Not(%e)\n"
     " output %h2\n output %u\n output %w\n output %bf2\n output %ka\n output %ne\n}\n", 0, 0, 0},
    {"reductions and softmax",
     "graph \"g\" { input %x: f32[4,6]\n const %ax: i64[1] = [1]\n"
     " %s: f32[4] = ReduceSum(%x, %ax) {keepdims=0}\n %m: f32[4,1] = ReduceMax(%x, %ax)\n"
     " %i: i64[4] = ArgMax(%x) {axis=1, keepdims=0}\n %j: i64[1,6] = ArgMin(%x) {axis=0, select_last_index=1}\n"
     " %sm: f32[4,6] = Softmax(%x)\n output %s\n output %m\n output %i\n output %j\n output %sm\n}\n", 0, 0, 0},
    {"contractions",
     "graph \"g\" { input %x: f32[5,8]\n input %w: f32[8,3]\n input %img: f32[1,2,5,5]\n input %k: f32[3,2,3,3]\n"
     " %y: f32[5,3] = MatMul(%x, %w)\n %r: f32[5,3] = Relu(%y)\n"
     " %c: f32[1,3,5,5] = Conv(%img, %k) {pads=[1,1,1,1]}\n output %r\n output %c\n}\n", 0, 0, 0},
    {"tiled contractions: batched MatMul with bias, Conv with bias and ReLU",
     "graph \"g\" { input %x: f32[2,20,13]\n input %w: f32[2,13,18]\n input %bias: f32[18]\n"
     " input %img: f32[1,4,9,9]\n input %k: f32[17,4,3,3]\n input %kb: f32[17]\n"
     " %y: f32[2,20,18] = MatMul(%x, %w)\n %z: f32[2,20,18] = Add(%y, %bias)\n"
     " %c: f32[1,17,9,9] = Conv(%img, %k, %kb) {pads=[1,1,1,1]}\n %r: f32[1,17,9,9] = Relu(%c)\n"
     " output %z\n output %r\n}\n", 0, 2, 0},
    {"tiled contraction, 64 x 64 tiles with partial edges: batched MatMul with bias and GELU-like tanh",
     "graph \"g\" { input %x: f32[2,70,40]\n input %w: f32[2,40,66]\n input %bias: f32[66]\n"
     " %y: f32[2,70,66] = MatMul(%x, %w)\n %z: f32[2,70,66] = Add(%y, %bias)\n %t: f32[2,70,66] = Tanh(%z)\n"
     " output %t\n}\n", 0, 1, 0},
    {"tiled Conv as an implicit GEMM over the flattened output pixels (N = 10 x 10, 64 x 64 tiles), batch 2",
     "graph \"g\" { input %img: f32[2,8,10,10]\n input %k: f32[64,8,3,3]\n input %kb: f32[64]\n"
     " %c: f32[2,64,10,10] = Conv(%img, %k, %kb) {pads=[1,1,1,1]}\n %r: f32[2,64,10,10] = Relu(%c)\n"
     " output %r\n}\n", 0, 1, 0},
    {"gather, transpose, concat",
     "graph \"g\" { input %d: f32[5,4]\n input %idx: i64[3]\n"
     " %g: f32[3,4] = Gather(%d, %idx) {axis=0}\n %t: f32[4,3] = Transpose(%g) {perm=[1,0]}\n"
     " %c: f32[8,3] = Concat(%t, %t) {axis=0}\n output %c\n}\n", 0, 0, 0},
    {"a library routine between dispatches",
     "graph \"g\" { input %x: f32[2,5]\n const %ax: i64[] = [1]\n"
     " %e: f32[2,5] = Exp(%x)\n %cs: f32[2,5] = CumSum(%e, %ax)\n %y: f32[2,5] = Mul(%cs, %x)\n output %y\n}\n", 1, 0, 0},
    {"f64: arithmetic on the device, exp on the host",
     "graph \"g\" { input %x: f64[3,4]\n %a: f64[3,4] = Add(%x, %x)\n %r: f64[3,4] = Sqrt(%a)\n"
     " %e: f64[3,4] = Exp(%x)\n output %r\n output %e\n}\n", 1, 0, 0},
    {"--precision f16: tiled batched MatMul with bias and tanh, Conv with ReLU, LayerNorm, softmax",
     "graph \"g\" { input %x: f32[2,70,40]\n input %w: f32[2,40,66]\n input %bias: f32[66]\n"
     " input %img: f32[1,4,9,9]\n input %k: f32[17,4,3,3]\n input %sc: f32[66]\n"
     " %y: f32[2,70,66] = MatMul(%x, %w)\n %z: f32[2,70,66] = Add(%y, %bias)\n %t: f32[2,70,66] = Tanh(%z)\n"
     " %c: f32[1,17,9,9] = Conv(%img, %k) {pads=[1,1,1,1]}\n %r: f32[1,17,9,9] = Relu(%c)\n"
     " %ln: f32[2,70,66] = LayerNormalization(%z, %sc, %bias) {axis=-1}\n %sm: f32[2,70,66] = Softmax(%ln)\n"
     " output %t\n output %r\n output %sm\n}\n", 0, 2, IR_F16},
    {"--precision bf16: tiled MatMul with bias and ReLU",
     "graph \"g\" { input %x: f32[70,40]\n input %w: f32[40,66]\n input %bias: f32[66]\n"
     " %y: f32[70,66] = MatMul(%x, %w)\n %z: f32[70,66] = Add(%y, %bias)\n %r: f32[70,66] = Relu(%z)\n"
     " output %r\n}\n", 0, 1, IR_BF16},
    {"an empty tensor",
     "graph \"g\" { input %x: f32[0,3]\n input %y: f32[2,3]\n %a: f32[0,3] = Add(%x, %x)\n"
     " %s: f32[2,3] = Neg(%y)\n output %a\n output %s\n}\n", 0, 0, 0},
};

/* ---- inputs ---- */

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random data for input `name`: floats in [-2, 2) (some exactly integral),
 * integers in [-9, 9] (indices "%idx" within [-5, 4]). */
static void fill(const char *name, interp_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->shape[i];
    for (int64_t i = 0; i < n; i++) {
        rt_slot v;
        uint64_t r = next();
        if (ir_dtype_is_float(t->dtype)) v.f = (r % 8 == 0) ? (double)((int64_t)(r >> 8) % 5 - 2) : ((double)(r >> 11) / 9007199254740992.0) * 4 - 2;
        else if (!strcmp(name, "idx")) v.i = (int64_t)(r % 10) - 5;
        else v.i = (int64_t)(r % 19) - 9;
        rt_elem_write(t->dtype, t->data, i, v);
    }
}

static int make_inputs(ir_graph *g, interp_tensor *in) {
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        interp_tensor *t = &in[i];
        memset(t, 0, sizeof *t);
        t->dtype = v->dtype;
        t->rank = v->rank;
        int64_t n = 1;
        for (int k = 0; k < v->rank; k++) {
            t->shape[k] = ir_dim_is_const(v->dims[k]) ? v->dims[k].c : 3; /* every symbol: 3 */
            n *= t->shape[k];
        }
        t->nbytes = (size_t)ir_dtype_storage_bytes(t->dtype, n);
        t->data = calloc(1, t->nbytes ? t->nbytes : 1);
        if (!t->data) return -1;
        fill(v->name, t);
    }
    return 0;
}

/* ---- comparison ---- */

/* the precision a case's float outputs are compared at (its --precision
 * half, else their own dtype's) */
static ir_dtype compare_as;

static bool same_value(ir_dtype t, rt_slot a, rt_slot b) {
    if (!ir_dtype_is_float(t)) return a.i == b.i;
    if (isnan(a.f) || isnan(b.f)) return isnan(a.f) && isnan(b.f);
    if (isinf(a.f) || isinf(b.f)) return a.f == b.f;
    if (compare_as) t = compare_as;
    double tol = t == IR_F16 ? 1.0 / 1024 : t == IR_BF16 ? 1.0 / 128 : 1e-5;
    return fabs(a.f - b.f) <= tol * (1 + fabs(b.f));
}

static int compare(const char *what, const interp_tensor *want, const void *got, const int64_t *shape, int rank) {
    if (rank != want->rank) return fprintf(stderr, "%s: rank %d, expected %d\n", what, rank, want->rank), -1;
    int64_t n = 1;
    for (int k = 0; k < rank; k++) {
        if (shape[k] != want->shape[k]) return fprintf(stderr, "%s: axis %d is %lld\n", what, k, (long long)shape[k]), -1;
        n *= shape[k];
    }
    for (int64_t i = 0; i < n; i++) {
        rt_slot a = rt_elem_read(want->dtype, got, i), b = rt_elem_read(want->dtype, want->data, i);
        if (!same_value(want->dtype, a, b)) {
            fprintf(stderr, "%s: element %lld is %.9g (%lld), expected %.9g (%lld)\n", what, (long long)i, a.f,
                    (long long)a.i, b.f, (long long)b.i);
            return -1;
        }
    }
    return 0;
}

/* ---- one case ---- */

/* graph passes, lowering and fusion as `smelt run` does them (with
 * --precision when given) */
static kir_program *lower_as(ir_graph *g, ir_dtype precision, diag *d) {
    kir_program *p = NULL;
    pass_options o = {.precision = precision};
    return cli_lower_graph(g, &o, 1, &p, d) ? NULL : p;
}

static kir_program *lower(ir_graph *g, diag *d) { return lower_as(g, 0, d); }

/* Buffers of dtype t in p. */
static int count_bufs(const kir_program *p, ir_dtype t) {
    int n = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) n += p->bufs[b].dtype == t;
    return n;
}

static void features_of(const rt_vk *vk, spv_features *f) {
    const rt_vk_device_info *i = rt_vk_info(vk);
    *f = (spv_features){.float64 = i->float64, .int8 = i->int8, .int16 = i->int16, .storage8 = i->storage8,
                        .storage16 = i->storage16, .max_storage_buffers = i->max_storage_buffers, .tiled = true};
}

/* Run p on the device; compare with want. */
static void run_device(const tcase *tc, rt_vk *vk, kir_program *p, const spv_program *sp, interp_tensor *in,
                       const interp_tensor *want, uint32_t n_out) {
    diag d;
    diag_init(&d);
    char err[2048];
    cg_options o = {.opt_level = 1, .pic = 1, .model = "t.ir"};
    cg_bytes so = {0};
    smelt_model *m = NULL;
    smelt_session *s = NULL;
    rt_vk_exec *x = NULL;
    rt_vk_module mods[64];
    CHECK(sp->n_kernels <= 64);
    for (uint32_t k = 0; k < sp->n_kernels && k < 64; k++) mods[k] = (rt_vk_module){sp->k[k].words, sp->k[k].n_words, sp->k[k].tile.tile,
                                                                         sp->k[k].tile.m_axis, sp->k[k].tile.n_axis,
                                                                         sp->k[k].tile.per_group};
    int ok = !cli_build_artifact(p, &o, CLI_EMIT_SO, "t.ir", &so, NULL, &d) && !cli_load_shared(&so, "t.ir", &m, &d);
    if (!ok) fprintf(stderr, "%s: %s\n", tc->name, d.msg);
    CHECK(ok);
    if (ok) {
        ok = !smelt_session_new(m, &(smelt_options){.threads = 1}, &s, err, sizeof err) &&
             !rt_vk_attach(vk, s, mods, sp->n_kernels, true, &x, err, sizeof err);
        if (!ok) fprintf(stderr, "%s: %s\n", tc->name, err);
        CHECK(ok);
    }
    for (int i = 0; ok && i < smelt_num_inputs(m); i++)
        CHECK(!smelt_set_input(s, i, in[i].data, in[i].shape, in[i].rank, err, sizeof err));
    for (int run = 0; ok && run < 2; run++) {
        int rc = smelt_run(s, err, sizeof err);
        if (rc) fprintf(stderr, "%s: run %d: %s\n", tc->name, run, err);
        CHECK(rc == 0);
        for (uint32_t o2 = 0; rc == 0 && o2 < n_out; o2++) {
            const void *data;
            int64_t shape[IR_MAX_RANK];
            int rank;
            char what[160];
            snprintf(what, sizeof what, "%s: run %d output %u", tc->name, run, o2);
            CHECK(smelt_get_output(s, (int)o2, &data, shape, &rank) == 0 && compare(what, &want[o2], data, shape, rank) == 0);
        }
    }
    if (ok) { /* the dispatches were timed (--profile) */
        uint32_t n;
        rt_vk_last_profile(x, &n);
        CHECK(n == sp->n_device);
    }
    smelt_session_free(s);
    rt_vk_exec_free(x);
    smelt_model_free(m);
    cg_bytes_free(&so);
}

static void run_case(const tcase *tc, rt_vk *vk) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_parse(tc->text, strlen(tc->text), "t.ir", &d);
    kir_program *p = g ? lower_as(g, tc->precision, &d) : NULL;
    if (!p) fprintf(stderr, "%s: %s\n", tc->name, d.msg);
    CHECK(p != NULL);
    if (!p) {
        ir_graph_free(g);
        return;
    }
    compare_as = tc->precision;
    if (tc->precision) { /* half buffers inside, f32 at the interface */
        CHECK(count_bufs(p, tc->precision) > 0);
        for (uint32_t i = 0; i < g->n_inputs; i++) CHECK(g->values[g->inputs[i]].dtype == IR_F32);
        for (uint32_t i = 0; i < g->n_outputs; i++) CHECK(g->values[g->outputs[i]].dtype == IR_F32);
    }
    interp_tensor in[8] = {{0}}, want[16] = {{0}};
    CHECK(g->n_inputs <= 8 && g->n_outputs <= 16);
    CHECK(make_inputs(g, in) == 0);
    int rc = interp_run(p, in, want, &d);
    if (rc) fprintf(stderr, "%s: interp: %s\n", tc->name, d.msg);
    CHECK(rc == 0);
    spv_features f;
    if (vk) features_of(vk, &f);
    else spv_features_all(&f);
    spv_program sp;
    CHECK(spv_compile(p, &f, &sp, &d) == 0);
    int host = 0, tiled = 0;
    for (uint32_t k = 0; k < sp.n_kernels; k++) {
        tiled += sp.k[k].tile.tile > 0;
        per_group_seen += sp.k[k].words && sp.k[k].tile.per_group;
        if (!sp.k[k].words) {
            host++;
            continue;
        }
        char err[1024];
        int v = spv_validate(sp.k[k].words, sp.k[k].n_words, err, sizeof err);
        if (v) fprintf(stderr, "%s: kernel %u: invalid SPIR-V: %s\n", tc->name, k, err);
        CHECK(v == 0);
    }
    if (host != tc->host_kernels) fprintf(stderr, "%s: %d kernels on the host, expected %d\n", tc->name, host, tc->host_kernels);
    CHECK(host == tc->host_kernels);
    if (tiled != tc->tiled_kernels) fprintf(stderr, "%s: %d kernels tiled, expected %d\n", tc->name, tiled, tc->tiled_kernels);
    CHECK(tiled == tc->tiled_kernels);
    if (vk && rc == 0) run_device(tc, vk, p, &sp, in, want, g->n_outputs);
    else if (!vk) skipped++;
    spv_program_free(&sp);
    for (uint32_t i = 0; i < g->n_inputs && i < 8; i++) free(in[i].data);
    for (uint32_t i = 0; i < g->n_outputs && i < 16; i++) free(want[i].data);
    kir_free(p);
    ir_graph_free(g);
}

/* The disassembly names the kernel and the validator rejects a broken module. */
static void test_tools(void) {
    diag d;
    diag_init(&d);
    const char *text = "graph \"g\" { input %x: f32[4]\n %y: f32[4] = Exp(%x)\n output %y\n}\n";
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &d);
    kir_program *p = g ? lower(g, &d) : NULL;
    spv_features f;
    spv_features_all(&f);
    spv_program sp;
    CHECK(p && spv_compile(p, &f, &sp, &d) == 0 && sp.n_device == 1);
    if (p && sp.n_device == 1) {
        char *asm_text = spv_disassemble(sp.k[0].words, sp.k[0].n_words, &d);
        CHECK_CONTAINS(asm_text, "OpEntryPoint GLCompute");
        CHECK_CONTAINS(asm_text, "GLSL.std.450");
        free(asm_text);
        char err[512];
        sp.k[0].words[3] = 2; /* an id bound too small */
        CHECK(spv_validate(sp.k[0].words, sp.k[0].n_words, err, sizeof err) != 0);
        spv_program_free(&sp);
    }
    kir_free(p);
    ir_graph_free(g);
}

/* Contractions of f16 operands become cooperative-matrix GEMMs where the
 * features say so (validated here; lavapipe has no such matrices, the GPU
 * benchmark runs them: bench/vulkan); f32 operands never do (f16 would
 * round them), nor do planes under 64. */
static void test_coop(void) {
    static const struct {
        const char *text;
        int coop;
    } cs[] = {
        {"graph \"g\" { input %x: f16[2,70,40]\n input %w: f16[2,40,66]\n input %bias: f16[66]\n"
         " %y: f16[2,70,66] = MatMul(%x, %w)\n %z: f16[2,70,66] = Add(%y, %bias)\n output %z\n}\n", 1},
        {"graph \"g\" { input %img: f16[1,16,66,66]\n input %k: f16[64,16,3,3]\n"
         " %c: f16[1,64,66,66] = Conv(%img, %k) {pads=[1,1,1,1]}\n %r: f16[1,64,66,66] = Relu(%c)\n output %r\n}\n", 1},
        {"graph \"g\" { input %x: f32[70,40]\n input %w: f32[40,66]\n %y: f32[70,66] = MatMul(%x, %w)\n output %y\n}\n", 0},
        {"graph \"g\" { input %x: f16[20,40]\n input %w: f16[40,66]\n %y: f16[20,66] = MatMul(%x, %w)\n output %y\n}\n", 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
        diag d;
        diag_init(&d);
        ir_graph *g = ir_parse(cs[i].text, strlen(cs[i].text), "t.ir", &d);
        kir_program *p = g ? lower(g, &d) : NULL;
        spv_features f;
        spv_features_all(&f);
        f.coop = true;
        f.big_tile_groups = 0; /* these small planes in 64 x 64 tiles too */
        spv_program sp;
        CHECK(p && spv_compile(p, &f, &sp, &d) == 0);
        if (!p) continue;
        int coop = 0;
        for (uint32_t k = 0; k < sp.n_kernels; k++) {
            if (!sp.k[k].words) continue;
            char err[1024];
            int v = spv_validate(sp.k[k].words, sp.k[k].n_words, err, sizeof err);
            if (v) fprintf(stderr, "coop case %zu: kernel %u: invalid SPIR-V: %s\n", i, k, err);
            CHECK(v == 0);
            if (!sp.k[k].tile.coop) continue;
            coop++;
            CHECK(sp.k[k].needs & RT_VK_NEEDS_COOP);
            char *text = spv_disassemble(sp.k[k].words, sp.k[k].n_words, &d);
            CHECK_CONTAINS(text, "OpCooperativeMatrixMulAddNV");
            free(text);
        }
        if (coop != cs[i].coop) fprintf(stderr, "coop case %zu: %d cooperative-matrix kernels\n", i, coop);
        CHECK(coop == cs[i].coop);
        /* an artifact carries the plain modules and, after them, the cooperative ones */
        spv_program plain;
        f.coop = false;
        CHECK(spv_compile(p, &f, &plain, &d) == 0);
        unsigned char *data = NULL;
        char *json = NULL;
        uint64_t len = 0;
        CHECK(spv_pack(&plain, &sp, &data, &len, &json, &d) == 0);
        int entries = 0;
        for (const char *s = json; s && (s = strstr(s, "\"step\":")); s++) entries++;
        CHECK(entries == (int)plain.n_device + coop);
        free(data);
        free(json);
        spv_program_free(&plain);
        spv_program_free(&sp);
        kir_free(p);
        ir_graph_free(g);
    }
}

static void test_errors(rt_vk *vk) {
    char err[1024];
    rt_vk *other = NULL;
    CHECK(rt_vk_open(99, &other, err, sizeof err) != 0 && other == NULL);
    CHECK_CONTAINS(err, "no Vulkan device 99");
    if (!vk) return;
    diag d;
    diag_init(&d);
    const char *text = "graph \"g\" { input %x: f32[4]\n %y: f32[4] = Exp(%x)\n output %y\n}\n";
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &d);
    kir_program *p = g ? lower(g, &d) : NULL;
    cg_options o = {.opt_level = 0, .pic = 1, .model = "t.ir"};
    cg_bytes so = {0};
    smelt_model *m = NULL;
    smelt_session *s = NULL;
    rt_vk_exec *x = NULL;
    if (p && !cli_build_artifact(p, &o, CLI_EMIT_SO, "t.ir", &so, NULL, &d) && !cli_load_shared(&so, "t.ir", &m, &d) &&
        !smelt_session_new(m, NULL, &s, err, sizeof err)) {
        rt_vk_module none = {0};
        CHECK(rt_vk_attach(vk, s, &none, 5, false, &x, err, sizeof err) != 0 && !x);
        CHECK_CONTAINS(err, "5 SPIR-V modules given for 1 steps");
    } else {
        CHECK(0);
    }
    smelt_session_free(s);
    smelt_model_free(m);
    cg_bytes_free(&so);
    kir_free(p);
    ir_graph_free(g);

    /* a buffer larger than one binding may span: a clear error naming it */
    uint64_t range = rt_vk_info(vk)->max_storage_range;
    if (range > ((uint64_t)1 << 28)) return; /* a GPU with large bindings: nothing this small exceeds them */
    char text2[512];
    snprintf(text2, sizeof text2,
             "graph \"g\" { input %%x: f32[%llu]\n %%big: f32[%llu] = Exp(%%x)\n %%y: f32[%llu] = Neg(%%big)\n output %%y\n}\n",
             (unsigned long long)(range / 4 + 16), (unsigned long long)(range / 4 + 16),
             (unsigned long long)(range / 4 + 16));
    diag_init(&d);
    g = ir_parse(text2, strlen(text2), "t.ir", &d);
    p = g ? lower(g, &d) : NULL;
    spv_features f;
    features_of(vk, &f);
    spv_program sp = {0};
    s = NULL, m = NULL, x = NULL, so = (cg_bytes){0};
    if (p && !spv_compile(p, &f, &sp, &d) && !cli_build_artifact(p, &o, CLI_EMIT_SO, "t.ir", &so, NULL, &d) &&
        !cli_load_shared(&so, "t.ir", &m, &d) && !smelt_session_new(m, NULL, &s, err, sizeof err)) {
        rt_vk_module mods[4] = {{0}};
        for (uint32_t k = 0; k < sp.n_kernels && k < 4; k++) mods[k] = (rt_vk_module){sp.k[k].words, sp.k[k].n_words, 0, -1, -1, false};
        CHECK(rt_vk_attach(vk, s, mods, sp.n_kernels, false, &x, err, sizeof err) == 0);
        size_t n = (size_t)(range / 4 + 16);
        float *in = calloc(n, sizeof *in);
        int64_t shape[1] = {(int64_t)n};
        CHECK(in && !smelt_set_input(s, 0, in, shape, 1, err, sizeof err));
        CHECK(in && smelt_run(s, err, sizeof err) != 0);
        CHECK_CONTAINS(err, "more than one Vulkan binding of this device spans");
        free(in);
    } else {
        CHECK(0);
    }
    smelt_session_free(s);
    rt_vk_exec_free(x);
    smelt_model_free(m);
    cg_bytes_free(&so);
    spv_program_free(&sp);
    kir_free(p);
    ir_graph_free(g);
}

/* Workgroup reductions (one workgroup per output element, spv_kernel.c):
 * few outputs, long or symbolic reductions; sizes not multiples of the
 * workgroup; several reduction axes; a fused epilogue (RMSNorm). */
static const struct {
    tcase tc;
    int per_group; /* kernels expected to take the path */
} wg_cases[] = {
    {{"wg reduce: sum over 300, max/min over two axes (200), prod over 70",
      "graph \"g\" { input %x: f32[3,300]\n input %y: f32[2,5,40]\n input %z: f32[2,70]\n"
      " const %a1: i64[1] = [1]\n const %a12: i64[2] = [1,2]\n"
      " %s: f32[3] = ReduceSum(%x, %a1) {keepdims=0}\n %m: f32[2,1,1] = ReduceMax(%y, %a12)\n"
      " %n: f32[2] = ReduceMin(%y, %a12) {keepdims=0}\n %p: f32[2,1] = ReduceProd(%z, %a1)\n"
      " output %s\n output %m\n output %n\n output %p\n}\n", 0, 0, 0}, 4},
    {{"wg reduce: symbolic rows and symbolic reduction",
      "graph \"g\" { sym n\n input %x: f32[n,100]\n input %y: f32[4,n]\n const %a1: i64[1] = [1]\n"
      " %s: f32[n] = ReduceSum(%x, %a1) {keepdims=0}\n %m: f32[4,1] = ReduceMax(%y, %a1)\n"
      " output %s\n output %m\n}\n", 0, 0, 0}, 2},
    {{"wg reduce: RMSNorm (mean of squares, epsilon, sqrt, divide)",
      "graph \"g\" { input %x: f32[2,576]\n const %a1: i64[1] = [1]\n const %eps: f32[1] = [0.00001]\n"
      " %q: f32[2,576] = Mul(%x, %x)\n %m: f32[2,1] = ReduceMean(%q, %a1)\n %e: f32[2,1] = Add(%m, %eps)\n"
      " %r: f32[2,1] = Sqrt(%e)\n %y: f32[2,576] = Div(%x, %r)\n output %y\n}\n", 0, 0, 0}, 1},
};

static void test_wg_reduce(rt_vk *vk) {
    for (size_t i = 0; i < sizeof wg_cases / sizeof *wg_cases; i++) {
        int before = per_group_seen;
        run_case(&wg_cases[i].tc, vk);
        if (per_group_seen - before != wg_cases[i].per_group)
            fprintf(stderr, "FAIL %s: %d workgroup reductions, expected %d\n", wg_cases[i].tc.name, per_group_seen - before,
                    wg_cases[i].per_group);
        CHECK(per_group_seen - before == wg_cases[i].per_group);
    }
}

int main(void) {
    char err[1024];
    rt_vk *vk = NULL;
    if (rt_vk_open(-1, &vk, err, sizeof err)) {
        fprintf(stderr, "test_spirv: no Vulkan device (%s): device runs skipped\n", err);
        vk = NULL;
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_case(&cases[i], vk);
    test_tools();
    test_coop();
    test_errors(vk);
    test_wg_reduce(vk);
    rt_vk_close(vk);
    printf("test_spirv: %d passed, %d failed, %d skipped\n", check_passed, check_failed, skipped);
    return check_failed ? 1 : 0;
}
