/* tokenizer_merge.c — the merge loop of the SPM and BPE models: a doubly
 * linked list of symbols (initially the UTF-8 characters of a word) and a
 * binary heap of candidate adjacent pairs, ordered by priority (SPM: the
 * merged token's score; BPE: minus the merge rank), then leftmost first.
 * A popped pair whose symbols changed since it was pushed is stale and
 * skipped. O(n log n) in the word length. */
#include <stdlib.h>

#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

typedef struct sym {
    size_t off, n;      /* bytes of the word; n = 0 once merged into the left */
    long prev, next;    /* -1 at the ends */
} sym;

typedef struct cand {
    double prio;
    long left, right;
    size_t size;
} cand;

typedef struct heap {
    cand *v;
    size_t n, cap;
} heap;

static bool above(const cand *a, const cand *b) {
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

static int heap_push(heap *h, cand c) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        cand *v = realloc(h->v, cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && above(&c, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = c;
    return 0;
}

static cand heap_pop(heap *h) {
    cand top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && above(&h->v[c + 1], &h->v[c])) c++;
        if (!above(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

static int try_pair(const rt_tokenizer *t, const char *s, const sym *sy, long l, long r,
                    tok_pair_fn pair, heap *h) {
    if (l < 0 || r < 0) return 0;
    double prio;
    if (!pair(t, s + sy[l].off, sy[l].n, s + sy[r].off, sy[r].n, &prio)) return 0;
    return heap_push(h, (cand){prio, l, r, sy[l].n + sy[r].n});
}

int tok_merge(const rt_tokenizer *t, const char *s, size_t n, tok_pair_fn pair, tok_emit_fn emit,
              tok_ids *out) {
    if (n == 0) return 0;
    sym *sy = malloc(n * sizeof *sy);
    heap h = {0};
    if (!sy) return -1;
    long ns = 0;
    for (size_t off = 0; off < n; ns++) {
        size_t len = rt_utf8_len((unsigned char)s[off]);
        if (len > n - off) len = n - off;
        sy[ns] = (sym){off, len, ns - 1, -1};
        if (ns) sy[ns - 1].next = ns;
        off += len;
    }
    int rc = 0;
    for (long i = 1; i < ns && !rc; i++) rc = try_pair(t, s, sy, i - 1, i, pair, &h);
    while (h.n && !rc) {
        cand c = heap_pop(&h);
        sym *l = &sy[c.left], *r = &sy[c.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != c.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = c.left;
        rc = try_pair(t, s, sy, l->prev, c.left, pair, &h);
        if (!rc) rc = try_pair(t, s, sy, c.left, l->next, pair, &h);
    }
    if (!rc)
        for (long i = 0; i >= 0; i = sy[i].next) emit(t, s + sy[i].off, sy[i].n, out);
    free(h.v);
    free(sy);
    return rc;
}
