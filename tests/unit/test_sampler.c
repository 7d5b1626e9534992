/* test_sampler.c — the samplers of runtime/sampler.h on small logit rows
 * whose truncations are worked out by hand from the definitions (llama.cpp's
 * sampler chain): greedy with ties, repeat penalty, top-k, top-p (the
 * smallest prefix reaching p), min-p (p >= min_p * p_max), temperature, and
 * the seeded draw (same seed, same tokens; frequencies follow p). */
#include <math.h>

#include "runtime/sampler.h"
#include "tests/unit/support/check.h"

static rt_sampler_params off(void) {
    return (rt_sampler_params){.temp = 1, .top_k = 0, .top_p = 1, .min_p = 0, .repeat_penalty = 1, .repeat_last_n = 64};
}

int main(void) {
    rt_sampler s;
    /* greedy: highest logit, lowest id on a tie */
    float a[5] = {0.5f, 2.0f, 2.0f, -1.0f, 1.0f};
    rt_sampler_params p = off();
    p.temp = 0;
    CHECK(rt_sampler_init(&s, &p, 5) == 0);
    CHECK(rt_sampler_sample(&s, a, NULL, 0) == 1);
    /* penalty 2 on ids 1 and 3: 2.0 -> 1.0, -1 -> -2; the best is then id 2 */
    s.prm.repeat_penalty = 2;
    int32_t hist[3] = {1, 3, 1};
    CHECK(rt_sampler_sample(&s, a, hist, 3) == 2);
    rt_sampler_free(&s);

    /* logits log(p) for p = .4 .3 .2 .1: the truncations act on those p */
    float b[4] = {logf(0.1f), logf(0.4f), logf(0.2f), logf(0.3f)};
    p = off();
    p.top_k = 2; /* ids 1, 3 renormalized: 4/7, 3/7 */
    rt_sampler_init(&s, &p, 4);
    int32_t n = rt_sampler_candidates(&s, b, NULL, 0);
    CHECK(n == 2 && s.cand[0].id == 1 && s.cand[1].id == 3);
    CHECK(fabsf(s.cand[0].p - 4.0f / 7) < 1e-6f && fabsf(s.cand[1].p - 3.0f / 7) < 1e-6f);
    s.prm.top_k = 0;
    s.prm.top_p = 0.75f; /* .4 + .3 = .7 < .75, + .2 = .9: three kept */
    CHECK(rt_sampler_candidates(&s, b, NULL, 0) == 3 && s.cand[2].id == 2);
    s.prm.top_p = 0.7f; /* cumulative .7 reaches p at the second (allowing rounding) */
    n = rt_sampler_candidates(&s, b, NULL, 0);
    CHECK(n == 2 || n == 3);
    s.prm.top_p = 1;
    s.prm.min_p = 0.45f; /* p >= .18: ids 1, 3, 2 */
    CHECK(rt_sampler_candidates(&s, b, NULL, 0) == 3);
    s.prm.min_p = 0.6f; /* p >= .24: ids 1, 3 */
    CHECK(rt_sampler_candidates(&s, b, NULL, 0) == 2);
    s.prm.min_p = 0;
    s.prm.temp = 0.5f; /* p ~ p^2: .16 .09 .04 .01 over .30 */
    CHECK(rt_sampler_candidates(&s, b, NULL, 0) == 4 && fabsf(s.cand[0].p - 0.16f / 0.30f) < 1e-5f &&
          fabsf(s.cand[3].p - 0.01f / 0.30f) < 1e-5f);
    rt_sampler_free(&s);

    /* seeded draws: the same seed repeats; frequencies near p */
    p = off();
    p.seed = 42;
    rt_sampler t;
    rt_sampler_init(&s, &p, 4);
    rt_sampler_init(&t, &p, 4);
    int same = 1, count[4] = {0};
    for (int i = 0; i < 20000; i++) {
        int32_t x = rt_sampler_sample(&s, b, NULL, 0), y = rt_sampler_sample(&t, b, NULL, 0);
        same &= x == y;
        count[x]++;
    }
    CHECK(same);
    CHECK(fabs(count[1] / 20000.0 - 0.4) < 0.02 && fabs(count[0] / 20000.0 - 0.1) < 0.02);
    t.prm.seed = 43;
    t.rng = 43;
    s.rng = 42;
    int differ = 0;
    for (int i = 0; i < 50; i++) differ |= rt_sampler_sample(&s, b, NULL, 0) != rt_sampler_sample(&t, b, NULL, 0);
    CHECK(differ);
    rt_sampler_free(&s);
    rt_sampler_free(&t);
    return check_summary("test_sampler");
}
