/* run_text.c — see run_text.h. */
#include "run_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/text.h"

diag run_text_diag;

int run_text(const char *text, interp_tensor *in, interp_tensor *out) {
    diag_init(&run_text_diag);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &run_text_diag);
    kir_program *p = g ? kir_lower(g, &run_text_diag) : NULL;
    int rc = p ? interp_run(p, in, out, &run_text_diag) : -1;
    kir_free(p);
    ir_graph_free(g);
    return rc;
}

int parse_text(const char *text) {
    diag_init(&run_text_diag);
    ir_graph *g = ir_parse(text, strlen(text), "t.ir", &run_text_diag);
    ir_graph_free(g);
    return g ? 0 : -1;
}

interp_tensor test_tensor(ir_dtype t, int rank, const int64_t *shape, void *data) {
    interp_tensor x = {.dtype = t, .rank = rank, .data = data};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        x.shape[i] = shape[i];
        n *= shape[i];
    }
    x.nbytes = (size_t)ir_dtype_storage_bytes(t, n);
    return x;
}

bool near_f32(const interp_tensor *t, const float *want, int64_t n) {
    if (t->dtype != IR_F32 || (int64_t)(t->nbytes / 4) != n) return false;
    const float *got = t->data;
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-5f * (1 + fabsf(want[i])))) return false;
    return true;
}

void free_outputs(interp_tensor *out, int n) {
    for (int i = 0; i < n; i++) free(out[i].data);
}
