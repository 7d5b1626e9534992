/* lib_attn.c — the library routine of LinearAttention (see lib.h).
 *
 * It is not a loop nest but a recurrence over the sequence: each step decays
 * and delta-corrects a (dk, dv) state per key/value head before the step's
 * query reads it, so step t needs the state of step t - 1. It computes in
 * double and checks at run time what inference could not (sizes that were
 * symbols).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib_impl.h"

int rt_linear_attention_rule(const char *rule, bool *gating, bool *delta) {
    static const char *rules[] = {"linear", "gated", "delta", "gated_delta"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(rule, rules[i])) continue;
        *gating = i & 1;
        *delta = i & 2;
        return 0;
    }
    return -1;
}

/* ---- LinearAttention(query, key, value, past_state?, decay?, beta?) -> output, present_state ---- */

/* The sizes of a LinearAttention call: B, T, heads, head sizes, and the
 * widths of decay and beta's last axes. */
typedef struct la_dims {
    int64_t b, t, hq, hkv, dk, dv, decay_w, beta_w;
} la_dims;

static int la_read_dims(rt_lib_call *c, la_dims *s) {
    const rt_tensor *q = &c->in[0], *k = &c->in[1], *v = &c->in[2];
    if (rt_lib_attr_int(c, "q_num_heads", &s->hq) || rt_lib_attr_int(c, "kv_num_heads", &s->hkv)) return -1;
    for (int i = 0; i < 6; i++)
        if (rt_lib_opt_in(c, i) && c->in[i].rank != (i == 3 ? 4 : 3))
            return rt_lib_error(c, "input %d has rank %d, expected %d", i, c->in[i].rank, i == 3 ? 4 : 3);
    s->b = q->shape[0];
    s->t = q->shape[1];
    if (s->hq < 1 || s->hkv < 1 || s->hq % s->hkv || q->shape[2] % s->hq || v->shape[2] % s->hkv)
        return rt_lib_error(c, "the hidden sizes do not split into the heads");
    s->dk = q->shape[2] / s->hq;
    s->dv = v->shape[2] / s->hkv;
    for (int i = 1; i < 3; i++)
        if (c->in[i].shape[0] != s->b || c->in[i].shape[1] != s->t)
            return rt_lib_error(c, "query, key and value differ in batch or length");
    if (k->shape[2] != s->hkv * s->dk)
        return rt_lib_error(c, "key's hidden size is not kv_num_heads * %lld", (long long)s->dk);
    const rt_tensor *past = rt_lib_opt_in(c, 3), *decay = rt_lib_opt_in(c, 4), *beta = rt_lib_opt_in(c, 5);
    int64_t state[4] = {s->b, s->hkv, s->dk, s->dv};
    if (past && memcmp(past->shape, state, sizeof state)) return rt_lib_error(c, "past_state has the wrong shape");
    s->decay_w = decay ? decay->shape[2] : 0;
    s->beta_w = beta ? beta->shape[2] : 0;
    if (decay && (decay->shape[0] != s->b || decay->shape[1] != s->t ||
                  (s->decay_w != s->hkv && s->decay_w != s->hkv * s->dk)))
        return rt_lib_error(c, "decay has the wrong shape");
    if (beta && (beta->shape[0] != s->b || beta->shape[1] != s->t || (s->beta_w != s->hkv && s->beta_w != 1)))
        return rt_lib_error(c, "beta has the wrong shape");
    return 0;
}

/* One step of key/value head h of batch b at time t on its state S (dk, dv):
 * S *= exp(decay) per key row (gated); v = beta * (v - S^T k) (delta);
 * S += k v^T. kv holds room for k (dk) and v (dv). */
static void la_update(rt_lib_call *c, const la_dims *s, int64_t b, int64_t h, int64_t t, double *S, double *kv) {
    const rt_tensor *key = &c->in[1], *val = &c->in[2], *decay = rt_lib_opt_in(c, 4), *beta = rt_lib_opt_in(c, 5);
    double *k = kv, *v = kv + s->dk;
    int64_t row = b * s->t + t;
    for (int64_t d = 0; d < s->dk; d++) k[d] = rt_tensor_read_f(key, row * s->hkv * s->dk + h * s->dk + d);
    for (int64_t m = 0; m < s->dv; m++) v[m] = rt_tensor_read_f(val, row * s->hkv * s->dv + h * s->dv + m);
    if (decay) {
        for (int64_t d = 0; d < s->dk; d++) {
            int64_t at = row * s->decay_w + (s->decay_w == s->hkv ? h : h * s->dk + d);
            double g = exp(rt_tensor_read_f(decay, at));
            for (int64_t m = 0; m < s->dv; m++) S[d * s->dv + m] *= g;
        }
    }
    if (beta) {
        double bt = rt_tensor_read_f(beta, row * s->beta_w + (s->beta_w == 1 ? 0 : h));
        for (int64_t m = 0; m < s->dv; m++) {
            double got = 0;
            for (int64_t d = 0; d < s->dk; d++) got += S[d * s->dv + m] * k[d];
            v[m] = bt * (v[m] - got);
        }
    }
    for (int64_t d = 0; d < s->dk; d++)
        for (int64_t m = 0; m < s->dv; m++) S[d * s->dv + m] += k[d] * v[m];
}

/* output[b, t, hq * dv + m] = scale * sum over d of query[b, t, hq * dk + d] * S[d, m]
 * for the query heads hq that share key/value head h. */
static void la_read(rt_lib_call *c, const la_dims *s, int64_t b, int64_t h, int64_t t, const double *S, double scale,
                    rt_tensor *out) {
    const rt_tensor *q = &c->in[0];
    int64_t group = s->hq / s->hkv, row = b * s->t + t;
    for (int64_t hq = h * group; hq < (h + 1) * group; hq++) {
        for (int64_t m = 0; m < s->dv; m++) {
            double acc = 0;
            for (int64_t d = 0; d < s->dk; d++)
                acc += rt_tensor_read_f(q, (row * s->hq + hq) * s->dk + d) * S[d * s->dv + m];
            rt_tensor_write_f(out, row * s->hq * s->dv + hq * s->dv + m, scale * acc);
        }
    }
}

int rt_lib_linear_attention(rt_lib_call *c) {
    la_dims s = {0};
    bool gating, delta;
    const char *rule;
    double scale;
    if (rt_lib_attr_str(c, "update_rule", &rule) || rt_lib_attr_float(c, "scale", &scale)) return -1;
    if (rt_linear_attention_rule(rule, &gating, &delta)) return rt_lib_error(c, "unknown update_rule '%s'", rule);
    if (la_read_dims(c, &s)) return -1;
    int64_t out_shape[3] = {s.b, s.t, s.hq * s.dv}, state_shape[4] = {s.b, s.hkv, s.dk, s.dv};
    rt_tensor *out = c->output(c, 0, out_shape), *state = out ? c->output(c, 1, state_shape) : NULL;
    if (!state) return -1;
    if (scale == 0) scale = 1 / sqrt((double)s.dk);
    double *S = malloc((size_t)(s.dk * s.dv + s.dk + s.dv + 1) * sizeof *S), *kv = S + s.dk * s.dv;
    if (!S) return rt_lib_error(c, "out of memory");
    const rt_tensor *past = rt_lib_opt_in(c, 3);
    for (int64_t b = 0; b < s.b; b++) {
        for (int64_t h = 0; h < s.hkv; h++) {
            int64_t base = (b * s.hkv + h) * s.dk * s.dv;
            for (int64_t i = 0; i < s.dk * s.dv; i++) S[i] = past ? rt_tensor_read_f(past, base + i) : 0;
            for (int64_t t = 0; t < s.t; t++) {
                la_update(c, &s, b, h, t, S, kv);
                la_read(c, &s, b, h, t, S, scale, out);
            }
            for (int64_t i = 0; i < s.dk * s.dv; i++) rt_tensor_write_f(state, base + i, S[i]);
        }
    }
    free(S);
    return 0;
}

