/* tokenizer_bpe.c — the BPE models: byte-level BPE (GGUF "gpt2": the words
 * of the pre-tokenizer, each byte shown as GPT-2's printable code point) and
 * Gemma 4's BPE (raw UTF-8 with U+2581 for spaces, split only at newlines,
 * byte fallback to <0xXX>). Within a word, pairs merge in merge-rank order. */
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer_impl.h"

static bool bpe_pair(const rt_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                     double *priority) {
    int32_t rank = rt_strmap_get_pair(&t->merges, a, alen, b, blen);
    if (rank < 0) return false;
    *priority = -(double)rank;
    return true;
}

static void bpe_emit(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    int32_t id = tok_lookup(t, s, n);
    if (id >= 0) {
        tok_ids_push(out, id);
        return;
    }
    /* as llama.cpp: byte-level vocabularies try each byte of the symbol as a
     * one-byte token, Gemma 4 its <0xXX> token; bytes without one are lost */
    for (size_t i = 0; i < n; i++) {
        int32_t b = t->model == RT_TOK_GEMMA4 ? t->byte_tok[(unsigned char)s[i]] : tok_lookup(t, s + i, 1);
        if (b >= 0) tok_ids_push(out, b);
    }
}

static void bpe_word(const rt_tokenizer *t, const char *w, size_t n, tok_ids *out) {
    if (t->ignore_merges) {
        int32_t id = tok_lookup(t, w, n);
        if (id >= 0) {
            tok_ids_push(out, id);
            return;
        }
    }
    if (tok_merge(t, w, n, bpe_pair, bpe_emit, out)) out->oom = true;
}

/* Gemma 4: runs of newlines and runs of anything else; a run of newlines
 * that is a token is taken whole. */
static void gemma4_encode(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    for (size_t i = 0; i < n;) {
        bool nl = s[i] == '\n';
        size_t j = i + 1;
        while (j < n && (s[j] == '\n') == nl) j++;
        int32_t id = nl ? tok_lookup(t, s + i, j - i) : -1;
        if (id >= 0) tok_ids_push(out, id);
        else bpe_word(t, s + i, j - i, out);
        i = j;
    }
}

void tok_bpe_encode(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    if (t->model == RT_TOK_GEMMA4) {
        gemma4_encode(t, s, n, out);
        return;
    }
    tok_spans words = {0};
    tok_pre_split(t->pre, s, n, &words);
    char *buf = malloc(2 * n + 1);  /* byte-level text: at most 2 bytes a byte */
    if (words.oom || !buf) {
        out->oom = true;
        goto done;
    }
    for (size_t w = 0; w < words.n; w++) {
        size_t m = 0;
        for (size_t i = 0; i < words.v[w].len; i++) {
            unsigned char b = (unsigned char)s[words.v[w].off + i];
            memcpy(buf + m, t->byte_enc[b], t->byte_enc_len[b]);
            m += t->byte_enc_len[b];
        }
        bpe_word(t, buf, m, out);
    }
done:
    free(buf);
    free(words.v);
}
