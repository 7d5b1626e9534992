/* kir_analysis.c — questions the backends ask about a kernel's expression
 * DAG: which domain axes an expression reads, whether it depends on a
 * reduction index (what can be computed before the reduction loop), and
 * the operands and axes of a contraction (a SUM of a product), which both
 * backends turn into their GEMM templates.
 */
#include "ir/kir.h"

#include <stdlib.h>

uint32_t kir_idx_mask(const kir_program *p, uint32_t e, uint32_t *mask, unsigned char *seen) {
    if (seen[e]) return mask[e];
    const kir_expr *x = &p->exprs[e];
    uint32_t m = x->op == KX_IDX && x->axis < 32 ? 1u << x->axis : 0;
    for (uint32_t i = 0; i < x->n_args; i++) m |= kir_idx_mask(p, x->args[i], mask, seen);
    seen[e] = 1;
    mask[e] = m;
    return m;
}

int kir_uses_ridx(const kir_program *p, signed char *dep, uint32_t e) {
    if (dep[e] >= 0) return dep[e];
    const kir_expr *x = &p->exprs[e];
    int d = x->op == KX_RIDX;
    for (uint32_t i = 0; i < x->n_args && !d; i++) d = kir_uses_ridx(p, dep, x->args[i]);
    dep[e] = (signed char)d;
    return d;
}

bool kir_contraction_operands(const kir_program *p, const kir_kernel *k, uint32_t *mask, unsigned char *seen,
                              uint32_t *a, uint32_t *b, int *m_axis) {
    if (k->kind != KK_LOOP || k->reduce != KR_SUM || k->acc_dtype != IR_F32 || k->rrank < 1) return false;
    const kir_expr *body = &p->exprs[k->body];
    const kir_buffer *ob = &p->bufs[k->out];
    if (body->op != KX_MUL || body->dtype != IR_F32 || ob->rank < 1 || ob->rank > 31) return false;
    uint32_t x = body->args[0], y = body->args[1];
    uint32_t mx = kir_idx_mask(p, x, mask, seen), my = kir_idx_mask(p, y, mask, seen);
    int n_axis = ob->rank - 1;
    uint32_t nbit = 1u << n_axis;
    if ((mx & nbit) && !(my & nbit)) { /* b is the operand that reads n */
        uint32_t t = x;
        x = y, y = t;
        t = mx;
        mx = my, my = t;
    }
    if (!(my & nbit) || (mx & nbit)) return false;
    *m_axis = -1;
    for (int ax = n_axis - 1; ax >= 0 && *m_axis < 0; ax--)
        if ((mx >> ax & 1) && !(my >> ax & 1)) *m_axis = ax;
    *a = x;
    *b = y;
    return true;
}
