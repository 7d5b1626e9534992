/* spv_builder.c — the SPIR-V module builder (see spv_builder.h). Types and
 * constants are deduplicated through an open-addressing table keyed by the
 * instruction's words without its result id. */
#include "codegen/spirv/spv_builder.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/spirv/spv_ops.h"

void spv_builder_init(spv_builder *b) {
    memset(b, 0, sizeof *b);
    b->next_id = 1;
}

void spv_words_free(spv_words *s) {
    free(s->w);
    memset(s, 0, sizeof *s);
}

void spv_builder_free(spv_builder *b) {
    spv_words *all[] = {&b->caps, &b->exts, &b->imports, &b->model, &b->entries, &b->modes,
                        &b->names, &b->decos, &b->types, &b->funcs, &b->keys};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) spv_words_free(all[i]);
    free(b->tab);
    b->tab = NULL;
}

uint32_t spv_id(spv_builder *b) { return b->next_id++; }

void spv_put(spv_builder *b, spv_words *s, const uint32_t *w, size_t n) {
    if (b->oom || !n) return;
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < s->n + n) cap *= 2;
        uint32_t *nw = realloc(s->w, cap * sizeof *nw);
        if (!nw) {
            b->oom = true;
            return;
        }
        s->w = nw;
        s->cap = cap;
    }
    if (n) memcpy(s->w + s->n, w, n * sizeof *w);
    s->n += n;
}

void spv_inst(spv_builder *b, spv_words *s, uint32_t op, const uint32_t *ops, uint32_t n) {
    uint32_t head = ((n + 1) << 16) | op;
    spv_put(b, s, &head, 1);
    spv_put(b, s, ops, n);
}

uint32_t spv_op(spv_builder *b, spv_words *s, uint32_t op, uint32_t type, const uint32_t *ops, uint32_t n) {
    uint32_t id = spv_id(b), head[3], k = 0;
    head[k++] = ((n + 1 + (type ? 2 : 1)) << 16) | op;
    if (type) head[k++] = type;
    head[k++] = id;
    spv_put(b, s, head, k);
    spv_put(b, s, ops, n);
    return id;
}

static uint32_t hash_words(const uint32_t *w, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ w[i]) * 16777619u;
    return h;
}

static bool tab_grow(spv_builder *b) {
    uint32_t cap = b->tab_cap ? b->tab_cap * 2 : 256;
    spv_dedup *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (uint32_t i = 0; i < b->tab_cap; i++) {
        if (!b->tab[i].id) continue;
        uint32_t j = b->tab[i].hash & (cap - 1);
        while (t[j].id) j = (j + 1) & (cap - 1);
        t[j] = b->tab[i];
    }
    free(b->tab);
    b->tab = t;
    b->tab_cap = cap;
    return true;
}

/* key: op, type (0 for types), operands */
static uint32_t dedup(spv_builder *b, uint32_t op, uint32_t type, const uint32_t *ops, uint32_t n) {
    if (b->oom) return 0;
    uint32_t key[64];
    if (n + 2 > sizeof key / sizeof *key) { /* long struct: not deduplicated */
        return type ? spv_op(b, &b->types, op, type, ops, n) : spv_op(b, &b->types, op, 0, ops, n);
    }
    key[0] = op;
    key[1] = type;
    if (n) memcpy(key + 2, ops, n * sizeof *ops);
    uint32_t len = n + 2, h = hash_words(key, len);
    if ((b->tab_n + 1) * 2 > b->tab_cap && !tab_grow(b)) {
        b->oom = true;
        return 0;
    }
    uint32_t j = h & (b->tab_cap - 1);
    for (; b->tab[j].id; j = (j + 1) & (b->tab_cap - 1)) {
        const spv_dedup *e = &b->tab[j];
        if (e->hash == h && e->key_len == len && !memcmp(b->keys.w + e->key_off, key, len * sizeof *key)) return e->id;
    }
    uint32_t id = spv_op(b, &b->types, op, type, ops, n);
    uint32_t off = (uint32_t)b->keys.n;
    spv_put(b, &b->keys, key, len);
    if (b->oom) return 0;
    b->tab[j] = (spv_dedup){h, off, len, id};
    b->tab_n++;
    return id;
}

uint32_t spv_type(spv_builder *b, uint32_t op, const uint32_t *ops, uint32_t n) { return dedup(b, op, 0, ops, n); }

uint32_t spv_const(spv_builder *b, uint32_t op, uint32_t type, const uint32_t *ops, uint32_t n) {
    return dedup(b, op, type, ops, n);
}

void spv_string(const char *s, uint32_t *ops, uint32_t *n) {
    size_t len = strlen(s), words = len / 4 + 1;
    memset(ops + *n, 0, words * sizeof *ops);
    memcpy(ops + *n, s, len);
    *n += (uint32_t)words;
}

void spv_capability(spv_builder *b, uint32_t cap) {
    if (cap < 128) {
        if (b->cap_bits[cap / 64] >> (cap % 64) & 1) return;
        b->cap_bits[cap / 64] |= 1ull << (cap % 64);
    } else {
        for (uint32_t i = 0; i < b->n_big_caps; i++)
            if (b->big_caps[i] == cap) return;
        if (b->n_big_caps < sizeof b->big_caps / sizeof *b->big_caps) b->big_caps[b->n_big_caps++] = cap;
    }
    spv_inst(b, &b->caps, SpvOpCapability, &cap, 1);
}

void spv_extension(spv_builder *b, const char *name) {
    uint32_t ops[16], n = 0;
    spv_string(name, ops, &n);
    for (size_t i = 0; i + n + 1 <= b->exts.n;) { /* declared already? */
        uint32_t len = b->exts.w[i] >> 16;
        if (len == n + 1 && !memcmp(b->exts.w + i + 1, ops, n * sizeof *ops)) return;
        i += len ? len : 1;
    }
    spv_inst(b, &b->exts, SpvOpExtension, ops, n);
}

void spv_decorate(spv_builder *b, uint32_t target, uint32_t deco, const uint32_t *args, uint32_t n) {
    uint32_t ops[8] = {target, deco};
    if (n) memcpy(ops + 2, args, n * sizeof *args);
    spv_inst(b, &b->decos, SpvOpDecorate, ops, n + 2);
}

void spv_name(spv_builder *b, uint32_t target, const char *name) {
    uint32_t ops[40] = {target}, n = 1;
    char clipped[128];
    size_t len = strlen(name);
    if (len >= sizeof clipped) len = sizeof clipped - 1;
    memcpy(clipped, name, len);
    clipped[len] = 0;
    spv_string(clipped, ops, &n);
    spv_inst(b, &b->names, SpvOpName, ops, n);
}

int spv_finish(spv_builder *b, uint32_t **words, size_t *n_words) {
    spv_words *secs[] = {&b->caps, &b->exts, &b->imports, &b->model, &b->entries, &b->modes,
                         &b->names, &b->decos, &b->types, &b->funcs};
    size_t total = 5;
    for (size_t i = 0; i < sizeof secs / sizeof *secs; i++) total += secs[i]->n;
    *words = NULL;
    if (b->oom) return -1;
    uint32_t *w = malloc(total * sizeof *w);
    if (!w) return -1;
    w[0] = SpvMagic;
    w[1] = SpvVersion13;
    w[2] = 0; /* generator: unregistered */
    w[3] = b->next_id;
    w[4] = 0;
    size_t at = 5;
    for (size_t i = 0; i < sizeof secs / sizeof *secs; i++) {
        if (secs[i]->n) memcpy(w + at, secs[i]->w, secs[i]->n * sizeof *w);
        at += secs[i]->n;
    }
    *words = w;
    *n_words = total;
    return 0;
}
