/* rnn.h — the recurrent layers RNN, GRU and LSTM as inference (infer_rnn.c)
 * and lowering (lower_rnn.c) both see them: the cell's gates, the
 * directions, the activation functions with their alpha / beta, clip and
 * layout, read from a node's attributes once, with defaults filled in and
 * values checked, and the positions of the optional inputs. Reading them in
 * one place keeps the two in agreement.
 */
#ifndef SMELT_RNN_H
#define SMELT_RNN_H

#include "ir.h"

/* Inputs of all three ops (LSTM adds initial_c and P). */
enum { RNN_X, RNN_W, RNN_R, RNN_B, RNN_SEQ_LENS, RNN_INITIAL_H, RNN_INITIAL_C, RNN_P };
/* Outputs: the hidden state of every step, the last hidden state, the last cell state (LSTM). */
enum { RNN_Y, RNN_Y_H, RNN_Y_C };

typedef enum rnn_cell { RNN_CELL_RNN, RNN_CELL_GRU, RNN_CELL_LSTM } rnn_cell;

/* An activation function: an elementwise op of the IR (with the alpha and
 * beta it takes), or one of the two that only recurrent layers have. */
typedef enum rnn_fn_kind { RNN_FN_OP, RNN_FN_AFFINE, RNN_FN_SCALED_TANH } rnn_fn_kind;

typedef struct rnn_act {
    rnn_fn_kind kind;
    ir_op op;              /* RNN_FN_OP: Tanh, Sigmoid, Relu, LeakyRelu, ... */
    double alpha, beta;    /* Affine: alpha*x + beta; ScaledTanh: alpha*tanh(beta*x) */
} rnn_act;

#define RNN_MAX_ACTS 3 /* per direction: f (RNN); f, g (GRU); f, g, h (LSTM) */

typedef struct rnn_attrs {
    rnn_cell cell;
    int gates;                        /* RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c) */
    int n_dirs;                       /* 1, or 2 when bidirectional */
    bool reverse[2];                  /* direction index d runs from the last step to the first */
    int n_acts;                       /* activation functions per direction */
    rnn_act act[2][RNN_MAX_ACTS];     /* [direction][f, g, h] */
    bool clip;                        /* clip the inputs of the gate activations to [-clip_at, clip_at] */
    double clip_at;
    bool batch_first;                 /* layout 1: X (batch, seq, input), states (batch, dirs, hidden) */
    bool linear_before_reset;         /* GRU */
    bool input_forget;                /* LSTM: f = 1 - i */
} rnn_attrs;

/* Read and check the attributes of RNN / GRU / LSTM node n. */
int rnn_read_attrs(const ir_graph *g, const ir_node *n, rnn_attrs *a, diag *d);

/* Input i of n, or IR_NONE when omitted. */
ir_id rnn_input(const ir_node *n, uint32_t i);

#endif
