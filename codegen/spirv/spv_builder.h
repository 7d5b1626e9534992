/* spv_builder.h — a SPIR-V module under construction: word streams per
 * logical section (the order the binary form requires), result ids,
 * types and constants made once (equal requests return the same id).
 *
 * Instructions are written with spv_inst (no result) or spv_op (allocates
 * and returns the result id); the caller picks the section stream.
 * spv_finish concatenates header and sections. Out of memory is sticky:
 * b->oom is set and spv_finish fails.
 */
#ifndef SMELT_SPV_BUILDER_H
#define SMELT_SPV_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct spv_words {
    uint32_t *w;
    size_t n, cap;
} spv_words;

typedef struct spv_dedup { /* one made type or constant */
    uint32_t hash, key_off, key_len, id;
} spv_dedup;

typedef struct spv_builder {
    /* sections, in module order */
    spv_words caps, exts, imports, model, entries, modes, names, decos, types, funcs;
    uint32_t next_id;
    bool oom;
    spv_words keys;           /* the words of every deduplicated instruction */
    spv_dedup *tab;
    uint32_t tab_cap, tab_n;
    uint64_t cap_bits[2];     /* capabilities < 128 declared */
    uint32_t big_caps[8];     /* capabilities >= 128 declared (4433, 4448, ...) */
    uint32_t n_big_caps;
} spv_builder;

void spv_builder_init(spv_builder *b);
void spv_builder_free(spv_builder *b);
uint32_t spv_id(spv_builder *b);

/* Append words to a stream. */
void spv_put(spv_builder *b, spv_words *s, const uint32_t *w, size_t n);
void spv_words_free(spv_words *s);
/* An instruction without result: opcode and operands. */
void spv_inst(spv_builder *b, spv_words *s, uint32_t op, const uint32_t *ops, uint32_t n);
/* An instruction with result type `type` (0: none) and a new result id. */
uint32_t spv_op(spv_builder *b, spv_words *s, uint32_t op, uint32_t type, const uint32_t *ops, uint32_t n);
/* A type (no result type) or constant (with one) in the types section,
 * made once per distinct (op, type, operands). */
uint32_t spv_type(spv_builder *b, uint32_t op, const uint32_t *ops, uint32_t n);
uint32_t spv_const(spv_builder *b, uint32_t op, uint32_t type, const uint32_t *ops, uint32_t n);
/* A literal string as words (nul-terminated, padded), appended to ops at
 * *n (room for len/4 + 1 more words). */
void spv_string(const char *s, uint32_t *ops, uint32_t *n);
void spv_capability(spv_builder *b, uint32_t cap);
void spv_extension(spv_builder *b, const char *name);
void spv_decorate(spv_builder *b, uint32_t target, uint32_t deco, const uint32_t *args, uint32_t n);
void spv_name(spv_builder *b, uint32_t target, const char *name);

/* The module's words (malloc'd); -1 when out of memory. */
int spv_finish(spv_builder *b, uint32_t **words, size_t *n_words);

#endif
