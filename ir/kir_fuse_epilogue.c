/* kir_fuse_epilogue.c — epilogue fusion: a loop kernel whose result only
 * one later elementwise loop kernel reads, at exactly its own domain point,
 * absorbs that consumer. The consumer's expression, with the load of the
 * producer's buffer replaced by the producer's value, becomes the
 * producer's post expression (a reduction: applied to the accumulated
 * value, after the producer's own post) or its body (no reduction), and the
 * merged kernel writes the consumer's buffer; the consumer disappears.
 *
 * Typically a Conv or MatMul reduction is followed by its bias + ReLU /
 * Clip / residual Add kernels (one kernel after kir_fuse, a chain before
 * it: the merged kernel absorbs the chain's kernels one by one); after this
 * pass those ride in the contraction's epilogue, which is what the backends'
 * contraction templates evaluate once per output element. Other loads of
 * the consumer (the residual of an Add) read their buffers at the same
 * domain point, now from the post expression. The merged kernel takes the
 * consumer's place in the kernel order, so every buffer the consumer reads
 * is ready; nothing between the two writes a buffer the producer reads.
 * An integer (i32) sum is not merged into a consumer with an output of
 * under 4 bytes (QLinear requantization): the packed integer GEMM of the
 * CPU backend keeps its accumulators in the output.
 */
#include <stdlib.h>
#include <string.h>

#include "kir_build.h"

/* Whether b is one of the program outputs. */
static bool is_output(const kir_program *p, uint32_t b) {
    for (uint32_t i = 0; i < p->n_outputs; i++)
        if (p->outputs[i] == b) return true;
    return false;
}

/* Counts the loads of buffer b in e (each distinct expression once): in
 * *any, and in *same those that index b at the domain point (IDX k on axis k). */
static void count_loads(const kir_program *p, uint32_t e, uint32_t b, uint8_t *seen, uint32_t *any, uint32_t *same) {
    if (seen[e]) return;
    seen[e] = 1;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && x->buffer == b) {
        bool at_point = x->n_args == (uint32_t)p->bufs[b].rank;
        for (uint32_t a = 0; a < x->n_args && at_point; a++) {
            const kir_expr *ix = &p->exprs[x->args[a]];
            at_point = ix->op == KX_IDX && ix->axis == (int32_t)a;
        }
        (*any)++;
        *same += at_point;
    }
    for (uint32_t i = 0; i < x->n_args; i++) count_loads(p, x->args[i], b, seen, any, same);
}

/* Loads of b by kernel k: total distinct loads, and those at the domain point. */
static void kernel_loads(const kir_program *p, const kir_kernel *k, uint32_t b, uint8_t *seen, uint32_t *any,
                         uint32_t *same) {
    *any = *same = 0;
    if (k->kind == KK_LIB) {
        for (uint32_t i = 0; i < k->n_lib_in; i++) *any += k->lib_in[i] == b;
        return;
    }
    memset(seen, 0, p->n_exprs);
    count_loads(p, k->body, b, seen, any, same);
    if (k->post != KIR_NONE) count_loads(p, k->post, b, seen, any, same);
}

/* Whether kernel k writes buffer b. */
static bool writes(const kir_kernel *k, uint32_t b) {
    if (k->kind == KK_LOOP) return k->out == b;
    for (uint32_t o = 0; o < k->n_lib_out; o++)
        if (k->lib_out[o] == b) return true;
    return false;
}

static bool loads_any(const kir_program *p, uint32_t e, const bool *written, uint8_t *seen) {
    if (seen[e]) return false;
    seen[e] = 1;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && written[x->buffer]) return true;
    for (uint32_t i = 0; i < x->n_args; i++)
        if (loads_any(p, x->args[i], written, seen)) return true;
    return false;
}

static bool same_domain(const kir_program *p, uint32_t a, uint32_t b) {
    const kir_buffer *x = &p->bufs[a], *y = &p->bufs[b];
    if (x->rank != y->rank) return false;
    for (int i = 0; i < x->rank; i++)
        if (!ir_dim_eq(x->dims[i], y->dims[i])) return false;
    return true;
}

/* The consumer that kernel pi can absorb, or -1. */
static int32_t find_consumer(kir_program *p, uint32_t pi, uint8_t *seen, bool *written) {
    const kir_kernel *pk = &p->kernels[pi];
    if (pk->kind != KK_LOOP || pk->reduce == KR_ARGMAX || pk->reduce == KR_ARGMIN) return -1;
    if (pk->reduce == KR_NONE && pk->post != KIR_NONE) return -1;
    uint32_t b = pk->out;
    if ((p->bufs[b].kind != KB_VALUE && p->bufs[b].kind != KB_TEMP) || is_output(p, b)) return -1;
    int32_t consumer = -1;
    for (uint32_t c = pi + 1; c < p->n_kernels; c++) {
        uint32_t any, same;
        kernel_loads(p, &p->kernels[c], b, seen, &any, &same);
        if (writes(&p->kernels[c], b)) return -1;
        if (!any) continue;
        if (consumer >= 0 || any != 1 || same != 1) return -1; /* a second reader, or a shifted read */
        consumer = (int32_t)c;
    }
    if (consumer < 0) return -1;
    const kir_kernel *ck = &p->kernels[consumer];
    if (ck->kind != KK_LOOP || ck->reduce != KR_NONE || ck->post != KIR_NONE || !same_domain(p, b, ck->out))
        return -1;
    /* an integer contraction keeps its 4-byte i32 output: the CPU backend's
     * packed integer GEMM accumulates there (a requantization to 8 bits
     * stays a kernel of its own) */
    if (pk->reduce == KR_SUM && pk->acc_dtype == IR_I32 && ir_dtype_get(p->bufs[ck->out].dtype)->block_bytes < 4)
        return -1;
    /* the producer moves down to the consumer: nothing in between may write what it reads */
    memset(written, 0, p->n_bufs * sizeof *written);
    for (uint32_t c = pi + 1; c < (uint32_t)consumer; c++) {
        const kir_kernel *k = &p->kernels[c];
        if (k->kind == KK_LOOP) written[k->out] = true;
        for (uint32_t o = 0; k->kind == KK_LIB && o < k->n_lib_out; o++)
            if (k->lib_out[o] != KIR_NONE) written[k->lib_out[o]] = true;
    }
    memset(seen, 0, p->n_exprs);
    if (loads_any(p, pk->body, written, seen) || (pk->post != KIR_NONE && loads_any(p, pk->post, written, seen)))
        return -1;
    return consumer;
}

/* The producer's stored value as an expression: its post, its accumulator,
 * or its body, converted to its buffer's dtype as the store would; KIR_NONE
 * when that conversion is not a plain cast (float <-> integer). */
static uint32_t stored_value(kir_program *p, const kir_kernel *pk) {
    uint32_t v = pk->reduce == KR_NONE ? pk->body : pk->post != KIR_NONE ? pk->post : kb_acc(p, pk->acc_dtype);
    ir_dtype have = p->exprs[v].dtype, want = p->bufs[pk->out].dtype;
    if (have == want) return v;
    if (ir_dtype_is_float(have) != ir_dtype_is_float(want)) return KIR_NONE;
    return kb_cast(p, want, v, false);
}

/* e with every load of buffer b (at the domain point) replaced by v. */
static uint32_t substitute(kir_program *p, uint32_t e, uint32_t b, uint32_t v, uint32_t *memo) {
    if (memo[e] != KIR_NONE) return memo[e];
    const kir_expr *x = &p->exprs[e];
    uint32_t r;
    if (x->op == KX_LOAD && x->buffer == b) {
        r = v;
    } else if (x->n_args == 0) {
        r = e;
    } else {
        uint32_t args[IR_MAX_RANK + 3];
        uint32_t n_args = x->n_args;
        for (uint32_t i = 0; i < n_args; i++) args[i] = substitute(p, p->exprs[e].args[i], b, v, memo);
        kir_expr proto = p->exprs[e]; /* the expression array may have grown */
        r = kb_remake(p, &proto, args);
    }
    memo[e] = r;
    return r;
}

static int merge(kir_program *p, uint32_t pi, uint32_t ci, diag *d) {
    kir_kernel *pk = &p->kernels[pi];
    uint32_t v = stored_value(p, pk);
    if (v == KIR_NONE) return 0;
    uint32_t n = p->n_exprs, b = pk->out;
    uint32_t *memo = malloc((n ? n : 1) * sizeof *memo);
    if (!memo) return diag_error(d, "out of memory");
    memset(memo, 0xff, n * sizeof *memo);
    uint32_t e = substitute(p, p->kernels[ci].body, b, v, memo);
    free(memo);
    kir_kernel merged = p->kernels[pi];
    if (merged.reduce == KR_NONE) merged.body = e;
    else merged.post = e;
    merged.out = p->kernels[ci].out;
    /* the merged kernel replaces the consumer; the producer's slot goes */
    p->kernels[ci] = merged;
    memmove(&p->kernels[pi], &p->kernels[pi + 1], (p->n_kernels - pi - 1) * sizeof *p->kernels);
    p->n_kernels--;
    return 1;
}

int kir_fuse_epilogue(kir_program *p, diag *d) {
    uint8_t *seen = malloc(p->n_exprs ? p->n_exprs : 1);
    bool *written = malloc((p->n_bufs ? p->n_bufs : 1) * sizeof *written);
    int rc = 0;
    if (!seen || !written) rc = diag_error(d, "out of memory");
    for (uint32_t pi = 0; rc == 0 && pi < p->n_kernels; pi++) {
        int32_t ci = find_consumer(p, pi, seen, written);
        if (ci < 0) continue;
        rc = merge(p, pi, (uint32_t)ci, d);
        if (rc < 0) break;
        if (rc == 1) {
            rc = 0;
            /* the merged kernel may absorb its own consumer in turn */
            free(seen);
            seen = malloc(p->n_exprs ? p->n_exprs : 1);
            if (!seen) rc = diag_error(d, "out of memory");
            pi--;
        }
    }
    free(seen);
    free(written);
    return rc < 0 ? -1 : 0;
}
