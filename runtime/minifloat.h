/* minifloat.h — the 8-bit and 4-bit float types of ONNX (float8e4m3fn,
 * float8e4m3fnuz, float8e5m2, float8e5m2fnuz, float8e8m0, float4e2m1):
 * exact decoding to double and correctly rounded encoding from double.
 *
 * Encoding rounds to nearest, ties to even (e8m0: the rounding mode asked
 * for, on the float32 bits as ONNX's Cast defines it). Out-of-range values
 * follow ONNX's Cast: with `saturate` they become the largest finite value of
 * their sign (infinities too); without it they become infinity where the type
 * has one (e5m2) and NaN otherwise. float4e2m1 has neither, so it always
 * saturates (and NaN becomes -0, as ONNX's reference does). The fnuz types
 * have no negative zero: -0 and tiny negative values become +0.
 *
 * The interpreter stores such values as doubles (exactly representable in
 * their type) and uses these functions to read, write and round them.
 */
#ifndef SMELT_MINIFLOAT_H
#define SMELT_MINIFLOAT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/dtype.h"

/* Rounding of float8e8m0, ONNX Cast's round_mode: "up" (the default),
 * "down" or "nearest". */
typedef enum mf_round { MF_ROUND_NEAREST, MF_ROUND_UP, MF_ROUND_DOWN } mf_round;

bool mf_is_minifloat(ir_dtype t);
/* The value of the code `bits` (low bits used) of minifloat type t. */
double mf_decode(ir_dtype t, uint8_t bits);
/* The code of v in type t (e8m0 rounds with `round`, the others to nearest even). */
uint8_t mf_encode(ir_dtype t, double v, bool saturate, mf_round round);
/* v rounded to type t and back: mf_decode(t, mf_encode(t, v, ...)). */
double mf_round_to(ir_dtype t, double v, bool saturate, mf_round round);
/* "up" / "down" / "nearest" -> mode; -1 for another spelling. */
int mf_round_from_name(const char *name);

#endif
