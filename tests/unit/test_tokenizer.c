/* test_tokenizer.c — unit tests of the runtime's tokenizers on small
 * hand-made vocabularies, with expected results worked out by hand from the
 * algorithms' definitions (SentencePiece's best-score merges with byte
 * fallback, BPE's merge ranks, the pre-tokenizer regexes of tokenizer.json):
 * the word splits of each pre-tokenizer, merge order and ties, byte
 * fallback, special tokens (parse_special, user-defined, rstrip), BOS/EOS,
 * decoding, Unicode classes, the string map, bad configurations, and the
 * chat template recognizer. The real vocabularies are checked against
 * llama.cpp's test vectors in tests/tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "runtime/chat_template.h"
#include "runtime/strmap.h"
#include "runtime/tokenizer_impl.h"
#include "runtime/unicode.h"
#include "tests/unit/support/check.h"

/* ---- pre-tokenizer splits ----------------------------------------------- */

/* The words of s under pre, joined with '|'. */
static void split(rt_tok_pre pre, const char *s, char *out, size_t cap) {
    tok_spans w = {0};
    tok_pre_split(pre, s, strlen(s), &w);
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < w.n && n + w.v[i].len + 2 < cap; i++) {
        if (i) out[n++] = '|';
        memcpy(out + n, s + w.v[i].off, w.v[i].len);
        n += w.v[i].len;
        out[n] = 0;
    }
    free(w.v);
}

#define CHECK_SPLIT(pre, text, want)                                                   \
    do {                                                                               \
        char got_[512];                                                                \
        split(pre, text, got_, sizeof got_);                                           \
        if (!strcmp(got_, want)) check_passed++;                                       \
        else {                                                                         \
            check_failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: split of '%s' is '%s', expected '%s'\n", __FILE__, \
                    __LINE__, text, got_, want);                                       \
        }                                                                              \
    } while (0)

static void test_pre(void) {
    /* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    CHECK_SPLIT(RT_PRE_GPT2, "Hello world's  3.14\n\n  x", "Hello| world|'s| | 3|.|14|\n\n | x");
    CHECK_SPLIT(RT_PRE_GPT2, "I'M you're", "I|'|M| you|'re");
    CHECK_SPLIT(RT_PRE_GPT2, "a   ", "a|   ");                 /* trailing spaces: one word */
    CHECK_SPLIT(RT_PRE_GPT2, "12345 !!x", "12345| !!|x");
    CHECK_SPLIT(RT_PRE_GPT2, "über λx 中文", "über| λx| 中文");
    /* Llama 3: contractions any case, [^\r\n\p{L}\p{N}]?\p{L}+, \p{N}{1,3},
     * ' ?[^\s\p{L}\p{N}]+[\r\n]*', \s*[\r\n]+, \s+(?!\S), \s+ */
    CHECK_SPLIT(RT_PRE_LLAMA3, "Hello world's  3.14\n\n  x", "Hello| world|'s| | |3|.|14|\n\n| | x");
    CHECK_SPLIT(RT_PRE_LLAMA3, "I'M 12345", "I|'M| |123|45");
    CHECK_SPLIT(RT_PRE_LLAMA3, "(x) ..\n\ny", "(x|)| ..\n\n|y");
    CHECK_SPLIT(RT_PRE_LLAMA3, "\tword  \n z", "\tword|  \n| z");
    /* Qwen 2: one digit a word */
    CHECK_SPLIT(RT_PRE_QWEN2, "ab 12345", "ab| |1|2|3|4|5");
    /* StarCoder / SmolLM: digits first, then GPT-2 on what is between */
    CHECK_SPLIT(RT_PRE_STARCODER, "x 42 y", "x| |4|2| y");
    /* Qwen 3.5: marks join letters (e + U+0301) */
    CHECK_SPLIT(RT_PRE_QWEN35, "e\xcc\x81t\xc3\xa9 !", "e\xcc\x81t\xc3\xa9| !");
    CHECK_SPLIT(RT_PRE_QWEN2, "e\xcc\x81t", "e|\xcc\x81t");
    /* invalid UTF-8: a stray byte is a symbol of its own, nothing is lost */
    CHECK_SPLIT(RT_PRE_GPT2, "a\xff" "b", "a|\xff|b");
}

/* ---- vocabularies ------------------------------------------------------- */

typedef struct vocab {
    rt_tok_str tok[512];
    float score[512];
    int32_t type[512];
    uint8_t attr[512];
    rt_tok_str merge[64];
    uint32_t n, n_merges;
    char hex[256][7];
} vocab;

static int32_t add(vocab *v, const char *s, float score, int32_t type) {
    v->tok[v->n] = (rt_tok_str){s, strlen(s)};
    v->score[v->n] = score;
    v->type[v->n] = type;
    return (int32_t)v->n++;
}

static long tokenize(const rt_tokenizer *t, const char *s, bool add_special, bool parse_special, int32_t *ids) {
    return rt_tokenize(t, s, strlen(s), add_special, parse_special, ids, 64);
}

static bool ids_eq(const int32_t *got, long n, const int32_t *want, long m) {
    if (n != m) return false;
    for (long i = 0; i < n; i++)
        if (got[i] != want[i]) return false;
    return true;
}

#define CHECK_IDS(t, text, add_sp, parse_sp, ...)                                              \
    do {                                                                                       \
        int32_t want_[] = {__VA_ARGS__}, got_[64];                                             \
        long n_ = tokenize(t, text, add_sp, parse_sp, got_);                                   \
        long m_ = (long)(sizeof want_ / sizeof want_[0]);                                      \
        if (ids_eq(got_, n_, want_, m_)) check_passed++;                                       \
        else {                                                                                 \
            check_failed++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: '%s' gives %ld ids:", __FILE__, __LINE__, text, n_);  \
            for (long i_ = 0; i_ < n_ && i_ < 64; i_++) fprintf(stderr, " %d", got_[i_]);       \
            fprintf(stderr, "\n");                                                             \
        }                                                                                      \
    } while (0)

/* text tokenized and decoded again gives want (NULL: text itself) */
static void check_decode_to(const rt_tokenizer *t, const char *text, bool parse_special, const char *want) {
    int32_t ids[64];
    char buf[256];
    long n = tokenize(t, text, false, parse_special, ids);
    size_t m = rt_detokenize(t, ids, (size_t)n, false, parse_special, buf, sizeof buf - 1);
    buf[m < sizeof buf - 1 ? m : sizeof buf - 1] = 0;
    if (!want) want = text;
    if (!strcmp(buf, want)) check_passed++;
    else {
        check_failed++;
        fprintf(stderr, "FAIL %s:%d: '%s' decodes to '%s'\n", __FILE__, __LINE__, text, buf);
    }
}
#define check_decode(t, text, ps) check_decode_to(t, text, ps, NULL)

#define SP "\xe2\x96\x81"  /* U+2581 */

static void test_spm(void) {
    static vocab v;
    memset(&v, 0, sizeof v);
    add(&v, "<unk>", 0, RT_TOKT_UNKNOWN);                 /* 0 */
    add(&v, "<s>", 0, RT_TOKT_CONTROL);                   /* 1 */
    add(&v, "</s>", 0, RT_TOKT_CONTROL);                  /* 2 */
    for (int b = 0; b < 256; b++) {                       /* 3 .. 258 */
        snprintf(v.hex[b], sizeof v.hex[b], "<0x%02X>", b);
        add(&v, v.hex[b], 0, RT_TOKT_BYTE);
    }
    int32_t sp = add(&v, SP, -1, RT_TOKT_NORMAL);         /* 259 */
    int32_t a = add(&v, "a", -2, RT_TOKT_NORMAL);         /* 260 */
    int32_t b = add(&v, "b", -2, RT_TOKT_NORMAL);         /* 261 */
    int32_t ab = add(&v, "ab", -5, RT_TOKT_NORMAL);       /* 262 */
    int32_t sa = add(&v, SP "a", -3, RT_TOKT_NORMAL);     /* 263 */
    int32_t sab = add(&v, SP "ab", -4, RT_TOKT_NORMAL);   /* 264 */
    int32_t bb = add(&v, "bb", -5, RT_TOKT_NORMAL);       /* 265 */
    int32_t tag = add(&v, "<tag>", 0, RT_TOKT_USER_DEFINED); /* 266 */
    rt_tok_config c;
    rt_tok_config_defaults(&c, RT_TOK_SPM, RT_PRE_NONE);
    c.n_tokens = v.n, c.tokens = v.tok, c.scores = v.score, c.types = v.type;
    char err[128];
    rt_tokenizer *t = rt_tok_new(&c, err, sizeof err);
    CHECK(t != NULL);
    if (!t) return;
    /* " ab": ▁a (-3) beats ab (-5); then ▁a+b -> ▁ab (-4) */
    CHECK_IDS(t, "ab", false, false, sab);
    /* "abb": ▁a first (score -3), then ▁ab (-4) vs bb (-5): ▁ab, then b */
    CHECK_IDS(t, "abb", false, false, sab, b);
    /* "bbb": the tie between the two "bb" pairs goes to the leftmost */
    CHECK_IDS(t, "bbb", false, false, sp, bb, b);
    /* byte fallback: é (C3 A9) is no token */
    CHECK_IDS(t, "a\xc3\xa9", false, false, sa, 3 + 0xC3, 3 + 0xA9);
    /* BOS added with add_special; control tokens only with parse_special */
    CHECK_IDS(t, "a", true, false, 1, sa);
    CHECK_IDS(t, "<s>a", false, true, 1, sa);
    CHECK_IDS(t, "a</s>", false, true, sa, 2);
    CHECK_IDS(t, "a<tag>b", false, false, sa, tag, sp, b);  /* user-defined: always */
    CHECK_IDS(t, "", true, false, 1);
    int32_t none[4];
    CHECK(tokenize(t, "", false, false, none) == 0);
    (void)ab, (void)a;
    /* decoding: the space prefix is dropped from the first piece */
    check_decode(t, "ab", false);
    check_decode(t, "abb a\xc3\xa9", false);
    /* as llama.cpp: the text after a special token gets the space prefix too */
    check_decode_to(t, "a<tag>b", false, "a<tag> b");
    char piece[16];
    CHECK(rt_tok_piece(t, 1, false, piece, sizeof piece) == 0);
    CHECK(rt_tok_piece(t, 1, true, piece, sizeof piece) == 3 && !memcmp(piece, "<s>", 3));
    CHECK(rt_tok_piece(t, 3 + 'x', false, piece, sizeof piece) == 1 && piece[0] == 'x');
    CHECK(rt_tok_piece(t, sab, false, piece, sizeof piece) == 3 && !memcmp(piece, " ab", 3));
    CHECK(rt_tok_piece(t, 9999, false, piece, sizeof piece) == 0);
    /* a short output buffer: the count comes back, the buffer holds the first ids */
    int32_t few[1];
    CHECK(rt_tokenize(t, "ab ab", 5, false, false, few, 1) == 2 && few[0] == sab);
    CHECK(rt_tok_is_eog(t, 2) && !rt_tok_is_eog(t, 1));
    rt_tok_free(t);

    /* rstrip (Phi-3): the spaces after a special token are dropped */
    v.attr[tag] = RT_TOKA_RSTRIP;
    c.attrs = v.attr;
    t = rt_tok_new(&c, err, sizeof err);
    CHECK_IDS(t, "<tag>  a", false, false, tag, sa);
    rt_tok_free(t);
    /* no space prefix (Gemma 3) */
    c.attrs = NULL;
    c.add_space_prefix = false;
    t = rt_tok_new(&c, err, sizeof err);
    CHECK_IDS(t, "ab", false, false, ab);
    CHECK_IDS(t, " ab", false, false, sab);
    rt_tok_free(t);
}

/* GPT-2's byte-level code point of a byte, as UTF-8 */
static const char *bl(char *buf, unsigned char b) {
    size_t n = rt_utf8_encode(rt_byte_to_cp(b), buf);
    buf[n] = 0;
    return buf;
}

static void test_bpe(void) {
    static vocab v;
    static char chars[256][4];
    memset(&v, 0, sizeof v);
    for (int b = 0; b < 256; b++) add(&v, bl(chars[b], (unsigned char)b), 0, RT_TOKT_NORMAL);
    /* merges, best first */
    const char *merges[] = {"a b", "\xc4\xa0 a", "\xc4\xa0" "a b", "c c", "cc c", "x y", "y z"};
    const char *made[] = {"ab", "\xc4\xa0" "a", "\xc4\xa0" "ab", "cc", "ccc", "xy", "yz"};
    int32_t id[7];
    for (int i = 0; i < 7; i++) {
        v.merge[i] = (rt_tok_str){merges[i], strlen(merges[i])};
        id[i] = add(&v, made[i], 0, RT_TOKT_NORMAL);
    }
    v.n_merges = 7;
    int32_t eot = add(&v, "<|eot|>", 0, RT_TOKT_CONTROL);
    int32_t whole = add(&v, "abab", 0, RT_TOKT_NORMAL);  /* no merge makes it */
    rt_tok_config c;
    rt_tok_config_defaults(&c, RT_TOK_BPE, RT_PRE_GPT2);
    c.n_tokens = v.n, c.tokens = v.tok, c.types = v.type, c.n_merges = v.n_merges, c.merges = v.merge;
    c.bos = c.eos = eot;
    char err[128];
    rt_tokenizer *t = rt_tok_new(&c, err, sizeof err);
    CHECK(t != NULL);
    if (!t) return;
    /* " ab" is Ġ a b: "a b" (rank 0) merges before "Ġ a" (rank 1), and no
     * merge joins Ġ and ab */
    CHECK_IDS(t, "ab ab", false, false, id[0], ' ', id[0]);
    CHECK_IDS(t, "b a", false, false, 'b', id[1]);
    /* "cccc": c c merges first at the left (rank 3), then "cc c"? no: pairs are
     * (cc, cc) which has no merge -> cc cc */
    CHECK_IDS(t, "cccc", false, false, id[3], id[3]);
    CHECK_IDS(t, "ccc", false, false, id[4]);
    /* "xyz": x y (rank 5) beats y z (rank 6) */
    CHECK_IDS(t, "xyz", false, false, id[5], 'z');
    /* a word that is a token but that no merge makes: merged as usual */
    CHECK_IDS(t, "abab", false, false, id[0], id[0]);
    /* bytes: each byte of "é" is its own symbol */
    CHECK_IDS(t, "\xc3\xa9", false, false, 0xC3, 0xA9);
    CHECK_IDS(t, "a<|eot|>", false, true, 'a', eot);
    CHECK_IDS(t, "a", true, false, 'a');  /* GPT-2 adds no BOS */
    check_decode(t, "ab ab\n\t\xc3\xa9!", false);
    check_decode(t, "x<|eot|>y", true);
    rt_tok_free(t);
    /* Llama 3: a word that is a token is taken whole; BOS by default */
    rt_tok_config_defaults(&c, RT_TOK_BPE, RT_PRE_LLAMA3);
    c.n_tokens = v.n, c.tokens = v.tok, c.types = v.type, c.n_merges = v.n_merges, c.merges = v.merge;
    c.bos = c.eos = eot;
    t = rt_tok_new(&c, err, sizeof err);
    CHECK_IDS(t, "abab", false, false, whole);
    CHECK_IDS(t, "ab", true, false, eot, id[0]);
    rt_tok_free(t);
}

static void test_bad_config(void) {
    rt_tok_str toks[2] = {{"a", 1}, {"b", 1}};
    rt_tok_config c;
    char err[160] = "";
    rt_tok_config_defaults(&c, RT_TOK_SPM, RT_PRE_NONE);
    c.n_tokens = 2, c.tokens = toks;
    CHECK(rt_tok_new(&c, err, sizeof err) == NULL);  /* default eos id 2 is out of range */
    CHECK_CONTAINS(err, "eos token id 2");
    c.eos = -1;
    c.bos = 7;
    CHECK(rt_tok_new(&c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "bos token id 7");
    rt_tok_config_defaults(&c, RT_TOK_BPE, RT_PRE_GPT2);
    c.n_tokens = 2, c.tokens = toks, c.bos = c.eos = -1;
    CHECK(rt_tok_new(&c, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "needs merges");
    c.n_tokens = 0;
    CHECK(rt_tok_new(&c, err, sizeof err) == NULL);
    CHECK(rt_tok_model_from_name("gpt2", 4) == RT_TOK_BPE && rt_tok_model_from_name("bert", 4) < 0);
    CHECK(rt_tok_pre_from_name("smollm", 6) == RT_PRE_STARCODER && rt_tok_pre_from_name("falcon", 6) < 0);
}

static void test_unicode(void) {
    CHECK(rt_uc_flags('A') == RT_UC_LETTER && rt_uc_flags('7') == RT_UC_NUMBER && rt_uc_flags('!') == 0);
    CHECK(rt_uc_flags(0x4E2D) == RT_UC_LETTER);    /* 中 */
    CHECK(rt_uc_flags(0x0663) == RT_UC_NUMBER);    /* Arabic-Indic 3 */
    CHECK(rt_uc_flags(0x00BD) == RT_UC_NUMBER);    /* ½ (No) */
    CHECK(rt_uc_flags(0x0301) == RT_UC_MARK);
    CHECK(rt_uc_flags(0x3000) == RT_UC_SPACE && rt_uc_flags(0x85) == RT_UC_SPACE);
    CHECK(rt_uc_flags(0x1C) == 0);                 /* not White_Space */
    CHECK(rt_uc_flags(0x1F600) == 0);              /* emoji: a symbol */
    CHECK(rt_byte_to_cp(' ') == 0x120 && rt_byte_to_cp('!') == '!' && rt_byte_to_cp(0xAD) == 0x143);
    int ok = 1;
    for (int b = 0; b < 256; b++) ok &= rt_cp_to_byte(rt_byte_to_cp((uint8_t)b)) == b;
    CHECK(ok);
    uint32_t cp;
    CHECK(rt_utf8_decode("\xf0\x9f\xa6\x99", 4, &cp) == 4 && cp == 0x1F999);
    CHECK(rt_utf8_decode("\xf0\x9f", 2, &cp) == 1 && cp > 0x10FFFF);  /* truncated */
}

static void test_strmap(void) {
    rt_strmap m;
    CHECK(rt_strmap_init(&m, 2) == 0);
    char key[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        rt_strmap_put(&m, key, strlen(key), i, false);
    }
    CHECK(rt_strmap_get(&m, "k517", 4) == 517 && rt_strmap_get(&m, "k1000", 5) == -1);
    rt_strmap_put(&m, "k5", 2, 99, false);
    CHECK(rt_strmap_get(&m, "k5", 2) == 5);
    rt_strmap_put(&m, "k5", 2, 99, true);
    CHECK(rt_strmap_get(&m, "k5", 2) == 99);
    rt_strmap_put(&m, "ab\xff" "cd", 5, 7, false);
    CHECK(rt_strmap_get_pair(&m, "ab", 2, "cd", 2) == 7 && rt_strmap_get_pair(&m, "a", 1, "bcd", 3) == -1);
    rt_strmap_free(&m);
}

static void test_chat_detect(void) {
    rt_chat_template ct;
    CHECK(rt_chat_detect("{{'<|im_start|>' + m }}", 23, &ct) == 0 && ct.kind == RT_CHAT_CHATML && !ct.default_system[0]);
    const char *q = "{{ '<|im_start|>system\\nYou are nice.<|im_end|>\\n' }}<|im_start|>";
    CHECK(rt_chat_detect(q, strlen(q), &ct) == 0 && !strcmp(ct.default_system, "You are nice."));
    const char *l = "<|start_header_id|>x<|end_header_id|>Cutting Knowledge Date set date_string = \"1 Jan 2025\"";
    CHECK(rt_chat_detect(l, strlen(l), &ct) == 0 && ct.kind == RT_CHAT_LLAMA3 && ct.dated && !strcmp(ct.date, "1 Jan 2025"));
    CHECK(rt_chat_detect("<start_of_turn>", 15, &ct) == 0 && ct.kind == RT_CHAT_GEMMA);
    CHECK(rt_chat_detect("[INST] <<SYS>>", 14, &ct) == 0 && ct.kind == RT_CHAT_LLAMA2);
    CHECK(rt_chat_detect("[INST]", 6, &ct) == 0 && ct.kind == RT_CHAT_MISTRAL);
    CHECK(rt_chat_detect("{{ x }}", 7, &ct) == -1);
    /* a small buffer: the length comes back, the text is cut */
    rt_chat_msg m[1] = {{"user", "hi"}};
    rt_chat_detect("<start_of_turn>", 15, &ct);
    char small[8];
    size_t n = rt_chat_apply(&ct, m, 1, true, "<bos>", "<eos>", small, sizeof small);
    CHECK(n == strlen("<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"));
}

int main(void) {
    test_pre();
    test_spm();
    test_bpe();
    test_bad_config();
    test_unicode();
    test_strmap();
    test_chat_detect();
    return check_summary("test_tokenizer");
}
