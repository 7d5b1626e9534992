/* tokenizer_pre.c — the pre-tokenizers of byte-level BPE: hand-written
 * matchers for the exact regexes of tokenizer.json (as llama.cpp lists them
 * in llama-vocab.cpp), applied leftmost-first like the regex engine would:
 *
 *  GPT-2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *  Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *           ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *  Qwen 2:  Llama 3's with \p{N} (one digit a word)
 *  Qwen 3.5: Qwen 2's with [\p{L}\p{M}]+ for \p{L}+ and \p{M} left out of
 *           the punctuation class
 *  StarCoder / SmolLM: \p{N} split off one by one, then GPT-2's on the rest
 *
 * The end of the text (or of the piece a previous split made) counts as
 * "not \S" for the lookahead. (?i:) folds ASCII letters only.
 */
#include <stdlib.h>

#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"

typedef struct text {
    const uint32_t *cp;   /* code points */
    const uint8_t *fl;    /* their RT_UC_* flags */
    size_t n;
} text;

typedef struct style {
    bool fold;            /* contractions case-insensitive (Llama 3 family) */
    size_t max_digits;    /* \p{N}{1,max}: 3 (Llama 3), 1 (Qwen) */
    unsigned letter;      /* flags of \p{L}+ (Qwen 3.5 adds marks) */
} style;

static bool has(const text *x, size_t i, unsigned f) { return i < x->n && (x->fl[i] & f); }
static bool is_space(const text *x, size_t i) { return has(x, i, RT_UC_SPACE); }
static bool is_nl(const text *x, size_t i) { return i < x->n && (x->cp[i] == '\r' || x->cp[i] == '\n'); }
/* [^\s\p{L}\p{N}] (and \p{M} when the letters take marks) */
static bool is_other(const text *x, size_t i, unsigned letter) {
    return i < x->n && !(x->fl[i] & (RT_UC_SPACE | RT_UC_NUMBER | letter));
}
static uint32_t lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 's|'t|'re|'ve|'m|'ll|'d at i: its length, or 0. */
static size_t contraction(const text *x, size_t i, bool fold) {
    if (x->cp[i] != '\'' || i + 1 >= x->n) return 0;
    uint32_t a = fold ? lower(x->cp[i + 1]) : x->cp[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 >= x->n) return 0;
    uint32_t b = fold ? lower(x->cp[i + 2]) : x->cp[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* \s+(?!\S)|\s+ at i (a whitespace character): the match length. */
static size_t space_run(const text *x, size_t i) {
    size_t k = 0;
    while (is_space(x, i + k)) k++;
    return k > 1 && i + k < x->n ? k - 1 : k;
}

static size_t run(const text *x, size_t i, unsigned f) {
    size_t j = i;
    while (has(x, j, f)) j++;
    return j - i;
}

static size_t gpt2_match(const text *x, size_t i) {
    size_t k = contraction(x, i, false);
    if (k) return k;
    size_t sp = x->cp[i] == ' ', q = i + sp;
    if (has(x, q, RT_UC_LETTER)) return sp + run(x, q, RT_UC_LETTER);
    if (has(x, q, RT_UC_NUMBER)) return sp + run(x, q, RT_UC_NUMBER);
    if (is_other(x, q, RT_UC_LETTER)) {
        size_t j = q;
        while (is_other(x, j, RT_UC_LETTER)) j++;
        return j - i;
    }
    return is_space(x, i) ? space_run(x, i) : 1;
}

static size_t llama3_match(const text *x, size_t i, const style *st) {
    size_t k = contraction(x, i, st->fold);
    if (k) return k;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (!is_nl(x, i) && !has(x, i, RT_UC_LETTER | RT_UC_NUMBER) && has(x, i + 1, st->letter))
        return 1 + run(x, i + 1, st->letter);
    if (has(x, i, st->letter)) return run(x, i, st->letter);
    /* \p{N}{1,max} */
    if (has(x, i, RT_UC_NUMBER)) {
        size_t r = 1;
        while (r < st->max_digits && has(x, i + r, RT_UC_NUMBER)) r++;
        return r;
    }
    /* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
    size_t q = i + (x->cp[i] == ' ');
    if (is_other(x, q, st->letter)) {
        size_t j = q;
        while (is_other(x, j, st->letter)) j++;
        while (is_nl(x, j)) j++;
        return j - i;
    }
    if (!is_space(x, i)) return 1;
    /* \s*[\r\n]+ : up to the last \r or \n of the whitespace run */
    size_t last = 0;
    for (size_t j = i; is_space(x, j); j++)
        if (is_nl(x, j)) last = j + 1;
    if (last) return last - i;
    return space_run(x, i);
}

/* Split x (whose code point j starts at byte boff[j]) into words. */
static void split_text(rt_tok_pre pre, const text *x, const size_t *boff, size_t base, tok_spans *out) {
    style st = {true, pre == RT_PRE_LLAMA3 ? 3 : 1,
                pre == RT_PRE_QWEN35 ? RT_UC_LETTER | RT_UC_MARK : RT_UC_LETTER};
    for (size_t i = 0; i < x->n;) {
        size_t k;
        if (pre == RT_PRE_GPT2) {
            k = gpt2_match(x, i);
        } else if (pre == RT_PRE_STARCODER) {
            if (has(x, i, RT_UC_NUMBER)) {
                k = 1;
            } else {
                /* GPT-2's regex on the run up to the next digit */
                size_t e = i;
                while (e < x->n && !has(x, e, RT_UC_NUMBER)) e++;
                text sub = {x->cp + i, x->fl + i, e - i};
                split_text(RT_PRE_GPT2, &sub, boff + i, base, out);
                i = e;
                continue;
            }
        } else {
            k = llama3_match(x, i, &st);
        }
        tok_spans_push(out, base + boff[i], boff[i + k] - boff[i]);
        i += k;
    }
}

void tok_pre_split(rt_tok_pre pre, const char *s, size_t n, tok_spans *out) {
    if (pre == RT_PRE_NONE) {
        if (n) tok_spans_push(out, 0, n);
        return;
    }
    uint32_t *cp = malloc((n + 1) * sizeof *cp);
    uint8_t *fl = malloc(n + 1);
    size_t *boff = malloc((n + 1) * sizeof *boff);
    if (!cp || !fl || !boff) {
        out->oom = true;
        goto done;
    }
    size_t m = 0;
    for (size_t off = 0; off < n; m++) {
        boff[m] = off;
        off += rt_utf8_decode(s + off, n - off, &cp[m]);
        fl[m] = (uint8_t)rt_uc_flags(cp[m]);
    }
    boff[m] = n;
    text x = {cp, fl, m};
    split_text(pre, &x, boff, 0, out);
done:
    free(cp);
    free(fl);
    free(boff);
}
