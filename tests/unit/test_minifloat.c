/* test_minifloat.c — unit tests of the float8 / float4 / e8m0 codec
 * (ir/minifloat.c) against the facts of the ONNX spec: every code decodes
 * and encodes back to itself, the largest and smallest values, rounding
 * half to even, saturation, the fnuz types' missing negative zero, and
 * e8m0's three rounding modes. */
#include <math.h>

#include "runtime/minifloat.h"
#include "support/check.h"

static const ir_dtype eight_bit[] = {IR_F8E4M3FN, IR_F8E4M3FNUZ, IR_F8E5M2, IR_F8E5M2FNUZ};

static void test_round_trip(void) {
    for (size_t t = 0; t < sizeof eight_bit / sizeof eight_bit[0]; t++) {
        int bad = 0;
        for (int c = 0; c < 256; c++) {
            double v = mf_decode(eight_bit[t], (uint8_t)c);
            if (isnan(v)) bad += !isnan(mf_decode(eight_bit[t], mf_encode(eight_bit[t], v, false, MF_ROUND_NEAREST)));
            else bad += mf_encode(eight_bit[t], v, false, MF_ROUND_NEAREST) != c;
        }
        CHECK(bad == 0);
    }
    int bad = 0;
    for (int c = 0; c < 16; c++) bad += mf_encode(IR_F4E2M1, mf_decode(IR_F4E2M1, (uint8_t)c), false, MF_ROUND_NEAREST) != c;
    CHECK(bad == 0);
}

static void test_ranges(void) {
    CHECK(mf_decode(IR_F8E4M3FN, 0x7e) == 448 && isnan(mf_decode(IR_F8E4M3FN, 0x7f)));
    CHECK(mf_decode(IR_F8E4M3FNUZ, 0x7f) == 240 && isnan(mf_decode(IR_F8E4M3FNUZ, 0x80)));
    CHECK(mf_decode(IR_F8E5M2, 0x7b) == 57344 && isinf(mf_decode(IR_F8E5M2, 0x7c)));
    CHECK(mf_decode(IR_F8E5M2FNUZ, 0x7f) == 57344);
    CHECK(mf_decode(IR_F4E2M1, 0x7) == 6 && mf_decode(IR_F4E2M1, 0x1) == 0.5 && mf_decode(IR_F4E2M1, 0xf) == -6);
    CHECK(mf_decode(IR_F8E4M3FN, 0x01) == ldexp(1, -9) && mf_decode(IR_F8E5M2, 0x01) == ldexp(1, -16));
    CHECK(mf_decode(IR_F8E4M3FNUZ, 0x01) == ldexp(1, -10) && mf_decode(IR_F8E5M2FNUZ, 0x01) == ldexp(1, -17));
}

static void test_rounding_and_saturation(void) {
    CHECK(mf_round_to(IR_F8E4M3FN, 464, false, 0) == 448); /* tie between 448 and 480: even mantissa */
    CHECK(isnan(mf_round_to(IR_F8E4M3FN, 465, false, 0)) && mf_round_to(IR_F8E4M3FN, 465, true, 0) == 448);
    CHECK(isnan(mf_round_to(IR_F8E4M3FN, INFINITY, false, 0)) && mf_round_to(IR_F8E4M3FN, -INFINITY, true, 0) == -448);
    CHECK(isinf(mf_round_to(IR_F8E5M2, 1e6, false, 0)) && mf_round_to(IR_F8E5M2, 1e6, true, 0) == 57344);
    CHECK(isnan(mf_round_to(IR_F8E5M2FNUZ, 1e6, false, 0)) && mf_round_to(IR_F8E4M3FNUZ, -1e6, true, 0) == -240);
    CHECK(mf_round_to(IR_F4E2M1, 1e6, false, 0) == 6 && mf_round_to(IR_F4E2M1, 0.25, false, 0) == 0);
    CHECK(mf_round_to(IR_F4E2M1, 0.75, false, 0) == 1 && mf_round_to(IR_F4E2M1, 2.5, false, 0) == 2);
    CHECK(mf_encode(IR_F8E4M3FN, -0.0, false, 0) == 0x80 && mf_encode(IR_F8E4M3FNUZ, -0.0, false, 0) == 0);
    CHECK(mf_encode(IR_F8E5M2FNUZ, -1e-30, true, 0) == 0);
    CHECK(mf_round_to(IR_F8E4M3FN, 0.4801, false, 0) == 0.46875 && mf_round_to(IR_F8E5M2, 0.4801, false, 0) == 0.5);
}

static void test_e8m0(void) {
    CHECK(mf_encode(IR_F8E8M0, 1.0, true, MF_ROUND_UP) == 127 && mf_decode(IR_F8E8M0, 127) == 1.0);
    CHECK(mf_encode(IR_F8E8M0, 3.0, true, MF_ROUND_UP) == 129 && mf_encode(IR_F8E8M0, 3.0, true, MF_ROUND_DOWN) == 128);
    CHECK(mf_encode(IR_F8E8M0, 3.0, true, MF_ROUND_NEAREST) == 129 && mf_encode(IR_F8E8M0, 5.0, true, MF_ROUND_NEAREST) == 129);
    CHECK(mf_encode(IR_F8E8M0, -4.0, true, MF_ROUND_UP) == 129); /* no sign */
    CHECK(mf_encode(IR_F8E8M0, NAN, true, MF_ROUND_UP) == 255 && isnan(mf_decode(IR_F8E8M0, 255)));
    CHECK(mf_encode(IR_F8E8M0, 3e38, true, MF_ROUND_UP) == 254 && mf_encode(IR_F8E8M0, 3e38, false, MF_ROUND_UP) == 255);
    CHECK(mf_round_from_name("up") == MF_ROUND_UP && mf_round_from_name("Up") < 0);
}

int main(void) {
    test_round_trip();
    test_ranges();
    test_rounding_and_saturation();
    test_e8m0();
    return check_summary("minifloat");
}
