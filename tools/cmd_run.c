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
#include "pass_args.h"
#include "tensor_io.h"

static int run_run(int argc, char **argv);

const cli_verb verb_run = {
    "run", "run a model on .npy / .pb inputs",
    "usage: smelt run MODEL -i [NAME=]FILE ... -o OUTDIR [--target interp] [--print-kernels]\n"
    "                 [--no-specialize] [--no-fuse] [--no-opt] [--print-after=PASS] [--print-after-all]\n\n"
    "Runs MODEL on the given inputs and writes each output as OUTDIR/NAME.npy\n"
    "with its exact dtype. Dtypes numpy has no type for (bf16, float8, float4,\n"
    "4- and 2-bit ints) are written one element per '<u2' / '|u1' (float bits)\n"
    "or '|i1' / '|u1' (int values) and OUTDIR/NAME.npy.dtype names the dtype.\n"
    "Inputs are .npy files or ONNX TensorProto .pb files;\n"
    "without NAME= they bind to the graph inputs in order (a .pb file's own\n"
    "tensor name is used when it names an input). --target interp runs the\n"
    "reference interpreter (the only target so far).\n\n"
    "The model is compiled for the inputs given: symbolic dimensions take the\n"
    "inputs' sizes, and integer inputs of at most 64 elements (shape operands\n"
    "such as axes, target shapes, pads) become constants of the graph; if sizes\n"
    "still depend on input values, small inputs of any dtype do too (Resize\n"
    "scales). --no-specialize turns this off. Elementwise kernels are fused into their\n"
    "consumers, and a kernel's elementwise reader into its epilogue, unless\n"
    "--no-fuse is given.\n" PASS_ARGS_USAGE,
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

/* The graph input names of a model, in order, before it is built. */
static int list_inputs(const char *model, char ***names, uint32_t *n, diag *d) {
    if (model_detect_format(model) == MODEL_ONNX) return onnx_list_inputs(model, names, n, d);
    ir_graph *g = model_load(model, d);
    if (!g) return -1;
    *n = 0;
    *names = calloc(g->n_inputs ? g->n_inputs : 1, sizeof **names);
    for (uint32_t i = 0; *names && i < g->n_inputs; i++) (*names)[(*n)++] = strdup(g->values[g->inputs[i]].name);
    ir_graph_free(g);
    return *names ? 0 : diag_error(d, "out of memory");
}

/* Reads the input files and matches each to a graph input: by NAME=, by
 * the name inside a .pb file, or else the next input not yet given. */
static int read_inputs(char **names, uint32_t n_names, const input_arg *args, int n_args, interp_tensor *tensors,
                       diag *d) {
    bool given[MAX_INPUTS] = {0};
    for (int i = 0; i < n_args; i++) {
        interp_tensor t;
        char *pb_name = NULL;
        if (tensor_read(args[i].file, &t, &pb_name, d)) return -1;
        uint32_t slot = UINT32_MAX;
        for (uint32_t k = 0; k < n_names && slot == UINT32_MAX; k++)
            if (args[i].name ? !strcmp(names[k], args[i].name) : (pb_name && !strcmp(names[k], pb_name) && !given[k]))
                slot = k;
        for (uint32_t k = 0; !args[i].name && k < n_names && slot == UINT32_MAX; k++)
            if (!given[k]) slot = k;
        free(pb_name);
        if (slot == UINT32_MAX) {
            free(t.data);
            if (args[i].name) return diag_error(d, "%s: the model has no input named '%s'", args[i].file, args[i].name);
            return diag_error(d, "%s: more inputs given than the model has (%u)", args[i].file, n_names);
        }
        if (given[slot]) {
            free(t.data);
            return diag_error(d, "input '%s' is given twice", names[slot]);
        }
        given[slot] = true;
        tensors[slot] = t;
    }
    for (uint32_t k = 0; k < n_names; k++)
        if (!given[k]) return diag_error(d, "input '%s' is not given (-i %s=FILE)", names[k], names[k]);
    return 0;
}

/* Small integer inputs are shape operands in practice (axes, target shapes,
 * pads, k): the graph is specialized to their values, as an ahead-of-time
 * compiler needs them known. With `any_dtype`, small inputs of every dtype
 * qualify (float scales of Resize, a bool condition of Compress). */
static bool specializable(const interp_tensor *t, bool any_dtype) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->shape[i];
    return (any_dtype || t->dtype == IR_I64 || t->dtype == IR_I32) && n <= 64;
}

/* With every input's shape fixed, a symbolic dimension left in the graph
 * is a size that depends on input values. */
static bool has_data_dependent_dims(const ir_graph *g) {
    for (uint32_t v = 0; v < g->n_values; v++)
        for (int i = 0; i < g->values[v].rank; i++)
            if (!ir_dim_is_const(g->values[v].dims[i])) return true;
    return false;
}

/* Load the model specialized to the inputs: integer shape operands first;
 * if sizes still depend on input values (or that fails), small inputs of
 * any dtype too. */
static ir_graph *load_specialized(const char *model, char **names, uint32_t n_names, const interp_tensor *given,
                                  onnx_input_binding *bind, diag *d) {
    ir_graph *g = NULL;
    for (int any_dtype = 0; any_dtype < 2; any_dtype++) {
        uint32_t n_bind = 0;
        for (uint32_t k = 0; k < n_names; k++) /* values of shape operands, shapes of the rest */
            bind[n_bind++] = (onnx_input_binding){names[k], given[k].dtype, given[k].rank, given[k].shape,
                                                  specializable(&given[k], any_dtype) ? given[k].data : NULL,
                                                  given[k].nbytes};
        diag_init(d);
        ir_graph_free(g);
        g = model_load_bound(model, bind, n_bind, d);
        if (g && !has_data_dependent_dims(g)) break;
    }
    return g;
}

static int run_run(int argc, char **argv) {
    const char *model = NULL, *outdir = NULL, *target = "interp";
    input_arg inputs[MAX_INPUTS];
    int n_inputs = 0, print_kernels = 0, specialize = 1, fuse = 1;
    pass_options popts;
    pass_args_init(&popts);
    for (int i = 1; i < argc; i++) {
        if (pass_args_parse(&popts, argv[i])) {
            continue;
        } else if (!strcmp(argv[i], "-i")) {
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
        } else if (!strcmp(argv[i], "--no-specialize")) {
            specialize = 0;
        } else if (!strcmp(argv[i], "--no-fuse")) {
            fuse = 0;
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
    char **names = NULL;
    uint32_t n_names = 0;
    interp_tensor *given = NULL, *in = NULL, *out = NULL;
    onnx_input_binding *bind = NULL;
    kir_program *prog = NULL;
    ir_graph *g = NULL;
    if (list_inputs(model, &names, &n_names, &d)) return cli_fail(&d);
    if (n_names > MAX_INPUTS) {
        diag_error(&d, "%s: more than %d inputs", model, MAX_INPUTS);
        goto fail;
    }
    given = calloc(n_names ? n_names : 1, sizeof *given);
    bind = calloc(n_names ? n_names : 1, sizeof *bind);
    if (!given || !bind) {
        diag_error(&d, "out of memory");
        goto fail;
    }
    if (outdir && read_inputs(names, n_names, inputs, n_inputs, given, &d)) goto fail;
    g = outdir && specialize ? load_specialized(model, names, n_names, given, bind, &d) : model_load(model, &d);
    if (!g || pass_pipeline(g, &popts, &d)) goto fail;
    prog = kir_lower(g, &d);
    /* epilogues first, so that a ReLU after a Conv is not inlined into the next Conv's loads */
    if (!prog || (fuse && (kir_fuse_epilogue(prog, &d) || kir_fuse(prog, &d) || kir_fuse_epilogue(prog, &d))) ||
        kir_prune(prog, &d))
        goto fail;
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
    for (uint32_t i = 0; i < g->n_inputs; i++) /* the graph's remaining inputs, by name */
        for (uint32_t k = 0; k < n_names; k++)
            if (!strcmp(names[k], g->values[g->inputs[i]].name)) in[i] = given[k];
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
    for (uint32_t k = 0; given && k < n_names; k++) free(given[k].data);
    for (uint32_t k = 0; k < n_names; k++) free(names[k]);
    for (uint32_t k = 0; g && out && k < g->n_outputs; k++) free(out[k].data);
    free(names);
    free(given);
    free(bind);
    free(in);
    free(out);
    kir_free(prog);
    ir_graph_free(g);
    return rc;
}
