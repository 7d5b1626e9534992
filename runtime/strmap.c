/* strmap.c — the tokenizers' string hash map (see strmap.h): FNV-1a hashes,
 * linear probing, keys in one growing pool. */
#include "runtime/strmap.h"

#include <stdlib.h>
#include <string.h>

#define FNV_OFF 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return h;
}

static uint64_t pair_hash(const char *a, size_t alen, const char *b, size_t blen) {
    uint64_t h = fnv(FNV_OFF, a, alen);
    h = (h ^ 0xFFu) * FNV_PRIME;
    return fnv(h, b, blen);
}

int rt_strmap_init(rt_strmap *m, size_t n) {
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots) return -1;
    m->cap = cap;
    return 0;
}

void rt_strmap_free(rt_strmap *m) {
    free(m->slots);
    free(m->pool);
    memset(m, 0, sizeof *m);
}

static int grow(rt_strmap *m) {
    size_t cap = m->cap * 2;
    rt_strmap_slot *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].used) continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (s[j].used) j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 0;
}

int rt_strmap_put(rt_strmap *m, const char *key, size_t len, int32_t val, bool replace) {
    if (len > UINT32_MAX) return -1;
    if (2 * (m->n + 1) > m->cap && grow(m)) return -1;
    uint64_t h = fnv(FNV_OFF, key, len);
    size_t j = h & (m->cap - 1);
    for (; m->slots[j].used; j = (j + 1) & (m->cap - 1)) {
        rt_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && !memcmp(m->pool + s->off, key, len)) {
            if (replace) s->val = val;
            return 0;
        }
    }
    if (m->pool_len + len > m->pool_cap) {
        size_t cap = m->pool_cap ? m->pool_cap : 4096;
        while (cap < m->pool_len + len) cap *= 2;
        if (cap > UINT32_MAX) return -1;
        char *p = realloc(m->pool, cap);
        if (!p) return -1;
        m->pool = p;
        m->pool_cap = cap;
    }
    if (len) memcpy(m->pool + m->pool_len, key, len);
    m->slots[j] = (rt_strmap_slot){h, (uint32_t)m->pool_len, (uint32_t)len, val, true};
    m->pool_len += len;
    m->n++;
    return 0;
}

int32_t rt_strmap_get(const rt_strmap *m, const char *key, size_t len) {
    uint64_t h = fnv(FNV_OFF, key, len);
    for (size_t j = h & (m->cap - 1); m->slots[j].used; j = (j + 1) & (m->cap - 1)) {
        const rt_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && !memcmp(m->pool + s->off, key, len)) return s->val;
    }
    return -1;
}

int32_t rt_strmap_get_pair(const rt_strmap *m, const char *a, size_t alen, const char *b, size_t blen) {
    uint64_t h = pair_hash(a, alen, b, blen);
    for (size_t j = h & (m->cap - 1); m->slots[j].used; j = (j + 1) & (m->cap - 1)) {
        const rt_strmap_slot *s = &m->slots[j];
        if (s->hash != h || s->len != alen + 1 + blen) continue;
        const char *k = m->pool + s->off;
        if (!memcmp(k, a, alen) && (unsigned char)k[alen] == 0xFF && !memcmp(k + alen + 1, b, blen))
            return s->val;
    }
    return -1;
}
