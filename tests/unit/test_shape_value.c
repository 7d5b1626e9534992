/* test_shape_value.c — unit tests of shape values (ir/infer_shape_value.c):
 * the rules that know small integer tensors computed from shapes as dims,
 * the consumers that read them (Reshape with -1 and 0, Expand, Slice with a
 * symbolic end, Range, ConstantOfShape, Tile), folding of the constant ones,
 * and run-time results of graphs that use them. Expected dims follow the
 * ONNX operator specification's formulas applied by hand to symbolic sizes;
 * expected run-time values are those formulas at the given sizes. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/text.h"
#include "passes/passes.h"
#include "tests/unit/support/check.h"
#include "tests/unit/support/run_text.h"

/* Parses a graph and re-infers it (types and shape values from scratch). */
static ir_graph *load(const char *text) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &d);
    if (g && ir_infer(g, &d)) {
        ir_graph_free(g);
        g = NULL;
    }
    if (!g) fprintf(stderr, "parse: %s\n", d.msg);
    return g;
}

static char buf[512];

static const char *type_of(ir_graph *g, const char *name) {
    ir_id v = ir_find_value(g, name);
    if (v == IR_NONE) return "(none)";
    const ir_value *x = &g->values[v];
    ir_type_format(g, x->dtype, x->rank, x->dims, buf, sizeof buf);
    return buf;
}

/* The shape value of a value as "e0,e1,..." or "?" when unknown. */
static const char *sval_of(ir_graph *g, const char *name) {
    ir_id v = ir_find_value(g, name);
    ir_dim e[IR_SVAL_MAX];
    int n;
    if (v == IR_NONE || ir_value_sval(g, v, e, IR_SVAL_MAX, &n)) return "?";
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; k < n && len + 1 < sizeof buf; k++) {
        if (k) buf[len++] = ',';
        len += (size_t)ir_dim_format(g, e[k], buf + len, sizeof buf - len);
    }
    buf[len < sizeof buf ? len : sizeof buf - 1] = 0;
    return buf;
}

#define CHECK_STR(got, want) CHECKF_STR(got, want)
#define CHECKF_STR(got, want)                                                                          \
    do {                                                                                               \
        const char *g_ = (got), *w_ = (want);                                                          \
        if (!strcmp(g_, w_)) check_passed++;                                                           \
        else {                                                                                         \
            check_failed++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: got '%s', expected '%s'\n", __FILE__, __LINE__, g_, w_);      \
        }                                                                                              \
    } while (0)

/* BERT's attention: x.view(x.size(0), x.size(1), 12, 64) */
static void test_reshape_from_shape(void) {
    ir_graph *g = load("graph \"g\" { sym batch, seq\n"
                       "  input %x: f32[batch,seq,768]\n"
                       "  const %i0: i64[] = [0]\n  const %i1: i64[] = [1]\n  const %ax: i64[1] = [0]\n"
                       "  const %tail: i64[2] = [12, 64]\n"
                       "  %s: i64[3] = Shape(%x)\n"
                       "  %b: i64[] = Gather(%s, %i0)\n  %q: i64[] = Gather(%s, %i1)\n"
                       "  %b1: i64[1] = Unsqueeze(%b, %ax)\n  %q1: i64[1] = Unsqueeze(%q, %ax)\n"
                       "  %shape: i64[4] = Concat(%b1, %q1, %tail) {axis=0}\n"
                       "  %y: f32[batch,seq,12,64] = Reshape(%x, %shape)\n"
                       "  %tl: i64[1] = Shape(%x) {start=-1}\n"
                       "  %sz: i64[] = Size(%x)\n"
                       "  output %y\n  output %tl\n  output %sz\n}\n");
    CHECK(g != NULL);
    if (!g) return;
    CHECK_STR(sval_of(g, "s"), "batch,seq,768");
    CHECK_STR(sval_of(g, "b"), "batch");
    CHECK_STR(sval_of(g, "shape"), "batch,seq,12,64");
    CHECK_STR(type_of(g, "y"), "f32[batch,seq,12,64]");
    CHECK_STR(sval_of(g, "tl"), "768");
    CHECK_STR(sval_of(g, "sz"), "((batch*seq)*768)");
    /* folding turns the constant ones into constants; the symbolic ones stay nodes */
    diag d;
    diag_init(&d);
    CHECK(pass_fold_constants(g, &d) == 0);
    CHECK(g->values[ir_find_value(g, "tl")].kind == IR_VALUE_CONST);
    CHECK(g->values[ir_find_value(g, "shape")].kind == IR_VALUE_NODE);
    CHECK(ir_verify(g, &d) == 0);
    ir_graph_free(g);
}

/* Reshape with 0 (copy) and -1 (the rest, solved symbolically), and one
 * shape entry computed by arithmetic: [0, seq*12, -1] of [batch,seq,768]. */
static void test_reshape_zero_minus_one(void) {
    ir_graph *g = load("graph \"g\" { sym batch, seq\n"
                       "  input %x: f32[batch,seq,768]\n"
                       "  const %i1: i64[1] = [1]\n  const %z: i64[1] = [0]\n  const %m1: i64[1] = [-1]\n"
                       "  const %twelve: i64[1] = [12]\n"
                       "  %s: i64[3] = Shape(%x)\n  %q: i64[1] = Gather(%s, %i1)\n"
                       "  %q12: i64[1] = Mul(%q, %twelve)\n"
                       "  %shape: i64[3] = Concat(%z, %q12, %m1) {axis=0}\n"
                       "  %y: f32[batch,(seq*12),64] = Reshape(%x, %shape)\n"
                       "  output %y\n}\n");
    CHECK(g != NULL);
    if (!g) return;
    CHECK_STR(sval_of(g, "shape"), "0,(seq*12),-1");
    CHECK_STR(type_of(g, "y"), "f32[batch,(seq*12),64]");
    ir_graph_free(g);
}

/* Add, Sub, Div, Mod, Min, Max, Cast on shape values, and what stays unknown:
 * a constant minus a size (often negative), a float cast, a data-dependent
 * index. */
static void test_arithmetic(void) {
    ir_graph *g = load("graph \"g\" { sym batch, seq\n"
                       "  input %x: f32[batch,seq]\n  input %k: i64[]\n"
                       "  const %i1: i64[] = [1]\n  const %m1: i64[] = [-1]\n  const %two: i64[] = [2]\n"
                       "  const %c512: i64[] = [512]\n  const %c7: i64[] = [7]\n"
                       "  %s: i64[2] = Shape(%x)\n  %q: i64[] = Gather(%s, %i1)\n"
                       "  %a: i64[] = Add(%q, %m1)\n  %b: i64[] = Sub(%q, %i1)\n"
                       "  %h: i64[] = Div(%q, %two)\n  %md: i64[] = Mod(%q, %two)\n"
                       "  %mn: i64[] = Min(%q, %c512)\n  %mx: i64[] = Max(%q, %mn)\n"
                       "  %c32: i32[] = Cast(%q) {to=i32}\n"
                       "  %neg: i64[] = Sub(%c7, %q)\n  %f: f32[] = Cast(%q) {to=f32}\n"
                       "  %dyn: i64[] = Gather(%s, %k)\n"
                       "  %cc: i64[] = Div(%m1, %two)\n"
                       "  output %a\n  output %b\n  output %h\n  output %md\n  output %mx\n  output %c32\n"
                       "  output %neg\n  output %f\n  output %dyn\n  output %cc\n}\n");
    CHECK(g != NULL);
    if (!g) return;
    CHECK_STR(sval_of(g, "a"), "(seq-1)");
    CHECK(ir_dim_eq(g->values[ir_find_value(g, "a")].sval[0], g->values[ir_find_value(g, "b")].sval[0]));
    CHECK_STR(sval_of(g, "h"), "(seq/2)");
    CHECK_STR(sval_of(g, "md"), "(seq%2)");
    CHECK_STR(sval_of(g, "mx"), "seq"); /* max(seq, min(seq, 512)) */
    CHECK_STR(sval_of(g, "c32"), "seq");
    CHECK_STR(sval_of(g, "neg"), "?");
    CHECK_STR(sval_of(g, "f"), "?");
    CHECK_STR(sval_of(g, "dyn"), "?");
    CHECK_STR(sval_of(g, "cc"), "0"); /* ONNX integer Div truncates: -1 / 2 = 0 */
    ir_graph_free(g);
}

/* torchvision ViT: class_token.expand(n, -1, -1) is exported as
 * Where(Equal(shape, -1), ones, shape) feeding Expand. */
static void test_expand_where(void) {
    ir_graph *g = load("graph \"g\" { sym batch\n"
             "  input %x: f32[batch,3,32,32]\n  input %t: f32[1,1,768]\n"
             "  const %i0: i64[1] = [0]\n  const %mm: i64[2] = [-1, -1]\n"
             "  const %neg: i64[3] = [-1, -1, -1]\n  const %ones: i64[3] = [1, 1, 1]\n"
             "  const %r: i64[2] = [1, 2]\n"
             "  %s: i64[4] = Shape(%x)\n  %n: i64[1] = Gather(%s, %i0)\n"
             "  %shape: i64[3] = Concat(%n, %mm) {axis=0}\n"
             "  %eq: bool[3] = Equal(%shape, %neg)\n"
             "  %w: i64[3] = Where(%eq, %ones, %shape)\n"
             "  %y: f32[batch,1,768] = Expand(%t, %w)\n"
             "  %s2: i64[2] = Shape(%x) {end=2}\n"
             "  %z: f32[batch,3] = ConstantOfShape(%s2) {value_float=0}\n"
             "  %tl: f32[(batch*1),6] = Tile(%z, %r)\n"
             "  output %y\n  output %z\n  output %tl\n}\n");
    CHECK(g != NULL);
    if (!g) return;
    CHECK_STR(sval_of(g, "eq"), "0,1,1");
    CHECK_STR(sval_of(g, "w"), "batch,1,1");
    CHECK_STR(type_of(g, "y"), "f32[batch,1,768]");
    CHECK_STR(type_of(g, "z"), "f32[batch,3]");
    CHECK_STR(type_of(g, "tl"), "f32[batch,6]");
    ir_graph_free(g);
}

/* BERT's position ids: a [1,512] table sliced to seq (assumed nothing:
 * min(seq,512)), added to a [batch,seq] tensor; GPT-2's arange(seq). */
static void test_slice_and_range(void) {
    ir_graph *g = load("graph \"g\" { sym batch, seq\n"
                       "  input %x: i64[batch,seq]\n  const %table: i64[1,8] = [0, 1, 2, 3, 4, 5, 6, 7]\n"
                       "  const %i1: i64[1] = [1]\n  const %z: i64[1] = [0]\n  const %z0: i64[] = [0]\n"
                       "  const %one: i64[] = [1]\n  const %two: i64[] = [2]\n"
                       "  %s: i64[2] = Shape(%x)\n  %q: i64[1] = Gather(%s, %i1)\n"
                       "  %pos: i64[1,min(seq,8)] = Slice(%table, %z, %q, %i1)\n"
                       "  %sum: i64[batch,seq] = Add(%x, %pos)\n"
                       "  %qs: i64[] = Gather(%s, %one)\n"
                       "  %r: i64[seq] = Range(%z0, %qs, %one)\n"
                       "  %r2: i64[cdiv((seq-min(seq,2)),2)] = Range(%two, %qs, %two)\n"
                       "  %tail: i64[batch,0] = Slice(%x, %q, %q, %i1)\n"
                       "  output %sum\n  output %r\n  output %r2\n  output %tail\n}\n");
    CHECK(g != NULL);
    if (!g) return;
    CHECK_STR(type_of(g, "pos"), "i64[1,min(seq,8)]");
    CHECK_STR(type_of(g, "sum"), "i64[batch,seq]");
    CHECK_STR(type_of(g, "r"), "i64[seq]");
    CHECK_STR(type_of(g, "r2"), "i64[cdiv((seq-min(seq,2)),2)]");
    CHECK_STR(type_of(g, "tail"), "i64[batch,0]"); /* x[:, seq:seq] */
    ir_graph_free(g);
}

/* The same graphs run: the shape values stay nodes computed at run time
 * where they are outputs, and the sizes they gave evaluate to ONNX's. */
static void test_run(void) {
    const char *text = "graph \"g\" { sym n\n"
                       "  input %x: f32[2,n]\n"
                       "  const %table: f32[4] = [10, 11, 12, 13]\n"
                       "  const %i1: i64[] = [1]\n  const %ax: i64[1] = [0]\n  const %z: i64[1] = [0]\n"
                       "  const %z0: i64[] = [0]\n  const %two: i64[1] = [2]\n"
                       "  %s: i64[2] = Shape(%x)\n  %q: i64[] = Gather(%s, %i1)\n"
                       "  %q1: i64[1] = Unsqueeze(%q, %ax)\n"
                       "  %pos: f32[min(n,4)] = Slice(%table, %z, %q1)\n"
                       "  %r: i64[n] = Range(%z0, %q, %i1)\n"
                       "  %shape: i64[2] = Concat(%q1, %two) {axis=0}\n"
                       "  %y: f32[n,2] = Reshape(%x, %shape)\n"
                       "  output %pos\n  output %r\n  output %shape\n  output %y\n}\n";
    for (int n = 3; n <= 6; n += 3) { /* n = 6 runs past the table: Slice clamps to its 4 elements */
        float xd[12];
        for (int i = 0; i < 2 * n; i++) xd[i] = (float)i;
        int64_t shape[2] = {2, n};
        interp_tensor in[1] = {test_tensor(IR_F32, 2, shape, xd)}, out[4];
        memset(out, 0, sizeof out);
        int rc = run_text(text, in, out);
        CHECK(rc == 0);
        if (rc) {
            fprintf(stderr, "%s\n", run_text_diag.msg);
            continue;
        }
        int m = n < 4 ? n : 4;
        CHECK(out[0].rank == 1 && out[0].shape[0] == m);
        for (int i = 0; i < m && out[0].shape[0] == m; i++) CHECK(((float *)out[0].data)[i] == 10.0f + (float)i);
        CHECK(out[1].rank == 1 && out[1].shape[0] == n);
        for (int i = 0; i < n && out[1].shape[0] == n; i++) CHECK(((int64_t *)out[1].data)[i] == i);
        CHECK(out[2].shape[0] == 2 && ((int64_t *)out[2].data)[0] == n && ((int64_t *)out[2].data)[1] == 2);
        CHECK(out[3].rank == 2 && out[3].shape[0] == n && out[3].shape[1] == 2);
        for (int i = 0; i < 2 * n && out[3].shape[0] == n; i++) CHECK(((float *)out[3].data)[i] == (float)i);
        free_outputs(out, 4);
    }
}

/* The min/max rules of symdim.c that shape values lean on. */
static void test_min_max_rules(void) {
    ir_graph *g = ir_graph_new("t", "t.onnx");
    ir_dim s = ir_dim_named(g, "seq"), c = ir_dim_const(512);
    ir_dim mn = ir_dim_expr(g, IR_SYM_MIN, s, c);
    CHECK(ir_dim_eq(ir_dim_expr(g, IR_SYM_MAX, s, mn), s));
    CHECK(ir_dim_eq(ir_dim_expr(g, IR_SYM_MAX, mn, s), s));
    CHECK(ir_dim_eq(ir_dim_expr(g, IR_SYM_MIN, s, ir_dim_expr(g, IR_SYM_MAX, s, c)), s));
    CHECK(ir_dim_eq(ir_dim_expr(g, IR_SYM_MIN, s, mn), mn));
    CHECK(ir_dim_eq(ir_dim_expr(g, IR_SYM_MIN, s, ir_dim_const(0)), ir_dim_const(0)));
    CHECK(ir_dim_eq(ir_dim_expr(g, IR_SYM_MAX, ir_dim_const(-1), s), s));
    CHECK(!ir_dim_is_const(ir_dim_expr(g, IR_SYM_MIN, s, ir_dim_const(1))));
    ir_graph_free(g);
}

int main(void) {
    test_reshape_from_shape();
    test_reshape_zero_minus_one();
    test_arithmetic();
    test_expand_where();
    test_slice_and_range();
    test_run();
    test_min_max_rules();
    return check_summary("shape_value");
}
