/* kir_build.c — the kernel IR builder (see kir_build.h): buffers, hash-consed
 * expressions and kernels of a kir_program. */
#include "kir_build.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const kx_info kx_table[KX_COUNT] = {
#define KX(NAME, arity, cls) [KX_##NAME] = {#NAME, arity, KXC_##cls},
#include "kir_ops.def"
#undef KX
};

const kx_info *kx_get(kx_op op) { return &kx_table[op]; }

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return 0;
    uint64_t ncap = *cap ? (uint64_t)*cap * 2 : 64;
    while (ncap < need) ncap *= 2;
    void *q = realloc(*arr, (size_t)ncap * elem);
    if (!q) return -1;
    *arr = q;
    *cap = (uint32_t)ncap;
    return 0;
}

/* Out of memory while building kernels is not recoverable in a useful way. */
static void *must(void *q) {
    if (!q) {
        fputs("smelt: out of memory building kernels\n", stderr);
        abort();
    }
    return q;
}

/* ---- buffers ------------------------------------------------------------------ */

static uint32_t add_buffer(kir_program *p, const char *name, kir_buffer_kind kind, ir_dtype t, int rank,
                           const ir_dim *dims, ir_id value, const void *data) {
    must(grow((void **)&p->bufs, &p->cap_bufs, p->n_bufs + 1, sizeof(kir_buffer)) ? NULL : p);
    kir_buffer *b = &p->bufs[p->n_bufs];
    b->name = must(arena_strdup(&p->arena, name));
    b->kind = kind;
    b->dtype = t;
    b->rank = rank;
    b->dims = rank ? must(arena_memdup(&p->arena, dims, (size_t)rank, sizeof *dims)) : NULL;
    b->value = value;
    b->data = data;
    return p->n_bufs++;
}

uint32_t kb_value(kir_program *p, ir_id v) {
    if (p->value_buf[v] != KIR_NONE) return p->value_buf[v];
    const ir_value *val = &p->g->values[v];
    kir_buffer_kind kind = val->kind == IR_VALUE_INPUT ? KB_INPUT : val->kind == IR_VALUE_CONST ? KB_CONST : KB_VALUE;
    p->value_buf[v] = add_buffer(p, val->name, kind, val->dtype, val->rank, val->dims, v, val->data);
    return p->value_buf[v];
}

uint32_t kb_temp(kir_program *p, const char *name, ir_dtype t, int rank, const ir_dim *dims) {
    return add_buffer(p, name, KB_TEMP, t, rank, dims, IR_NONE, NULL);
}

/* ---- expressions ------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t x) {
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t expr_hash(const kir_expr *e) {
    uint64_t h = mix(e->op, e->dtype);
    for (uint32_t i = 0; i < e->n_args; i++) h = mix(h, e->args[i]);
    uint64_t fb;
    memcpy(&fb, &e->fval, 8);
    h = mix(mix(mix(mix(h, e->buffer), (uint64_t)e->axis), (uint64_t)e->dim.c ^ ((uint64_t)e->dim.sym << 32)), fb);
    return mix(h, (uint64_t)e->ival);
}

static bool expr_eq(const kir_expr *a, const kir_expr *b) {
    if (a->op != b->op || a->dtype != b->dtype || a->n_args != b->n_args || a->buffer != b->buffer ||
        a->axis != b->axis || !ir_dim_eq(a->dim, b->dim) || a->ival != b->ival ||
        memcmp(&a->fval, &b->fval, sizeof a->fval))
        return false;
    for (uint32_t i = 0; i < a->n_args; i++)
        if (a->args[i] != b->args[i]) return false;
    return true;
}

static void rehash(kir_program *p) {
    uint32_t cap = p->hash_cap ? p->hash_cap * 2 : 256;
    uint32_t *h = must(malloc(cap * sizeof *h));
    memset(h, 0xff, cap * sizeof *h);
    for (uint32_t e = 0; e < p->n_exprs; e++) {
        uint32_t k = (uint32_t)expr_hash(&p->exprs[e]) & (cap - 1);
        while (h[k] != KIR_NONE) k = (k + 1) & (cap - 1);
        h[k] = e;
    }
    free(p->hash);
    p->hash = h;
    p->hash_cap = cap;
}

/* The id of an expression equal to *e, adding it if new (args are copied). */
static uint32_t intern(kir_program *p, const kir_expr *e) {
    if ((uint64_t)(p->n_exprs + 1) * 2 > p->hash_cap) rehash(p);
    uint32_t k = (uint32_t)expr_hash(e) & (p->hash_cap - 1);
    while (p->hash[k] != KIR_NONE) {
        if (expr_eq(&p->exprs[p->hash[k]], e)) return p->hash[k];
        k = (k + 1) & (p->hash_cap - 1);
    }
    must(grow((void **)&p->exprs, &p->cap_exprs, p->n_exprs + 1, sizeof(kir_expr)) ? NULL : p);
    kir_expr *n = &p->exprs[p->n_exprs];
    *n = *e;
    n->args = e->n_args ? must(arena_memdup(&p->arena, e->args, e->n_args, sizeof(uint32_t))) : NULL;
    p->hash[k] = p->n_exprs;
    return p->n_exprs++;
}

static kir_expr blank(kx_op op, ir_dtype t) {
    kir_expr e;
    memset(&e, 0, sizeof e);
    e.op = op;
    e.dtype = t;
    e.dim = ir_dim_const(0);
    return e;
}

uint32_t kb_const_f(kir_program *p, ir_dtype t, double v) {
    assert(ir_dtype_is_float(t));
    kir_expr e = blank(KX_CONST, t);
    e.fval = v;
    return intern(p, &e);
}

uint32_t kb_const_i(kir_program *p, ir_dtype t, int64_t v) {
    if (ir_dtype_is_float(t)) return kb_const_f(p, t, (double)v);
    kir_expr e = blank(KX_CONST, t);
    e.ival = t == IR_BOOL ? (v != 0) : v;
    return intern(p, &e);
}

uint32_t kb_idx(kir_program *p, int axis) {
    kir_expr e = blank(KX_IDX, IR_I64);
    e.axis = axis;
    return intern(p, &e);
}

uint32_t kb_ridx(kir_program *p, int axis) {
    kir_expr e = blank(KX_RIDX, IR_I64);
    e.axis = axis;
    return intern(p, &e);
}

uint32_t kb_dim(kir_program *p, ir_dim dim) {
    if (ir_dim_is_const(dim)) return kb_const_i(p, IR_I64, dim.c);
    kir_expr e = blank(KX_DIM, IR_I64);
    e.dim = dim;
    return intern(p, &e);
}

uint32_t kb_acc(kir_program *p, ir_dtype t) { return intern(p, &(kir_expr){.op = KX_ACC, .dtype = t, .dim = {0, -1}}); }

uint32_t kb_load(kir_program *p, uint32_t b, const uint32_t *idx) {
    kir_expr e = blank(KX_LOAD, p->bufs[b].dtype);
    e.buffer = b;
    e.n_args = (uint32_t)p->bufs[b].rank;
    e.args = (uint32_t *)idx;
    for (uint32_t i = 0; i < e.n_args; i++) assert(p->exprs[idx[i]].dtype == IR_I64);
    return intern(p, &e);
}

static bool is_const(const kir_program *p, uint32_t a, double *v) {
    const kir_expr *e = &p->exprs[a];
    if (e->op != KX_CONST) return false;
    *v = ir_dtype_is_float(e->dtype) ? e->fval : (double)e->ival;
    return true;
}

uint32_t kb_un(kir_program *p, kx_op op, uint32_t a) {
    const kx_info *info = kx_get(op);
    assert(info->arity == 1);
    ir_dtype t = kb_type(p, a);
    if (info->cls == KXC_CMP) t = IR_BOOL;
    assert(info->cls != KXC_MATH || ir_dtype_is_float(kb_type(p, a)));
    kir_expr e = blank(op, t);
    e.n_args = 1;
    e.args = &a;
    return intern(p, &e);
}

uint32_t kb_bin(kir_program *p, kx_op op, uint32_t a, uint32_t b) {
    const kx_info *info = kx_get(op);
    assert(info->arity == 2);
    assert(kb_type(p, a) == kb_type(p, b) || op == KX_SHL || op == KX_SHR || op == KX_POW);
    double ca = 0, cb = 0;
    /* keep index math small: x+0, x*1, 0*x, x*0 */
    if (kb_type(p, a) == IR_I64 && (op == KX_ADD || op == KX_MUL || op == KX_SUB)) {
        bool ka = is_const(p, a, &ca), kb2 = is_const(p, b, &cb);
        if (ka && kb2) {
            int64_t x = (int64_t)ca, y = (int64_t)cb;
            return kb_const_i(p, IR_I64, op == KX_ADD ? x + y : op == KX_SUB ? x - y : x * y);
        }
        if ((op == KX_ADD || op == KX_SUB) && kb2 && cb == 0) return a;
        if (op == KX_ADD && ka && ca == 0) return b;
        if (op == KX_MUL && ((kb2 && cb == 1))) return a;
        if (op == KX_MUL && ((ka && ca == 1))) return b;
        if (op == KX_MUL && ((ka && ca == 0) || (kb2 && cb == 0))) return kb_const_i(p, IR_I64, 0);
    }
    ir_dtype t = info->cls == KXC_CMP ? IR_BOOL : kb_type(p, a);
    uint32_t args[2] = {a, b};
    kir_expr e = blank(op, t);
    e.n_args = 2;
    e.args = args;
    return intern(p, &e);
}

uint32_t kb_select(kir_program *p, uint32_t cond, uint32_t a, uint32_t b) {
    assert(kb_type(p, cond) == IR_BOOL && kb_type(p, a) == kb_type(p, b));
    if (a == b) return a;
    uint32_t args[3] = {cond, a, b};
    kir_expr e = blank(KX_SELECT, kb_type(p, a));
    e.n_args = 3;
    e.args = args;
    return intern(p, &e);
}

uint32_t kb_cast_round(kir_program *p, ir_dtype t, uint32_t a, bool saturate, int round) {
    if (kb_type(p, a) == t) return a;
    kir_expr e = blank(KX_CAST, t);
    e.n_args = 1;
    e.args = &a;
    e.ival = (saturate ? KIR_CAST_SATURATE : 0) | (int64_t)round << KIR_CAST_ROUND_SHIFT;
    return intern(p, &e);
}

uint32_t kb_remake(kir_program *p, const kir_expr *proto, const uint32_t *args) {
    kir_expr e = *proto;
    e.args = (uint32_t *)args;
    return intern(p, &e);
}
uint32_t kb_cast(kir_program *p, ir_dtype t, uint32_t a, bool saturate) { return kb_cast_round(p, t, a, saturate, 0); }

uint32_t kb_iadd(kir_program *p, uint32_t a, int64_t c) { return kb_bin(p, KX_ADD, a, kb_const_i(p, IR_I64, c)); }
uint32_t kb_imul(kir_program *p, uint32_t a, int64_t c) { return kb_bin(p, KX_MUL, a, kb_const_i(p, IR_I64, c)); }

uint32_t kb_load_bcast(kir_program *p, uint32_t b, int out_rank, const ir_dim *out_dims) {
    const kir_buffer *buf = &p->bufs[b];
    uint32_t idx[IR_MAX_RANK];
    int off = out_rank - buf->rank;
    assert(off >= 0);
    for (int i = 0; i < buf->rank; i++) {
        ir_dim bd = buf->dims[i], od = out_dims[i + off];
        bool bcast = ir_dim_is_const(bd) && bd.c == 1 && !(ir_dim_is_const(od) && od.c == 1);
        idx[i] = bcast ? kb_const_i(p, IR_I64, 0) : kb_idx(p, i + off);
    }
    return kb_load(p, b, idx);
}

uint32_t kb_load_same(kir_program *p, uint32_t b) {
    uint32_t idx[IR_MAX_RANK];
    for (int i = 0; i < p->bufs[b].rank; i++) idx[i] = kb_idx(p, i);
    return kb_load(p, b, idx);
}

/* ---- kernels ------------------------------------------------------------------ */

static kir_kernel *new_kernel(kir_program *p, ir_id node, uint32_t out) {
    must(grow((void **)&p->kernels, &p->cap_kernels, p->n_kernels + 1, sizeof(kir_kernel)) ? NULL : p);
    kir_kernel *k = &p->kernels[p->n_kernels];
    memset(k, 0, sizeof *k);
    k->node = node;
    k->name = node != IR_NONE ? p->g->nodes[node].name : "";
    k->out = out;
    k->body = KIR_NONE;
    k->post = KIR_NONE;
    return k;
}

int kb_kernel(kir_program *p, ir_id node, uint32_t out, uint32_t body) {
    assert(kb_type(p, body) == p->bufs[out].dtype);
    kir_kernel *k = new_kernel(p, node, out);
    k->kind = KK_LOOP;
    k->body = body;
    return (int)p->n_kernels++;
}

int kb_reduce(kir_program *p, ir_id node, uint32_t out, kir_reduce r, int rrank, const ir_dim *red, ir_dtype acc,
              uint32_t body, uint32_t post) {
    assert(post == KIR_NONE ? (r == KR_ARGMAX || r == KR_ARGMIN ? p->bufs[out].dtype == IR_I64
                                                              : acc == p->bufs[out].dtype)
                            : kb_type(p, post) == p->bufs[out].dtype);
    kir_kernel *k = new_kernel(p, node, out);
    k->kind = KK_LOOP;
    k->reduce = r;
    k->rrank = rrank;
    for (int i = 0; i < rrank; i++) k->red[i] = red[i];
    k->acc_dtype = acc;
    k->body = body;
    k->post = post;
    return (int)p->n_kernels++;
}

int kb_library(kir_program *p, ir_id node, const char *lib, const uint32_t *in, uint32_t n_in, const uint32_t *out,
               uint32_t n_out) {
    kir_kernel *k = new_kernel(p, node, n_out ? out[0] : KIR_NONE);
    k->kind = KK_LIB;
    k->lib = lib;
    k->lib_in = n_in ? must(arena_memdup(&p->arena, in, n_in, sizeof *in)) : NULL;
    k->lib_out = n_out ? must(arena_memdup(&p->arena, out, n_out, sizeof *out)) : NULL;
    k->n_lib_in = n_in;
    k->n_lib_out = n_out;
    return (int)p->n_kernels++;
}

double kb_reduce_init_f(kir_reduce r) {
    switch (r) {
    case KR_PROD: return 1.0;
    case KR_MAX: case KR_ARGMAX: return -INFINITY;
    case KR_MIN: case KR_ARGMIN: return INFINITY;
    default: return 0.0;
    }
}

int64_t kb_reduce_init_i(kir_reduce r, ir_dtype t) {
    bool sgn = ir_dtype_is_signed(t);
    int bits = (int)ir_dtype_get(t)->block_bytes * 8 / (int)ir_dtype_get(t)->block_elems;
    int64_t maxv = bits >= 64 ? (sgn ? INT64_MAX : -1) : sgn ? (INT64_C(1) << (bits - 1)) - 1 : (INT64_C(1) << bits) - 1;
    int64_t minv = sgn ? (bits >= 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1))) : 0;
    if (t == IR_BOOL) maxv = 1, minv = 0;
    switch (r) {
    case KR_PROD: return 1;
    case KR_MAX: case KR_ARGMAX: return minv;
    case KR_MIN: case KR_ARGMIN: return maxv;
    default: return 0;
    }
}
