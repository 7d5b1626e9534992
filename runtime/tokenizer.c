/* tokenizer.c — building a tokenizer from plain arrays (see tokenizer.h):
 * copies the token texts into one pool, hashes texts and merge pairs, lists
 * the special tokens longest first, finds the byte-fallback tokens; plus the
 * model/pre-tokenizer names of GGUF and the small accessors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

void tok_ids_push(tok_ids *o, int32_t id) {
    if (o->oom) return;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 64;
        int32_t *v = realloc(o->v, cap * sizeof *v);
        if (!v) {
            o->oom = true;
            return;
        }
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = id;
}

void tok_spans_push(tok_spans *s, size_t off, size_t len) {
    if (s->oom) return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        tok_span *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (tok_span){off, len};
}

static bool name_is(const char *s, size_t n, const char *lit) { return strlen(lit) == n && !memcmp(s, lit, n); }

int rt_tok_model_from_name(const char *name, size_t len) {
    if (name_is(name, len, "llama")) return RT_TOK_SPM;
    if (name_is(name, len, "gpt2")) return RT_TOK_BPE;
    if (name_is(name, len, "gemma4")) return RT_TOK_GEMMA4;
    return -1;
}

/* tokenizer.ggml.pre values, grouped as llama.cpp groups their regexes */
static const struct { const char *name; rt_tok_pre pre; } pre_names[] = {
    {"default", RT_PRE_NONE},
    {"gpt-2", RT_PRE_GPT2}, {"mpt", RT_PRE_GPT2}, {"olmo", RT_PRE_GPT2}, {"phi-2", RT_PRE_GPT2},
    {"jais", RT_PRE_GPT2}, {"trillion", RT_PRE_GPT2},
    {"llama3", RT_PRE_LLAMA3}, {"llama-v3", RT_PRE_LLAMA3}, {"llama-bpe", RT_PRE_LLAMA3},
    {"falcon3", RT_PRE_LLAMA3}, {"pixtral", RT_PRE_LLAMA3}, {"dbrx", RT_PRE_LLAMA3},
    {"smaug-bpe", RT_PRE_LLAMA3},
    {"qwen2", RT_PRE_QWEN2}, {"stablelm2", RT_PRE_QWEN2}, {"hunyuan", RT_PRE_QWEN2},
    {"qwen35", RT_PRE_QWEN35},
    {"starcoder", RT_PRE_STARCODER}, {"smollm", RT_PRE_STARCODER}, {"refact", RT_PRE_STARCODER},
    {"command-r", RT_PRE_STARCODER}, {"codeshell", RT_PRE_STARCODER}, {"exaone", RT_PRE_STARCODER},
    {"minerva-7b", RT_PRE_STARCODER},
    {"gemma4", RT_PRE_NONE},
};

int rt_tok_pre_from_name(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++)
        if (name_is(name, len, pre_names[i].name)) return (int)pre_names[i].pre;
    return -1;
}

void rt_tok_config_defaults(rt_tok_config *c, rt_tok_model model, rt_tok_pre pre) {
    memset(c, 0, sizeof *c);
    c->model = model;
    c->pre = pre;
    c->bos = c->eos = c->unk = c->pad = c->eot = -1;
    if (model == RT_TOK_SPM) {
        c->bos = 1, c->eos = 2, c->unk = 0;
        c->add_bos = c->add_space_prefix = true;
    } else if (model == RT_TOK_BPE) {
        c->bos = c->eos = 11;  /* llama.cpp's defaults for "gpt2" */
        c->add_bos = pre == RT_PRE_LLAMA3;
    } else {
        c->add_bos = true;  /* llama.cpp forces it for Gemma 4 */
    }
}

static rt_tokenizer *fail(rt_tokenizer *t, char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    rt_tok_free(t);
    return NULL;
}

typedef struct len_id {
    size_t len;
    int32_t id;
} len_id;

static int by_len_desc(const void *a, const void *b) {
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int list_specials(rt_tokenizer *t) {
    len_id *v = malloc((t->n ? t->n : 1) * sizeof *v);
    if (!v) return -1;
    uint32_t m = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        uint8_t ty = t->type[i];
        if ((ty == RT_TOKT_CONTROL || ty == RT_TOKT_USER_DEFINED || ty == RT_TOKT_UNKNOWN) && t->len[i])
            v[m++] = (len_id){t->len[i], (int32_t)i};
    }
    qsort(v, m, sizeof *v, by_len_desc);
    t->special = malloc((m ? m : 1) * sizeof *t->special);
    if (!t->special) {
        free(v);
        return -1;
    }
    for (uint32_t i = 0; i < m; i++) t->special[i] = v[i].id;
    t->n_special = m;
    free(v);
    return 0;
}

static int add_merges(rt_tokenizer *t, const rt_tok_config *c) {
    if (rt_strmap_init(&t->merges, c->n_merges)) return -1;
    char *key = NULL;
    size_t cap = 0;
    for (uint32_t i = 0; i < c->n_merges; i++) {
        const char *s = c->merges[i].ptr;
        size_t n = c->merges[i].len;
        const char *sp = n > 1 ? memchr(s + 1, ' ', n - 1) : NULL;
        if (!sp) continue;  /* llama.cpp ranks it as an empty pair: never matches */
        if (n > cap) {
            char *k = realloc(key, n);
            if (!k) return free(key), -1;
            key = k;
            cap = n;
        }
        memcpy(key, s, n);
        key[sp - s] = (char)0xFF;
        if (rt_strmap_put(&t->merges, key, n, (int32_t)i, false)) return free(key), -1;
    }
    free(key);
    return 0;
}

static void find_bytes(rt_tokenizer *t) {
    for (unsigned b = 0; b < 256; b++) {
        t->byte_enc_len[b] = (uint8_t)rt_utf8_encode(rt_byte_to_cp((uint8_t)b), t->byte_enc[b]);
        char hex[7];
        snprintf(hex, sizeof hex, "<0x%02X>", b);
        int32_t id = -1;
        if (t->model == RT_TOK_BPE) {
            id = tok_lookup(t, t->byte_enc[b], t->byte_enc_len[b]);
        } else {
            id = tok_lookup(t, hex, 6);
            char one = (char)b;
            if (id < 0 && t->model == RT_TOK_SPM) id = tok_lookup(t, &one, 1);
        }
        t->byte_tok[b] = id;
    }
}

static void find_eot(rt_tokenizer *t) {
    static const char *const names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
                                        "<|endoftext|>", "<|end_of_text|>", "<EOT>", "<turn|>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && t->eot < 0; i++)
        t->eot = tok_lookup(t, names[i], strlen(names[i]));
}

/* The end-of-generation set, as llama.cpp builds it (llama-vocab.cpp,
 * special_eog_ids): EOS, EOT and every token spelled as one of these, so
 * that e.g. Qwen's <|endoftext|> ends a turn as well as <|im_end|>. */
static void find_eog(rt_tokenizer *t) {
    static const char *const names[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
                                        "<end_of_utterance>", "<eos>", "<turn|>"};
    const int32_t known[2] = {t->eos, t->eot};
    for (int i = 0; i < 2; i++)
        if (known[i] >= 0) t->eog[t->n_eog++] = known[i];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int32_t id = tok_lookup(t, names[i], strlen(names[i]));
        if (id >= 0 && !rt_tok_is_eog(t, id)) t->eog[t->n_eog++] = id;
    }
}

rt_tokenizer *rt_tok_new(const rt_tok_config *c, char *err, size_t errlen) {
    if (!c->n_tokens || !c->tokens) return fail(NULL, err, errlen, "tokenizer: empty vocabulary");
    if (c->model != RT_TOK_SPM && (!c->n_merges || !c->merges))
        return fail(NULL, err, errlen, "tokenizer: a BPE vocabulary needs merges");
    if (c->model == RT_TOK_BPE && c->pre == RT_PRE_NONE)
        return fail(NULL, err, errlen, "tokenizer: byte-level BPE needs a pre-tokenizer");
    const int32_t ids[5] = {c->bos, c->eos, c->unk, c->pad, c->eot};
    static const char *const id_names[5] = {"bos", "eos", "unknown", "padding", "eot"};
    for (int i = 0; i < 5; i++)
        if (ids[i] < -1 || ids[i] >= (int64_t)c->n_tokens)
            return fail(NULL, err, errlen, "tokenizer: %s token id %d is outside the vocabulary of %u",
                        id_names[i], ids[i], c->n_tokens);
    rt_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return fail(NULL, err, errlen, "tokenizer: out of memory");
    t->model = c->model;
    t->pre = c->model == RT_TOK_BPE ? c->pre : RT_PRE_NONE;
    t->n = c->n_tokens;
    size_t total = 0;
    for (uint32_t i = 0; i < t->n; i++) total += c->tokens[i].len + 1;
    t->pool = malloc(total);
    t->off = malloc(t->n * sizeof *t->off);
    t->len = malloc(t->n * sizeof *t->len);
    t->score = calloc(t->n, sizeof *t->score);
    t->type = malloc(t->n);
    t->attr = calloc(t->n, 1);
    if (!t->pool || !t->off || !t->len || !t->score || !t->type || !t->attr || rt_strmap_init(&t->vocab, t->n))
        return fail(t, err, errlen, "tokenizer: out of memory");
    size_t at = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t n = c->tokens[i].len;
        if (n > UINT32_MAX) return fail(t, err, errlen, "tokenizer: token %u is too long", i);
        if (n) memcpy(t->pool + at, c->tokens[i].ptr, n);
        t->pool[at + n] = 0;
        t->off[i] = at;
        t->len[i] = (uint32_t)n;
        at += n + 1;
        if (c->scores) t->score[i] = c->scores[i];
        int32_t ty = c->types ? c->types[i] : RT_TOKT_NORMAL;
        t->type[i] = (uint8_t)(ty >= RT_TOKT_NORMAL && ty <= RT_TOKT_BYTE ? ty : 0);
        if (c->attrs) t->attr[i] = c->attrs[i];
        if (n && rt_strmap_put(&t->vocab, t->pool + at - n - 1, n, (int32_t)i, true))
            return fail(t, err, errlen, "tokenizer: out of memory");
    }
    if (c->model != RT_TOK_SPM && add_merges(t, c)) return fail(t, err, errlen, "tokenizer: out of memory");
    if (list_specials(t)) return fail(t, err, errlen, "tokenizer: out of memory");
    t->bos = c->bos, t->eos = c->eos, t->unk = c->unk, t->pad = c->pad, t->eot = c->eot;
    t->add_bos = c->add_bos && c->bos >= 0;
    t->add_eos = c->add_eos && c->eos >= 0;
    t->add_space_prefix = c->model == RT_TOK_SPM && c->add_space_prefix;
    t->escape_spaces = c->model != RT_TOK_BPE;
    t->ignore_merges = t->pre == RT_PRE_LLAMA3;
    find_bytes(t);
    if (t->eot < 0) find_eot(t);
    find_eog(t);
    return t;
}

void rt_tok_free(rt_tokenizer *t) {
    if (!t) return;
    rt_strmap_free(&t->vocab);
    rt_strmap_free(&t->merges);
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->attr);
    free(t->special);
    free(t);
}

uint32_t rt_tok_n_vocab(const rt_tokenizer *t) { return t->n; }
int32_t rt_tok_bos(const rt_tokenizer *t) { return t->bos; }
int32_t rt_tok_eos(const rt_tokenizer *t) { return t->eos; }
bool rt_tok_is_eog(const rt_tokenizer *t, int32_t id) {
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

const char *rt_tok_text(const rt_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || (uint32_t)id >= t->n) return NULL;
    if (len) *len = t->len[id];
    return t->pool + t->off[id];
}

int32_t rt_tok_find(const rt_tokenizer *t, const char *s, size_t len) { return tok_lookup(t, s, len); }
