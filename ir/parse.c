/* parse.c — reads the text form of the graph IR (described in text.h) back
 * into a graph.
 *
 * A hand-written recursive-descent parser over a lazy one-token lexer. It
 * builds the graph through the same calls an importer uses (ir_add_input,
 * ir_add_const, ir_add_node, ir_set_attr_*), checks each node's declared
 * output types against inference as soon as the node is read (so a wrong
 * shape is reported at its line and column), and runs ir_verify on the
 * result. The first error stops the parse: `PATH:LINE:COL: message`.
 * Every size and count the text controls is checked before it is used, and
 * nothing is allocated in proportion to a number in the text, only to the
 * text's own length: the parser is meant to survive any input.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mapfile.h"
#include "text.h"

#define MAX_DEPTH 200                 /* nesting of dimension expressions */
#define MAX_GRAPH_DEPTH 16            /* nesting of subgraphs (each level costs ~30 KiB of stack) */
#define DIM_LIMIT ((int64_t)1 << 61)  /* constants that dimension arithmetic may fold */
#define MAX_CHAIN 60                  /* symbolic terms of one sum or product (symdim keeps 64) */

/* ---- tokens ------------------------------------------------------------------ */

typedef enum tkind { T_EOF, T_IDENT, T_NUM, T_STR, T_VAL, T_PUNCT, T_ERR } tkind;

typedef struct lexpos {
    size_t pos;
    uint32_t line;
    size_t line_start;
} lexpos;

typedef struct token {
    tkind kind;
    size_t start, len; /* raw text */
    uint32_t line, col;
    const char *str;   /* decoded T_STR, or the name of a T_VAL */
    unsigned char ch;  /* T_PUNCT */
} token;

typedef struct parser {
    const char *src;
    size_t len;
    const char *path; /* for messages */
    char *dir;        /* directory of path with its '/', or NULL: relative to the cwd */
    lexpos at;        /* where the next token is lexed */
    lexpos before;    /* where the cached token began (whitespace included) */
    token tok;
    bool have;        /* tok is the cached lookahead */
    bool dim_mode;    /* inside a shape: '%' is the modulo operator */
    arena scratch;    /* decoded strings */
    diag *d;
    bool failed;
    int depth;        /* of dimension expressions */
    int graph_depth;
    /* the sidecar of `bin` constants, mapped while parsing */
    const uint8_t *bin;
    size_t bin_size;
    bool have_bin;
    const char *bin_name;
} parser;

static int errat(parser *p, uint32_t line, uint32_t col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errat(parser *p, uint32_t line, uint32_t col, const char *fmt, ...) {
    if (p->failed) return -1;
    p->failed = true;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return diag_error(p->d, "%s:%u:%u: %s", p->path, line, col, msg);
}

static bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_name_char(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '.'; }
static int hex_val(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static uint32_t col_at(const lexpos *a, size_t pos) {
    size_t c = pos - a->line_start + 1;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

static void skip_space(parser *p) {
    lexpos *a = &p->at;
    while (a->pos < p->len) {
        char c = p->src[a->pos];
        if (c == '\n') {
            a->pos++;
            if (a->line < UINT32_MAX) a->line++;
            a->line_start = a->pos;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            a->pos++;
        } else if (c == '#') {
            while (a->pos < p->len && p->src[a->pos] != '\n') a->pos++;
        } else {
            break;
        }
    }
}

/* Decodes the string literal at p->at (on its '"') into t->str. */
static void lex_string(parser *p, token *t) {
    lexpos *a = &p->at;
    size_t open = a->pos, i = a->pos + 1;
    /* first pass: find the end and check the escapes */
    for (;;) {
        if (i >= p->len || p->src[i] == '\n') {
            errat(p, t->line, col_at(a, open), "unterminated string");
            t->kind = T_ERR;
            return;
        }
        unsigned char c = (unsigned char)p->src[i];
        if (c == '"') break;
        if (c == 0) {
            errat(p, t->line, col_at(a, i), "string contains a NUL byte");
            t->kind = T_ERR;
            return;
        }
        if (c != '\\') {
            i++;
            continue;
        }
        unsigned char e = i + 1 < p->len ? (unsigned char)p->src[i + 1] : 0;
        if (e == '"' || e == '\\' || e == 'n' || e == 't' || e == 'r') {
            i += 2;
        } else if (e == 'x' && i + 3 < p->len && hex_val((unsigned char)p->src[i + 2]) >= 0 &&
                   hex_val((unsigned char)p->src[i + 3]) >= 0) {
            if (hex_val((unsigned char)p->src[i + 2]) == 0 && hex_val((unsigned char)p->src[i + 3]) == 0) {
                errat(p, t->line, col_at(a, i), "string contains a NUL byte");
                t->kind = T_ERR;
                return;
            }
            i += 4;
        } else if (e == 'x') {
            errat(p, t->line, col_at(a, i), "a \\x escape needs two hex digits");
            t->kind = T_ERR;
            return;
        } else if (e == '\n' || i + 1 >= p->len) {
            errat(p, t->line, col_at(a, open), "unterminated string");
            t->kind = T_ERR;
            return;
        } else {
            if (e >= 0x20 && e < 0x7f) errat(p, t->line, col_at(a, i), "unknown escape '\\%c' in string", e);
            else errat(p, t->line, col_at(a, i), "unknown escape in string");
            t->kind = T_ERR;
            return;
        }
    }
    size_t close = i;
    char *s = arena_alloc(&p->scratch, close - open);
    if (!s) {
        errat(p, t->line, t->col, "out of memory");
        t->kind = T_ERR;
        return;
    }
    size_t w = 0;
    for (i = open + 1; i < close;) {
        char c = p->src[i];
        if (c != '\\') {
            s[w++] = c;
            i++;
            continue;
        }
        char e = p->src[i + 1];
        if (e == 'x') {
            s[w++] = (char)(hex_val((unsigned char)p->src[i + 2]) * 16 + hex_val((unsigned char)p->src[i + 3]));
            i += 4;
            continue;
        }
        s[w++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        i += 2;
    }
    s[w] = 0;
    t->str = s;
    a->pos = close + 1;
}

static void lex(parser *p, token *t) {
    skip_space(p);
    lexpos *a = &p->at;
    memset(t, 0, sizeof *t);
    t->start = a->pos;
    t->line = a->line;
    t->col = col_at(a, a->pos);
    if (a->pos >= p->len) {
        t->kind = T_EOF;
        return;
    }
    const char *s = p->src;
    unsigned char c = (unsigned char)s[a->pos];
    if (is_alpha(c)) {
        t->kind = T_IDENT;
        while (a->pos < p->len && (is_alpha((unsigned char)s[a->pos]) || is_digit((unsigned char)s[a->pos]))) a->pos++;
    } else if (is_digit(c) || (c == '.' && a->pos + 1 < p->len && is_digit((unsigned char)s[a->pos + 1]))) {
        t->kind = T_NUM;
        while (a->pos < p->len) {
            unsigned char x = (unsigned char)s[a->pos];
            if (is_alpha(x) || is_digit(x) || x == '.') a->pos++;
            else if ((x == '+' || x == '-') && (s[a->pos - 1] == 'e' || s[a->pos - 1] == 'E')) a->pos++;
            else break;
        }
    } else if (c == '"') {
        t->kind = T_STR;
        lex_string(p, t);
    } else if (c == '%' && !p->dim_mode && a->pos + 1 < p->len &&
               (s[a->pos + 1] == '"' || is_name_char((unsigned char)s[a->pos + 1]))) {
        t->kind = T_VAL;
        a->pos++;
        if (s[a->pos] == '"') {
            lex_string(p, t);
        } else {
            size_t b = a->pos;
            while (a->pos < p->len && is_name_char((unsigned char)s[a->pos])) a->pos++;
            t->str = arena_strndup(&p->scratch, s + b, a->pos - b);
            if (!t->str) {
                errat(p, t->line, t->col, "out of memory");
                t->kind = T_ERR;
            }
        }
    } else {
        t->kind = T_PUNCT;
        t->ch = c;
        a->pos++;
    }
    t->len = a->pos - t->start;
}

static token *peek(parser *p) {
    if (!p->have) {
        p->before = p->at;
        lex(p, &p->tok);
        p->have = true;
    }
    return &p->tok;
}

static void next(parser *p) {
    peek(p);
    p->have = false;
}

/* Switch lexing modes; a cached token is lexed again in the new mode. */
static void set_dim_mode(parser *p, bool on) {
    if (p->have) {
        p->at = p->before;
        p->have = false;
    }
    p->dim_mode = on;
}

static const char *describe(const parser *p, const token *t, char *buf, size_t size) {
    if (t->kind == T_EOF) return "end of file";
    if (t->kind == T_PUNCT && (t->ch < 0x20 || t->ch >= 0x7f)) {
        snprintf(buf, size, "byte 0x%02x", t->ch);
        return buf;
    }
    size_t n = t->len > 40 ? 40 : t->len, w = 0;
    buf[w++] = '\'';
    for (size_t i = 0; i < n && w + 5 < size; i++) {
        unsigned char c = (unsigned char)p->src[t->start + i];
        buf[w++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (n < t->len && w + 5 < size) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w++] = '\'';
    buf[w] = 0;
    return buf;
}

static int expected(parser *p, const char *what) {
    token *t = peek(p);
    if (p->failed) return -1;
    char buf[64];
    return errat(p, t->line, t->col, "expected %s, found %s", what, describe(p, t, buf, sizeof buf));
}

static bool is_punct(parser *p, char c) {
    token *t = peek(p);
    return t->kind == T_PUNCT && t->ch == (unsigned char)c;
}

static bool is_ident(parser *p, const char *w) {
    token *t = peek(p);
    return t->kind == T_IDENT && t->len == strlen(w) && memcmp(p->src + t->start, w, t->len) == 0;
}

static int expect_punct(parser *p, char c) {
    if (is_punct(p, c)) {
        next(p);
        return 0;
    }
    char what[8] = {'\'', c, '\'', 0};
    return expected(p, what);
}

static int expect_ident(parser *p, const char *w) {
    if (is_ident(p, w)) {
        next(p);
        return 0;
    }
    char what[32];
    snprintf(what, sizeof what, "'%s'", w);
    return expected(p, what);
}

/* A string literal's text, or NULL after an error naming `what`. */
static const char *take_string(parser *p, const char *what, uint32_t *line, uint32_t *col) {
    token *t = peek(p);
    if (t->kind != T_STR) {
        expected(p, what);
        return NULL;
    }
    if (line) *line = t->line;
    if (col) *col = t->col;
    const char *s = t->str;
    next(p);
    return s;
}

/* ---- numbers ----------------------------------------------------------------- */

typedef struct numtext {
    char s[80];
    uint32_t line, col;
} numtext;

/* Reads an optional '-' and a number (or, with names, inf / nan) into nt.
 * Returns 1 without consuming anything if no number starts here. */
static int take_number(parser *p, numtext *nt, bool names) {
    token *t = peek(p);
    nt->line = t->line;
    nt->col = t->col;
    size_t w = 0;
    if (t->kind == T_PUNCT && t->ch == '-') {
        next(p);
        nt->s[w++] = '-';
        t = peek(p);
    } else if (!(t->kind == T_NUM || (names && t->kind == T_IDENT))) {
        return 1;
    }
    bool name_ok = names && t->kind == T_IDENT &&
                   ((t->len == 3 && memcmp(p->src + t->start, "inf", 3) == 0) ||
                    (t->len == 3 && memcmp(p->src + t->start, "nan", 3) == 0 && w == 0));
    if (t->kind != T_NUM && !name_ok) {
        if (w == 0) return 1;
        return expected(p, "a number after '-'");
    }
    if (t->len + w >= sizeof nt->s) return errat(p, nt->line, nt->col, "number is too long");
    memcpy(nt->s + w, p->src + t->start, t->len);
    nt->s[w + t->len] = 0;
    next(p);
    return 0;
}

/* 0 ok, 1 not an integer, 2 out of range */
static int conv_i64(const char *s, int64_t *v) {
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!*d) return 1;
    for (const char *c = d; *c; c++)
        if (!is_digit((unsigned char)*c)) return 1;
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno == ERANGE) return 2;
    *v = x;
    return 0;
}

static int conv_u64(const char *s, uint64_t *v) {
    if (s[0] == '-') {
        int64_t x;
        int rc = conv_i64(s, &x);
        return rc == 1 ? 1 : 2;
    }
    if (!*s) return 1;
    for (const char *c = s; *c; c++)
        if (!is_digit((unsigned char)*c)) return 1;
    errno = 0;
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno == ERANGE) return 2;
    *v = x;
    return 0;
}

static int conv_f64(const char *s, double *v, bool f32) {
    bool neg = s[0] == '-';
    const char *m = neg ? s + 1 : s;
    if (strcmp(m, "inf") == 0) {
        *v = neg ? -HUGE_VAL : HUGE_VAL;
        return 0;
    }
    if (strcmp(m, "nan") == 0) return 3; /* the caller writes its exact NaN */
    if (!is_digit((unsigned char)m[0]) && m[0] != '.') return 1;
    for (const char *c = m; *c; c++) /* decimal only: no hex floats, no "infinity" */
        if (!(is_digit((unsigned char)*c) || *c == '.' || *c == 'e' || *c == 'E' || *c == '+' || *c == '-'))
            return 1;
    char *end;
    errno = 0;
    if (f32) {
        float f = strtof(s, &end);
        if (*end) return 1;
        if (f == HUGE_VALF || f == -HUGE_VALF) return 2;
        *v = f;
    } else {
        double x = strtod(s, &end);
        if (*end) return 1;
        if (x == HUGE_VAL || x == -HUGE_VAL) return 2;
        *v = x;
    }
    return 0;
}

static float read_f32(double v, int rc) {
    if (rc == 3) {
        uint32_t bits = 0x7fc00000u;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    return (float)v;
}

/* An unsigned integer such as a file offset; what names it in messages. */
static int take_u64(parser *p, uint64_t *v, const char *what, uint32_t *line, uint32_t *col) {
    numtext nt;
    int rc = take_number(p, &nt, false);
    if (rc < 0) return -1;
    if (rc == 1) return expected(p, what);
    if (line) *line = nt.line;
    if (col) *col = nt.col;
    rc = conv_u64(nt.s, v);
    if (rc == 1) return errat(p, nt.line, nt.col, "expected %s, found '%s'", what, nt.s);
    if (rc == 2) return errat(p, nt.line, nt.col, "%s %s is out of range", what, nt.s);
    return 0;
}

/* ---- names ------------------------------------------------------------------- */

static const char *vname(const char *name, char *buf, size_t size) {
    ir_format_value_name(name, buf, size);
    return buf;
}

/* A value name being defined; NULL after an error. */
static const char *take_def_name(parser *p, ir_graph *g, uint32_t *line, uint32_t *col) {
    token *t = peek(p);
    if (t->kind != T_VAL) {
        expected(p, "a value name (%name)");
        return NULL;
    }
    *line = t->line;
    *col = t->col;
    const char *name = t->str;
    if (!*name) {
        errat(p, t->line, t->col, "value name is empty");
        return NULL;
    }
    if (ir_find_value(g, name) != IR_NONE) {
        char buf[256];
        errat(p, t->line, t->col, "value '%s' is defined twice", vname(name, buf, sizeof buf));
        return NULL;
    }
    next(p);
    return name;
}

/* A reference to a defined value. */
static int take_use(parser *p, ir_graph *g, ir_id *v) {
    token *t = peek(p);
    if (t->kind != T_VAL) return expected(p, "a value (%name)");
    *v = ir_find_value(g, t->str);
    if (*v == IR_NONE) {
        char buf[256];
        return errat(p, t->line, t->col, "undefined value '%s'", vname(t->str, buf, sizeof buf));
    }
    next(p);
    return 0;
}

/* ---- dimensions ---------------------------------------------------------------- */

static int dim_sum(parser *p, ir_graph *g, ir_dim *out);

static bool small(int64_t v) { return v >= -DIM_LIMIT && v <= DIM_LIMIT; }

/* Folds the constants of a chain of k (a sum or product) the way symdim's
 * canonical form does, and counts its symbolic terms; -1 if either the
 * constant or the count leaves the safe range. */
static int chain_scan(const ir_graph *g, ir_sym_kind k, ir_dim x, int64_t *c, int *terms, int depth) {
    if (ir_dim_is_const(x)) {
        if (!small(x.c)) return -1;
        int64_t r;
        if (k == IR_SYM_ADD ? __builtin_add_overflow(*c, x.c, &r) : __builtin_mul_overflow(*c, x.c, &r)) return -1;
        if (!small(r)) return -1;
        *c = r;
        return 0;
    }
    const ir_symbol *s = &g->syms[x.sym];
    if (s->kind != k) return ++*terms > MAX_CHAIN ? -1 : 0;
    if (depth > 4 * MAX_CHAIN) return -1;
    if (chain_scan(g, k, s->a, c, terms, depth + 1)) return -1;
    return chain_scan(g, k, s->b, c, terms, depth + 1);
}

/* a k b through ir_dim_expr, after checking that its folding cannot
 * overflow or divide by zero. */
static int combine(parser *p, ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b, ir_dim *out, uint32_t line,
                   uint32_t col) {
    if (ir_dim_is_const(a) && ir_dim_is_const(b)) {
        int64_t r = 0;
        if (!small(a.c) || !small(b.c)) return errat(p, line, col, "dimension arithmetic on a constant too large");
        if ((k == IR_SYM_DIV || k == IR_SYM_CDIV || k == IR_SYM_MOD) && b.c == 0)
            return errat(p, line, col, "division by zero in a dimension");
        if ((k == IR_SYM_ADD && __builtin_add_overflow(a.c, b.c, &r)) ||
            (k == IR_SYM_SUB && __builtin_sub_overflow(a.c, b.c, &r)) ||
            (k == IR_SYM_MUL && __builtin_mul_overflow(a.c, b.c, &r)))
            return errat(p, line, col, "dimension arithmetic overflows");
    } else if (k == IR_SYM_ADD || k == IR_SYM_MUL) {
        int64_t c = k == IR_SYM_ADD ? 0 : 1;
        int terms = 0;
        if (chain_scan(g, k, a, &c, &terms, 0) || chain_scan(g, k, b, &c, &terms, 0))
            return errat(p, line, col, "dimension expression is too large");
    }
    uint32_t before = g->n_syms;
    *out = ir_dim_expr(g, k, a, b);
    if (ir_dim_is_const(*out) && out->c == -1 && g->n_syms == before && !(ir_dim_is_const(a) && ir_dim_is_const(b)))
        return errat(p, line, col, "out of memory");
    return 0;
}

static int find_symbol(parser *p, ir_graph *g, const char *name, size_t len, uint32_t line, uint32_t col,
                       ir_dim *out) {
    for (uint32_t i = 0; i < g->n_syms; i++) {
        const ir_symbol *s = &g->syms[i];
        if (s->kind == IR_SYM_NAMED && strlen(s->name) == len && memcmp(s->name, name, len) == 0) {
            out->c = 0;
            out->sym = (int32_t)i;
            return 0;
        }
    }
    return errat(p, line, col, "unknown symbol '%.*s' (declare it with 'sym')", (int)(len > 64 ? 64 : len), name);
}

static int dim_atom(parser *p, ir_graph *g, ir_dim *out) {
    token *t = peek(p);
    uint32_t line = t->line, col = t->col;
    if (t->kind == T_NUM || (t->kind == T_PUNCT && t->ch == '-')) {
        numtext nt;
        int rc = take_number(p, &nt, false);
        if (rc < 0) return -1;
        if (rc == 1) return expected(p, "a dimension");
        int64_t v;
        rc = conv_i64(nt.s, &v);
        if (rc == 1) return errat(p, line, col, "expected a dimension, found '%s'", nt.s);
        if (rc == 2) return errat(p, line, col, "dimension %s is out of range", nt.s);
        *out = ir_dim_const(v);
        return 0;
    }
    if (t->kind == T_PUNCT && t->ch == '(') {
        next(p);
        if (dim_sum(p, g, out)) return -1;
        return expect_punct(p, ')');
    }
    if (t->kind == T_STR) {
        const char *s = t->str;
        next(p);
        return find_symbol(p, g, s, strlen(s), line, col, out);
    }
    if (t->kind != T_IDENT) return expected(p, "a dimension");
    const char *name = p->src + t->start;
    size_t len = t->len;
    next(p);
    ir_sym_kind fk = IR_SYM_NAMED;
    if (len == 4 && memcmp(name, "cdiv", 4) == 0) fk = IR_SYM_CDIV;
    if (len == 3 && memcmp(name, "min", 3) == 0) fk = IR_SYM_MIN;
    if (len == 3 && memcmp(name, "max", 3) == 0) fk = IR_SYM_MAX;
    if (fk == IR_SYM_NAMED || !is_punct(p, '(')) return find_symbol(p, g, name, len, line, col, out);
    next(p);
    ir_dim a, b;
    if (dim_sum(p, g, &a) || expect_punct(p, ',') || dim_sum(p, g, &b) || expect_punct(p, ')')) return -1;
    return combine(p, g, fk, a, b, out, line, col);
}

static int dim_product(parser *p, ir_graph *g, ir_dim *out) {
    if (dim_atom(p, g, out)) return -1;
    for (;;) {
        token *t = peek(p);
        if (t->kind != T_PUNCT || (t->ch != '*' && t->ch != '/' && t->ch != '%')) return 0;
        ir_sym_kind k = t->ch == '*' ? IR_SYM_MUL : t->ch == '/' ? IR_SYM_DIV : IR_SYM_MOD;
        uint32_t line = t->line, col = t->col;
        next(p);
        ir_dim b;
        if (dim_atom(p, g, &b) || combine(p, g, k, *out, b, out, line, col)) return -1;
    }
}

static int dim_sum(parser *p, ir_graph *g, ir_dim *out) {
    if (++p->depth > MAX_DEPTH) {
        token *t = peek(p);
        return errat(p, t->line, t->col, "dimension expression is nested too deeply");
    }
    int rc = dim_product(p, g, out);
    while (rc == 0) {
        token *t = peek(p);
        if (t->kind != T_PUNCT || (t->ch != '+' && t->ch != '-')) break;
        ir_sym_kind k = t->ch == '+' ? IR_SYM_ADD : IR_SYM_SUB;
        uint32_t line = t->line, col = t->col;
        next(p);
        ir_dim b;
        rc = dim_product(p, g, &b);
        if (rc == 0) rc = combine(p, g, k, *out, b, out, line, col);
    }
    p->depth--;
    return rc;
}

typedef struct decl {
    ir_dtype t;
    int rank;
    ir_dim dims[IR_MAX_RANK];
    uint32_t line, col;           /* of the type */
    uint32_t name_line, name_col; /* of the value it declares, where there is one */
} decl;

/* dtype[dim, ...] */
static int parse_type(parser *p, ir_graph *g, decl *ty) {
    token *t = peek(p);
    ty->line = t->line;
    ty->col = t->col;
    if (t->kind != T_IDENT) return expected(p, "a type such as f32[2,3]");
    ty->t = ir_dtype_from_name(p->src + t->start, (int)t->len);
    if (ty->t == IR_DTYPE_NONE)
        return errat(p, t->line, t->col, "unknown dtype '%.*s'", (int)(t->len > 64 ? 64 : t->len), p->src + t->start);
    next(p);
    if (expect_punct(p, '[')) return -1;
    set_dim_mode(p, true);
    ty->rank = 0;
    if (!is_punct(p, ']')) {
        for (;;) {
            t = peek(p);
            uint32_t line = t->line, col = t->col;
            ir_dim x;
            if (dim_sum(p, g, &x)) return -1;
            if (ir_dim_is_const(x) && x.c < 0)
                return errat(p, line, col, "dimension %lld is negative", (long long)x.c);
            if (ty->rank == IR_MAX_RANK)
                return errat(p, line, col, "type has more than %d dimensions (IR_MAX_RANK)", IR_MAX_RANK);
            ty->dims[ty->rank++] = x;
            if (!is_punct(p, ',')) break;
            next(p);
        }
    }
    if (!is_punct(p, ']')) return expected(p, "',' or ']'");
    next(p);
    set_dim_mode(p, false);
    return 0;
}

static const char *type_text(const ir_graph *g, const decl *ty, char *buf, size_t size) {
    ir_type_format(g, ty->t, ty->rank, ty->dims, buf, size);
    return buf;
}

/* ---- constants --------------------------------------------------------------- */

/* A growable byte buffer for constant data. */
typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static int bytes_push(bytes *b, const void *x, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, x, n);
    b->len += n;
    return 0;
}

/* One element of a literal list, appended to out as dtype t. */
static int literal_elem(parser *p, ir_dtype t, bytes *out) {
    numtext nt;
    bool fl = t == IR_F32 || t == IR_F64;
    int rc = take_number(p, &nt, fl);
    if (rc < 0) return -1;
    if (rc == 1) return expected(p, fl ? "a number" : "an integer");
    union { int8_t i8; int16_t i16; int32_t i32; int64_t i64; uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
            float f; double d; } u;
    size_t n = ir_dtype_get(t)->block_bytes;
    if (fl) {
        double v = 0;
        rc = conv_f64(nt.s, &v, t == IR_F32);
        if (rc == 1) return errat(p, nt.line, nt.col, "expected a number, found '%s'", nt.s);
        if (rc == 2) return errat(p, nt.line, nt.col, "%s is out of range for %s", nt.s, ir_dtype_name(t));
        if (t == IR_F32) u.f = read_f32(v, rc);
        else if (rc == 3) u.u64 = 0x7ff8000000000000ull;
        else u.d = v;
    } else if (ir_dtype_is_signed(t)) {
        int64_t v = 0;
        rc = conv_i64(nt.s, &v);
        int64_t lo = t == IR_I8 ? INT8_MIN : t == IR_I16 ? INT16_MIN : t == IR_I32 ? INT32_MIN : INT64_MIN;
        int64_t hi = t == IR_I8 ? INT8_MAX : t == IR_I16 ? INT16_MAX : t == IR_I32 ? INT32_MAX : INT64_MAX;
        if (rc == 1) return errat(p, nt.line, nt.col, "expected an integer, found '%s'", nt.s);
        if (rc == 2 || v < lo || v > hi)
            return errat(p, nt.line, nt.col, "%s is out of range for %s", nt.s, ir_dtype_name(t));
        if (t == IR_I8) u.i8 = (int8_t)v;
        else if (t == IR_I16) u.i16 = (int16_t)v;
        else if (t == IR_I32) u.i32 = (int32_t)v;
        else u.i64 = v;
    } else {
        uint64_t v = 0;
        rc = conv_u64(nt.s, &v);
        uint64_t hi = t == IR_BOOL ? 1 : t == IR_U8 ? UINT8_MAX : t == IR_U16 ? UINT16_MAX : t == IR_U32 ? UINT32_MAX
                                                                                                        : UINT64_MAX;
        if (rc == 1) return errat(p, nt.line, nt.col, "expected an integer, found '%s'", nt.s);
        if (rc == 2 || v > hi) return errat(p, nt.line, nt.col, "%s is out of range for %s", nt.s, ir_dtype_name(t));
        if (n == 1) u.u8 = (uint8_t)v;
        else if (n == 2) u.u16 = (uint16_t)v;
        else if (n == 4) u.u32 = (uint32_t)v;
        else u.u64 = v;
    }
    if (bytes_push(out, &u, n)) return errat(p, nt.line, nt.col, "out of memory");
    return 0;
}

static bool literal_dtype(ir_dtype t) {
    return t == IR_F32 || t == IR_F64 || t == IR_BOOL ||
           (ir_dtype_is_int(t) && ir_dtype_get(t)->block_elems == 1);
}

/* [a, b, ...] with exactly numel elements */
static int parse_literal(parser *p, const ir_graph *g, const char *name, const decl *ty, uint64_t numel, bytes *out) {
    token *t = peek(p);
    uint32_t line = t->line, col = t->col;
    char nb[256], tb[256];
    if (!literal_dtype(ty->t))
        return errat(p, line, col, "a literal list cannot hold %s data: use hex \"...\"", ir_dtype_name(ty->t));
    next(p);
    uint64_t count = 0;
    if (!is_punct(p, ']')) {
        for (;;) {
            t = peek(p);
            if (count == numel)
                return errat(p, t->line, t->col, "too many elements for constant '%s' of type %s",
                             vname(name, nb, sizeof nb), type_text(g, ty, tb, sizeof tb));
            if (literal_elem(p, ty->t, out)) return -1;
            count++;
            if (!is_punct(p, ',')) break;
            next(p);
        }
    }
    if (!is_punct(p, ']')) return expected(p, "',' or ']'");
    if (count != numel)
        return errat(p, line, col, "constant '%s' has %llu elements, its type %s needs %llu", vname(name, nb, sizeof nb),
                     (unsigned long long)count, type_text(g, ty, tb, sizeof tb), (unsigned long long)numel);
    next(p);
    return 0;
}

static int parse_hex(parser *p, const char *name, const decl *ty, const ir_graph *g, uint64_t need, bytes *out) {
    uint32_t line, col;
    const char *s = take_string(p, "a string of hex digits", &line, &col);
    if (!s) return -1;
    size_t n = strlen(s);
    char nb[256], tb[256];
    if (n % 2) return errat(p, line, col, "hex data has an odd number of digits");
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_val((unsigned char)s[i]), lo = hex_val((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0) return errat(p, line, col, "hex data has a character that is not a hex digit");
        uint8_t byte = (uint8_t)(hi * 16 + lo);
        if (bytes_push(out, &byte, 1)) return errat(p, line, col, "out of memory");
    }
    if (out->len != need)
        return errat(p, line, col, "constant '%s' has %zu bytes, its type %s needs %llu", vname(name, nb, sizeof nb),
                     out->len, type_text(g, ty, tb, sizeof tb), (unsigned long long)need);
    return 0;
}

/* Joins a path from the text to the .ir file's directory; malloc'd. */
static char *resolve_path(const parser *p, const char *rel) {
    size_t dl = rel[0] == '/' || !p->dir ? 0 : strlen(p->dir), rl = strlen(rel);
    char *s = malloc(dl + rl + 1);
    if (!s) return NULL;
    if (dl) memcpy(s, p->dir, dl);
    memcpy(s + dl, rel, rl + 1);
    return s;
}

/* `offset O bytes N`, checked against the type's size and the file's. */
static int parse_range(parser *p, const char *name, const decl *ty, const ir_graph *g, uint64_t need,
                       const char *file, size_t size, uint64_t *off) {
    uint32_t ol, oc, bl, bc;
    uint64_t n;
    char nb[256], tb[256];
    if (expect_ident(p, "offset") || take_u64(p, off, "an offset", &ol, &oc) || expect_ident(p, "bytes") ||
        take_u64(p, &n, "a byte count", &bl, &bc))
        return -1;
    if (n != need)
        return errat(p, bl, bc, "constant '%s' has %llu bytes, its type %s needs %llu", vname(name, nb, sizeof nb),
                     (unsigned long long)n, type_text(g, ty, tb, sizeof tb), (unsigned long long)need);
    if (*off > size || n > size - *off)
        return errat(p, ol, oc, "offset %llu + %llu bytes is past the end of '%s' (%zu bytes)",
                     (unsigned long long)*off, (unsigned long long)n, file, size);
    return 0;
}

static int parse_const(parser *p, ir_graph *g) {
    next(p); /* const */
    uint32_t line, col;
    const char *name = take_def_name(p, g, &line, &col);
    decl ty;
    if (!name || expect_punct(p, ':') || parse_type(p, g, &ty) || expect_punct(p, '=')) return -1;
    int64_t numel = 1;
    for (int i = 0; i < ty.rank; i++) {
        if (!ir_dim_is_const(ty.dims[i])) return errat(p, ty.line, ty.col, "a constant needs a shape of constant dimensions");
        if (__builtin_mul_overflow(numel, ty.dims[i].c, &numel)) return errat(p, ty.line, ty.col, "constant is too large");
    }
    int64_t need = ir_dtype_storage_bytes(ty.t, numel);
    if (need < 0)
        return errat(p, ty.line, ty.col, "%lld elements are no whole number of %s blocks", (long long)numel,
                     ir_dtype_name(ty.t));
    const void *data = NULL;
    int32_t mapping = -1;
    bytes buf = {0};
    int rc = -1;
    token *t = peek(p);
    if (t->kind == T_PUNCT && t->ch == '[') {
        if (parse_literal(p, g, name, &ty, (uint64_t)numel, &buf)) goto out;
    } else if (is_ident(p, "hex")) {
        next(p);
        if (parse_hex(p, name, &ty, g, (uint64_t)need, &buf)) goto out;
    } else if (is_ident(p, "file")) {
        next(p);
        uint32_t fl, fc;
        const char *rel = take_string(p, "a file name", &fl, &fc);
        if (!rel) goto out;
        char *path = resolve_path(p, rel);
        if (!path) {
            errat(p, fl, fc, "out of memory");
            goto out;
        }
        int m = -1;
        for (uint32_t i = 0; i < g->n_maps && m < 0; i++)
            if (strcmp(g->maps[i].path, path) == 0) m = (int)i;
        if (m < 0) {
            const uint8_t *base;
            size_t size;
            diag tmp;
            diag_init(&tmp);
            if (map_file(path, &base, &size, &tmp)) {
                errat(p, fl, fc, "%s", tmp.msg);
                free(path);
                goto out;
            }
            m = ir_add_mapping(g, path, base, size, true);
            if (m < 0) {
                unmap_file(base, size);
                errat(p, fl, fc, "out of memory");
                free(path);
                goto out;
            }
        }
        free(path);
        uint64_t off;
        if (parse_range(p, name, &ty, g, (uint64_t)need, rel, g->maps[m].size, &off)) goto out;
        data = need ? g->maps[m].base + off : NULL;
        mapping = m;
    } else if (is_ident(p, "bin")) {
        uint32_t bl = t->line, bc = t->col;
        next(p);
        if (!p->have_bin) {
            errat(p, bl, bc, "'bin' data needs a sidecar: graph \"...\" bin \"FILE\" {");
            goto out;
        }
        uint64_t off;
        if (parse_range(p, name, &ty, g, (uint64_t)need, p->bin_name, p->bin_size, &off)) goto out;
        if (need && bytes_push(&buf, p->bin + off, (size_t)need)) {
            errat(p, bl, bc, "out of memory");
            goto out;
        }
    } else if (is_ident(p, "elided")) {
        errat(p, t->line, t->col, "the data of constant '%s' was elided when this text was printed", name);
        goto out;
    } else {
        expected(p, "constant data ('[...]', hex, file or bin)");
        goto out;
    }
    if (mapping < 0 && buf.len) {
        data = arena_memdup(&g->arena, buf.p, buf.len, 1);
        if (!data) {
            errat(p, line, col, "out of memory");
            goto out;
        }
    }
    diag tmp;
    diag_init(&tmp);
    if (ir_add_const(g, name, ty.t, ty.rank, ty.dims, data, (uint64_t)need, mapping, &tmp) == IR_NONE) {
        errat(p, line, col, "%s", tmp.msg);
        goto out;
    }
    rc = 0;
out:
    free(buf.p);
    return rc;
}

/* ---- statements ---------------------------------------------------------------- */

static int parse_sym(parser *p, ir_graph *g) {
    next(p); /* sym */
    for (;;) {
        token *t = peek(p);
        const char *name;
        size_t len;
        if (t->kind == T_IDENT) {
            name = p->src + t->start;
            len = t->len;
        } else if (t->kind == T_STR) {
            name = t->str;
            len = strlen(name);
        } else {
            return expected(p, "a symbol name");
        }
        for (uint32_t i = 0; i < g->n_syms; i++)
            if (g->syms[i].kind == IR_SYM_NAMED && strlen(g->syms[i].name) == len &&
                memcmp(g->syms[i].name, name, len) == 0)
                return errat(p, t->line, t->col, "symbol '%.*s' is declared twice", (int)(len > 64 ? 64 : len), name);
        char *copy = arena_strndup(&p->scratch, name, len);
        uint32_t before = g->n_syms;
        if (!copy || (ir_dim_named(g, copy), g->n_syms == before)) return errat(p, t->line, t->col, "out of memory");
        next(p);
        if (!is_punct(p, ',')) return 0;
        next(p);
    }
}

static int parse_input(parser *p, ir_graph *g) {
    next(p); /* input */
    uint32_t line, col;
    const char *name = take_def_name(p, g, &line, &col);
    decl ty;
    if (!name || expect_punct(p, ':') || parse_type(p, g, &ty)) return -1;
    diag tmp;
    diag_init(&tmp);
    if (ir_add_input(g, name, ty.t, ty.rank, ty.dims, &tmp) == IR_NONE) return errat(p, line, col, "%s", tmp.msg);
    return 0;
}

static int parse_output(parser *p, ir_graph *g) {
    next(p); /* output */
    ir_id v;
    token *t = peek(p);
    uint32_t line = t->line, col = t->col;
    if (take_use(p, g, &v)) return -1;
    diag tmp;
    diag_init(&tmp);
    if (ir_add_output(g, v, &tmp)) return errat(p, line, col, "%s", tmp.msg);
    return 0;
}

static ir_graph *parse_graph(parser *p, ir_graph *parent);

static int parse_attr_value(parser *p, ir_graph *g, ir_id nid, const ir_attr_schema *s, const char *opname) {
    token *t = peek(p);
    uint32_t line = t->line, col = t->col;
    diag tmp;
    diag_init(&tmp);
    int rc = 0;
#define WRONG() errat(p, line, col, "attribute '%s' of %s must be %s", s->name, opname, ir_attr_kind_name(s->kind))
    switch (s->kind) {
    case IR_AK_INT: {
        numtext nt;
        int64_t v = 0;
        int r = take_number(p, &nt, false);
        if (r < 0) return -1;
        if (r == 1 || (r = conv_i64(nt.s, &v)) == 1) return WRONG();
        if (r == 2) return errat(p, line, col, "integer %s is out of range", nt.s);
        rc = ir_set_attr_int(g, nid, s->name, v, &tmp);
        break;
    }
    case IR_AK_FLOAT: {
        numtext nt;
        double v = 0;
        int r = take_number(p, &nt, true);
        if (r < 0) return -1;
        if (r == 1 || (r = conv_f64(nt.s, &v, true)) == 1) return WRONG();
        if (r == 2) return errat(p, line, col, "%s is out of range for a float", nt.s);
        rc = ir_set_attr_float(g, nid, s->name, read_f32(v, r), &tmp);
        break;
    }
    case IR_AK_STR:
        if (t->kind != T_STR) return WRONG();
        rc = ir_set_attr_str(g, nid, s->name, t->str, &tmp);
        next(p);
        break;
    case IR_AK_DTYPE: {
        if (t->kind != T_IDENT) return WRONG();
        ir_dtype dt = ir_dtype_from_name(p->src + t->start, (int)t->len);
        if (dt == IR_DTYPE_NONE)
            return errat(p, line, col, "unknown dtype '%.*s'", (int)(t->len > 64 ? 64 : t->len), p->src + t->start);
        next(p);
        rc = ir_set_attr_int(g, nid, s->name, dt, &tmp);
        break;
    }
    case IR_AK_INTS:
    case IR_AK_FLOATS:
    case IR_AK_STRS: {
        if (t->kind != T_PUNCT || t->ch != '[') return WRONG();
        next(p);
        bytes buf = {0};
        uint32_t n = 0;
        while (!is_punct(p, ']')) {
            t = peek(p);
            line = t->line;
            col = t->col;
            if (n == UINT32_MAX / 2) rc = errat(p, line, col, "list is too long");
            if (rc == 0 && s->kind == IR_AK_STRS) {
                if (t->kind != T_STR) {
                    rc = WRONG();
                } else {
                    const char *str = t->str;
                    next(p);
                    if (bytes_push(&buf, &str, sizeof str)) rc = errat(p, line, col, "out of memory");
                }
            } else if (rc == 0) {
                numtext nt;
                bool fl = s->kind == IR_AK_FLOATS;
                int r = take_number(p, &nt, fl);
                int64_t iv = 0;
                double fv = 0;
                if (r < 0) rc = -1;
                else if (r == 1 || (r = fl ? conv_f64(nt.s, &fv, true) : conv_i64(nt.s, &iv)) == 1) rc = WRONG();
                else if (r == 2) rc = errat(p, line, col, "%s is out of range", nt.s);
                else if (fl) {
                    float f = read_f32(fv, r);
                    if (bytes_push(&buf, &f, sizeof f)) rc = errat(p, line, col, "out of memory");
                } else if (bytes_push(&buf, &iv, sizeof iv)) {
                    rc = errat(p, line, col, "out of memory");
                }
            }
            if (rc) break;
            n++;
            if (!is_punct(p, ',')) break;
            next(p);
        }
        if (rc == 0 && !is_punct(p, ']')) rc = expected(p, "',' or ']'");
        if (rc == 0) {
            next(p);
            if (s->kind == IR_AK_INTS) rc = ir_set_attr_ints(g, nid, s->name, (const int64_t *)buf.p, n, &tmp);
            else if (s->kind == IR_AK_FLOATS) rc = ir_set_attr_floats(g, nid, s->name, (const float *)buf.p, n, &tmp);
            else rc = ir_set_attr_strs(g, nid, s->name, (const char *const *)buf.p, n, &tmp);
            if (rc) rc = errat(p, line, col, "%s", tmp.msg);
        }
        free(buf.p);
        return rc;
    }
    case IR_AK_GRAPH: {
        if (!is_ident(p, "graph")) return WRONG();
        ir_graph *sub = parse_graph(p, g);
        if (!sub) return -1;
        if (ir_set_attr_graph(g, nid, s->name, sub, &tmp)) {
            ir_graph_free(sub);
            return errat(p, line, col, "%s", tmp.msg);
        }
        break;
    }
    }
#undef WRONG
    if (rc) return errat(p, line, col, "%s", tmp.msg);
    return 0;
}

/* The first line of an inference message, without the "file: " that
 * ir_node_error puts first (the location replaces it). */
static const char *node_message(const ir_graph *g, const ir_node *n, diag *tmp) {
    char *nl = strchr(tmp->msg, '\n');
    if (nl) *nl = 0;
    const char *file = n->file && *n->file ? n->file : g->source;
    size_t fl = strlen(file);
    if (strncmp(tmp->msg, file, fl) == 0 && tmp->msg[fl] == ':' && tmp->msg[fl + 1] == ' ') return tmp->msg + fl + 2;
    return tmp->msg;
}

/* Re-infers a node and compares with the declared output types, reporting
 * at the op (inference failed) or at the output's type (mismatch). Leaves
 * the declared types and the symbol table as they were. */
static int check_node(parser *p, ir_graph *g, ir_id nid, uint32_t op_line, uint32_t op_col, const decl *outs) {
    ir_node *n = &g->nodes[nid];
    uint32_t n_syms = g->n_syms;
    ir_value *saved = malloc(n->n_out * sizeof *saved);
    if (!saved) return errat(p, op_line, op_col, "out of memory");
    for (uint32_t o = 0; o < n->n_out; o++) saved[o] = g->values[n->out[o]];
    diag tmp;
    diag_init(&tmp);
    int rc = ir_infer_node(g, nid, &tmp);
    if (rc) {
        errat(p, op_line, op_col, "%s", node_message(g, n, &tmp));
    } else {
        for (uint32_t o = 0; o < n->n_out; o++) {
            const ir_value *now = &g->values[n->out[o]];
            bool same = now->dtype == saved[o].dtype && now->rank == saved[o].rank;
            for (int i = 0; same && i < now->rank; i++) { /* a size that inference made up (fresh) matches any symbol */
                bool fresh = !ir_dim_is_const(now->dims[i]) && (uint32_t)now->dims[i].sym >= n_syms;
                same = fresh ? !ir_dim_is_const(saved[o].dims[i]) : ir_dim_eq(now->dims[i], saved[o].dims[i]);
            }
            if (same) continue;
            char want[512], have[512], nb[256];
            ir_type_format(g, now->dtype, now->rank, now->dims, want, sizeof want);
            ir_type_format(g, saved[o].dtype, saved[o].rank, saved[o].dims, have, sizeof have);
            rc = errat(p, outs[o].line, outs[o].col, "output '%s' of %s is declared %s but its inputs give %s",
                       vname(now->name, nb, sizeof nb), ir_op_get(n->op)->name, have, want);
            break;
        }
    }
    /* keep the shape values inference found (rebuilt once its scratch symbols are gone) */
    ir_dim *sval[64] = {0};
    for (uint32_t o = 0; o < n->n_out && o < 64; o++) sval[o] = g->values[n->out[o]].sval;
    for (uint32_t o = 0; o < n->n_out; o++) g->values[n->out[o]] = saved[o];
    uint32_t n_now = g->n_syms;
    ir_symbol *from = n_now > n_syms ? malloc(n_now * sizeof *from) : NULL;
    if (from) memcpy(from, g->syms, n_now * sizeof *from);
    g->n_syms = n_syms;
    for (uint32_t o = 0; rc == 0 && o < n->n_out && o < 64; o++) {
        int64_t k = sval[o] ? ir_value_numel(g, n->out[o]) : 0;
        for (int64_t i = 0; i < k && (from || n_now == n_syms); i++)
            sval[o][i] = ir_dim_reintern(g, from, n_syms, sval[o][i]);
        g->values[n->out[o]].sval = from || n_now == n_syms ? sval[o] : NULL;
    }
    free(from);
    free(saved);
    return rc ? -1 : 0;
}

/* %a: T, %b: T = Op(operands) {attrs} @"origin" */
static int parse_node(parser *p, ir_graph *g) {
    const char **names = NULL;
    decl *outs = NULL;
    ir_id *ins = NULL;
    uint32_t n_out = 0, n_in = 0, cap_out = 0, cap_in = 0;
    int rc = -1;
    for (;;) {
        uint32_t line, col;
        const char *name = take_def_name(p, g, &line, &col);
        if (!name) goto out;
        for (uint32_t o = 0; o < n_out; o++)
            if (strcmp(names[o], name) == 0) {
                char nb[256];
                errat(p, line, col, "value '%s' is defined twice", vname(name, nb, sizeof nb));
                goto out;
            }
        if (n_out == cap_out) {
            cap_out = cap_out ? cap_out * 2 : 4;
            const char **nn = realloc(names, cap_out * sizeof *nn);
            if (nn) names = nn;
            decl *no = nn ? realloc(outs, cap_out * sizeof *no) : NULL;
            if (no) outs = no;
            if (!nn || !no || cap_out > 65536) {
                errat(p, line, col, "too many results");
                goto out;
            }
        }
        names[n_out] = name;
        outs[n_out].name_line = line;
        outs[n_out].name_col = col;
        if (expect_punct(p, ':') || parse_type(p, g, &outs[n_out])) goto out;
        n_out++;
        if (!is_punct(p, ',')) break;
        next(p);
    }
    if (expect_punct(p, '=')) goto out;
    token *t = peek(p);
    if (t->kind != T_IDENT) {
        expected(p, "an op name");
        goto out;
    }
    uint32_t op_line = t->line, op_col = t->col;
    ir_op op = ir_op_from_name(p->src + t->start, (int)t->len);
    if (op == IR_OP_NONE) {
        errat(p, op_line, op_col, "unknown op '%.*s'", (int)(t->len > 64 ? 64 : t->len), p->src + t->start);
        goto out;
    }
    const ir_op_info *info = ir_op_get(op);
    next(p);
    if (n_out > info->max_out) {
        errat(p, outs[info->max_out].name_line, outs[info->max_out].name_col, "too many results for %s (at most %u)",
              info->name, info->max_out);
        goto out;
    }
    if (n_out < info->min_out) {
        errat(p, op_line, op_col, "too few results for %s (at least %u)", info->name, info->min_out);
        goto out;
    }
    if (expect_punct(p, '(')) goto out;
    while (!is_punct(p, ')')) {
        t = peek(p);
        uint32_t line = t->line, col = t->col;
        if (info->max_in != IR_VARIADIC && n_in >= info->max_in) {
            errat(p, line, col, "too many operands for %s (at most %u)", info->name, info->max_in);
            goto out;
        }
        ir_id v;
        if (is_ident(p, "_")) {
            if (n_in < info->min_in) {
                errat(p, line, col, "operand %u of %s is required", n_in, info->name);
                goto out;
            }
            v = IR_NONE;
            next(p);
        } else if (t->kind == T_VAL) {
            if (take_use(p, g, &v)) goto out;
        } else {
            expected(p, "an operand (%name or _)");
            goto out;
        }
        if (n_in == cap_in) {
            cap_in = cap_in ? cap_in * 2 : 8;
            ir_id *ni = cap_in <= (1u << 24) ? realloc(ins, cap_in * sizeof *ni) : NULL;
            if (!ni) {
                errat(p, line, col, "too many operands");
                goto out;
            }
            ins = ni;
        }
        ins[n_in++] = v;
        if (!is_punct(p, ',')) break;
        next(p);
    }
    if (!is_punct(p, ')')) {
        expected(p, "',' or ')'");
        goto out;
    }
    t = peek(p);
    if (n_in < info->min_in) {
        errat(p, t->line, t->col, "too few operands for %s (at least %u)", info->name, info->min_in);
        goto out;
    }
    next(p);

    diag tmp;
    diag_init(&tmp);
    ir_id nid = ir_add_node(g, op, ins, n_in, names, n_out, NULL, &tmp);
    if (nid == IR_NONE) {
        errat(p, op_line, op_col, "%s", tmp.msg);
        goto out;
    }
    for (uint32_t o = 0; o < n_out; o++)
        if (ir_set_type(g, g->nodes[nid].out[o], outs[o].t, outs[o].rank, outs[o].dims)) {
            errat(p, op_line, op_col, "out of memory");
            goto out;
        }

    if (is_punct(p, '{')) {
        next(p);
        while (!is_punct(p, '}')) {
            t = peek(p);
            if (t->kind != T_IDENT) {
                expected(p, "an attribute name");
                goto out;
            }
            uint32_t line = t->line, col = t->col;
            char aname[64];
            snprintf(aname, sizeof aname, "%.*s", (int)(t->len > 63 ? 63 : t->len), p->src + t->start);
            int ai = t->len < 63 ? ir_attr_index(op, aname) : -1;
            if (ai < 0) {
                errat(p, line, col, "unknown attribute '%s' for %s", aname, info->name);
                goto out;
            }
            if (g->nodes[nid].attrs[ai].set) {
                errat(p, line, col, "attribute '%s' is given twice", aname);
                goto out;
            }
            next(p);
            if (expect_punct(p, '=') || parse_attr_value(p, g, nid, &info->attrs[ai], info->name)) goto out;
            if (!is_punct(p, ',')) break;
            next(p);
        }
        if (expect_punct(p, '}')) goto out;
    }
    if (is_punct(p, '@')) {
        next(p);
        uint32_t line, col;
        const char *a = take_string(p, "an origin name \"...\"", &line, &col), *file = NULL;
        if (!a) goto out;
        if (is_punct(p, ':')) {
            next(p);
            file = a;
            if (!(a = take_string(p, "an origin name \"...\"", &line, &col))) goto out;
        }
        ir_node *n = &g->nodes[nid];
        n->name = arena_strdup(&g->arena, a);
        if (file) n->file = arena_strdup(&g->arena, file);
        if (!n->name || !n->file) {
            errat(p, line, col, "out of memory");
            goto out;
        }
    }
    rc = check_node(p, g, nid, op_line, op_col, outs);
out:
    free(names);
    free(outs);
    free(ins);
    return rc;
}

/* graph "name" [source "file"] [bin "file"] { statements } */
static ir_graph *parse_graph(parser *p, ir_graph *parent) {
    token *t = peek(p);
    uint32_t line = t->line, col = t->col;
    if (++p->graph_depth > MAX_GRAPH_DEPTH) {
        errat(p, line, col, "graphs are nested more than %d deep", MAX_GRAPH_DEPTH);
        return NULL;
    }
    if (expect_ident(p, "graph")) return NULL;
    const char *name = take_string(p, "a graph name \"...\"", NULL, NULL), *source = NULL;
    if (!name) return NULL;
    if (is_ident(p, "source")) {
        next(p);
        if (!(source = take_string(p, "a source file name \"...\"", NULL, NULL))) return NULL;
    }
    if (is_ident(p, "bin")) {
        t = peek(p);
        uint32_t bl = t->line, bc = t->col;
        next(p);
        uint32_t fl, fc;
        const char *rel = take_string(p, "a sidecar file name \"...\"", &fl, &fc);
        if (!rel) return NULL;
        if (parent) {
            errat(p, bl, bc, "only the outermost graph can name a sidecar");
            return NULL;
        }
        char *path = resolve_path(p, rel);
        diag tmp;
        diag_init(&tmp);
        if (!path) {
            errat(p, fl, fc, "out of memory");
            return NULL;
        }
        if (map_file(path, &p->bin, &p->bin_size, &tmp)) {
            errat(p, fl, fc, "%s", tmp.msg);
            free(path);
            return NULL;
        }
        free(path);
        p->have_bin = true;
        p->bin_name = rel;
    }
    if (expect_punct(p, '{')) return NULL;
    ir_graph *g = ir_graph_new(name, source ? source : parent ? parent->source : NULL);
    if (!g) {
        errat(p, line, col, "out of memory");
        return NULL;
    }
    for (;;) {
        int rc;
        t = peek(p);
        if (t->kind == T_PUNCT && t->ch == '}') {
            next(p);
            break;
        }
        if (is_ident(p, "sym")) rc = parse_sym(p, g);
        else if (is_ident(p, "input")) rc = parse_input(p, g);
        else if (is_ident(p, "const")) rc = parse_const(p, g);
        else if (is_ident(p, "output")) rc = parse_output(p, g);
        else if (t->kind == T_VAL) rc = parse_node(p, g);
        else rc = expected(p, "a statement (sym, input, const, a node, output) or '}'");
        if (rc) {
            ir_graph_free(g);
            return NULL;
        }
    }
    /* the verifier re-infers every node; keep its symbols out of the table */
    uint32_t n_syms = g->n_syms;
    diag tmp;
    diag_init(&tmp);
    int rc = ir_verify(g, &tmp);
    g->n_syms = n_syms;
    if (rc) {
        char *nl = strchr(tmp.msg, '\n');
        if (nl) *nl = 0;
        errat(p, line, col, "graph does not verify: %s", tmp.msg);
        ir_graph_free(g);
        return NULL;
    }
    p->graph_depth--;
    return g;
}

ir_graph *ir_parse(const char *text, size_t len, const char *path, diag *d) {
    parser p;
    memset(&p, 0, sizeof p);
    p.src = text ? text : "";
    p.len = text ? len : 0;
    p.path = path ? path : "<text>";
    p.d = d;
    p.at.line = 1;
    arena_init(&p.scratch);
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash) {
        size_t n = (size_t)(slash - path) + 1;
        p.dir = malloc(n + 1);
        if (!p.dir) {
            diag_error(d, "%s: out of memory", p.path);
            return NULL;
        }
        memcpy(p.dir, path, n);
        p.dir[n] = 0;
    }
    /* the header comment, where present, names the format version */
    static const char magic[] = "# smelt-ir ";
    size_t ml = sizeof magic - 1;
    ir_graph *g = NULL;
    if (p.len >= ml && memcmp(p.src, magic, ml) == 0) {
        size_t e = ml;
        while (e < p.len && p.src[e] != '\n' && p.src[e] != '\r') e++;
        if (e - ml != 1 || p.src[ml] != '0' + IR_TEXT_VERSION) {
            errat(&p, 1, (uint32_t)ml + 1, "unsupported text format version '%.*s' (this build reads %d)",
                  (int)(e - ml > 20 ? 20 : e - ml), p.src + ml, IR_TEXT_VERSION);
            goto done;
        }
    }
    g = parse_graph(&p, NULL);
    if (g && peek(&p)->kind != T_EOF) {
        expected(&p, "end of file");
        ir_graph_free(g);
        g = NULL;
    }
done:
    if (p.have_bin) unmap_file(p.bin, p.bin_size);
    arena_free(&p.scratch);
    free(p.dir);
    return g;
}

ir_graph *ir_parse_file(const char *path, diag *d) {
    const uint8_t *base;
    size_t size;
    if (map_file(path, &base, &size, d)) return NULL;
    ir_graph *g = ir_parse((const char *)base, size, path, d);
    unmap_file(base, size);
    return g;
}
