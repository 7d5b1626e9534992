/* test_tokenizer_blob.c — the tokenizer record of compiled LLM artifacts
 * (runtime/tokenizer_blob.h): real vocabularies (llama.cpp's GGUF vocab
 * files from tools/deps.sh: SentencePiece with scores, byte-level BPE with
 * merges and a chat template, Phi-3 with token attributes) survive a write
 * and a read field by field and tokenize the same text to the same ids; a
 * hand-made record is refused, with a message and without a crash, when
 * truncated at every length, with every single byte corrupted (or read
 * back exactly when the change is harmless), and with counts and lengths
 * that claim more than the record holds; and the manifest's "tokenizer"
 * section of a loaded artifact (the runtime's hand-written fake model with
 * a record appended to its weights): found, absent, or malformed. Run it
 * under ASan too. */
#include <stdlib.h>
#include <string.h>

#include "frontend/gguf/gguf_vocab.h"
#include "runtime/tokenizer_blob.h"
#include "tests/unit/support/check.h"

extern const smelt_model_desc fake_desc __asm__("smelt_model"); /* support/fake_model.c */

#define VOCAB ".cache/llama-vocab/ggml-vocab-"

static bool strs_equal(const rt_tok_str *a, const rt_tok_str *b, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (a[i].len != b[i].len || memcmp(a[i].ptr, b[i].ptr, a[i].len)) return false;
    return true;
}

/* Every field of two configurations, arrays by content. */
static bool config_equal(const rt_tok_config *a, const rt_tok_config *b) {
    size_t n = a->n_tokens;
    return a->model == b->model && a->pre == b->pre && a->n_tokens == b->n_tokens && a->n_merges == b->n_merges &&
           a->bos == b->bos && a->eos == b->eos && a->unk == b->unk && a->pad == b->pad && a->eot == b->eot &&
           a->add_bos == b->add_bos && a->add_eos == b->add_eos && a->add_space_prefix == b->add_space_prefix &&
           strs_equal(a->tokens, b->tokens, a->n_tokens) && strs_equal(a->merges, b->merges, a->n_merges) &&
           !a->scores == !b->scores && (!a->scores || !memcmp(a->scores, b->scores, n * sizeof(float))) &&
           !a->types == !b->types && (!a->types || !memcmp(a->types, b->types, n * sizeof(int32_t))) &&
           !a->attrs == !b->attrs && (!a->attrs || !memcmp(a->attrs, b->attrs, n));
}

static long ids_of(const rt_tokenizer *t, const char *s, int32_t *out, size_t cap) {
    return rt_tokenize(t, s, strlen(s), true, true, out, cap);
}

/* A real vocabulary: write, read, compare, tokenize with both. */
static void round_trip(const char *name, bool want_chat, bool want_attrs) {
    char path[256];
    snprintf(path, sizeof path, VOCAB "%s.gguf", name);
    diag d;
    diag_init(&d);
    gguf_file *f = gguf_open(path, &d);
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "  %s (fetched by tools/deps.sh)\n", d.msg);
        return;
    }
    gguf_vocab v;
    CHECK(gguf_vocab_read(f, &v, &d) == 0);
    CHECK(!want_chat || v.chat_template.len > 0);
    CHECK(!want_attrs || v.cfg.attrs);
    unsigned char *rec;
    size_t len;
    char err[512];
    CHECK(rt_tok_record_write(&v.cfg, v.chat_template.ptr, v.chat_template.len, &rec, &len, err, sizeof err) == 0);
    rt_tok_record r;
    CHECK(rt_tok_record_read(rec, len, &r, err, sizeof err) == 0);
    CHECK(config_equal(&v.cfg, &r.cfg));
    CHECK(r.chat_len == v.chat_template.len &&
          (!r.chat_len || !memcmp(r.chat_template, v.chat_template.ptr, r.chat_len)));
    printf("%s: %u tokens, %u merges, chat template %zu bytes: record %zu bytes\n", name, v.cfg.n_tokens,
           v.cfg.n_merges, v.chat_template.len, len);

    rt_tokenizer *a = rt_tok_new(&v.cfg, err, sizeof err), *b = rt_tok_new(&r.cfg, err, sizeof err);
    CHECK(a && b);
    const char *text = "Hello world! 3.14159 <s> naïve café 🦙\n\n  indented\tline";
    int32_t ia[256], ib[256];
    long na = a ? ids_of(a, text, ia, 256) : -1, nb = b ? ids_of(b, text, ib, 256) : -2;
    CHECK(na > 0 && na == nb && na <= 256 && !memcmp(ia, ib, (size_t)na * sizeof *ia));
    /* a truncated copy of the real record at a spread of lengths */
    int refused = 0;
    for (size_t k = 0; k < 64; k++) {
        size_t cut = len * k / 64;
        rt_tok_record t;
        refused += rt_tok_record_read(rec, cut, &t, err, sizeof err) != 0;
    }
    CHECK(refused == 64);
    rt_tok_free(a);
    rt_tok_free(b);
    rt_tok_record_free(&r);
    free(rec);
    gguf_vocab_free(&v);
    gguf_close(f);
}

/* ---- a small record with every part present ---- */

static const rt_tok_str TOKS[] = {{"<unk>", 5}, {"<s>", 3}, {"</s>", 4}, {"a", 1}, {"b", 1}, {"ab", 2}};
static const rt_tok_str MERGES[] = {{"a b", 3}};
static const float SCORES[] = {0, 0, 0, -1, -2, -0.5f};
static const int32_t TYPES[] = {2, 3, 3, 1, 1, 1};
static const uint8_t ATTRS[] = {0, 0, RT_TOKA_RSTRIP, 0, 0, 0};

static void small_config(rt_tok_config *c) {
    rt_tok_config_defaults(c, RT_TOK_BPE, RT_PRE_GPT2);
    c->n_tokens = 6;
    c->tokens = TOKS;
    c->scores = SCORES;
    c->types = TYPES;
    c->attrs = ATTRS;
    c->n_merges = 1;
    c->merges = MERGES;
    c->bos = 1, c->eos = 2, c->unk = 0;
    c->add_bos = true;
}

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Read must fail with a message containing want. */
static void refuse(const unsigned char *rec, size_t len, const char *want) {
    rt_tok_record r;
    char err[512] = "";
    CHECK(rt_tok_record_read(rec, len, &r, err, sizeof err) != 0);
    CHECK_CONTAINS(err, want);
    CHECK(r.tokens == NULL && r.merges == NULL && r.scores == NULL);
}

static void test_corrupt(void) {
    rt_tok_config c;
    small_config(&c);
    unsigned char *rec;
    size_t len;
    char err[512];
    const char chat[] = "{{ '<|im_start|>' }}";
    CHECK(rt_tok_record_write(&c, chat, sizeof chat - 1, &rec, &len, err, sizeof err) == 0);
    rt_tok_record r;
    CHECK(rt_tok_record_read(rec, len, &r, err, sizeof err) == 0);
    CHECK(config_equal(&c, &r.cfg));
    rt_tok_record_free(&r);

    /* every truncation */
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) refused += rt_tok_record_read(rec, cut, &r, err, sizeof err) != 0;
    CHECK(refused == (int)len);
    /* one byte more */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, rec, len);
    longer[len] = 0;
    refuse(longer, len + 1, "bytes after the merges");
    free(longer);

    /* every byte changed: refused, or (a harmless change: a score, a text
     * byte) read back; never a crash or a leak (ASan) */
    unsigned char *bad = malloc(len);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(bad, rec, len);
            bad[i] ^= (unsigned char)(1u << bit);
            if (rt_tok_record_read(bad, len, &r, err, sizeof err) == 0) {
                CHECK(r.cfg.n_tokens == 6); /* the counts are checked exactly */
                rt_tokenizer *t = rt_tok_new(&r.cfg, err, sizeof err);
                rt_tok_free(t);
                rt_tok_record_free(&r);
            }
        }
    /* fields claiming more than the record holds */
    memcpy(bad, rec, len);
    bad[0] = 'X';
    refuse(bad, len, "no SMTK magic");
    memcpy(bad, rec, len);
    put32(bad + 4, 2);
    refuse(bad, len, "format 2");
    memcpy(bad, rec, len);
    put32(bad + 16, 0xFFFFFFFFu); /* n_tokens */
    refuse(bad, len, "corrupt");
    memcpy(bad, rec, len);
    put32(bad + 20, 0x7FFFFFFFu); /* n_merges */
    refuse(bad, len, "merges");
    memcpy(bad, rec, len);
    put32(bad + 48, 0xFFFFFFF0u); /* chat_len */
    refuse(bad, len, "chat template length");
    memcpy(bad, rec, len);
    put32(bad + 52 + sizeof chat - 1, 0xFFFFFFFFu); /* the first token's length */
    refuse(bad, len, "token texts");
    memcpy(bad, rec, len);
    put32(bad + 24, 6); /* bos = n_tokens */
    refuse(bad, len, "special token id");
    memcpy(bad, rec, len);
    put32(bad + 8, 7); /* model */
    refuse(bad, len, "tokenizer model");
    memcpy(bad, rec, len);
    put32(bad + 44, 64); /* an unknown flag */
    refuse(bad, len, "flags");
    refuse(rec, 0, "magic");
    free(bad);
    free(rec);

    /* a text too long for the layout is refused by the writer */
    rt_tok_str huge[1] = {{"x", (size_t)UINT32_MAX + 1}};
    rt_tok_config h;
    rt_tok_config_defaults(&h, RT_TOK_SPM, RT_PRE_NONE);
    h.n_tokens = 1;
    h.tokens = huge;
    CHECK(rt_tok_record_write(&h, NULL, 0, &rec, &len, err, sizeof err) != 0 && rec == NULL);
    CHECK_CONTAINS(err, "too long");
}

/* The fake model with `section` added to its manifest and rec (len bytes)
 * after its weights at `base`; run rt_model_tokenizer on it. */
static int model_tokenizer(const char *section, const unsigned char *rec, size_t len, uint64_t base,
                           rt_tokenizer **tok, char **chat, char *err, size_t errlen) {
    smelt_model_desc desc = fake_desc;
    size_t wlen = (size_t)base + len, mlen = strlen(fake_desc.manifest) + strlen(section) + 8;
    unsigned char *w = aligned_alloc(SMELT_WEIGHTS_ALIGN, (wlen + 63) / 64 * 64);
    char *man = malloc(mlen);
    memset(w, 0, wlen);
    memcpy(w, fake_desc.weights, fake_desc.weights_len);
    memcpy(w + base, rec, len);
    snprintf(man, mlen, "%.*s%s}", (int)strlen(fake_desc.manifest) - 1, fake_desc.manifest, section);
    desc.manifest = man;
    desc.manifest_len = strlen(man);
    desc.weights = w;
    desc.weights_len = wlen;
    smelt_model *m = NULL;
    int rc = smelt_load_desc(&desc, "fake", &m, err, errlen);
    CHECK(rc == 0);
    if (rc == 0) rc = rt_model_tokenizer(m, tok, chat, err, errlen);
    smelt_model_free(m);
    free(man);
    free(w);
    return rc;
}

static void test_model_section(void) {
    rt_tok_config c;
    small_config(&c);
    unsigned char *rec;
    size_t len;
    char err[512] = "", *chat = NULL, sec[256];
    const char tmpl[] = "<|im_start|>";
    CHECK(rt_tok_record_write(&c, tmpl, sizeof tmpl - 1, &rec, &len, err, sizeof err) == 0);
    uint64_t base = (fake_desc.weights_len + 63) / 64 * 64;
    rt_tokenizer *t = NULL;
    snprintf(sec, sizeof sec, ",\"tokenizer\":{\"format\":1,\"base\":%llu,\"bytes\":%zu}", (unsigned long long)base,
             len);
    CHECK(model_tokenizer(sec, rec, len, base, &t, &chat, err, sizeof err) == 0);
    int32_t ids[8];
    CHECK(t && rt_tokenize(t, "ab", 2, true, true, ids, 8) == 2 && ids[0] == 1 && ids[1] == 5);
    CHECK(chat && !strcmp(chat, tmpl));
    rt_tok_free(t);
    free(chat);
    /* none: 1, nothing built */
    CHECK(model_tokenizer("", rec, len, base, &t, &chat, err, sizeof err) == 1 && !t && !chat);
    /* bytes past the weights */
    snprintf(sec, sizeof sec, ",\"tokenizer\":{\"format\":1,\"base\":%llu,\"bytes\":%zu}", (unsigned long long)base,
             len + 1);
    CHECK(model_tokenizer(sec, rec, len, base, &t, &chat, err, sizeof err) == -1 && !t);
    CHECK_CONTAINS(err, "fake: the manifest's tokenizer section is malformed");
    snprintf(sec, sizeof sec, ",\"tokenizer\":{\"format\":1,\"base\":-64,\"bytes\":%zu}", len);
    CHECK(model_tokenizer(sec, rec, len, base, &t, &chat, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "malformed");
    snprintf(sec, sizeof sec, ",\"tokenizer\":{\"format\":2,\"base\":%llu,\"bytes\":%zu}", (unsigned long long)base,
             len);
    CHECK(model_tokenizer(sec, rec, len, base, &t, &chat, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "format 2");
    /* a record cut short by the manifest */
    snprintf(sec, sizeof sec, ",\"tokenizer\":{\"format\":1,\"base\":%llu,\"bytes\":%zu}", (unsigned long long)base,
             len - 3);
    CHECK(model_tokenizer(sec, rec, len, base, &t, &chat, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "fake: the tokenizer record is corrupt");
    free(rec);
}

int main(void) {
    round_trip("llama-spm", false, false);
    round_trip("qwen2", true, false);
    round_trip("phi-3", false, true);
    test_corrupt();
    test_model_section();
    return check_summary("tokenizer_blob");
}
