/* tokenizer_impl.h — what the tokenizer's files share (tokenizer.c builds,
 * tokenizer_split.c cuts special tokens and dispatches, tokenizer_pre.c
 * splits words, tokenizer_merge.c merges symbols, tokenizer_spm.c and
 * tokenizer_bpe.c are the two models, tokenizer_detok.c decodes). Not a
 * public header. */
#ifndef SMELT_RT_TOKENIZER_IMPL_H
#define SMELT_RT_TOKENIZER_IMPL_H

#include "runtime/strmap.h"
#include "runtime/tokenizer.h"

struct rt_tokenizer {
    rt_tok_model model;
    rt_tok_pre pre;
    uint32_t n;
    char *pool;              /* token texts, each NUL-terminated */
    size_t *off;             /* n: start of token i in pool */
    uint32_t *len;           /* n */
    float *score;            /* n */
    uint8_t *type;           /* n: RT_TOKT_* */
    uint8_t *attr;           /* n: RT_TOKA_* */
    rt_strmap vocab;         /* text -> id (the last of equal texts) */
    rt_strmap merges;        /* "left\xFFright" -> rank (the first of equal pairs) */
    int32_t *special;        /* ids cut out of text before the model, longest first */
    uint32_t n_special;
    int32_t byte_tok[256];   /* byte fallback token of each byte, or -1 */
    char byte_enc[256][3];   /* GPT-2 byte-level code point of each byte, UTF-8 */
    uint8_t byte_enc_len[256];
    int32_t bos, eos, unk, pad, eot;
    int32_t eog[16]; /* end-of-generation ids (find_eog: EOS, EOT and 13 names) */
    int n_eog;
    bool add_bos, add_eos, add_space_prefix;
    bool escape_spaces;      /* SPM and Gemma 4: ' ' is U+2581 in the vocabulary */
    bool ignore_merges;      /* Llama 3: a word that is a token is not merged */
};

/* A growable array of ids; oom is set (and pushes ignored) when realloc fails. */
typedef struct tok_ids {
    int32_t *v;
    size_t n, cap;
    bool oom;
} tok_ids;
void tok_ids_push(tok_ids *o, int32_t id);

/* A growable array of byte spans. */
typedef struct tok_span {
    size_t off, len;
} tok_span;
typedef struct tok_spans {
    tok_span *v;
    size_t n, cap;
    bool oom;
} tok_spans;
void tok_spans_push(tok_spans *s, size_t off, size_t len);

/* The words of s[0..n) under pre-tokenizer pre, appended to out. */
void tok_pre_split(rt_tok_pre pre, const char *s, size_t n, tok_spans *out);

/* Run the model on one fragment of raw text (no special tokens in it). */
void tok_spm_encode(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out);
void tok_bpe_encode(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out);

/* The merge loop both models share: symbols are the UTF-8 characters of
 * s[0..n); the adjacent pair with the highest priority merges first (ties:
 * the leftmost), until no pair is mergeable. pair() says whether symbols
 * a and b may merge and with which priority. Calls emit() for each final
 * symbol, in order. Returns -1 when out of memory. */
typedef bool (*tok_pair_fn)(const rt_tokenizer *t, const char *a, size_t alen, const char *b,
                            size_t blen, double *priority);
typedef void (*tok_emit_fn)(const rt_tokenizer *t, const char *sym, size_t len, tok_ids *out);
int tok_merge(const rt_tokenizer *t, const char *s, size_t n, tok_pair_fn pair, tok_emit_fn emit,
              tok_ids *out);

static inline int32_t tok_lookup(const rt_tokenizer *t, const char *s, size_t n) {
    return rt_strmap_get(&t->vocab, s, n);
}

#endif
