/* text_out.h — a bounded text buffer that counts what it could not hold:
 * writers append with rt_text_put; the count `n` keeps growing past `cap`,
 * so a caller learns the size it needs (snprintf's contract). Shared by the
 * detokenizer and the chat templates. */
#ifndef SMELT_RT_TEXT_OUT_H
#define SMELT_RT_TEXT_OUT_H

#include <stddef.h>
#include <string.h>

typedef struct rt_text_out {
    char *buf;
    size_t cap, n;
} rt_text_out;

static inline void rt_text_put(rt_text_out *o, const char *s, size_t n) {
    if (o->n < o->cap) memcpy(o->buf + o->n, s, n < o->cap - o->n ? n : o->cap - o->n);
    o->n += n;
}

#endif
