/* sampler.c — the samplers of sampler.h: penalty, top-k, top-p, min-p,
 * temperature, seeded draw. Candidates are sorted once per token (qsort of
 * the vocabulary, ties by id), so every truncation is a prefix. */
#include "runtime/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void rt_sampler_defaults(rt_sampler_params *p) {
    *p = (rt_sampler_params){.temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repeat_penalty = 1.0f,
                             .repeat_last_n = 64, .seed = 0};
}

int rt_sampler_init(rt_sampler *s, const rt_sampler_params *p, int32_t n_vocab) {
    memset(s, 0, sizeof *s);
    if (n_vocab <= 0) return -1;
    s->prm = *p;
    s->rng = p->seed;
    s->n_vocab = n_vocab;
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    return s->cand ? 0 : -1;
}

void rt_sampler_free(rt_sampler *s) {
    free(s->cand);
    s->cand = NULL;
}

double rt_sampler_uniform(rt_sampler *s) {
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static int by_logit(const void *a, const void *b) {
    const rt_candidate *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* p of the first n candidates: softmax of logit / temp. */
static void softmax(rt_candidate *c, int32_t n, double temp) {
    double sum = 0, mx = c[0].logit;
    for (int32_t i = 0; i < n; i++) sum += exp(((double)c[i].logit - mx) / temp);
    for (int32_t i = 0; i < n; i++) c[i].p = (float)(exp(((double)c[i].logit - mx) / temp) / sum);
}

int32_t rt_sampler_candidates(rt_sampler *s, const float *logits, const int32_t *history, size_t n_history) {
    const rt_sampler_params *p = &s->prm;
    rt_candidate *c = s->cand;
    int32_t n = s->n_vocab;
    for (int32_t i = 0; i < n; i++) c[i] = (rt_candidate){i, logits[i], 0};
    if (p->repeat_penalty != 1.0f && p->repeat_last_n > 0) {
        size_t from = n_history > (size_t)p->repeat_last_n ? n_history - (size_t)p->repeat_last_n : 0;
        for (size_t k = from; k < n_history; k++) { /* each id once, as llama.cpp counts presence */
            int32_t id = history[k];
            bool seen = false;
            for (size_t j = from; j < k && !seen; j++) seen = history[j] == id;
            if (seen || id < 0 || id >= n) continue;
            float l = logits[id];
            c[id].logit = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
        }
    }
    if (p->temp <= 0) { /* greedy: the best (lowest id on ties) without sorting the vocabulary */
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (by_logit(&c[i], &c[best]) < 0) best = i;
        c[0] = c[best];
        c[0].p = 1;
        return 1;
    }
    qsort(c, (size_t)n, sizeof *c, by_logit);
    if (p->top_k > 0 && p->top_k < n) n = p->top_k;
    softmax(c, n, 1.0);
    if (p->top_p < 1.0f) {
        double cum = 0;
        int32_t keep = n;
        for (int32_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= p->top_p) {
                keep = i + 1;
                break;
            }
        }
        n = keep;
    }
    if (p->min_p > 0) {
        float floor_p = c[0].p * p->min_p;
        int32_t keep = 1;
        while (keep < n && c[keep].p >= floor_p) keep++;
        n = keep;
    }
    softmax(c, n, p->temp);
    return n;
}

int32_t rt_sampler_sample(rt_sampler *s, const float *logits, const int32_t *history, size_t n_history) {
    int32_t n = rt_sampler_candidates(s, logits, history, n_history);
    if (n == 1) return s->cand[0].id;
    double u = rt_sampler_uniform(s), cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += s->cand[i].p;
        if (u < cum) return s->cand[i].id;
    }
    return s->cand[n - 1].id;
}
