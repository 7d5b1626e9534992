/* print.c — writes a graph as text (the format is described in text.h).
 *
 * The text is built in memory, then written in one go. Everything printed is
 * a function of the graph alone (plus the options), so the same graph gives
 * the same bytes: symbols print by structure, floats as the shortest decimal
 * that reads back to the same bits, sidecar offsets in print order.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text.h"

/* ---- a growable string ----------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static bool sb_reserve(sbuf *b, size_t extra) {
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (!sb_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_putc(sbuf *b, char c) { sb_putn(b, &c, 1); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        sb_putn(b, tmp, (size_t)n);
        return;
    }
    if (!sb_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_indent(sbuf *b, int level) {
    for (int i = 0; i < level; i++) sb_puts(b, "  ");
}

/* ---- names and strings ----------------------------------------------------- */

static void put_quoted(sbuf *b, const char *s) {
    sb_putc(b, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\r': sb_puts(b, "\\r"); break;
        default:
            if (*c < 0x20 || *c >= 0x7f) sb_printf(b, "\\x%02x", *c);
            else sb_putc(b, (char)*c);
        }
    }
    sb_putc(b, '"');
}

static bool plain_value_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static bool plain_symbol_name(const char *s) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
    for (s++; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

static void put_value_name(sbuf *b, const char *name) {
    sb_putc(b, '%');
    if (name && plain_value_name(name)) sb_puts(b, name);
    else put_quoted(b, name ? name : "");
}

int ir_format_value_name(const char *name, char *buf, size_t size) {
    sbuf b = {0};
    put_value_name(&b, name);
    int n = b.oom ? 0 : (int)b.len;
    if (size) {
        size_t k = b.oom ? 0 : (b.len < size - 1 ? b.len : size - 1);
        if (k) memcpy(buf, b.p, k);
        buf[k] = 0;
    }
    free(b.p);
    return n;
}

static void put_value_ref(sbuf *b, const ir_graph *g, ir_id v) {
    if (v == IR_NONE) sb_putc(b, '_');
    else if (v >= g->n_values) sb_puts(b, "%\"<invalid>\"");
    else put_value_name(b, g->values[v].name);
}

/* ---- dimensions and types (the spelling of ir_dim_format) ------------------ */

static void put_dim(sbuf *b, const ir_graph *g, ir_dim x, int depth) {
    if (ir_dim_is_const(x)) {
        sb_printf(b, "%lld", (long long)x.c);
        return;
    }
    if ((uint32_t)x.sym >= g->n_syms || depth > 10000) {
        sb_putc(b, '?');
        return;
    }
    const ir_symbol *s = &g->syms[x.sym];
    switch (s->kind) {
    case IR_SYM_NAMED:
        if (s->name && plain_symbol_name(s->name)) sb_puts(b, s->name);
        else put_quoted(b, s->name ? s->name : "");
        return;
    case IR_SYM_CDIV:
    case IR_SYM_MIN:
    case IR_SYM_MAX:
        sb_puts(b, s->kind == IR_SYM_CDIV ? "cdiv(" : s->kind == IR_SYM_MIN ? "min(" : "max(");
        put_dim(b, g, s->a, depth + 1);
        sb_putc(b, ',');
        put_dim(b, g, s->b, depth + 1);
        sb_putc(b, ')');
        return;
    case IR_SYM_ADD:
    case IR_SYM_SUB:
    case IR_SYM_MUL:
    case IR_SYM_DIV:
    case IR_SYM_MOD: {
        static const char ops[] = {[IR_SYM_ADD] = '+', [IR_SYM_SUB] = '-', [IR_SYM_MUL] = '*',
                                   [IR_SYM_DIV] = '/', [IR_SYM_MOD] = '%'};
        sb_putc(b, '(');
        put_dim(b, g, s->a, depth + 1);
        sb_putc(b, ops[s->kind]);
        put_dim(b, g, s->b, depth + 1);
        sb_putc(b, ')');
        return;
    }
    }
    sb_putc(b, '?');
}

static void put_type(sbuf *b, const ir_graph *g, const ir_value *v) {
    sb_puts(b, ir_dtype_name(v->dtype));
    sb_putc(b, '[');
    if (v->rank < 0 || (v->rank > 0 && !v->dims)) sb_putc(b, '?');
    for (int i = 0; i < v->rank && v->dims; i++) {
        if (i) sb_putc(b, ',');
        put_dim(b, g, v->dims[i], 0);
    }
    sb_putc(b, ']');
}

/* ---- numbers ------------------------------------------------------------- */

/* The shortest %g text that reads back to the same float. */
static void put_f32(sbuf *b, float f) {
    if (isnan(f) || isinf(f)) {
        sb_puts(b, isnan(f) ? "nan" : f > 0 ? "inf" : "-inf");
        return;
    }
    char buf[48];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    sb_puts(b, buf);
}

static void put_f64(sbuf *b, double f) {
    if (isnan(f) || isinf(f)) {
        sb_puts(b, isnan(f) ? "nan" : f > 0 ? "inf" : "-inf");
        return;
    }
    char buf[48];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, f);
        if (strtod(buf, NULL) == f) break;
    }
    sb_puts(b, buf);
}

/* ---- paths ----------------------------------------------------------------- */

/* An absolute, lexically normalized copy of path (no symlinks resolved, so
 * a model in a cache of symlinks keeps its name). malloc'd; NULL on error. */
static char *abs_normalize(const char *path) {
    size_t plen = strlen(path);
    char *full;
    if (path[0] == '/') {
        full = malloc(plen + 1);
        if (!full) return NULL;
        memcpy(full, path, plen + 1);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        size_t clen = strlen(cwd);
        full = malloc(clen + 1 + plen + 1);
        if (!full) return NULL;
        memcpy(full, cwd, clen);
        full[clen] = '/';
        memcpy(full + clen + 1, path, plen + 1);
    }
    /* rebuild component by component in place */
    size_t n = strlen(full), w = 0;
    char *out = malloc(n + 2);
    if (!out) {
        free(full);
        return NULL;
    }
    size_t i = 0;
    while (i < n) {
        while (i < n && full[i] == '/') i++;
        size_t s = i;
        while (i < n && full[i] != '/') i++;
        size_t len = i - s;
        if (len == 0 || (len == 1 && full[s] == '.')) continue;
        if (len == 2 && full[s] == '.' && full[s + 1] == '.') {
            while (w > 0 && out[w - 1] != '/') w--;
            if (w > 0) w--; /* drop the '/' too */
            continue;
        }
        out[w++] = '/';
        memcpy(out + w, full + s, len);
        w += len;
    }
    if (w == 0) out[w++] = '/';
    out[w] = 0;
    free(full);
    return out;
}

/* target relative to directory dir (both absolute and normalized), or NULL
 * when they share nothing but the root. */
static char *relative_path(const char *target, const char *dir) {
    const char *d = dir, *t = target;
    while (*d == '/') d++;
    while (*t == '/') t++;
    while (*d) { /* drop the common leading directories */
        size_t dl = strcspn(d, "/"), tl = strcspn(t, "/");
        if (dl != tl || memcmp(d, t, dl) != 0 || t[tl] != '/') break;
        d += dl;
        t += tl;
        while (*d == '/') d++;
        while (*t == '/') t++;
    }
    if (d == dir + 1 && dir[1]) return NULL; /* nothing in common but the root */
    size_t ups = 0;
    while (*d) {
        ups++;
        d += strcspn(d, "/");
        while (*d == '/') d++;
    }
    size_t tlen = strlen(t);
    char *out = malloc(ups * 3 + tlen + 1);
    if (!out) return NULL;
    for (size_t k = 0; k < ups; k++) memcpy(out + 3 * k, "../", 3);
    memcpy(out + 3 * ups, t, tlen + 1);
    return out;
}

/* ---- the printer ------------------------------------------------------------- */

typedef struct printer {
    sbuf out;
    uint64_t inline_limit;
    bool elide;
    char *out_dir;        /* absolute dir of opts->out_path, or NULL */
    FILE *sidecar;
    uint64_t sidecar_off; /* bytes written to the sidecar so far */
    diag *d;
    int rc;
} printer;

typedef enum cform { C_INLINE, C_HEX, C_FILE, C_BIN, C_ELIDE } cform;

static bool inline_dtype(ir_dtype t) {
    switch (t) {
    case IR_F32: case IR_F64: case IR_I8: case IR_I16: case IR_I32: case IR_I64:
    case IR_U8: case IR_U16: case IR_U32: case IR_U64: case IR_BOOL:
        return true;
    default:
        return false;
    }
}

static size_t elem_size(ir_dtype t) { return ir_dtype_get(t)->block_bytes; }

/* Whether the literal list reads back to the same bytes: bools are 0 or 1,
 * NaNs are the one NaN that `nan` reads as. */
static bool inline_exact(const ir_value *v, uint64_t n) {
    const uint8_t *p = v->data;
    for (uint64_t i = 0; i < n; i++) {
        if (v->dtype == IR_BOOL && p[i] > 1) return false;
        if (v->dtype == IR_F32) {
            uint32_t bits;
            memcpy(&bits, p + 4 * i, 4);
            if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu) && bits != 0x7fc00000u) return false;
        }
        if (v->dtype == IR_F64) {
            uint64_t bits;
            memcpy(&bits, p + 8 * i, 8);
            if ((bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (bits & 0xfffffffffffffull) &&
                bits != 0x7ff8000000000000ull)
                return false;
        }
    }
    return true;
}

/* The mapping that holds all of v's bytes, or -1. */
static int const_mapping(const ir_graph *g, const ir_value *v) {
    if (v->mapping < 0 || (uint32_t)v->mapping >= g->n_maps || !v->data) return -1;
    const ir_mapping *m = &g->maps[v->mapping];
    const uint8_t *p = v->data;
    if (!m->base || p < m->base || (size_t)(p - m->base) > m->size || v->nbytes > m->size - (size_t)(p - m->base))
        return -1;
    return v->mapping;
}

static cform const_form(const printer *pr, const ir_graph *g, ir_id id) {
    const ir_value *v = &g->values[id];
    if (v->nbytes <= pr->inline_limit) {
        int64_t numel = ir_value_numel(g, id);
        if (inline_dtype(v->dtype) && numel >= 0 && (v->data || v->nbytes == 0) &&
            (uint64_t)numel * elem_size(v->dtype) == v->nbytes && inline_exact(v, (uint64_t)numel))
            return C_INLINE;
        return C_HEX;
    }
    if (const_mapping(g, v) >= 0) return C_FILE;
    if (!v->data) return C_HEX; /* a broken constant: printed empty, refused by the parser */
    if (pr->elide) return C_ELIDE;
    return pr->sidecar ? C_BIN : C_HEX;
}

static bool uses_sidecar(const printer *pr, const ir_graph *g) {
    for (uint32_t i = 0; i < g->n_values; i++)
        if (g->values[i].kind == IR_VALUE_CONST && const_form(pr, g, i) == C_BIN) return true;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        const ir_op_info *info = ir_op_get(n->op);
        if (n->dead || !n->attrs) continue;
        for (uint16_t a = 0; a < info->n_attrs; a++)
            if (info->attrs[a].kind == IR_AK_GRAPH && n->attrs[a].set && n->attrs[a].v.graph &&
                uses_sidecar(pr, n->attrs[a].v.graph))
                return true;
    }
    return false;
}

static void put_inline(sbuf *b, const ir_graph *g, ir_id id) {
    const ir_value *v = &g->values[id];
    uint64_t n = (uint64_t)ir_value_numel(g, id);
    const uint8_t *p = v->data;
    sb_putc(b, '[');
    for (uint64_t i = 0; i < n; i++) {
        if (i) sb_puts(b, ", ");
        switch (v->dtype) {
        case IR_F32: { float x; memcpy(&x, p + 4 * i, 4); put_f32(b, x); break; }
        case IR_F64: { double x; memcpy(&x, p + 8 * i, 8); put_f64(b, x); break; }
        case IR_I8: { int8_t x; memcpy(&x, p + i, 1); sb_printf(b, "%d", x); break; }
        case IR_I16: { int16_t x; memcpy(&x, p + 2 * i, 2); sb_printf(b, "%d", x); break; }
        case IR_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); sb_printf(b, "%ld", (long)x); break; }
        case IR_I64: { int64_t x; memcpy(&x, p + 8 * i, 8); sb_printf(b, "%lld", (long long)x); break; }
        case IR_U8: case IR_BOOL: sb_printf(b, "%u", p[i]); break;
        case IR_U16: { uint16_t x; memcpy(&x, p + 2 * i, 2); sb_printf(b, "%u", x); break; }
        case IR_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); sb_printf(b, "%lu", (unsigned long)x); break; }
        case IR_U64: { uint64_t x; memcpy(&x, p + 8 * i, 8); sb_printf(b, "%llu", (unsigned long long)x); break; }
        default: break;
        }
    }
    sb_putc(b, ']');
}

static void put_hex(sbuf *b, const void *data, uint64_t n) {
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    sb_puts(b, "hex \"");
    if (n > SIZE_MAX / 2 || !sb_reserve(b, (size_t)n * 2)) return;
    for (uint64_t i = 0; i < n && p; i++) {
        b->p[b->len++] = digits[p[i] >> 4];
        b->p[b->len++] = digits[p[i] & 15];
    }
    b->p[b->len] = 0;
    sb_putc(b, '"');
}

static void put_file_ref(printer *pr, const ir_graph *g, const ir_value *v) {
    const ir_mapping *m = &g->maps[v->mapping];
    const char *path = m->path ? m->path : "";
    char *rel = NULL;
    if (pr->out_dir) {
        char *abs = abs_normalize(path);
        if (abs) rel = relative_path(abs, pr->out_dir);
        if (abs && !rel) rel = abs; /* far apart: the absolute path */
        else free(abs);
    }
    sb_puts(&pr->out, "file ");
    put_quoted(&pr->out, rel ? rel : path);
    free(rel);
    sb_printf(&pr->out, " offset %llu bytes %llu", (unsigned long long)((const uint8_t *)v->data - m->base),
              (unsigned long long)v->nbytes);
}

static void put_bin_ref(printer *pr, const ir_value *v) {
    static const uint8_t zeros[64];
    uint64_t off = (pr->sidecar_off + 63) & ~(uint64_t)63;
    size_t pad = (size_t)(off - pr->sidecar_off);
    if (pr->rc == 0 && ((pad && fwrite(zeros, 1, pad, pr->sidecar) != pad) ||
                        (v->nbytes && fwrite(v->data, 1, (size_t)v->nbytes, pr->sidecar) != v->nbytes)))
        pr->rc = diag_error(pr->d, "writing the sidecar of constant '%s' failed", v->name);
    pr->sidecar_off = off + v->nbytes;
    sb_printf(&pr->out, "bin offset %llu bytes %llu", (unsigned long long)off, (unsigned long long)v->nbytes);
}

static void print_const(printer *pr, const ir_graph *g, ir_id id) {
    const ir_value *v = &g->values[id];
    switch (const_form(pr, g, id)) {
    case C_INLINE: put_inline(&pr->out, g, id); break;
    case C_HEX: put_hex(&pr->out, v->data, v->data ? v->nbytes : 0); break;
    case C_FILE: put_file_ref(pr, g, v); break;
    case C_BIN: put_bin_ref(pr, v); break;
    case C_ELIDE: sb_printf(&pr->out, "elided bytes %llu", (unsigned long long)v->nbytes); break;
    }
}

static void print_graph(printer *pr, ir_graph *g, const ir_graph *parent, int level, const char *bin_name);

static void print_attr_value(printer *pr, const ir_attr_schema *s, const ir_attr *a, ir_graph *g, int level) {
    sbuf *b = &pr->out;
    switch (s->kind) {
    case IR_AK_INT: sb_printf(b, "%lld", (long long)a->v.i); break;
    case IR_AK_FLOAT: put_f32(b, a->v.f); break;
    case IR_AK_STR: put_quoted(b, a->v.s ? a->v.s : ""); break;
    case IR_AK_DTYPE: sb_puts(b, ir_dtype_name((ir_dtype)a->v.i)); break;
    case IR_AK_INTS:
    case IR_AK_FLOATS:
    case IR_AK_STRS:
        sb_putc(b, '[');
        for (uint32_t i = 0; i < a->count && a->v.ints; i++) {
            if (i) sb_putc(b, ',');
            if (s->kind == IR_AK_INTS) sb_printf(b, "%lld", (long long)a->v.ints[i]);
            else if (s->kind == IR_AK_FLOATS) put_f32(b, a->v.floats[i]);
            else put_quoted(b, a->v.strs[i] ? a->v.strs[i] : "");
        }
        sb_putc(b, ']');
        break;
    case IR_AK_GRAPH:
        if (a->v.graph) print_graph(pr, a->v.graph, g, level, NULL);
        else sb_puts(b, "graph \"\" {}");
        break;
    }
}

static void print_node(printer *pr, ir_graph *g, const ir_node *n, int level) {
    sbuf *b = &pr->out;
    const ir_op_info *info = ir_op_get(n->op);
    sb_indent(b, level);
    for (uint32_t o = 0; o < n->n_out; o++) {
        if (o) sb_puts(b, ", ");
        ir_id v = n->out[o];
        put_value_ref(b, g, v);
        if (v < g->n_values) {
            sb_puts(b, ": ");
            put_type(b, g, &g->values[v]);
        }
    }
    sb_printf(b, " = %s(", info->name);
    for (uint32_t i = 0; i < n->n_in; i++) {
        if (i) sb_puts(b, ", ");
        put_value_ref(b, g, n->in[i]);
    }
    sb_putc(b, ')');
    bool open = false;
    for (uint16_t a = 0; a < info->n_attrs && n->attrs; a++) {
        if (!n->attrs[a].set) continue;
        sb_puts(b, open ? ", " : " {");
        open = true;
        sb_printf(b, "%s=", info->attrs[a].name);
        print_attr_value(pr, &info->attrs[a], &n->attrs[a], g, level);
    }
    if (open) sb_putc(b, '}');
    if (n->name && *n->name) {
        sb_puts(b, " @");
        if (n->file && strcmp(n->file, g->source ? g->source : "") != 0) {
            put_quoted(b, n->file);
            sb_putc(b, ':');
        }
        put_quoted(b, n->name);
    }
    sb_putc(b, '\n');
}

/* Prints `graph "name" ... {` (the caller has indented), the body one level
 * deeper, and the closing brace at `level` (no newline after it). */
static void print_graph(printer *pr, ir_graph *g, const ir_graph *parent, int level, const char *bin_name) {
    sbuf *b = &pr->out;
    const char *src = g->source ? g->source : "";
    sb_puts(b, "graph ");
    put_quoted(b, g->name ? g->name : "");
    if (*src && (!parent || strcmp(parent->source ? parent->source : "", src) != 0)) {
        sb_puts(b, " source ");
        put_quoted(b, src);
    }
    if (bin_name) {
        sb_puts(b, " bin ");
        put_quoted(b, bin_name);
    }
    sb_puts(b, " {\n");
    int in = level + 1;

    bool any = false;
    for (uint32_t i = 0; i < g->n_syms; i++) {
        const ir_symbol *s = &g->syms[i];
        if (s->kind != IR_SYM_NAMED) continue;
        if (!any) sb_indent(b, in);
        sb_puts(b, any ? ", " : "sym ");
        any = true;
        if (s->name && plain_symbol_name(s->name)) sb_puts(b, s->name);
        else put_quoted(b, s->name ? s->name : "");
    }
    if (any) sb_putc(b, '\n');

    for (uint32_t i = 0; i < g->n_inputs; i++) {
        ir_id v = g->inputs[i];
        sb_indent(b, in);
        sb_puts(b, "input ");
        put_value_ref(b, g, v);
        if (v < g->n_values) {
            sb_puts(b, ": ");
            put_type(b, g, &g->values[v]);
        }
        sb_putc(b, '\n');
    }
    for (uint32_t i = 0; i < g->n_values; i++) {
        if (g->values[i].kind != IR_VALUE_CONST) continue;
        sb_indent(b, in);
        sb_puts(b, "const ");
        put_value_name(b, g->values[i].name);
        sb_puts(b, ": ");
        put_type(b, g, &g->values[i]);
        sb_puts(b, " = ");
        print_const(pr, g, i);
        sb_putc(b, '\n');
    }
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) print_node(pr, g, &g->nodes[i], in);
    for (uint32_t i = 0; i < g->n_outputs; i++) {
        sb_indent(b, in);
        sb_puts(b, "output ");
        put_value_ref(b, g, g->outputs[i]);
        sb_putc(b, '\n');
    }
    sb_indent(b, level);
    sb_putc(b, '}');
}

char *ir_print_to_string(ir_graph *g, const ir_print_opts *opts, diag *d) {
    printer pr = {0};
    pr.d = d;
    pr.inline_limit = opts && opts->inline_limit ? opts->inline_limit : IR_TEXT_INLINE_LIMIT;
    pr.elide = opts && opts->elide_data;
    if (opts && opts->sidecar) {
        if (!opts->sidecar_name || !*opts->sidecar_name) {
            diag_error(d, "%s: printing with a sidecar file needs its name", g->source);
            return NULL;
        }
        pr.sidecar = opts->sidecar;
    }
    if (opts && opts->out_path) {
        const char *slash = strrchr(opts->out_path, '/');
        char *dir;
        if (!slash) {
            dir = abs_normalize(".");
        } else {
            size_t n = (size_t)(slash - opts->out_path);
            char *tmp = malloc(n + 2);
            if (tmp) {
                memcpy(tmp, opts->out_path, n);
                tmp[n] = 0;
                if (n == 0) strcpy(tmp, "/");
            }
            dir = tmp ? abs_normalize(tmp) : NULL;
            free(tmp);
        }
        pr.out_dir = dir; /* NULL: paths as stored */
    }
    sb_printf(&pr.out, "# smelt-ir %d\n", IR_TEXT_VERSION);
    print_graph(&pr, g, NULL, 0, pr.sidecar && uses_sidecar(&pr, g) ? opts->sidecar_name : NULL);
    sb_putc(&pr.out, '\n');
    free(pr.out_dir);
    if (pr.out.oom) {
        if (pr.rc == 0) diag_error(d, "%s: out of memory printing the graph", g->source);
        free(pr.out.p);
        return NULL;
    }
    if (pr.rc) {
        free(pr.out.p);
        return NULL;
    }
    return pr.out.p;
}

int ir_print(ir_graph *g, FILE *out, const ir_print_opts *opts, diag *d) {
    char *text = ir_print_to_string(g, opts, d);
    if (!text) return -1;
    size_t n = strlen(text);
    int rc = fwrite(text, 1, n, out) == n ? 0 : diag_error(d, "%s: writing the graph text failed", g->source);
    free(text);
    return rc;
}
