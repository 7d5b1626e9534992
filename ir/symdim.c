/* symdim.c — symbolic dimensions: named symbols (batch, seq), fresh symbols
 * for data-dependent sizes, and expressions over them (batch*seq, (h+2)/2)
 * that fold when constant and are shared when identical, so equal
 * expressions compare equal by index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

bool ir_dim_eq(ir_dim a, ir_dim b) {
    if (ir_dim_is_const(a) != ir_dim_is_const(b)) return false;
    return ir_dim_is_const(a) ? a.c == b.c : a.sym == b.sym;
}

static ir_dim add_symbol(ir_graph *g, ir_symbol s) {
    if (g->n_syms == g->cap_syms) {
        uint32_t cap = g->cap_syms ? g->cap_syms * 2 : 16;
        ir_symbol *p = realloc(g->syms, cap * sizeof *p);
        if (!p) return ir_dim_const(-1);
        g->syms = p;
        g->cap_syms = cap;
    }
    g->syms[g->n_syms] = s;
    ir_dim x = {0, (int32_t)g->n_syms++};
    return x;
}

ir_dim ir_dim_named(ir_graph *g, const char *name) {
    for (uint32_t i = 0; i < g->n_syms; i++)
        if (g->syms[i].kind == IR_SYM_NAMED && strcmp(g->syms[i].name, name) == 0) {
            ir_dim x = {0, (int32_t)i};
            return x;
        }
    ir_symbol s = {IR_SYM_NAMED, arena_strdup(&g->arena, name), {0, -1}, {0, -1}};
    return add_symbol(g, s);
}

ir_dim ir_dim_fresh(ir_graph *g) {
    char buf[32];
    for (uint32_t k = g->n_syms;; k++) {
        snprintf(buf, sizeof buf, "_d%u", k);
        bool taken = false;
        for (uint32_t i = 0; i < g->n_syms && !taken; i++)
            taken = g->syms[i].kind == IR_SYM_NAMED && strcmp(g->syms[i].name, buf) == 0;
        if (!taken) return ir_dim_named(g, buf);
    }
}

static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static ir_dim intern(ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b);

/* Operands of a chain of k (sums or products), flattened: constants folded
 * into *c, symbolic operands appended to f. */
/* Returns -1 when the chain has more than max terms or its constant part
 * overflows; the caller then keeps the expression as it is. */
static int flatten_chain(const ir_graph *g, ir_sym_kind k, ir_dim x, int64_t *c, ir_dim *f, int *n, int max) {
    if (ir_dim_is_const(x))
        return (k == IR_SYM_ADD ? __builtin_add_overflow(*c, x.c, c) : __builtin_mul_overflow(*c, x.c, c)) ? -1 : 0;
    if (g->syms[x.sym].kind == k) {
        if (flatten_chain(g, k, g->syms[x.sym].a, c, f, n, max)) return -1;
        return flatten_chain(g, k, g->syms[x.sym].b, c, f, n, max);
    }
    if (*n >= max) return -1;
    f[(*n)++] = x;
    return 0;
}

/* A total order on dims that depends only on their structure (not on
 * symbol creation order): constants, then named symbols by name, then
 * expressions by kind and operands. */
static int dim_order(const ir_graph *g, ir_dim a, ir_dim b) {
    if (ir_dim_is_const(a) || ir_dim_is_const(b)) {
        if (ir_dim_is_const(a) && ir_dim_is_const(b)) return a.c < b.c ? -1 : a.c > b.c;
        return ir_dim_is_const(a) ? -1 : 1;
    }
    if (a.sym == b.sym) return 0;
    const ir_symbol *x = &g->syms[a.sym], *y = &g->syms[b.sym];
    if (x->kind != y->kind) return x->kind == IR_SYM_NAMED ? -1 : y->kind == IR_SYM_NAMED ? 1 : (int)x->kind - (int)y->kind;
    if (x->kind == IR_SYM_NAMED) return strcmp(x->name, y->name);
    int c = dim_order(g, x->a, y->a);
    return c ? c : dim_order(g, x->b, y->b);
}

/* a+b or a*b in one canonical form: symbolic operands sorted structurally
 * in a left-deep chain, the constant last, so that equal sums and products
 * are the same symbol whatever order they were built in. */
static ir_dim canonical_chain(ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b) {
    ir_dim f[64];
    int n = 0;
    int64_t c = k == IR_SYM_ADD ? 0 : 1;
    if (flatten_chain(g, k, a, &c, f, &n, 64) || flatten_chain(g, k, b, &c, f, &n, 64)) return intern(g, k, a, b);
    for (int i = 1; i < n; i++) /* insertion sort, structural order */
        for (int j = i; j > 0 && dim_order(g, f[j - 1], f[j]) > 0; j--) {
            ir_dim t = f[j];
            f[j] = f[j - 1];
            f[j - 1] = t;
        }
    if (k == IR_SYM_MUL && c == 0) return ir_dim_const(0);
    if (n == 0) return ir_dim_const(c);
    ir_dim acc = f[0];
    for (int i = 1; i < n; i++) acc = intern(g, k, acc, f[i]);
    if (c != (k == IR_SYM_ADD ? 0 : 1)) acc = intern(g, k, acc, ir_dim_const(c));
    return acc;
}

/* min(a, b) or max(a, b) (k) that reduces to one operand or to a simpler
 * expression, in *r: equal operands; a constant <= 0 against a symbol (sizes
 * are never negative); absorption, max(a, min(a, b)) = a and
 * min(a, max(a, b)) = a; and min(a, min(a, b)) = min(a, b) (so for max).
 * BERT's position table sliced to min(seq,512) and added to a [batch,seq]
 * tensor broadcasts to seq through these. */
static bool min_max_absorbs(const ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b, ir_dim *r) {
    if (ir_dim_eq(a, b)) return *r = a, true;
    for (int side = 0; side < 2; side++) {
        ir_dim x = side ? b : a, y = side ? a : b; /* x: the operand tested, y: the other */
        if (ir_dim_is_const(x) && x.c <= 0 && !ir_dim_is_const(y)) return *r = k == IR_SYM_MIN ? x : y, true;
        if (ir_dim_is_const(x)) continue;
        const ir_symbol *s = &g->syms[x.sym];
        if ((s->kind != IR_SYM_MIN && s->kind != IR_SYM_MAX) || !(ir_dim_eq(s->a, y) || ir_dim_eq(s->b, y))) continue;
        *r = s->kind == k ? x : y;
        return true;
    }
    return false;
}

ir_dim ir_dim_expr(ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b) {
    if (ir_dim_is_const(a) && ir_dim_is_const(b)) {
        /* An overflow or a division by zero gives IR_DIM_INVALID, a negative
         * size that inference reports (infer_set) instead of using. */
        int64_t x = a.c, y = b.c, r;
        switch (k) {
        case IR_SYM_ADD: return __builtin_add_overflow(x, y, &r) ? IR_DIM_INVALID : ir_dim_const(r);
        case IR_SYM_SUB: return __builtin_sub_overflow(x, y, &r) ? IR_DIM_INVALID : ir_dim_const(r);
        case IR_SYM_MUL: return __builtin_mul_overflow(x, y, &r) ? IR_DIM_INVALID : ir_dim_const(r);
        case IR_SYM_DIV: return y && x != INT64_MIN ? ir_dim_const(floordiv(x, y)) : IR_DIM_INVALID;
        case IR_SYM_CDIV: return y && x != INT64_MIN ? ir_dim_const(-floordiv(-x, y)) : IR_DIM_INVALID;
        case IR_SYM_MOD: return y && x != INT64_MIN ? ir_dim_const(x - floordiv(x, y) * y) : IR_DIM_INVALID;
        case IR_SYM_MIN: return ir_dim_const(x < y ? x : y);
        case IR_SYM_MAX: return ir_dim_const(x > y ? x : y);
        case IR_SYM_NAMED: break;
        }
        return IR_DIM_INVALID;
    }
    /* identities */
    bool bc = ir_dim_is_const(b), ac = ir_dim_is_const(a);
    if ((k == IR_SYM_ADD || k == IR_SYM_SUB) && bc && b.c == 0) return a;
    if (k == IR_SYM_ADD && ac && a.c == 0) return b;
    if ((k == IR_SYM_MUL || k == IR_SYM_DIV || k == IR_SYM_CDIV) && bc && b.c == 1) return a;
    if (k == IR_SYM_MUL && ac && a.c == 1) return b;
    if (k == IR_SYM_SUB && ir_dim_eq(a, b)) return ir_dim_const(0);
    if (k == IR_SYM_MIN || k == IR_SYM_MAX) {
        ir_dim r;
        if (min_max_absorbs(g, k, a, b, &r)) return r;
    }
    if (k == IR_SYM_ADD || k == IR_SYM_MUL) return canonical_chain(g, k, a, b);
    /* commutative ops keep the constant second */
    if ((k == IR_SYM_MIN || k == IR_SYM_MAX) && dim_order(g, a, b) < 0) {
        ir_dim t = a;
        a = b;
        b = t;
    }
    return intern(g, k, a, b);
}

ir_dim ir_dim_reintern(ir_graph *g, const ir_symbol *from, uint32_t keep, ir_dim x) {
    if (ir_dim_is_const(x) || (uint32_t)x.sym < keep) return x;
    const ir_symbol *s = &from[x.sym];
    if (s->kind == IR_SYM_NAMED) return ir_dim_named(g, s->name);
    return ir_dim_expr(g, s->kind, ir_dim_reintern(g, from, keep, s->a), ir_dim_reintern(g, from, keep, s->b));
}

/* The symbol for `a k b`, reusing an identical one. */
static ir_dim intern(ir_graph *g, ir_sym_kind k, ir_dim a, ir_dim b) {
    for (uint32_t i = 0; i < g->n_syms; i++) {
        const ir_symbol *s = &g->syms[i];
        if (s->kind == k && ir_dim_eq(s->a, a) && ir_dim_eq(s->b, b)) {
            ir_dim x = {0, (int32_t)i};
            return x;
        }
    }
    ir_symbol s = {k, NULL, a, b};
    return add_symbol(g, s);
}

static int fmt_append(char *buf, size_t size, size_t *len, const char *fmt, const char *s, long long v) {
    size_t room = *len < size ? size - *len : 0;
    int n = s ? snprintf(buf + *len, room, fmt, s) : snprintf(buf + *len, room, fmt, v);
    if (n > 0) *len += (size_t)n;
    return n;
}

static void format_dim(const ir_graph *g, ir_dim x, char *buf, size_t size, size_t *len) {
    if (ir_dim_is_const(x)) {
        fmt_append(buf, size, len, "%lld", NULL, (long long)x.c);
        return;
    }
    const ir_symbol *s = &g->syms[x.sym];
    static const char *infix[] = {[IR_SYM_ADD] = "+", [IR_SYM_SUB] = "-", [IR_SYM_MUL] = "*",
                                  [IR_SYM_DIV] = "/", [IR_SYM_MOD] = "%"};
    switch (s->kind) {
    case IR_SYM_NAMED:
        fmt_append(buf, size, len, "%s", s->name, 0);
        return;
    case IR_SYM_CDIV:
    case IR_SYM_MIN:
    case IR_SYM_MAX:
        fmt_append(buf, size, len, "%s(", s->kind == IR_SYM_CDIV ? "cdiv" : s->kind == IR_SYM_MIN ? "min" : "max", 0);
        format_dim(g, s->a, buf, size, len);
        fmt_append(buf, size, len, "%s", ",", 0);
        format_dim(g, s->b, buf, size, len);
        fmt_append(buf, size, len, "%s", ")", 0);
        return;
    default:
        fmt_append(buf, size, len, "%s", "(", 0);
        format_dim(g, s->a, buf, size, len);
        fmt_append(buf, size, len, "%s", infix[s->kind], 0);
        format_dim(g, s->b, buf, size, len);
        fmt_append(buf, size, len, "%s", ")", 0);
    }
}

int ir_dim_format(const ir_graph *g, ir_dim x, char *buf, size_t size) {
    size_t len = 0;
    if (size) buf[0] = 0;
    format_dim(g, x, buf, size, &len);
    return (int)len;
}

int ir_type_format(const ir_graph *g, ir_dtype t, int rank, const ir_dim *dims, char *buf, size_t size) {
    size_t len = 0;
    if (size) buf[0] = 0;
    fmt_append(buf, size, &len, "%s[", ir_dtype_name(t), 0);
    if (rank < 0) fmt_append(buf, size, &len, "%s", "?", 0);
    for (int i = 0; i < rank; i++) {
        if (i) fmt_append(buf, size, &len, "%s", ",", 0);
        format_dim(g, dims[i], buf, size, &len);
    }
    fmt_append(buf, size, &len, "%s", "]", 0);
    return (int)len;
}

int64_t ir_dim_eval(const ir_graph *g, ir_dim x, int64_t *vals) {
    if (ir_dim_is_const(x)) return x.c;
    int64_t *v = &vals[x.sym];
    if (*v >= 0) return *v;
    const ir_symbol *s = &g->syms[x.sym];
    if (s->kind == IR_SYM_NAMED) return -1;
    int64_t a = ir_dim_eval(g, s->a, vals), b = ir_dim_eval(g, s->b, vals);
    if (a < 0 || b < 0) return -1;
    ir_dim r = ir_dim_expr((ir_graph *)g, s->kind, ir_dim_const(a), ir_dim_const(b));
    *v = r.c >= 0 ? r.c : -1;
    return *v;
}
