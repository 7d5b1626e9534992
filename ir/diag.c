/* diag.c — append-only error messages (see diag.h). */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void diag_init(diag *d) {
    d->errors = 0;
    d->len = 0;
    d->msg[0] = 0;
}

int diag_error(diag *d, const char *fmt, ...) {
    if (!d) return -1;
    d->errors++;
    if (d->len + 2 >= DIAG_MSG_MAX) return -1;
    if (d->len > 0) d->msg[d->len++] = '\n';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->msg + d->len, DIAG_MSG_MAX - d->len, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    d->len += (size_t)n;
    if (d->len >= DIAG_MSG_MAX) d->len = DIAG_MSG_MAX - 1;
    d->msg[d->len] = 0;
    return -1;
}

void diag_prefix_since(diag *d, size_t mark, const char *prefix) {
    if (!d || mark >= d->len) return;
    char tail[DIAG_MSG_MAX];
    size_t start = mark;
    if (start > 0 && d->msg[start] == '\n') start++;
    memcpy(tail, d->msg + start, d->len - start + 1);
    d->len = start;
    size_t plen = strlen(prefix);
    char *line = tail;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        size_t llen = nl ? (size_t)(nl - line) : strlen(line);
        if (d->len + plen + 2 + llen + 2 >= DIAG_MSG_MAX) break;
        memcpy(d->msg + d->len, prefix, plen);
        d->len += plen;
        d->msg[d->len++] = ':';
        d->msg[d->len++] = ' ';
        memcpy(d->msg + d->len, line, llen);
        d->len += llen;
        if (nl) d->msg[d->len++] = '\n';
        line = nl ? nl + 1 : NULL;
    }
    d->msg[d->len] = 0;
}
