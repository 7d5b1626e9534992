/* pass_args.c — see pass_args.h. */
#include "pass_args.h"

#include <stdlib.h>
#include <string.h>

void pass_args_init(pass_options *o) {
    memset(o, 0, sizeof *o);
    const char *v = getenv("SMELT_VERIFY");
    o->verify = v && !strcmp(v, "1");
    o->print_out = stderr;
    pass_quant_defaults(&o->quant);
}

/* The value of option `name` at argv[*i]: "--name=V" or "--name V". */
static const char *value_of(const char *name, int argc, char **argv, int *i) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n)) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] || *i + 1 >= argc) return NULL;
    return argv[++*i];
}

static int is_opt(const char *a, const char *name) {
    size_t n = strlen(name);
    return !strncmp(a, name, n) && (a[n] == 0 || a[n] == '=');
}

int pass_args_parse(pass_options *o, int argc, char **argv, int *i) {
    const char *arg = argv[*i], *v;
    if (!strcmp(arg, "--no-opt")) o->disable = true;
    else if (!strcmp(arg, "--opt")) o->disable = false;
    else if (!strcmp(arg, "--print-after-all")) o->print_after_all = true;
    else if (!strncmp(arg, "--print-after=", 14)) o->print_after = arg + 14;
    else if (!strcmp(arg, "--quantize-all")) o->quant.keep_ends = false;
    else if (is_opt(arg, "--precision")) {
        v = value_of("--precision", argc, argv, i);
        if (!v) return -1;
        if (!strcmp(v, "f16")) o->precision = IR_F16;
        else if (!strcmp(v, "bf16")) o->precision = IR_BF16;
        else if (!strcmp(v, "f32")) o->precision = 0;
        else return -1;
    } else if (is_opt(arg, "--quantize")) {
        v = value_of("--quantize", argc, argv, i);
        if (!v || pass_quant_mode_parse(v, &o->quant.mode)) return -1;
    } else if (is_opt(arg, "--quantize-skip")) {
        v = value_of("--quantize-skip", argc, argv, i);
        if (!v || o->quant.n_skip == PASS_QUANT_MAX_SKIP) return -1;
        o->quant.skip[o->quant.n_skip++] = v;
    } else if (is_opt(arg, "--calibrate")) {
        if (!(o->quant.calibrate_dir = value_of("--calibrate", argc, argv, i))) return -1;
    } else if (is_opt(arg, "--quantize-min")) {
        v = value_of("--quantize-min", argc, argv, i);
        char *end;
        long long n = v ? strtoll(v, &end, 10) : -1;
        if (!v || end == v || *end || n < 0) return -1;
        o->quant.min_elements = n;
    } else return 0;
    return 1;
}
