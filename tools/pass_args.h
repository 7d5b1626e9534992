/* pass_args.h — the graph-pass options that `smelt run` and `smelt
 * convert` share: --opt / --no-opt, --print-after=PASS, --print-after-all (the IR
 * goes to stderr), and SMELT_VERIFY=1 from the environment. */
#ifndef SMELT_TOOLS_PASS_ARGS_H
#define SMELT_TOOLS_PASS_ARGS_H

#include "passes/passes.h"

#define PASS_ARGS_USAGE                                                                     \
    "Graph passes (passes/pipeline.c): --opt runs them, --no-opt does not;\n"              \
    "--print-after=PASS prints the IR after that pass (fold_constants,\n"                 \
    "remove_identity, cse, fold_batchnorm, fold_bias_add, dce), --print-after-all\n"      \
    "after each, on stderr. SMELT_VERIFY=1 verifies the IR after every pass.\n"

/* Defaults: passes on, nothing printed, verification from SMELT_VERIFY. */
void pass_args_init(pass_options *o);
/* 1 when arg is a pass option (stored in o), 0 when it is not one. */
int pass_args_parse(pass_options *o, const char *arg);

#endif
