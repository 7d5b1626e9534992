/* gguf_vocab.h — the tokenizer of a GGUF file: reads the tokenizer.ggml.*
 * keys (model, pre, tokens, scores, token_type, merges, special token ids,
 * add_bos/add_eos/add_space_prefix) and tokenizer.chat_template into the
 * arrays runtime/tokenizer.h builds from, with llama.cpp's defaults for
 * keys that are absent. Token and merge texts point into the file's mapping:
 * build the tokenizer (rt_tok_new copies them) before gguf_close.
 */
#ifndef SMELT_GGUF_VOCAB_H
#define SMELT_GGUF_VOCAB_H

#include "frontend/gguf/gguf.h"
#include "runtime/tokenizer.h"

typedef struct gguf_vocab {
    rt_tok_config cfg;      /* arrays below, ready for rt_tok_new */
    rt_tok_str *tokens;
    rt_tok_str *merges;
    float *scores;
    int32_t *types;
    uint8_t *attrs;
    gguf_str chat_template; /* tokenizer.chat_template, len 0 when absent */
} gguf_vocab;

/* 0, or -1 with an error naming the file and the key (a missing or
 * mistyped key, an array shorter than the token list, a model or
 * pre-tokenizer smelt does not support). */
int gguf_vocab_read(const gguf_file *f, gguf_vocab *v, diag *d);
void gguf_vocab_free(gguf_vocab *v);

#endif
