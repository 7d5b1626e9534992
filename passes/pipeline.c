/* pipeline.c — the order of the graph passes, as a plain list of calls.
 *
 * Folding first makes shapes and shape operands static; QDQ groups of
 * quantized models then become integer kernels (fuse_qdq); identity removal
 * and common-subexpression elimination then expose the Conv -> BatchNorm
 * and Conv -> Add(bias) pairs that the folds need (a shared weight
 * dequantization, an Identity between them); dead code goes last, taking
 * every node the others bypassed. After each pass the IR can be printed
 * (--print-after=NAME, --print-after-all) and verified (SMELT_VERIFY=1).
 */
#include <string.h>

#include "ir/text.h"
#include "passes/passes.h"

typedef int (*pass_fn)(ir_graph *g, diag *d);

typedef struct pass_entry {
    const char *name;
    pass_fn run;
} pass_entry;

static const pass_entry PASSES[] = {
    {"fold_constants", pass_fold_constants},
    {"fuse_qdq", pass_fuse_qdq},
    {"remove_identity", pass_remove_identity},
    {"cse", pass_cse},
    {"fold_batchnorm", pass_fold_batchnorm},
    {"fold_bias_add", pass_fold_bias_add},
    {"quantize", NULL}, /* takes options: run_pass */
    {"precision", NULL}, /* takes options: run_pass */
    {"dce", pass_dce},
};
#define N_PASSES (sizeof PASSES / sizeof PASSES[0])

bool pass_known(const char *name) {
    for (size_t i = 0; i < N_PASSES; i++)
        if (!strcmp(PASSES[i].name, name)) return true;
    return false;
}

/* After a pass: print the IR if asked, verify it if asked. */
static int after_pass(ir_graph *g, const char *name, const pass_options *o, diag *d) {
    bool print = o->print_out && (o->print_after_all || (o->print_after && !strcmp(o->print_after, name)));
    if (print) {
        fprintf(o->print_out, "# IR after %s\n", name);
        ir_print_opts popts = {.elide_data = true};
        if (ir_print(g, o->print_out, &popts, d)) return -1;
    }
    if (o->verify && ir_verify(g, d)) {
        diag_error(d, "%s: the IR does not verify after pass %s", g->source, name);
        return -1;
    }
    return 0;
}

static int run_pass(ir_graph *g, const pass_entry *e, const pass_options *o, diag *d) {
    if (e->run) return e->run(g, d);
    if (!strcmp(e->name, "precision")) return pass_precision(g, o->precision, d);
    return pass_quantize(g, &o->quant, o->quant_stats, d);
}

int pass_pipeline(ir_graph *g, const pass_options *o, diag *d) {
    pass_options none = {0};
    if (!o) o = &none;
    if (o->print_after && !pass_known(o->print_after))
        return diag_error(d, "--print-after: no pass named '%s'", o->print_after);
    if (o->disable) return 0;
    for (size_t i = 0; i < N_PASSES; i++) {
        if (run_pass(g, &PASSES[i], o, d)) {
            diag_error(d, "%s: pass %s failed", g->source, PASSES[i].name);
            return -1;
        }
        if (after_pass(g, PASSES[i].name, o, d)) return -1;
    }
    return 0;
}
