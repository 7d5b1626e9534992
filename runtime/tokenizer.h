/* tokenizer.h — the LLM tokenizers of the runtime: text to token ids and
 * back, as llama.cpp does it for the vocabularies smelt supports.
 *
 *  - SentencePiece-style (GGUF tokenizer.ggml.model = "llama": Llama 2,
 *    Mistral, TinyLlama, Gemma 3, Phi-3): spaces shown as U+2581, an optional
 *    leading space, merges of the best-scoring adjacent pair, and byte
 *    fallback to <0xXX> tokens.
 *  - Byte-level BPE (model "gpt2": Llama 3, Qwen 2/3, SmolLM, GPT-2): the
 *    text is split into words by the pre-tokenizer regex of the model
 *    (tokenizer.ggml.pre, implemented as hand-written matchers, no regex
 *    engine), each byte shown as a printable code point, then merged in
 *    merge-rank order.
 *  - Gemma 4's BPE (model "gemma4"): SentencePiece-style text (U+2581 for
 *    spaces, <0xXX> byte fallback), split only at newlines, merged by rank.
 *
 * Special tokens (control, user-defined, unknown) are cut out of the text
 * before the model runs: user-defined ones always, control ones only when
 * parse_special is set. BOS/EOS are added when add_special is set and the
 * vocabulary asks for them.
 *
 * The tokenizer is built from plain arrays (no GGUF here: compiled artifacts
 * carry their vocabulary; frontend/gguf/gguf_vocab.c fills the arrays from a
 * GGUF file). It copies what it needs, is immutable once built, and may be
 * used from several threads at once.
 */
#ifndef SMELT_RT_TOKENIZER_H
#define SMELT_RT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rt_tok_model {
    RT_TOK_SPM,      /* "llama" */
    RT_TOK_BPE,      /* "gpt2" */
    RT_TOK_GEMMA4,   /* "gemma4" */
} rt_tok_model;

/* Pre-tokenizer splits of byte-level BPE (tokenizer.ggml.pre). */
typedef enum rt_tok_pre {
    RT_PRE_NONE,       /* SPM and Gemma 4 (which splits at newlines only) */
    RT_PRE_GPT2,       /* gpt-2, mpt, phi-2, olmo, ... */
    RT_PRE_LLAMA3,     /* llama-bpe, llama3, ... (also skips merges for whole-word tokens) */
    RT_PRE_QWEN2,      /* qwen2, stablelm2, ... (Llama 3's regex with single digits) */
    RT_PRE_QWEN35,     /* qwen35 (Qwen 2's regex with marks joined to letters) */
    RT_PRE_STARCODER,  /* starcoder, smollm, refact, command-r: digits apart, then GPT-2 */
} rt_tok_pre;

/* GGUF token types (tokenizer.ggml.token_type). */
enum {
    RT_TOKT_NORMAL = 1, RT_TOKT_UNKNOWN = 2, RT_TOKT_CONTROL = 3,
    RT_TOKT_USER_DEFINED = 4, RT_TOKT_UNUSED = 5, RT_TOKT_BYTE = 6
};
/* Per-token attributes not in GGUF (rt_tok_config.attrs): strip spaces on
 * the left / right of a special token found in text (Phi-3's tokens). */
enum { RT_TOKA_LSTRIP = 1, RT_TOKA_RSTRIP = 2 };

typedef struct rt_tok_str {
    const char *ptr;
    size_t len;
} rt_tok_str;

typedef struct rt_tok_config {
    rt_tok_model model;
    rt_tok_pre pre;
    uint32_t n_tokens;
    const rt_tok_str *tokens;  /* n_tokens */
    const float *scores;       /* n_tokens, or NULL (SPM needs them) */
    const int32_t *types;      /* n_tokens RT_TOKT_*, or NULL: all normal */
    const uint8_t *attrs;      /* n_tokens RT_TOKA_*, or NULL */
    uint32_t n_merges;         /* BPE: "left right", best first */
    const rt_tok_str *merges;
    int32_t bos, eos, unk, pad, eot;  /* -1 when the vocabulary has none */
    bool add_bos, add_eos;
    bool add_space_prefix;     /* SPM: a space before the text (and after each special token) */
} rt_tok_config;

typedef struct rt_tokenizer rt_tokenizer;

/* Defaults of a model kind as llama.cpp sets them before the GGUF's own
 * keys: ids -1, SPM adds BOS and a space prefix, Llama 3 and Gemma 4 add BOS. */
void rt_tok_config_defaults(rt_tok_config *c, rt_tok_model model, rt_tok_pre pre);
/* The model kind of a tokenizer.ggml.model value, the pre kind of a
 * tokenizer.ggml.pre value. -1 when not supported. */
int rt_tok_model_from_name(const char *name, size_t len);
int rt_tok_pre_from_name(const char *name, size_t len);

/* Build; NULL with a message in err on an inconsistent configuration (an id
 * out of range, SPM without scores, BPE without merges, out of memory). */
rt_tokenizer *rt_tok_new(const rt_tok_config *c, char *err, size_t errlen);
void rt_tok_free(rt_tokenizer *t);

/* Tokenize text[0..len). Writes at most cap ids into out and returns how
 * many the text has (call again with a bigger buffer when that is more
 * than cap); -1 only when out of memory. */
long rt_tokenize(const rt_tokenizer *t, const char *text, size_t len, bool add_special,
                 bool parse_special, int32_t *out, size_t cap);

/* The text of one token as it appears in decoded output (control and
 * unknown tokens are empty unless special). Writes at most cap bytes and
 * returns the full length (0 for an id out of range). */
size_t rt_tok_piece(const rt_tokenizer *t, int32_t id, bool special, char *buf, size_t cap);
/* Decode ids to text: the pieces in order, the space prefix of SPM removed
 * from the first one; remove_special drops a leading BOS / trailing EOS that
 * the vocabulary adds. Writes at most cap bytes, returns the full length. */
size_t rt_detokenize(const rt_tokenizer *t, const int32_t *ids, size_t n, bool remove_special,
                     bool unparse_special, char *buf, size_t cap);

uint32_t rt_tok_n_vocab(const rt_tokenizer *t);
int32_t rt_tok_bos(const rt_tokenizer *t);
int32_t rt_tok_eos(const rt_tokenizer *t);
/* End of generation: EOS, EOT and the tokens llama.cpp also ends on by their
 * text (<|endoftext|>, <|eom_id|>, </s>, ...; tokenizer.c find_eog). */
bool rt_tok_is_eog(const rt_tokenizer *t, int32_t id);
/* The stored text of a token (NULL for an id out of range). */
const char *rt_tok_text(const rt_tokenizer *t, int32_t id, size_t *len);
/* The id whose text is exactly s, or -1. */
int32_t rt_tok_find(const rt_tokenizer *t, const char *s, size_t len);

#endif
