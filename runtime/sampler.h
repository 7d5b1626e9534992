/* sampler.h — choosing the next token from a row of logits, as llama.cpp's
 * default sampler chain does: repeat penalty over the last tokens, then
 * top-k, top-p and min-p truncation (on probabilities at temperature 1),
 * then the temperature and a draw from a seeded generator; temperature <= 0
 * is greedy (the highest logit after the penalty, lowest id on ties). The
 * generator is splitmix64: the same seed gives the same choices on every
 * machine (not llama.cpp's mt19937 draws).
 */
#ifndef SMELT_RT_SAMPLER_H
#define SMELT_RT_SAMPLER_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rt_sampler_params {
    float temp;            /* <= 0: greedy */
    int32_t top_k;         /* <= 0: all */
    float top_p;           /* >= 1: off */
    float min_p;           /* <= 0: off */
    float repeat_penalty;  /* 1: off */
    int32_t repeat_last_n; /* tokens the penalty looks back over */
    uint64_t seed;
} rt_sampler_params;

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05, repeat
 * penalty 1 (off) over 64 tokens, seed 0. */
void rt_sampler_defaults(rt_sampler_params *p);

typedef struct rt_candidate {
    int32_t id;
    float logit;
    float p;
} rt_candidate;

typedef struct rt_sampler {
    rt_sampler_params prm;
    uint64_t rng;
    rt_candidate *cand;    /* n_vocab */
    int32_t n_vocab;
} rt_sampler;

int rt_sampler_init(rt_sampler *s, const rt_sampler_params *p, int32_t n_vocab);
void rt_sampler_free(rt_sampler *s);

/* The candidates left after the penalty and truncations, sorted by logit
 * (highest first), with probabilities at the sampling temperature: fills
 * s->cand and returns their count. history: the tokens so far. */
int32_t rt_sampler_candidates(rt_sampler *s, const float *logits, const int32_t *history, size_t n_history);
/* The next token. */
int32_t rt_sampler_sample(rt_sampler *s, const float *logits, const int32_t *history, size_t n_history);
/* A uniform double in [0, 1) from the generator. */
double rt_sampler_uniform(rt_sampler *s);

#endif
