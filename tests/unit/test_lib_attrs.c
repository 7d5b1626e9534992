/* test_lib_attrs.c — unit tests of the library routines' attribute source
 * over a manifest step's "attrs" object (runtime/lib_attrs_json.c), the one
 * the compiled model's runtime uses: a routine driven through JSON
 * attributes must give what the reference interpreter gives for the same
 * node through the graph (TopK's axis and largest, CumSum's exclusive and
 * reverse, MaxUnpool's strides and pads, Unique with and without axis),
 * and the JSON side's errors (a missing attribute, a bad object) name what
 * is wrong and the node. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ir/interp.h"
#include "runtime/lib.h"
#include "support/check.h"
#include "support/run_text.h"

#define MAX_OUT 4

/* A caller of the routines as the runtime is one: outputs of given dtypes,
 * allocated zeroed when the routine names their shape. */
typedef struct json_run {
    int dtypes[MAX_OUT];
    rt_tensor out[MAX_OUT];
    char err[256];
} json_run;

static rt_tensor *make_output(rt_lib_call *c, uint32_t o, const int64_t *shape) {
    json_run *r = c->priv;
    if (o >= c->n_out) {
        rt_lib_error(c, "has no output %u", o);
        return NULL;
    }
    rt_tensor *t = &r->out[o];
    t->present = true;
    t->dtype = r->dtypes[o];
    t->numel = 1;
    for (int a = 0; a < t->rank; a++) {
        t->shape[a] = shape[a];
        t->numel *= shape[a];
    }
    int64_t nbytes = ir_dtype_storage_bytes((ir_dtype)t->dtype, t->numel);
    t->data = calloc(1, (size_t)(nbytes > 0 ? nbytes : 1));
    return t;
}

static rt_tensor rt_of(const interp_tensor *t) {
    rt_tensor r = {.present = true, .dtype = t->dtype, .rank = t->rank, .numel = 1, .data = t->data};
    for (int a = 0; a < t->rank; a++) {
        r.shape[a] = t->shape[a];
        r.numel *= t->shape[a];
    }
    return r;
}

/* Runs routine `name` on the inputs with attributes `json`; outputs of the
 * given dtypes and ranks land in r->out. Returns the routine's status (-2
 * when the attributes are not accepted). */
static int run_json(json_run *r, const char *name, const char *json, const interp_tensor *in, uint32_t n_in,
                    const int *dtypes, const int *ranks, uint32_t n_out) {
    memset(r, 0, sizeof *r);
    cJSON *obj = cJSON_Parse(json);
    rt_attrs *attrs = NULL;
    int ok = rt_attrs_from_json(&attrs, obj);
    cJSON_Delete(obj); /* the source keeps copies */
    if (ok) return -2;
    rt_tensor tin[8];
    for (uint32_t i = 0; i < n_in; i++) tin[i] = rt_of(&in[i]);
    for (uint32_t o = 0; o < n_out; o++) {
        r->dtypes[o] = dtypes[o];
        r->out[o].rank = ranks[o];
    }
    rt_lib_call c = {.node = "step_7", .in = tin, .n_in = n_in, .n_out = n_out, .attrs = attrs, .output = make_output,
                     .err = r->err, .err_size = sizeof r->err, .priv = r};
    rt_lib_fn fn = rt_lib_find(name);
    int rc = fn ? fn(&c) : -3;
    rt_attrs_free(attrs);
    return rc;
}

static void free_run(json_run *r, uint32_t n_out) {
    for (uint32_t o = 0; o < n_out; o++) free(r->out[o].data);
}

/* Output o of the JSON run equals the interpreter's output w (shape and bytes). */
static bool same(const json_run *r, uint32_t o, const interp_tensor *w) {
    const rt_tensor *t = &r->out[o];
    if (!t->data || t->dtype != (int)w->dtype || t->rank != w->rank) return false;
    for (int a = 0; a < t->rank; a++)
        if (t->shape[a] != w->shape[a]) return false;
    int64_t nbytes = ir_dtype_storage_bytes((ir_dtype)t->dtype, t->numel);
    return nbytes == (int64_t)w->nbytes && !memcmp(t->data, w->data, w->nbytes);
}

/* Routine `name` through JSON attributes gives the interpreter's outputs want. */
static bool json_gives(const char *name, const char *json, const interp_tensor *in, uint32_t n_in, const int *ranks,
                       uint32_t n_out, const interp_tensor *want) {
    json_run r;
    int dtypes[MAX_OUT] = {0};
    for (uint32_t o = 0; o < n_out; o++) dtypes[o] = want[o].dtype;
    bool ok = run_json(&r, name, json, in, n_in, dtypes, ranks, n_out) == 0;
    for (uint32_t o = 0; ok && o < n_out; o++) ok = same(&r, o, &want[o]);
    free_run(&r, n_out);
    return ok;
}

static void test_topk_axis_largest(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym n\n"
                       "  input %x: f32[3,2]\n  input %k: i64[1]\n"
                       "  %v: f32[n,2], %i: i64[n,2] = TopK(%x, %k) {axis=0, largest=0}\n"
                       "  output %v\n  output %i\n}\n";
    float x[6] = {4, 1, 2, 5, 2, 3};
    int64_t k = 2;
    interp_tensor in[2] = {test_tensor(IR_F32, 2, (int64_t[]){3, 2}, x), test_tensor(IR_I64, 1, (int64_t[]){1}, &k)},
                  want[2];
    CHECK(run_text(text, in, want) == 0);
    /* by hand: the two smallest of each column, equal values in index order */
    CHECK(!memcmp(want[0].data, (float[]){2, 1, 2, 3}, 16) && !memcmp(want[1].data, (int64_t[]){1, 0, 2, 2}, 32));
    CHECK(json_gives("TopK", "{\"axis\": 0, \"largest\": 0, \"sorted\": 1}", in, 2, (int[]){2, 2}, 2, want));
    /* other attributes give another result: the JSON side reads them */
    json_run r;
    CHECK(run_json(&r, "TopK", "{\"axis\": 0, \"largest\": 1, \"sorted\": 1}", in, 2, (int[]){IR_F32, IR_I64},
                   (int[]){2, 2}, 2) == 0);
    CHECK(!memcmp(r.out[0].data, (float[]){4, 5, 2, 3}, 16) && !same(&r, 0, &want[0]));
    free_run(&r, 2);
    CHECK(run_json(&r, "TopK", "{\"axis\": 1, \"largest\": 0, \"sorted\": 1}", in, 2, (int[]){IR_F32, IR_I64},
                   (int[]){2, 2}, 2) == 0);
    CHECK(r.out[0].shape[0] == 3 && !memcmp(r.out[0].data, (float[]){1, 4, 2, 5, 2, 3}, 24));
    free_run(&r, 2);
    free_outputs(want, 2);
}

static void test_cumsum_exclusive_reverse(void) {
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: i32[2,3]\n  input %a: i32[]\n"
                       "  %y: i32[2,3] = CumSum(%x, %a) {exclusive=1, reverse=1}\n"
                       "  %z: i32[2,3] = CumSum(%x, %a) {reverse=1}\n  output %y\n  output %z\n}\n";
    int32_t x[6] = {1, 2, 3, 4, 5, 6}, axis = 0;
    interp_tensor in[2] = {test_tensor(IR_I32, 2, (int64_t[]){2, 3}, x), test_tensor(IR_I32, 0, NULL, &axis)}, want[2];
    CHECK(run_text(text, in, want) == 0);
    CHECK(!memcmp(want[0].data, (int32_t[]){4, 5, 6, 0, 0, 0}, 24) && !memcmp(want[1].data, (int32_t[]){5, 7, 9, 4, 5, 6}, 24));
    CHECK(json_gives("CumSum", "{\"exclusive\": 1, \"reverse\": 1}", in, 2, (int[]){2}, 1, &want[0]));
    CHECK(json_gives("CumSum", "{\"exclusive\": 0, \"reverse\": 1}", in, 2, (int[]){2}, 1, &want[1]));
    free_outputs(want, 2);
}

static void test_max_unpool_strides_pads(void) {
    /* natural size (2 - 1) * 2 + 3 - 1 - 0 = 4 along each spatial axis */
    const char *text = "graph \"t\" source \"t.ir\" {\n"
                       "  input %x: f32[1,1,2,2]\n  input %i: i64[1,1,2,2]\n"
                       "  %y: f32[1,1,4,4] = MaxUnpool(%x, %i) {kernel_shape=[3,3], strides=[2,2], pads=[1,1,0,0]}\n"
                       "  output %y\n}\n";
    float x[4] = {1, 2, 3, 4};
    int64_t idx[4] = {0, 6, 9, 15};
    interp_tensor in[2] = {test_tensor(IR_F32, 4, (int64_t[]){1, 1, 2, 2}, x),
                           test_tensor(IR_I64, 4, (int64_t[]){1, 1, 2, 2}, idx)},
                  want[1];
    CHECK(run_text(text, in, want) == 0);
    float hand[16] = {[0] = 1, [6] = 2, [9] = 3, [15] = 4};
    CHECK(want[0].nbytes == sizeof hand && !memcmp(want[0].data, hand, sizeof hand));
    CHECK(json_gives("MaxUnpool", "{\"kernel_shape\": [3, 3], \"strides\": [2, 2], \"pads\": [1, 1, 0, 0]}", in,
                     2, (int[]){4}, 1, want));
    json_run r;
    /* with end pads too the natural size is 3 x 3: index 9 falls outside */
    CHECK(run_json(&r, "MaxUnpool", "{\"kernel_shape\": [3, 3], \"strides\": [2, 2], \"pads\": [1, 1, 1, 1]}", in, 2,
                   (int[]){IR_F32}, (int[]){4}, 1) != 0);
    CHECK_CONTAINS(r.err, "index 9 is out of range");
    free_run(&r, 1);
    CHECK(run_json(&r, "MaxUnpool", "{\"kernel_shape\": [3], \"strides\": [2, 2]}", in, 2, (int[]){IR_F32}, (int[]){4},
                   1) != 0);
    CHECK_CONTAINS(r.err, "attribute 'kernel_shape' has 1 values, expected 2");
    free_run(&r, 1);
    free_outputs(want, 1);
}

static void test_unique_axis(void) {
    /* unset axis flattens; axis 0 keeps rows */
    const char *text = "graph \"t\" source \"t.ir\" {\n  sym u, w\n"
                       "  input %x: i32[3,2]\n"
                       "  %y: i32[u] = Unique(%x)\n"
                       "  %z: i32[w,2] = Unique(%x) {axis=0}\n  output %y\n  output %z\n}\n";
    int32_t x[6] = {1, 2, 1, 2, 0, 1};
    interp_tensor in = test_tensor(IR_I32, 2, (int64_t[]){3, 2}, x), want[2];
    CHECK(run_text(text, &in, want) == 0);
    CHECK(want[0].shape[0] == 3 && !memcmp(want[0].data, (int32_t[]){0, 1, 2}, 12));
    CHECK(want[1].shape[0] == 2 && !memcmp(want[1].data, (int32_t[]){0, 1, 1, 2}, 16));
    CHECK(json_gives("Unique", "{\"sorted\": 1}", &in, 1, (int[]){1}, 1, &want[0]));
    CHECK(json_gives("Unique", "{\"sorted\": 1, \"axis\": null}", &in, 1, (int[]){1}, 1, &want[0]));
    CHECK(json_gives("Unique", "{\"sorted\": 1, \"axis\": 0}", &in, 1, (int[]){2}, 1, &want[1]));
    free_outputs(want, 2);
}

static void test_json_errors(void) {
    int32_t x[6] = {1, 2, 3, 4, 5, 6}, axis = 1;
    interp_tensor in[2] = {test_tensor(IR_I32, 2, (int64_t[]){2, 3}, x), test_tensor(IR_I32, 0, NULL, &axis)};
    json_run r;
    CHECK(run_json(&r, "CumSum", "{\"exclusive\": 0}", in, 2, (int[]){IR_I32}, (int[]){2}, 1) == -1);
    CHECK_CONTAINS(r.err, "node 'step_7': attribute 'reverse' is missing");
    CHECK(run_json(&r, "CumSum", "{\"exclusive\": 0.5, \"reverse\": 0}", in, 2, (int[]){IR_I32}, (int[]){2}, 1) == -1);
    CHECK_CONTAINS(r.err, "attribute 'exclusive' is missing or not of its kind"); /* not an integer */
    CHECK(run_json(&r, "CumSum", "{\"exclusive\": {}, \"reverse\": 0}", in, 2, (int[]){IR_I32}, (int[]){2}, 1) == -2);
    CHECK(run_json(&r, "CumSum", "[1]", in, 2, (int[]){IR_I32}, (int[]){2}, 1) == -2);
    /* the manifest writes unset lists as []: absent, as is a list of non-integers */
    int64_t idx[6] = {5, 4, 3, 2, 1, 0};
    interp_tensor u[2] = {test_tensor(IR_I32, 4, (int64_t[]){1, 1, 2, 3}, x),
                          test_tensor(IR_I64, 4, (int64_t[]){1, 1, 2, 3}, idx)};
    CHECK(run_json(&r, "MaxUnpool", "{\"kernel_shape\": [], \"strides\": [1.5]}", u, 2, (int[]){IR_I32}, (int[]){4},
                   1) == -1);
    CHECK_CONTAINS(r.err, "attribute 'kernel_shape' is missing");
    free_run(&r, 1);
    CHECK(run_json(&r, "MaxUnpool", "{\"kernel_shape\": [1, 1], \"strides\": [], \"pads\": [], \"x\": [\"s\"]}", u, 2,
                   (int[]){IR_I32}, (int[]){4}, 1) == 0);
    CHECK(r.out[0].numel == 6 && !memcmp(r.out[0].data, (int32_t[]){6, 5, 4, 3, 2, 1}, 24));
    free_run(&r, 1);
    CHECK(rt_lib_find("NoSuchRoutine") == NULL);
}

int main(void) {
    test_topk_axis_largest();
    test_cumsum_exclusive_reverse();
    test_max_unpool_strides_pads();
    test_unique_axis();
    test_json_errors();
    return check_summary("lib_attrs");
}
