/* cli.h — what the verbs of the smelt command share: the exit codes, the
 * verb table entries and small argument helpers. tools/ is the only place
 * that prints to the user or exits. */
#ifndef SMELT_CLI_H
#define SMELT_CLI_H

#include "ir/diag.h"

#define SMELT_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2 };

typedef struct cli_verb {
    const char *name;
    const char *summary;
    const char *usage; /* full help text of `smelt VERB --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
} cli_verb;

extern const cli_verb verb_convert, verb_compile, verb_run, verb_inspect, verb_tokenize,
    verb_quantize_report, verb_devices;

/* Print "smelt VERB: message" and the usage hint; returns EXIT_USAGE. */
int cli_usage_error(const cli_verb *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the diag's messages on stderr; returns EXIT_USER. */
int cli_fail(const diag *d);
/* `smelt inspect` of a GGUF file: its metadata and tensor table
 * (inspect_gguf.c). Returns the exit code. */
int inspect_gguf(const char *path);
/* True when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

#endif
