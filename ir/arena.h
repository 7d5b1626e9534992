/* arena.h — bump allocator owning all memory of one graph or one pass.
 *
 * Nothing allocated from an arena is freed alone; arena_free releases every
 * block at once. Array allocations check n*size for overflow and refuse sizes
 * above a sanity limit, so a size field read from a file can never trigger an
 * unbounded allocation: callers get NULL and report an error.
 */
#ifndef SMELT_ARENA_H
#define SMELT_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct arena_block arena_block;

typedef struct arena {
    arena_block *head;
    size_t total;  /* bytes handed out, for statistics */
} arena;

void arena_init(arena *a);
void arena_free(arena *a);

/* Zeroed, 16-byte aligned memory; NULL when the request is too large. */
void *arena_alloc(arena *a, size_t size);
/* n elements of size bytes, overflow-checked; NULL on overflow or n*size > 4 GiB. */
void *arena_array(arena *a, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
/* Copy of an array into the arena (n elements of size bytes). */
void *arena_memdup(arena *a, const void *p, size_t n, size_t size);

/* Overflow-checked multiply: returns 0 and stores a*b, or -1 on overflow. */
int checked_mul_u64(uint64_t a, uint64_t b, uint64_t *out);

#endif
