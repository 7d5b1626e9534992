/* rt_api.c — the helper table (smelt_rt_api) that generated code calls for
 * conversions the target may lack instructions for: f16 through half.c,
 * the ONNX minifloats through minifloat.c. */
#include "runtime/half.h"
#include "runtime/minifloat.h"
#include "runtime/rt_session.h"

static double api_mf_decode(int dtype, uint32_t bits) { return mf_decode((ir_dtype)dtype, (uint8_t)bits); }

static uint32_t api_mf_encode(int dtype, double v, int saturate, int round) {
    return mf_encode((ir_dtype)dtype, v, saturate != 0, (mf_round)round);
}

void rt_api_init(smelt_rt_api *api) {
    api->f16_to_f32 = rt_f16_to_f32;
    api->f32_to_f16 = rt_f32_to_f16;
    api->mf_decode = api_mf_decode;
    api->mf_encode = api_mf_encode;
}
