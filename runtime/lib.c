/* lib.c — the name -> routine table of the library routines (see lib.h),
 * their error messages, and attribute reads through the call's source
 * (lib_attrs.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib_impl.h"

static const struct {
    const char *name;
    rt_lib_fn fn;
} lib_table[] = {
    {"TopK", rt_lib_topk},
    {"NonZero", rt_lib_nonzero},
    {"Unique", rt_lib_unique},
    {"CumSum", rt_lib_cumsum},
    {"CumProd", rt_lib_cumprod},
    {"Det", rt_lib_det},
    {"MaxUnpool", rt_lib_max_unpool},
    {"BitCast", rt_lib_bitcast},
    {"Dropout", rt_lib_dropout},
    {"LinearAttention", rt_lib_linear_attention},
    {"NonMaxSuppression", rt_lib_nms},
    {"DequantizeGGML", rt_lib_dequantize_ggml},
};

rt_lib_fn rt_lib_find(const char *name) {
    for (size_t i = 0; i < sizeof lib_table / sizeof lib_table[0]; i++)
        if (!strcmp(lib_table[i].name, name)) return lib_table[i].fn;
    return NULL;
}

int rt_lib_error(rt_lib_call *c, const char *fmt, ...) {
    if (!c->err || !c->err_size) return -1;
    int n = snprintf(c->err, c->err_size, "node '%s': ", c->node ? c->node : "?");
    if (n >= 0 && (size_t)n < c->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->err_size - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void rt_attrs_free(rt_attrs *a) {
    if (a && a->free) a->free(a);
}

static int missing(rt_lib_call *c, const char *name) {
    return rt_lib_error(c, "attribute '%s' is missing or not of its kind", name);
}

int rt_lib_attr_int(rt_lib_call *c, const char *name, int64_t *v) {
    const rt_attrs *a = c->attrs;
    return a && a->get_int(a->ctx, name, v) ? 0 : missing(c, name);
}

int rt_lib_attr_float(rt_lib_call *c, const char *name, double *v) {
    const rt_attrs *a = c->attrs;
    return a && a->get_float(a->ctx, name, v) ? 0 : missing(c, name);
}

int rt_lib_attr_str(rt_lib_call *c, const char *name, const char **v) {
    const rt_attrs *a = c->attrs;
    return a && a->get_str(a->ctx, name, v) ? 0 : missing(c, name);
}

bool rt_lib_attr_ints(rt_lib_call *c, const char *name, const int64_t **v, uint32_t *n) {
    const rt_attrs *a = c->attrs;
    *v = NULL;
    *n = 0;
    if (a && a->get_ints(a->ctx, name, v, n)) return true;
    *v = NULL;
    *n = 0;
    return false;
}

bool rt_lib_attr_is_set(rt_lib_call *c, const char *name) {
    const rt_attrs *a = c->attrs;
    return a && a->is_set(a->ctx, name);
}
