/* rt_libstub.h — TEMPORARY copy of the library-kernel interface that
 * runtime/lib.h (written on the wt-lib branch) will provide, so that the
 * runtime builds before it lands. Delete this file and rt_libstub.c, and
 * include "runtime/lib.h" instead, when lib.h is on main.
 */
#ifndef SMELT_RT_LIBSTUB_H
#define SMELT_RT_LIBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_tensor {
    bool present;
    int dtype; /* ir_dtype */
    int rank;
    int64_t shape[16];
    int64_t numel;
    void *data;
} rt_tensor;

typedef struct rt_attrs rt_attrs; /* attribute source */
int rt_attrs_from_json(rt_attrs **out, const void *cjson_attrs_object); /* free with rt_attrs_free */
void rt_attrs_free(rt_attrs *a);

typedef struct rt_lib_call {
    const char *node; /* node name for messages */
    const rt_tensor *in;
    uint32_t n_in, n_out;
    const rt_attrs *attrs;
    /* creates output o with the given shape: the caller allocates it (zeroed)
     * and binds any still-unbound size symbols of that output's manifest
     * shape; returns NULL and sets the error when a size disagrees */
    rt_tensor *(*output)(struct rt_lib_call *c, uint32_t o, const int64_t *shape);
    char *err;
    size_t err_size;
    void *priv; /* the caller's state */
} rt_lib_call;

typedef int (*rt_lib_fn)(rt_lib_call *c); /* 0 ok, -1 error in c->err */
rt_lib_fn rt_lib_find(const char *name);  /* NULL if none */

#endif
