/* ir.h — the graph IR: values, nodes, attributes, symbolic shapes, graphs.
 *
 * A graph owns flat arrays of values and nodes; everything refers to them by
 * 32-bit index (ir_id), so arrays can grow and passes can rewrite without
 * dangling pointers. Do not hold an ir_value* or ir_node* across a call that
 * adds values or nodes: take the index instead.
 *
 * Values are SSA: each is a graph input, a constant, or one output of exactly
 * one node. Every value carries a dtype and a shape; each dimension is either
 * a constant or a symbol of the graph's symbol table (a named dimension such
 * as `batch`, or an expression over others such as `batch*seq`).
 *
 * Constants never own bytes they did not allocate: their data points into a
 * mapped file (model weights) or into the graph arena (small or folded ones).
 *
 * Ops and their attributes come from ops.def (see ops.h); each node stores one
 * ir_attr per attribute of its op's schema, in schema order.
 */
#ifndef SMELT_IR_H
#define SMELT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"
#include "dtype.h"
#include "ops.h"

typedef uint32_t ir_id;
#define IR_NONE UINT32_MAX
#define IR_MAX_RANK 16

/* ---- dimensions ---------------------------------------------------------- */

/* A dimension: constant when sym < 0 (value in c), else symbol index. */
typedef struct ir_dim {
    int64_t c;
    int32_t sym;
} ir_dim;

typedef enum ir_sym_kind {
    IR_SYM_NAMED,    /* a free symbol: batch, seq, or a data-dependent size */
    IR_SYM_ADD,      /* a + b */
    IR_SYM_SUB,      /* a - b */
    IR_SYM_MUL,      /* a * b */
    IR_SYM_DIV,      /* floor(a / b) */
    IR_SYM_CDIV,     /* ceil(a / b) */
    IR_SYM_MOD,      /* a mod b */
    IR_SYM_MIN,      /* min(a, b) */
    IR_SYM_MAX,      /* max(a, b) */
} ir_sym_kind;

typedef struct ir_symbol {
    ir_sym_kind kind;
    const char *name; /* IR_SYM_NAMED only */
    ir_dim a, b;      /* operands of expressions */
} ir_symbol;

/* ---- attributes ---------------------------------------------------------- */

typedef struct ir_graph ir_graph;

typedef struct ir_attr {
    bool set;       /* false: the schema default applies */
    uint32_t count; /* element count of list kinds */
    union {
        int64_t i;  /* INT, and DTYPE (an ir_dtype) */
        float f;
        const char *s;
        int64_t *ints;
        float *floats;
        const char **strs;
        ir_graph *graph;
    } v;
} ir_attr;

/* ---- values and nodes ---------------------------------------------------- */

typedef enum ir_value_kind {
    IR_VALUE_NODE,  /* output of a node */
    IR_VALUE_INPUT, /* graph input */
    IR_VALUE_CONST, /* constant (weights, folded results) */
} ir_value_kind;

typedef struct ir_value {
    const char *name;   /* unique within the graph */
    ir_value_kind kind;
    ir_dtype dtype;
    int32_t rank;       /* -1 until inferred */
    ir_dim *dims;       /* rank entries, in the graph arena */
    ir_id producer;     /* producing node, IR_NONE for inputs and constants */
    /* constants only */
    const void *data;
    uint64_t nbytes;
    int32_t mapping;    /* index in graph->maps holding data, -1 if arena */
    /* shape value: the elements of a small integer tensor computed from
     * shapes (rank <= 1, i32/i64/bool, at most IR_SVAL_MAX elements), each a
     * constant or a symbolic dim: Shape(x) of x: [batch,seq] holds {batch,
     * seq}. NULL when unknown. Set by inference (ir_infer_node), dropped by
     * ir_set_type; constants are read from their data instead. */
    ir_dim *sval;
} ir_value;

typedef struct ir_node {
    ir_op op;
    uint32_t n_in, n_out;
    ir_id *in;          /* IR_NONE marks an omitted optional input */
    ir_id *out;
    ir_attr *attrs;     /* ir_op_get(op)->n_attrs entries */
    const char *name;   /* origin: ONNX node name or GGUF tensor name */
    const char *file;   /* origin file */
    bool dead;          /* removed by a pass; skipped everywhere */
} ir_node;

/* A fact about where the graph came from (producer, opsets), for inspect. */
typedef struct ir_meta {
    const char *key, *value;
} ir_meta;

/* A read-only file mapping that constants point into. */
typedef struct ir_mapping {
    const char *path;
    const uint8_t *base;
    size_t size;
    bool owned;         /* unmapped by ir_graph_free */
} ir_mapping;

struct ir_graph {
    arena arena;
    const char *name;
    const char *source;   /* file the graph came from */
    ir_graph *parent;     /* enclosing graph of a subgraph, else NULL */

    ir_value *values;
    uint32_t n_values, cap_values;
    ir_node *nodes;
    uint32_t n_nodes, cap_nodes;
    ir_id *inputs;
    uint32_t n_inputs, cap_inputs;
    ir_id *outputs;
    uint32_t n_outputs, cap_outputs;
    ir_symbol *syms;
    uint32_t n_syms, cap_syms;
    ir_mapping *maps;
    uint32_t n_maps, cap_maps;
    ir_meta *meta;
    uint32_t n_meta, cap_meta;

    /* name -> value index, open addressing */
    uint32_t *name_index;
    uint32_t name_index_cap;
};

/* ---- graph construction (graph.c) --------------------------------------- */

ir_graph *ir_graph_new(const char *name, const char *source);
void ir_graph_free(ir_graph *g);

/* New values return their id, or IR_NONE when the name is taken or memory
 * is exhausted (with an error in d). dims are copied; rank -1 = unknown. */
ir_id ir_add_input(ir_graph *g, const char *name, ir_dtype t, int rank, const ir_dim *dims, diag *d);
ir_id ir_add_const(ir_graph *g, const char *name, ir_dtype t, int rank, const ir_dim *dims,
                   const void *data, uint64_t nbytes, int32_t mapping, diag *d);
/* Adds a node whose outputs are new values named out_names[i] (NULL or ""
 * for an unused optional output: a fresh name is made). Shapes are inferred
 * later by ir_infer_node. Returns the node id or IR_NONE. */
ir_id ir_add_node(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in,
                  const char *const *out_names, uint32_t n_out,
                  const char *origin_name, diag *d);
int ir_add_output(ir_graph *g, ir_id v, diag *d);
int ir_add_mapping(ir_graph *g, const char *path, const uint8_t *base, size_t size, bool owned);
int ir_add_meta(ir_graph *g, const char *key, const char *value);

ir_id ir_find_value(const ir_graph *g, const char *name);
/* A name not used in g, built from base. Arena-owned. */
const char *ir_fresh_name(ir_graph *g, const char *base);

static inline ir_value *ir_val(ir_graph *g, ir_id v) { return &g->values[v]; }
static inline ir_node *ir_nod(ir_graph *g, ir_id n) { return &g->nodes[n]; }

/* Set the shape and dtype of a value (dims copied into the arena). */
int ir_set_type(ir_graph *g, ir_id v, ir_dtype t, int rank, const ir_dim *dims);

/* Element count when all dims are constant, else -1. */
int64_t ir_value_numel(const ir_graph *g, ir_id v);

/* ---- attributes (attr.c) -------------------------------------------------- */

/* Index of attribute `name` in op's schema; -1 if the op has none so named. */
int ir_attr_index(ir_op op, const char *name);
/* Getters return the node's value or the schema default. Asking for a name
 * the op does not have is a programming error (asserted). */
int64_t ir_attr_int(const ir_node *n, const char *name);
float ir_attr_float(const ir_node *n, const char *name);
const char *ir_attr_str(const ir_node *n, const char *name);
const int64_t *ir_attr_ints(const ir_node *n, const char *name, uint32_t *count);
const float *ir_attr_floats(const ir_node *n, const char *name, uint32_t *count);
const char *const *ir_attr_strs(const ir_node *n, const char *name, uint32_t *count);
ir_graph *ir_attr_graph(const ir_node *n, const char *name);
bool ir_attr_is_set(const ir_node *n, const char *name);
/* Setters copy lists into the graph arena. Return -1 on an unknown name or a
 * kind mismatch, with an error naming the node. */
int ir_set_attr_int(ir_graph *g, ir_id node, const char *name, int64_t v, diag *d);
int ir_set_attr_float(ir_graph *g, ir_id node, const char *name, float v, diag *d);
int ir_set_attr_str(ir_graph *g, ir_id node, const char *name, const char *v, diag *d);
int ir_set_attr_ints(ir_graph *g, ir_id node, const char *name, const int64_t *v, uint32_t n, diag *d);
int ir_set_attr_floats(ir_graph *g, ir_id node, const char *name, const float *v, uint32_t n, diag *d);
int ir_set_attr_strs(ir_graph *g, ir_id node, const char *name, const char *const *v, uint32_t n, diag *d);
int ir_set_attr_graph(ir_graph *g, ir_id node, const char *name, ir_graph *sub, diag *d);

/* ---- symbolic dimensions (symdim.c) ------------------------------------- */

static inline ir_dim ir_dim_const(int64_t c) { ir_dim x = {c, -1}; return x; }
/* The result of a dimension computation that overflowed or divided by zero:
 * negative, so inference reports it rather than using it. */
#define IR_DIM_INVALID ((ir_dim){INT64_MIN, -1})
static inline bool ir_dim_is_const(ir_dim x) { return x.sym < 0; }
bool ir_dim_eq(ir_dim a, ir_dim b);
/* The named symbol `name`, created on first use. */
ir_dim ir_dim_named(ir_graph *g, const char *name);
/* A new free symbol for a size known only at run time (data-dependent). */
ir_dim ir_dim_fresh(ir_graph *g);
/* Expressions fold constants and reuse an existing identical symbol. */
ir_dim ir_dim_expr(ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b);
static inline ir_dim ir_dim_add(ir_graph *g, ir_dim a, ir_dim b) { return ir_dim_expr(g, IR_SYM_ADD, a, b); }
static inline ir_dim ir_dim_sub(ir_graph *g, ir_dim a, ir_dim b) { return ir_dim_expr(g, IR_SYM_SUB, a, b); }
static inline ir_dim ir_dim_mul(ir_graph *g, ir_dim a, ir_dim b) { return ir_dim_expr(g, IR_SYM_MUL, a, b); }
static inline ir_dim ir_dim_div(ir_graph *g, ir_dim a, ir_dim b) { return ir_dim_expr(g, IR_SYM_DIV, a, b); }
static inline ir_dim ir_dim_cdiv(ir_graph *g, ir_dim a, ir_dim b) { return ir_dim_expr(g, IR_SYM_CDIV, a, b); }
/* x, whose symbols at index keep and above are read from the table `from`
 * (a copy of g's symbols before it was cut back to keep entries), rebuilt
 * as a dim of g: what inference made, kept after its scratch symbols go. */
ir_dim ir_dim_reintern(ir_graph *g, const ir_symbol *from, uint32_t keep, ir_dim x);
/* Value of a dimension given the values of symbols in vals (indexed by
 * symbol, -1 = unknown); expression values are memoized into vals.
 * Returns -1 when it depends on an unknown symbol or is invalid. */
int64_t ir_dim_eval(const ir_graph *g, ir_dim x, int64_t *vals);
/* Write a dimension as text (`128`, `batch`, `(batch*seq)`); returns length. */
int ir_dim_format(const ir_graph *g, ir_dim x, char *buf, size_t size);
/* Write a type as text (`f32[batch,3,224,224]`, `i64[]` for a scalar). */
int ir_type_format(const ir_graph *g, ir_dtype t, int rank, const ir_dim *dims, char *buf, size_t size);

/* ---- shape values (infer_shape_value.c) ---------------------------------- */

#define IR_SVAL_MAX 64
/* The elements of value v as dims, when known: a small integer or bool
 * constant's data, or the shape value inference recorded. Returns 0 with the
 * count in *n (at most max), 1 when unknown or longer than max. A symbolic
 * element stands for a non-negative value (a size, or arithmetic on sizes). */
int ir_value_sval(const ir_graph *g, ir_id v, ir_dim *out, int max, int *n);
/* Whether every element of v's shape value is a constant (0 and the values
 * in out), else 1. */
int ir_value_sval_const(const ir_graph *g, ir_id v, int64_t *out, int max, int *n);

/* ---- inference and verification ----------------------------------------- */

/* Infer output dtypes and shapes of one node / all nodes in order. */
int ir_infer_node(ir_graph *g, ir_id node, diag *d);
int ir_infer(ir_graph *g, diag *d);
/* Check types, shapes, SSA order, operand counts and attribute kinds. */
int ir_verify(ir_graph *g, diag *d);

/* Report an error about a node: "<file>: node '<name>' (<Op>): <message>". */
int ir_node_error(const ir_graph *g, const ir_node *n, diag *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
