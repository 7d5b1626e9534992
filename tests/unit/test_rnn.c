/* test_rnn.c — unit tests of the recurrent layers RNN, GRU and LSTM: the
 * shapes inference gives under both layouts, the errors for bad attributes
 * and operands, how activation alphas and betas are consumed, the kernels a
 * layer unrolls into (one input projection, then per step a recurrent sum
 * with the cell update as its post), and the refusal of a sequence length
 * known only at run time. One small numeric case checks the masking of
 * sequence_lens under reverse direction against values worked out by hand
 * (a cumulative sum); the ONNX conformance suite checks the rest. */
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "ir/kir.h"
#include "ir/rnn.h"
#include "tests/unit/support/check.h"

static ir_dim C(int64_t c) { return ir_dim_const(c); }

static char typebuf[256];
static const char *type_of(ir_graph *g, ir_id v) {
    ir_type_format(g, g->values[v].dtype, g->values[v].rank, g->values[v].dims, typebuf, sizeof typebuf);
    return typebuf;
}

/* A recurrent layer of op over inputs (IR_NONE: omitted) with n_out outputs. */
static ir_id layer(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in, uint32_t n_out, diag *d) {
    return ir_add_node(g, op, in, n_in, NULL, n_out, "rnn", d);
}

static void test_shapes(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    /* LSTM, bidirectional, batch first: X (batch 2, seq 5, input 3), hidden 4 */
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){C(2), C(5), C(3)}, &d);
    ir_id w = ir_add_input(g, "w", IR_F32, 3, (ir_dim[]){C(2), C(16), C(3)}, &d);
    ir_id r = ir_add_input(g, "r", IR_F32, 3, (ir_dim[]){C(2), C(16), C(4)}, &d);
    ir_id h0 = ir_add_input(g, "h0", IR_F32, 3, (ir_dim[]){C(2), C(2), C(4)}, &d);
    ir_id p = ir_add_input(g, "p", IR_F32, 2, (ir_dim[]){C(2), C(12)}, &d);
    ir_id n = layer(g, IR_OP_LSTM, (ir_id[]){x, w, r, IR_NONE, IR_NONE, h0, h0, p}, 8, 3, &d);
    ir_set_attr_str(g, n, "direction", "bidirectional", &d);
    ir_set_attr_int(g, n, "layout", 1, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(!strcmp(type_of(g, g->nodes[n].out[RNN_Y]), "f32[2,5,2,4]"));
    CHECK(!strcmp(type_of(g, g->nodes[n].out[RNN_Y_H]), "f32[2,2,4]"));
    CHECK(!strcmp(type_of(g, g->nodes[n].out[RNN_Y_C]), "f32[2,2,4]"));
    /* GRU, default layout, symbolic batch: Y (seq, dirs, batch, hidden) */
    ir_id xs = ir_add_input(g, "xs", IR_F32, 3, (ir_dim[]){C(7), ir_dim_named(g, "batch"), C(3)}, &d);
    ir_id wg = ir_add_input(g, "wg", IR_F32, 3, (ir_dim[]){C(1), C(6), C(3)}, &d);
    ir_id rg = ir_add_input(g, "rg", IR_F32, 3, (ir_dim[]){C(1), C(6), C(2)}, &d);
    n = layer(g, IR_OP_GRU, (ir_id[]){xs, wg, rg}, 3, 2, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(!strcmp(type_of(g, g->nodes[n].out[RNN_Y]), "f32[7,1,batch,2]"));
    CHECK(!strcmp(type_of(g, g->nodes[n].out[RNN_Y_H]), "f32[1,batch,2]"));
    ir_graph_free(g);
}

/* Infer a RNN (X (seq 3, batch 2, input 2), hidden 2) with the given tweak
 * applied; returns the status, message in d. */
typedef void (*tweak_fn)(ir_graph *g, ir_id n, diag *d);

static int rnn_with(tweak_fn tweak, ir_dtype lens_t, diag *d) {
    diag_init(d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){C(3), C(2), C(2)}, d);
    ir_id w = ir_add_input(g, "w", IR_F32, 3, (ir_dim[]){C(1), C(2), C(2)}, d);
    ir_id r = ir_add_input(g, "r", IR_F32, 3, (ir_dim[]){C(1), C(2), C(2)}, d);
    ir_id lens = ir_add_input(g, "lens", lens_t, 1, (ir_dim[]){C(2)}, d);
    ir_id n = layer(g, IR_OP_RNN, (ir_id[]){x, w, r, IR_NONE, lens}, 5, 2, d);
    tweak(g, n, d);
    int rc = ir_infer_node(g, n, d);
    ir_graph_free(g);
    return rc;
}

static void no_tweak(ir_graph *g, ir_id n, diag *d) {}
static void bad_direction(ir_graph *g, ir_id n, diag *d) { ir_set_attr_str(g, n, "direction", "sideways", d); }
static void two_directions(ir_graph *g, ir_id n, diag *d) { ir_set_attr_str(g, n, "direction", "bidirectional", d); }
static void bad_hidden(ir_graph *g, ir_id n, diag *d) { ir_set_attr_int(g, n, "hidden_size", 3, d); }
static void bad_layout(ir_graph *g, ir_id n, diag *d) { ir_set_attr_int(g, n, "layout", 2, d); }
static void bad_clip(ir_graph *g, ir_id n, diag *d) { ir_set_attr_float(g, n, "clip", -1.0f, d); }
static void two_acts(ir_graph *g, ir_id n, diag *d) {
    ir_set_attr_strs(g, n, "activations", (const char *[]){"Tanh", "Relu"}, 2, d);
}
static void unknown_act(ir_graph *g, ir_id n, diag *d) {
    ir_set_attr_strs(g, n, "activations", (const char *[]){"Swish"}, 1, d);
}
static void affine_no_beta(ir_graph *g, ir_id n, diag *d) {
    ir_set_attr_strs(g, n, "activations", (const char *[]){"affine"}, 1, d);
    ir_set_attr_floats(g, n, "activation_alpha", (float[]){2.0f}, 1, d);
}

static void test_errors(void) {
    diag d;
    CHECK(rnn_with(no_tweak, IR_I32, &d) == 0);
    CHECK(rnn_with(bad_direction, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "direction 'sideways' must be forward, reverse or bidirectional");
    CHECK(rnn_with(two_directions, IR_I32, &d) == -1); /* W has one direction */
    CHECK_CONTAINS(d.msg, "W is f32[1,2,2], expected f32[2,2,2]");
    CHECK(rnn_with(bad_hidden, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "hidden_size is 3 but R has 2 columns");
    CHECK(rnn_with(bad_layout, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "layout is 2, must be 0 or 1");
    CHECK(rnn_with(bad_clip, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "clip is -1, must be positive");
    CHECK(rnn_with(two_acts, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "activations lists 2 functions; 1 directions of 1 need 1");
    CHECK(rnn_with(unknown_act, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "activation function 'Swish' is not supported");
    CHECK(rnn_with(affine_no_beta, IR_I32, &d) == -1);
    CHECK_CONTAINS(d.msg, "activation function Affine needs its alpha and beta");
    CHECK(rnn_with(no_tweak, IR_F32, &d) == -1);
    CHECK_CONTAINS(d.msg, "sequence_lens is f32, expected i32");
}

/* Alphas and betas go, in order, to the functions that take them; the
 * others keep their op's defaults. */
static void test_activation_params(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){C(1), C(1), C(1)}, &d);
    ir_id n = layer(g, IR_OP_LSTM, (ir_id[]){x, x, x}, 3, 1, &d);
    ir_set_attr_str(g, n, "direction", "bidirectional", &d);
    const char *acts[] = {"Tanh", "LeakyRelu", "HardSigmoid", "Sigmoid", "ScaledTanh", "Elu"};
    ir_set_attr_strs(g, n, "activations", acts, 6, &d);
    ir_set_attr_floats(g, n, "activation_alpha", (float[]){0.25f, 0.5f, 2.0f}, 3, &d);
    ir_set_attr_floats(g, n, "activation_beta", (float[]){0.75f, 3.0f}, 2, &d);
    rnn_attrs a;
    CHECK(rnn_read_attrs(g, &g->nodes[n], &a, &d) == 0);
    CHECK(a.n_dirs == 2 && !a.reverse[0] && a.reverse[1] && a.gates == 4 && a.n_acts == 3);
    CHECK(a.act[0][0].op == IR_OP_Tanh);
    CHECK(a.act[0][1].op == IR_OP_LeakyRelu && a.act[0][1].alpha == 0.25);
    CHECK(a.act[0][2].op == IR_OP_HardSigmoid && a.act[0][2].alpha == 0.5 && a.act[0][2].beta == 0.75);
    CHECK(a.act[1][0].op == IR_OP_Sigmoid);
    CHECK(a.act[1][1].kind == RNN_FN_SCALED_TANH && a.act[1][1].alpha == 2.0 && a.act[1][1].beta == 3.0);
    CHECK(a.act[1][2].op == IR_OP_Elu && a.act[1][2].alpha == 1.0); /* the list ran out: Elu's default */
    ir_graph_free(g);
}

/* X (seq, batch 1, input 2), W, R for `gates` gates of hidden 3. */
static ir_graph *one_layer(ir_op op, int gates, ir_dim seq, bool with_h0, ir_id *node, diag *d) {
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){seq, C(1), C(2)}, d);
    ir_id w = ir_add_input(g, "w", IR_F32, 3, (ir_dim[]){C(1), C(3 * gates), C(2)}, d);
    ir_id r = ir_add_input(g, "r", IR_F32, 3, (ir_dim[]){C(1), C(3 * gates), C(3)}, d);
    ir_id h0 = with_h0 ? ir_add_input(g, "h0", IR_F32, 3, (ir_dim[]){C(1), C(1), C(3)}, d) : IR_NONE;
    uint32_t n_out = op == IR_OP_LSTM ? 3 : 2;
    *node = layer(g, op, (ir_id[]){x, w, r, IR_NONE, IR_NONE, h0}, with_h0 ? 6 : 3, n_out, d);
    if (ir_infer_node(g, *node, d)) return g;
    for (uint32_t o = 0; o < n_out; o++) ir_add_output(g, g->nodes[*node].out[o], d);
    return g;
}

static int count_reductions(const kir_program *p) {
    int c = 0;
    for (uint32_t k = 0; k < p->n_kernels; k++) c += p->kernels[k].reduce == KR_SUM;
    return c;
}

static void test_unrolled_kernels(void) {
    diag d;
    diag_init(&d);
    ir_id n;
    /* RNN, 4 steps: projection, one reduction per step (the first is
     * elementwise: no initial_h), Y, Y_h */
    ir_graph *g = one_layer(IR_OP_RNN, 1, C(4), false, &n, &d);
    kir_program *p = kir_lower(g, &d);
    CHECK(p && p->n_kernels == 1 + 4 + 2 && count_reductions(p) == 1 + 3);
    kir_free(p);
    ir_graph_free(g);
    /* GRU with initial_h, 3 steps: two reductions per step */
    g = one_layer(IR_OP_GRU, 3, C(3), true, &n, &d);
    p = kir_lower(g, &d);
    CHECK(p && p->n_kernels == 1 + 2 * 3 + 2 && count_reductions(p) == 1 + 2 * 3);
    kir_free(p);
    ir_graph_free(g);
    /* LSTM, 2 steps: the gates' sum and the state per step, then Y, Y_h, Y_c;
     * after fusion the states stay kernels: the first because the next
     * step's sum reads it, the last because Y, Y_h and Y_c all read it (a
     * producer with transcendental functions is not inlined into several
     * readers, kir_fuse.c) */
    g = one_layer(IR_OP_LSTM, 4, C(2), true, &n, &d);
    p = kir_lower(g, &d);
    CHECK(p && p->n_kernels == 1 + 2 * 2 + 3 && count_reductions(p) == 1 + 2);
    CHECK(p && kir_fuse(p, &d) == 0 && p->n_kernels == 1 + 2 + 2 + 3);
    kir_free(p);
    ir_graph_free(g);
}

/* A sequence length known only at run time is refused at lowering. */
static void test_symbolic_sequence(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){ir_dim_named(g, "seq"), C(1), C(2)}, &d);
    ir_id w = ir_add_input(g, "w", IR_F32, 3, (ir_dim[]){C(1), C(3), C(2)}, &d);
    ir_id r = ir_add_input(g, "r", IR_F32, 3, (ir_dim[]){C(1), C(3), C(3)}, &d);
    ir_id n = layer(g, IR_OP_RNN, (ir_id[]){x, w, r}, 3, 2, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    CHECK(!strcmp(type_of(g, g->nodes[n].out[RNN_Y]), "f32[seq,1,1,3]"));
    ir_add_output(g, g->nodes[n].out[RNN_Y_H], &d);
    kir_program *p = kir_lower(g, &d);
    CHECK(p == NULL);
    CHECK_CONTAINS(d.msg, "the sequence length of X is known only at run time");
    kir_free(p);
    ir_graph_free(g);
}

/* h_t = x_t + h_{t-1} (Affine 1, 0; W = R = 1), reverse, lengths 2 and 4:
 * batch 0 reads x[1] = 2 then x[0] = 1: Y = 3, 2, 0, 0 and Y_h = 3; batch 1
 * reads 40, 30, 20, 10: Y = 100, 90, 70, 40 and Y_h = 100. */
static void test_reverse_lengths(void) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_graph_new("t", "t.onnx");
    float one = 1.0f;
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){C(4), C(2), C(1)}, &d);
    ir_id lens = ir_add_input(g, "lens", IR_I32, 1, (ir_dim[]){C(2)}, &d);
    ir_id w = ir_add_const(g, "w", IR_F32, 3, (ir_dim[]){C(1), C(1), C(1)}, &one, 4, -1, &d);
    ir_id n = layer(g, IR_OP_RNN, (ir_id[]){x, w, w, IR_NONE, lens}, 5, 2, &d);
    ir_set_attr_str(g, n, "direction", "reverse", &d);
    ir_set_attr_strs(g, n, "activations", (const char *[]){"Affine"}, 1, &d);
    ir_set_attr_floats(g, n, "activation_alpha", &one, 1, &d);
    ir_set_attr_floats(g, n, "activation_beta", (float[]){0.0f}, 1, &d);
    CHECK(ir_infer_node(g, n, &d) == 0);
    ir_add_output(g, g->nodes[n].out[RNN_Y], &d);
    ir_add_output(g, g->nodes[n].out[RNN_Y_H], &d);
    kir_program *p = kir_lower(g, &d);
    CHECK(p != NULL);
    float xd[8] = {1, 10, 2, 20, 3, 30, 4, 40}; /* (seq, batch) */
    int32_t ld[2] = {2, 4};
    interp_tensor in[2] = {{IR_F32, 3, {4, 2, 1}, xd, sizeof xd}, {IR_I32, 1, {2}, ld, sizeof ld}};
    interp_tensor out[2] = {{0}};
    CHECK(p && interp_run(p, in, out, &d) == 0);
    const float *y = out[0].data, *yh = out[1].data;
    float want_y[8] = {3, 100, 2, 90, 0, 70, 0, 40}, want_yh[2] = {3, 100};
    CHECK(y && !memcmp(y, want_y, sizeof want_y));
    CHECK(yh && !memcmp(yh, want_yh, sizeof want_yh));
    free(out[0].data);
    free(out[1].data);
    kir_free(p);
    ir_graph_free(g);
}

int main(void) {
    test_shapes();
    test_errors();
    test_activation_params();
    test_unrolled_kernels();
    test_symbolic_sequence();
    test_reverse_lengths();
    return check_summary("rnn");
}
