/* unicode.c — UTF-8 decoding, code point classes and GPT-2's byte-level
 * alphabet for the tokenizers (see unicode.h). */
#include "runtime/unicode.h"

unsigned rt_uc_flags(uint32_t cp) {
    if (cp < 128) {
        if ((cp >= 9 && cp <= 13) || cp == ' ') return RT_UC_SPACE;
        if (cp >= '0' && cp <= '9') return RT_UC_NUMBER;
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z') return RT_UC_LETTER;
        return 0;
    }
    unsigned lo = 0, hi = rt_uc_n_ranges;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (rt_uc_ranges[mid].last < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < rt_uc_n_ranges && rt_uc_ranges[lo].first <= cp ? rt_uc_ranges[lo].flags : 0;
}

size_t rt_utf8_len(unsigned char first) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[first >> 4];
}

size_t rt_utf8_decode(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    size_t len = rt_utf8_len(u[0]);
    if (len == 1) {
        *cp = u[0] < 0x80 ? u[0] : 0xFFFDu + ((uint32_t)u[0] << 21);
        return 1;
    }
    uint32_t c = u[0] & (0x7F >> len);
    if (len > n) goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) goto bad;
        c = c << 6 | (u[i] & 0x3F);
    }
    *cp = c;
    return len;
bad:
    *cp = 0xFFFDu + ((uint32_t)u[0] << 21);
    return 1;
}

size_t rt_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = 0xC0 | cp >> 6; o[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        o[0] = 0xE0 | cp >> 12; o[1] = 0x80 | (cp >> 6 & 0x3F); o[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    o[0] = 0xF0 | cp >> 18; o[1] = 0x80 | (cp >> 12 & 0x3F);
    o[2] = 0x80 | (cp >> 6 & 0x3F); o[3] = 0x80 | (cp & 0x3F);
    return 4;
}

/* GPT-2 keeps the printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF as
 * themselves and maps the other 68, in order, to U+0100 onwards. */
static int byte_is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

uint32_t rt_byte_to_cp(uint8_t b) {
    if (byte_is_printable(b)) return b;
    uint32_t n = 0;
    for (unsigned i = 0; i < b; i++) n += !byte_is_printable(i);
    return 256 + n;
}

int rt_cp_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t n = cp - 256;
    for (unsigned b = 0; b < 256; b++)
        if (!byte_is_printable(b) && n-- == 0) return (int)b;
    return -1;
}
