/* unicode.h — the little Unicode the tokenizers need: UTF-8 decoding that
 * never fails (a stray byte is one code point of its own), the classes that
 * the pre-tokenizer regexes test (\p{L}, \p{N}, \p{M}, \s), and GPT-2's
 * byte-level alphabet (each byte shown as a printable code point).
 *
 * The classes come from a generated table of ranges (unicode_data.c, made by
 * tools/gen_unicode_table.py from Python's unicodedata), searched by
 * bisection, with ASCII answered from a 128-entry table.
 */
#ifndef SMELT_RT_UNICODE_H
#define SMELT_RT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum { RT_UC_LETTER = 1, RT_UC_NUMBER = 2, RT_UC_MARK = 4, RT_UC_SPACE = 8 };

typedef struct rt_uc_range {
    uint32_t first, last;
    uint8_t flags;
} rt_uc_range;

extern const rt_uc_range rt_uc_ranges[];
extern const unsigned rt_uc_n_ranges;

/* RT_UC_* flags of a code point (0: punctuation, symbols, controls, ...). */
unsigned rt_uc_flags(uint32_t cp);

/* Decode the code point at s[0..n) (n >= 1); returns the bytes it takes.
 * Malformed or truncated sequences decode as one byte, cp = 0xFFFD + the
 * byte's value << 21 (outside Unicode: no class, never equal to a real
 * code point). */
size_t rt_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* The length a UTF-8 sequence announces by its first byte (1 for a
 * continuation byte), as llama.cpp's symbol splitting counts it. */
size_t rt_utf8_len(unsigned char first);
/* Encode cp (<= 0x10FFFF) into out (4 bytes); returns the length. */
size_t rt_utf8_encode(uint32_t cp, char *out);

/* GPT-2 byte-level alphabet: the code point that stands for byte b, and
 * back (-1 for a code point that stands for no byte). */
uint32_t rt_byte_to_cp(uint8_t b);
int rt_cp_to_byte(uint32_t cp);

#endif
