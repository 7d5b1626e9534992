/* test_ir.c — unit tests of the graph IR core: the dtype table, symbolic
 * dimensions, broadcasting and shape inference, and verifier rejections.
 * Expected shapes follow the ONNX operator specification's formulas. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "tests/unit/support/check.h"

static char typebuf[256];
static const char *type_of(ir_graph *g, ir_id v) {
    ir_type_format(g, g->values[v].dtype, g->values[v].rank, g->values[v].dims, typebuf, sizeof typebuf);
    return typebuf;
}

static ir_dim C(int64_t c) { return ir_dim_const(c); }

static void test_dtypes(void) {
    CHECK(ir_dtype_storage_bytes(IR_Q4_0, 64) == 36);
    CHECK(ir_dtype_storage_bytes(IR_Q4_0, 33) == -1);
    CHECK(ir_dtype_storage_bytes(IR_Q4_K, 512) == 288);
    CHECK(ir_dtype_storage_bytes(IR_Q6_K, 256) == 210);
    CHECK(ir_dtype_storage_bytes(IR_I4, 3) == 2);
    CHECK(ir_dtype_storage_bytes(IR_F16, 10) == 20);
    CHECK(ir_dtype_storage_bytes(IR_F32, INT64_MAX / 2) == -1);
    CHECK(ir_dtype_from_onnx(1) == IR_F32);
    CHECK(ir_dtype_from_onnx(16) == IR_BF16);
    CHECK(ir_dtype_from_onnx(9) == IR_BOOL);
    CHECK(ir_dtype_from_onnx(8) == IR_DTYPE_NONE); /* string tensors are not an IR dtype */
    CHECK(ir_dtype_from_gguf(8) == IR_Q8_0);
    CHECK(ir_dtype_from_gguf(12) == IR_Q4_K);
    CHECK(ir_dtype_from_gguf(30) == IR_BF16);
    for (int t = 1; t < IR_DTYPE_COUNT; t++) CHECK((int)ir_dtype_from_name(ir_dtype_name((ir_dtype)t), -1) == t);
    CHECK(ir_dtype_from_name("f33", -1) == IR_DTYPE_NONE);
    CHECK(ir_dtype_is_quant(IR_Q5_1) && !ir_dtype_is_quant(IR_I8));
    CHECK(ir_dtype_is_float(IR_BF16) && !ir_dtype_is_float(IR_I32));
}

static void test_symbols(void) {
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_dim b = ir_dim_named(g, "batch"), s = ir_dim_named(g, "seq");
    CHECK(ir_dim_eq(ir_dim_named(g, "batch"), b));
    CHECK(ir_dim_eq(ir_dim_mul(g, b, s), ir_dim_mul(g, s, b)));
    CHECK(ir_dim_eq(ir_dim_mul(g, ir_dim_mul(g, b, s), C(768)), ir_dim_mul(g, b, ir_dim_mul(g, C(768), s))));
    CHECK(ir_dim_eq(ir_dim_add(g, ir_dim_add(g, b, C(2)), C(3)), ir_dim_add(g, C(5), b)));
    CHECK(ir_dim_eq(ir_dim_mul(g, b, C(1)), b));
    CHECK(ir_dim_is_const(ir_dim_sub(g, b, b)) && ir_dim_sub(g, b, b).c == 0);
    CHECK(ir_dim_div(g, C(7), C(2)).c == 3);
    CHECK(ir_dim_div(g, C(-7), C(2)).c == -4); /* floor division */
    CHECK(ir_dim_cdiv(g, C(7), C(2)).c == 4);
    char buf[64];
    ir_dim_format(g, ir_dim_mul(g, s, b), buf, sizeof buf);
    CHECK(strcmp(buf, "(batch*seq)") == 0);
    ir_dim_format(g, ir_dim_cdiv(g, b, C(2)), buf, sizeof buf);
    CHECK(strcmp(buf, "cdiv(batch,2)") == 0);
    ir_dim f1 = ir_dim_fresh(g), f2 = ir_dim_fresh(g);
    CHECK(!ir_dim_eq(f1, f2));
    ir_graph_free(g);
}

/* A graph with one input x of the given type. */
static ir_graph *graph_with_input(ir_dtype t, int rank, const ir_dim *dims, ir_id *x) {
    ir_graph *g = ir_graph_new("t", "t.onnx");
    *x = ir_add_input(g, "x", t, rank, dims, NULL);
    return g;
}

static ir_id add_i64_const(ir_graph *g, const char *name, const int64_t *vals, int n) {
    ir_dim dim = C(n);
    int64_t *copy = arena_memdup(&g->arena, vals, (size_t)n, sizeof *vals);
    return ir_add_const(g, name, IR_I64, 1, &dim, copy, (uint64_t)n * 8, -1, NULL);
}

static void test_broadcast(void) {
    diag d;
    diag_init(&d);
    ir_dim xs[3] = {C(2), C(3), C(4)};
    ir_id x;
    ir_graph *g = graph_with_input(IR_F32, 3, xs, &x);
    ir_dim ys[2] = {C(3), C(1)};
    ir_id y = ir_add_input(g, "y", IR_F32, 2, ys, &d);
    ir_id in[2] = {x, y};
    ir_id n = ir_add_node(g, IR_OP_Add, in, 2, NULL, 1, "add", &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[n].out[0]), "f32[2,3,4]") == 0);

    ir_dim bs[2] = {ir_dim_named(g, "batch"), C(1)}, cs[2] = {C(1), C(5)};
    ir_id b = ir_add_input(g, "b", IR_F32, 2, bs, &d), c = ir_add_input(g, "c", IR_F32, 2, cs, &d);
    ir_id in2[2] = {b, c};
    ir_id m = ir_add_node(g, IR_OP_Mul, in2, 2, NULL, 1, "mul", &d);
    CHECK(ir_infer_node(g, m, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[m].out[0]), "f32[batch,5]") == 0);

    ir_dim bad[1] = {C(5)};
    ir_id z = ir_add_input(g, "z", IR_F32, 1, bad, &d);
    ir_id in3[2] = {x, z};
    ir_id s = ir_add_node(g, IR_OP_Sub, in3, 2, NULL, 1, "sub_bad", &d);
    CHECK(ir_infer_node(g, s, &d) == -1);
    CHECK_CONTAINS(d.msg, "t.onnx: node 'sub_bad' (Sub): cannot broadcast dimension 4 with 5");

    diag_init(&d);
    ir_id w = ir_add_input(g, "w", IR_I32, 2, ys, &d);
    ir_id in4[2] = {x, w};
    ir_id e = ir_add_node(g, IR_OP_Add, in4, 2, NULL, 1, "mixed", &d);
    CHECK(ir_infer_node(g, e, &d) == -1);
    CHECK_CONTAINS(d.msg, "is i32 but input 0 ('x') is f32");

    diag_init(&d);
    ir_id in5[2] = {x, y};
    ir_id cmp = ir_add_node(g, IR_OP_Less, in5, 2, NULL, 1, "lt", &d);
    CHECK(ir_infer_node(g, cmp, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[cmp].out[0]), "bool[2,3,4]") == 0);
    ir_graph_free(g);
}

static void test_conv_pool(void) {
    diag d;
    diag_init(&d);
    ir_id x;
    ir_graph *g = graph_with_input(IR_F32, 4, (ir_dim[]){C(1), C(3), C(224), C(224)}, &x);
    ir_dim ws[4] = {C(64), C(3), C(7), C(7)};
    float *wdata = arena_array(&g->arena, 64 * 3 * 7 * 7, 4);
    ir_id w = ir_add_const(g, "w", IR_F32, 4, ws, wdata, 64 * 3 * 7 * 7 * 4, -1, &d);
    ir_id in[2] = {x, w};
    ir_id conv = ir_add_node(g, IR_OP_Conv, in, 2, NULL, 1, "conv1", &d);
    int64_t pads[4] = {3, 3, 3, 3}, strides[2] = {2, 2};
    CHECK(ir_set_attr_ints(g, conv, "pads", pads, 4, &d) == 0);
    CHECK(ir_set_attr_ints(g, conv, "strides", strides, 2, &d) == 0);
    CHECK(ir_infer_node(g, conv, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[conv].out[0]), "f32[1,64,112,112]") == 0);

    /* MaxPool 3x3 stride 2 pad 1: floor((112 + 2 - 3) / 2) + 1 = 56 */
    ir_id y = g->nodes[conv].out[0];
    ir_id pool = ir_add_node(g, IR_OP_MaxPool, &y, 1, NULL, 1, "pool", &d);
    int64_t k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1};
    ir_set_attr_ints(g, pool, "kernel_shape", k3, 2, &d);
    ir_set_attr_ints(g, pool, "strides", strides, 2, &d);
    ir_set_attr_ints(g, pool, "pads", p1, 4, &d);
    CHECK(ir_infer_node(g, pool, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[pool].out[0]), "f32[1,64,56,56]") == 0);

    /* ceil_mode: input 32, kernel 3, stride 2 -> ceil((32-3)/2)+1 = 16 */
    ir_id x2 = ir_add_input(g, "x2", IR_F32, 4, (ir_dim[]){C(1), C(1), C(32), C(32)}, &d);
    ir_id cp = ir_add_node(g, IR_OP_MaxPool, &x2, 1, NULL, 1, "cpool", &d);
    ir_set_attr_ints(g, cp, "kernel_shape", k3, 2, &d);
    ir_set_attr_ints(g, cp, "strides", strides, 2, &d);
    ir_set_attr_int(g, cp, "ceil_mode", 1, &d);
    CHECK(ir_infer_node(g, cp, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[cp].out[0]), "f32[1,1,16,16]") == 0);

    /* SAME_UPPER keeps ceil(in / stride) */
    ir_id sp = ir_add_node(g, IR_OP_AveragePool, &x2, 1, NULL, 1, "same", &d);
    ir_set_attr_ints(g, sp, "kernel_shape", k3, 2, &d);
    ir_set_attr_ints(g, sp, "strides", (int64_t[]){3, 3}, 2, &d);
    ir_set_attr_str(g, sp, "auto_pad", "SAME_UPPER", &d);
    CHECK(ir_infer_node(g, sp, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[sp].out[0]), "f32[1,1,11,11]") == 0);

    /* channel mismatch is reported with both numbers */
    diag_init(&d);
    ir_id w2 = ir_add_const(g, "w2", IR_F32, 4, (ir_dim[]){C(8), C(2), C(3), C(3)}, wdata, 8 * 2 * 9 * 4, -1, &d);
    ir_id bad = ir_add_node(g, IR_OP_Conv, (ir_id[]){x, w2}, 2, NULL, 1, "Conv_12", &d);
    CHECK(ir_infer_node(g, bad, &d) == -1);
    CHECK_CONTAINS(d.msg, "node 'Conv_12' (Conv): X has 3 channels but W expects 2 x group 1");

    /* MaxPool without its required kernel_shape */
    diag_init(&d);
    ir_id nk = ir_add_node(g, IR_OP_MaxPool, &x2, 1, NULL, 1, "nokernel", &d);
    CHECK(ir_infer_node(g, nk, &d) == -1);
    CHECK_CONTAINS(d.msg, "required attribute 'kernel_shape' is missing");

    /* ConvTranspose: stride 2, kernel 3, pads 1, output_padding 1: 2*(16-1) + 1 + 3 - 2 = 32 */
    ir_id x3 = ir_add_input(g, "x3", IR_F32, 4, (ir_dim[]){C(1), C(4), C(16), C(16)}, &d);
    ir_id w3 = ir_add_const(g, "w3", IR_F32, 4, (ir_dim[]){C(4), C(2), C(3), C(3)}, wdata, 4 * 2 * 9 * 4, -1, &d);
    ir_id ct = ir_add_node(g, IR_OP_ConvTranspose, (ir_id[]){x3, w3}, 2, NULL, 1, "ct", &d);
    ir_set_attr_ints(g, ct, "strides", strides, 2, &d);
    ir_set_attr_ints(g, ct, "pads", p1, 4, &d);
    ir_set_attr_ints(g, ct, "output_padding", (int64_t[]){1, 1}, 2, &d);
    CHECK(ir_infer_node(g, ct, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[ct].out[0]), "f32[1,2,32,32]") == 0);
    ir_graph_free(g);
}

static void test_symbolic_flow(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_dim xs[3] = {ir_dim_named(g, "batch"), ir_dim_named(g, "seq"), C(768)};
    ir_id x = ir_add_input(g, "x", IR_F32, 3, xs, &d);
    ir_id shape = add_i64_const(g, "shape", (int64_t[]){-1, 768}, 2);
    ir_id r = ir_add_node(g, IR_OP_Reshape, (ir_id[]){x, shape}, 2, NULL, 1, "reshape", &d);
    CHECK(ir_infer_node(g, r, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[r].out[0]), "f32[(batch*seq),768]") == 0);
    ir_id f = ir_add_node(g, IR_OP_Flatten, &x, 1, NULL, 1, "flatten", &d);
    ir_set_attr_int(g, f, "axis", 2, &d);
    CHECK(ir_infer_node(g, f, &d) == 0);
    CHECK(ir_dim_eq(g->values[g->nodes[f].out[0]].dims[0], g->values[g->nodes[r].out[0]].dims[0]));

    /* Reshape to (batch, seq, 12, 64) via 0-copies, then Transpose */
    ir_id s2 = add_i64_const(g, "s2", (int64_t[]){0, 0, 12, 64}, 4);
    ir_id r2 = ir_add_node(g, IR_OP_Reshape, (ir_id[]){x, s2}, 2, NULL, 1, "heads", &d);
    CHECK(ir_infer_node(g, r2, &d) == 0);
    ir_id h = g->nodes[r2].out[0];
    ir_id t = ir_add_node(g, IR_OP_Transpose, &h, 1, NULL, 1, "tr", &d);
    ir_set_attr_ints(g, t, "perm", (int64_t[]){0, 2, 1, 3}, 4, &d);
    CHECK(ir_infer_node(g, t, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[t].out[0]), "f32[batch,12,seq,64]") == 0);
    /* scores = q @ k^T : (batch,12,seq,64) @ (batch,12,64,seq) */
    ir_id th = g->nodes[t].out[0];
    ir_id kt = ir_add_node(g, IR_OP_Transpose, &th, 1, NULL, 1, "kt", &d);
    ir_set_attr_ints(g, kt, "perm", (int64_t[]){0, 1, 3, 2}, 4, &d);
    CHECK(ir_infer_node(g, kt, &d) == 0);
    ir_id mm = ir_add_node(g, IR_OP_MatMul, (ir_id[]){th, g->nodes[kt].out[0]}, 2, NULL, 1, "qk", &d);
    CHECK(ir_infer_node(g, mm, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[mm].out[0]), "f32[batch,12,seq,seq]") == 0);
    /* Concat along seq adds symbolically */
    ir_id cc = ir_add_node(g, IR_OP_Concat, (ir_id[]){x, x}, 2, NULL, 1, "cat", &d);
    ir_set_attr_int(g, cc, "axis", 1, &d);
    CHECK(ir_infer_node(g, cc, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[cc].out[0]), "f32[batch,(seq*2),768]") == 0 ||
          strcmp(type_of(g, g->nodes[cc].out[0]), "f32[batch,(seq+seq),768]") == 0);
    /* Reduce over the last axis without keepdims; Gather of a token id table */
    ir_id axes = add_i64_const(g, "axes", (int64_t[]){-1}, 1);
    ir_id red = ir_add_node(g, IR_OP_ReduceMean, (ir_id[]){x, axes}, 2, NULL, 1, "mean", &d);
    ir_set_attr_int(g, red, "keepdims", 0, &d);
    CHECK(ir_infer_node(g, red, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[red].out[0]), "f32[batch,seq]") == 0);
    ir_id table = ir_add_input(g, "table", IR_F32, 2, (ir_dim[]){C(1000), C(64)}, &d);
    ir_id ids = ir_add_input(g, "ids", IR_I64, 2, (ir_dim[]){ir_dim_named(g, "batch"), ir_dim_named(g, "seq")}, &d);
    ir_id ga = ir_add_node(g, IR_OP_Gather, (ir_id[]){table, ids}, 2, NULL, 1, "embed", &d);
    CHECK(ir_infer_node(g, ga, &d) == 0);
    CHECK(strcmp(type_of(g, g->nodes[ga].out[0]), "f32[batch,seq,64]") == 0);
    /* Reshape with a -1 that cannot divide */
    diag_init(&d);
    ir_id x4 = ir_add_input(g, "x4", IR_F32, 1, (ir_dim[]){C(10)}, &d);
    ir_id s4 = add_i64_const(g, "s4", (int64_t[]){-1, 3}, 2);
    ir_id r4 = ir_add_node(g, IR_OP_Reshape, (ir_id[]){x4, s4}, 2, NULL, 1, "r4", &d);
    CHECK(ir_infer_node(g, r4, &d) == -1);
    CHECK_CONTAINS(d.msg, "cannot reshape 10 elements");
    ir_graph_free(g);
}

static void test_verifier(void) {
    diag d;
    diag_init(&d);
    ir_id x;
    ir_graph *g = graph_with_input(IR_F32, 2, (ir_dim[]){C(4), C(8)}, &x);
    ir_id r = ir_add_node(g, IR_OP_Relu, &x, 1, (const char *[]){"y"}, 1, "relu", &d);
    CHECK(ir_infer(g, &d) == 0);
    ir_add_output(g, g->nodes[r].out[0], &d);
    CHECK(ir_verify(g, &d) == 0);

    /* a recorded shape that inference disagrees with */
    ir_set_type(g, g->nodes[r].out[0], IR_F32, 2, (ir_dim[]){C(4), C(9)});
    CHECK(ir_verify(g, &d) == -1);
    CHECK_CONTAINS(d.msg, "output 0 ('y') is recorded as f32[4,9] but its inputs give f32[4,8]");
    ir_infer(g, NULL);

    /* use before definition: node 0 reads the output of node 1 */
    diag_init(&d);
    ir_id y = g->nodes[r].out[0];
    ir_id n2 = ir_add_node(g, IR_OP_Neg, &y, 1, NULL, 1, "neg", &d);
    CHECK(ir_infer(g, &d) == 0);
    g->nodes[r].in[0] = g->nodes[n2].out[0];
    CHECK(ir_verify(g, &d) == -1);
    CHECK_CONTAINS(d.msg, "is used before it is defined");
    g->nodes[r].in[0] = x;

    /* constant whose byte size does not match its type */
    diag_init(&d);
    static const float four[4] = {1, 2, 3, 4};
    ir_add_const(g, "c", IR_F32, 1, (ir_dim[]){C(5)}, four, sizeof four, -1, &d);
    CHECK(ir_verify(g, &d) == -1);
    CHECK_CONTAINS(d.msg, "constant 'c' has 16 bytes, its type needs 20");
    ir_graph_free(g);

    /* duplicate names and attribute kinds */
    diag_init(&d);
    g = graph_with_input(IR_F32, 1, (ir_dim[]){C(3)}, &x);
    CHECK(ir_add_input(g, "x", IR_F32, 0, NULL, &d) == IR_NONE);
    CHECK_CONTAINS(d.msg, "value 'x' is defined twice");
    diag_init(&d);
    ir_id s = ir_add_node(g, IR_OP_Softmax, &x, 1, NULL, 1, "sm", &d);
    CHECK(ir_set_attr_float(g, s, "axis", 1.0f, &d) == -1);
    CHECK_CONTAINS(d.msg, "attribute 'axis' must be int, got float");
    CHECK(ir_set_attr_int(g, s, "axes", 1, &d) == -1);
    CHECK_CONTAINS(d.msg, "unknown attribute 'axes'");
    /* operand counts come from the op table */
    diag_init(&d);
    ir_id g3 = ir_add_node(g, IR_OP_Gemm, &x, 1, NULL, 1, "gemm1", &d);
    CHECK(ir_infer_node(g, g3, &d) == -1);
    CHECK_CONTAINS(d.msg, "has 1 inputs, expected 2 to 3");
    ir_graph_free(g);
}

static void test_op_table(void) {
    CHECK(ir_op_from_name("Conv", -1) == IR_OP_Conv);
    CHECK(ir_op_from_name("Convv", -1) == IR_OP_NONE);
    const ir_op_info *conv = ir_op_get(IR_OP_Conv);
    CHECK(conv->min_in == 2 && conv->max_in == 3 && (conv->flags & IR_F_CONTRACTION));
    CHECK(ir_attr_index(IR_OP_Conv, "group") >= 0 && conv->attrs[ir_attr_index(IR_OP_Conv, "group")].def_i == 1);
    CHECK(ir_op_get(IR_OP_Add)->flags & IR_F_COMMUTATIVE);
    CHECK(!(ir_op_get(IR_OP_Sub)->flags & IR_F_COMMUTATIVE));
    CHECK(ir_op_get(IR_OP_Concat)->max_in == IR_VARIADIC);
    for (int op = 1; op < IR_OP_COUNT; op++) CHECK(ir_op_get((ir_op)op)->infer != NULL);
}

int main(void) {
    test_dtypes();
    test_symbols();
    test_broadcast();
    test_conv_pool();
    test_symbolic_flow();
    test_verifier();
    test_op_table();
    return check_summary("ir");
}
