/* tokenizer_spm.c — the SentencePiece-style model (GGUF "llama"): merge the
 * adjacent pair whose concatenation is the best-scoring token, then emit each
 * symbol as its token or, when it is none, as byte-fallback tokens <0xXX>.
 * The text arrives with spaces already shown as U+2581 (tokenizer_split.c). */
#include "runtime/tokenizer_impl.h"

static bool spm_pair(const rt_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                     double *priority) {
    (void)b;  /* b follows a in the text */
    int32_t id = tok_lookup(t, a, alen + blen);
    if (id < 0) return false;
    *priority = t->score[id];
    return true;
}

static void spm_emit(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    int32_t id = tok_lookup(t, s, n);
    if (id >= 0) {
        tok_ids_push(out, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t b = t->byte_tok[(unsigned char)s[i]];
        if (b < 0) b = t->unk;
        if (b >= 0) tok_ids_push(out, b);
    }
}

void tok_spm_encode(const rt_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    if (tok_merge(t, s, n, spm_pair, spm_emit, out)) out->oom = true;
}
