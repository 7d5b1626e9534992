/* interp_lib.c — the attribute source of the library routines over a graph
 * node (see interp_lib.h, runtime/lib_attrs.h): each accessor checks the
 * attribute's kind in the op's schema before reading it through ir_attr_*,
 * which fill in the schema default of an unset scalar. */
#include "interp_lib.h"

/* The schema kind of attribute `name` of n's op; -1 when the op has none. */
static int kind_of(const ir_node *n, const char *name) {
    int i = ir_attr_index(n->op, name);
    return i < 0 ? -1 : (int)ir_op_get(n->op)->attrs[i].kind;
}

static bool node_int(const void *ctx, const char *name, int64_t *v) {
    int k = kind_of(ctx, name);
    if (k != IR_AK_INT && k != IR_AK_DTYPE) return false;
    *v = ir_attr_int(ctx, name);
    return true;
}

static bool node_float(const void *ctx, const char *name, double *v) {
    int k = kind_of(ctx, name);
    if (k == IR_AK_INT) *v = (double)ir_attr_int(ctx, name);
    else if (k == IR_AK_FLOAT) *v = ir_attr_float(ctx, name);
    else return false;
    return true;
}

static bool node_ints(const void *ctx, const char *name, const int64_t **v, uint32_t *n) {
    if (kind_of(ctx, name) != IR_AK_INTS) return false;
    *v = ir_attr_ints(ctx, name, n);
    return *v != NULL;
}

static bool node_str(const void *ctx, const char *name, const char **v) {
    if (kind_of(ctx, name) != IR_AK_STR) return false;
    *v = ir_attr_str(ctx, name);
    return true;
}

static bool node_is_set(const void *ctx, const char *name) {
    return kind_of(ctx, name) >= 0 && ir_attr_is_set(ctx, name);
}

void interp_lib_attrs(rt_attrs *a, const ir_node *n) {
    *a = (rt_attrs){.ctx = n, .get_int = node_int, .get_float = node_float, .get_ints = node_ints,
                    .get_str = node_str, .is_set = node_is_set};
}
