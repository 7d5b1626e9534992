/* gguf_vocab.c — reads a GGUF file's tokenizer keys into the arrays of
 * runtime/tokenizer.h (see gguf_vocab.h). Defaults follow llama.cpp's
 * llama_vocab::load: a special token id outside the vocabulary is ignored,
 * Phi-3's special tokens strip the spaces on their right. */
#include <stdlib.h>
#include <string.h>

#include "frontend/gguf/gguf_vocab.h"

#define K "tokenizer.ggml."

static int get_strs(const gguf_file *f, const char *key, rt_tok_str **out, uint32_t *n, diag *d) {
    uint64_t cnt;
    const uint8_t *data;
    if (gguf_get_arr(f, key, GGUF_STRING, &cnt, &data, d)) return -1;
    if (cnt > UINT32_MAX - 1) return diag_error(d, "%s: key '%s': %llu entries is too many", f->path, key, (unsigned long long)cnt);
    *out = malloc((cnt ? cnt : 1) * sizeof **out);
    if (!*out) return diag_error(d, "%s: key '%s': out of memory", f->path, key);
    for (uint64_t i = 0; i < cnt; i++) {
        gguf_str s = gguf_arr_str(&data);
        (*out)[i] = (rt_tok_str){s.ptr, (size_t)s.len};
    }
    *n = (uint32_t)cnt;
    return 0;
}

/* A numeric array of at least n elements of one of the types in ok. */
static const gguf_kv *num_array(const gguf_file *f, const char *key, uint32_t n, const gguf_type *ok,
                                int n_ok, diag *d, int *rc) {
    const gguf_kv *kv = gguf_find(f, key);
    *rc = 0;
    if (!kv) return NULL;
    int good = kv->val.type == GGUF_ARRAY;
    bool type_ok = false;
    for (int i = 0; good && i < n_ok; i++) type_ok |= kv->val.arr.type == ok[i];
    if (!good || !type_ok) {
        *rc = diag_error(d, "%s: key '%s': expected an array of %s", f->path, key, gguf_type_name(ok[0]));
        return NULL;
    }
    if (kv->val.arr.n < n) {
        *rc = diag_error(d, "%s: key '%s': %llu entries for %u tokens", f->path, key,
                         (unsigned long long)kv->val.arr.n, n);
        return NULL;
    }
    return kv;
}

/* An optional id key: kept as the default when absent or out of range. */
static int get_id(const gguf_file *f, const char *key, int32_t *id, uint32_t n, diag *d) {
    if (*id >= (int64_t)n) *id = -1;
    if (!gguf_find(f, key)) return 0;
    uint64_t v;
    if (gguf_get_u64(f, key, &v, d)) return -1;
    if (v < n) *id = (int32_t)v;
    return 0;
}

static int get_flag(const gguf_file *f, const char *key, bool *b, diag *d) {
    return gguf_find(f, key) ? gguf_get_bool(f, key, b, d) : 0;
}

static bool str_has(gguf_str s, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (!strncasecmp(s.ptr + i, needle, n)) return true;
    return false;
}

/* llama.cpp marks Phi-3's special tokens rstrip (except <unk>, <s>, <|endoftext|>)
 * and </s> too, by the model's name. */
static int phi3_attrs(const gguf_file *f, gguf_vocab *v) {
    gguf_str name = {0};
    const gguf_kv *kv = gguf_find(f, "general.name");
    if (kv && kv->val.type == GGUF_STRING) name = kv->val.s;
    if (!str_has(name, "phi-3") && !str_has(name, "phi3")) return 0;
    uint32_t n = v->cfg.n_tokens;
    v->attrs = calloc(n, 1);
    if (!v->attrs) return -1;
    for (uint32_t i = 0; i < n; i++) {
        rt_tok_str t = v->tokens[i];
        int32_t ty = v->types ? v->types[i] : RT_TOKT_NORMAL;
        bool special = ty == RT_TOKT_CONTROL || ty == RT_TOKT_USER_DEFINED || ty == RT_TOKT_UNKNOWN;
        bool keep = (t.len == 5 && !memcmp(t.ptr, "<unk>", 5)) || (t.len == 3 && !memcmp(t.ptr, "<s>", 3)) ||
                    (t.len == 13 && !memcmp(t.ptr, "<|endoftext|>", 13));
        if ((special || (t.len == 4 && !memcmp(t.ptr, "</s>", 4))) && !keep) v->attrs[i] = RT_TOKA_RSTRIP;
    }
    v->cfg.attrs = v->attrs;
    return 0;
}

int gguf_vocab_read(const gguf_file *f, gguf_vocab *v, diag *d) {
    memset(v, 0, sizeof *v);
    gguf_str model, pre = {"default", 7};
    if (gguf_get_str(f, K "model", &model, d)) return -1;
    int m = rt_tok_model_from_name(model.ptr, model.len);
    if (m < 0)
        return diag_error(d, "%s: key '" K "model': tokenizer '%.*s' is not supported (llama, gpt2, gemma4)",
                          f->path, (int)model.len, model.ptr);
    if (gguf_find(f, K "pre") && gguf_get_str(f, K "pre", &pre, d)) return -1;
    int p = RT_PRE_NONE;
    if (m == RT_TOK_BPE) {
        p = rt_tok_pre_from_name(pre.ptr, pre.len);
        if (p <= RT_PRE_NONE)
            return diag_error(d, "%s: key '" K "pre': pre-tokenizer '%.*s' is not supported (gpt-2, llama-bpe, "
                              "qwen2, qwen35, smollm, starcoder, ...)", f->path, (int)pre.len, pre.ptr);
    }
    rt_tok_config *c = &v->cfg;
    rt_tok_config_defaults(c, (rt_tok_model)m, (rt_tok_pre)p);
    int rc = 0;
    uint32_t n;
    if (get_strs(f, K "tokens", &v->tokens, &n, d)) goto fail;
    c->tokens = v->tokens;
    c->n_tokens = n;
    if (n == 0) {
        diag_error(d, "%s: key '" K "tokens': the vocabulary is empty", f->path);
        goto fail;
    }
    const gguf_type score_types[2] = {GGUF_F32, GGUF_I32};
    const gguf_kv *kv = num_array(f, K "scores", n, score_types, 2, d, &rc);
    if (rc) goto fail;
    if (kv) {
        v->scores = malloc(n * sizeof *v->scores);
        if (!v->scores) goto oom;
        for (uint32_t i = 0; i < n; i++) v->scores[i] = (float)gguf_arr_f64(kv->val.arr.type, kv->val.arr.data, i);
        c->scores = v->scores;
    }
    const gguf_type type_types[1] = {GGUF_I32};
    kv = num_array(f, K "token_type", n, type_types, 1, d, &rc);
    if (rc) goto fail;
    if (kv) {
        v->types = malloc(n * sizeof *v->types);
        if (!v->types) goto oom;
        for (uint32_t i = 0; i < n; i++) v->types[i] = (int32_t)gguf_arr_i64(GGUF_I32, kv->val.arr.data, i);
        c->types = v->types;
    }
    if (m != RT_TOK_SPM) {
        if (get_strs(f, K "merges", &v->merges, &c->n_merges, d)) goto fail;
        c->merges = v->merges;
    }
    if (get_id(f, K "bos_token_id", &c->bos, n, d) || get_id(f, K "eos_token_id", &c->eos, n, d) ||
        get_id(f, K "unknown_token_id", &c->unk, n, d) || get_id(f, K "padding_token_id", &c->pad, n, d) ||
        get_id(f, K "eot_token_id", &c->eot, n, d))
        goto fail;
    bool gemma4_bos = c->add_bos && m == RT_TOK_GEMMA4;
    if (get_flag(f, K "add_bos_token", &c->add_bos, d) || get_flag(f, K "add_eos_token", &c->add_eos, d) ||
        get_flag(f, K "add_space_prefix", &c->add_space_prefix, d))
        goto fail;
    if (gemma4_bos) c->add_bos = true;  /* llama.cpp overrides it for Gemma 4 */
    if (phi3_attrs(f, v)) goto oom;
    kv = gguf_find(f, "tokenizer.chat_template");
    if (kv && kv->val.type == GGUF_STRING) v->chat_template = kv->val.s;
    return 0;
oom:
    diag_error(d, "%s: tokenizer: out of memory", f->path);
fail:
    gguf_vocab_free(v);
    return -1;
}

void gguf_vocab_free(gguf_vocab *v) {
    free(v->tokens);
    free(v->merges);
    free(v->scores);
    free(v->types);
    free(v->attrs);
    memset(v, 0, sizeof *v);
}
