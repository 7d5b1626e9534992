/* ops.c — the op schema table, built from ops.def. */
#include "ops.h"

#include <string.h>

#include "infer.h"
#include "lower.h"

#define A_INT(n, d)   {#n, IR_AK_INT, false, (d), 0.0f, NULL, false},
#define A_OPT_INT(n)  {#n, IR_AK_INT, false, 0, 0.0f, NULL, true},
#define A_FLOAT(n, d) {#n, IR_AK_FLOAT, false, 0, (d), NULL, false},
#define A_STR(n, d)   {#n, IR_AK_STR, false, 0, 0.0f, (d), false},
#define A_DTYPE(n, d) {#n, IR_AK_DTYPE, false, (d), 0.0f, NULL, false},
#define A_INTS(n)     {#n, IR_AK_INTS, false, 0, 0.0f, NULL, false},
#define A_FLOATS(n)   {#n, IR_AK_FLOATS, false, 0, 0.0f, NULL, false},
#define A_STRS(n)     {#n, IR_AK_STRS, false, 0, 0.0f, NULL, false},
#define R_INT(n)      {#n, IR_AK_INT, true, 0, 0.0f, NULL, false},
#define R_FLOAT(n)    {#n, IR_AK_FLOAT, true, 0, 0.0f, NULL, false},
#define R_STR(n)      {#n, IR_AK_STR, true, 0, 0.0f, NULL, false},
#define R_DTYPE(n)    {#n, IR_AK_DTYPE, true, 0, 0.0f, NULL, false},
#define R_INTS(n)     {#n, IR_AK_INTS, true, 0, 0.0f, NULL, false},
#define R_GRAPH(n)    {#n, IR_AK_GRAPH, true, 0, 0.0f, NULL, false},
#define A_END         {NULL, IR_AK_INT, false, 0, 0.0f, NULL, false}

#define OP(Name, min_in, max_in, min_out, max_out, infer, lower, flags, attrs) \
    static const ir_attr_schema attrs_##Name[] = {attrs};
#include "ops.def"
#undef OP

static const ir_op_info op_table[IR_OP_COUNT] = {
    [IR_OP_NONE] = {"?", 0, 0, 0, 0, NULL, NULL, 0, NULL, 0},
#define OP(Name, min_in, max_in, min_out, max_out, infer, lower, flags, attrs)                  \
    [IR_OP_##Name] = {#Name, min_in, max_in, min_out, max_out, infer, lower, flags, attrs_##Name, \
                      (uint16_t)(sizeof(attrs_##Name) / sizeof(attrs_##Name[0]) - 1)},
#include "ops.def"
#undef OP
};

const ir_op_info *ir_op_get(ir_op op) {
    return (unsigned)op < IR_OP_COUNT ? &op_table[op] : &op_table[0];
}

ir_op ir_op_from_name(const char *name, int len) {
    size_t n = len < 0 ? strlen(name) : (size_t)len;
    for (int op = 1; op < IR_OP_COUNT; op++)
        if (strlen(op_table[op].name) == n && memcmp(op_table[op].name, name, n) == 0)
            return (ir_op)op;
    return IR_OP_NONE;
}

const char *ir_attr_kind_name(ir_attr_kind k) {
    static const char *names[] = {"int", "float", "string", "dtype", "ints", "floats", "strings", "graph"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}
