/* elem.c — element access over every dtype (see elem.h). */
#include "elem.h"

#include <math.h>
#include <string.h>

#include "half.h"
#include "minifloat.h"

int64_t rt_elem_wrap(ir_dtype t, int64_t v) {
    switch (t) {
    case IR_I8: return (int8_t)v;
    case IR_I16: return (int16_t)v;
    case IR_I32: return (int32_t)v;
    case IR_U8: return (uint8_t)v;
    case IR_U16: return (uint16_t)v;
    case IR_U32: return (uint32_t)v;
    case IR_BOOL: return v != 0;
    case IR_I4: return (int64_t)((uint64_t)v << 60) >> 60;
    case IR_U4: return v & 0xf;
    case IR_I2: return (int64_t)((uint64_t)v << 62) >> 62;
    case IR_U2: return v & 0x3;
    default: return v;
    }
}

/* Element i of a type of 8 / block_elems bits (8, 4 or 2), packed from the
 * low bits of each byte up. */
static uint32_t read_packed(ir_dtype t, const uint8_t *p, int64_t i) {
    int per = (int)ir_dtype_get(t)->block_elems, bits = 8 / per, shift = (int)(i % per) * bits;
    return (uint32_t)(p[i / per] >> shift) & ((1u << bits) - 1);
}

static void write_packed(ir_dtype t, uint8_t *p, int64_t i, uint8_t v) {
    int per = (int)ir_dtype_get(t)->block_elems, bits = 8 / per, shift = (int)(i % per) * bits;
    uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
    p[i / per] = (uint8_t)((p[i / per] & ~mask) | ((v << shift) & mask));
}

rt_slot rt_elem_read(ir_dtype t, const void *base, int64_t i) {
    rt_slot s;
    const uint8_t *p = base;
    switch (t) {
    case IR_F32: { float v; memcpy(&v, p + 4 * i, 4); s.f = v; break; }
    case IR_F64: memcpy(&s.f, p + 8 * i, 8); break;
    case IR_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); s.f = rt_f16_to_f32(h); break; }
    case IR_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); s.f = rt_bf16_to_f32(h); break; }
    case IR_I8: s.i = (int8_t)p[i]; break;
    case IR_U8: s.i = p[i]; break;
    case IR_BOOL: s.i = p[i] != 0; break;
    case IR_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); s.i = v; break; }
    case IR_U16: { uint16_t v; memcpy(&v, p + 2 * i, 2); s.i = v; break; }
    case IR_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); s.i = v; break; }
    case IR_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); s.i = v; break; }
    case IR_I64: case IR_U64: memcpy(&s.i, p + 8 * i, 8); break;
    case IR_I4: case IR_U4: case IR_I2: case IR_U2: s.i = rt_elem_wrap(t, read_packed(t, p, i)); break;
    default:
        if (mf_is_minifloat(t)) s.f = mf_decode(t, (uint8_t)read_packed(t, p, i));
        else s.i = 0;
        break;
    }
    return s;
}

void rt_elem_write(ir_dtype t, void *base, int64_t i, rt_slot s) {
    uint8_t *p = base;
    switch (t) {
    case IR_F32: { float v = (float)s.f; memcpy(p + 4 * i, &v, 4); break; }
    case IR_F64: memcpy(p + 8 * i, &s.f, 8); break;
    case IR_F16: { uint16_t h = rt_f32_to_f16((float)s.f); memcpy(p + 2 * i, &h, 2); break; }
    case IR_BF16: { uint16_t h = rt_f32_to_bf16((float)s.f); memcpy(p + 2 * i, &h, 2); break; }
    case IR_I8: case IR_U8: case IR_BOOL: p[i] = (uint8_t)s.i; break;
    case IR_I16: case IR_U16: { uint16_t v = (uint16_t)s.i; memcpy(p + 2 * i, &v, 2); break; }
    case IR_I32: case IR_U32: { uint32_t v = (uint32_t)s.i; memcpy(p + 4 * i, &v, 4); break; }
    case IR_I64: case IR_U64: memcpy(p + 8 * i, &s.i, 8); break;
    case IR_I4: case IR_U4: case IR_I2: case IR_U2: write_packed(t, p, i, (uint8_t)s.i); break;
    default:
        if (mf_is_minifloat(t)) write_packed(t, p, i, mf_encode(t, s.f, false, MF_ROUND_NEAREST));
        break;
    }
}

int rt_elem_compare(ir_dtype t, rt_slot a, rt_slot b) {
    if (ir_dtype_is_float(t)) {
        if (isnan(a.f) || isnan(b.f)) return (isnan(a.f) != 0) - (isnan(b.f) != 0);
        return (a.f > b.f) - (a.f < b.f);
    }
    if (t == IR_BOOL || ir_dtype_get(t)->cls == IR_CLASS_U) return (a.u > b.u) - (a.u < b.u);
    return (a.i > b.i) - (a.i < b.i);
}
