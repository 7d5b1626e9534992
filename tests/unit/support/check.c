/* check.c — counters and summary line of check.h. */
#include "check.h"

int check_passed, check_failed;

int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}
