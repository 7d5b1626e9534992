/* test_passes.c — the graph passes on small graphs written as IR text: the
 * rewritten graph's structure (which nodes are left), that it verifies, and
 * that the reference interpreter gives the same outputs before and after on
 * pseudo-random inputs (bit for bit where the pass changes no arithmetic,
 * within 1e-5 where it refolds constants: BatchNorm and bias folding round
 * differently). The pipeline's --print-after output is checked too. */
#include <stdlib.h>
#include <string.h>

#include "ir/text.h"
#include "passes/passes.h"
#include "tests/unit/support/check.h"
#include "tests/unit/support/pass_check.h"

typedef int (*pass_fn)(ir_graph *g, diag *d);

/* Runs pass on the graph of text; checks that it verifies and that its
 * outputs match the unchanged graph's within rtol. Returns the rewritten
 * graph for structure checks (caller frees), NULL on a failure. */
static ir_graph *check_pass(const char *text, pass_fn pass, double rtol) {
    ir_graph *before = pc_parse(text), *after = pc_parse(text);
    if (!before || !after) {
        CHECK(!"parsed");
        ir_graph_free(before);
        ir_graph_free(after);
        return NULL;
    }
    diag d;
    diag_init(&d);
    int rc = pass(after, &d);
    CHECK(rc == 0);
    int vrc = ir_verify(after, &d);
    CHECK(vrc == 0);
    if (rc || vrc) fprintf(stderr, "%s\n", d.msg);
    pc_result a = pc_run(before, false, false), b = pc_run(after, false, false);
    CHECK(a.rc == 0 && b.rc == 0);
    CHECK(pc_same(&a, &b, rtol));
    pc_free(&a);
    pc_free(&b);
    ir_graph_free(before);
    return after;
}

static bool is_output_named(ir_graph *g, uint32_t k, const char *name) {
    return k < g->n_outputs && !strcmp(g->values[g->outputs[k]].name, name);
}

static void test_dce(void) {
    ir_graph *g = check_pass("graph \"t\" {\n"
                             "  input %x: f32[2,3]\n"
                             "  %a: f32[2,3] = Relu(%x)\n"
                             "  %b: f32[2,3] = Exp(%a)\n" /* unused chain */
                             "  %c: f32[2,3] = Neg(%b)\n"
                             "  %y: f32[2,3] = Abs(%x)\n"
                             "  output %y\n"
                             "}\n",
                             pass_dce, 0);
    if (!g) return;
    CHECK(pc_live(g, IR_OP_Relu) == 0 && pc_live(g, IR_OP_Exp) == 0 && pc_live(g, IR_OP_Neg) == 0);
    CHECK(pc_live(g, IR_OP_Abs) == 1);
    ir_graph_free(g);
}

static void test_cse(void) {
    ir_graph *g = check_pass("graph \"t\" {\n"
                             "  input %x: f32[2,3]\n"
                             "  input %w: f32[2,3]\n"
                             "  %a: f32[2,3] = Mul(%x, %w)\n"
                             "  %b: f32[2,3] = Mul(%x, %w)\n"
                             "  %ra: f32[2,3] = Relu(%a)\n"
                             "  %rb: f32[2,3] = Relu(%b)\n" /* a duplicate once b is a */
                             "  %m: f32[2,3] = Mul(%w, %x)\n" /* operands swapped: kept */
                             "  %s: f32[2,3] = Add(%ra, %rb)\n"
                             "  %t: f32[2,3] = Add(%s, %m)\n"
                             "  %l1: f32[2,3] = LeakyRelu(%t) {alpha=0.1}\n"
                             "  %l2: f32[2,3] = LeakyRelu(%t) {alpha=0.2}\n" /* other attribute: kept */
                             "  %y: f32[2,3] = Sub(%l1, %l2)\n"
                             "  %z: f32[2,3] = Relu(%a)\n" /* a graph output equal to ra: ra's node writes z */
                             "  output %y\n"
                             "  output %z\n"
                             "}\n",
                             pass_cse, 0);
    if (!g) return;
    CHECK(pc_live(g, IR_OP_Mul) == 2);
    CHECK(pc_live(g, IR_OP_Relu) == 1);
    CHECK(pc_live(g, IR_OP_LeakyRelu) == 2);
    CHECK(is_output_named(g, 1, "z"));
    ir_graph_free(g);
}

#define CONV_HEAD                                                                                           \
    "graph \"t\" {\n"                                                                                       \
    "  input %x: f32[1,2,4,4]\n"                                                                            \
    "  const %w: f32[3,2,1,1] = [0.5, -1, 2, 0.25, -0.75, 1.5]\n"                                           \
    "  const %b: f32[3] = [0.1, -0.2, 0.3]\n"                                                               \
    "  const %s: f32[3] = [1.5, 0.5, -2]\n"                                                                 \
    "  const %bb: f32[3] = [0.25, -0.5, 1]\n"                                                               \
    "  const %mu: f32[3] = [0.1, 0.2, -0.3]\n"                                                              \
    "  const %var: f32[3] = [0.5, 2, 1]\n"

static void test_fold_batchnorm(void) {
    /* Conv with and without bias; the BN output is a graph output */
    ir_graph *g = check_pass(CONV_HEAD
                             "  %c: f32[1,3,4,4] = Conv(%x, %w, %b)\n"
                             "  %y: f32[1,3,4,4] = BatchNormalization(%c, %s, %bb, %mu, %var)\n"
                             "  %c2: f32[1,3,4,4] = Conv(%x, %w, _)\n"
                             "  %n: f32[1,3,4,4] = BatchNormalization(%c2, %s, %bb, %mu, %var) {epsilon=0.001}\n"
                             "  %y2: f32[1,3,4,4] = Relu(%n)\n"
                             "  output %y\n"
                             "  output %y2\n"
                             "}\n",
                             pass_fold_batchnorm, 1e-5);
    if (g) {
        CHECK(pc_live(g, IR_OP_BatchNormalization) == 0 && pc_live(g, IR_OP_Conv) == 2);
        CHECK(is_output_named(g, 0, "y"));
        ir_graph_free(g);
    }
    /* the Conv's output has another reader: no fold */
    g = check_pass(CONV_HEAD
                   "  %c: f32[1,3,4,4] = Conv(%x, %w, %b)\n"
                   "  %n: f32[1,3,4,4] = BatchNormalization(%c, %s, %bb, %mu, %var)\n"
                   "  %y: f32[1,3,4,4] = Add(%n, %c)\n"
                   "  output %y\n"
                   "}\n",
                   pass_fold_batchnorm, 0);
    if (g) {
        CHECK(pc_live(g, IR_OP_BatchNormalization) == 1);
        ir_graph_free(g);
    }
    /* ConvTranspose with 2 groups: W (Cin=2, Cout/group=2, 1, 1), 4 output channels */
    g = check_pass("graph \"t\" {\n"
                   "  input %x: f32[1,2,3,3]\n"
                   "  const %w: f32[2,2,2,2] = [1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, 0.5, 0.25, 0.125, 2]\n"
                   "  const %s: f32[4] = [1.5, 0.5, -2, 3]\n"
                   "  const %bb: f32[4] = [0.25, -0.5, 1, 2]\n"
                   "  const %mu: f32[4] = [0.1, 0.2, -0.3, 0.4]\n"
                   "  const %var: f32[4] = [0.5, 2, 1, 4]\n"
                   "  %c: f32[1,4,4,4] = ConvTranspose(%x, %w, _) {group=2}\n"
                   "  %y: f32[1,4,4,4] = BatchNormalization(%c, %s, %bb, %mu, %var)\n"
                   "  output %y\n"
                   "}\n",
                   pass_fold_batchnorm, 1e-5);
    if (g) {
        CHECK(pc_live(g, IR_OP_BatchNormalization) == 0);
        ir_graph_free(g);
    }
    /* Gemm (transB, alpha, beta, C) and a rank-2 MatMul (becomes a Gemm) */
    g = check_pass("graph \"t\" {\n"
                   "  input %x: f32[2,2]\n"
                   "  const %w: f32[3,2] = [0.5, -1, 2, 0.25, -0.75, 1.5]\n"
                   "  const %wm: f32[2,3] = [0.5, -1, 2, 0.25, -0.75, 1.5]\n"
                   "  const %cb: f32[1,3] = [0.1, -0.2, 0.3]\n"
                   "  const %s: f32[3] = [1.5, 0.5, -2]\n"
                   "  const %bb: f32[3] = [0.25, -0.5, 1]\n"
                   "  const %mu: f32[3] = [0.1, 0.2, -0.3]\n"
                   "  const %var: f32[3] = [0.5, 2, 1]\n"
                   "  %c: f32[2,3] = Gemm(%x, %w, %cb) {alpha=0.5, beta=2, transB=1}\n"
                   "  %y: f32[2,3] = BatchNormalization(%c, %s, %bb, %mu, %var)\n"
                   "  %m: f32[2,3] = MatMul(%x, %wm)\n"
                   "  %z: f32[2,3] = BatchNormalization(%m, %s, %bb, %mu, %var)\n"
                   "  output %y\n"
                   "  output %z\n"
                   "}\n",
                   pass_fold_batchnorm, 1e-5);
    if (g) {
        CHECK(pc_live(g, IR_OP_BatchNormalization) == 0 && pc_live(g, IR_OP_MatMul) == 0);
        CHECK(pc_live(g, IR_OP_Gemm) == 2);
        ir_graph_free(g);
    }
}

static void test_fold_bias_add(void) {
    ir_graph *g = check_pass(CONV_HEAD
                             "  const %k: f32[3,1,1] = [1, 2, 3]\n"
                             "  const %k4: f32[1,1,4,4] = [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]\n"
                             "  %c: f32[1,3,4,4] = Conv(%x, %w, %b)\n"
                             "  %y: f32[1,3,4,4] = Add(%k, %c)\n"
                             "  %c2: f32[1,3,4,4] = Conv(%x, %w, _)\n"
                             "  %y2: f32[1,3,4,4] = Add(%c2, %k4)\n" /* varies along H, W: kept */
                             "  output %y\n"
                             "  output %y2\n"
                             "}\n",
                             pass_fold_bias_add, 1e-5);
    if (g) {
        CHECK(pc_live(g, IR_OP_Add) == 1 && pc_live(g, IR_OP_Conv) == 2);
        CHECK(is_output_named(g, 0, "y"));
        ir_graph_free(g);
    }
    g = check_pass("graph \"t\" {\n"
                   "  input %x: f32[2,2]\n"
                   "  const %wm: f32[2,3] = [0.5, -1, 2, 0.25, -0.75, 1.5]\n"
                   "  const %k: f32[3] = [0.1, -0.2, 0.3]\n"
                   "  const %k1: f32[] = [2]\n"
                   "  %m: f32[2,3] = MatMul(%x, %wm)\n"
                   "  %a: f32[2,3] = Add(%m, %k)\n"
                   "  %y: f32[2,3] = Add(%a, %k1)\n" /* a scalar: folds too, after the first */
                   "  output %y\n"
                   "}\n",
                   pass_fold_bias_add, 1e-5);
    if (g) {
        CHECK(pc_live(g, IR_OP_Add) == 0 && pc_live(g, IR_OP_Gemm) == 1);
        ir_graph_free(g);
    }
}

static void test_remove_identity(void) {
    ir_graph *g = check_pass("graph \"t\" {\n"
                             "  input %x: f32[2,3,4]\n"
                             "  const %shape: i64[3] = [2, 3, 4]\n"
                             "  %a: f32[2,3,4] = Identity(%x)\n"
                             "  %b: f32[2,3,4] = Dropout(%a)\n"
                             "  %c: f32[2,3,4] = Reshape(%b, %shape)\n"
                             "  %d: f32[2,3,4] = Cast(%c) {to=f32}\n"
                             "  %e: f32[2,3,4] = Transpose(%d) {perm=[0,1,2]}\n"
                             "  %f: f32[2,3,4] = Relu(%e)\n"
                             "  %t1: f32[3,4,2] = Transpose(%f) {perm=[1,2,0]}\n"
                             "  %t2: f32[4,2,3] = Transpose(%t1) {perm=[1,2,0]}\n" /* composes to [2,0,1] */
                             "  %t3: f32[2,3,4] = Transpose(%t2) {perm=[1,2,0]}\n" /* composes to the identity */
                             "  %y: f32[4,2,3] = Neg(%t2)\n"
                             "  %z: f32[2,3,4] = Identity(%t3)\n" /* a graph output: Relu writes it */
                             "  %w: f32[2,3,4] = Identity(%x)\n"  /* an output equal to an input: kept */
                             "  output %y\n"
                             "  output %z\n"
                             "  output %w\n"
                             "}\n",
                             pass_remove_identity, 0);
    if (!g) return;
    CHECK(pc_live(g, IR_OP_Dropout) == 0 && pc_live(g, IR_OP_Reshape) == 0 && pc_live(g, IR_OP_Cast) == 0);
    CHECK(pc_live(g, IR_OP_Identity) == 1);
    diag d;
    diag_init(&d);
    CHECK(pass_dce(g, &d) == 0 && ir_verify(g, &d) == 0);
    CHECK(pc_live(g, IR_OP_Transpose) == 1); /* t2 reads f directly; t1 and t3 are gone */
    CHECK(is_output_named(g, 1, "z") && g->nodes[g->values[g->outputs[1]].producer].op == IR_OP_Relu);
    ir_graph_free(g);
}

static void test_pipeline(void) {
    const char *text = CONV_HEAD
        "  %i: f32[1,2,4,4] = Identity(%x)\n"
        "  %c: f32[1,3,4,4] = Conv(%i, %w, %b)\n"
        "  %n: f32[1,3,4,4] = BatchNormalization(%c, %s, %bb, %mu, %var)\n"
        "  %y: f32[1,3,4,4] = Relu(%n)\n"
        "  output %y\n"
        "}\n";
    ir_graph *g = pc_parse(text), *ref = pc_parse(text);
    if (!g || !ref) {
        CHECK(!"parsed");
        return;
    }
    diag d;
    diag_init(&d);
    FILE *f = tmpfile();
    pass_options o = {.print_after = "fold_batchnorm", .print_out = f, .verify = true};
    CHECK(pass_pipeline(g, &o, &d) == 0);
    char buf[4096] = {0};
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECK_CONTAINS(buf, "# IR after fold_batchnorm");
    CHECK(strstr(buf, "# IR after cse") == NULL);
    CHECK(strstr(buf, "BatchNormalization(") == NULL && strstr(buf, "Conv(%x") != NULL);
    CHECK(pc_live(g, IR_OP_Identity) == 0 && pc_live(g, IR_OP_BatchNormalization) == 0);
    pc_result a = pc_run(ref, true, true), b = pc_run(g, true, true);
    CHECK(pc_same(&a, &b, 1e-5));
    pc_free(&a);
    pc_free(&b);
    pass_options bad = {.print_after = "no_such_pass"};
    diag_init(&d);
    CHECK(pass_pipeline(g, &bad, &d) == -1);
    CHECK_CONTAINS(d.msg, "no_such_pass");
    ir_graph_free(g);
    ir_graph_free(ref);
}

int main(void) {
    test_dce();
    test_cse();
    test_fold_batchnorm();
    test_fold_bias_add();
    test_remove_identity();
    test_pipeline();
    return check_summary("test_passes");
}
