/* tokenizer_split.c — rt_tokenize: cut the special tokens out of the text
 * (longest first, as llama.cpp's tokenizer_st_partition), run the model on
 * each raw fragment in between, and add BOS/EOS.
 *
 * User-defined tokens are always cut out; control and unknown tokens only
 * when parse_special is set. SPM puts a space before the first fragment and
 * before each fragment that follows a special token (add_space_prefix);
 * SPM and Gemma 4 show spaces as U+2581 before the model sees them. */
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer_impl.h"

typedef struct frag {
    size_t off, len;
    int32_t id;          /* a special token, or -1 for raw text */
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
    bool oom;
} frags;

static void frags_push(frags *f, size_t off, size_t len, int32_t id) {
    if (f->oom) return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        frag *v = realloc(f->v, cap * sizeof *v);
        if (!v) {
            f->oom = true;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (frag){off, len, id};
}

static bool is_ws(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Replace each raw fragment of in by the pieces around the occurrences of
 * special token id, into out. */
static void cut_token(const rt_tokenizer *t, const char *text, int32_t id, const frags *in, frags *out) {
    const char *tok = t->pool + t->off[id];
    size_t tl = t->len[id];
    for (size_t i = 0; i < in->n; i++) {
        frag f = in->v[i];
        if (f.id >= 0 || f.len < tl) {
            frags_push(out, f.off, f.len, f.id);
            continue;
        }
        size_t pos = f.off, end = f.off + f.len;
        for (;;) {
            const char *m = memmem(text + pos, end - pos, tok, tl);
            if (!m) break;
            size_t at = (size_t)(m - text), left_end = at, right = at + tl;
            if (t->attr[id] & RT_TOKA_LSTRIP)
                while (left_end > pos && is_ws(text[left_end - 1])) left_end--;
            if (left_end > pos) frags_push(out, pos, left_end - pos, -1);
            frags_push(out, at, tl, id);
            if (t->attr[id] & RT_TOKA_RSTRIP)
                while (right < end && is_ws(text[right])) right++;
            pos = right;
        }
        if (pos < end) frags_push(out, pos, end - pos, -1);
    }
}

/* text with ' ' as U+2581, and a leading one when prefix */
static char *escape_spaces(const char *s, size_t n, bool prefix, size_t *out_len) {
    size_t spaces = prefix;
    for (size_t i = 0; i < n; i++) spaces += s[i] == ' ';
    char *buf = malloc(n + 2 * spaces + 1);
    if (!buf) return NULL;
    size_t m = 0;
    if (prefix) {
        memcpy(buf, "\xE2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            memcpy(buf + m, "\xE2\x96\x81", 3);
            m += 3;
        } else {
            buf[m++] = s[i];
        }
    }
    *out_len = m;
    return buf;
}

static void encode_raw(const rt_tokenizer *t, const char *s, size_t n, bool prefix, tok_ids *out) {
    if (!t->escape_spaces) {
        tok_bpe_encode(t, s, n, out);
        return;
    }
    size_t m;
    char *esc = escape_spaces(s, n, prefix, &m);
    if (!esc) {
        out->oom = true;
        return;
    }
    if (t->model == RT_TOK_SPM) tok_spm_encode(t, esc, m, out);
    else tok_bpe_encode(t, esc, m, out);
    free(esc);
}

long rt_tokenize(const rt_tokenizer *t, const char *text, size_t len, bool add_special,
                 bool parse_special, int32_t *out, size_t cap) {
    frags a = {0}, b = {0};
    tok_ids ids = {0};
    if (len) frags_push(&a, 0, len, -1);
    for (uint32_t s = 0; s < t->n_special && !a.oom; s++) {
        int32_t id = t->special[s];
        uint8_t ty = t->type[id];
        if (!parse_special && (ty == RT_TOKT_CONTROL || ty == RT_TOKT_UNKNOWN)) continue;
        b.n = 0;
        cut_token(t, text, id, &a, &b);
        frags tmp = a;
        a = b;
        b = tmp;
        if (b.oom) a.oom = true;
    }
    if (add_special && t->add_bos && t->bos >= 0) tok_ids_push(&ids, t->bos);
    bool prev_special = true;
    for (size_t i = 0; i < a.n; i++) {
        if (a.v[i].id >= 0) {
            tok_ids_push(&ids, a.v[i].id);
            prev_special = true;
            continue;
        }
        bool prefix = t->model == RT_TOK_SPM && t->add_space_prefix && prev_special;
        encode_raw(t, text + a.v[i].off, a.v[i].len, prefix, &ids);
        prev_special = false;
    }
    if (add_special && t->add_eos && t->eos >= 0) tok_ids_push(&ids, t->eos);
    long n = a.oom || ids.oom ? -1 : (long)ids.n;
    if (n > 0 && cap) memcpy(out, ids.v, ((size_t)n < cap ? (size_t)n : cap) * sizeof *out);
    free(a.v);
    free(b.v);
    free(ids.v);
    return n;
}
