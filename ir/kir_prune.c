/* kir_prune.c — removes kernels whose results nobody reads.
 *
 * Import keeps every node (folding cannot know later consumers), so unused
 * optional outputs (an RNN's Y when only Y_h is used, Attention's present
 * cache without a past) still get kernels. Walking the kernels backwards
 * from the program outputs, a kernel is kept when one of the buffers it
 * writes is read later; the buffers it reads become live in turn.
 */
#include <stdlib.h>
#include <string.h>

#include "kir_build.h"

static void mark_loads(const kir_program *p, uint32_t e, bool *live, uint8_t *seen) {
    if (seen[e]) return;
    seen[e] = 1;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD) live[x->buffer] = true;
    for (uint32_t i = 0; i < x->n_args; i++) mark_loads(p, x->args[i], live, seen);
}

int kir_prune(kir_program *p, diag *d) {
    bool *live = calloc(p->n_bufs ? p->n_bufs : 1, sizeof *live);
    bool *keep = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *keep);
    uint8_t *seen = malloc(p->n_exprs ? p->n_exprs : 1);
    if (!live || !keep || !seen) {
        free(live);
        free(keep);
        free(seen);
        return diag_error(d, "out of memory");
    }
    for (uint32_t i = 0; i < p->n_outputs; i++) live[p->outputs[i]] = true;
    for (uint32_t k = p->n_kernels; k-- > 0;) {
        const kir_kernel *kn = &p->kernels[k];
        if (kn->kind == KK_LIB) {
            for (uint32_t o = 0; o < kn->n_lib_out; o++) keep[k] = keep[k] || (kn->lib_out[o] != KIR_NONE && live[kn->lib_out[o]]);
            for (uint32_t i = 0; keep[k] && i < kn->n_lib_in; i++)
                if (kn->lib_in[i] != KIR_NONE) live[kn->lib_in[i]] = true; /* omitted optional inputs */
            continue;
        }
        keep[k] = live[kn->out];
        if (!keep[k]) continue;
        memset(seen, 0, p->n_exprs);
        mark_loads(p, kn->body, live, seen);
        if (kn->post != KIR_NONE) mark_loads(p, kn->post, live, seen);
    }
    uint32_t n = 0;
    for (uint32_t k = 0; k < p->n_kernels; k++)
        if (keep[k]) p->kernels[n++] = p->kernels[k];
    p->n_kernels = n;
    free(live);
    free(keep);
    free(seen);
    return 0;
}
