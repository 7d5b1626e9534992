/* test_kir_memory.c — the compile-time arena plan (ir/kir_memory.c) against
 * the runtime's: small programs (a MatMul, a fused Relu, a Softmax with its
 * temps, a TopK library kernel, an input and a constant as outputs) are
 * lowered and fused, then planned by kir_memory and, through a manifest
 * written here from the same program, by a runtime session
 * (runtime/session.c); plans and totals must be equal. Also: the arena lies
 * between the largest live set and the sum of the buffers, no two buffers
 * alive at once overlap, symbolic sizes are unknown until bound (and then
 * equal to the graph with the size written in), and a data-dependent size
 * stays out of the arena.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ir/kir_memory.h"
#include "ir/text.h"
#include "runtime/rt_session.h"
#include "tests/unit/support/check.h"

#define GRAPH(BATCH, SYMS)                                                                                \
    "graph \"t\" {\n" SYMS "  input %x: f32[" BATCH ",4]\n"                                              \
    "  const %w: f32[4,4] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]\n"                         \
    "  const %k: i64[1] = [2]\n"                                                                         \
    "  %h: f32[" BATCH ",4] = MatMul(%x, %w)\n"                                                          \
    "  %r: f32[" BATCH ",4] = Relu(%h)\n"                                                                \
    "  %s: f32[" BATCH ",4] = Softmax(%r) {axis=1}\n"                                                    \
    "  %v: f32[" BATCH ",2], %i: i64[" BATCH ",2] = TopK(%s, %k)\n"                                      \
    "  %e: f32[" BATCH ",2] = Exp(%v)\n"                                                                 \
    "  %m: f32[" BATCH ",4] = Mul(%s, %h)\n"                                                             \
    "  output %e\n  output %i\n  output %m\n  output %x\n  output %w\n}\n"

static kir_program *lower(const char *text) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &d);
    kir_program *p = g ? kir_lower(g, &d) : NULL;
    if (!p || kir_fuse_epilogue(p, &d) || kir_fuse(p, &d) || kir_fuse_epilogue(p, &d) || kir_prune(p, &d)) {
        fprintf(stderr, "%s\n", d.msg);
        CHECK(!"lowered");
        kir_free(p);
        ir_graph_free(g);
        return NULL;
    }
    return p;
}

static void free_program(kir_program *p) {
    if (!p) return;
    ir_graph *g = p->g;
    kir_free(p);
    ir_graph_free(g);
}

/* ---- the same program through the runtime ------------------------------------------------ */

static int64_t no_extent(const smelt_kargs *a) {
    (void)a;
    return 0;
}
static void no_run(const smelt_kargs *a, int64_t begin, int64_t end) { (void)a, (void)begin, (void)end; }
static int no_symbols(int64_t *syms) {
    (void)syms;
    return 0;
}
static int no_lib(rt_lib_call *c) {
    (void)c;
    return 0;
}

static unsigned char weights[4096] __attribute__((aligned(SMELT_WEIGHTS_ALIGN)));

static cJSON *indices(const uint32_t *v, uint32_t n) {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i] == KIR_NONE ? -1.0 : v[i]));
    return a;
}

static void add_reads(const kir_program *p, uint32_t e, cJSON *reads, bool *seen) {
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && !seen[x->buffer]) {
        seen[x->buffer] = true;
        cJSON_AddItemToArray(reads, cJSON_CreateNumber(x->buffer));
    }
    for (uint32_t i = 0; i < x->n_args; i++) add_reads(p, x->args[i], reads, seen);
}

/* A manifest of docs/artifact.md for static program p (constants packed
 * at 64-byte offsets); *n_loops: its loop steps. */
static char *manifest_of(const kir_program *p, uint32_t *n_loops, uint64_t *weights_len) {
    static const char *kinds[] = {"input", "const", "value", "temp"};
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", "smelt-artifact");
    cJSON_AddNumberToObject(m, "format_version", 1);
    cJSON_AddArrayToObject(m, "symbols");
    cJSON *bufs = cJSON_AddArrayToObject(m, "buffers");
    uint64_t off = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        const kir_buffer *kb = &p->bufs[b];
        cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray();
        int64_t n = 1;
        for (int k = 0; k < kb->rank; k++) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)kb->dims[k].c));
            n *= kb->dims[k].c;
        }
        cJSON_AddStringToObject(e, "name", kb->name);
        cJSON_AddStringToObject(e, "kind", kinds[kb->kind]);
        cJSON_AddStringToObject(e, "dtype", ir_dtype_name(kb->dtype));
        cJSON_AddItemToObject(e, "shape", shape);
        if (kb->kind == KB_CONST) {
            int64_t bytes = ir_dtype_storage_bytes(kb->dtype, n);
            cJSON_AddNumberToObject(e, "offset", (double)off);
            cJSON_AddNumberToObject(e, "bytes", (double)bytes);
            off += ((uint64_t)bytes + 63) / 64 * 64;
        }
        cJSON_AddItemToArray(bufs, e);
    }
    *weights_len = off;
    cJSON_AddItemToObject(m, "inputs", indices(p->inputs, p->n_inputs));
    cJSON_AddItemToObject(m, "outputs", indices(p->outputs, p->n_outputs));
    cJSON *steps = cJSON_AddArrayToObject(m, "steps");
    bool *seen = calloc(p->n_bufs, sizeof *seen);
    *n_loops = 0;
    for (uint32_t k = 0; k < p->n_kernels; k++) {
        const kir_kernel *kn = &p->kernels[k];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "node", kn->name ? kn->name : "");
        if (kn->kind == KK_LOOP) {
            cJSON_AddNumberToObject(e, "kernel", (*n_loops)++);
            cJSON_AddNumberToObject(e, "out", kn->out);
            cJSON *reads = cJSON_AddArrayToObject(e, "reads");
            memset(seen, 0, p->n_bufs * sizeof *seen);
            add_reads(p, kn->body, reads, seen);
            if (kn->post != KIR_NONE) add_reads(p, kn->post, reads, seen);
        } else {
            cJSON_AddStringToObject(e, "lib", kn->lib);
            cJSON_AddItemToObject(e, "in", indices(kn->lib_in, kn->n_lib_in));
            cJSON_AddItemToObject(e, "out", indices(kn->lib_out, kn->n_lib_out));
            cJSON_AddObjectToObject(e, "attrs");
        }
        cJSON_AddItemToArray(steps, e);
    }
    free(seen);
    char *text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return text;
}

/* kir_memory's plan of static p equals a runtime session's. */
static void check_against_runtime(const kir_program *p, const kir_memory *km) {
    uint32_t n_loops;
    uint64_t weights_len;
    char *text = manifest_of(p, &n_loops, &weights_len);
    smelt_kernel *kernels = calloc(n_loops + 1, sizeof *kernels);
    for (uint32_t k = 0; k < n_loops; k++) kernels[k] = (smelt_kernel){no_extent, no_run};
    CHECK(weights_len <= sizeof weights);
    smelt_model_desc desc = {SMELT_FORMAT_VERSION, n_loops, kernels, no_symbols, text, strlen(text), weights,
                             weights_len};
    smelt_model *m = NULL;
    smelt_session *s = NULL;
    char err[512];
    int rc = smelt_load_desc(&desc, "t", &m, err, sizeof err);
    if (!rc)
        for (uint32_t k = 0; k < p->n_kernels; k++)
            if (p->kernels[k].kind == KK_LIB) rt_model_set_lib(m, p->kernels[k].lib, no_lib);
    if (!rc) rc = smelt_session_new(m, NULL, &s, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(smelt_arena_bytes(s) == km->arena_bytes);
        int same = 0;
        for (uint32_t e = 0; e < km->n_entries; e++)
            same += s->plan[e].bytes == km->plan[e].bytes && s->plan[e].first == km->plan[e].first &&
                    s->plan[e].last == km->plan[e].last && s->offsets[e] == km->offsets[e];
        CHECK(same == (int)km->n_entries);
    }
    smelt_session_free(s);
    smelt_model_free(m);
    free(kernels);
    free(text);
}

/* ---- properties of a plan ------------------------------------------------------------------ */

static void check_plan(const kir_memory *m) {
    uint64_t peak, sum = kir_memory_sum(m);
    kir_memory_peak_step(m, &peak);
    CHECK(m->known);
    CHECK(m->arena_bytes % RT_PLAN_ALIGN == 0);
    CHECK(m->arena_bytes <= sum);
    CHECK(m->arena_bytes >= peak && peak > 0);
    int bad = 0;
    for (uint32_t i = 0; i < m->n_entries; i++)
        for (uint32_t j = i + 1; j < m->n_entries; j++) {
            const rt_plan_buffer *a = &m->plan[i], *b = &m->plan[j];
            if (!a->bytes || !b->bytes || a->first > a->last || b->first > b->last) continue;
            bool live = a->first <= b->last && b->first <= a->last;
            bool overlap = m->offsets[i] < m->offsets[j] + b->bytes && m->offsets[j] < m->offsets[i] + a->bytes;
            bad += live && overlap;
        }
    CHECK(bad == 0);
}

static void test_static(void) {
    kir_program *p = lower(GRAPH("3", ""));
    if (!p) return;
    kir_memory m;
    diag d;
    diag_init(&d);
    CHECK(kir_memory_plan(p, NULL, &m, &d) == 0);
    check_plan(&m);
    /* fused away (Relu into the MatMul's epilogue, ...): buffers no step touches take no space */
    uint32_t untouched = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) untouched += m.plan[b].first > m.plan[b].last;
    CHECK(untouched > 0);
    /* the copies of the input and constant outputs: after the last step */
    CHECK(m.plan[p->n_bufs + 3].bytes == 3 * 4 * 4 && m.plan[p->n_bufs + 3].first == p->n_kernels);
    CHECK(m.plan[p->n_bufs + 4].bytes == 4 * 4 * 4);
    check_against_runtime(p, &m);
    kir_memory_free(&m);
    free_program(p);
}

static void test_symbolic(void) {
    kir_program *p = lower(GRAPH("batch", "  sym batch\n")), *q = lower(GRAPH("5", ""));
    if (!p || !q) {
        free_program(p);
        free_program(q);
        return;
    }
    int64_t *vals = malloc(p->g->n_syms * sizeof *vals);
    int32_t batch = -1;
    for (uint32_t s = 0; s < p->g->n_syms; s++) {
        vals[s] = -1;
        if (p->g->syms[s].kind == IR_SYM_NAMED && !strcmp(p->g->syms[s].name, "batch")) batch = (int32_t)s;
    }
    CHECK(batch >= 0);
    kir_memory m, k;
    diag d;
    diag_init(&d);
    CHECK(kir_memory_plan(p, vals, &m, &d) == 0);
    CHECK(!m.known && m.unbound == batch);
    kir_memory_free(&m);
    vals[batch] = 5;
    CHECK(kir_memory_plan(p, vals, &m, &d) == 0);
    CHECK(kir_memory_plan(q, NULL, &k, &d) == 0);
    check_plan(&m);
    CHECK(m.arena_bytes == k.arena_bytes && m.n_entries == k.n_entries);
    CHECK(m.n_entries && !memcmp(m.offsets, k.offsets, m.n_entries * sizeof *m.offsets));
    check_against_runtime(q, &k);
    kir_memory_free(&m);
    kir_memory_free(&k);
    free(vals);
    free_program(p);
    free_program(q);
}

/* NonZero's count is data-dependent: what waits on it is on the heap. */
static void test_data_dependent(void) {
    kir_program *p = lower("graph \"t\" {\n  sym n\n  input %x: i32[2,3]\n"
                           "  %a: i32[2,3] = Abs(%x)\n"
                           "  %y: i64[2,n] = NonZero(%a)\n"
                           "  %f: f32[2,n] = Cast(%y) {to=f32}\n  output %f\n}\n");
    if (!p) return;
    kir_memory m;
    diag d;
    diag_init(&d);
    CHECK(kir_memory_plan(p, NULL, &m, &d) == 0);
    CHECK(m.known && m.n_deferred == 2);
    CHECK(m.arena_bytes == 64); /* %a: 24 bytes */
    kir_memory_free(&m);
    free_program(p);
}

int main(void) {
    test_static();
    test_symbolic();
    test_data_dependent();
    return check_summary("test_kir_memory");
}
