/* generate.h — LLM generation with a compiled model step (the GGUF
 * frontend's KV-cache form, gguf_import.h): the runtime keeps the KV cache
 * and the position; each call runs the same compiled graph on a batch of
 * tokens (the prompt at once, matrix-matrix; then one token at a time,
 * matrix-vector).
 *
 * The cache is one array per input cache_k.L / cache_v.L of n_ctx rows of
 * kv_heads * head floats. A step binds input L to its first `past` rows and
 * output k.L / v.L to the rows past .. past+n-1, so the graph writes the new
 * keys and values in place: nothing is copied between steps (another
 * executor's memory can hold them: rt_gen_set_memory), and a decode
 * step costs one pass over the weights plus attention over past+1 keys.
 */
#ifndef SMELT_RT_GENERATE_H
#define SMELT_RT_GENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/sampler.h"
#include "runtime/smelt.h"
#include "runtime/tokenizer.h"

typedef struct rt_gen rt_gen;

/* A generator over model m (which must have the KV-cache form's inputs and
 * outputs) with a context of n_ctx positions. */
int rt_gen_new(smelt_model *m, int threads, int64_t n_ctx, rt_gen **out, char *err, size_t err_size);
void rt_gen_free(rt_gen *g);
/* The session the steps run on (to attach another executor, such as
 * runtime/vulkan's, before the first step; free g before that executor). */
smelt_session *rt_gen_session(rt_gen *g);
/* Memory of another executor for the KV cache and the logits, so that its
 * device reads and writes them in place (runtime/vulkan's
 * rt_vk_host_alloc): alloc(ctx, bytes, host_reads) (host_reads: the
 * logits, which the sampler reads), release(ctx, p). Call before the first
 * step; the cache is emptied. */
typedef struct rt_gen_memory {
    void *ctx;
    void *(*alloc)(void *ctx, uint64_t bytes, bool host_reads);
    void (*release)(void *ctx, void *p);
} rt_gen_memory;
int rt_gen_set_memory(rt_gen *g, const rt_gen_memory *mem, char *err, size_t err_size);
/* Forget the cache (position 0). */
void rt_gen_reset(rt_gen *g);
int64_t rt_gen_pos(const rt_gen *g);
int64_t rt_gen_n_vocab(const rt_gen *g);
/* Run tokens[0..n) at the current position: *logits gets [n, vocab] with
 * all_rows, else the last token's [vocab] (valid until the next call; a
 * model with input logit_rows computes only the rows asked for); the
 * position advances by n. */
int rt_gen_eval(rt_gen *g, const int32_t *tokens, int64_t n, bool all_rows, const float **logits, char *err,
                size_t err_size);

typedef struct rt_gen_stats {
    int64_t n_prompt, n_gen, n_decode; /* n_decode: steps run after the prefill */
    double prompt_ms, gen_ms;   /* prefill; the decode steps after it */
} rt_gen_stats;

/* Called with each generated token and its text. Non-zero stops. */
typedef int (*rt_gen_emit)(void *ctx, int32_t token, const char *piece, size_t len);

/* Prefill prompt[0..n_prompt), then sample up to n_predict tokens (stopping
 * at an end-of-generation token of tok, not emitted), each run as a decode
 * step. out (n_predict entries, or NULL) gets the tokens. */
int rt_generate(rt_gen *g, const rt_tokenizer *tok, const int32_t *prompt, int64_t n_prompt,
                const rt_sampler_params *sp, int64_t n_predict, rt_gen_emit emit, void *ctx, int32_t *out,
                rt_gen_stats *st, char *err, size_t err_size);

#endif
