/* tokenizer_blob.c — writes and reads the tokenizer record of a compiled
 * LLM artifact (layout in tokenizer_blob.h), and builds the tokenizer of a
 * loaded artifact from its "tokenizer" section. The reader trusts nothing:
 * every count is checked against the bytes left before an array is
 * allocated, every length before a text is taken. */
#include "runtime/tokenizer_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_model.h"

static const char MAGIC[4] = {'S', 'M', 'T', 'K'};
enum {
    F_ADD_BOS = 1, F_ADD_EOS = 2, F_SPACE_PREFIX = 4, F_SCORES = 8, F_TYPES = 16, F_ATTRS = 32,
    F_ALL = 63
};
#define HEADER_BYTES 52 /* magic .. chat_len */

/* ---- writing ---- */

typedef struct wbuf {
    unsigned char *p;
    size_t n;
} wbuf;

static void put_u32(wbuf *w, uint32_t v) {
    for (int i = 0; i < 4; i++) w->p[w->n++] = (unsigned char)(v >> (8 * i));
}

static void put_bytes(wbuf *w, const void *s, size_t n) {
    if (n) memcpy(w->p + w->n, s, n);
    w->n += n;
}

/* Bytes of a list of (u32 len, text); SIZE_MAX when a text is too long. */
static size_t strs_bytes(const rt_tok_str *s, uint32_t n) {
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s[i].len > UINT32_MAX || total > SIZE_MAX / 2 - s[i].len) return SIZE_MAX;
        total += 4 + s[i].len;
    }
    return total;
}

static void put_strs(wbuf *w, const rt_tok_str *s, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        put_u32(w, (uint32_t)s[i].len);
        put_bytes(w, s[i].ptr, s[i].len);
    }
}

int rt_tok_record_write(const rt_tok_config *c, const char *chat, size_t chat_len, unsigned char **out,
                        size_t *out_len, char *err, size_t errlen) {
    *out = NULL;
    *out_len = 0;
    size_t tb = strs_bytes(c->tokens, c->n_tokens), mb = strs_bytes(c->merges, c->n_merges);
    if (tb == SIZE_MAX || mb == SIZE_MAX || chat_len > UINT32_MAX) {
        snprintf(err, errlen, "tokenizer: a token, merge or chat template is too long for the record");
        return -1;
    }
    size_t n = c->n_tokens;
    size_t total = HEADER_BYTES + chat_len + tb + mb + (c->scores ? 4 * n : 0) + (c->types ? 4 * n : 0) +
                   (c->attrs ? n : 0);
    wbuf w = {malloc(total), 0};
    if (!w.p) {
        snprintf(err, errlen, "tokenizer: out of memory (%zu bytes)", total);
        return -1;
    }
    uint32_t flags = (c->add_bos ? F_ADD_BOS : 0) | (c->add_eos ? F_ADD_EOS : 0) |
                     (c->add_space_prefix ? F_SPACE_PREFIX : 0) | (c->scores ? F_SCORES : 0) |
                     (c->types ? F_TYPES : 0) | (c->attrs ? F_ATTRS : 0);
    put_bytes(&w, MAGIC, 4);
    put_u32(&w, RT_TOK_RECORD_FORMAT);
    put_u32(&w, (uint32_t)c->model);
    put_u32(&w, (uint32_t)c->pre);
    put_u32(&w, c->n_tokens);
    put_u32(&w, c->n_merges);
    const int32_t ids[5] = {c->bos, c->eos, c->unk, c->pad, c->eot};
    for (int i = 0; i < 5; i++) put_u32(&w, (uint32_t)ids[i]);
    put_u32(&w, flags);
    put_u32(&w, (uint32_t)chat_len);
    put_bytes(&w, chat, chat_len);
    put_strs(&w, c->tokens, c->n_tokens);
    for (uint32_t i = 0; c->scores && i < c->n_tokens; i++) {
        uint32_t bits;
        memcpy(&bits, &c->scores[i], 4);
        put_u32(&w, bits);
    }
    for (uint32_t i = 0; c->types && i < c->n_tokens; i++) put_u32(&w, (uint32_t)c->types[i]);
    if (c->attrs) put_bytes(&w, c->attrs, n);
    put_strs(&w, c->merges, c->n_merges);
    *out = w.p;
    *out_len = w.n;
    return 0;
}

/* ---- reading ---- */

typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    char *err;
    size_t errlen;
} rbuf;

static int bad(rbuf *r, const char *what) {
    snprintf(r->err, r->errlen, "the tokenizer record is corrupt: %s (at byte %zu of %zu)", what, r->at, r->n);
    return -1;
}

static size_t left(const rbuf *r) { return r->n - r->at; }

static int get_u32(rbuf *r, uint32_t *v, const char *what) {
    if (left(r) < 4) return bad(r, what);
    const unsigned char *p = r->p + r->at;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->at += 4;
    return 0;
}

/* n (u32 len, text) pairs into a new array; n was checked against the
 * bytes left (each pair takes at least 4). */
static int get_strs(rbuf *r, uint32_t n, rt_tok_str **out, const char *what) {
    *out = NULL;
    if (n > left(r) / 4) return bad(r, what);
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out) return bad(r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        if (get_u32(r, &len, what) || len > left(r)) return bad(r, what);
        (*out)[i] = (rt_tok_str){(const char *)r->p + r->at, len};
        r->at += len;
    }
    return 0;
}

/* An array of n 4-byte values (f32 or i32: the bits as stored) into a new
 * array of that type. */
static int get_words(rbuf *r, uint32_t n, void **out, const char *what) {
    *out = NULL;
    if (n > left(r) / 4) return bad(r, what);
    unsigned char *a = malloc(n ? 4 * (size_t)n : 1);
    if (!(*out = a)) return bad(r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = 0;
        get_u32(r, &v, what);
        memcpy(a + 4 * (size_t)i, &v, 4);
    }
    return 0;
}

static int read_body(rbuf *r, rt_tok_record *t) {
    rt_tok_config *c = &t->cfg;
    uint32_t version, model, pre, n, n_merges, ids[5], flags, chat_len;
    if (left(r) < 4 || memcmp(r->p, MAGIC, 4)) return bad(r, "no SMTK magic");
    r->at = 4;
    if (get_u32(r, &version, "header") || version != RT_TOK_RECORD_FORMAT) {
        snprintf(r->err, r->errlen, "the tokenizer record has format %u; this runtime reads format %d", version,
                 RT_TOK_RECORD_FORMAT);
        return -1;
    }
    if (get_u32(r, &model, "header") || get_u32(r, &pre, "header") || get_u32(r, &n, "header") ||
        get_u32(r, &n_merges, "header"))
        return -1;
    for (int i = 0; i < 5; i++)
        if (get_u32(r, &ids[i], "header")) return -1;
    if (get_u32(r, &flags, "header") || get_u32(r, &chat_len, "header")) return -1;
    if (model > RT_TOK_GEMMA4) return bad(r, "unknown tokenizer model");
    if (pre > RT_PRE_STARCODER) return bad(r, "unknown pre-tokenizer");
    if (flags & ~(uint32_t)F_ALL) return bad(r, "unknown flags");
    if (n == 0) return bad(r, "no tokens");
    for (int i = 0; i < 5; i++)
        if ((int32_t)ids[i] < -1 || (int32_t)ids[i] >= (int64_t)n) return bad(r, "a special token id out of range");
    rt_tok_config_defaults(c, (rt_tok_model)model, (rt_tok_pre)pre);
    c->n_tokens = n;
    c->bos = (int32_t)ids[0], c->eos = (int32_t)ids[1], c->unk = (int32_t)ids[2];
    c->pad = (int32_t)ids[3], c->eot = (int32_t)ids[4];
    c->add_bos = flags & F_ADD_BOS, c->add_eos = flags & F_ADD_EOS;
    c->add_space_prefix = flags & F_SPACE_PREFIX;
    if (chat_len > left(r)) return bad(r, "chat template length");
    t->chat_template = (const char *)r->p + r->at;
    t->chat_len = chat_len;
    r->at += chat_len;
    if (get_strs(r, n, &t->tokens, "token texts")) return -1;
    c->tokens = t->tokens;
    void *words = NULL;
    if (flags & F_SCORES) {
        int bad_scores = get_words(r, n, &words, "scores");
        c->scores = t->scores = words;
        if (bad_scores) return -1;
    }
    if (flags & F_TYPES) {
        int bad_types = get_words(r, n, &words, "token types");
        c->types = t->types = words;
        if (bad_types) return -1;
    }
    if (flags & F_ATTRS) {
        if (n > left(r)) return bad(r, "token attributes");
        if (!(t->attrs = malloc(n))) return bad(r, "out of memory");
        memcpy(t->attrs, r->p + r->at, n);
        r->at += n;
        c->attrs = t->attrs;
    }
    if (get_strs(r, n_merges, &t->merges, "merges")) return -1;
    c->merges = t->merges;
    c->n_merges = n_merges;
    if (left(r)) return bad(r, "bytes after the merges");
    return 0;
}

int rt_tok_record_read(const unsigned char *data, size_t len, rt_tok_record *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    rbuf r = {data, len, 0, err, errlen};
    if (read_body(&r, t) == 0) return 0;
    rt_tok_record_free(t);
    return -1;
}

void rt_tok_record_free(rt_tok_record *t) {
    free(t->tokens);
    free(t->merges);
    free(t->scores);
    free(t->types);
    free(t->attrs);
    memset(t, 0, sizeof *t);
}

int rt_tok_from_record(const unsigned char *data, size_t len, rt_tokenizer **tok, char **chat, char *err,
                       size_t errlen) {
    *tok = NULL;
    *chat = NULL;
    rt_tok_record rec;
    if (rt_tok_record_read(data, len, &rec, err, errlen)) return -1;
    char why[400];
    *tok = rt_tok_new(&rec.cfg, why, sizeof why);
    if (!*tok) snprintf(err, errlen, "the tokenizer record: %s", why);
    if (*tok && rec.chat_len) {
        if ((*chat = malloc(rec.chat_len + 1))) {
            memcpy(*chat, rec.chat_template, rec.chat_len);
            (*chat)[rec.chat_len] = 0;
        } else {
            snprintf(err, errlen, "out of memory");
            rt_tok_free(*tok);
            *tok = NULL;
        }
    }
    rt_tok_record_free(&rec);
    return *tok ? 0 : -1;
}

int rt_model_tokenizer(const smelt_model *m, rt_tokenizer **tok, char **chat, char *err, size_t errlen) {
    *tok = NULL;
    *chat = NULL;
    int64_t format;
    const unsigned char *data;
    uint64_t len;
    int rc = rt_model_section(m, "tokenizer", &format, &data, &len, err, errlen);
    if (rc) return rc;
    char why[512];
    if (format != RT_TOK_RECORD_FORMAT)
        snprintf(why, sizeof why, "the tokenizer section has format %lld; this runtime reads format %d",
                 (long long)format, RT_TOK_RECORD_FORMAT);
    else if (rt_tok_from_record(data, (size_t)len, tok, chat, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", m->name, why);
    return -1;
}
