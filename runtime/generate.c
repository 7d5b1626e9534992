/* generate.c — the generation loop over a compiled model step
 * (generate.h): the KV cache bound in place, prefill, decode steps,
 * sampling, streaming, timing. */
#include "runtime/generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/run_util.h"

typedef struct gen_cache {
    int in, out;        /* model input cache_X.L, output X.L */
    float *data;        /* n_ctx * row floats */
} gen_cache;

struct rt_gen {
    smelt_model *m;
    smelt_session *s;
    int64_t n_ctx, past, n_vocab, kv_heads, head, row;
    int n_caches, logits_out;
    int rows_in;        /* input logit_rows, -1: the model gives every row's logits */
    gen_cache *c;
    int64_t *tok64;     /* n_ctx */
    int64_t *rows64;    /* n_ctx: the row indices bound to logit_rows */
    rt_gen_memory mem;  /* alloc NULL: the caches are calloc'd, the logits the session's */
    float *logits;      /* with mem: logits_rows rows of n_vocab */
    int64_t logits_rows;
};

static int find_output(smelt_model *m, const char *name) {
    for (int o = 0; o < smelt_num_outputs(m); o++) {
        smelt_tensor_info t;
        if (!smelt_output_info(m, o, &t) && !strcmp(t.name, name)) return o;
    }
    return -1;
}

static int fail(char *err, size_t err_size, const char *what, const char *msg) {
    snprintf(err, err_size, "%s: %s", what, msg);
    return -1;
}

/* The cache inputs (cache_k.L / cache_v.L, f32 [1, past, kv_heads, head])
 * and their outputs; logit_rows (i64 [rows]) where the model has it. */
static int find_caches(rt_gen *g, const char *name, char *err, size_t err_size) {
    smelt_model *m = g->m;
    int n_in = smelt_num_inputs(m);
    smelt_tensor_info t;
    if (n_in < 3 || smelt_input_info(m, 0, &t) || strcmp(t.name, "tokens") || t.rank != 1 || strcmp(t.dtype, "i64"))
        return fail(err, err_size, name, "not a generation model (inputs tokens, cache_k.L, cache_v.L: "
                    "compile the GGUF file with smelt compile)");
    g->c = calloc((size_t)n_in, sizeof *g->c);
    if (!g->c) return fail(err, err_size, name, "out of memory");
    for (int i = 1; i < n_in; i++) {
        if (smelt_input_info(m, i, &t)) return fail(err, err_size, name, "bad input");
        if (!strcmp(t.name, "logit_rows") && t.rank == 1 && !strcmp(t.dtype, "i64")) {
            g->rows_in = i;
            continue;
        }
        bool k = !strncmp(t.name, "cache_k.", 8), v = !strncmp(t.name, "cache_v.", 8);
        if ((!k && !v) || t.rank != 4 || strcmp(t.dtype, "f32") || t.dims[0] != 1 || t.dims[1] != -1 || t.dims[2] <= 0 ||
            t.dims[3] <= 0) {
            snprintf(err, err_size, "%s: input '%s' is not a KV cache (f32 [1, past, kv_heads, head])", name, t.name);
            return -1;
        }
        if (g->n_caches && (t.dims[2] != g->kv_heads || t.dims[3] != g->head))
            return fail(err, err_size, name, "KV caches of different sizes");
        g->kv_heads = t.dims[2], g->head = t.dims[3];
        char out[64];
        snprintf(out, sizeof out, "%s", t.name + 6); /* "k.L" / "v.L" */
        int o = find_output(m, out);
        if (o < 0) {
            snprintf(err, err_size, "%s: no output '%s' for cache input '%s'", name, out, t.name);
            return -1;
        }
        g->c[g->n_caches++] = (gen_cache){i, o, NULL};
    }
    g->row = g->kv_heads * g->head;
    g->logits_out = find_output(m, "logits");
    if (g->logits_out < 0 || smelt_output_info(m, g->logits_out, &t) || t.rank != 2 || t.dims[1] <= 0)
        return fail(err, err_size, name, "no output 'logits' [seq, vocab]");
    g->n_vocab = t.dims[1];
    return 0;
}

int rt_gen_new(smelt_model *m, int threads, int64_t n_ctx, rt_gen **out, char *err, size_t err_size) {
    *out = NULL;
    const char *name = "model";
    rt_gen *g = calloc(1, sizeof *g);
    if (!g) return fail(err, err_size, name, "out of memory");
    g->m = m;
    g->n_ctx = n_ctx;
    g->rows_in = -1;
    if (n_ctx <= 0 || n_ctx > (1 << 24)) {
        rt_gen_free(g);
        return fail(err, err_size, name, "the context must hold 1 .. 16777216 positions");
    }
    if (find_caches(g, name, err, err_size)) {
        rt_gen_free(g);
        return -1;
    }
    for (int i = 0; i < g->n_caches; i++) {
        uint64_t bytes = (uint64_t)n_ctx * (uint64_t)g->row * sizeof(float);
        if (!(g->c[i].data = bytes <= SIZE_MAX ? calloc(1, (size_t)bytes) : NULL)) {
            rt_gen_free(g);
            return fail(err, err_size, name, "out of memory for the KV cache");
        }
    }
    smelt_options o = {.threads = threads};
    g->tok64 = malloc((size_t)n_ctx * sizeof *g->tok64);
    g->rows64 = malloc((size_t)n_ctx * sizeof *g->rows64);
    if (!g->tok64 || !g->rows64 || smelt_session_new(m, &o, &g->s, err, err_size)) {
        if (!g->tok64 || !g->rows64) fail(err, err_size, name, "out of memory");
        rt_gen_free(g);
        return -1;
    }
    *out = g;
    return 0;
}

void rt_gen_free(rt_gen *g) {
    if (!g) return;
    smelt_session_free(g->s);
    for (int i = 0; g->c && i < g->n_caches; i++)
        if (g->mem.alloc) g->mem.release(g->mem.ctx, g->c[i].data);
        else free(g->c[i].data);
    if (g->mem.alloc) g->mem.release(g->mem.ctx, g->logits);
    free(g->c);
    free(g->tok64);
    free(g->rows64);
    free(g);
}

smelt_session *rt_gen_session(rt_gen *g) { return g->s; }

int rt_gen_set_memory(rt_gen *g, const rt_gen_memory *mem, char *err, size_t err_size) {
    uint64_t bytes = (uint64_t)g->n_ctx * (uint64_t)g->row * sizeof(float);
    for (int i = 0; i < g->n_caches; i++) {
        float *d = mem->alloc(mem->ctx, bytes, false);
        if (!d) return fail(err, err_size, "model", "out of memory for the KV cache");
        if (g->mem.alloc) g->mem.release(g->mem.ctx, g->c[i].data);
        else free(g->c[i].data);
        g->c[i].data = d;
    }
    if (g->mem.alloc) g->mem.release(g->mem.ctx, g->logits);
    g->mem = *mem;
    g->logits = NULL;
    g->logits_rows = 0;
    g->past = 0;
    return 0;
}

/* With another executor's memory: the logits of n tokens there. */
static int bind_logits(rt_gen *g, int64_t n, char *err, size_t err_size) {
    if (n > g->logits_rows) {
        g->mem.release(g->mem.ctx, g->logits);
        g->logits_rows = 0;
        if (!(g->logits = g->mem.alloc(g->mem.ctx, (uint64_t)(n * g->n_vocab) * sizeof(float), true)))
            return fail(err, err_size, "model", "out of memory for the logits");
        g->logits_rows = n;
    }
    return smelt_set_output(g->s, g->logits_out, g->logits, (size_t)(n * g->n_vocab) * sizeof(float), err, err_size);
}
void rt_gen_reset(rt_gen *g) { g->past = 0; }
int64_t rt_gen_pos(const rt_gen *g) { return g->past; }
int64_t rt_gen_n_vocab(const rt_gen *g) { return g->n_vocab; }

int rt_gen_eval(rt_gen *g, const int32_t *tokens, int64_t n, bool all_rows, const float **logits, char *err,
                size_t err_size) {
    if (n <= 0 || n > g->n_ctx - g->past) {
        snprintf(err, err_size, "model: %lld tokens at position %lld do not fit the context of %lld", (long long)n,
                 (long long)g->past, (long long)g->n_ctx);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= g->n_vocab) {
            snprintf(err, err_size, "model: token %d out of the vocabulary (%lld)", tokens[i], (long long)g->n_vocab);
            return -1;
        }
        g->tok64[i] = tokens[i];
    }
    int64_t ts[1] = {n}, cs[4] = {1, g->past, g->kv_heads, g->head};
    if (smelt_set_input(g->s, 0, g->tok64, ts, 1, err, err_size)) return -1;
    for (int i = 0; i < g->n_caches; i++) {
        float *d = g->c[i].data;
        if (smelt_set_input(g->s, g->c[i].in, d, cs, 4, err, err_size) ||
            smelt_set_output(g->s, g->c[i].out, d + g->past * g->row, (size_t)(n * g->row) * sizeof(float), err,
                             err_size))
            return -1;
    }
    int64_t rows = n;
    if (g->rows_in >= 0) { /* the model computes the logits of the rows asked for */
        rows = all_rows ? n : 1;
        for (int64_t i = 0; i < rows; i++) g->rows64[i] = n - rows + i;
        if (smelt_set_input(g->s, g->rows_in, g->rows64, &rows, 1, err, err_size)) return -1;
    }
    if (g->mem.alloc && bind_logits(g, rows, err, err_size)) return -1;
    if (smelt_run(g->s, err, err_size)) return -1;
    const void *data;
    int64_t shape[16];
    int rank;
    if (smelt_get_output(g->s, g->logits_out, &data, shape, &rank)) return fail(err, err_size, "model", "no logits");
    *logits = (const float *)data + (all_rows ? 0 : (rows - 1) * g->n_vocab);
    g->past += n;
    return 0;
}

int rt_generate(rt_gen *g, const rt_tokenizer *tok, const int32_t *prompt, int64_t n_prompt,
                const rt_sampler_params *sp, int64_t n_predict, rt_gen_emit emit, void *ctx, int32_t *out,
                rt_gen_stats *st, char *err, size_t err_size) {
    memset(st, 0, sizeof *st);
    if (n_prompt <= 0) return fail(err, err_size, "generate", "empty prompt");
    if (n_prompt + n_predict > g->n_ctx) {
        snprintf(err, err_size, "generate: %lld prompt tokens + %lld to generate exceed the context (%lld; --ctx)",
                 (long long)n_prompt, (long long)n_predict, (long long)g->n_ctx);
        return -1;
    }
    int32_t *hist = malloc((size_t)(n_prompt + n_predict + 1) * sizeof *hist);
    rt_sampler smp;
    if (!hist || rt_sampler_init(&smp, sp, (int32_t)g->n_vocab)) {
        free(hist);
        return fail(err, err_size, "generate", "out of memory");
    }
    memcpy(hist, prompt, (size_t)n_prompt * sizeof *hist);
    size_t n_hist = (size_t)n_prompt;
    int rc = 0;
    const float *logits;
    double t0 = rt_now_ms();
    if (rt_gen_eval(g, prompt, n_prompt, false, &logits, err, err_size)) rc = -1;
    double t1 = rt_now_ms();
    st->n_prompt = n_prompt;
    st->prompt_ms = t1 - t0;
    const float *last = rc ? NULL : logits;
    char piece[256];
    for (int64_t i = 0; rc == 0 && i < n_predict; i++) {
        int32_t t = rt_sampler_sample(&smp, last, hist, n_hist);
        if (tok && rt_tok_is_eog(tok, t)) break;
        hist[n_hist++] = t;
        if (out) out[i] = t;
        st->n_gen++;
        size_t len = tok ? rt_tok_piece(tok, t, false, piece, sizeof piece) : 0;
        if (emit && emit(ctx, t, piece, len < sizeof piece ? len : sizeof piece)) break;
        if (i + 1 == n_predict) break;
        if (rt_gen_eval(g, &t, 1, false, &logits, err, err_size)) rc = -1;
        st->n_decode++;
        last = logits;
    }
    st->gen_ms = rt_now_ms() - t1;
    rt_sampler_free(&smp);
    free(hist);
    return rc;
}
