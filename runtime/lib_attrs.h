/* lib_attrs.h — what an attribute source of the library routines is
 * (lib.h keeps it opaque): a context and four accessors, so that a routine
 * reads a node's attributes the same way whether they come from the graph
 * (ir/interp_lib.c, schema defaults filled in) or from the artifact's
 * manifest (lib_attrs_json.c, defaults written out by the compiler).
 *
 * Each accessor returns whether the attribute has a value (given on the
 * node, or a default); list and string values stay owned by the source.
 * is_set says whether the node itself gives the attribute: the one case
 * where that matters is Unique's axis (unset: flatten), which the manifest
 * therefore writes as null when the node does not set it.
 */
#ifndef SMELT_RT_LIB_ATTRS_H
#define SMELT_RT_LIB_ATTRS_H

#include "lib.h"

struct rt_attrs {
    const void *ctx;
    bool (*get_int)(const void *ctx, const char *name, int64_t *v);
    bool (*get_float)(const void *ctx, const char *name, double *v);
    bool (*get_ints)(const void *ctx, const char *name, const int64_t **v, uint32_t *n);
    bool (*get_str)(const void *ctx, const char *name, const char **v);
    bool (*is_set)(const void *ctx, const char *name);
    void (*free)(rt_attrs *a); /* NULL when the caller owns it */
};

#endif
