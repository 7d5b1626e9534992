/* test_onnx_pb.c — unit tests of the ONNX protobuf decoder (frontend/onnx/onnx_pb.c).
 *
 * The inputs are protobuf byte strings built here by a tiny encoder, so the
 * test needs no protobuf library and no model files. It checks that a model
 * using every decoded field comes back right (attributes of each kind, packed
 * and unpacked repeated numbers, raw_data as a zero-copy view, typed data,
 * float16 and int4 in int32_data, external data keys, functions, types), and
 * that malformed input — every truncation of a valid model, wrong wire types,
 * lengths past the end, overlong varints, deep nesting, bad dims, random byte
 * flips — gives an error naming the place, never a crash (run it under ASan).
 * Each malformed input is copied into a buffer of exactly its size so that any
 * read past the end is caught.
 */
#include "frontend/onnx/onnx_pb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (cond) {                                        \
            n_pass++;                                      \
        } else {                                           \
            n_fail++;                                      \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

/* ---- a tiny protobuf encoder ---------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void b_raw(buf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}
static void b_byte(buf *b, uint8_t x) { b_raw(b, &x, 1); }
static void b_varint(buf *b, uint64_t v) {
    while (v >= 0x80) {
        b_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    b_byte(b, (uint8_t)v);
}
static void b_tag(buf *b, uint32_t field, int wt) { b_varint(b, (uint64_t)field << 3 | (uint64_t)wt); }
static void b_int(buf *b, uint32_t field, int64_t v) { b_tag(b, field, 0), b_varint(b, (uint64_t)v); }
static void b_bytes(buf *b, uint32_t field, const void *data, size_t n) {
    b_tag(b, field, 2);
    b_varint(b, n);
    b_raw(b, data, n);
}
static void b_str(buf *b, uint32_t field, const char *s) { b_bytes(b, field, s, strlen(s)); }
static void b_fixed32(buf *b, uint32_t field, uint32_t v) {
    b_tag(b, field, 5);
    for (int i = 0; i < 4; i++) b_byte(b, (uint8_t)(v >> (8 * i)));
}
static void b_fixed64(buf *b, uint32_t field, uint64_t v) {
    b_tag(b, field, 1);
    for (int i = 0; i < 8; i++) b_byte(b, (uint8_t)(v >> (8 * i)));
}
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint64_t dbits(double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    return u;
}
static void b_float(buf *b, uint32_t field, float f) { b_fixed32(b, field, fbits(f)); }
/* Embeds sub as a length-delimited field and frees it. */
static void b_msg(buf *b, uint32_t field, buf *sub) {
    b_bytes(b, field, sub->p, sub->n);
    free(sub->p);
    *sub = (buf){0};
}
static void b_packed_ints(buf *b, uint32_t field, const int64_t *v, size_t n) {
    buf s = {0};
    for (size_t i = 0; i < n; i++) b_varint(&s, (uint64_t)v[i]);
    b_msg(b, field, &s);
}
static void b_packed_floats(buf *b, uint32_t field, const float *v, size_t n) {
    buf s = {0};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 4; k++) b_byte(&s, (uint8_t)(fbits(v[i]) >> (8 * k)));
    b_msg(b, field, &s);
}

/* ---- message builders (field numbers from onnx.proto) ---------------------- */

static void b_dims(buf *t, const int64_t *dims, size_t n) { b_packed_ints(t, 1, dims, n); }

static void b_opset(buf *m, const char *domain, int64_t version) {
    buf o = {0};
    b_str(&o, 1, domain);
    b_int(&o, 2, version);
    b_msg(m, 8, &o);
}

static void b_entry(buf *m, uint32_t field, const char *k, const char *v) {
    buf e = {0};
    b_str(&e, 1, k);
    b_str(&e, 2, v);
    b_msg(m, field, &e);
}

/* ValueInfoProto of a tensor: dims > 0 are values, 0 is the symbol "batch",
 * -1 an unknown dim. */
static void b_value_info(buf *g, uint32_t field, const char *name, int elem, const int64_t *dims, size_t n) {
    buf vi = {0}, ty = {0}, tt = {0}, sh = {0};
    for (size_t i = 0; i < n; i++) {
        buf d = {0};
        if (dims[i] > 0) b_int(&d, 1, dims[i]);
        else if (dims[i] == 0) b_str(&d, 2, "batch");
        b_msg(&sh, 1, &d);
    }
    b_int(&tt, 1, elem);
    b_msg(&tt, 2, &sh);
    b_msg(&ty, 1, &tt);
    b_str(&vi, 1, name);
    b_msg(&vi, 2, &ty);
    b_msg(g, field, &vi);
}

static float raw_w[6] = {1, 2, 3, 4, 5, 6};

/* A Relu subgraph: input x, output y. */
static void b_small_graph(buf *out, uint32_t field, const char *name) {
    buf g = {0}, n = {0};
    b_str(&n, 1, "x");
    b_str(&n, 2, "y");
    b_str(&n, 4, "Relu");
    b_msg(&g, 1, &n);
    b_str(&g, 2, name);
    b_msg(out, field, &g);
}

static void b_attr_tensor(buf *a, uint32_t field, const char *name, float v) {
    buf t = {0};
    int64_t one = 1;
    b_dims(&t, &one, 1);
    b_int(&t, 2, ONNX_FLOAT);
    b_str(&t, 8, name);
    b_float(&t, 4, v); /* float_data unpacked */
    b_msg(a, field, &t);
}

static void b_node_attrs(buf *n) {
    buf a = {0};
    /* FLOAT */
    b_str(&a, 1, "alpha"), b_int(&a, 20, ONNX_ATTR_FLOAT), b_float(&a, 2, 0.5f);
    b_msg(n, 5, &a);
    /* INT, negative (10-byte varint) */
    b_str(&a, 1, "axis"), b_int(&a, 20, ONNX_ATTR_INT), b_int(&a, 3, -1);
    b_msg(n, 5, &a);
    /* STRING (bytes with an embedded NUL) */
    b_str(&a, 1, "mode"), b_int(&a, 20, ONNX_ATTR_STRING), b_bytes(&a, 4, "ab\0c", 4);
    b_msg(n, 5, &a);
    /* TENSOR */
    b_str(&a, 1, "value"), b_int(&a, 20, ONNX_ATTR_TENSOR), b_attr_tensor(&a, 5, "cst", 7.0f);
    b_msg(n, 5, &a);
    /* GRAPH */
    b_str(&a, 1, "body"), b_int(&a, 20, ONNX_ATTR_GRAPH), b_small_graph(&a, 6, "body_g");
    b_msg(n, 5, &a);
    /* FLOATS: one packed run then one unpacked value */
    {
        float fl[2] = {1.5f, -2.5f};
        b_str(&a, 1, "scales"), b_int(&a, 20, ONNX_ATTR_FLOATS), b_packed_floats(&a, 7, fl, 2), b_float(&a, 7, 4.0f);
        b_msg(n, 5, &a);
    }
    /* INTS: unpacked, packed, unpacked interleaved with another field */
    {
        int64_t iv[2] = {2, -3};
        b_str(&a, 1, "pads"), b_int(&a, 8, 1), b_packed_ints(&a, 8, iv, 2), b_int(&a, 20, ONNX_ATTR_INTS);
        b_int(&a, 8, 1LL << 40);
        b_msg(n, 5, &a);
    }
    /* STRINGS */
    b_str(&a, 1, "names"), b_int(&a, 20, ONNX_ATTR_STRINGS), b_str(&a, 9, "a"), b_str(&a, 9, ""), b_str(&a, 9, "bc");
    b_msg(n, 5, &a);
    /* TENSORS */
    b_str(&a, 1, "tlist"), b_int(&a, 20, ONNX_ATTR_TENSORS), b_attr_tensor(&a, 10, "t0", 1.0f),
        b_attr_tensor(&a, 10, "t1", 2.0f);
    b_msg(n, 5, &a);
    /* GRAPHS */
    b_str(&a, 1, "branches"), b_int(&a, 20, ONNX_ATTR_GRAPHS), b_small_graph(&a, 11, "b0"),
        b_small_graph(&a, 11, "b1");
    b_msg(n, 5, &a);
    /* IR version 1 style: no type field, infer INT */
    b_str(&a, 1, "legacy"), b_int(&a, 3, 42);
    b_msg(n, 5, &a);
    /* ref_attr_name (function attribute reference) */
    b_str(&a, 1, "ref"), b_int(&a, 20, ONNX_ATTR_FLOAT), b_str(&a, 21, "outer_alpha");
    b_msg(n, 5, &a);
    /* TYPE_PROTO: sequence of float tensors */
    {
        buf tp = {0}, seq = {0}, et = {0}, tt = {0};
        b_int(&tt, 1, ONNX_FLOAT);
        b_msg(&et, 1, &tt);
        b_msg(&seq, 1, &et);
        b_msg(&tp, 4, &seq);
        b_str(&a, 1, "tp"), b_int(&a, 20, ONNX_ATTR_TYPE_PROTO), b_msg(&a, 14, &tp);
        b_msg(n, 5, &a);
    }
    /* an unknown field of each wire type, and doc_string: skipped */
    b_str(&a, 1, "skipme"), b_int(&a, 20, ONNX_ATTR_INT), b_int(&a, 3, 5), b_str(&a, 13, "doc");
    b_int(&a, 99, 12345), b_fixed64(&a, 98, 1), b_fixed32(&a, 97, 1), b_str(&a, 1000, "zzz");
    b_msg(n, 5, &a);
}

enum { N_ATTRS = 14 };

static void b_initializers(buf *g) {
    buf t = {0};
    /* W: FLOAT [2,3] raw_data */
    {
        int64_t d[2] = {2, 3};
        b_dims(&t, d, 2);
        b_int(&t, 2, ONNX_FLOAT);
        b_str(&t, 8, "W");
        uint8_t raw[24];
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 4; k++) raw[4 * i + k] = (uint8_t)(fbits(raw_w[i]) >> (8 * k));
        b_bytes(&t, 9, raw, sizeof raw);
        b_msg(g, 5, &t);
    }
    /* B: FLOAT [3] float_data packed, dims unpacked */
    {
        float v[3] = {0.25f, -1.0f, 3.5f};
        b_int(&t, 1, 3);
        b_int(&t, 2, ONNX_FLOAT);
        b_str(&t, 8, "B");
        b_packed_floats(&t, 4, v, 3);
        b_msg(g, 5, &t);
    }
    /* B2: FLOAT [3] float_data: unpacked, packed, unpacked */
    {
        float v[1] = {20.0f};
        b_int(&t, 1, 3);
        b_float(&t, 4, 10.0f);
        b_packed_floats(&t, 4, v, 1);
        b_float(&t, 4, 30.0f);
        b_int(&t, 2, ONNX_FLOAT);
        b_str(&t, 8, "B2");
        b_msg(g, 5, &t);
    }
    /* H: FLOAT16 [2] in int32_data (1.0, -2.0), one unpacked one packed */
    {
        int64_t v[1] = {0xc000};
        b_int(&t, 1, 2);
        b_int(&t, 2, ONNX_FLOAT16);
        b_str(&t, 8, "H");
        b_int(&t, 5, 0x3c00);
        b_packed_ints(&t, 5, v, 1);
        b_msg(g, 5, &t);
    }
    /* Q: INT4 [3] in int32_data: two elements per entry, low nibble first */
    {
        int64_t v[2] = {0x21, 0x0f}; /* elements 1, 2, -1 */
        b_int(&t, 1, 3);
        b_int(&t, 2, ONNX_INT4);
        b_str(&t, 8, "Q");
        b_packed_ints(&t, 5, v, 2);
        b_msg(g, 5, &t);
    }
    /* E: external data */
    {
        int64_t d[2] = {2, 2};
        b_dims(&t, d, 2);
        b_int(&t, 2, ONNX_FLOAT);
        b_str(&t, 8, "E");
        b_entry(&t, 13, "location", "weights.bin");
        b_entry(&t, 13, "offset", "4096");
        b_entry(&t, 13, "length", "16");
        b_entry(&t, 13, "checksum", "da39a3ee");
        b_entry(&t, 13, "other", "kept");
        b_int(&t, 14, 1);
        b_msg(g, 5, &t);
    }
    /* L: INT64 [4] int64_data packed + unpacked, negative values */
    {
        int64_t v[2] = {-7, 1LL << 50};
        b_int(&t, 1, 4);
        b_int(&t, 2, ONNX_INT64);
        b_str(&t, 8, "L");
        b_int(&t, 7, 5);
        b_packed_ints(&t, 7, v, 2);
        b_int(&t, 7, -1);
        b_msg(g, 5, &t);
    }
    /* D: DOUBLE [2] double_data: unpacked + packed */
    {
        b_int(&t, 1, 2);
        b_int(&t, 2, ONNX_DOUBLE);
        b_str(&t, 8, "D");
        b_fixed64(&t, 10, dbits(0.1));
        buf s = {0};
        uint64_t u = dbits(-2.0);
        for (int k = 0; k < 8; k++) b_byte(&s, (uint8_t)(u >> (8 * k)));
        b_msg(&t, 10, &s);
        b_msg(g, 5, &t);
    }
    /* U: UINT32 [2] uint64_data */
    {
        int64_t v[1] = {4000000000LL};
        b_int(&t, 1, 2);
        b_int(&t, 2, ONNX_UINT32);
        b_str(&t, 8, "U");
        b_int(&t, 11, 7);
        b_packed_ints(&t, 11, v, 1);
        b_msg(g, 5, &t);
    }
    /* S: STRING [2] */
    {
        b_int(&t, 1, 2);
        b_int(&t, 2, ONNX_STRING);
        b_str(&t, 8, "S");
        b_str(&t, 6, "hello");
        b_bytes(&t, 6, "\0x", 2);
        b_msg(g, 5, &t);
    }
    /* Z: BOOL [3] int32_data, and an empty tensor */
    {
        b_int(&t, 1, 3);
        b_int(&t, 2, ONNX_BOOL);
        b_str(&t, 8, "Z");
        b_int(&t, 5, 1), b_int(&t, 5, 0), b_int(&t, 5, 1);
        b_msg(g, 5, &t);
        b_int(&t, 1, 0);
        b_int(&t, 1, 5);
        b_int(&t, 2, ONNX_FLOAT);
        b_str(&t, 8, "empty");
        b_msg(g, 5, &t);
    }
}

enum { N_INITS = 12 };

/* The model every decode test starts from. Its one opset_import comes last,
 * so every truncation of it is detectably incomplete. */
static buf build_model(void) {
    buf m = {0}, g = {0}, n = {0}, f = {0};
    b_int(&m, 1, 9);
    b_str(&m, 2, "smelt-test");
    b_str(&m, 3, "0.1");
    b_str(&m, 4, "org.smelt");
    b_int(&m, 5, 3);
    b_str(&m, 6, "documentation is skipped");
    b_entry(&m, 14, "author", "me");
    /* a FunctionProto */
    b_str(&f, 1, "MyFn");
    b_str(&f, 10, "custom");
    b_str(&f, 4, "a"), b_str(&f, 4, "b"), b_str(&f, 5, "c");
    b_str(&f, 6, "alpha");
    {
        buf a = {0};
        b_str(&a, 1, "beta"), b_int(&a, 20, ONNX_ATTR_INT), b_int(&a, 3, 2);
        b_msg(&f, 11, &a);
        buf fn = {0};
        b_str(&fn, 1, "a"), b_str(&fn, 1, "b"), b_str(&fn, 2, "c"), b_str(&fn, 4, "Add");
        b_msg(&f, 7, &fn);
        buf o = {0};
        b_str(&o, 1, ""), b_int(&o, 2, 18);
        b_msg(&f, 9, &o);
    }
    b_msg(&m, 25, &f);
    b_int(&m, 99, 1); /* unknown top-level field */

    /* graph */
    b_str(&n, 1, "X"), b_str(&n, 1, "W"), b_str(&n, 1, "");
    b_str(&n, 2, "Y");
    b_str(&n, 3, "conv0");
    b_str(&n, 4, "Conv");
    b_str(&n, 7, "");
    b_str(&n, 6, "node doc");
    b_node_attrs(&n);
    b_msg(&g, 1, &n);
    b_str(&n, 1, "Y"), b_str(&n, 1, "c"), b_str(&n, 2, "Z"), b_str(&n, 4, "MyFn"), b_str(&n, 7, "custom");
    b_msg(&g, 1, &n);
    b_str(&g, 2, "main");
    b_initializers(&g);
    {
        int64_t xd[2] = {0, 3}, yd[3] = {0, -1, 4};
        b_value_info(&g, 11, "X", ONNX_FLOAT, xd, 2);
        b_value_info(&g, 12, "Y", ONNX_FLOAT, yd, 3);
        b_value_info(&g, 13, "Z", ONNX_FLOAT16, NULL, 0);
        /* an input of sequence type */
        buf vi = {0}, ty = {0}, seq = {0}, et = {0}, tt = {0};
        b_int(&tt, 1, ONNX_FLOAT);
        b_msg(&et, 1, &tt);
        b_msg(&seq, 1, &et);
        b_msg(&ty, 4, &seq);
        b_str(&vi, 1, "seq_in");
        b_msg(&vi, 2, &ty);
        b_msg(&g, 11, &vi);
        /* a sparse initializer */
        buf sp = {0}, vals = {0}, idx = {0};
        int64_t one = 1;
        b_dims(&vals, &one, 1), b_int(&vals, 2, ONNX_FLOAT), b_str(&vals, 8, "sp"), b_float(&vals, 4, 9.0f);
        b_dims(&idx, &one, 1), b_int(&idx, 2, ONNX_INT64), b_int(&idx, 7, 3);
        b_msg(&sp, 1, &vals);
        b_msg(&sp, 2, &idx);
        b_int(&sp, 3, 10);
        b_msg(&g, 15, &sp);
    }
    b_msg(&m, 7, &g);
    b_opset(&m, "", 17);
    return m;
}

/* ---- helpers -------------------------------------------------------------- */

/* Decode a copy of exactly n bytes (so ASan sees any overread). */
static int decode(const uint8_t *p, size_t n, arena *a, onnx_model **m, diag *d) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    diag_init(d);
    int r = onnx_pb_decode_model(copy, n, "model.onnx", a, m, d);
    free(copy);
    return r;
}

static const onnx_attribute *find_attr(const onnx_node *n, const char *name) {
    for (size_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

static const onnx_tensor *find_init(const onnx_graph *g, const char *name) {
    for (size_t i = 0; i < g->n_initializers; i++)
        if (!strcmp(g->initializers[i].name, name)) return &g->initializers[i];
    return NULL;
}

/* Expect decoding to fail with a message containing `want`. */
static void expect_error(const char *what, const uint8_t *p, size_t n, const char *want, int line) {
    arena a;
    arena_init(&a);
    diag d;
    onnx_model *m;
    int r = decode(p, n, &a, &m, &d);
    if (r != -1 || m != NULL) {
        n_fail++;
        printf("FAIL line %d: %s: decoded without error\n", line, what);
    } else if (!strstr(d.msg, want)) {
        n_fail++;
        printf("FAIL line %d: %s: error '%s' does not contain '%s'\n", line, what, d.msg, want);
    } else if (strncmp(d.msg, "model.onnx: byte ", 17) != 0) {
        n_fail++;
        printf("FAIL line %d: %s: error '%s' does not start with the file and offset\n", line, what, d.msg);
    } else {
        n_pass++;
    }
    arena_free(&a);
}
#define EXPECT_ERROR(what, b, want) expect_error(what, (b).p, (b).n, want, __LINE__)

static int bytes_eq(const uint8_t *p, const uint8_t *q, size_t n) { return memcmp(p, q, n) == 0; }

/* ---- tests: a valid model -------------------------------------------------- */

static void test_valid_model(void) {
    buf mb = build_model();
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d);
    onnx_model *m = NULL;
    int r = onnx_pb_decode_model(mb.p, mb.n, "model.onnx", &a, &m, &d);
    CHECK(r == 0 && m, "valid model decodes: %s", d.msg);
    if (r || !m) goto out;

    CHECK(m->ir_version == 9, "ir_version %lld", (long long)m->ir_version);
    CHECK(!strcmp(m->producer_name, "smelt-test") && !strcmp(m->producer_version, "0.1"), "producer");
    CHECK(!strcmp(m->domain, "org.smelt") && m->model_version == 3, "domain/model_version");
    CHECK(m->n_opset_import == 1 && !strcmp(m->opset_import[0].domain, "") && m->opset_import[0].version == 17,
          "opset_import");
    CHECK(m->n_metadata_props == 1 && !strcmp(m->metadata_props[0].key, "author") &&
              !strcmp(m->metadata_props[0].value, "me"),
          "metadata_props");
    CHECK(!strcmp(m->file, "model.onnx"), "file");

    /* function */
    CHECK(m->n_functions == 1, "n_functions %zu", m->n_functions);
    if (m->n_functions == 1) {
        const onnx_function *f = &m->functions[0];
        CHECK(!strcmp(f->name, "MyFn") && !strcmp(f->domain, "custom"), "function name/domain");
        CHECK(f->n_inputs == 2 && !strcmp(f->inputs[1], "b") && f->n_outputs == 1 && !strcmp(f->outputs[0], "c"),
              "function inputs/outputs");
        CHECK(f->n_attr_names == 1 && !strcmp(f->attr_names[0], "alpha"), "function attribute names");
        CHECK(f->n_attr_defaults == 1 && !strcmp(f->attr_defaults[0].name, "beta") && f->attr_defaults[0].i == 2,
              "function attribute_proto");
        CHECK(f->n_nodes == 1 && !strcmp(f->nodes[0].op_type, "Add") && f->nodes[0].n_inputs == 2,
              "function node");
        CHECK(f->n_opset_import == 1 && f->opset_import[0].version == 18, "function opset");
    }

    const onnx_graph *g = m->graph;
    CHECK(!strcmp(g->name, "main"), "graph name");
    CHECK(g->n_nodes == 2, "n_nodes %zu", g->n_nodes);
    if (g->n_nodes != 2) goto out;
    const onnx_node *n = &g->nodes[0];
    CHECK(!strcmp(n->op_type, "Conv") && !strcmp(n->name, "conv0") && !strcmp(n->domain, ""), "node 0");
    CHECK(n->n_inputs == 3 && !strcmp(n->inputs[0], "X") && !strcmp(n->inputs[1], "W") && !strcmp(n->inputs[2], ""),
          "node inputs (optional input as \"\")");
    CHECK(n->n_outputs == 1 && !strcmp(n->outputs[0], "Y"), "node outputs");
    CHECK(n->n_attrs == N_ATTRS, "n_attrs %zu", n->n_attrs);
    CHECK(!strcmp(g->nodes[1].domain, "custom") && !strcmp(g->nodes[1].op_type, "MyFn"), "node 1 domain");

    const onnx_attribute *at;
    at = find_attr(n, "alpha");
    CHECK(at && at->type == ONNX_ATTR_FLOAT && at->f == 0.5f, "FLOAT attribute");
    at = find_attr(n, "axis");
    CHECK(at && at->type == ONNX_ATTR_INT && at->i == -1, "INT attribute (negative)");
    at = find_attr(n, "mode");
    CHECK(at && at->type == ONNX_ATTR_STRING && at->s.len == 4 && !memcmp(at->s.str, "ab\0c", 4) && at->s.str[4] == 0,
          "STRING attribute (bytes with NUL, NUL-terminated copy)");
    at = find_attr(n, "value");
    CHECK(at && at->type == ONNX_ATTR_TENSOR && at->t && !strcmp(at->t->name, "cst") && at->t->n_float_data == 1 &&
              at->t->float_data[0] == 7.0f,
          "TENSOR attribute");
    at = find_attr(n, "body");
    CHECK(at && at->type == ONNX_ATTR_GRAPH && at->g && !strcmp(at->g->name, "body_g") && at->g->n_nodes == 1 &&
              !strcmp(at->g->nodes[0].op_type, "Relu"),
          "GRAPH attribute");
    at = find_attr(n, "scales");
    CHECK(at && at->type == ONNX_ATTR_FLOATS && at->n_floats == 3 && at->floats[0] == 1.5f &&
              at->floats[1] == -2.5f && at->floats[2] == 4.0f,
          "FLOATS attribute, packed + unpacked");
    at = find_attr(n, "pads");
    CHECK(at && at->type == ONNX_ATTR_INTS && at->n_ints == 4 && at->ints[0] == 1 && at->ints[1] == 2 &&
              at->ints[2] == -3 && at->ints[3] == (1LL << 40),
          "INTS attribute, unpacked + packed + unpacked");
    at = find_attr(n, "names");
    CHECK(at && at->type == ONNX_ATTR_STRINGS && at->n_strings == 3 && !strcmp(at->strings[0].str, "a") &&
              at->strings[1].len == 0 && !strcmp(at->strings[2].str, "bc"),
          "STRINGS attribute");
    at = find_attr(n, "tlist");
    CHECK(at && at->type == ONNX_ATTR_TENSORS && at->n_tensors == 2 && !strcmp(at->tensors[1].name, "t1") &&
              at->tensors[1].float_data[0] == 2.0f,
          "TENSORS attribute");
    at = find_attr(n, "branches");
    CHECK(at && at->type == ONNX_ATTR_GRAPHS && at->n_graphs == 2 && !strcmp(at->graphs[1].name, "b1"),
          "GRAPHS attribute");
    at = find_attr(n, "legacy");
    CHECK(at && at->type == ONNX_ATTR_INT && at->i == 42, "type inferred for an IR v1 attribute");
    at = find_attr(n, "ref");
    CHECK(at && !strcmp(at->ref_attr_name, "outer_alpha"), "ref_attr_name");
    at = find_attr(n, "tp");
    CHECK(at && at->type == ONNX_ATTR_TYPE_PROTO && at->tp && at->tp->kind == ONNX_TYPE_SEQUENCE && at->tp->elem &&
              at->tp->elem->kind == ONNX_TYPE_TENSOR && at->tp->elem->elem_type == ONNX_FLOAT,
          "TYPE_PROTO attribute");
    at = find_attr(n, "skipme");
    CHECK(at && at->i == 5, "unknown fields skipped");

    /* initializers */
    CHECK(g->n_initializers == N_INITS, "n_initializers %zu", g->n_initializers);
    const onnx_tensor *t;
    const uint8_t *bytes;
    size_t nb;
    t = find_init(g, "W");
    CHECK(t && t->data_type == ONNX_FLOAT && t->ndims == 2 && t->dims[0] == 2 && t->dims[1] == 3 && t->numel == 6,
          "W dims");
    if (t) {
        CHECK(t->has_raw_data && t->raw_data.size == 24 && t->raw_data.data >= mb.p &&
                  t->raw_data.data + 24 <= mb.p + mb.n,
              "raw_data is a view into the input buffer");
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && bytes == t->raw_data.data && nb == 24,
              "onnx_tensor_bytes on raw_data is zero-copy");
        float w5;
        memcpy(&w5, t->raw_data.data + 20, 4);
        CHECK(w5 == 6.0f, "raw_data content");
    }
    t = find_init(g, "B");
    CHECK(t && t->n_float_data == 3 && t->float_data[2] == 3.5f && t->ndims == 1 && t->dims[0] == 3,
          "B: float_data packed, dims unpacked");
    if (t) {
        float want[3] = {0.25f, -1.0f, 3.5f};
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && nb == 12 && bytes_eq(bytes, (uint8_t *)want, 12),
              "B bytes");
    }
    t = find_init(g, "B2");
    CHECK(t && t->n_float_data == 3 && t->float_data[0] == 10.0f && t->float_data[1] == 20.0f &&
              t->float_data[2] == 30.0f,
          "B2: float_data unpacked + packed + unpacked");
    t = find_init(g, "H");
    if (t) {
        const uint8_t want[4] = {0x00, 0x3c, 0x00, 0xc0};
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && nb == 4 && bytes_eq(bytes, want, 4),
              "FLOAT16 via int32_data -> uint16 bit patterns");
    } else CHECK(0, "H missing");
    t = find_init(g, "Q");
    if (t) {
        const uint8_t want[2] = {0x21, 0x0f};
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && nb == 2 && bytes_eq(bytes, want, 2),
              "INT4 via int32_data: one packed byte per entry");
    } else CHECK(0, "Q missing");
    t = find_init(g, "E");
    CHECK(t && t->is_external && !strcmp(t->ext_location, "weights.bin") && t->ext_offset == 4096 &&
              t->ext_has_length && t->ext_length == 16 && !strcmp(t->ext_checksum, "da39a3ee") &&
              t->n_external_data == 5 && !strcmp(t->external_data[4].value, "kept"),
          "external data fields");
    if (t) {
        diag d2;
        diag_init(&d2);
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d2) == -1 && strstr(d2.msg, "external"),
              "onnx_tensor_bytes refuses external data: %s", d2.msg);
    }
    t = find_init(g, "L");
    CHECK(t && t->n_int64_data == 4 && t->int64_data[0] == 5 && t->int64_data[1] == -7 &&
              t->int64_data[2] == (1LL << 50) && t->int64_data[3] == -1,
          "int64_data packed + unpacked");
    if (t) {
        const int64_t *v;
        size_t cnt;
        CHECK(onnx_tensor_int64_values(t, &a, &v, &cnt, &d) == 0 && cnt == 4 && v[1] == -7, "int64 values");
    }
    t = find_init(g, "D");
    CHECK(t && t->n_double_data == 2 && t->double_data[0] == 0.1 && t->double_data[1] == -2.0,
          "double_data unpacked + packed");
    t = find_init(g, "U");
    if (t) {
        const uint8_t want[8] = {7, 0, 0, 0, 0x00, 0x28, 0x6b, 0xee};
        CHECK(t->n_uint64_data == 2 && t->uint64_data[1] == 4000000000ULL, "uint64_data");
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && nb == 8 && bytes_eq(bytes, want, 8),
              "UINT32 via uint64_data");
        const int64_t *v;
        size_t cnt;
        CHECK(onnx_tensor_int64_values(t, &a, &v, &cnt, &d) == 0 && cnt == 2 && v[1] == 4000000000LL,
              "uint32 values widened");
    } else CHECK(0, "U missing");
    t = find_init(g, "S");
    CHECK(t && t->n_string_data == 2 && t->string_data[0].size == 5 && !memcmp(t->string_data[0].data, "hello", 5) &&
              t->string_data[1].size == 2 && t->string_data[0].data > mb.p,
          "string_data views");
    t = find_init(g, "Z");
    if (t) {
        const uint8_t want[3] = {1, 0, 1};
        CHECK(onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && nb == 3 && bytes_eq(bytes, want, 3), "BOOL bytes");
    } else CHECK(0, "Z missing");
    t = find_init(g, "empty");
    CHECK(t && t->numel == 0 && onnx_tensor_bytes(t, &a, &bytes, &nb, &d) == 0 && nb == 0, "empty tensor");

    /* inputs, outputs, value_info */
    CHECK(g->n_inputs == 2 && g->n_outputs == 1 && g->n_value_infos == 1, "graph io counts");
    if (g->n_inputs == 2) {
        const onnx_type *ty = &g->inputs[0].type;
        CHECK(!strcmp(g->inputs[0].name, "X") && ty->kind == ONNX_TYPE_TENSOR && ty->elem_type == ONNX_FLOAT &&
                  ty->has_shape && ty->ndims == 2 && ty->dims[0].kind == ONNX_DIM_PARAM &&
                  !strcmp(ty->dims[0].param, "batch") && ty->dims[1].kind == ONNX_DIM_VALUE && ty->dims[1].value == 3,
              "input X type");
        CHECK(!strcmp(g->inputs[1].name, "seq_in") && g->inputs[1].type.kind == ONNX_TYPE_SEQUENCE,
              "sequence-typed input kind");
    }
    if (g->n_outputs == 1) {
        const onnx_type *ty = &g->outputs[0].type;
        CHECK(ty->ndims == 3 && ty->dims[1].kind == ONNX_DIM_UNKNOWN && ty->dims[2].value == 4, "output dims");
    }
    if (g->n_value_infos == 1)
        CHECK(g->value_infos[0].type.elem_type == ONNX_FLOAT16 && g->value_infos[0].type.has_shape &&
                  g->value_infos[0].type.ndims == 0,
              "value_info scalar shape");
    CHECK(g->n_sparse_initializers == 1 && !strcmp(g->sparse_initializers[0].name, "sp") &&
              g->sparse_initializers[0].ndims == 1 && g->sparse_initializers[0].dims[0] == 10,
          "sparse initializer name");
out:
    arena_free(&a);
    free(mb.p);
}

static void test_standalone_tensor(void) {
    buf t = {0};
    int64_t d[2] = {1, 2};
    b_dims(&t, d, 2);
    b_int(&t, 2, ONNX_BFLOAT16);
    b_str(&t, 8, "x");
    uint8_t raw[4] = {0x80, 0x3f, 0x00, 0x40};
    b_bytes(&t, 9, raw, 4);
    arena a;
    arena_init(&a);
    diag dg;
    diag_init(&dg);
    onnx_tensor *out = NULL;
    CHECK(onnx_pb_decode_tensor(t.p, t.n, "input_0.pb", &a, &out, &dg) == 0 && out && out->data_type == ONNX_BFLOAT16 &&
              out->numel == 2 && out->raw_data.data == t.p + t.n - 4,
          "standalone TensorProto: %s", dg.msg);
    /* truncations of a standalone tensor: either an error or a smaller
     * valid message, never a crash */
    for (size_t k = 0; k < t.n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, t.p, k);
        diag_init(&dg);
        onnx_tensor *o;
        int r = onnx_pb_decode_tensor(copy, k, "input_0.pb", &a, &o, &dg);
        CHECK(r == 0 || (r == -1 && !o && dg.errors == 1), "tensor truncated at %zu", k);
        free(copy);
    }
    arena_free(&a);
    free(t.p);
}

/* ---- tests: malformed input --------------------------------------------------- */

static void test_truncation(void) {
    buf mb = build_model();
    int bad = 0;
    for (size_t k = 0; k < mb.n; k++) {
        arena a;
        arena_init(&a);
        diag d;
        onnx_model *m;
        int r = decode(mb.p, k, &a, &m, &d);
        if (r != -1 || m || d.errors != 1 || strncmp(d.msg, "model.onnx: byte ", 17)) {
            if (bad++ < 5) printf("FAIL: model truncated to %zu of %zu bytes: r=%d msg='%s'\n", k, mb.n, r, d.msg);
        }
        arena_free(&a);
    }
    CHECK(bad == 0, "%d truncations decoded without a proper error", bad);
    free(mb.p);
}

/* Flip bytes of a valid model at random: any outcome but a crash is fine. */
static void test_random_corruption(void) {
    buf mb = build_model();
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    int ok = 0, err = 0;
    for (int it = 0; it < 20000; it++) {
        uint8_t *copy = malloc(mb.n);
        memcpy(copy, mb.p, mb.n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t pos = (size_t)(s >> 33) % mb.n;
            copy[pos] = (uint8_t)(s >> 13);
        }
        arena a;
        arena_init(&a);
        diag d;
        diag_init(&d);
        onnx_model *m;
        if (onnx_pb_decode_model(copy, mb.n, "model.onnx", &a, &m, &d) == 0) {
            ok++;
            /* whatever decoded must be usable */
            for (size_t i = 0; i < m->graph->n_initializers; i++) {
                const uint8_t *p;
                size_t nb;
                diag d2;
                diag_init(&d2);
                onnx_tensor_bytes(&m->graph->initializers[i], &a, &p, &nb, &d2);
            }
        } else {
            err++;
        }
        arena_free(&a);
        free(copy);
    }
    CHECK(ok + err == 20000 && err > 0, "random corruption: %d ok, %d errors", ok, err);
    free(mb.p);
}

/* A minimal model around a graph body given as bytes. */
static buf wrap_graph(buf *g) {
    buf m = {0};
    b_int(&m, 1, 8);
    b_msg(&m, 7, g);
    b_opset(&m, "", 17);
    return m;
}

/* A model whose graph holds one initializer built by the caller. */
static buf wrap_tensor(buf *t) {
    buf g = {0};
    b_msg(&g, 5, t);
    return wrap_graph(&g);
}

static void test_malformed(void) {
    buf m, g, t, n, a;

    /* empty file */
    expect_error("empty file", (const uint8_t *)"", 0, "ModelProto.ir_version: missing", __LINE__);

    /* wrong wire type for a known field: graph as a varint */
    m = (buf){0};
    b_int(&m, 1, 8), b_int(&m, 7, 5), b_opset(&m, "", 17);
    EXPECT_ERROR("graph as varint", m, "ModelProto.graph: wire type 0 (varint), expected 2 (length-delimited)");
    free(m.p);

    /* wrong wire type deep inside: node input as a fixed32 */
    g = (buf){0}, n = (buf){0};
    b_str(&n, 4, "Relu"), b_fixed32(&n, 1, 7);
    b_msg(&g, 1, &n);
    m = wrap_graph(&g);
    EXPECT_ERROR("input as fixed32", m, "ModelProto.graph.node[0].input[0]: wire type 5 (32-bit), expected 2 (length-delimited)");
    free(m.p);

    /* wrong wire type: float attribute as varint */
    g = (buf){0}, n = (buf){0}, a = (buf){0};
    b_str(&a, 1, "alpha"), b_int(&a, 2, 1);
    b_str(&n, 4, "Elu"), b_msg(&n, 5, &a);
    b_msg(&g, 1, &n);
    m = wrap_graph(&g);
    EXPECT_ERROR("f as varint", m, "ModelProto.graph.node[0].attribute[0].f: wire type 0 (varint), expected 5");
    free(m.p);

    /* length past end of file, at the documented path node[3].attribute[1].t.dims */
    g = (buf){0};
    for (int i = 0; i < 4; i++) {
        n = (buf){0};
        b_str(&n, 4, "Identity");
        for (int k = 0; k < 2; k++) {
            a = (buf){0};
            b_str(&a, 1, k ? "value" : "other");
            if (k == 1 && i == 3) {
                buf tt = {0};
                b_tag(&tt, 1, 2), b_varint(&tt, 99999), b_byte(&tt, 1);
                b_msg(&a, 5, &tt);
            } else {
                b_int(&a, 3, k);
            }
            b_msg(&n, 5, &a);
        }
        b_msg(&g, 1, &n);
    }
    m = wrap_graph(&g);
    {
        /* the 99999 length varint (9f 8d 06) follows the dims tag 0x0a */
        size_t off = 0;
        for (size_t k = 0; k + 3 < m.n; k++)
            if (m.p[k] == 0x0a && m.p[k + 1] == 0x9f && m.p[k + 2] == 0x8d && m.p[k + 3] == 0x06) off = k + 1;
        char want[256];
        snprintf(want, sizeof want,
                 "model.onnx: byte %zu: ModelProto.graph.node[3].attribute[1].t.dims: length 99999 past end of file",
                 off);
        EXPECT_ERROR("dims length past end", m, want);
    }
    free(m.p);

    /* a length past the end of the enclosing message but not of the file */
    g = (buf){0}, n = (buf){0};
    b_tag(&n, 4, 2), b_varint(&n, 10), b_raw(&n, "Relu", 4);
    b_msg(&g, 1, &n);
    b_str(&g, 2, "padding-after-the-node");
    m = wrap_graph(&g);
    EXPECT_ERROR("length past message", m, "ModelProto.graph.node[0].op_type: length 10 past end of enclosing message");
    free(m.p);

    /* overlong varint: 11 bytes */
    m = (buf){0};
    b_tag(&m, 1, 0);
    for (int i = 0; i < 10; i++) b_byte(&m, 0x80);
    b_byte(&m, 0);
    EXPECT_ERROR("11-byte varint", m, "ModelProto.ir_version: varint longer than 10 bytes");
    free(m.p);

    /* 10-byte varint overflowing 64 bits */
    m = (buf){0};
    b_tag(&m, 1, 0);
    for (int i = 0; i < 9; i++) b_byte(&m, 0xff);
    b_byte(&m, 0x02);
    EXPECT_ERROR("varint > 64 bits", m, "varint overflows 64 bits");
    free(m.p);

    /* varint truncated by the end of the file */
    m = (buf){0};
    b_tag(&m, 1, 0), b_byte(&m, 0x80);
    EXPECT_ERROR("truncated varint", m, "ModelProto.ir_version: varint truncated by end of file");
    free(m.p);

    /* groups and invalid wire types */
    m = (buf){0};
    b_int(&m, 1, 8), b_tag(&m, 50, 3), b_tag(&m, 50, 4);
    EXPECT_ERROR("group", m, "ModelProto.field 50: groups (wire type 3) are not supported");
    free(m.p);
    m = (buf){0};
    b_int(&m, 1, 8), b_tag(&m, 50, 7);
    EXPECT_ERROR("wire type 7", m, "invalid wire type 7");
    free(m.p);
    m = (buf){0};
    b_int(&m, 1, 8), b_tag(&m, 0, 0), b_byte(&m, 0);
    EXPECT_ERROR("field 0", m, "invalid field number 0");
    free(m.p);

    /* deep nesting: graph -> node -> attribute -> graph -> ... */
    for (int levels = 10; levels <= 40; levels += 30) {
        buf inner = {0};
        b_str(&inner, 2, "leaf");
        for (int i = 0; i < levels; i++) {
            buf at = {0}, nd = {0};
            b_str(&at, 1, "body"), b_int(&at, 20, ONNX_ATTR_GRAPH), b_msg(&at, 6, &inner);
            b_str(&nd, 4, "Loop"), b_msg(&nd, 5, &at);
            b_msg(&inner, 1, &nd);
        }
        m = wrap_graph(&inner);
        if (levels == 10) {
            arena ar;
            arena_init(&ar);
            diag d;
            onnx_model *mm;
            CHECK(decode(m.p, m.n, &ar, &mm, &d) == 0, "10 nested subgraphs decode: %s", d.msg);
            arena_free(&ar);
        } else {
            EXPECT_ERROR("deep nesting", m, "nested deeper than 64 levels");
        }
        free(m.p);
    }
    /* deep nesting through TypeProto sequences */
    {
        buf ty = {0}, tt = {0};
        b_int(&tt, 1, ONNX_FLOAT);
        b_msg(&ty, 1, &tt);
        for (int i = 0; i < 100; i++) {
            buf seq = {0};
            b_msg(&seq, 1, &ty);
            b_msg(&ty, 4, &seq);
        }
        buf vi = {0};
        b_str(&vi, 1, "deep"), b_msg(&vi, 2, &ty);
        g = (buf){0};
        b_msg(&g, 11, &vi);
        m = wrap_graph(&g);
        EXPECT_ERROR("deep type nesting", m, "nested deeper than 64 levels");
        free(m.p);
    }

    /* negative dim */
    t = (buf){0};
    b_int(&t, 1, 2), b_int(&t, 1, -3), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "neg");
    m = wrap_tensor(&t);
    EXPECT_ERROR("negative dim", m, "ModelProto.graph.initializer[0].dims[1]: tensor 'neg': negative dimension -3");
    free(m.p);

    /* dims whose product overflows */
    t = (buf){0};
    b_int(&t, 1, 1LL << 40), b_int(&t, 1, 1LL << 40), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "huge");
    m = wrap_tensor(&t);
    EXPECT_ERROR("dims overflow", m, "tensor 'huge': product of dims overflows");
    free(m.p);

    /* dims fine as a count but not as bytes */
    t = (buf){0};
    b_int(&t, 1, 1LL << 62), b_int(&t, 2, ONNX_DOUBLE), b_str(&t, 8, "bytes");
    m = wrap_tensor(&t);
    EXPECT_ERROR("byte size overflow", m, "byte size of");
    free(m.p);

    /* raw_data size does not match dims */
    t = (buf){0};
    b_int(&t, 1, 3), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "short"), b_bytes(&t, 9, "12345678", 8);
    m = wrap_tensor(&t);
    EXPECT_ERROR("raw size", m, "tensor 'short': raw_data has 8 bytes, FLOAT dims need 12");
    free(m.p);

    /* typed data count does not match dims */
    t = (buf){0};
    b_int(&t, 1, 3), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "few"), b_float(&t, 4, 1.0f);
    m = wrap_tensor(&t);
    EXPECT_ERROR("float count", m, "tensor 'few': float_data has 1 values, FLOAT dims need 3");
    free(m.p);

    /* data in the wrong typed field */
    t = (buf){0};
    b_int(&t, 1, 1), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "wrong"), b_int(&t, 7, 1);
    m = wrap_tensor(&t);
    EXPECT_ERROR("wrong field", m, "data in a field other than float_data");
    free(m.p);

    /* both raw_data and typed data */
    t = (buf){0};
    b_int(&t, 1, 1), b_int(&t, 2, ONNX_FLOAT), b_float(&t, 4, 1.0f), b_bytes(&t, 9, "1234", 4);
    m = wrap_tensor(&t);
    EXPECT_ERROR("raw + typed", m, "both raw_data and typed data");
    free(m.p);

    /* segment */
    t = (buf){0};
    {
        buf sg = {0};
        b_int(&sg, 1, 0), b_int(&sg, 2, 1);
        b_msg(&t, 3, &sg);
    }
    b_str(&t, 8, "seg");
    m = wrap_tensor(&t);
    EXPECT_ERROR("segment", m, "ModelProto.graph.initializer[0].segment: tensor 'seg': segmented tensors are not supported");
    free(m.p);

    /* packed fixed32 with a length that is not a multiple of 4 */
    t = (buf){0};
    b_int(&t, 1, 1), b_int(&t, 2, ONNX_FLOAT), b_bytes(&t, 4, "12345", 5);
    m = wrap_tensor(&t);
    EXPECT_ERROR("packed floats", m, "float_data: packed length 5 is not a multiple of 4");
    free(m.p);

    /* packed varints cut inside the run */
    t = (buf){0};
    b_int(&t, 2, ONNX_INT64), b_bytes(&t, 7, "\x01\x80", 2);
    m = wrap_tensor(&t);
    EXPECT_ERROR("packed varint cut", m, "int64_data[1]: varint truncated by end of enclosing message");
    free(m.p);

    /* packed encoding of a non-repeated field */
    m = (buf){0};
    b_bytes(&m, 1, "\x08", 1);
    EXPECT_ERROR("packed scalar", m, "ModelProto.ir_version: wire type 2 (length-delimited), expected 0 (varint)");
    free(m.p);

    /* a message field given twice */
    m = (buf){0};
    b_int(&m, 1, 8);
    g = (buf){0}, b_str(&g, 2, "a"), b_msg(&m, 7, &g);
    g = (buf){0}, b_str(&g, 2, "b"), b_msg(&m, 7, &g);
    b_opset(&m, "", 17);
    EXPECT_ERROR("graph twice", m, "ModelProto.graph: message field given twice");
    free(m.p);

    /* missing graph / missing opset_import */
    m = (buf){0};
    b_int(&m, 1, 8), b_opset(&m, "", 17);
    EXPECT_ERROR("no graph", m, "ModelProto.graph: missing");
    free(m.p);
    g = (buf){0};
    b_str(&g, 2, "g");
    m = (buf){0};
    b_int(&m, 1, 8), b_msg(&m, 7, &g);
    EXPECT_ERROR("no opset", m, "ModelProto.opset_import: missing");
    free(m.p);

    /* a name with a NUL byte */
    g = (buf){0}, n = (buf){0};
    b_bytes(&n, 4, "Re\0lu", 5);
    b_msg(&g, 1, &n);
    m = wrap_graph(&g);
    EXPECT_ERROR("NUL in op_type", m, "ModelProto.graph.node[0].op_type: string contains a NUL byte");
    free(m.p);

    /* node without op_type, attribute without name */
    g = (buf){0}, n = (buf){0};
    b_str(&n, 3, "nameless");
    b_msg(&g, 1, &n);
    m = wrap_graph(&g);
    EXPECT_ERROR("no op_type", m, "node 'nameless' has no op_type");
    free(m.p);
    g = (buf){0}, n = (buf){0}, a = (buf){0};
    b_int(&a, 3, 1);
    b_str(&n, 4, "Relu"), b_msg(&n, 5, &a);
    b_msg(&g, 1, &n);
    m = wrap_graph(&g);
    EXPECT_ERROR("attribute without name", m, "attribute[0].name: attribute without a name");
    free(m.p);

    /* external data: bad offset, no location, unknown data_location, length mismatch */
    t = (buf){0};
    b_int(&t, 1, 4), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "ext");
    b_entry(&t, 13, "location", "w.bin"), b_entry(&t, 13, "offset", "12x"), b_int(&t, 14, 1);
    m = wrap_tensor(&t);
    EXPECT_ERROR("bad offset", m, "initializer[0].external_data[1].value: external data 'offset' is '12x'");
    free(m.p);
    t = (buf){0};
    b_int(&t, 1, 4), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "ext"), b_entry(&t, 13, "offset", "0"), b_int(&t, 14, 1);
    m = wrap_tensor(&t);
    EXPECT_ERROR("no location", m, "external data without 'location'");
    free(m.p);
    t = (buf){0};
    b_int(&t, 1, 4), b_int(&t, 2, ONNX_FLOAT), b_int(&t, 14, 5);
    m = wrap_tensor(&t);
    EXPECT_ERROR("data_location 5", m, "unknown data_location 5");
    free(m.p);
    t = (buf){0};
    b_int(&t, 1, 4), b_int(&t, 2, ONNX_FLOAT), b_str(&t, 8, "ext");
    b_entry(&t, 13, "location", "w.bin"), b_entry(&t, 13, "length", "15"), b_int(&t, 14, 1);
    m = wrap_tensor(&t);
    EXPECT_ERROR("ext length", m, "external 'length' 15 but FLOAT dims need 16 bytes");
    free(m.p);
    t = (buf){0};
    b_int(&t, 1, 1), b_int(&t, 2, ONNX_FLOAT), b_entry(&t, 13, "offset", "99999999999999999999999");
    b_entry(&t, 13, "location", "w.bin"), b_int(&t, 14, 1);
    m = wrap_tensor(&t);
    EXPECT_ERROR("offset overflow", m, "not a decimal integer");
    free(m.p);

    /* the error for an attribute tensor names the attribute path */
    g = (buf){0}, n = (buf){0}, a = (buf){0};
    {
        buf tt = {0};
        b_int(&tt, 1, -1), b_int(&tt, 2, ONNX_FLOAT);
        b_str(&a, 1, "value"), b_msg(&a, 5, &tt);
    }
    b_str(&n, 4, "Constant"), b_msg(&n, 5, &a);
    b_msg(&g, 1, &n);
    m = wrap_graph(&g);
    EXPECT_ERROR("attr tensor dims", m, "ModelProto.graph.node[0].attribute[0].t.dims[0]: tensor '': negative dimension -1");
    free(m.p);

    /* a huge claimed count never allocates: 2^40 length on a tiny file */
    m = (buf){0};
    b_int(&m, 1, 8), b_tag(&m, 7, 2), b_varint(&m, 1ULL << 40);
    EXPECT_ERROR("huge length", m, "ModelProto.graph: length 1099511627776 past end of file");
    free(m.p);
}

/* onnx_tensor_bytes and onnx_tensor_int64_values on hand-made tensors. */
static void test_tensor_helpers(void) {
    arena a;
    arena_init(&a);
    diag d;
    diag_init(&d);
    const uint8_t *bytes;
    size_t nb;

    int32_t i8v[3] = {-1, 127, -128};
    onnx_tensor t = {.name = "i8", .data_type = ONNX_INT8, .numel = 3, .int32_data = i8v, .n_int32_data = 3};
    const int64_t *v;
    size_t n;
    CHECK(onnx_tensor_bytes(&t, &a, &bytes, &nb, &d) == 0 && nb == 3 && bytes[0] == 0xff && bytes[2] == 0x80,
          "INT8 bytes");
    CHECK(onnx_tensor_int64_values(&t, &a, &v, &n, &d) == 0 && n == 3 && v[0] == -1 && v[2] == -128,
          "INT8 values sign-extended");

    int32_t u2v[2] = {0xe4, 0x01}; /* UINT2 x5: 0,1,2,3 | 1 */
    onnx_tensor t2 = {.name = "u2", .data_type = ONNX_UINT2, .numel = 5, .int32_data = u2v, .n_int32_data = 2};
    CHECK(onnx_tensor_bytes(&t2, &a, &bytes, &nb, &d) == 0 && nb == 2 && bytes[0] == 0xe4 && bytes[1] == 0x01,
          "UINT2: four elements per int32_data entry");

    float cf[4] = {1, 2, 3, 4};
    onnx_tensor t3 = {.name = "c", .data_type = ONNX_COMPLEX64, .numel = 2, .float_data = cf, .n_float_data = 4};
    CHECK(onnx_tensor_bytes(&t3, &a, &bytes, &nb, &d) == 0 && nb == 16 && !memcmp(bytes + 12, &cf[3], 4),
          "COMPLEX64 from float_data pairs");

    onnx_tensor t4 = {.name = "bad", .data_type = ONNX_FLOAT, .numel = 3, .float_data = cf, .n_float_data = 2,
                      .file = "m.onnx"};
    diag_init(&d);
    CHECK(onnx_tensor_bytes(&t4, &a, &bytes, &nb, &d) == -1 && strstr(d.msg, "m.onnx") && strstr(d.msg, "'bad'"),
          "count mismatch caught by onnx_tensor_bytes: %s", d.msg);
    diag_init(&d);
    onnx_tensor t5 = {.name = "s", .data_type = ONNX_STRING, .numel = 0};
    CHECK(onnx_tensor_bytes(&t5, &a, &bytes, &nb, &d) == -1, "STRING has no byte layout");
    diag_init(&d);
    onnx_tensor t6 = {.name = "f", .data_type = ONNX_FLOAT, .numel = 2, .float_data = cf, .n_float_data = 2};
    CHECK(onnx_tensor_int64_values(&t6, &a, &v, &n, &d) == -1, "int64 values of a FLOAT tensor refused");

    CHECK(onnx_dtype_bits(ONNX_INT4) == 4 && onnx_dtype_bits(ONNX_COMPLEX128) == 128 &&
              onnx_dtype_bits(ONNX_STRING) == 0 && onnx_dtype_bits(99) == 0,
          "onnx_dtype_bits");
    CHECK(!strcmp(onnx_dtype_name(ONNX_FLOAT8E5M2), "FLOAT8E5M2") && !strcmp(onnx_dtype_name(-3), "UNKNOWN"),
          "onnx_dtype_name");
    arena_free(&a);
}

int main(void) {
    test_valid_model();
    test_standalone_tensor();
    test_tensor_helpers();
    test_malformed();
    test_truncation();
    test_random_corruption();
    printf("onnx_pb: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
