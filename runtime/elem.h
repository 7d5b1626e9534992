/* elem.h — one element of a tensor of any dtype as an 8-byte scalar.
 *
 * The reference interpreter and the runtime's library routines (lib.h)
 * read and write elements of every dtype through these, so both see the
 * same values: floats (f16, bf16, float8 and float4 too, through half.h and
 * minifloat.h) as doubles holding a value exactly representable in their
 * dtype, integers as int64 wrapped to their width (u64 as its bit pattern),
 * bools as 0/1. Sub-byte types are packed from the low bits of each byte up.
 */
#ifndef SMELT_RT_ELEM_H
#define SMELT_RT_ELEM_H

#include <stdint.h>

#include "ir/dtype.h"

typedef union rt_slot {
    double f;
    int64_t i;
    uint64_t u;
} rt_slot;

/* Element i of the tensor of dtype t at base. */
rt_slot rt_elem_read(ir_dtype t, const void *base, int64_t i);
/* Stores v as element i (floats rounded to nearest even, integers truncated
 * to their width). */
void rt_elem_write(ir_dtype t, void *base, int64_t i, rt_slot v);
/* Order of a and b of dtype t: -1, 0 or 1; NaN sorts above every number,
 * unsigned integers and bool compare unsigned. */
int rt_elem_compare(ir_dtype t, rt_slot a, rt_slot b);
/* v wrapped to the width of integer dtype t (bool: 0 or 1; others unchanged). */
int64_t rt_elem_wrap(ir_dtype t, int64_t v);

#endif
