/* smelt.c — the smelt command: dispatches to one verb (convert, compile,
 * run, inspect, bench, devices) and owns the exit codes: 0 success, 1 a user error
 * (bad model, bad input: one message on stderr), 2 a usage error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_verb *const verbs[] = {&verb_convert, &verb_compile,  &verb_run,            &verb_inspect,
                                          &verb_devices, &verb_tokenize, &verb_quantize_report};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static void print_help(FILE *f) {
    fprintf(f, "smelt %s — an ahead-of-time compiler for ONNX and GGUF models\n\n", SMELT_VERSION);
    fprintf(f, "usage: smelt VERB [options]\n\nverbs:\n");
    for (size_t i = 0; i < N_VERBS; i++) fprintf(f, "  %-9s %s\n", verbs[i]->name, verbs[i]->summary);
    fprintf(f, "\n`smelt VERB --help` describes a verb; `smelt --version` prints the version.\n");
}

int cli_usage_error(const cli_verb *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "smelt %s: ", v->name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `smelt %s --help`)\n", v->name);
    return EXIT_USAGE;
}

int cli_fail(const diag *d) {
    fprintf(stderr, "%s\n", d->errors ? d->msg : "error");
    return EXIT_USER;
}

int cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("smelt %s\n", SMELT_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < N_VERBS; i++) {
        if (strcmp(argv[1], verbs[i]->name)) continue;
        for (int a = 2; a < argc; a++)
            if (cli_is_help(argv[a])) {
                fputs(verbs[i]->usage, stdout);
                return EXIT_OK;
            }
        return verbs[i]->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "smelt: unknown verb '%s'\n", argv[1]);
    print_help(stderr);
    return EXIT_USAGE;
}
