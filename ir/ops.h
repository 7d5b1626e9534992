/* ops.h — op kinds and their schemas, derived from ops.def.
 *
 * Each op is one row of ops.def; this header turns the rows into the ir_op
 * enum and the schema table (name, operand counts, attributes with kinds and
 * defaults, inference function, flags) that the importer, the text format,
 * the verifier and the passes all read. Nothing else describes an op.
 */
#ifndef SMELT_OPS_H
#define SMELT_OPS_H

#include <stdbool.h>
#include <stdint.h>

struct ir_graph;
struct diag;

typedef enum ir_attr_kind {
    IR_AK_INT,
    IR_AK_FLOAT,
    IR_AK_STR,
    IR_AK_DTYPE,   /* an ir_dtype, written by name in text */
    IR_AK_INTS,
    IR_AK_FLOATS,
    IR_AK_STRS,
    IR_AK_GRAPH,   /* a subgraph (If/Loop/Scan bodies) */
} ir_attr_kind;

const char *ir_attr_kind_name(ir_attr_kind k);

typedef struct ir_attr_schema {
    const char *name;
    ir_attr_kind kind;
    bool required;
    int64_t def_i;       /* default of INT and DTYPE */
    float def_f;         /* default of FLOAT */
    const char *def_s;   /* default of STR */
    bool no_default;     /* optional, and unset means something else than
                            any value (Unique's axis: flatten): the manifest
                            writes null for it when the node leaves it out */
} ir_attr_schema;

typedef int (*ir_infer_fn)(struct ir_graph *g, uint32_t node, struct diag *d);
struct kir_program;
typedef int (*ir_lower_fn)(struct kir_program *p, uint32_t node, struct diag *d);

enum ir_op_flags {
    IR_F_ELEMENTWISE = 1u << 0, /* output[i] depends on input[i] (after broadcast) */
    IR_F_FUSIBLE     = 1u << 1, /* may be inlined into a consumer's loads */
    IR_F_COMMUTATIVE = 1u << 2, /* binary op with a op b == b op a */
    IR_F_REDUCTION   = 1u << 3, /* reduces over some axes */
    IR_F_CONTRACTION = 1u << 4, /* MatMul-like: lowered to a contraction template */
    IR_F_MOVEMENT    = 1u << 5, /* moves or reinterprets data, computes nothing */
    IR_F_SHAPE_ONLY  = 1u << 6, /* result depends only on input shapes (its lowering reads no input
                                   data: folded once the input shapes are static) */
};

#define IR_VARIADIC 0xFFFF

typedef struct ir_op_info {
    const char *name;
    uint16_t min_in, max_in;   /* max IR_VARIADIC: any number */
    uint16_t min_out, max_out;
    ir_infer_fn infer;
    ir_lower_fn lower;         /* NULL while the op has no lowering */
    uint32_t flags;
    const ir_attr_schema *attrs;
    uint16_t n_attrs;
} ir_op_info;

typedef enum ir_op {
    IR_OP_NONE = 0,
#define OP(Name, min_in, max_in, min_out, max_out, infer, lower, flags, attrs) IR_OP_##Name,
#include "ops.def"
#undef OP
    IR_OP_COUNT
} ir_op;

const ir_op_info *ir_op_get(ir_op op);
/* IR_OP_NONE when unknown; len < 0 means strlen(name). */
ir_op ir_op_from_name(const char *name, int len);

#endif
