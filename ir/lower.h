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
/* ops family: lower_library.c */
LOWER_FN(lower_library)
LOWER_FN(lower_dropout)
/* ops family: lower_quant.c */
LOWER_FN(lower_quantize)
LOWER_FN(lower_dequantize)
LOWER_FN(lower_dynamic_quantize)
#undef LOWER_FN

#endif
