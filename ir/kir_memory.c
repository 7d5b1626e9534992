/* kir_memory.c — the runtime's arena plan, computed from the kernel IR at
 * compile time (kir_memory.h).
 *
 * The rules are the runtime's (runtime/session.c): the steps and their
 * operands are what the code generator writes into the manifest
 * (codegen/llvm/manifest.c), lives come from the same functions
 * (rt_plan_lives_*), a value or temp buffer is in the arena unless its size
 * waits on a data-dependent symbol, an output that is an input or a
 * constant gets a copy entry, and rt_plan_arena places the entries. A test
 * (tests/unit/test_kir_memory.c) checks the result against a session of the
 * runtime over the same steps.
 */
#include "ir/kir_memory.h"

#include <stdlib.h>
#include <string.h>

/* Does symbol s depend on a data-dependent one (dd[] per symbol: 0 not
 * known yet, 1 no, 2 yes)? Named symbols are set by the caller. */
static bool sym_deferred(const ir_graph *g, int32_t s, unsigned char *dd) {
    if (!dd[s]) {
        const ir_symbol *y = &g->syms[s];
        bool dep = (y->a.sym >= 0 && sym_deferred(g, y->a.sym, dd)) || (y->b.sym >= 0 && sym_deferred(g, y->b.sym, dd));
        dd[s] = dep ? 2 : 1;
    }
    return dd[s] == 2;
}

/* A named symbol without a value that dimension symbol s needs, or -1. */
static int32_t unbound_named(const ir_graph *g, int32_t s, const int64_t *syms) {
    const ir_symbol *y = &g->syms[s];
    if (y->kind == IR_SYM_NAMED) return syms[s] < 0 ? s : -1;
    int32_t r = y->a.sym >= 0 ? unbound_named(g, y->a.sym, syms) : -1;
    return r >= 0 ? r : y->b.sym >= 0 ? unbound_named(g, y->b.sym, syms) : -1;
}

/* Lives over the kernels, as the runtime finds them from the manifest. */
static int find_lives(const kir_program *p, rt_plan_buffer *plan) {
    size_t nb = (size_t)p->n_bufs + 1, max_lib = 1;
    for (uint32_t k = 0; k < p->n_kernels; k++)
        if (p->kernels[k].kind == KK_LIB) {
            if (p->kernels[k].n_lib_in > max_lib) max_lib = p->kernels[k].n_lib_in;
            if (p->kernels[k].n_lib_out > max_lib) max_lib = p->kernels[k].n_lib_out;
        }
    uint32_t *mark = calloc((size_t)p->n_exprs + nb, sizeof *mark), *reads = malloc(nb * sizeof *reads);
    int32_t *in = malloc((nb > max_lib ? nb : max_lib) * sizeof *in), *out = malloc(max_lib * sizeof *out);
    int rc = mark && reads && in && out ? 0 : -1;
    rt_plan_lives_begin(plan, p->n_bufs + p->n_outputs);
    for (uint32_t t = 0; t < p->n_kernels && !rc; t++) {
        const kir_kernel *k = &p->kernels[t];
        uint32_t n_in = 0, n_out = 0;
        if (k->kind == KK_LOOP) {
            n_in = kir_kernel_reads(p, t, mark, reads);
            for (uint32_t i = 0; i < n_in; i++) in[i] = (int32_t)reads[i];
            out[n_out++] = (int32_t)k->out;
        } else {
            for (uint32_t i = 0; i < k->n_lib_in; i++) in[n_in++] = k->lib_in[i] == KIR_NONE ? -1 : (int32_t)k->lib_in[i];
            for (uint32_t i = 0; i < k->n_lib_out; i++) out[n_out++] = (int32_t)k->lib_out[i];
        }
        rt_plan_lives_step(plan, t, in, n_in, out, n_out);
    }
    if (!rc) rt_plan_lives_end(plan, p->n_bufs, p->outputs, p->n_outputs, p->n_kernels);
    free(mark);
    free(reads);
    free(in);
    free(out);
    return rc;
}

/* Bytes of buffer b for the symbol values vals: -1 when unknown, -2 when
 * the size overflows. */
static int64_t buffer_bytes(const kir_program *p, uint32_t b, int64_t *vals) {
    const kir_buffer *kb = &p->bufs[b];
    int64_t n = 1;
    bool unknown = false;
    for (int i = 0; i < kb->rank; i++) {
        int64_t v = ir_dim_eval(p->g, kb->dims[i], vals);
        if (v < 0) unknown = true;
        else if (__builtin_mul_overflow(n, v, &n)) return -2;
    }
    if (unknown) return -1;
    int64_t bytes = ir_dtype_storage_bytes(kb->dtype, n);
    return bytes < 0 ? -2 : bytes;
}

int kir_memory_plan(const kir_program *p, const int64_t *syms, kir_memory *m, diag *d) {
    const ir_graph *g = p->g;
    memset(m, 0, sizeof *m);
    m->n_bufs = p->n_bufs;
    m->n_steps = p->n_kernels;
    m->n_entries = p->n_bufs + p->n_outputs;
    m->unbound = -1;
    size_t ns = (size_t)g->n_syms + 1;
    m->plan = calloc((size_t)m->n_entries + 1, sizeof *m->plan);
    m->offsets = calloc((size_t)m->n_entries + 1, sizeof *m->offsets);
    int64_t *vals = malloc(ns * sizeof *vals), *bytes = malloc(((size_t)p->n_bufs + 1) * sizeof *bytes);
    unsigned char *dd = calloc(ns, 1), *deferred = calloc((size_t)p->n_bufs + 1, 1);
    int rc = -1;
    if (!m->plan || !m->offsets || !vals || !bytes || !dd || !deferred || find_lives(p, m->plan)) {
        diag_error(d, "out of memory planning the arena");
        goto done;
    }
    /* data-dependent: the named symbols no input binds (runtime: from_input) */
    for (uint32_t s = 0; s < g->n_syms; s++) dd[s] = g->syms[s].kind == IR_SYM_NAMED ? 2 : 0;
    for (uint32_t i = 0; i < p->n_inputs; i++) {
        const kir_buffer *kb = &p->bufs[p->inputs[i]];
        for (int k = 0; k < kb->rank; k++)
            if (kb->dims[k].sym >= 0 && g->syms[kb->dims[k].sym].kind == IR_SYM_NAMED) dd[kb->dims[k].sym] = 1;
    }
    for (uint32_t s = 0; s < g->n_syms; s++) vals[s] = g->syms[s].kind == IR_SYM_NAMED && syms ? syms[s] : -1;
    m->known = true;
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        const kir_buffer *kb = &p->bufs[b];
        for (int k = 0; k < kb->rank; k++) deferred[b] |= kb->dims[k].sym >= 0 && sym_deferred(g, kb->dims[k].sym, dd);
        m->n_deferred += deferred[b];
        bytes[b] = deferred[b] ? -1 : buffer_bytes(p, b, vals);
        if (bytes[b] == -2) {
            diag_error(d, "buffer '%s': its size in bytes overflows", kb->name);
            goto done;
        }
    }
    /* the runtime's plan_storage: arena buffers, and copies of outputs that are inputs or constants */
    for (uint32_t e = 0; e < m->n_entries; e++) {
        uint32_t b = e < p->n_bufs ? e : p->outputs[e - p->n_bufs];
        kir_buffer_kind kind = p->bufs[b].kind;
        bool in_arena = kind == KB_VALUE || kind == KB_TEMP;
        if (deferred[b] || (e < p->n_bufs ? !in_arena : in_arena)) continue;
        if (bytes[b] >= 0) {
            m->plan[e].bytes = (uint64_t)bytes[b];
            continue;
        }
        m->known = false;
        for (int k = 0; k < p->bufs[b].rank && m->unbound < 0; k++)
            if (p->bufs[b].dims[k].sym >= 0) m->unbound = unbound_named(g, p->bufs[b].dims[k].sym, vals);
    }
    if (!m->known) { /* sizes unknown: no plan */
        for (uint32_t e = 0; e < m->n_entries; e++) m->plan[e].bytes = 0;
        rc = 0;
        goto done;
    }
    if (rt_plan_arena(m->plan, m->n_entries, m->offsets, &m->arena_bytes)) {
        diag_error(d, "the arena's size overflows");
        goto done;
    }
    rc = 0;
done:
    free(vals);
    free(bytes);
    free(dd);
    free(deferred);
    return rc;
}

void kir_memory_free(kir_memory *m) {
    free(m->plan);
    free(m->offsets);
    memset(m, 0, sizeof *m);
}

static uint64_t aligned(uint64_t v) { return (v + RT_PLAN_ALIGN - 1) / RT_PLAN_ALIGN * RT_PLAN_ALIGN; }

uint64_t kir_memory_live_at(const kir_memory *m, uint32_t t) {
    uint64_t sum = 0;
    for (uint32_t e = 0; e < m->n_entries; e++)
        if (m->plan[e].first <= t && t <= m->plan[e].last) sum += aligned(m->plan[e].bytes);
    return sum;
}

uint32_t kir_memory_peak_step(const kir_memory *m, uint64_t *bytes) {
    uint32_t best = 0;
    *bytes = 0;
    for (uint32_t t = 0; t <= m->n_steps; t++) {
        uint64_t v = kir_memory_live_at(m, t);
        if (v > *bytes) *bytes = v, best = t;
    }
    return best;
}

uint64_t kir_memory_sum(const kir_memory *m) {
    uint64_t sum = 0;
    for (uint32_t e = 0; e < m->n_entries; e++)
        if (m->plan[e].first <= m->plan[e].last) sum += aligned(m->plan[e].bytes);
    return sum;
}
