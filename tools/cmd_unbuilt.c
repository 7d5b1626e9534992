/* cmd_unbuilt.c — verbs whose machinery is not built yet (bench): they
 * accept --help and otherwise say plainly that they cannot run, with a
 * non-zero exit, rather than pretend. */
#include <stdio.h>

#include "cli.h"

static int not_yet(const char *verb, const char *what) {
    fprintf(stderr, "smelt %s: %s is not implemented yet in this version\n", verb, what);
    return EXIT_USER;
}

static int run_bench(int argc, char **argv) { return not_yet("bench", "benchmarking"); }

const cli_verb verb_bench = {
    "bench", "measure a model's latency", "usage: smelt bench MODEL_OR_ARTIFACT\n", run_bench};
