/* lower.h — the lowering functions named by ops.def rows (lower_*.c). Each
 * turns one graph node into kernels of the program p (kir_build.h). */
#ifndef SMELT_LOWER_H
#define SMELT_LOWER_H

#include "kir_build.h"

#define LOWER_FN(name) int name(kir_program *p, ir_id node, diag *d);
/* lower_elementwise.c */
LOWER_FN(lower_unary)
LOWER_FN(lower_activation)
LOWER_FN(lower_cast)
LOWER_FN(lower_clip)
LOWER_FN(lower_binary)
LOWER_FN(lower_where)
/* shape and data movement: lower_movement.c */
LOWER_FN(lower_reshape)
LOWER_FN(lower_transpose)
LOWER_FN(lower_concat)
LOWER_FN(lower_gather)
LOWER_FN(lower_expand)
LOWER_FN(lower_shape_op)
LOWER_FN(lower_size_op)
LOWER_FN(lower_slice)
LOWER_FN(lower_pad)
LOWER_FN(lower_tile)
LOWER_FN(lower_split)
LOWER_FN(lower_depth_to_space)
LOWER_FN(lower_space_to_depth)
LOWER_FN(lower_trilu)
LOWER_FN(lower_eye_like)
LOWER_FN(lower_range)
LOWER_FN(lower_constant_of_shape)
/* lower_index.c */
LOWER_FN(lower_gather_elements)
LOWER_FN(lower_gather_nd)
LOWER_FN(lower_scatter_elements)
LOWER_FN(lower_scatter_nd)
LOWER_FN(lower_one_hot)
LOWER_FN(lower_reverse_sequence)
LOWER_FN(lower_compress)
/* lower_resize.c */
LOWER_FN(lower_resize)
#undef LOWER_FN

#endif
