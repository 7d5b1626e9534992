/* diag.h — diagnostics carried from library code to the command line.
 *
 * Library code never prints or exits: a function that fails fills a diag with
 * one message naming where the problem is (file, node, tensor, line) and
 * returns -1. Only tools/ prints the message. A diag can also collect several
 * messages (e.g. every unsupported op of a model at once): each call to
 * diag_error appends one line.
 */
#ifndef SMELT_DIAG_H
#define SMELT_DIAG_H

#include <stddef.h>

#define DIAG_MSG_MAX 8192

typedef struct diag {
    int errors;              /* number of errors reported */
    size_t len;              /* bytes used in msg */
    char msg[DIAG_MSG_MAX];  /* error lines separated by '\n' */
} diag;

void diag_init(diag *d);

/* Append one error line. Always returns -1 so callers can write
 * `return diag_error(d, "...")`. A NULL diag is allowed and ignored. */
int diag_error(diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix every line reported after `mark` (a previous d->len) with `prefix`,
 * e.g. the file name, once the caller knows it. */
void diag_prefix_since(diag *d, size_t mark, const char *prefix);

#endif
