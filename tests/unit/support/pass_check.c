/* pass_check.c — see pass_check.h. */
#include "pass_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/text.h"

ir_graph *pc_parse(const char *text) {
    diag d;
    diag_init(&d);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &d);
    if (!g) fprintf(stderr, "parse: %s\n", d.msg);
    return g;
}

int pc_live(const ir_graph *g, ir_op op) {
    int n = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

static uint32_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* Fills inputs with pseudo-random data; returns the number filled or -1. */
static int make_inputs(ir_graph *g, interp_tensor *in) {
    uint64_t seed = 12345;
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        int64_t n = ir_value_numel(g, g->inputs[i]);
        if (n < 0 || (v->dtype != IR_F32 && v->dtype != IR_I64)) return -1;
        in[i] = (interp_tensor){.dtype = v->dtype, .rank = v->rank};
        for (int a = 0; a < v->rank; a++) in[i].shape[a] = v->dims[a].c;
        in[i].nbytes = (size_t)n * (v->dtype == IR_F32 ? 4 : 8);
        in[i].data = malloc(in[i].nbytes ? in[i].nbytes : 1);
        for (int64_t k = 0; k < n; k++) {
            if (v->dtype == IR_F32) ((float *)in[i].data)[k] = (float)(lcg(&seed) % 2001) / 1000.0f - 1.0f;
            else ((int64_t *)in[i].data)[k] = lcg(&seed) % 4;
        }
    }
    return (int)g->n_inputs;
}

pc_result pc_run(ir_graph *g, bool fuse, bool epilogue) {
    pc_result r = {.rc = -1};
    diag d;
    diag_init(&d);
    interp_tensor in[16] = {0};
    if (g->n_inputs > 16 || g->n_outputs > PC_MAX_OUT || make_inputs(g, in) < 0) return r;
    kir_program *p = kir_lower(g, &d);
    if (p && fuse && kir_fuse(p, &d)) p = (kir_free(p), NULL);
    if (p && epilogue && kir_fuse_epilogue(p, &d)) p = (kir_free(p), NULL);
    if (p && kir_prune(p, &d)) p = (kir_free(p), NULL);
    if (p) {
        r.kernels = p->n_kernels;
        r.n_out = g->n_outputs;
        r.rc = interp_run(p, in, r.out, &d);
    }
    if (r.rc) fprintf(stderr, "run: %s\n", d.msg);
    kir_free(p);
    for (uint32_t i = 0; i < g->n_inputs; i++) free(in[i].data);
    return r;
}

bool pc_same(const pc_result *a, const pc_result *b, double rtol) {
    if (a->rc || b->rc || a->n_out != b->n_out) return false;
    for (uint32_t o = 0; o < a->n_out; o++) {
        const interp_tensor *x = &a->out[o], *y = &b->out[o];
        if (x->dtype != y->dtype || x->nbytes != y->nbytes || x->rank != y->rank) return false;
        if (rtol == 0 || x->dtype != IR_F32) {
            if (memcmp(x->data, y->data, x->nbytes)) return false;
            continue;
        }
        for (size_t i = 0; i < x->nbytes / 4; i++) {
            double u = ((const float *)x->data)[i], v = ((const float *)y->data)[i];
            if (!(fabs(u - v) <= rtol * (1 + fabs(u)))) return false;
        }
    }
    return true;
}

void pc_free(pc_result *r) {
    for (uint32_t o = 0; o < r->n_out; o++) free(r->out[o].data);
    r->n_out = 0;
}
