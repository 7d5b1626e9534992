/* check.h — the small assertion kit of the C unit tests.
 *
 * CHECK(cond) counts a pass or prints the failed condition with its line;
 * check_summary(name) prints `name: N passed, N failed` (the line the test
 * runner sums up) and returns the process exit status.
 */
#ifndef SMELT_CHECK_H
#define SMELT_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_passed, check_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) check_passed++;                                                \
        else {                                                                   \
            check_failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                        \
    } while (0)

/* CHECK that a string contains a substring, printing both on failure. */
#define CHECK_CONTAINS(hay, needle)                                                          \
    do {                                                                                     \
        const char *h_ = (hay), *n_ = (needle);                                              \
        if (h_ && strstr(h_, n_)) check_passed++;                                            \
        else {                                                                               \
            check_failed++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__, \
                    h_ ? h_ : "(null)", n_);                                                 \
        }                                                                                    \
    } while (0)

int check_summary(const char *name);

#endif
