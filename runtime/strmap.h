/* strmap.h — a string -> int32 hash map for the tokenizers (token text to
 * id, merge pair to rank): open addressing over a power-of-two table, keys
 * copied into one pool owned by the map. Built once, then only read, so it
 * is safe to share between threads after building.
 *
 * A key can also be looked up as a pair (a, b), meaning the bytes
 * a + 0xFF + b: 0xFF never occurs in UTF-8, so BPE merges are stored as
 * "left\xFFright" and found without building the string.
 */
#ifndef SMELT_RT_STRMAP_H
#define SMELT_RT_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_strmap_slot {
    uint64_t hash;
    uint32_t off, len; /* key bytes in pool */
    int32_t val;
    bool used;
} rt_strmap_slot;

typedef struct rt_strmap {
    rt_strmap_slot *slots;
    size_t cap, n;  /* cap is a power of two, n < cap / 2 */
    char *pool;
    size_t pool_len, pool_cap;
} rt_strmap;

/* Sizes the table for about n keys. -1 when out of memory. */
int rt_strmap_init(rt_strmap *m, size_t n);
void rt_strmap_free(rt_strmap *m);
/* Insert; an existing key keeps its value unless replace. -1 on OOM. */
int rt_strmap_put(rt_strmap *m, const char *key, size_t len, int32_t val, bool replace);
/* Value of key, or -1. */
int32_t rt_strmap_get(const rt_strmap *m, const char *key, size_t len);
/* Value of the key a + 0xFF + b, or -1. */
int32_t rt_strmap_get_pair(const rt_strmap *m, const char *a, size_t alen, const char *b, size_t blen);

#endif
