/* test_text.c — the IR text format: print -> parse -> print gives the same
 * bytes for graphs built in C (symbolic shapes, quoted names, every
 * attribute kind an op has, every constant form, multi-output nodes,
 * omitted inputs); parse errors carry exact line:col; the parser survives
 * truncated and mutated input; the golden files in tests/golden are
 * canonical (parse + print reproduces them byte for byte) and the files in
 * tests/golden/errors fail with the location and message on their first
 * line (`# expect: LINE:COL: message`).
 *
 * Usage: test_text [GOLDEN_DIR]   (default tests/golden, run from the repo root)
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/text.h"

static int passed, failed, skipped;

#define CHECK(cond) CHECKF(cond, "%s", #cond)
#define CHECKF(cond, ...)                                          \
    do {                                                           \
        if (cond) {                                                \
            passed++;                                              \
        } else {                                                   \
            failed++;                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                          \
            fputc('\n', stderr);                                   \
        }                                                          \
    } while (0)

static char tmpdir[64];

static char *tmp_path(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static int write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = 0;
    if (len) *len = (size_t)n;
    fclose(f);
    return s;
}

/* ---- building graphs ----------------------------------------------------------- */

static diag D;

static ir_dim C(int64_t c) { return ir_dim_const(c); }

/* A constant whose bytes are copied into the graph arena. */
static ir_id cst(ir_graph *g, const char *name, ir_dtype t, int rank, const ir_dim *dims, const void *data, size_t n) {
    void *copy = arena_memdup(&g->arena, data, n, 1);
    return ir_add_const(g, name, t, rank, dims, copy, n, -1, &D);
}

/* One node with one output; returns the output value. */
static ir_id node(ir_graph *g, ir_op op, const ir_id *in, uint32_t n_in, const char *out, const char *origin) {
    ir_id n = ir_add_node(g, op, in, n_in, &out, 1, origin, &D);
    return n == IR_NONE ? IR_NONE : g->nodes[n].out[0];
}

static ir_id last_node(const ir_graph *g) { return g->n_nodes - 1; }

/* ---- the round trip ------------------------------------------------------------ */

static bool same_bytes(const ir_graph *a, const ir_graph *b) {
    for (uint32_t i = 0; i < a->n_values; i++) {
        const ir_value *va = &a->values[i];
        if (va->kind != IR_VALUE_CONST) continue;
        ir_id j = ir_find_value(b, va->name);
        if (j == IR_NONE) return false;
        const ir_value *vb = &b->values[j];
        if (vb->kind != IR_VALUE_CONST || va->nbytes != vb->nbytes) return false;
        if (va->nbytes && memcmp(va->data, vb->data, va->nbytes) != 0) return false;
    }
    return true;
}

/* print -> parse -> print with the same options; requires the same text and
 * the same constant bytes. Returns the first text (malloc'd). */
static char *roundtrip(ir_graph *g, const ir_print_opts *opts, const char *path, const char *what) {
    diag_init(&D);
    char *t1 = ir_print_to_string(g, opts, &D);
    CHECKF(t1 != NULL, "%s: print failed: %s", what, D.msg);
    if (!t1) return NULL;
    char *t2 = ir_print_to_string(g, opts, &D);
    CHECKF(t2 && strcmp(t1, t2) == 0, "%s: printing twice differs", what);
    free(t2);
    diag_init(&D);
    ir_graph *h = ir_parse(t1, strlen(t1), path, &D);
    CHECKF(h != NULL, "%s: parse failed: %s\n%s", what, D.msg, t1);
    if (!h) return t1;
    diag_init(&D);
    CHECKF(ir_verify(h, &D) == 0, "%s: parsed graph does not verify: %s", what, D.msg);
    char *t3 = ir_print_to_string(h, opts, &D);
    CHECKF(t3 && strcmp(t1, t3) == 0, "%s: print -> parse -> print differs:\n--- first\n%s--- second\n%s", what, t1,
           t3 ? t3 : "(null)");
    CHECKF(same_bytes(g, h), "%s: constant bytes differ after parsing", what);
    free(t3);
    ir_graph_free(h);
    return t1;
}

/* ---- graphs built in C ------------------------------------------------------------ */

static void test_mlp(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("main", "mlp.onnx");
    ir_dim batch = ir_dim_named(g, "batch");
    ir_id x = ir_add_input(g, "x", IR_F32, 2, (ir_dim[]){batch, C(4)}, &D);
    float w1[12] = {0.5f, -0.25f, 1, 0.125f, 2, -1, 0.75f, 0.1f, -0.3f, 1e-5f, 3.5f, 0};
    float b1[3] = {0.1f, 0.2f, 0.3f};
    ir_id w = cst(g, "w1", IR_F32, 2, (ir_dim[]){C(4), C(3)}, w1, sizeof w1);
    ir_id b = cst(g, "b1", IR_F32, 1, (ir_dim[]){C(3)}, b1, sizeof b1);
    ir_id h = node(g, IR_OP_Gemm, (ir_id[]){x, w, b}, 3, "h", "Gemm_0");
    ir_id r = node(g, IR_OP_Relu, &h, 1, "h_relu", "Relu_1");
    ir_id s = node(g, IR_OP_Softmax, &r, 1, "probs", "Softmax_2");
    ir_set_attr_int(g, last_node(g), "axis", -1, &D);
    ir_add_output(g, s, &D);
    CHECKF(ir_infer(g, &D) == 0, "mlp infer: %s", D.msg);
    char *t = roundtrip(g, NULL, "mlp.ir", "mlp");
    CHECK(t && strstr(t, "  %h: f32[batch,3] = Gemm(%x, %w1, %b1) @\"Gemm_0\"\n"));
    CHECK(t && strstr(t, "  const %w1: f32[4,3] = [0.5, -0.25, 1, 0.125, 2, -1, 0.75, 0.1, -0.3, 1e-05, 3.5, 0]\n"));
    CHECK(t && strncmp(t, "# smelt-ir 1\ngraph \"main\" source \"mlp.onnx\" {\n  sym batch\n", 56) == 0);
    CHECK(t && strstr(t, "{axis=-1}"));

    /* ir_print to a FILE gives the same text */
    FILE *f = tmpfile();
    CHECK(f && ir_print(g, f, NULL, &D) == 0);
    if (f && t) {
        size_t n = strlen(t);
        char *back = calloc(1, n + 16);
        rewind(f);
        size_t got = fread(back, 1, n + 8, f);
        CHECK(got == n && memcmp(back, t, n) == 0);
        free(back);
        fclose(f);
    }
    free(t);
    ir_graph_free(g);
}

static void test_symbolic(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("sym", "s.onnx");
    /* created in this order on purpose: the sym line keeps table order */
    ir_dim seq = ir_dim_named(g, "seq");
    ir_dim batch = ir_dim_named(g, "batch");
    ir_dim unused = ir_dim_named(g, "unused");
    (void)unused;
    ir_dim spaced = ir_dim_named(g, "seq len");
    ir_dim kw = ir_dim_named(g, "min"); /* a symbol spelled like a function */
    ir_dim dims[8] = {
        ir_dim_cdiv(g, batch, C(4)),
        ir_dim_expr(g, IR_SYM_MAX, seq, batch),
        ir_dim_expr(g, IR_SYM_MOD, seq, C(8)),
        ir_dim_sub(g, seq, C(1)),
        ir_dim_add(g, ir_dim_mul(g, C(3), ir_dim_mul(g, seq, batch)), C(-2)),
        ir_dim_expr(g, IR_SYM_MIN, ir_dim_div(g, spaced, C(2)), kw),
        ir_dim_mul(g, ir_dim_add(g, batch, seq), ir_dim_add(g, seq, batch)),
        C(0),
    };
    ir_id a = ir_add_input(g, "a", IR_F32, 8, dims, &D);
    ir_add_input(g, "scalar", IR_I64, 0, NULL, &D);
    ir_id x = ir_add_input(g, "x", IR_F32, 3, (ir_dim[]){batch, seq, C(768)}, &D);
    int64_t shape[2] = {-1, 768};
    ir_id s = cst(g, "shape", IR_I64, 1, (ir_dim[]){C(2)}, shape, sizeof shape);
    ir_id y = node(g, IR_OP_Reshape, (ir_id[]){x, s}, 2, "y", "Reshape_0");
    /* Conv with a symbolic spatial size gives division expressions */
    ir_id img = ir_add_input(g, "img", IR_F32, 4, (ir_dim[]){batch, C(3), seq, seq}, &D);
    float wdata[3 * 3 * 3 * 2] = {0};
    ir_id w = cst(g, "w", IR_F32, 4, (ir_dim[]){C(2), C(3), C(3), C(3)}, wdata, sizeof wdata);
    ir_id cv = node(g, IR_OP_Conv, (ir_id[]){img, w}, 2, "conv", "Conv_0");
    ir_set_attr_ints(g, last_node(g), "strides", (int64_t[]){2, 2}, 2, &D);
    ir_set_attr_ints(g, last_node(g), "pads", (int64_t[]){1, 0, 1, 0}, 4, &D);
    ir_id mp_in[1] = {cv};
    ir_id mp = node(g, IR_OP_MaxPool, mp_in, 1, "pool", "MaxPool_0");
    ir_set_attr_ints(g, last_node(g), "kernel_shape", (int64_t[]){3, 3}, 2, &D);
    ir_set_attr_int(g, last_node(g), "ceil_mode", 1, &D);
    ir_add_output(g, y, &D);
    ir_add_output(g, a, &D);
    ir_add_output(g, mp, &D);
    CHECKF(ir_infer(g, &D) == 0, "symbolic infer: %s", D.msg);
    char *t = roundtrip(g, NULL, NULL, "symbolic");
    CHECK(t && strstr(t, "  sym seq, batch, unused, \"seq len\", min\n"));
    CHECK(t && strstr(t, "%y: f32[(batch*seq),768]"));
    CHECK(t && strstr(t, "cdiv(batch,4)"));
    CHECK(t && strstr(t, "(seq%8)"));
    CHECK(t && strstr(t, "(seq-1)"));
    CHECK(t && (strstr(t, "min((\"seq len\"/2),min)") || strstr(t, "min(min,(\"seq len\"/2))")));
    CHECK(t && strstr(t, "input %scalar: i64[]\n"));
    /* the spelling is ir_type_format's wherever names are plain */
    for (uint32_t i = 0; t && i < g->n_values; i++) {
        const ir_value *v = &g->values[i];
        char want[600], type[512];
        ir_type_format(g, v->dtype, v->rank, v->dims, type, sizeof type);
        if (strchr(type, '"') || strstr(type, "seq len")) continue;
        snprintf(want, sizeof want, "%%%s: %s", v->name, type);
        CHECKF(strstr(t, want) != NULL, "symbolic: '%s' not in the text", want);
    }
    free(t);

    /* the parsed graph has the same named symbols in the same order */
    t = ir_print_to_string(g, NULL, &D);
    ir_graph *h = t ? ir_parse(t, strlen(t), "sym.ir", &D) : NULL;
    CHECK(h != NULL);
    if (h) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < g->n_syms; i++) {
            if (g->syms[i].kind != IR_SYM_NAMED) continue;
            while (k < h->n_syms && h->syms[k].kind != IR_SYM_NAMED) k++;
            CHECK(k < h->n_syms && strcmp(h->syms[k].name, g->syms[i].name) == 0);
            k++;
        }
        ir_graph_free(h);
    }
    free(t);
    ir_graph_free(g);
}

static void test_quoted_names(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("we\"ird\\graph", "dir/model \"v2\".onnx");
    ir_dim n = ir_dim_named(g, "batch size");
    const char *names[] = {"input:0", "/model/conv/Conv_output_0", "quote\"back\\slash", "tab\tnl\nend",
                           "caf\xc3\xa9", "bell\x07", ".starts.with.dot", "123"};
    ir_id prev = ir_add_input(g, names[0], IR_F32, 2, (ir_dim[]){n, C(2)}, &D);
    for (int i = 1; i < 8; i++) prev = node(g, IR_OP_Neg, &prev, 1, names[i], i == 3 ? "origin \"3\"" : "");
    ir_nod(g, 2)->file = "another\tfile.onnx";
    ir_add_output(g, prev, &D);
    CHECKF(ir_infer(g, &D) == 0, "quoted infer: %s", D.msg);
    char *t = roundtrip(g, NULL, "q.ir", "quoted names");
    CHECK(t && strstr(t, "input %\"input:0\": f32[\"batch size\",2]\n"));
    CHECK(t && strstr(t, "%\"/model/conv/Conv_output_0\": f32"));
    CHECK(t && strstr(t, "%\"quote\\\"back\\\\slash\""));
    CHECK(t && strstr(t, "%\"tab\\tnl\\nend\""));
    CHECK(t && strstr(t, "%\"caf\\xc3\\xa9\""));
    CHECK(t && strstr(t, "%\"bell\\x07\""));
    CHECK(t && strstr(t, "%.starts.with.dot: "));
    CHECK(t && strstr(t, "%123: "));
    CHECK(t && strstr(t, " @\"another\\tfile.onnx\":\"origin \\\"3\\\"\"\n"));
    CHECK(t && strstr(t, "graph \"we\\\"ird\\\\graph\" source \"dir/model \\\"v2\\\".onnx\" {"));
    free(t);

    char buf[64];
    CHECK(ir_format_value_name("a/b", buf, sizeof buf) == 6 && strcmp(buf, "%\"a/b\"") == 0);
    CHECK(ir_format_value_name("x.1", buf, sizeof buf) == 4 && strcmp(buf, "%x.1") == 0);
    CHECK(ir_format_value_name("abcdef", buf, 4) == 7 && strcmp(buf, "%ab") == 0);
    ir_graph_free(g);
}

static uint32_t f32_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static float bits_f32(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static void test_attrs(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("attrs", "a.onnx");
    ir_id x = ir_add_input(g, "x", IR_F32, 4, (ir_dim[]){C(1), C(2), C(6), C(6)}, &D);
    float wd[2 * 1 * 3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3, -4, -5, -6, -7, -8, -9};
    ir_id w = cst(g, "w", IR_F32, 4, (ir_dim[]){C(2), C(1), C(3), C(3)}, wd, sizeof wd);
    /* INT, INTS, STR */
    ir_id c = node(g, IR_OP_Conv, (ir_id[]){x, w, IR_NONE}, 3, "c", "conv");
    ir_set_attr_int(g, last_node(g), "group", 2, &D);
    ir_set_attr_ints(g, last_node(g), "pads", (int64_t[]){1, 1, 1, 1}, 4, &D);
    ir_set_attr_ints(g, last_node(g), "dilations", (int64_t[]){1, 1}, 2, &D);
    ir_set_attr_str(g, last_node(g), "auto_pad", "NOTSET", &D);
    /* FLOAT, exact round trip of awkward values */
    float fl[] = {0.01f, 1e-5f, -0.0f, 1.4e-45f, 3.40282347e38f, 0.1f, 16777217.0f, INFINITY, -INFINITY, NAN,
                  1.17549435e-38f, 0.333333343f};
    ir_id prev = c;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "lr%zu", i);
        prev = node(g, IR_OP_LeakyRelu, &prev, 1, nm, "");
        ir_set_attr_float(g, last_node(g), "alpha", fl[i], &D);
    }
    /* two FLOATs in schema order, whatever order they were set */
    prev = node(g, IR_OP_HardSigmoid, &prev, 1, "hs", "");
    ir_set_attr_float(g, last_node(g), "beta", 0.25f, &D);
    ir_set_attr_float(g, last_node(g), "alpha", 0.5f, &D);
    /* STR with escapes */
    prev = node(g, IR_OP_Gelu, &prev, 1, "gelu", "");
    ir_set_attr_str(g, last_node(g), "approximate", "tanh \"q\" \\ \n", &D);
    /* DTYPE */
    ir_id cast = node(g, IR_OP_Cast, &prev, 1, "half", "");
    ir_set_attr_int(g, last_node(g), "to", IR_F16, &D);
    /* INTS: empty list on a scalar, negative values */
    ir_id sc = ir_add_input(g, "s", IR_F32, 0, NULL, &D);
    ir_id tr = node(g, IR_OP_Transpose, &sc, 1, "t0", "");
    ir_set_attr_ints(g, last_node(g), "perm", NULL, 0, &D);
    ir_id big = node(g, IR_OP_Shape, &x, 1, "shape", "");
    ir_set_attr_int(g, last_node(g), "start", -3, &D);
    ir_set_attr_int(g, last_node(g), "end", INT64_MAX, &D);
    /* FLOATS and STRS: a recurrent layer's activation functions and their parameters */
    ir_id rx = ir_add_input(g, "rx", IR_F32, 3, (ir_dim[]){C(2), C(1), C(3)}, &D);
    float rwd[3] = {0.5f, -1, 2}, rrd[1] = {0.25f};
    ir_id rw = cst(g, "rw", IR_F32, 3, (ir_dim[]){C(1), C(1), C(3)}, rwd, sizeof rwd);
    ir_id rr = cst(g, "rr", IR_F32, 3, (ir_dim[]){C(1), C(1), C(1)}, rrd, sizeof rrd);
    ir_id rnn = node(g, IR_OP_RNN, (ir_id[]){rx, rw, rr}, 3, "rnn", "");
    ir_set_attr_strs(g, last_node(g), "activations", (const char *[]){"ScaledTanh"}, 1, &D);
    ir_set_attr_floats(g, last_node(g), "activation_alpha", (float[]){0.1f, -0.0f, 1e-5f}, 3, &D);
    ir_set_attr_floats(g, last_node(g), "activation_beta", (float[]){2.5f}, 1, &D);
    ir_add_output(g, cast, &D);
    ir_add_output(g, tr, &D);
    ir_add_output(g, big, &D);
    ir_add_output(g, rnn, &D);
    CHECKF(ir_infer(g, &D) == 0, "attrs infer: %s", D.msg);
    char *t = roundtrip(g, NULL, "a.ir", "attributes");
    CHECK(t && strstr(t, "= Conv(%x, %w, _) {auto_pad=\"NOTSET\", dilations=[1,1], group=2, pads=[1,1,1,1]} @\"conv\"\n"));
    CHECK(t && strstr(t, "{alpha=0.01}"));
    CHECK(t && strstr(t, "{alpha=1e-05}"));
    CHECK(t && strstr(t, "{alpha=-0}"));
    CHECK(t && strstr(t, "{alpha=inf}"));
    CHECK(t && strstr(t, "{alpha=-inf}"));
    CHECK(t && strstr(t, "{alpha=nan}"));
    CHECK(t && strstr(t, "{alpha=0.5, beta=0.25}"));
    CHECK(t && strstr(t, "{approximate=\"tanh \\\"q\\\" \\\\ \\n\"}"));
    CHECK(t && strstr(t, "= Cast(%gelu) {to=f16}\n"));
    CHECK(t && strstr(t, "{perm=[]}"));
    CHECK(t && strstr(t, "{end=9223372036854775807, start=-3}"));
    CHECK(t && strstr(t, "{activation_alpha=[0.1,-0,1e-05], activation_beta=[2.5], activations=[\"ScaledTanh\"]}"));
    /* floats come back bit for bit */
    ir_graph *h = t ? ir_parse(t, strlen(t), "a.ir", &D) : NULL;
    CHECK(h != NULL);
    for (size_t i = 0; h && i < sizeof fl / sizeof fl[0]; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "lr%zu", i);
        ir_id v = ir_find_value(h, nm);
        CHECK(v != IR_NONE);
        if (v == IR_NONE) continue;
        float got = ir_attr_float(&h->nodes[h->values[v].producer], "alpha");
        CHECKF(isnan(fl[i]) ? isnan(got) : f32_bits(got) == f32_bits(fl[i]), "alpha %zu: %.9g read back as %.9g", i,
               (double)fl[i], (double)got);
    }
    ir_graph_free(h);
    free(t);
    ir_graph_free(g);

    /* kinds no op of ops.def has yet */
    bool have_graph = false;
    for (int op = 1; op < IR_OP_COUNT; op++)
        for (int a = 0; a < ir_op_get(op)->n_attrs; a++) have_graph |= ir_op_get(op)->attrs[a].kind == IR_AK_GRAPH;
    if (have_graph) fprintf(stderr, "SKIP an op now has a graph attribute: add its round trip here\n");
    else fprintf(stderr, "SKIP no op has a graph attribute yet: that kind is untested\n");
    skipped++;
}

static void test_multi_output_and_omitted(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("multi", "m.onnx");
    ir_dim b = ir_dim_named(g, "b");
    ir_id x = ir_add_input(g, "x", IR_F32, 4, (ir_dim[]){b, C(2), C(8), C(8)}, &D);
    const char *po[2] = {"pooled", "indices"};
    ir_id n = ir_add_node(g, IR_OP_MaxPool, &x, 1, po, 2, "pool", &D);
    ir_set_attr_ints(g, n, "kernel_shape", (int64_t[]){2, 2}, 2, &D);
    ir_set_attr_ints(g, n, "strides", (int64_t[]){2, 2}, 2, &D);
    ir_id pooled = g->nodes[n].out[0];
    float sc[4] = {1, 1, 1, 1};
    ir_id s = cst(g, "scale", IR_F32, 1, (ir_dim[]){C(4)}, sc, sizeof sc);
    ir_id x3 = ir_add_input(g, "x3", IR_F32, 3, (ir_dim[]){b, C(3), C(4)}, &D);
    const char *lo[3] = {"y", "mean", "inv_std"};
    ir_id ln = ir_add_node(g, IR_OP_LayerNormalization, (ir_id[]){x3, s, IR_NONE}, 3, lo, 3, "ln", &D);
    ir_set_attr_int(g, ln, "axis", 1, &D);
    float mx = 6;
    ir_id m = cst(g, "six", IR_F32, 0, NULL, &mx, sizeof mx);
    ir_id cl = node(g, IR_OP_Clip, (ir_id[]){pooled, IR_NONE, m}, 3, "clipped", "clip");
    ir_add_output(g, cl, &D);
    ir_add_output(g, g->nodes[n].out[1], &D);
    ir_add_output(g, g->nodes[ln].out[2], &D);
    CHECKF(ir_infer(g, &D) == 0, "multi infer: %s", D.msg);
    char *t = roundtrip(g, NULL, NULL, "multi-output");
    CHECK(t && strstr(t, "  %pooled: f32[b,2,4,4], %indices: i64[b,2,4,4] = MaxPool(%x) {kernel_shape=[2,2], "
                         "strides=[2,2]} @\"pool\"\n"));
    CHECK(t && strstr(t, "  %y: f32[b,3,4], %mean: f32[b,1,1], %inv_std: f32[b,1,1] = LayerNormalization(%x3, "
                         "%scale, _) {axis=1} @\"ln\"\n"));
    CHECK(t && strstr(t, "= Clip(%pooled, _, %six) @\"clip\"\n"));
    CHECK(t && strstr(t, "const %six: f32[] = [6]\n"));
    free(t);
    ir_graph_free(g);
}

/* ---- constants ------------------------------------------------------------------ */

static void test_inline_and_hex(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("consts", "c.onnx");
    float f[6] = {1.5f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f};
    uint32_t nanbits = 0x7fc00000u;
    memcpy(&f[4], &nanbits, 4);
    cst(g, "f", IR_F32, 1, (ir_dim[]){C(6)}, f, sizeof f);
    double d[3] = {0.1, -1e300, 4.9406564584124654e-324};
    cst(g, "d", IR_F64, 1, (ir_dim[]){C(3)}, d, sizeof d);
    int8_t i8[4] = {-128, 127, 0, -1};
    cst(g, "i8", IR_I8, 2, (ir_dim[]){C(2), C(2)}, i8, sizeof i8);
    int16_t i16[2] = {-32768, 32767};
    cst(g, "i16", IR_I16, 1, (ir_dim[]){C(2)}, i16, sizeof i16);
    int32_t i32[2] = {INT32_MIN, INT32_MAX};
    cst(g, "i32", IR_I32, 1, (ir_dim[]){C(2)}, i32, sizeof i32);
    int64_t i64[2] = {INT64_MIN, INT64_MAX};
    cst(g, "i64", IR_I64, 1, (ir_dim[]){C(2)}, i64, sizeof i64);
    uint8_t u8[2] = {0, 255};
    cst(g, "u8", IR_U8, 1, (ir_dim[]){C(2)}, u8, sizeof u8);
    uint16_t u16[1] = {65535};
    cst(g, "u16", IR_U16, 1, (ir_dim[]){C(1)}, u16, sizeof u16);
    uint32_t u32[1] = {UINT32_MAX};
    cst(g, "u32", IR_U32, 1, (ir_dim[]){C(1)}, u32, sizeof u32);
    uint64_t u64[2] = {UINT64_MAX, 0};
    cst(g, "u64", IR_U64, 1, (ir_dim[]){C(2)}, u64, sizeof u64);
    uint8_t bl[3] = {1, 0, 1};
    cst(g, "bool", IR_BOOL, 1, (ir_dim[]){C(3)}, bl, sizeof bl);
    uint8_t bl2[2] = {2, 0}; /* not 0/1: only hex keeps it */
    cst(g, "bool2", IR_BOOL, 1, (ir_dim[]){C(2)}, bl2, sizeof bl2);
    float odd_nan = bits_f32(0x7fa00001u); /* a NaN payload: only hex keeps it */
    cst(g, "nan_payload", IR_F32, 0, NULL, &odd_nan, 4);
    uint16_t h16[2] = {0x3c00, 0x4000};
    cst(g, "half", IR_F16, 1, (ir_dim[]){C(2)}, h16, sizeof h16);
    uint16_t bf[1] = {0x3f80};
    cst(g, "bf", IR_BF16, 1, (ir_dim[]){C(1)}, bf, sizeof bf);
    uint8_t i4[2] = {0x21, 0x0f}; /* 3 packed 4-bit values */
    cst(g, "i4", IR_I4, 1, (ir_dim[]){C(3)}, i4, sizeof i4);
    uint8_t q[18];
    for (int i = 0; i < 18; i++) q[i] = (uint8_t)(i * 13);
    cst(g, "q", IR_Q4_0, 1, (ir_dim[]){C(32)}, q, sizeof q);
    cst(g, "empty", IR_F32, 2, (ir_dim[]){C(0), C(3)}, NULL, 0);
    cst(g, "empty_half", IR_F16, 1, (ir_dim[]){C(0)}, NULL, 0);
    float big[32];
    for (int i = 0; i < 32; i++) big[i] = (float)i / 4;
    cst(g, "big", IR_F32, 1, (ir_dim[]){C(32)}, big, sizeof big); /* 128 bytes: hex without a sidecar */
    for (uint32_t i = 0; i < g->n_values; i++) ir_add_output(g, i, &D);
    char *t = roundtrip(g, NULL, NULL, "constants");
    CHECK(t && strstr(t, "const %f: f32[6] = [1.5, -0, inf, -inf, nan, 1e-45]\n"));
    CHECK(t && strstr(t, "const %d: f64[3] = [0.1, -1e+300, 5e-324]\n"));
    CHECK(t && strstr(t, "const %i8: i8[2,2] = [-128, 127, 0, -1]\n"));
    CHECK(t && strstr(t, "const %i16: i16[2] = [-32768, 32767]\n"));
    CHECK(t && strstr(t, "const %i32: i32[2] = [-2147483648, 2147483647]\n"));
    CHECK(t && strstr(t, "const %i64: i64[2] = [-9223372036854775808, 9223372036854775807]\n"));
    CHECK(t && strstr(t, "const %u8: u8[2] = [0, 255]\n"));
    CHECK(t && strstr(t, "const %u16: u16[1] = [65535]\n"));
    CHECK(t && strstr(t, "const %u32: u32[1] = [4294967295]\n"));
    CHECK(t && strstr(t, "const %u64: u64[2] = [18446744073709551615, 0]\n"));
    CHECK(t && strstr(t, "const %bool: bool[3] = [1, 0, 1]\n"));
    CHECK(t && strstr(t, "const %bool2: bool[2] = hex \"0200\"\n"));
    CHECK(t && strstr(t, "const %nan_payload: f32[] = hex \"0100a07f\"\n"));
    CHECK(t && strstr(t, "const %half: f16[2] = hex \"003c0040\"\n"));
    CHECK(t && strstr(t, "const %bf: bf16[1] = hex \"803f\"\n"));
    CHECK(t && strstr(t, "const %i4: i4[3] = hex \"210f\"\n"));
    CHECK(t && strstr(t, "const %q: q4_0[32] = hex \"000d1a27"));
    CHECK(t && strstr(t, "const %empty: f32[0,3] = []\n"));
    CHECK(t && strstr(t, "const %empty_half: f16[0] = hex \"\"\n"));
    CHECK(t && strstr(t, "const %big: f32[32] = hex \"000000000000803e"));
    free(t);

    /* a larger inline limit prints big as a list; elide_data hides it */
    ir_print_opts o = {.inline_limit = 1024};
    t = roundtrip(g, &o, NULL, "inline limit");
    CHECK(t && strstr(t, "const %big: f32[32] = [0, 0.25, 0.5, 0.75, 1,"));
    free(t);
    ir_print_opts e = {.elide_data = true};
    t = ir_print_to_string(g, &e, &D);
    CHECK(t && strstr(t, "const %big: f32[32] = elided bytes 128\n"));
    diag_init(&D);
    ir_graph *h = t ? ir_parse(t, strlen(t), "e.ir", &D) : NULL;
    CHECKF(!h && strstr(D.msg, "the data of constant 'big' was elided"), "%s", D.msg);
    ir_graph_free(h);
    free(t);
    ir_graph_free(g);
}

/* Large constants: in a mapped file (`file`) and in the arena (`bin`). */
static void test_file_and_bin(void) {
    diag_init(&D);
    /* a weights file: 16 bytes of header, 1024 floats, 3 bytes, 64 small floats */
    size_t wsize = 16 + 4096 + 3 + 8;
    uint8_t *wbuf = calloc(1, wsize);
    for (size_t i = 0; i < wsize; i++) wbuf[i] = (uint8_t)(i * 7 + 1);
    char *wpath = tmp_path("weights.bin");
    CHECK(write_file(wpath, wbuf, wsize) == 0);
    char *sub = tmp_path("sub");
    mkdir(sub, 0755);

    ir_graph *g = ir_graph_new("main", "model.onnx");
    FILE *wf = fopen(wpath, "rb");
    void *base = wf ? mmap(NULL, wsize, PROT_READ, MAP_PRIVATE, fileno(wf), 0) : MAP_FAILED;
    if (wf) fclose(wf);
    CHECK(base != MAP_FAILED);
    if (base == MAP_FAILED) {
        free(wbuf);
        ir_graph_free(g);
        return;
    }
    int m = ir_add_mapping(g, wpath, base, wsize, true);
    ir_id w = ir_add_const(g, "w", IR_F32, 2, (ir_dim[]){C(32), C(32)}, (uint8_t *)base + 16, 4096, m, &D);
    ir_add_const(g, "small", IR_F32, 1, (ir_dim[]){C(2)}, (uint8_t *)base + 4115, 8, m, &D); /* inline */
    ir_id x = ir_add_input(g, "x", IR_F32, 2, (ir_dim[]){C(1), C(32)}, &D);
    ir_id y = node(g, IR_OP_MatMul, (ir_id[]){x, w}, 2, "y", "mm");
    /* arena-owned large constants: a 100-byte one and an 80-byte one */
    uint8_t a1[100], a2[80];
    for (int i = 0; i < 100; i++) a1[i] = (uint8_t)(255 - i);
    for (int i = 0; i < 80; i++) a2[i] = (uint8_t)(i * 3);
    cst(g, "folded1", IR_U8, 1, (ir_dim[]){C(100)}, a1, sizeof a1);
    cst(g, "folded2", IR_F32, 2, (ir_dim[]){C(4), C(5)}, a2, sizeof a2);
    ir_add_output(g, y, &D);
    CHECKF(ir_infer(g, &D) == 0, "file infer: %s", D.msg);

    /* `file` relative to the output's directory */
    ir_print_opts o = {.out_path = tmp_path("model.ir")};
    char *t = roundtrip(g, &o, tmp_path("model.ir"), "file constants");
    CHECK(t && strstr(t, "const %w: f32[32,32] = file \"weights.bin\" offset 16 bytes 4096\n"));
    CHECK(t && strstr(t, "const %small: f32[2] = ["));
    CHECK(t && strstr(t, "const %folded1: u8[100] = hex \"ff"));
    free(t);
    ir_print_opts o2 = {.out_path = tmp_path("sub/model.ir")};
    t = roundtrip(g, &o2, tmp_path("sub/model.ir"), "file constants from a subdirectory");
    CHECK(t && strstr(t, "= file \"../weights.bin\" offset 16 bytes 4096\n"));
    free(t);
    /* nothing in common but the root: the absolute path */
    ir_print_opts o3 = {.out_path = "/elsewhere/model.ir"};
    t = ir_print_to_string(g, &o3, &D);
    char want[400];
    snprintf(want, sizeof want, "= file \"%s\" offset 16 bytes 4096\n", wpath);
    CHECK(t && strstr(t, want));
    free(t);
    t = ir_print_to_string(g, NULL, &D);
    snprintf(want, sizeof want, "= file \"%s\" offset 16 bytes 4096\n", wpath);
    CHECK(t && strstr(t, want));
    free(t);

    /* the parsed graph maps the file: data points into its mapping */
    t = ir_print_to_string(g, &o, &D);
    CHECK(t && write_file(tmp_path("model.ir"), t, strlen(t)) == 0);
    free(t);
    diag_init(&D);
    ir_graph *h = ir_parse_file(tmp_path("model.ir"), &D);
    CHECKF(h != NULL, "parse model.ir: %s", D.msg);
    if (h) {
        const ir_value *hw = &h->values[ir_find_value(h, "w")];
        CHECK(hw->mapping >= 0 && (uint32_t)hw->mapping < h->n_maps && h->maps[hw->mapping].owned);
        CHECK(hw->mapping >= 0 && (const uint8_t *)hw->data == h->maps[hw->mapping].base + 16);
        CHECK(memcmp(hw->data, wbuf + 16, 4096) == 0);
        CHECK(h->n_maps == 1);
        ir_graph_free(h);
    }

    /* `bin`: the arena constants go to the sidecar at 64-byte aligned offsets */
    FILE *s1 = fopen(tmp_path("m1.ir.bin"), "wb");
    ir_print_opts b1 = {.out_path = tmp_path("m1.ir"), .sidecar = s1, .sidecar_name = "m1.ir.bin"};
    diag_init(&D);
    char *t1 = ir_print_to_string(g, &b1, &D);
    fclose(s1);
    CHECKF(t1 != NULL, "print with sidecar: %s", D.msg);
    CHECK(t1 && strstr(t1, "graph \"main\" source \"model.onnx\" bin \"m1.ir.bin\" {\n"));
    CHECK(t1 && strstr(t1, "const %folded1: u8[100] = bin offset 0 bytes 100\n"));
    CHECK(t1 && strstr(t1, "const %folded2: f32[4,5] = bin offset 128 bytes 80\n"));
    CHECK(t1 && strstr(t1, "const %w: f32[32,32] = file \"weights.bin\" offset 16 bytes 4096\n"));
    size_t n1 = 0, n2 = 0;
    char *side1 = read_file(tmp_path("m1.ir.bin"), &n1);
    CHECK(side1 && n1 == 208 && memcmp(side1, a1, 100) == 0 && memcmp(side1 + 128, a2, 80) == 0);
    if (t1) CHECK(write_file(tmp_path("m1.ir"), t1, strlen(t1)) == 0);
    diag_init(&D);
    h = ir_parse_file(tmp_path("m1.ir"), &D);
    CHECKF(h != NULL, "parse m1.ir: %s", D.msg);
    if (h) {
        CHECK(same_bytes(g, h));
        CHECK(h->values[ir_find_value(h, "folded1")].mapping == -1); /* copied into the arena */
        /* printing the parsed graph gives the same text and sidecar */
        FILE *s2 = fopen(tmp_path("m2.ir.bin"), "wb");
        ir_print_opts b2 = {.out_path = tmp_path("m1.ir"), .sidecar = s2, .sidecar_name = "m1.ir.bin"};
        char *t2 = ir_print_to_string(h, &b2, &D);
        fclose(s2);
        CHECK(t1 && t2 && strcmp(t1, t2) == 0);
        char *side2 = read_file(tmp_path("m2.ir.bin"), &n2);
        CHECK(side1 && side2 && n1 == n2 && memcmp(side1, side2, n1) == 0);
        free(side2);
        free(t2);
        ir_graph_free(h);
    }
    /* a sidecar needs its name */
    FILE *s3 = fopen(tmp_path("m3.ir.bin"), "wb");
    ir_print_opts b3 = {.sidecar = s3};
    diag_init(&D);
    CHECK(ir_print_to_string(g, &b3, &D) == NULL && D.errors == 1);
    fclose(s3);
    /* sidecar given but nothing large in the arena: no bin in the header */
    free(side1);
    free(t1);
    free(wbuf);
    ir_graph_free(g);

    /* errors about files: wrong size, past the end, bin without a sidecar */
    const char *bad[][2] = {
        {"graph \"m\" {\n  const %w: f32[4] = file \"weights.bin\" offset 0 bytes 15\n}\n",
         "2:56: constant '%w' has 15 bytes, its type f32[4] needs 16"},
        {"graph \"m\" {\n  const %w: f32[4] = file \"weights.bin\" offset 4112 bytes 16\n}\n",
         "2:48: offset 4112 + 16 bytes is past the end of 'weights.bin' (4123 bytes)"},
        {"graph \"m\" {\n  const %w: f32[4] = file \"weights.bin\" offset 18446744073709551615 bytes 16\n}\n",
         "2:48: offset 18446744073709551615 + 16 bytes is past the end"},
        {"graph \"m\" {\n  const %w: f32[4] = bin offset 0 bytes 16\n}\n",
         "2:22: 'bin' data needs a sidecar"},
        {"graph \"m\" bin \"nope.bin\" {\n}\n", "1:15: cannot open"},
        {"graph \"m\" {\n  const %w: f32[4] = file \"sub\" offset 0 bytes 16\n}\n", "2:27: not a regular file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        diag_init(&D);
        const char *path = tmp_path("bad.ir");
        ir_graph *b = ir_parse(bad[i][0], strlen(bad[i][0]), path, &D);
        char want2[300];
        snprintf(want2, sizeof want2, "%s:%s", path, bad[i][1]);
        size_t loc = strlen(path) + 1 + strcspn(bad[i][1], " ") + 1; /* path:L:C: */
        CHECKF(!b && strncmp(D.msg, want2, loc) == 0 && strstr(D.msg + loc, want2 + loc),
               "file error %zu: got '%s', want '%s'", i, D.msg, want2);
        ir_graph_free(b);
    }
}

/* ---- parse errors ------------------------------------------------------------------- */

static void expect_error(const char *text, size_t len, const char *want, int line) {
    diag_init(&D);
    ir_graph *g = ir_parse(text, len, "t.ir", &D);
    char full[512];
    snprintf(full, sizeof full, "t.ir:%s", want);
    const char *colon = strchr(want, ' ');
    (void)colon;
    CHECKF(!g && strncmp(D.msg, full, strlen(full)) == 0 && D.errors == 1,
           "(from line %d) got '%s', want '%s'", line, g ? "(a graph)" : D.msg, full);
    ir_graph_free(g);
}
#define EXPECT_ERROR(text, want) expect_error(text, strlen(text), want, __LINE__)

static void test_errors(void) {
    EXPECT_ERROR("", "1:1: expected 'graph', found end of file");
    EXPECT_ERROR("# only a comment\n\n", "3:1: expected 'graph', found end of file");
    EXPECT_ERROR("graph", "1:6: expected a graph name \"...\", found end of file");
    EXPECT_ERROR("graph \"m\" {\n", "2:1: expected a statement (sym, input, const, a node, output) or '}', found end of file");
    EXPECT_ERROR("graph \"m\" {\n}\n}", "3:1: expected end of file, found '}'");
    EXPECT_ERROR("graph \"m\" {\n  inputs %x: f32[2]\n}", "2:3: expected a statement");
    EXPECT_ERROR("graph \"m\" {\n  input %x f32[2]\n}", "2:12: expected ':', found 'f32'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2\n}", "3:1: expected ',' or ']', found '}'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  output %y\n}", "3:10: undefined value '%y'");
    EXPECT_ERROR("graph \"m\" {\n  input %\"\": f32[2]\n}", "2:9: value name is empty");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[-1]\n}", "2:17: dimension -1 is negative");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[?]\n}", "2:17: expected a dimension, found '?'");
    EXPECT_ERROR("graph \"m\" {\n  sym a, a\n}", "2:10: symbol 'a' is declared twice");
    EXPECT_ERROR("graph \"m\" {\n  sym a\n  input %x: f32[(a*4611686018427387904)]\n}",
                 "3:19: dimension expression is too large");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[(3037000500*3037000500)]\n}", "2:28: dimension arithmetic overflows");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[99999999999999999999]\n}", "2:17: dimension 99999999999999999999 is out of range");
    EXPECT_ERROR("graph \"m\" {\n  sym a\n  input %x: f32[cdiv(a 2)]\n}", "3:24: expected ',', found '2'");
    EXPECT_ERROR("graph \"m\" {\n  const %c: u8[1] = [-1]\n}", "2:22: -1 is out of range for u8");
    EXPECT_ERROR("graph \"m\" {\n  const %c: bool[1] = [2]\n}", "2:24: 2 is out of range for bool");
    EXPECT_ERROR("graph \"m\" {\n  const %c: i64[1] = [9223372036854775808]\n}", "2:23: 9223372036854775808 is out of range for i64");
    EXPECT_ERROR("graph \"m\" {\n  const %c: i32[1] = [1.5]\n}", "2:23: expected an integer, found '1.5'");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f32[1] = [1e39]\n}", "2:23: 1e39 is out of range for f32");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f32[2] = [1, -]\n}", "2:27: expected a number after '-', found ']'");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f16[1] = [1]\n}", "2:22: a literal list cannot hold f16 data");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f16[1] = hex \"0g00\"\n}", "2:26: hex data has a character");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f16[1] = hex \"000\"\n}", "2:26: hex data has an odd number");
    EXPECT_ERROR("graph \"m\" {\n  sym n\n  const %c: f16[n] = hex \"\"\n}", "3:13: a constant needs a shape of constant");
    EXPECT_ERROR("graph \"m\" {\n  const %c: q4_0[3] = hex \"\"\n}", "2:13: 3 elements are no whole number of q4_0 blocks");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f32[1] = zeros\n}", "2:22: expected constant data");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Relu(%x) {}\n  %z: f32[2] = Elu(%y) {alpha=1, alpha=2}\n}",
                 "4:34: attribute 'alpha' is given twice");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Elu(%x) {alpha=1e39}\n}", "3:31: 1e39 is out of range");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Elu(%x) {alpha=\"1\"}\n}",
                 "3:31: attribute 'alpha' of Elu must be float");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Cast(%x) {to=f33}\n}", "3:29: unknown dtype 'f33'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Cast(%x) {to=1}\n}",
                 "3:29: attribute 'to' of Cast must be dtype");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f16[2] = Cast(%x) {to=f16, saturate=1.5}\n}",
                 "3:43: attribute 'saturate' of Cast must be int");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Transpose(%x) {perm=[0,\"1\"]}\n}",
                 "3:39: attribute 'perm' of Transpose must be ints");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2], %z: f32[2] = Relu(%x)\n}",
                 "3:15: too many results for Relu (at most 1)");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2], %y: f32[2] = Relu(%x)\n}",
                 "3:15: value '%y' is defined twice");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Relu(%y)\n}", "3:21: undefined value '%y'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Relu(%x) @\"a\":\n}",
                 "4:1: expected an origin name \"...\", found '}'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Relu(%x) @\"\\x00\"\n}",
                 "3:27: string contains a NUL byte");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2,3]\n  %y: f32[2,3] = Flatten(%x) {axis=3}\n}",
                 "3:18: node #0 (Flatten): axis 3 is out of range for rank 2");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2,3]\n  %y: f32[2,3] = Flatten(%x) {axis=3} @\"fl\"\n}",
                 "3:18: node 'fl' (Flatten): axis 3 is out of range for rank 2");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: i64[2] = Relu(%x)\n}",
                 "3:7: output '%y' of Relu is declared i64[2] but its inputs give f32[2]");
    EXPECT_ERROR("graph \"m\" {\n  const %c: f32[1] = elided bytes 4\n}", "2:22: the data of constant 'c' was elided");
    EXPECT_ERROR("graph \"m\" {\n  %y: f32[2] = Relu(%x)\n}", "2:21: undefined value '%x'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  output x\n}", "3:10: expected a value (%name), found 'x'");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  output %x\n  \x01\n}", "4:3: expected a statement (sym, input, const, a node, output) or '}', found byte 0x01");
    EXPECT_ERROR("graph \"m\" {\n  input %x: f32[2]\n  %y: f32[2] = Relu(%x) @\"r\"\n  output %y\n} trailing", "5:3: expected end of file, found 'trailing'");
    EXPECT_ERROR("graph \"outer\" {\n  graph \"inner\" {\n}", "2:3: expected a statement");
    /* a NUL byte inside the text is just a bad character */
    expect_error("graph \"m\" {\n  \0\n}", 16, "2:3: expected a statement (sym, input, const, a node, output) or '}', found byte 0x00", __LINE__);
    /* deep nesting is refused, not a stack overflow */
    char deep[2000];
    size_t k = (size_t)snprintf(deep, sizeof deep, "graph \"m\" {\n  input %%x: f32[");
    for (int i = 0; i < 500; i++) deep[k++] = '(';
    snprintf(deep + k, sizeof deep - k, "1]\n}\n");
    EXPECT_ERROR(deep, "2:217: dimension expression is nested too deeply");
    EXPECT_ERROR("# smelt-ir 2\ngraph \"m\" {\n}\n", "1:12: unsupported text format version '2' (this build reads 1)");
    EXPECT_ERROR("graph \"m\" {\n  input %\"a\\x4\": f32[2]\n}", "2:12: a \\x escape needs two hex digits");
    EXPECT_ERROR("graph \"m\" {\n  input %\"a\\\n\": f32[2]\n}", "2:10: unterminated string");
    /* NULL text is an empty text */
    diag_init(&D);
    CHECK(ir_parse(NULL, 0, NULL, &D) == NULL && strcmp(D.msg, "<text>:1:1: expected 'graph', found end of file") == 0);
    /* CRLF line ends and tabs are whitespace */
    const char *crlf = "graph \"m\" {\r\n\tinput %x: f32[2]\r\n\toutput %x\r\n}\r\n";
    diag_init(&D);
    ir_graph *g = ir_parse(crlf, strlen(crlf), "crlf.ir", &D);
    CHECKF(g != NULL, "crlf: %s", D.msg);
    ir_graph_free(g);
    diag_init(&D);
    CHECK(ir_parse_file(tmp_path("does-not-exist.ir"), &D) == NULL && strstr(D.msg, "does-not-exist.ir: cannot open"));
}

/* ---- robustness: truncated and mutated text ---------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int fuzz_parses, fuzz_ok;

/* Parses one input: it must either fail with one `PATH:L:C: ` error or give
 * a graph whose text round-trips. */
static void fuzz_one(const char *text, size_t len, const char *path) {
    diag_init(&D);
    ir_graph *g = ir_parse(text, len, path, &D);
    fuzz_parses++;
    if (!g) {
        size_t pl = strlen(path);
        unsigned line, col;
        bool located = strncmp(D.msg, path, pl) == 0 && sscanf(D.msg + pl, ":%u:%u: ", &line, &col) == 2;
        if (!located || D.errors != 1) {
            CHECKF(false, "fuzz: error without a location: '%s'", D.msg);
            fprintf(stderr, "input: %.*s\n", (int)len, text);
        }
        return;
    }
    fuzz_ok++;
    ir_print_opts o = {.out_path = path};
    char *t1 = ir_print_to_string(g, &o, &D);
    ir_graph *h = t1 ? ir_parse(t1, strlen(t1), path, &D) : NULL;
    char *t2 = h ? ir_print_to_string(h, &o, &D) : NULL;
    if (!t2 || strcmp(t1, t2) != 0) {
        CHECKF(false, "fuzz: an accepted mutation does not round-trip: %s", D.msg);
        fprintf(stderr, "input: %.*s\nfirst print:\n%s", (int)len, text, t1 ? t1 : "");
    }
    free(t1);
    free(t2);
    ir_graph_free(h);
    ir_graph_free(g);
}

static void fuzz_text(const char *text, const char *path) {
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    int before = failed;
    for (size_t cut = 0; cut <= len && failed == before; cut++) {
        memcpy(buf, text, cut); /* a copy of exactly cut bytes: ASan sees any read past it */
        fuzz_one(buf, cut, path);
    }
    static const char subst[] = "\"%[](){},:=@_-+*/0129ae#\n\\ \x01\x80";
    for (size_t i = 0; i < len && failed == before; i++) {
        for (int k = 0; k < 3 && failed == before; k++) {
            memcpy(buf, text, len);
            uint64_t r = next_rand();
            buf[i] = k == 0 ? (char)(buf[i] ^ (1 << (r % 8))) : subst[r % (sizeof subst - 1)];
            fuzz_one(buf, len, path);
        }
    }
    /* a few multi-byte mutations: delete or duplicate a span */
    for (int n = 0; n < 300 && failed == before && len > 8; n++) {
        size_t a = next_rand() % len, b = a + 1 + next_rand() % 16;
        if (b > len) b = len;
        char *m = malloc(len * 2 + 1);
        size_t w = 0;
        memcpy(m, text, a);
        w = a;
        if (n % 2) {
            memcpy(m + w, text + a, b - a);
            w += b - a;
            memcpy(m + w, text + a, len - a);
            w += len - a;
        } else {
            memcpy(m + w, text + b, len - b);
            w += len - b;
        }
        fuzz_one(m, w, path);
        free(m);
    }
    free(buf);
}

/* ---- golden files -------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *.ir files of dir, sorted; count in *n. */
static char **list_ir(const char *dir, int *n) {
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp) return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".ir") != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, (size_t)cap * sizeof *names);
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(dp);
    qsort(names, (size_t)*n, sizeof *names, cmp_str);
    return names;
}

static void test_goldens(const char *dir, bool fuzz) {
    int n;
    char **names = list_ir(dir, &n);
    CHECKF(n >= 3, "expected golden files in %s", dir);
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *text = read_file(path, &len);
        CHECKF(text != NULL, "cannot read %s", path);
        diag_init(&D);
        ir_graph *g = text ? ir_parse(text, len, path, &D) : NULL;
        CHECKF(g != NULL, "%s: %s", path, D.msg);
        if (g) {
            CHECKF(ir_verify(g, &D) == 0, "%s: %s", path, D.msg);
            ir_print_opts o = {.out_path = path};
            char *t = ir_print_to_string(g, &o, &D);
            CHECKF(t && strcmp(t, text) == 0, "%s is not canonical; it prints as:\n%s", path, t ? t : D.msg);
            free(t);
            ir_graph_free(g);
        }
        if (text && fuzz) fuzz_text(text, path);
        free(text);
        free(names[i]);
    }
    free(names);
}

static void test_error_goldens(const char *dir) {
    char edir[512];
    snprintf(edir, sizeof edir, "%s/errors", dir);
    int n;
    char **names = list_ir(edir, &n);
    CHECKF(n >= 10, "expected 10+ error files in %s, found %d", edir, n);
    for (int i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", edir, names[i]);
        size_t len;
        char *text = read_file(path, &len);
        unsigned line = 0, col = 0;
        int off = 0;
        bool head = text && sscanf(text, "# expect: %u:%u: %n", &line, &col, &off) == 2 && off > 0;
        CHECKF(head, "%s: first line must be '# expect: LINE:COL: message'", path);
        if (head) {
            const char *msg = text + off;
            size_t ml = strcspn(msg, "\n");
            char want[700], sub[300];
            snprintf(sub, sizeof sub, "%.*s", (int)ml, msg);
            snprintf(want, sizeof want, "%s:%u:%u: ", path, line, col);
            diag_init(&D);
            ir_graph *g = ir_parse(text, len, path, &D);
            CHECKF(!g && strncmp(D.msg, want, strlen(want)) == 0 && strstr(D.msg + strlen(want), sub),
                   "%s: want '%s%s', got '%s'", path, want, sub, g ? "(parsed)" : D.msg);
            ir_graph_free(g);
        }
        free(text);
        free(names[i]);
    }
    free(names);
}

/* Graphs built here are fuzzed too: their texts use forms the goldens lack. */
static void fuzz_built(void) {
    diag_init(&D);
    ir_graph *g = ir_graph_new("f", "f.onnx");
    ir_dim a = ir_dim_named(g, "a"), b = ir_dim_named(g, "b c");
    ir_id x = ir_add_input(g, "in:0", IR_F32, 3, (ir_dim[]){ir_dim_cdiv(g, a, C(2)), ir_dim_mul(g, a, b), C(2)}, &D);
    uint16_t h[2] = {0x3c00, 0};
    cst(g, "h", IR_F16, 1, (ir_dim[]){C(2)}, h, sizeof h);
    int64_t s[2] = {-1, 2};
    ir_id sh = cst(g, "s", IR_I64, 1, (ir_dim[]){C(2)}, s, sizeof s);
    ir_id r = node(g, IR_OP_Reshape, (ir_id[]){x, sh}, 2, "r/0", "Reshape");
    ir_id c = node(g, IR_OP_Cast, &r, 1, "c", "");
    ir_set_attr_int(g, last_node(g), "to", IR_F16, &D);
    ir_id e = node(g, IR_OP_Elu, &r, 1, "e", "");
    ir_set_attr_float(g, last_node(g), "alpha", 0.5f, &D);
    ir_add_output(g, c, &D);
    ir_add_output(g, e, &D);
    CHECKF(ir_infer(g, &D) == 0, "fuzz graph: %s", D.msg);
    char *t = ir_print_to_string(g, NULL, &D);
    if (t) fuzz_text(t, "fuzz.ir");
    free(t);
    ir_graph_free(g);
}

static void rm_tmp(void) {
    const char *files[] = {"weights.bin", "model.ir", "sub/model.ir", "m1.ir", "m1.ir.bin", "m2.ir.bin",
                           "m3.ir.bin", "sub"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *p = tmp_path(files[i]);
        if (unlink(p) != 0) rmdir(p);
    }
    rmdir(tmpdir);
}

int main(int argc, char **argv) {
    const char *golden = argc > 1 ? argv[1] : "tests/golden";
    bool fuzz = !getenv("SMELT_TEXT_NO_FUZZ");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smelt_text_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_mlp();
    test_symbolic();
    test_quoted_names();
    test_attrs();
    test_multi_output_and_omitted();
    test_inline_and_hex();
    test_file_and_bin();
    test_errors();
    test_goldens(golden, fuzz);
    test_error_goldens(golden);
    if (fuzz) fuzz_built();
    rm_tmp();
    if (fuzz) fprintf(stderr, "text: fuzzed %d inputs, %d parsed\n", fuzz_parses, fuzz_ok);
    if (skipped) printf("text: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else printf("text: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
