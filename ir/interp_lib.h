/* interp_lib.h — the interpreter's side of the library routines
 * (runtime/lib.h): an attribute source over a graph node, so that a routine
 * reads the node's attributes (schema defaults for unset ones, as
 * ir_attr_int gives them) exactly as it reads a manifest step's in the
 * compiled model's runtime. interp.c calls the routines through
 * rt_lib_find with it.
 */
#ifndef SMELT_INTERP_LIB_H
#define SMELT_INTERP_LIB_H

#include "ir.h"
#include "runtime/lib_attrs.h"

/* Fills *a as an attribute source over node n (which must outlive it). */
void interp_lib_attrs(rt_attrs *a, const ir_node *n);

#endif
