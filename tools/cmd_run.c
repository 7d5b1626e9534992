/* cmd_run.c — `smelt run MODEL -i NAME=FILE ... -o OUTDIR`: run a model on
 * .npy or .pb inputs and write each output as OUTDIR/NAME.npy. Today it
 * runs the reference interpreter (--target interp, the default until the
 * CPU backend exists). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "frontend/load.h"
#include "ir/interp.h"
#include "tensor_io.h"

static int run_run(int argc, char **argv);

const cli_verb verb_run = {
    "run", "run a model on .npy / .pb inputs",
    "usage: smelt run MODEL -i [NAME=]FILE ... -o OUTDIR [--target interp] [--print-kernels]\n\n"
    "Runs MODEL on the given inputs and writes each output as OUTDIR/NAME.npy\n"
    "with its exact dtype. Dtypes numpy has no type for (bf16, float8, float4,\n"
    "4- and 2-bit ints) are written one element per '<u2' / '|u1' (float bits)\n"
    "or '|i1' / '|u1' (int values) and OUTDIR/NAME.npy.dtype names the dtype.\n"
    "Inputs are .npy files or ONNX TensorProto .pb files;\n"
    "without NAME= they bind to the graph inputs in order (a .pb file's own\n"
    "tensor name is used when it names an input). --target interp runs the\n"
    "reference interpreter (the only target so far).\n",
    run_run};

#define MAX_INPUTS 256

typedef struct input_arg {
    const char *name; /* NULL when positional */
    const char *file;
} input_arg;

/* Output file name: the value name with '/' and other awkward bytes replaced. */
static void output_path(char *buf, size_t size, const char *dir, const char *name) {
    char clean[512];
    size_t k = 0;
    for (const char *c = name; *c && k + 1 < sizeof clean; c++)
        clean[k++] = (*c == '/' || *c == '\\' || *c == ':' || (unsigned char)*c < 32) ? '_' : *c;
    clean[k] = 0;
    snprintf(buf, size, "%s/%s.npy", dir, clean);
}

static int bind_inputs(ir_graph *g, const input_arg *args, int n_args, interp_tensor *tensors, diag *d) {
    int positional = 0;
    bool *bound = calloc(g->n_inputs ? g->n_inputs : 1, 1);
    if (!bound) return diag_error(d, "out of memory");
    int rc = -1;
    for (int i = 0; i < n_args; i++) {
        interp_tensor t;
        char *pb_name = NULL;
        if (tensor_read(args[i].file, &t, &pb_name, d)) goto out;
        const char *name = args[i].name;
        if (!name && pb_name && *pb_name && ir_find_value(g, pb_name) != IR_NONE) name = pb_name;
        uint32_t slot = UINT32_MAX;
        for (uint32_t k = 0; k < g->n_inputs; k++) {
            if (name ? !strcmp(g->values[g->inputs[k]].name, name) : !bound[k]) {
                slot = k;
                break;
            }
        }
        if (!name) positional++;
        if (slot == UINT32_MAX) {
            if (name) diag_error(d, "%s: the model has no input named '%s'", args[i].file, name);
            else diag_error(d, "%s: more inputs given than the model has (%u)", args[i].file, g->n_inputs);
            free(t.data);
            free(pb_name);
            goto out;
        }
        free(pb_name);
        if (bound[slot]) {
            free(t.data);
            diag_error(d, "input '%s' is given twice", g->values[g->inputs[slot]].name);
            goto out;
        }
        bound[slot] = true;
        tensors[slot] = t;
    }
    for (uint32_t k = 0; k < g->n_inputs; k++)
        if (!bound[k]) {
            diag_error(d, "input '%s' is not given (-i %s=FILE)", g->values[g->inputs[k]].name,
                       g->values[g->inputs[k]].name);
            goto out;
        }
    rc = 0;
out:
    free(bound);
    (void)positional;
    return rc;
}

static int run_run(int argc, char **argv) {
    const char *model = NULL, *outdir = NULL, *target = "interp";
    input_arg inputs[MAX_INPUTS];
    int n_inputs = 0, print_kernels = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-i")) {
            if (++i >= argc) return cli_usage_error(&verb_run, "-i needs [NAME=]FILE");
            if (n_inputs == MAX_INPUTS) return cli_usage_error(&verb_run, "more than %d inputs", MAX_INPUTS);
            char *eq = strchr(argv[i], '=');
            if (eq) {
                *eq = 0;
                inputs[n_inputs++] = (input_arg){argv[i], eq + 1};
            } else {
                inputs[n_inputs++] = (input_arg){NULL, argv[i]};
            }
        } else if (!strcmp(argv[i], "-o")) {
            if (++i >= argc) return cli_usage_error(&verb_run, "-o needs a folder");
            outdir = argv[i];
        } else if (!strcmp(argv[i], "--target")) {
            if (++i >= argc) return cli_usage_error(&verb_run, "--target needs a name");
            target = argv[i];
        } else if (!strcmp(argv[i], "--print-kernels")) {
            print_kernels = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(&verb_run, "unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else {
            return cli_usage_error(&verb_run, "more than one model given ('%s' and '%s')", model, argv[i]);
        }
    }
    if (!model) return cli_usage_error(&verb_run, "no model given");
    if (strcmp(target, "interp")) return cli_usage_error(&verb_run, "unknown target '%s' (available: interp)", target);
    if (!outdir && !print_kernels) return cli_usage_error(&verb_run, "no output folder given (-o OUTDIR)");

    diag d;
    diag_init(&d);
    int rc = EXIT_USER;
    interp_tensor *in = NULL, *out = NULL;
    kir_program *prog = NULL;
    ir_graph *g = model_load(model, &d);
    if (!g) return cli_fail(&d);
    prog = kir_lower(g, &d);
    if (!prog) goto fail;
    if (print_kernels) kir_print(prog, stdout);
    if (!outdir) {
        rc = EXIT_OK;
        goto done;
    }
    in = calloc(g->n_inputs ? g->n_inputs : 1, sizeof *in);
    out = calloc(g->n_outputs ? g->n_outputs : 1, sizeof *out);
    if (!in || !out) {
        diag_error(&d, "out of memory");
        goto fail;
    }
    if (bind_inputs(g, inputs, n_inputs, in, &d)) goto fail;
    if (interp_run(prog, in, out, &d)) goto fail;
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        diag_error(&d, "%s: cannot create folder: %s", outdir, strerror(errno));
        goto fail;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        char path[4096];
        output_path(path, sizeof path, outdir, g->values[g->outputs[o]].name);
        if (tensor_write_npy(path, &out[o], &d)) goto fail;
    }
    rc = EXIT_OK;
    goto done;
fail:
    cli_fail(&d);
done:
    for (uint32_t k = 0; in && k < g->n_inputs; k++) free(in[k].data);
    for (uint32_t k = 0; out && k < g->n_outputs; k++) free(out[k].data);
    free(in);
    free(out);
    kir_free(prog);
    ir_graph_free(g);
    return rc;
}
