/* cmd_compile.c — `smelt compile MODEL -o OUT`: compile a model into a
 * deployable artifact (docs/artifact.md): a shared object, a standalone
 * executable, or an object plus a C header. The model is loaded, the graph
 * passes run, it is lowered, fused and pruned, compiled by the LLVM backend
 * for the target and linked; the result is written atomically, so a failed
 * compile leaves no file (and an older OUT untouched). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifact.h"
#include "cli.h"
#include "codegen/spirv/spv.h"
#include "frontend/gguf/gguf_import.h"
#include "frontend/load.h"
#include "gen_model.h"
#include "ir/outfile.h"
#include "pass_args.h"

static int run_compile(int argc, char **argv);

const cli_verb verb_compile = {
    "compile", "compile a model into a deployable artifact",
    "usage: smelt compile MODEL -o OUT [--emit so|exe|obj|spirv-asm] [--target TRIPLE[,vulkan]]\n"
    "                     [--cpu NAME|native] [--features +F,-F] [--name NAME] [-O0|-O1|-O2|-O3]\n"
    "                     [--no-opt] [--print-after=PASS] [--print-after-all]\n"
    "                     [--quantize f16|bf16|int8|q8_0|q4_0|q4_k] [--quantize-skip GLOB]\n"
    "                     [--quantize-all] [--quantize-min N] [--precision f16|bf16]\n\n"
    "Compiles MODEL (.onnx, .ir, or a .gguf LLM: its generation step, carrying its\n"
    "tokenizer and chat template for `smelt run OUT --prompt`) to native code and\n"
    "writes OUT:\n"
    "  --emit so   a shared object (the default), loaded by the runtime (smelt_load)\n"
    "              or by `smelt run OUT`;\n"
    "  --emit exe  a standalone executable with the runtime linked in:\n"
    "              OUT -i NAME=FILE.npy ... -o OUTDIR [--threads N] [--repeat N];\n"
    "  --emit obj  an object file OUT and a header (OUT without .o, plus .h) that\n"
    "              declares the exported desc and states the fixed sizes, for\n"
    "              static linking with libsmeltrt.a (smelt_load_desc);\n"
    "  --emit spirv-asm  the SPIR-V of every kernel (the Vulkan backend), as\n"
    "              validated disassembly; kernels that run on the host say why.\n"
    "--target TRIPLE picks the architecture (x86_64-linux-gnu, aarch64-linux-gnu;\n"
    "`cpu` or nothing: this machine's), or aarch64-apple-darwin (Apple silicon\n"
    "macOS, with --emit obj: a Mach-O object and its header, linked on the Mac);\n"
    "a list with `vulkan` (--target cpu,vulkan) also stores every kernel's SPIR-V\n"
    "in the artifact, run by `smelt run OUT --target vulkan` on a device that has\n"
    "what each module needs, the CPU code otherwise. --cpu picks the CPU whose\n"
    "features the code may use:\n"
    "a name (skylake-avx512, znver3, neoverse-n1), a level (x86-64-v2, x86-64-v3,\n"
    "x86-64-v4) or native (this machine's CPU; the default for the host target,\n"
    "generic otherwise); the runtime refuses an artifact that needs a feature the\n"
    "machine lacks. --name NAME exports the model as smelt_model_NAME (default:\n"
    "smelt_model), so that several can be linked into one program. -O sets LLVM's\n"
    "optimization level (default -O3). The same input gives the same bytes.\n\n"
    "Executables for another architecture link its runtime, built by\n"
    "`make runtime-TRIPLE` into build/TRIPLE/ (found beside the smelt program,\n"
    "in ../lib/smelt, or in $SMELT_RUNTIME_DIR).\n" PASS_ARGS_USAGE,
    run_compile};

/* The architectures the backend supports: Linux on x86-64 and aarch64 (every
 * --emit), and macOS on Apple silicon (--emit obj only: linking a Mach-O
 * program takes the Mac's SDK and linker, so the object is linked there). */
static int known_target(const char *triple, cli_emit emit) {
    static const char *const arches[] = {"x86_64-", "aarch64-", "arm64-"};
    bool apple = strstr(triple, "-apple-") && (strstr(triple, "darwin") || strstr(triple, "macos"));
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        if (strncmp(triple, arches[i], strlen(arches[i]))) continue;
        if (strstr(triple, "linux")) return 1;
        if (apple && i > 0 && emit == CLI_EMIT_OBJ) return 1;
    }
    return 0;
}

/* OUT without a trailing .o, plus .h. */
static void header_path(char *buf, size_t size, const char *out) {
    size_t n = strlen(out);
    if (n > 2 && !strcmp(out + n - 2, ".o")) n -= 2;
    snprintf(buf, size, "%.*s.h", (int)n, out);
}

/* Write the artifact (and header) atomically. */
static int write_outputs(const char *out, cli_emit emit, const cg_bytes *main, const cg_bytes *header, diag *d) {
    outfile of, hf;
    char hpath[4200];
    if (outfile_open(&of, out, d)) return -1;
    if (emit == CLI_EMIT_OBJ) {
        header_path(hpath, sizeof hpath, out);
        if (outfile_open(&hf, hpath, d)) {
            outfile_abort(&of);
            return -1;
        }
        if (fwrite(header->data, 1, header->size, hf.f) != header->size) {
            outfile_abort(&hf);
            outfile_abort(&of);
            return diag_error(d, "%s: write failed", hpath);
        }
    }
    if (fwrite(main->data, 1, main->size, of.f) != main->size) {
        if (emit == CLI_EMIT_OBJ) outfile_abort(&hf);
        outfile_abort(&of);
        return diag_error(d, "%s: write failed", out);
    }
    if (emit == CLI_EMIT_OBJ && outfile_commit(&hf, d)) {
        outfile_abort(&of);
        return -1;
    }
    if (outfile_commit(&of, d)) return -1;
    if (emit == CLI_EMIT_EXE && chmod(out, 0755) != 0) return diag_error(d, "%s: cannot make it executable", out);
    return 0;
}

/* --target LIST: one CPU (a triple, or cpu: the host's) and vulkan. */
static int parse_targets(const char *list, char *buf, size_t size, const char **triple, int *vulkan) {
    int cpus = 0;
    *triple = NULL;
    *vulkan = 0;
    for (const char *s = list; *s;) {
        size_t n = strcspn(s, ",");
        if (n == 6 && !strncmp(s, "vulkan", 6)) *vulkan = 1;
        else if (n == 0 || n >= size || cpus++) return -1;
        else if (n == 3 && !strncmp(s, "cpu", 3)) *triple = NULL;
        else {
            memcpy(buf, s, n);
            buf[n] = 0;
            *triple = buf;
        }
        s += n + (s[n] == ',');
    }
    return 0;
}

/* The SPIR-V of every kernel that has one, for the artifact (a section;
 * artifact.h); contractions of f16 operands also as cooperative-matrix
 * GEMMs, chosen at load time where the device has them. */
int cli_spirv_section(const kir_program *p, cg_extra *x, unsigned char **data, char **json, diag *d) {
    spv_features f;
    spv_features_all(&f);
    const char *tile = getenv("SMELT_VK_TILE"); /* contractions tiled unless 0 (for comparisons) */
    f.tiled = !(tile && *tile == '0');
    f.coop = false;
    spv_program sp, alt = {0};
    if (spv_compile(p, &f, &sp, d)) return -1;
    f.coop = f.tiled;
    uint64_t len;
    int rc = f.coop && spv_compile(p, &f, &alt, d) ? -1 : spv_pack(&sp, &alt, data, &len, json, d);
    spv_program_free(&sp);
    spv_program_free(&alt);
    *x = (cg_extra){"vulkan", *json, *data, len};
    return rc;
}

/* --emit spirv-asm: every kernel's module, validated and disassembled. */
static int write_spirv_asm(const kir_program *p, const char *model, const char *out, diag *d) {
    spv_features f;
    spv_features_all(&f);
    spv_program sp;
    if (spv_compile(p, &f, &sp, d)) return -1;
    outfile of;
    int rc = outfile_open(&of, out, d);
    fprintf(of.f, "; %s: %u kernels, %u as SPIR-V\n", model, sp.n_kernels, sp.n_device);
    for (uint32_t k = 0; rc == 0 && k < sp.n_kernels; k++) {
        const char *name = p->kernels[k].name ? p->kernels[k].name : "";
        if (!sp.k[k].words) {
            fprintf(of.f, "\n; kernel %u '%s' runs on the host: %s\n", k, name, sp.k[k].why);
            continue;
        }
        char err[1024];
        if (spv_validate(sp.k[k].words, sp.k[k].n_words, err, sizeof err)) {
            rc = diag_error(d, "%s: kernel %u '%s': the SPIR-V backend wrote an invalid module: %s", model, k, name, err);
            break;
        }
        char *text = spv_disassemble(sp.k[k].words, sp.k[k].n_words, d);
        if (!text) {
            rc = -1;
            break;
        }
        fprintf(of.f, "\n; kernel %u '%s'\n%s", k, name, text);
        free(text);
    }
    if (rc == 0) rc = outfile_commit(&of, d);
    else outfile_abort(&of);
    spv_program_free(&sp);
    return rc;
}

static int run_compile(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *name = NULL;
    cg_options o = {.opt_level = -1, .pic = 1};
    cli_emit emit = CLI_EMIT_SO;
    int spirv_asm = 0, vulkan = 0;
    char triple[128];
    pass_options popts;
    pass_args_init(&popts);
    for (int i = 1; i < argc; i++) {
        int pa = pass_args_parse(&popts, argc, argv, &i);
        if (pa < 0) return cli_usage_error(&verb_compile, "bad or missing value for '%s'", argv[i]);
        if (pa) continue;
        const char *a = argv[i];
        int takes = !strcmp(a, "-o") || !strcmp(a, "--emit") || !strcmp(a, "--target") || !strcmp(a, "--cpu") ||
                    !strcmp(a, "--features") || !strcmp(a, "--name");
        if (takes && i + 1 >= argc) return cli_usage_error(&verb_compile, "%s needs a value", a);
        if (!strcmp(a, "-o")) {
            out = argv[++i];
        } else if (!strcmp(a, "--emit")) {
            const char *e = argv[++i];
            if (!strcmp(e, "so")) emit = CLI_EMIT_SO;
            else if (!strcmp(e, "exe")) emit = CLI_EMIT_EXE;
            else if (!strcmp(e, "obj")) emit = CLI_EMIT_OBJ;
            else if (!strcmp(e, "spirv-asm")) spirv_asm = 1;
            else return cli_usage_error(&verb_compile, "unknown --emit '%s' (so, exe, obj or spirv-asm)", e);
        } else if (!strcmp(a, "--target")) {
            if (parse_targets(argv[++i], triple, sizeof triple, &o.target.triple, &vulkan))
                return cli_usage_error(&verb_compile, "--target '%s': a triple, cpu or vulkan, comma-separated", argv[i]);
        } else if (!strcmp(a, "--cpu")) {
            o.target.cpu = argv[++i];
        } else if (!strcmp(a, "--features")) {
            o.target.features = argv[++i];
        } else if (!strcmp(a, "--name")) {
            name = argv[++i];
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
            o.opt_level = a[2] - '0';
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(&verb_compile, "unknown option '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error(&verb_compile, "more than one model given ('%s' and '%s')", model, a);
        }
    }
    if (!model) return cli_usage_error(&verb_compile, "no model given");
    if (!out) return cli_usage_error(&verb_compile, "no output given (-o OUT)");
    if (o.target.triple && !known_target(o.target.triple, emit))
        return cli_usage_error(&verb_compile,
                               "target '%s' is not supported for --emit %s (x86_64-linux-gnu, aarch64-linux-gnu; "
                               "aarch64-apple-darwin with --emit obj)",
                               o.target.triple, emit == CLI_EMIT_OBJ ? "obj" : emit == CLI_EMIT_EXE ? "exe" : "so");
    char symbol[256];
    if (name) {
        for (const char *c = name; *c; c++)
            if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                return cli_usage_error(&verb_compile, "--name '%s': letters, digits and '_' only", name);
        if (snprintf(symbol, sizeof symbol, "%s_%s", SMELT_MODEL_SYMBOL, name) >= (int)sizeof symbol)
            return cli_usage_error(&verb_compile, "--name is too long");
        o.symbol = symbol;
    }
    const char *slash = strrchr(model, '/');
    o.model = slash ? slash + 1 : model;

    diag d;
    diag_init(&d);
    kir_program *p = NULL;
    cg_bytes main = {0}, header = {0};
    int rc = -1;
    /* a GGUF LLM is compiled as its generation step (KV-cache inputs and outputs) */
    bool gguf = model_detect_format(model) == MODEL_GGUF;
    ir_graph *g = gguf ? gguf_import_file_kv(model, &d) : model_load(model, &d);
    cg_extra extras[2]; /* the SPIR-V, then the tokenizer (docs/artifact.md) */
    unsigned char *xdata = NULL, *tdata = NULL;
    char *xjson = NULL;
    o.extras = extras;
    if (g && !cli_lower_graph(g, &popts, 1, &p, &d)) {
        o.shared_weights = vulkan; /* the SPIR-V kernels read the constants */
        if (spirv_asm) rc = write_spirv_asm(p, model, out, &d);
        else if (vulkan && cli_spirv_section(p, &extras[o.n_extras++], &xdata, &xjson, &d)) rc = -1;
        else if ((o.n_extras += gguf && gen_tokenizer_section(model, &extras[o.n_extras], &tdata),
                  !cli_build_artifact(p, &o, emit, model, &main, &header, &d)))
            rc = write_outputs(out, emit, &main, &header, &d);
    }
    free(xdata);
    free(tdata);
    free(xjson);
    cg_bytes_free(&main);
    cg_bytes_free(&header);
    kir_free(p);
    ir_graph_free(g);
    return rc ? cli_fail(&d) : EXIT_OK;
}
