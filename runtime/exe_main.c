/* exe_main.c — main() of a standalone compiled model (`smelt compile
 * --emit exe`). Linked with the model's object and libsmeltrt.a, it reads
 * each input from a .npy file, runs the model and writes each output as
 * OUTDIR/NAME.npy:
 *
 *   ./model -i NAME=FILE.npy ... -o OUTDIR [--threads N] [--repeat N]
 *
 * --repeat N runs N times and prints the median latency. Uses only the
 * public runtime API (smelt.h), the .npy reader/writer (npy.h) and
 * run_util.h, as any program embedding a model would. Exit codes as the smelt command's: 0
 * success, 1 bad input or a failed run (one message on stderr), 2 usage.
 * It reads the desc exported as `smelt_model`; codegen/link.c binds that
 * name to the object's desc with --defsym when the model was compiled
 * with --name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"
#include "run_util.h"
#include "smelt.h"

/* The desc's default symbol is also the name of smelt.h's model type, so
 * it gets another C name here (ELF symbol names are the C names). */
extern const smelt_model_desc smelt_exe_desc __asm__(SMELT_MODEL_SYMBOL);

#define MAX_INPUTS 256

static const struct {
    const char *name;
    npy_dtype npy;
} dtype_names[] = {
    {"f32", NPY_F32}, {"f64", NPY_F64}, {"f16", NPY_F16}, {"i8", NPY_I8},   {"i16", NPY_I16}, {"i32", NPY_I32},
    {"i64", NPY_I64}, {"u8", NPY_U8},   {"u16", NPY_U16}, {"u32", NPY_U32}, {"u64", NPY_U64}, {"bool", NPY_BOOL},
};

/* The .npy dtype of a smelt dtype name; -1 when numpy has none. */
static int npy_of(const char *name) {
    for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
        if (!strcmp(dtype_names[i].name, name)) return (int)dtype_names[i].npy;
    return -1;
}

static void print_tensor(FILE *f, const smelt_tensor_info *t) {
    fprintf(f, "  %s: %s[", t->name, t->dtype);
    for (int k = 0; k < t->rank; k++) {
        if (t->dims[k] >= 0) fprintf(f, "%s%lld", k ? ", " : "", (long long)t->dims[k]);
        else fprintf(f, "%s%s", k ? ", " : "", t->dim_names[k] ? t->dim_names[k] : "?");
    }
    fprintf(f, "]\n");
}

static void usage(FILE *f, const char *prog, const smelt_model *m) {
    fprintf(f,
            "usage: %s -i [NAME=]FILE.npy ... -o OUTDIR [--threads N] [--repeat N]\n\n"
            "Runs the compiled model on .npy inputs (by name, or in order without NAME=)\n"
            "and writes each output as OUTDIR/NAME.npy. --threads N uses N threads (default:\n"
            "every core); --repeat N runs N times and prints the median latency.\n",
            prog);
    if (!m) return;
    smelt_tensor_info t;
    fprintf(f, "\ninputs:\n");
    for (int i = 0; i < smelt_num_inputs(m); i++)
        if (!smelt_input_info(m, i, &t)) print_tensor(f, &t);
    fprintf(f, "outputs:\n");
    for (int i = 0; i < smelt_num_outputs(m); i++)
        if (!smelt_output_info(m, i, &t)) print_tensor(f, &t);
}

static int parse_count(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

/* Read every -i argument and bind it to its input; inputs[k] holds the
 * array of model input k. */
static int bind_inputs(smelt_session *s, const smelt_model *m, char **args, int n_args, npy_array *arrays,
                       char *err, size_t err_size) {
    int n = smelt_num_inputs(m);
    char given[MAX_INPUTS] = {0};
    for (int a = 0; a < n_args; a++) {
        char *eq = strchr(args[a], '=');
        const char *file = eq ? eq + 1 : args[a];
        int slot = -1;
        smelt_tensor_info t;
        for (int k = 0; k < n && slot < 0; k++) {
            if (smelt_input_info(m, k, &t)) continue;
            if (eq ? (strlen(t.name) == (size_t)(eq - args[a]) && !strncmp(t.name, args[a], (size_t)(eq - args[a])))
                   : !given[k])
                slot = k;
        }
        if (slot < 0) {
            if (eq) snprintf(err, err_size, "%s: the model has no input named '%.*s'", file, (int)(eq - args[a]), args[a]);
            else snprintf(err, err_size, "%s: more inputs given than the model has (%d)", file, n);
            return -1;
        }
        if (given[slot]) {
            snprintf(err, err_size, "input '%s' is given twice", t.name);
            return -1;
        }
        given[slot] = 1;
        if (npy_read_file(file, &arrays[slot], err, err_size)) return -1;
        int want = npy_of(t.dtype);
        if (want != (int)arrays[slot].dtype) {
            snprintf(err, err_size, "%s: input '%s' must be %s, the file holds %s", file, t.name, t.dtype,
                     npy_dtype_descr(arrays[slot].dtype));
            return -1;
        }
        if (smelt_set_input(s, slot, arrays[slot].data, arrays[slot].shape, arrays[slot].rank, err, err_size))
            return -1;
    }
    for (int k = 0; k < n; k++) {
        smelt_tensor_info t;
        if (!given[k] && !smelt_input_info(m, k, &t)) {
            snprintf(err, err_size, "input '%s' is not given (-i %s=FILE.npy)", t.name, t.name);
            return -1;
        }
    }
    return 0;
}

static int write_outputs(smelt_session *s, const smelt_model *m, const char *outdir, char *err, size_t err_size) {
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "%s: cannot create folder: %s", outdir, strerror(errno));
        return -1;
    }
    for (int o = 0; o < smelt_num_outputs(m); o++) {
        smelt_tensor_info t;
        npy_array a = {0};
        const void *data;
        if (smelt_output_info(m, o, &t) || smelt_get_output(s, o, &data, a.shape, &a.rank)) {
            snprintf(err, err_size, "output %d: not available", o);
            return -1;
        }
        int dt = npy_of(t.dtype);
        if (dt < 0 || a.rank > NPY_MAX_RANK) {
            snprintf(err, err_size, "output '%s': dtype %s has no .npy form", t.name, t.dtype);
            return -1;
        }
        a.dtype = (npy_dtype)dt;
        a.data = (void *)data;
        a.nbytes = (size_t)npy_numel(&a) * npy_dtype_size(a.dtype);
        char path[4096];
        rt_output_path(path, sizeof path, outdir, t.name);
        if (npy_write_file(path, &a, err, err_size)) return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    char err[2048];
    char *inputs[MAX_INPUTS];
    int n_inputs = 0, threads = 0, repeat = 0, rc = 1;
    const char *outdir = NULL;
    smelt_model *m = NULL;
    smelt_session *s = NULL;
    npy_array arrays[MAX_INPUTS];
    memset(arrays, 0, sizeof arrays);
    if (smelt_load_desc(&smelt_exe_desc, argv[0], &m, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            usage(stdout, argv[0], m);
            smelt_model_free(m);
            return 0;
        }
        int has_value = !strcmp(opt, "-i") || !strcmp(opt, "-o") || !strcmp(opt, "--threads") || !strcmp(opt, "--repeat");
        if (!has_value || i + 1 >= argc) {
            fprintf(stderr, "%s: %s '%s'\n(see %s --help)\n", argv[0], has_value ? "a value is needed after" : "unknown argument",
                    opt, argv[0]);
            smelt_model_free(m);
            return 2;
        }
        const char *val = argv[++i];
        int bad = 0;
        if (!strcmp(opt, "-i")) {
            if (n_inputs == MAX_INPUTS) bad = 1;
            else inputs[n_inputs++] = argv[i];
        } else if (!strcmp(opt, "-o")) {
            outdir = val;
        } else if (!strcmp(opt, "--threads")) {
            bad = parse_count(val, &threads);
        } else {
            bad = parse_count(val, &repeat) || repeat < 1;
        }
        if (bad) {
            fprintf(stderr, "%s: bad value '%s' for %s\n(see %s --help)\n", argv[0], val, opt, argv[0]);
            smelt_model_free(m);
            return 2;
        }
    }
    if (!outdir && !repeat) {
        fprintf(stderr, "%s: no output folder given (-o OUTDIR)\n(see %s --help)\n", argv[0], argv[0]);
        smelt_model_free(m);
        return 2;
    }
    if (smelt_session_new(m, &(smelt_options){.threads = threads}, &s, err, sizeof err) ||
        bind_inputs(s, m, inputs, n_inputs, arrays, err, sizeof err))
        goto done;
    double med, min;
    if (rt_run_timed(s, repeat ? repeat : 1, &med, &min, err, sizeof err)) goto done;
    if (repeat) printf("latency: median %.3f ms, min %.3f ms over %d runs\n", med, min, repeat);
    if (outdir && write_outputs(s, m, outdir, err, sizeof err)) goto done;
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s\n", err);
    for (int k = 0; k < MAX_INPUTS; k++) npy_free(&arrays[k]);
    smelt_session_free(s);
    smelt_model_free(m);
    return rc;
}
