/* rt_libstub.c — TEMPORARY stand-in for the library kernels of runtime/lib*.c
 * (wt-lib branch): no routine is available, attributes are not kept.
 * Delete with rt_libstub.h when runtime/lib.h lands on main. */
#include "runtime/rt_libstub.h"

#include <stddef.h>

int rt_attrs_from_json(rt_attrs **out, const void *cjson_attrs_object) {
    (void)cjson_attrs_object;
    *out = NULL;
    return 0;
}

void rt_attrs_free(rt_attrs *a) { (void)a; }

rt_lib_fn rt_lib_find(const char *name) {
    (void)name;
    return NULL;
}
