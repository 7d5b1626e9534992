/* cmd_run.c — `smelt run MODEL -i NAME=FILE ... -o OUTDIR`: run a model on
 * .npy or .pb inputs and write each output as OUTDIR/NAME.npy. MODEL is an
 * ONNX or IR model, run by the reference interpreter (--target interp, the
 * default for now) or compiled in memory for this CPU and run by the
 * runtime (--target cpu), or also as SPIR-V and run on a Vulkan device
 * (--target vulkan, run_vulkan.c); or a compiled shared object (`smelt
 * compile`), run by the runtime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifact.h"
#include "cli.h"
#include "frontend/load.h"
#include "ir/interp.h"
#include "pass_args.h"
#include "run_vulkan.h"
#include "runtime/run_util.h"
#include "tensor_io.h"

static int run_run(int argc, char **argv);

const cli_verb verb_run = {
    "run", "run a model on .npy / .pb inputs",
    "usage: smelt run MODEL -i [NAME=]FILE ... -o OUTDIR [--target interp|cpu|vulkan] [--print-kernels]\n"
    "                 [--no-specialize] [--no-fuse] [--no-opt] [--print-after=PASS] [--print-after-all]\n"
    "                 [--threads N] [--repeat N] [--quantize f16|bf16|int8|q8_0|q4_0|q4_k ...] [--precision f16|bf16] [--device N] [--profile]\n"
    "       smelt run MODEL.gguf|MODEL.so --prompt TEXT [-n N] [--chat] [--temp T] [--top-k K]\n"
    "                 [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S] [--ctx N] [--threads N]\n"
    "                 [--target cpu|vulkan] [--device N] [--profile] [--ignore-eos]\n\n"
    "Runs MODEL on the given inputs and writes each output as OUTDIR/NAME.npy\n"
    "with its exact dtype. Dtypes numpy has no type for (bf16, float8, float4,\n"
    "4- and 2-bit ints) are written one element per '<u2' / '|u1' (float bits)\n"
    "or '|i1' / '|u1' (int values) and OUTDIR/NAME.npy.dtype names the dtype.\n"
    "Inputs are .npy files or ONNX TensorProto .pb files;\n"
    "without NAME= they bind to the graph inputs in order (a .pb file's own\n"
    "tensor name is used when it names an input). --target interp runs the\n"
    "reference interpreter (the default); --target cpu compiles the model for\n"
    "this machine's CPU in memory and runs it with the runtime; --target vulkan\n"
    "also compiles its kernels to SPIR-V and runs them on Vulkan device N\n"
    "(--device N, see `smelt devices`; default: the first GPU), the kernels the\n"
    "device cannot run on the CPU between dispatches. --profile prints each\n"
    "step's mean wall time on the CPU (the 25 taking most first; every step\n"
    "with SMELT_PROFILE_ALL=1), or each\n"
    "dispatch's device time on Vulkan. MODEL may also be\n"
    "a shared object made by `smelt compile`, run by the runtime (with --target\n"
    "vulkan: its SPIR-V, when compiled with --target cpu,vulkan; without a Vulkan\n"
    "device it runs on the CPU, and says so). With the\n"
    "runtime, --threads N uses N threads (default: every core) and --repeat N\n"
    "runs N times and prints the median latency (-o is then optional).\n\n"
    "The model is compiled for the inputs given: symbolic dimensions take the\n"
    "inputs' sizes, and integer inputs of at most 64 elements (shape operands\n"
    "such as axes, target shapes, pads) become constants of the graph; if sizes\n"
    "still depend on input values, small inputs of any dtype do too (Resize\n"
    "scales). --no-specialize turns this off. Elementwise kernels are fused into their\n"
    "consumers, and a kernel's elementwise reader into its epilogue, unless\n"
    "--no-fuse is given.\n\n"
    "With --prompt, MODEL (a GGUF LLM, or an artifact compiled from one) generates\n"
    "up to N tokens (default 128) after TEXT and prints them as they come, then the\n"
    "prompt and generation speeds. --chat wraps TEXT in the model's chat template.\n"
    "Sampling: --temp (0.8; 0 is greedy), --top-k (40), --top-p (0.95), --min-p (0.05),\n"
    "--repeat-penalty (1, off) over --repeat-last-n (64) tokens, --seed (0). --ctx N:\n"
    "positions of the KV cache (2048). --target vulkan runs the steps on a Vulkan\n"
    "device (a GGUF file is compiled with its SPIR-V; an artifact needs\n"
    "--target cpu,vulkan), on the CPU, said on stderr, without one; --profile\n"
    "prints each dispatch's device time in the last step, or on the CPU each\n"
    "step's wall time, mean over the prefill and decode runs (-n 1: the prefill\n"
    "alone). --ignore-eos\n"
    "(benchmarks) generates all N tokens and prints their ids.\n" PASS_ARGS_USAGE,
    run_run};

#define MAX_INPUTS 256
#define DEFAULT_TARGET "interp"

/* How the runtime runs a compiled model (--target cpu, artifacts). */
typedef struct run_opts {
    int threads, repeat;
    int vulkan;       /* --target vulkan */
    cli_vk_opts vk;
} run_opts;

typedef struct input_arg {
    const char *name; /* NULL when positional */
    const char *file;
} input_arg;

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

/* Compile p for this CPU into a shared object in memory, load it and run
 * it on in (one tensor per graph input). */
static int run_cpu(kir_program *p, const char *model, const interp_tensor *in, const run_opts *ro,
                   const char *outdir, diag *d) {
    const char *slash = strrchr(model, '/');
    cg_options o = {.opt_level = -1, .pic = 1, .model = slash ? slash + 1 : model};
    cg_bytes so = {0};
    smelt_model *m = NULL;
    int rc = cli_build_artifact(p, &o, CLI_EMIT_SO, model, &so, NULL, d);
    if (rc == 0) rc = cli_load_shared(&so, model, &m, d);
    if (rc == 0) rc = cli_run_model(m, in, ro->threads, ro->repeat, ro->vk.profile, -1, outdir, d);
    smelt_model_free(m);
    cg_bytes_free(&so);
    return rc;
}

/* Run a compiled artifact (a shared object) on the input files. */
static int run_artifact(const char *path, const input_arg *inputs, int n_inputs, const run_opts *ro,
                        const char *outdir) {
    diag d;
    diag_init(&d);
    char err[2048];
    smelt_model *m = NULL;
    double load_start = rt_now_ms();
    if (smelt_load(path, &m, err, sizeof err)) {
        diag_error(&d, "%s", err);
        return cli_fail(&d);
    }
    uint32_t n = (uint32_t)smelt_num_inputs(m);
    char **names = calloc(n ? n : 1, sizeof *names);
    interp_tensor *given = calloc(n ? n : 1, sizeof *given);
    int rc = -1;
    if (!names || !given || n > MAX_INPUTS) {
        diag_error(&d, n > MAX_INPUTS ? "%s: more than 256 inputs" : "%s: out of memory", path);
    } else {
        for (uint32_t k = 0; k < n; k++) {
            smelt_tensor_info t;
            names[k] = smelt_input_info(m, (int)k, &t) ? strdup("?") : strdup(t.name);
        }
        if (!read_inputs(names, n, inputs, n_inputs, given, &d))
            rc = ro->vulkan ? cli_run_artifact_vulkan(m, given, &ro->vk, ro->threads, ro->repeat, load_start, outdir, &d)
                            : cli_run_model(m, given, ro->threads, ro->repeat, ro->vk.profile, load_start, outdir, &d);
    }
    for (uint32_t k = 0; names && given && k < n; k++) {
        free(names[k]);
        free(given[k].data);
    }
    free(names);
    free(given);
    smelt_model_free(m);
    return rc ? cli_fail(&d) : EXIT_OK;
}

/* The value of --threads / --repeat: a count in [lo, 1000000]. */
static int parse_count(const char *s, int lo, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

int cli_generate(int argc, char **argv); /* cmd_generate.c */

static int run_run(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--prompt") || !strcmp(argv[i], "--prompt-ids")) return cli_generate(argc, argv);
    const char *model = NULL, *outdir = NULL, *target = DEFAULT_TARGET;
    run_opts ro = {0, 0, 0, {-1, 0, 0, 0}};
    input_arg inputs[MAX_INPUTS];
    int n_inputs = 0, print_kernels = 0, specialize = 1, fuse = 1;
    pass_options popts;
    pass_args_init(&popts);
    for (int i = 1; i < argc; i++) {
        int pa = pass_args_parse(&popts, argc, argv, &i);
        if (pa < 0) return cli_usage_error(&verb_run, "bad or missing value for '%s'", argv[i]);
        if (pa) {
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
        } else if (!strcmp(argv[i], "--device")) {
            if (++i >= argc || parse_count(argv[i], 0, &ro.vk.device))
                return cli_usage_error(&verb_run, "--device needs a device number (see `smelt devices`)");
        } else if (!strcmp(argv[i], "--profile")) {
            ro.vk.profile = 1;
        } else if (!strcmp(argv[i], "--print-kernels")) {
            print_kernels = 1;
        } else if (!strcmp(argv[i], "--no-specialize")) {
            specialize = 0;
        } else if (!strcmp(argv[i], "--no-fuse")) {
            fuse = 0;
        } else if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--repeat")) {
            int threads = argv[i][2] == 't';
            if (++i >= argc || parse_count(argv[i], threads ? 0 : 1, threads ? &ro.threads : &ro.repeat))
                return cli_usage_error(&verb_run, "%s needs a count", argv[i - 1 < argc ? i - 1 : argc - 1]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(&verb_run, "unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else {
            return cli_usage_error(&verb_run, "more than one model given ('%s' and '%s')", model, argv[i]);
        }
    }
    if (!model) return cli_usage_error(&verb_run, "no model given");
    int vulkan = !strcmp(target, "vulkan"), cpu = !strcmp(target, "cpu") || vulkan, artifact = cli_is_elf(model);
    if (!cpu && strcmp(target, "interp"))
        return cli_usage_error(&verb_run, "unknown target '%s' (available: interp, cpu, vulkan)", target);
    if (!outdir && !print_kernels && !((cpu || artifact) && ro.repeat))
        return cli_usage_error(&verb_run, "no output folder given (-o OUTDIR)");
    if (ro.repeat && !cpu && !artifact) return cli_usage_error(&verb_run, "--repeat needs --target cpu or vulkan");
    if (ro.vk.device >= 0 && !vulkan) return cli_usage_error(&verb_run, "--device needs --target vulkan");
    if (ro.vk.profile && !cpu && !artifact)
        return cli_usage_error(&verb_run, "--profile needs --target cpu or vulkan, or an artifact");
    if (artifact && print_kernels) return cli_usage_error(&verb_run, "--print-kernels needs a model, not an artifact");
    ro.vulkan = vulkan;
    ro.vk.half = popts.precision != 0;
    ro.vk.verbose = getenv("SMELT_VK_VERBOSE") != NULL;
    if (artifact) return run_artifact(model, inputs, n_inputs, &ro, outdir);

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
    int run_it = outdir || ro.repeat; /* else only --print-kernels */
    if (run_it && read_inputs(names, n_names, inputs, n_inputs, given, &d)) goto fail;
    g = run_it && specialize ? load_specialized(model, names, n_names, given, bind, &d) : model_load(model, &d);
    if (!g || cli_lower_graph(g, &popts, fuse, &prog, &d)) goto fail;
    if (print_kernels) kir_print(prog, stdout);
    if (!run_it) {
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
    if (vulkan) {
        ro.vk.verbose = getenv("SMELT_VK_VERBOSE") != NULL;
        rc = cli_run_vulkan(prog, model, in, &ro.vk, ro.threads, ro.repeat, outdir, &d) ? cli_fail(&d) : EXIT_OK;
        goto done;
    }
    if (cpu) {
        rc = run_cpu(prog, model, in, &ro, outdir, &d) ? cli_fail(&d) : EXIT_OK;
        goto done;
    }
    if (interp_run(prog, in, out, &d)) goto fail;
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        diag_error(&d, "%s: cannot create folder: %s", outdir, strerror(errno));
        goto fail;
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) {
        char path[4096];
        rt_output_path(path, sizeof path, outdir, g->values[g->outputs[o]].name);
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
