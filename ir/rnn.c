/* rnn.c — the attributes of RNN, GRU and LSTM (see rnn.h): direction,
 * activation functions and their alpha / beta, clip, layout and the
 * cell-specific flags, with the ONNX defaults and checks. Activation alphas
 * and betas are consumed in the order of the activation list, each by a
 * function that takes one (as onnxruntime reads them); a function whose list
 * runs out takes its op's default. */
#include "rnn.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* The activation functions a recurrent layer may name: the op computing it
 * and how many of alpha, beta it takes. */
static const struct rnn_fn_info {
    const char *name;
    rnn_fn_kind kind;
    ir_op op;
    int n_params; /* 0, 1 (alpha) or 2 (alpha, beta) */
} rnn_fns[] = {
    {"Relu", RNN_FN_OP, IR_OP_Relu, 0},
    {"Tanh", RNN_FN_OP, IR_OP_Tanh, 0},
    {"Sigmoid", RNN_FN_OP, IR_OP_Sigmoid, 0},
    {"Affine", RNN_FN_AFFINE, IR_OP_NONE, 2},
    {"LeakyRelu", RNN_FN_OP, IR_OP_LeakyRelu, 1},
    {"ThresholdedRelu", RNN_FN_OP, IR_OP_ThresholdedRelu, 1},
    {"ScaledTanh", RNN_FN_SCALED_TANH, IR_OP_NONE, 2},
    {"HardSigmoid", RNN_FN_OP, IR_OP_HardSigmoid, 2},
    {"Elu", RNN_FN_OP, IR_OP_Elu, 1},
    {"Softsign", RNN_FN_OP, IR_OP_Softsign, 0},
    {"Softplus", RNN_FN_OP, IR_OP_Softplus, 0},
};

static const struct rnn_fn_info *find_fn(const char *name) {
    for (size_t i = 0; i < sizeof rnn_fns / sizeof rnn_fns[0]; i++)
        if (!strcasecmp(rnn_fns[i].name, name)) return &rnn_fns[i];
    return NULL;
}

/* The default functions per direction: RNN f = Tanh; GRU f = Sigmoid,
 * g = Tanh; LSTM f = Sigmoid, g = h = Tanh. */
static const char *default_fn(rnn_cell cell, int k) {
    if (cell == RNN_CELL_RNN) return "Tanh";
    return k == 0 ? "Sigmoid" : "Tanh";
}

/* The op's default for attribute `name` (alpha of LeakyRelu, ...). */
static double op_default(ir_op op, const char *name) {
    int i = ir_attr_index(op, name);
    return i < 0 ? 0.0 : ir_op_get(op)->attrs[i].def_f;
}

/* The next value of a parameter list, or NAN when it has run out. */
static double take(const float *vals, uint32_t count, uint32_t *next) {
    return *next < count ? vals[(*next)++] : NAN;
}

static int read_activations(const ir_graph *g, const ir_node *n, rnn_attrs *a, diag *d) {
    uint32_t n_names, n_alpha, n_beta, next_alpha = 0, next_beta = 0;
    const char *const *given = ir_attr_strs(n, "activations", &n_names);
    if (!n_names) given = NULL; /* an empty list: the defaults */
    const float *alphas = ir_attr_floats(n, "activation_alpha", &n_alpha);
    const float *betas = ir_attr_floats(n, "activation_beta", &n_beta);
    int want = a->n_acts * a->n_dirs;
    if (given && (int)n_names != want)
        return ir_node_error(g, n, d, "activations lists %u functions; %d directions of %d need %d", n_names,
                             a->n_dirs, a->n_acts, want);
    for (int k = 0; k < want; k++) {
        const char *name = given ? given[k] : default_fn(a->cell, k % a->n_acts);
        const struct rnn_fn_info *fi = find_fn(name);
        if (!fi) return ir_node_error(g, n, d, "activation function '%s' is not supported", name);
        rnn_act *act = &a->act[k / a->n_acts][k % a->n_acts];
        act->kind = fi->kind;
        act->op = fi->op;
        act->alpha = fi->n_params >= 1 ? take(alphas, n_alpha, &next_alpha) : 0.0;
        act->beta = fi->n_params >= 2 ? take(betas, n_beta, &next_beta) : 0.0;
        if (fi->kind != RNN_FN_OP && (isnan(act->alpha) || isnan(act->beta)))
            return ir_node_error(g, n, d, "activation function %s needs its alpha and beta in activation_alpha "
                                 "and activation_beta", fi->name);
        if (isnan(act->alpha)) act->alpha = op_default(fi->op, "alpha");
        if (isnan(act->beta)) act->beta = op_default(fi->op, "beta");
    }
    return 0;
}

static int read_direction(const ir_graph *g, const ir_node *n, rnn_attrs *a, diag *d) {
    const char *dir = ir_attr_str(n, "direction");
    a->n_dirs = 1;
    a->reverse[0] = a->reverse[1] = false;
    if (!strcasecmp(dir, "forward")) return 0;
    if (!strcasecmp(dir, "reverse")) {
        a->reverse[0] = true;
        return 0;
    }
    if (!strcasecmp(dir, "bidirectional")) {
        a->n_dirs = 2;
        a->reverse[1] = true;
        return 0;
    }
    return ir_node_error(g, n, d, "direction '%s' must be forward, reverse or bidirectional", dir);
}

/* 0 or 1, else an error naming the attribute. */
static int read_flag(const ir_graph *g, const ir_node *n, const char *name, bool *out, diag *d) {
    int64_t v = ir_attr_int(n, name);
    if (v != 0 && v != 1) return ir_node_error(g, n, d, "%s is %lld, must be 0 or 1", name, (long long)v);
    *out = v != 0;
    return 0;
}

int rnn_read_attrs(const ir_graph *g, const ir_node *n, rnn_attrs *a, diag *d) {
    memset(a, 0, sizeof *a);
    switch (n->op) {
    case IR_OP_RNN: a->cell = RNN_CELL_RNN, a->gates = 1, a->n_acts = 1; break;
    case IR_OP_GRU: a->cell = RNN_CELL_GRU, a->gates = 3, a->n_acts = 2; break;
    case IR_OP_LSTM: a->cell = RNN_CELL_LSTM, a->gates = 4, a->n_acts = 3; break;
    default: return ir_node_error(g, n, d, "not a recurrent layer");
    }
    if (read_direction(g, n, a, d) || read_activations(g, n, a, d) || read_flag(g, n, "layout", &a->batch_first, d))
        return -1;
    if (a->cell == RNN_CELL_GRU && read_flag(g, n, "linear_before_reset", &a->linear_before_reset, d)) return -1;
    if (a->cell == RNN_CELL_LSTM && read_flag(g, n, "input_forget", &a->input_forget, d)) return -1;
    a->clip = ir_attr_is_set(n, "clip");
    a->clip_at = ir_attr_float(n, "clip");
    if (a->clip && !(a->clip_at > 0))
        return ir_node_error(g, n, d, "clip is %g, must be positive", a->clip_at);
    if (ir_attr_int(n, "hidden_size") < 0)
        return ir_node_error(g, n, d, "hidden_size is %lld, must not be negative", (long long)ir_attr_int(n, "hidden_size"));
    return 0;
}

ir_id rnn_input(const ir_node *n, uint32_t i) { return i < n->n_in ? n->in[i] : IR_NONE; }
