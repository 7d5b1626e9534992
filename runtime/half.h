/* half.h — IEEE half (f16) and bfloat16 (bf16) conversions to and from
 * float, rounding to nearest even. Shared by the reference interpreter, the
 * importer and the runtime (generated code calls them through smelt_rt_api
 * where the target has no instructions for them).
 */
#ifndef SMELT_HALF_H
#define SMELT_HALF_H

#include <stdint.h>

float rt_f16_to_f32(uint16_t h);
uint16_t rt_f32_to_f16(float f);   /* round to nearest even */
float rt_bf16_to_f32(uint16_t h);
uint16_t rt_f32_to_bf16(float f);  /* round to nearest even */

#endif
