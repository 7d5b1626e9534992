/* pass_args.c — see pass_args.h. */
#include "pass_args.h"

#include <stdlib.h>
#include <string.h>

void pass_args_init(pass_options *o) {
    memset(o, 0, sizeof *o);
    const char *v = getenv("SMELT_VERIFY");
    o->verify = v && !strcmp(v, "1");
    o->print_out = stderr;
}

int pass_args_parse(pass_options *o, const char *arg) {
    if (!strcmp(arg, "--no-opt")) o->disable = true;
    else if (!strcmp(arg, "--opt")) o->disable = false;
    else if (!strcmp(arg, "--print-after-all")) o->print_after_all = true;
    else if (!strncmp(arg, "--print-after=", 14)) o->print_after = arg + 14;
    else return 0;
    return 1;
}
