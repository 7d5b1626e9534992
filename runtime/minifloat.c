/* minifloat.c — encoding and decoding of ONNX's 8-bit and 4-bit floats (see
 * minifloat.h). The sign/exponent/mantissa types share one parameterized
 * codec (field widths, bias, and which codes are special); e8m0, a bare
 * power-of-two exponent, has its own. */
#include "minifloat.h"

#include <math.h>
#include <string.h>

typedef enum mf_special {
    MF_IEEE, /* exponent all ones: inf (mantissa 0) or NaN */
    MF_FN,   /* no inf; only S.1111.111 is NaN */
    MF_FNUZ, /* no inf, no -0; only 1000.0000 is NaN */
    MF_NONE, /* no inf, no NaN (float4e2m1) */
} mf_special;

typedef struct mf_format {
    int ebits, mbits, bias;
    mf_special special;
} mf_format;

static bool format_of(ir_dtype t, mf_format *f) {
    switch (t) {
    case IR_F8E4M3FN: *f = (mf_format){4, 3, 7, MF_FN}; return true;
    case IR_F8E4M3FNUZ: *f = (mf_format){4, 3, 8, MF_FNUZ}; return true;
    case IR_F8E5M2: *f = (mf_format){5, 2, 15, MF_IEEE}; return true;
    case IR_F8E5M2FNUZ: *f = (mf_format){5, 2, 16, MF_FNUZ}; return true;
    case IR_F4E2M1: *f = (mf_format){2, 1, 1, MF_NONE}; return true;
    default: return false;
    }
}

bool mf_is_minifloat(ir_dtype t) {
    mf_format f;
    return t == IR_F8E8M0 || format_of(t, &f);
}

int mf_round_from_name(const char *name) {
    if (!strcmp(name, "up")) return MF_ROUND_UP;
    if (!strcmp(name, "down")) return MF_ROUND_DOWN;
    if (!strcmp(name, "nearest")) return MF_ROUND_NEAREST;
    return -1;
}

/* ---- sign / exponent / mantissa formats ---------------------------------------- */

static uint32_t sign_bit(const mf_format *f) { return 1u << (f->ebits + f->mbits); }
static uint32_t exp_ones(const mf_format *f) { return (1u << f->ebits) - 1; }
static uint32_t man_ones(const mf_format *f) { return (1u << f->mbits) - 1; }

static double max_finite(const mf_format *f) {
    uint32_t e = exp_ones(f), m = man_ones(f);
    if (f->special == MF_IEEE) e--;
    if (f->special == MF_FN) m--;
    return ldexp(1.0 + (double)m / (double)(1u << f->mbits), (int)e - f->bias);
}

static uint8_t nan_code(const mf_format *f, bool neg) {
    switch (f->special) {
    case MF_FNUZ: return (uint8_t)sign_bit(f);
    case MF_NONE: return (uint8_t)sign_bit(f); /* -0, as ONNX's reference converts NaN */
    default: return (uint8_t)((neg ? sign_bit(f) : 0) | (exp_ones(f) << f->mbits) | man_ones(f));
    }
}

static double decode_sem(const mf_format *f, uint32_t bits) {
    bool neg = bits & sign_bit(f);
    uint32_t e = (bits >> f->mbits) & exp_ones(f), m = bits & man_ones(f);
    if (f->special == MF_FNUZ && bits == sign_bit(f)) return NAN;
    if (f->special == MF_FN && e == exp_ones(f) && m == man_ones(f)) return neg ? -NAN : NAN;
    if (f->special == MF_IEEE && e == exp_ones(f)) return m ? (neg ? -NAN : NAN) : neg ? -INFINITY : INFINITY;
    double v = e ? ldexp(1.0 + (double)m / (double)(1u << f->mbits), (int)e - f->bias)
                 : ldexp((double)m, 1 - f->bias - f->mbits);
    return neg ? -v : v;
}

/* |v| rounded to the format's precision (nearest, ties to even), not range-checked. */
static double round_magnitude(const mf_format *f, double a) {
    int e2;
    frexp(a, &e2);
    int exp = e2 - 1, emin = 1 - f->bias;
    if (exp < emin) exp = emin; /* subnormal: fixed quantum */
    int q = exp - f->mbits;
    return ldexp(nearbyint(ldexp(a, -q)), q);
}

static uint8_t encode_sem(const mf_format *f, double v, bool saturate) {
    bool neg = signbit(v);
    uint32_t sign = neg ? sign_bit(f) : 0;
    if (isnan(v)) return nan_code(f, neg);
    double maxv = max_finite(f), a = isinf(v) ? INFINITY : round_magnitude(f, fabs(v));
    if (a > maxv) {
        if (saturate || f->special == MF_NONE) a = maxv;
        else if (f->special == MF_IEEE) return (uint8_t)(sign | (exp_ones(f) << f->mbits));
        else return nan_code(f, neg);
    }
    if (a == 0) return f->special == MF_FNUZ ? 0 : (uint8_t)sign;
    int e2;
    frexp(a, &e2);
    int exp = e2 - 1, emin = 1 - f->bias;
    uint32_t e, m;
    if (exp < emin) { /* subnormal */
        e = 0;
        m = (uint32_t)ldexp(a, f->bias - 1 + f->mbits);
    } else {
        e = (uint32_t)(exp + f->bias);
        m = (uint32_t)ldexp(ldexp(a, -exp) - 1.0, f->mbits);
    }
    return (uint8_t)(sign | (e << f->mbits) | m);
}

/* ---- e8m0: 2^(code - 127), code 255 is NaN ------------------------------------------- */

static double decode_e8m0(uint8_t bits) { return bits == 0xff ? NAN : ldexp(1.0, (int)bits - 127); }

/* As ONNX's to_float8e8m0: the float32 exponent field, rounded by its mantissa. */
static uint8_t encode_e8m0(double v, bool saturate, mf_round round) {
    float x = (float)v;
    uint32_t bits;
    memcpy(&bits, &x, 4);
    uint32_t exp = (bits >> 23) & 0xff, man = bits & 0x7fffff;
    if (exp == 0xff) return 0xff;
    bool up = false;
    if (round == MF_ROUND_UP) {
        up = man != 0;
    } else if (round == MF_ROUND_NEAREST) {
        bool g = bits & 0x400000, r = bits & 0x200000, s = (bits & 0x1fffff) != 0, lsb = exp > 0;
        up = g && (r || s || lsb);
    }
    if (up && saturate && exp == 0xfe) up = false;
    return (uint8_t)(exp + up);
}

/* ---- the interface ------------------------------------------------------------------ */

double mf_decode(ir_dtype t, uint8_t bits) {
    mf_format f;
    if (t == IR_F8E8M0) return decode_e8m0(bits);
    if (!format_of(t, &f)) return NAN;
    return decode_sem(&f, bits & (sign_bit(&f) * 2 - 1));
}

uint8_t mf_encode(ir_dtype t, double v, bool saturate, mf_round round) {
    mf_format f;
    if (t == IR_F8E8M0) return encode_e8m0(v, saturate, round);
    if (!format_of(t, &f)) return 0;
    return encode_sem(&f, v, saturate);
}

double mf_round_to(ir_dtype t, double v, bool saturate, mf_round round) {
    return mf_decode(t, mf_encode(t, v, saturate, round));
}
