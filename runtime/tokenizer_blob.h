/* tokenizer_blob.h — the tokenizer record a compiled LLM artifact carries
 * (the manifest's "tokenizer" section, docs/artifact.md): everything
 * rt_tok_new needs (runtime/tokenizer.h) plus the chat template text, in a
 * versioned little-endian layout, so that `smelt run model.so --prompt`
 * runs without the GGUF file it was compiled from.
 *
 * Layout (format 1; u32/i32/f32 little-endian, no padding):
 *   "SMTK"  u32 version (1)
 *   u32 model (rt_tok_model)  u32 pre (rt_tok_pre)
 *   u32 n_tokens  u32 n_merges
 *   i32 bos, eos, unk, pad, eot  (-1: none)
 *   u32 flags: 1 add_bos, 2 add_eos, 4 add_space_prefix,
 *              8 scores, 16 types, 32 attrs follow
 *   u32 chat_len, chat template bytes
 *   n_tokens x (u32 len, bytes)         token texts
 *   [n_tokens x f32]  [n_tokens x i32]  [n_tokens x u8]   (per the flags)
 *   n_merges x (u32 len, bytes)         merges, "left right", best first
 * The record ends exactly there. Reading checks every count and length
 * against the bytes left before allocating, so a corrupt record gives an
 * error, never a crash or an allocation larger than the record implies.
 */
#ifndef SMELT_RT_TOKENIZER_BLOB_H
#define SMELT_RT_TOKENIZER_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/smelt.h"
#include "runtime/tokenizer.h"

#define RT_TOK_RECORD_FORMAT 1

/* A record read back: cfg's arrays are the fields below; token, merge and
 * template texts point into the record's bytes (keep them while used). */
typedef struct rt_tok_record {
    rt_tok_config cfg;
    rt_tok_str *tokens, *merges;
    float *scores;
    int32_t *types;
    uint8_t *attrs;
    const char *chat_template; /* chat_len bytes, not NUL-terminated */
    size_t chat_len;
} rt_tok_record;

/* Serialize c and the chat template (chat_len 0: none) into a malloc'd
 * record. -1 with a message in err when a text or count does not fit the
 * layout, or out of memory. */
int rt_tok_record_write(const rt_tok_config *c, const char *chat, size_t chat_len, unsigned char **out,
                        size_t *out_len, char *err, size_t errlen);
/* Parse a record of len bytes; -1 with the reason in err. */
int rt_tok_record_read(const unsigned char *data, size_t len, rt_tok_record *r, char *err, size_t errlen);
void rt_tok_record_free(rt_tok_record *r);

/* Read a record and build its tokenizer: 0 with *tok and *chat (a
 * malloc'd NUL-terminated copy of the chat template, NULL when it has
 * none); -1 with the reason in err. */
int rt_tok_from_record(const unsigned char *data, size_t len, rt_tokenizer **tok, char **chat, char *err,
                       size_t errlen);
/* The tokenizer a loaded artifact carries (its manifest's "tokenizer"
 * section): 0 with *tok built and *chat a malloc'd NUL-terminated copy of
 * the chat template (NULL when it has none); 1 when the artifact carries
 * no tokenizer; -1 with a message naming the artifact in err. */
int rt_model_tokenizer(const smelt_model *m, rt_tokenizer **tok, char **chat, char *err, size_t errlen);

#endif
