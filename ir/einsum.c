/* einsum.c — parsing an Einsum equation into per-axis labels, output labels,
 * summed labels and label sizes (see einsum.h). */
#include "einsum.h"

#include <ctype.h>
#include <string.h>

static int letter_label(char c) { return c >= 'a' && c <= 'z' ? c - 'a' : c >= 'A' && c <= 'Z' ? 26 + c - 'A' : -1; }

/* ASCII order of a letter label, for the implicit output (numpy sorts by character). */
static int label_char(int l) { return l < 26 ? 'a' + l : 'A' + l - 26; }

/* One term of the equation (between commas or after "->"): its letters and
 * where its ellipsis is (-1 if none). */
typedef struct term {
    int letters[IR_MAX_RANK + 1];
    int n_letters;
    int ell_at; /* number of letters before the ellipsis */
} term;

static int parse_term(const ir_graph *g, const ir_node *n, const char *s, size_t len, term *t, diag *d) {
    t->n_letters = 0;
    t->ell_at = -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (t->ell_at >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
                return ir_node_error(g, n, d, "equation: malformed or repeated ellipsis");
            t->ell_at = t->n_letters;
            i += 2;
            continue;
        }
        int l = letter_label(s[i]);
        if (l < 0) return ir_node_error(g, n, d, "equation: unexpected character '%c'", s[i]);
        if (t->n_letters >= IR_MAX_RANK) return ir_node_error(g, n, d, "equation: too many subscripts in one term");
        t->letters[t->n_letters++] = l;
    }
    return 0;
}

/* Combine the size seen for a label with another occurrence (1 broadcasts). */
static int merge_size(ir_graph *g, const ir_node *n, ir_einsum *e, int l, ir_dim s, diag *d) {
    if (!e->used[l]) {
        e->used[l] = true;
        e->size[l] = s;
        return 0;
    }
    ir_dim o = e->size[l];
    if (ir_dim_eq(o, s) || (ir_dim_is_const(s) && s.c == 1)) return 0;
    if ((ir_dim_is_const(o) && o.c == 1) || (!ir_dim_is_const(o) && ir_dim_is_const(s))) {
        e->size[l] = s;
        return 0;
    }
    if (!ir_dim_is_const(o) || !ir_dim_is_const(s)) return 0; /* symbols: must agree at run time */
    if (l >= EINSUM_ELL) return ir_node_error(g, n, d, "equation: ellipsis dims %lld and %lld do not broadcast", (long long)o.c, (long long)s.c);
    return ir_node_error(g, n, d, "equation: subscript '%c' has sizes %lld and %lld", label_char(l), (long long)o.c,
                         (long long)s.c);
}

/* Labels of operand i's axes from its term; ell: max ellipsis rank. */
static int label_operand(ir_graph *g, const ir_node *n, ir_einsum *e, int i, const term *t, int ell, diag *d) {
    const ir_value *v = &g->values[n->in[i]];
    int own_ell = t->ell_at >= 0 ? v->rank - t->n_letters : 0;
    int r = 0;
    for (int j = 0; j <= t->n_letters; j++) {
        if (j == t->ell_at)
            for (int a = 0; a < own_ell; a++) e->label[i][r++] = (uint8_t)(EINSUM_ELL + ell - own_ell + a);
        if (j < t->n_letters) e->label[i][r++] = (uint8_t)t->letters[j];
    }
    e->rank[i] = r;
    for (int a = 0; a < r; a++)
        if (merge_size(g, n, e, e->label[i][a], v->dims[a], d)) return -1;
    return 0;
}

static bool in_output(const ir_einsum *e, int l) {
    for (int j = 0; j < e->out_rank; j++)
        if (e->out[j] == l) return true;
    return false;
}

static int explicit_output(const ir_graph *g, const ir_node *n, ir_einsum *e, const term *t, int ell, diag *d) {
    e->out_rank = 0;
    for (int j = 0; j <= t->n_letters; j++) {
        if (j == t->ell_at) {
            if (e->out_rank + ell > IR_MAX_RANK) return ir_node_error(g, n, d, "equation: output has too many axes");
            for (int a = 0; a < ell; a++) e->out[e->out_rank++] = (uint8_t)(EINSUM_ELL + a);
        }
        if (j == t->n_letters) break;
        int l = t->letters[j];
        if (!e->used[l]) return ir_node_error(g, n, d, "equation: output subscript '%c' is not in the inputs", label_char(l));
        if (in_output(e, l)) return ir_node_error(g, n, d, "equation: output subscript '%c' is repeated", label_char(l));
        if (e->out_rank >= IR_MAX_RANK) return ir_node_error(g, n, d, "equation: output has too many axes");
        e->out[e->out_rank++] = (uint8_t)l;
    }
    return 0;
}

/* numpy's implicit output: the ellipsis dims, then the letters used exactly
 * once, in character order. */
static int implicit_output(const ir_graph *g, const ir_node *n, ir_einsum *e, const int *count, int ell, diag *d) {
    e->out_rank = 0;
    for (int a = 0; a < ell; a++) e->out[e->out_rank++] = (uint8_t)(EINSUM_ELL + a);
    for (int c = 'A'; c <= 'z'; c++) {
        int l = letter_label((char)c);
        if (l < 0 || count[l] != 1) continue;
        if (e->out_rank >= IR_MAX_RANK) return ir_node_error(g, n, d, "equation: output has too many axes");
        e->out[e->out_rank++] = (uint8_t)l;
    }
    return 0;
}

/* The equation without whitespace into eq (size bytes). */
static int read_equation(const ir_graph *g, const ir_node *n, char *eq, size_t size, diag *d) {
    size_t len = 0;
    for (const char *s = ir_attr_str(n, "equation"); *s; s++) {
        if (isspace((unsigned char)*s)) continue;
        if (len + 1 >= size) return ir_node_error(g, n, d, "equation is too long");
        eq[len++] = *s;
    }
    eq[len] = 0;
    return 0;
}

/* The comma-separated input terms of lhs (len chars), one per input, checked
 * against the inputs' ranks; *ell: the largest ellipsis rank. */
static int parse_inputs(const ir_graph *g, const ir_node *n, const char *lhs, size_t len, term *terms, int *ell,
                        diag *d) {
    int n_terms = 0;
    *ell = 0;
    for (size_t start = 0;;) {
        size_t end = start;
        while (end < len && lhs[end] != ',') end++;
        if (n_terms >= (int)n->n_in)
            return ir_node_error(g, n, d, "equation has more terms than the %u inputs", n->n_in);
        term *t = &terms[n_terms];
        if (parse_term(g, n, lhs + start, end - start, t, d)) return -1;
        int own_ell = g->values[n->in[n_terms]].rank - t->n_letters;
        if (t->ell_at < 0 ? own_ell != 0 : own_ell < 0)
            return ir_node_error(g, n, d, "equation term %d has %d subscripts for an input of rank %d", n_terms,
                                 t->n_letters, g->values[n->in[n_terms]].rank);
        if (t->ell_at >= 0 && own_ell > *ell) *ell = own_ell;
        n_terms++;
        if (end >= len) break;
        start = end + 1;
    }
    if (n_terms != (int)n->n_in) return ir_node_error(g, n, d, "equation has %d terms for %u inputs", n_terms, n->n_in);
    return 0;
}

/* The labels of the inputs that the output lacks, in first-use order. */
static int collect_sums(const ir_graph *g, const ir_node *n, ir_einsum *e, diag *d) {
    for (int i = 0; i < e->n_in; i++)
        for (int a = 0; a < e->rank[i]; a++) {
            int l = e->label[i][a];
            bool seen = in_output(e, l);
            for (int s = 0; s < e->n_sum && !seen; s++) seen = e->sum[s] == l;
            if (seen) continue;
            if (e->n_sum >= IR_MAX_RANK) return ir_node_error(g, n, d, "equation sums over too many subscripts");
            e->sum[e->n_sum++] = (uint8_t)l;
        }
    return 0;
}

int ir_einsum_parse(ir_graph *g, const ir_node *n, ir_einsum *e, diag *d) {
    memset(e, 0, sizeof *e);
    if (n->n_in > EINSUM_MAX_IN) return ir_node_error(g, n, d, "more than %d operands", EINSUM_MAX_IN);
    for (uint32_t i = 0; i < n->n_in; i++)
        if (n->in[i] == IR_NONE) return ir_node_error(g, n, d, "operand %u is missing", i);
    e->n_in = (int)n->n_in;
    char eq[1024];
    term terms[EINSUM_MAX_IN];
    int ell;
    if (read_equation(g, n, eq, sizeof eq, d)) return -1;
    const char *arrow = strstr(eq, "->");
    size_t len = strlen(eq), lhs_len = arrow ? (size_t)(arrow - eq) : len;
    if (parse_inputs(g, n, eq, lhs_len, terms, &ell, d)) return -1;
    int count[EINSUM_LABELS] = {0};
    for (int i = 0; i < e->n_in; i++) {
        if (label_operand(g, n, e, i, &terms[i], ell, d)) return -1;
        for (int j = 0; j < terms[i].n_letters; j++) count[terms[i].letters[j]]++;
    }
    if (arrow) {
        term out;
        if (parse_term(g, n, arrow + 2, len - lhs_len - 2, &out, d)) return -1;
        /* without an ellipsis in the output, the inputs' ellipsis dims are summed */
        if (explicit_output(g, n, e, &out, out.ell_at >= 0 ? ell : 0, d)) return -1;
    } else if (implicit_output(g, n, e, count, ell, d)) {
        return -1;
    }
    return collect_sums(g, n, e, d);
}
