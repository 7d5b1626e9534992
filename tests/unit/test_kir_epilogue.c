/* test_kir_epilogue.c — epilogue fusion (ir/kir_fuse_epilogue.c): kernel
 * counts before and after on Conv + BatchNorm + Relu + residual Add, a
 * MatMul + bias + Gelu-like chain and a Clip after a Gemm, the cases that
 * must stay apart (a second reader, a read at another point, a graph
 * output), and interpreter outputs bit for bit equal to the program
 * without it. */
#include <stdlib.h>
#include <string.h>

#include "ir/kir.h"
#include "passes/passes.h"
#include "tests/unit/support/check.h"
#include "tests/unit/support/pass_check.h"

/* Kernel counts of text's graph (after the graph pipeline when opt) with
 * kir_fuse only and with epilogue fusion too; the outputs must be equal. */
static void counts(const char *text, bool opt, uint32_t *fused, uint32_t *epilogue) {
    *fused = *epilogue = 0;
    ir_graph *g = pc_parse(text);
    if (!g) {
        CHECK(!"parsed");
        return;
    }
    diag d;
    diag_init(&d);
    pass_options o = {.disable = !opt, .verify = true};
    CHECK(pass_pipeline(g, &o, &d) == 0);
    pc_result a = pc_run(g, true, false), b = pc_run(g, true, true);
    CHECK(a.rc == 0 && b.rc == 0);
    CHECK(pc_same(&a, &b, 0));
    *fused = a.kernels;
    *epilogue = b.kernels;
    pc_free(&a);
    pc_free(&b);
    ir_graph_free(g);
}

static const char *RESIDUAL =
    "graph \"t\" {\n"
    "  input %x: f32[1,2,4,4]\n"
    "  const %w: f32[2,2,3,3] = [0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, 0.2, 0.3, 1, 2, 3, -1, -2, -3, 0.5, 0.5, 0.5,\n"
    "                            0.4, -0.4, 0.3, -0.3, 0.2, -0.2, 0.1, -0.1, 0, 1, 1, 1, -1, -1, -1, 2, 0, -2]\n"
    "  const %b: f32[2] = [0.1, -0.2]\n"
    "  const %s: f32[2] = [1.5, 0.5]\n"
    "  const %bb: f32[2] = [0.25, -0.5]\n"
    "  const %mu: f32[2] = [0.1, 0.2]\n"
    "  const %var: f32[2] = [0.5, 2]\n"
    "  %c: f32[1,2,4,4] = Conv(%x, %w, %b) {pads=[1,1,1,1]}\n"
    "  %n: f32[1,2,4,4] = BatchNormalization(%c, %s, %bb, %mu, %var)\n"
    "  %r: f32[1,2,4,4] = Relu(%n)\n"
    "  %y: f32[1,2,4,4] = Add(%r, %x)\n"
    "  output %y\n"
    "}\n";

static void test_conv_bn_relu_add(void) {
    uint32_t f, e;
    counts(RESIDUAL, false, &f, &e); /* BN lowered as its own elementwise kernel, fused with Relu and Add */
    CHECK(f == 2 && e == 1);
    counts(RESIDUAL, true, &f, &e); /* BN folded into the Conv first */
    CHECK(f == 2 && e == 1);
}

static void test_matmul_chain(void) {
    uint32_t f, e;
    /* MatMul + bias + y*0.5*(1+erf(y/sqrt 2)) */
    counts("graph \"t\" {\n"
           "  input %x: f32[2,3,4]\n"
           "  const %w: f32[4,2] = [0.5, -1, 2, 0.25, -0.75, 1.5, 0.1, 0.2]\n"
           "  const %bias: f32[2] = [0.1, -0.3]\n"
           "  const %half: f32[] = [0.5]\n"
           "  const %one: f32[] = [1]\n"
           "  const %rs2: f32[] = [0.70710678]\n"
           "  %m: f32[2,3,2] = MatMul(%x, %w)\n"
           "  %a: f32[2,3,2] = Add(%m, %bias)\n"
           "  %t: f32[2,3,2] = Mul(%a, %rs2)\n"
           "  %er: f32[2,3,2] = Erf(%t)\n"
           "  %p: f32[2,3,2] = Add(%er, %one)\n"
           "  %h: f32[2,3,2] = Mul(%a, %half)\n"
           "  %y: f32[2,3,2] = Mul(%h, %p)\n"
           "  output %y\n"
           "}\n",
           false, &f, &e);
    CHECK(f == 2 && e == 1);
    /* Gemm then Clip (a ReLU6-like epilogue) */
    counts("graph \"t\" {\n"
           "  input %x: f32[3,2]\n"
           "  const %lo: f32[] = [0]\n"
           "  const %hi: f32[] = [0.5]\n"
           "  const %g: f32[2,5] = [1, 2, 3, 4, 5, -1, -2, -3, -4, -5]\n"
           "  %gm: f32[3,5] = Gemm(%x, %g)\n"
           "  %z: f32[3,5] = Clip(%gm, %lo, %hi)\n"
           "  output %z\n"
           "}\n",
           false, &f, &e);
    CHECK(f == 2 && e == 1);
}

static void test_not_fused(void) {
    uint32_t f, e;
    /* a second reader of the MatMul result */
    counts("graph \"t\" {\n"
           "  input %x: f32[3,4]\n"
           "  input %w: f32[4,4]\n"
           "  %m: f32[3,4] = MatMul(%x, %w)\n"
           "  %r: f32[3,4] = Relu(%m)\n"
           "  %s: f32[3,4] = Neg(%m)\n"
           "  output %r\n"
           "  output %s\n"
           "}\n",
           false, &f, &e);
    CHECK(f == 3 && e == 3);
    /* a read at another point (a transpose), and a producer that is a graph output */
    counts("graph \"t\" {\n"
           "  input %x: f32[4,4]\n"
           "  input %w: f32[4,4]\n"
           "  %m: f32[4,4] = MatMul(%x, %w)\n"
           "  %t: f32[4,4] = Transpose(%m)\n"
           "  %r: f32[4,4] = Relu(%t)\n"
           "  %m2: f32[4,4] = MatMul(%x, %x)\n"
           "  %r2: f32[4,4] = Relu(%m2)\n"
           "  output %r\n"
           "  output %m2\n"
           "  output %r2\n"
           "}\n",
           false, &f, &e);
    CHECK(f == 4 && e == 4);
}

/* An integer sum keeps its i32 output when the consumer writes 8 bits (a
 * QLinearMatMul: the sum and its requantization), and absorbs a consumer
 * with a 4-byte output (MatMulInteger + Cast to f32). */
static void test_integer_sum(void) {
    uint32_t f, e;
    counts("graph \"t\" {\n"
           "  const %a: u8[3,4] = [0, 255, 7, 9, 128, 3, 77, 200, 1, 2, 254, 31]\n"
           "  const %b: i8[4,5] = [-128, 127, 5, -7, 0, 1, 2, 3, -4, 99, -99, 64, -64, 12, 13, 8, -8, 100, -100, 6]\n"
           "  const %sa: f32[] = [0.5]\n"
           "  const %za: u8[] = [7]\n"
           "  const %sb: f32[] = [0.25]\n"
           "  const %zb: i8[] = [-2]\n"
           "  const %sy: f32[] = [2]\n"
           "  const %zy: u8[] = [100]\n"
           "  %y: u8[3,5] = QLinearMatMul(%a, %sa, %za, %b, %sb, %zb, %sy, %zy)\n"
           "  %i: i32[3,5] = MatMulInteger(%a, %b, %za, %zb)\n"
           "  %c: f32[3,5] = Cast(%i) {to=f32}\n"
           "  output %y\n"
           "  output %c\n"
           "}\n",
           false, &f, &e);
    CHECK(f == 4 && e == 3);
}

int main(void) {
    test_integer_sum();
    test_conv_bn_relu_add();
    test_matmul_chain();
    test_not_fused();
    return check_summary("test_kir_epilogue");
}
