/* tokenizer_detok.c — token ids back to text, as llama.cpp's token_to_piece
 * and detokenize: control and unknown tokens are empty unless asked for,
 * user-defined tokens are their text, byte tokens <0xXX> their byte, normal
 * tokens their text with U+2581 shown as a space (SPM, Gemma 4) or with
 * GPT-2's byte-level code points turned back into bytes (byte-level BPE). */
#include <string.h>

#include "runtime/text_out.h"
#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

typedef rt_text_out sink;

static void put(sink *o, const char *s, size_t n) { rt_text_put(o, s, n); }

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Append the piece of id; lstrip drops one leading space. */
static void piece(const rt_tokenizer *t, int32_t id, bool special, bool lstrip, sink *o) {
    if (id < 0 || (uint32_t)id >= t->n) return;
    const char *s = t->pool + t->off[id];
    size_t n = t->len[id];
    switch (t->type[id]) {
    case RT_TOKT_CONTROL:
    case RT_TOKT_UNKNOWN:
        if (!special) return;
        /* fall through */
    case RT_TOKT_USER_DEFINED:
        if (lstrip && n && s[0] == ' ') s++, n--;
        put(o, s, n);
        return;
    case RT_TOKT_BYTE:
        if (n == 6 && !memcmp(s, "<0x", 3) && hexval(s[3]) >= 0 && hexval(s[4]) >= 0) {
            char b = (char)(hexval(s[3]) * 16 + hexval(s[4]));
            if (!(lstrip && b == ' ')) put(o, &b, 1);
        } else if (t->model == RT_TOK_BPE && n) {
            /* a byte-level vocabulary's byte token is its code point */
            uint32_t cp;
            rt_utf8_decode(s, n, &cp);
            int b = rt_cp_to_byte(cp);
            char c = (char)b;
            if (b >= 0 && !(lstrip && c == ' ')) put(o, &c, 1);
        }
        return;
    case RT_TOKT_NORMAL:
        break;
    default:
        return;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = rt_utf8_decode(s + i, n - i, &cp);
        char c;
        const char *out = s + i;
        size_t m = k;
        if (t->escape_spaces && cp == 0x2581) {
            c = ' ';
            out = &c, m = 1;
        } else if (!t->escape_spaces) {
            int b = rt_cp_to_byte(cp);
            if (b >= 0) {
                c = (char)b;
                out = &c, m = 1;
            }
        }
        if (lstrip && i == 0 && m == 1 && out[0] == ' ') m = 0;
        put(o, out, m);
        i += k;
    }
}

size_t rt_tok_piece(const rt_tokenizer *t, int32_t id, bool special, char *buf, size_t cap) {
    sink o = {buf, cap, 0};
    piece(t, id, special, false, &o);
    return o.n;
}

size_t rt_detokenize(const rt_tokenizer *t, const int32_t *ids, size_t n, bool remove_special,
                     bool unparse_special, char *buf, size_t cap) {
    sink o = {buf, cap, 0};
    bool strip = t->add_space_prefix;
    if (remove_special && t->add_bos && n && ids[0] == t->bos) {
        strip = false;
        ids++, n--;
    }
    if (remove_special && t->add_eos && n && ids[n - 1] == t->eos) n--;
    for (size_t i = 0; i < n; i++) {
        piece(t, ids[i], unparse_special, strip, &o);
        strip = false;
    }
    return o.n;
}
