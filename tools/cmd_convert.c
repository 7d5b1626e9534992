/* cmd_convert.c — `smelt convert MODEL [-o OUT]`: import a model and write
 * its graph IR as text (large constants referenced in place, or written to
 * OUT.bin when they exist only in memory). */
#include <stdio.h>
#include <string.h>

#include "artifact.h"
#include "cli.h"
#include "frontend/load.h"
#include "ir/outfile.h"
#include "ir/text.h"
#include "pass_args.h"

static int run_convert(int argc, char **argv);

const cli_verb verb_convert = {
    "convert", "import a model and write its graph IR as text",
    "usage: smelt convert MODEL [-o OUT.ir] [--opt] [--print-after=PASS] [--print-after-all]\n\n"
    "Imports MODEL (.onnx, or .ir text) and writes the graph IR as text to OUT\n"
    "(stdout when -o is absent or '-'). Constants stored in the model file are\n"
    "referenced by file, offset and size; constants that exist only in memory\n"
    "are written to OUT.bin. The output is written atomically. The graph is\n"
    "written as imported unless --opt (or a --print-after option) is given.\n" PASS_ARGS_USAGE,
    run_convert};

static int run_convert(int argc, char **argv) {
    const char *model = NULL, *out = "-";
    pass_options popts;
    pass_args_init(&popts);
    bool opt_given = false;
    for (int i = 1; i < argc; i++) {
        int pa = pass_args_parse(&popts, argc, argv, &i);
        if (pa < 0) return cli_usage_error(&verb_convert, "bad or missing value for '%s'", argv[i]);
        if (pa) {
            opt_given |= !strcmp(argv[i], "--opt") || !strcmp(argv[i], "--no-opt");
            continue;
        } else if (!strcmp(argv[i], "-o")) {
            if (++i >= argc) return cli_usage_error(&verb_convert, "-o needs a file name");
            out = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(&verb_convert, "unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else {
            return cli_usage_error(&verb_convert, "more than one model given ('%s' and '%s')", model, argv[i]);
        }
    }
    if (!model) return cli_usage_error(&verb_convert, "no model given");
    if (!opt_given && !popts.print_after && !popts.print_after_all && !popts.quant.mode) popts.disable = true;
    diag d;
    diag_init(&d);
    ir_graph *g = model_load(model, &d);
    if (!g) return cli_fail(&d);
    if (cli_run_passes(g, &popts, &d)) {
        ir_graph_free(g);
        return cli_fail(&d);
    }
    int to_file = strcmp(out, "-") != 0;
    char bin_path[4200], bin_name[4200];
    outfile text, bin;
    snprintf(bin_path, sizeof bin_path, "%s.bin", out);
    const char *slash = strrchr(bin_path, '/');
    snprintf(bin_name, sizeof bin_name, "%s", slash ? slash + 1 : bin_path);
    if (outfile_open(&text, out, &d)) {
        ir_graph_free(g);
        return cli_fail(&d);
    }
    if (to_file && outfile_open(&bin, bin_path, &d)) {
        outfile_abort(&text);
        ir_graph_free(g);
        return cli_fail(&d);
    }
    ir_print_opts opts = {.out_path = to_file ? out : NULL, .sidecar = to_file ? bin.f : NULL,
                          .sidecar_name = to_file ? bin_name : NULL, .inline_limit = 64};
    int rc = ir_print(g, text.f, &opts, &d);
    if (rc == 0 && to_file) {
        if (ftell(bin.f) > 0) rc = outfile_commit(&bin, &d);
        else outfile_abort(&bin);
    } else if (to_file) {
        outfile_abort(&bin);
    }
    if (rc == 0) rc = outfile_commit(&text, &d);
    else outfile_abort(&text);
    ir_graph_free(g);
    return rc ? cli_fail(&d) : EXIT_OK;
}
