/* test_nn.c — unit tests of the contraction, convolution and pool family:
 * Einsum equation parsing and its inferred shapes, ConvTranspose and
 * quantized-op inference, the errors for bad attributes and operands, and
 * the structure of the kernels these ops lower to (reduction rank, padding
 * guards). Expected shapes follow the ONNX operator specification's
 * formulas; numeric results are checked by the ONNX conformance suite. */
#include <stdlib.h>
#include <string.h>

#include "ir/einsum.h"
#include "ir/kir.h"
#include "tests/unit/support/check.h"

static ir_dim C(int64_t c) { return ir_dim_const(c); }

static char typebuf[256];
static const char *type_of(ir_graph *g, ir_id v) {
    ir_type_format(g, g->values[v].dtype, g->values[v].rank, g->values[v].dims, typebuf, sizeof typebuf);
    return typebuf;
}

/* A node of op over inputs, inferred; returns its id (infer status in *rc). */
static ir_id node(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in, uint32_t n_out, int *rc, diag *d) {
    ir_id n = ir_add_node(g, op, in, n_in, NULL, n_out, "n", d);
    *rc = ir_infer_node(g, n, d);
    return n;
}

static ir_id einsum(ir_graph *g, const char *eq, const ir_id *in, uint32_t n_in, int *rc, diag *d) {
    ir_id n = ir_add_node(g, IR_OP_Einsum, in, n_in, NULL, 1, "es", d);
    ir_set_attr_str(g, n, "equation", eq, d);
    *rc = ir_infer_node(g, n, d);
    return n;
}

static void test_einsum(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id a = ir_add_input(g, "a", IR_F32, 2, (ir_dim[]){C(2), C(3)}, &d);
    ir_id b = ir_add_input(g, "b", IR_F32, 2, (ir_dim[]){C(3), C(4)}, &d);
    ir_id sq = ir_add_input(g, "sq", IR_F32, 2, (ir_dim[]){C(5), C(5)}, &d);
    ir_id e4 = ir_add_input(g, "e4", IR_F32, 4, (ir_dim[]){C(7), C(1), C(2), C(3)}, &d);
    ir_id e3 = ir_add_input(g, "e3", IR_F32, 3, (ir_dim[]){C(6), C(3), C(4)}, &d);
    int rc;
    /* implicit output: letters used once, in character order */
    ir_id n = einsum(g, "ba", &a, 1, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "f32[3,2]"));
    n = einsum(g, "ij, jk", (ir_id[]){a, b}, 2, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "f32[2,4]"));
    ir_einsum e;
    CHECK(ir_einsum_parse(g, &g->nodes[n], &e, &d) == 0);
    CHECK(e.n_sum == 1 && e.sum[0] == 'j' - 'a' && e.out_rank == 2);
    /* a repeated letter is summed (trace) */
    n = einsum(g, "ii", &sq, 1, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "f32[]"));
    n = einsum(g, "ii->i", &sq, 1, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "f32[5]"));
    /* ellipsis dims broadcast, right-aligned */
    n = einsum(g, "...ij,...jk->...ik", (ir_id[]){e4, e3}, 2, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "f32[7,6,2,4]"));
    /* errors name the problem */
    n = einsum(g, "ij,jk->ik", &a, 1, &rc, &d);
    CHECK(rc == -1);
    CHECK_CONTAINS(d.msg, "more terms than the 1 inputs");
    diag_init(&d);
    n = einsum(g, "ij->ii", &a, 1, &rc, &d);
    CHECK(rc == -1);
    CHECK_CONTAINS(d.msg, "output subscript 'i' is repeated");
    diag_init(&d);
    n = einsum(g, "ik,jk", (ir_id[]){a, b}, 2, &rc, &d);
    CHECK(rc == -1);
    CHECK_CONTAINS(d.msg, "subscript 'k' has sizes 3 and 4");
    diag_init(&d);
    n = einsum(g, "i..j", &a, 1, &rc, &d);
    CHECK(rc == -1);
    CHECK_CONTAINS(d.msg, "malformed or repeated ellipsis");
    ir_graph_free(g);
}

static void test_conv_transpose(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 4, (ir_dim[]){C(1), C(4), C(3), C(3)}, &d);
    ir_id w = ir_add_input(g, "w", IR_F32, 4, (ir_dim[]){C(4), C(2), C(3), C(3)}, &d);
    /* stride * (in - 1) + output_padding + span - pads, M = W[1] * group */
    ir_id n = ir_add_node(g, IR_OP_ConvTranspose, (ir_id[]){x, w}, 2, NULL, 1, "ct", &d);
    ir_set_attr_ints(g, n, "strides", (int64_t[]){3, 2}, 2, &d);
    ir_set_attr_ints(g, n, "output_padding", (int64_t[]){0, 1}, 2, &d);
    ir_set_attr_ints(g, n, "pads", (int64_t[]){1, 0, 1, 0}, 4, &d);
    ir_set_attr_int(g, n, "group", 2, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(!strcmp(type_of(g, g->nodes[n].out[0]), "f32[1,4,7,8]"));
    /* output_shape wins */
    n = ir_add_node(g, IR_OP_ConvTranspose, (ir_id[]){x, w}, 2, NULL, 1, "ct2", &d);
    ir_set_attr_ints(g, n, "output_shape", (int64_t[]){10, 8}, 2, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(!strcmp(type_of(g, g->nodes[n].out[0]), "f32[1,2,10,8]"));
    /* SAME_*: in * stride */
    n = ir_add_node(g, IR_OP_ConvTranspose, (ir_id[]){x, w}, 2, NULL, 1, "ct3", &d);
    ir_set_attr_ints(g, n, "strides", (int64_t[]){2, 2}, 2, &d);
    ir_set_attr_str(g, n, "auto_pad", "SAME_LOWER", &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(!strcmp(type_of(g, g->nodes[n].out[0]), "f32[1,2,6,6]"));
    n = ir_add_node(g, IR_OP_ConvTranspose, (ir_id[]){x, w}, 2, NULL, 1, "ct4", &d);
    ir_set_attr_int(g, n, "group", 3, &d);
    CHECK(ir_infer_node(g, n, &d) == -1);
    CHECK_CONTAINS(d.msg, "not a multiple of group 3");
    ir_graph_free(g);
}

static void test_quantized(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id a = ir_add_input(g, "a", IR_U8, 3, (ir_dim[]){C(2), C(4), C(3)}, &d);
    ir_id b = ir_add_input(g, "b", IR_I8, 2, (ir_dim[]){C(3), C(5)}, &d);
    ir_id s = ir_add_input(g, "s", IR_F32, 0, NULL, &d);
    ir_id s5 = ir_add_input(g, "s5", IR_F32, 1, (ir_dim[]){C(5)}, &d);
    ir_id za = ir_add_input(g, "za", IR_U8, 0, NULL, &d);
    ir_id zb = ir_add_input(g, "zb", IR_I8, 1, (ir_dim[]){C(5)}, &d);
    ir_id zy = ir_add_input(g, "zy", IR_I8, 0, NULL, &d);
    int rc;
    ir_id n = node(g, IR_OP_MatMulInteger, (ir_id[]){a, b, za, zb}, 4, 1, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "i32[2,4,5]"));
    /* per-column b_scale / b_zero_point; the output type is y_zero_point's */
    n = node(g, IR_OP_QLinearMatMul, (ir_id[]){a, s, za, b, s5, zb, s, zy}, 8, 1, &rc, &d);
    CHECK(rc == 0 && !strcmp(type_of(g, g->nodes[n].out[0]), "i8[2,4,5]"));
    /* a per-column zero point on A does not fit its rows */
    n = node(g, IR_OP_MatMulInteger, (ir_id[]){a, b, zb}, 3, 1, &rc, &d);
    CHECK(rc == -1);
    CHECK_CONTAINS(d.msg, "'zb' is i8, expected u8");
    diag_init(&d);
    n = node(g, IR_OP_QLinearMatMul, (ir_id[]){a, s5, za, b, s5, zb, s, zy}, 8, 1, &rc, &d);
    CHECK(rc == -1);
    CHECK_CONTAINS(d.msg, "'s5' must hold one value or one per row/column/channel");
    ir_graph_free(g);
}

/* Lower a one-node graph and return its program (NULL on error). */
static kir_program *lower_one(ir_graph *g, ir_id n, diag *d) {
    ir_add_output(g, g->nodes[n].out[0], d);
    return kir_lower(g, d);
}

static bool program_has_select(const kir_program *p) {
    for (uint32_t e = 0; e < p->n_exprs; e++)
        if (p->exprs[e].op == KX_SELECT) return true;
    return false;
}

static void test_lowering_structure(void) {
    diag d;
    diag_init(&d);
    /* Conv: one SUM over (C/group, K...), guarded only with padding */
    for (int pad = 0; pad <= 1; pad++) {
        ir_graph *g = ir_graph_new("t", "t.onnx");
        ir_id x = ir_add_input(g, "x", IR_F32, 4, (ir_dim[]){C(1), C(4), C(5), C(5)}, &d);
        ir_id w = ir_add_input(g, "w", IR_F32, 4, (ir_dim[]){C(6), C(2), C(3), C(3)}, &d);
        ir_id n = ir_add_node(g, IR_OP_Conv, (ir_id[]){x, w}, 2, NULL, 1, "conv", &d);
        ir_set_attr_int(g, n, "group", 2, &d);
        if (pad) ir_set_attr_ints(g, n, "pads", (int64_t[]){1, 1, 1, 1}, 4, &d);
        CHECK(ir_infer_node(g, n, &d) == 0);
        kir_program *p = lower_one(g, n, &d);
        CHECK(p && p->n_kernels == 1);
        if (p) {
            const kir_kernel *k = &p->kernels[0];
            CHECK(k->reduce == KR_SUM && k->rrank == 3 && k->red[0].c == 2 && k->red[1].c == 3);
            CHECK(program_has_select(p) == (pad == 1));
        }
        kir_free(p);
        ir_graph_free(g);
    }
    /* MaxPool with Indices: a MAX kernel, then a MIN over tap numbers */
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 4, (ir_dim[]){C(1), C(2), C(5), C(5)}, &d);
    ir_id n = ir_add_node(g, IR_OP_MaxPool, &x, 1, NULL, 2, "pool", &d);
    ir_set_attr_ints(g, n, "kernel_shape", (int64_t[]){2, 2}, 2, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    ir_add_output(g, g->nodes[n].out[1], &d);
    kir_program *p = lower_one(g, n, &d);
    CHECK(p && p->n_kernels == 2 && p->kernels[0].reduce == KR_MAX && p->kernels[1].reduce == KR_MIN);
    CHECK(p && p->bufs[p->kernels[1].out].dtype == IR_I64);
    kir_free(p);
    ir_graph_free(g);
    /* Einsum without summed letters is a plain loop kernel */
    g = ir_graph_new("t", "t.onnx");
    x = ir_add_input(g, "x", IR_F32, 2, (ir_dim[]){C(2), C(3)}, &d);
    int rc;
    n = einsum(g, "ij->ji", &x, 1, &rc, &d);
    p = lower_one(g, n, &d);
    CHECK(p && p->n_kernels == 1 && p->kernels[0].reduce == KR_NONE);
    kir_free(p);
    ir_graph_free(g);
}

int main(void) {
    test_einsum();
    test_conv_transpose();
    test_quantized();
    test_lowering_structure();
    return check_summary("nn");
}
