/* kir_fuse.c — fusion of elementwise kernels into their consumers.
 *
 * An elementwise kernel (no reduction) that writes an intermediate buffer is
 * inlined into every loop kernel that loads that buffer: each load B[i...]
 * becomes the producer's body with its domain indices IDX(k) replaced by the
 * load's index expressions. Chains (BatchNorm -> Relu -> MaxPool) collapse
 * into one kernel, and the intermediate buffer disappears. Producers are
 * inlined into reduction kernels only when they are cheap (few arithmetic
 * nodes, no transcendental functions), because a reduction re-evaluates
 * them for every reduction step; and a producer that is not cheap only
 * into a single consumer kernel: read by several (the cos / sin of an
 * LLM's rotary embedding, read by every layer's), it is computed once into
 * its buffer instead of once per reader. A producer's cost counts the
 * producers inlined into it, so that a chain (a transformer's residual
 * adds, layer after layer) is cut into materialized links instead of
 * growing into one expression per reader that re-adds every layer.
 */
#include <stdlib.h>
#include <string.h>

#include "kir_build.h"

#define CHEAP_NODES 8

typedef struct fuser {
    kir_program *p;
    int32_t *producer;   /* buffer -> index of an inlinable kernel, -1 */
    uint32_t *cost;      /* kernel -> nodes of its body with its inlined producers' */
    bool *math;          /* kernel -> a transcendental function there */
    uint32_t *memo;      /* expression -> rebuilt expression (KIR_NONE: not yet) */
    uint32_t memo_n;     /* expressions that existed when memo was made */
    const uint32_t *idx; /* index substitution while inlining a producer body */
} fuser;

static uint32_t rebuild(fuser *f, uint32_t e);

/* Producer body with IDX(k) -> idx[k], its own loads rebuilt too. */
static uint32_t inline_body(fuser *f, uint32_t e, const uint32_t *idx, uint32_t *memo) {
    if (memo[e] != KIR_NONE) return memo[e];
    const kir_expr *x = &f->p->exprs[e];
    uint32_t r;
    if (x->op == KX_IDX) {
        r = idx[x->axis];
    } else if (x->n_args == 0 && x->op != KX_LOAD) {
        r = e;
    } else {
        uint32_t args[IR_MAX_RANK + 3];
        uint32_t n_args = x->n_args; /* x dangles once the expression array grows */
        for (uint32_t i = 0; i < n_args; i++) args[i] = inline_body(f, f->p->exprs[e].args[i], idx, memo);
        x = &f->p->exprs[e]; /* the expression array may have grown */
        kir_expr proto = *x;
        r = kb_remake(f->p, &proto, args);
        r = rebuild(f, r); /* a load inside the producer may itself be inlinable */
    }
    memo[e] = r;
    return r;
}

/* The expression e with loads of inlinable buffers replaced. */
static uint32_t rebuild(fuser *f, uint32_t e) {
    if (e < f->memo_n && f->memo[e] != KIR_NONE) return f->memo[e];
    const kir_expr *x = &f->p->exprs[e];
    if (x->n_args == 0 && x->op != KX_LOAD) return e;
    uint32_t args[IR_MAX_RANK + 3];
    uint32_t n_args = x->n_args; /* x dangles once the expression array grows */
    for (uint32_t i = 0; i < n_args; i++) args[i] = rebuild(f, f->p->exprs[e].args[i]);
    x = &f->p->exprs[e];
    uint32_t r;
    if (x->op == KX_LOAD && f->producer[x->buffer] >= 0) {
        const kir_kernel *k = &f->p->kernels[f->producer[x->buffer]];
        uint32_t *memo = malloc(f->p->n_exprs * sizeof *memo);
        if (!memo) return e; /* leave it unfused */
        memset(memo, 0xff, f->p->n_exprs * sizeof *memo);
        r = inline_body(f, k->body, args, memo);
        free(memo);
    } else {
        kir_expr proto = *x;
        r = kb_remake(f->p, &proto, args);
    }
    if (e < f->memo_n) f->memo[e] = r;
    return r;
}

/* Distinct nodes of a body, and whether any is a transcendental function. */
/* Distinct nodes of a body, and whether any is a transcendental function;
 * a load of an inlinable producer's buffer counts that producer's cost. */
static uint32_t body_cost(const fuser *f, uint32_t e, uint8_t *seen, bool *math) {
    if (seen[e]) return 0;
    seen[e] = 1;
    const kir_expr *x = &f->p->exprs[e];
    if (kx_get(x->op)->cls == KXC_MATH) *math = true;
    uint32_t c = 1;
    if (x->op == KX_LOAD && f->producer[x->buffer] >= 0) {
        c += f->cost[f->producer[x->buffer]];
        *math = *math || f->math[f->producer[x->buffer]];
    }
    for (uint32_t i = 0; i < x->n_args; i++) c += body_cost(f, x->args[i], seen, math);
    return c;
}

/* Kernel kidx's cost (f->cost, f->math); whether it is cheap. */
static bool cheap(fuser *f, uint32_t kidx) {
    uint8_t *seen = calloc(f->p->n_exprs, 1);
    if (!seen) return false;
    bool math = false;
    uint32_t c = body_cost(f, f->p->kernels[kidx].body, seen, &math);
    free(seen);
    f->cost[kidx] = c;
    f->math[kidx] = math;
    return c <= CHEAP_NODES && !math;
}

static bool loads_buffer(const kir_program *p, uint32_t e, uint32_t b, uint8_t *seen) {
    if (seen[e]) return false;
    seen[e] = 1;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && x->buffer == b) return true;
    for (uint32_t i = 0; i < x->n_args; i++)
        if (loads_buffer(p, x->args[i], b, seen)) return true;
    return false;
}

static bool kernel_loads(const kir_program *p, const kir_kernel *k, uint32_t b) {
    if (k->kind == KK_LIB) {
        for (uint32_t i = 0; i < k->n_lib_in; i++)
            if (k->lib_in[i] == b) return true;
        return false;
    }
    uint8_t *seen = calloc(p->n_exprs, 1);
    if (!seen) return true;
    bool r = loads_buffer(p, k->body, b, seen) || (k->post != KIR_NONE && loads_buffer(p, k->post, b, seen));
    free(seen);
    return r;
}

/* A producer can be inlined when its buffer is an intermediate, it does not
 * reduce, and every kernel reading the buffer is a loop kernel that may
 * take it (reductions only cheap producers, and only a cheap producer
 * more than one kernel). */
static bool inlinable(fuser *f, uint32_t kidx) {
    const kir_program *p = f->p;
    const kir_kernel *k = &p->kernels[kidx];
    if (k->kind != KK_LOOP || k->reduce != KR_NONE) return false;
    const kir_buffer *b = &p->bufs[k->out];
    if (b->kind != KB_VALUE && b->kind != KB_TEMP) return false;
    for (uint32_t i = 0; i < p->n_outputs; i++)
        if (p->outputs[i] == k->out) return false;
    bool is_cheap = cheap(f, kidx);
    uint32_t readers = 0;
    for (uint32_t c = kidx + 1; c < p->n_kernels; c++) {
        const kir_kernel *ck = &p->kernels[c];
        if (!kernel_loads(p, ck, k->out)) continue;
        if (ck->kind == KK_LIB || (ck->reduce != KR_NONE && !is_cheap)) return false;
        if (++readers > 1 && !is_cheap) return false;
    }
    return readers > 0;
}

int kir_fuse(kir_program *p, diag *d) {
    fuser f = {.p = p};
    size_t nk = p->n_kernels ? p->n_kernels : 1;
    f.producer = malloc((p->n_bufs ? p->n_bufs : 1) * sizeof *f.producer);
    f.cost = calloc(nk, sizeof *f.cost);
    f.math = calloc(nk, sizeof *f.math);
    bool *drop = calloc(nk, 1);
    if (!f.producer || !f.cost || !f.math || !drop) {
        free(f.producer);
        free(f.cost);
        free(f.math);
        free(drop);
        return diag_error(d, "out of memory");
    }
    for (uint32_t b = 0; b < p->n_bufs; b++) f.producer[b] = -1;
    for (uint32_t k = 0; k < p->n_kernels; k++)
        if (inlinable(&f, k)) {
            f.producer[p->kernels[k].out] = (int32_t)k;
            drop[k] = true;
        }
    for (uint32_t k = 0; k < p->n_kernels; k++) {
        if (drop[k] || p->kernels[k].kind != KK_LOOP) continue;
        f.memo_n = p->n_exprs; /* expressions made while rebuilding are not memoized */
        f.memo = malloc(f.memo_n * sizeof *f.memo);
        if (!f.memo) break;
        memset(f.memo, 0xff, f.memo_n * sizeof *f.memo);
        uint32_t body = rebuild(&f, p->kernels[k].body);
        uint32_t post = p->kernels[k].post == KIR_NONE ? KIR_NONE : rebuild(&f, p->kernels[k].post);
        p->kernels[k].body = body;
        p->kernels[k].post = post;
        free(f.memo);
    }
    uint32_t n = 0;
    for (uint32_t k = 0; k < p->n_kernels; k++)
        if (!drop[k]) p->kernels[n++] = p->kernels[k];
    p->n_kernels = n;
    free(drop);
    free(f.producer);
    free(f.cost);
    free(f.math);
    return 0;
}
