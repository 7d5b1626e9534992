/* gemm.c — emits the fp32 GEMM engine (microkernel, pack kernels, driver)
 * as LLVM IR, and packs constant operands at compile time.
 *
 * See gemm.h for the packed layout and the functions' signatures. The
 * microkernel keeps MR x (NR/vec) accumulators as <vec x float> values
 * (allocas that SROA turns into registers), reads one NR-wide row of the B
 * panel as vectors and broadcasts one A element per row per k, with
 * llvm.fma; the k loop is unrolled by 4. Full tiles store straight to C;
 * edge tiles store row by row under a lane mask (llvm.masked.load/store).
 * The integer engine (config.dot != CG_DOT_F32) has the same structure
 * with i32 lanes that hold two i16 of consecutive k, and a dot instruction
 * (pmaddwd, vpdpwssd, or plain IR) in place of the FMA.
 */
#include "codegen/llvm/gemm.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CG_GEMM_UNROLL 4
#define CG_GEMM_PACK_GROUP 8 /* panels per work item of a pack kernel */

/* ---- config ---- */

void cg_gemm_config_init(cg_gemm_config *c, int vec, int nregs) {
    memset(c, 0, sizeof *c);
    c->vec = vec > 0 ? vec : 4;
    c->nregs = nregs > 0 ? nregs : 16;
    /* accumulators + NR/vec B vectors + one broadcast must fit the file */
    int nv = 2, mr = 6;
    if (c->nregs >= 32) {
        if (c->vec >= 8) { nv = 2; mr = 14; }
        else { nv = 3; mr = 8; }
    } else if (c->nregs < 16) {
        nv = 1; mr = 4;
    }
    c->mr = mr;
    c->nr = nv * c->vec;
    c->kc = 256;
    c->mc = mr * 12;
    c->nc = c->nr * 16;
}

void cg_gemm_config_int(cg_gemm_config *c, int vec, int nregs, int dot) {
    cg_gemm_config_init(c, vec, nregs);
    c->dot = dot;
}

static bool has_feature(const char *features, const char *name) {
    size_t n = strlen(name);
    for (const char *f = features; f && (f = strstr(f, name)); f += n)
        if ((f == features || f[-1] == ',') && f[0] == '+' && (f[n] == ',' || f[n] == 0)) return true;
    return false;
}

int cg_gemm_dot_for(const char *triple, const char *features, int vec) {
    bool x86 = strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "i686", 4) == 0;
    if (!x86) return CG_DOT_I16;
    if (vec == 16) {
        if (!has_feature(features, "+avx512bw")) return CG_DOT_I16;
        return has_feature(features, "+avx512vnni") ? CG_DOT_VPDPWSSD : CG_DOT_PMADDWD;
    }
    if (vec == 8) {
        bool vnni = has_feature(features, "+avxvnni") ||
                    (has_feature(features, "+avx512vnni") && has_feature(features, "+avx512vl"));
        return vnni ? CG_DOT_VPDPWSSD : has_feature(features, "+avx2") ? CG_DOT_PMADDWD : CG_DOT_I16;
    }
    return vec == 4 ? CG_DOT_PMADDWD : CG_DOT_I16; /* SSE2 is in every x86_64 */
}

int cg_gemm_config_check(const cg_gemm_config *c, char *err, size_t errlen) {
    const char *why = NULL;
    if (c->vec < 1 || c->vec > 64) why = "vector width out of 1..64";
    else if (c->mr < 1 || c->mr > 64) why = "mr out of 1..64";
    else if (c->nr < c->vec || c->nr % c->vec || c->nr > 256) why = "nr is not a multiple of the vector width";
    else if (c->kc < 1) why = "kc < 1";
    else if (c->mc < c->mr || c->mc % c->mr) why = "mc is not a multiple of mr";
    else if (c->dot < CG_DOT_F32 || c->dot > CG_DOT_VPDPWSSD) why = "unknown dot instruction";
    else if (c->dot == CG_DOT_PMADDWD && c->vec != 4 && c->vec != 8 && c->vec != 16) why = "pmaddwd needs 4, 8 or 16 lanes";
    else if (c->dot == CG_DOT_VPDPWSSD && c->vec != 8 && c->vec != 16) why = "vpdpwssd needs 8 or 16 lanes";
    else if (c->nc < c->nr || c->nc % c->nr) why = "nc is not a multiple of nr";
    if (why && err && errlen) snprintf(err, errlen, "gemm config (mr %d nr %d vec %d): %s", c->mr, c->nr, c->vec, why);
    return why ? -1 : 0;
}

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int op_r(const cg_gemm_config *c, cg_gemm_operand op) { return op == CG_GEMM_A ? c->mr : c->nr; }

int64_t cg_gemm_items(const cg_gemm_config *c, int64_t batch, int64_t M, int64_t N) {
    return batch * cdiv(M, c->mc) * cdiv(N, c->nc);
}

int64_t cg_gemm_pack_items(const cg_gemm_config *c, cg_gemm_operand op, int64_t batch, int64_t P) {
    return batch * cdiv(cdiv(P, op_r(c, op)), CG_GEMM_PACK_GROUP);
}

int64_t cg_gemm_packed_floats(const cg_gemm_config *c, cg_gemm_operand op, int64_t P, int64_t K) {
    int64_t r = op_r(c, op);
    return cdiv(P, r) * r * K;
}

void cg_gemm_pack_const(const cg_gemm_config *c, cg_gemm_operand op, const float *src,
                        int64_t s_rs, int64_t s_cs, int64_t P, int64_t K, float *dst) {
    int64_t R = op_r(c, op), Pp = cdiv(P, R) * R;
    /* stride along the panel dimension p and along k */
    int64_t sp = op == CG_GEMM_A ? s_rs : s_cs, sk = op == CG_GEMM_A ? s_cs : s_rs;
    for (int64_t k0 = 0; k0 < K; k0 += c->kc) {
        int64_t kc = K - k0 < c->kc ? K - k0 : c->kc;
        for (int64_t p0 = 0; p0 < Pp; p0 += R) {
            float *d = dst + k0 * Pp + p0 * kc;
            for (int64_t k = 0; k < kc; k++)
                for (int64_t i = 0; i < R; i++)
                    d[k * R + i] = p0 + i < P ? src[(p0 + i) * sp + (k0 + k) * sk] : 0.0f;
        }
    }
}

void cg_gemm_pack_const_i16(const cg_gemm_config *c, cg_gemm_operand op, const int16_t *src,
                            int64_t s_rs, int64_t s_cs, int64_t P, int64_t K, int16_t *dst) {
    int64_t R = op_r(c, op), Pp = cdiv(P, R) * R, K2 = cdiv(K, 2);
    int64_t sp = op == CG_GEMM_A ? s_rs : s_cs, sk = op == CG_GEMM_A ? s_cs : s_rs;
    for (int64_t k0 = 0; k0 < K2; k0 += c->kc) { /* in pairs */
        int64_t kc = K2 - k0 < c->kc ? K2 - k0 : c->kc;
        for (int64_t p0 = 0; p0 < Pp; p0 += R) {
            int16_t *d = dst + 2 * (k0 * Pp + p0 * kc);
            for (int64_t k = 0; k < 2 * kc; k++) {
                int64_t kk = 2 * k0 + k;
                for (int64_t i = 0; i < R; i++)
                    d[(k / 2 * R + i) * 2 + k % 2] = p0 + i < P && kk < K ? src[(p0 + i) * sp + kk * sk] : 0;
            }
        }
    }
}

/* ---- IR helpers ---- */

typedef struct gx {
    LLVMContextRef cx;
    LLVMModuleRef m;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    LLVMTypeRef i1, i32, i64, f32, ptr, vty; /* vty: <vec x f32>, or <vec x i32> (integer engine) */
    int vec;
} gx;

static void gx_init(gx *g, LLVMModuleRef m, int vec) {
    g->m = m;
    g->cx = LLVMGetModuleContext(m);
    g->i1 = LLVMInt1TypeInContext(g->cx);
    g->i32 = LLVMInt32TypeInContext(g->cx);
    g->i64 = LLVMInt64TypeInContext(g->cx);
    g->f32 = LLVMFloatTypeInContext(g->cx);
    g->ptr = LLVMPointerTypeInContext(g->cx, 0);
    g->vty = LLVMVectorType(g->f32, (unsigned)vec);
    g->vec = vec;
    g->b = LLVMCreateBuilderInContext(g->cx);
}

static LLVMValueRef k64(gx *g, int64_t v) { return LLVMConstInt(g->i64, (unsigned long long)v, 1); }

static LLVMBasicBlockRef blk(gx *g, const char *name) {
    return LLVMAppendBasicBlockInContext(g->cx, g->fn, name);
}

static LLVMValueRef gep(gx *g, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(g->b, g->f32, base, &idx, 1, "");
}

static LLVMValueRef smin(gx *g, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef mul(gx *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(g->b, a, b, ""); }
static LLVMValueRef add(gx *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(g->b, a, b, ""); }

static LLVMValueRef cdiv_ir(gx *g, LLVMValueRef a, int64_t d) {
    return LLVMBuildSDiv(g->b, add(g, a, k64(g, d - 1)), k64(g, d), "");
}

/* ceil(a / n) for n >= 0 (n = 0: a) */
static LLVMValueRef cdiv_even(gx *g, LLVMValueRef a, LLVMValueRef n) {
    LLVMValueRef n1 = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, n, k64(g, 1), ""), n, k64(g, 1), "");
    return LLVMBuildSDiv(g->b, LLVMBuildSub(g->b, add(g, a, n1), k64(g, 1), ""), n1, "");
}

static LLVMValueRef intrinsic(gx *g, const char *name, LLVMTypeRef *tys, size_t n, LLVMTypeRef *fty) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(g->m, id, tys, n);
    *fty = LLVMIntrinsicGetType(g->cx, id, tys, n);
    return f;
}

/* llvm.prefetch of data (rw: 1 write; locality 3: L1, 2: L2) */
static void prefetch(gx *g, LLVMValueRef p, int rw, int locality) {
    LLVMTypeRef tp[1] = {g->ptr}, fty;
    LLVMValueRef f = intrinsic(g, "llvm.prefetch", tp, 1, &fty);
    LLVMValueRef a[4] = {p, LLVMConstInt(g->i32, (unsigned)rw, 0), LLVMConstInt(g->i32, (unsigned)locality, 0),
                         LLVMConstInt(g->i32, 1, 0)};
    LLVMBuildCall2(g->b, fty, f, a, 4, "");
}

/* A counted loop `for (iv = lo; iv < hi; iv += step)`; the body is emitted
 * between loop_begin and loop_end. */
typedef struct gloop {
    LLVMBasicBlockRef hdr, exit;
    LLVMValueRef iv, step;
} gloop;

static LLVMValueRef loop_begin(gx *g, gloop *l, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef step,
                               const char *name) {
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(g->b);
    l->hdr = blk(g, name);
    LLVMBasicBlockRef body = blk(g, "body");
    l->exit = blk(g, "exit");
    l->step = step;
    LLVMBuildBr(g->b, l->hdr);
    LLVMPositionBuilderAtEnd(g->b, l->hdr);
    l->iv = LLVMBuildPhi(g->b, g->i64, name);
    LLVMAddIncoming(l->iv, &lo, &pre, 1);
    LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, l->iv, hi, ""), body, l->exit);
    LLVMPositionBuilderAtEnd(g->b, body);
    return l->iv;
}

static void loop_end(gx *g, gloop *l) {
    LLVMValueRef next = add(g, l->iv, l->step);
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(g->b);
    LLVMAddIncoming(l->iv, &next, &cur, 1);
    LLVMBuildBr(g->b, l->hdr);
    LLVMPositionBuilderAtEnd(g->b, l->exit);
}

/* if (cond) { ...then... } : returns the join block; the builder is at then. */
static LLVMBasicBlockRef if_begin(gx *g, LLVMValueRef cond, const char *name) {
    LLVMBasicBlockRef then = blk(g, name), join = blk(g, "join");
    LLVMBuildCondBr(g->b, cond, then, join);
    LLVMPositionBuilderAtEnd(g->b, then);
    return join;
}

static void if_end(gx *g, LLVMBasicBlockRef join) {
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, join);
}

static LLVMValueRef new_fn(gx *g, const char *name, LLVMTypeRef *params, unsigned n) {
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(g->cx), params, n, 0);
    g->fn = LLVMAddFunction(g->m, name, fty);
    unsigned kind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(g->fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(g->cx, kind, 0));
    LLVMPositionBuilderAtEnd(g->b, blk(g, "entry"));
    return g->fn;
}

static LLVMValueRef splat(gx *g, LLVMValueRef x, int n) {
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)n);
    LLVMValueRef v = LLVMBuildInsertElement(g->b, LLVMGetUndef(vt), x, LLVMConstInt(g->i32, 0, 0), "");
    return LLVMBuildShuffleVector(g->b, v, LLVMGetUndef(vt),
                                  LLVMConstNull(LLVMVectorType(g->i32, (unsigned)n)), "");
}

/* <0+off, 1+off, ...> as i64 */
static LLVMValueRef iota64(gx *g, int n, int64_t off) {
    LLVMValueRef e[256];
    for (int i = 0; i < n; i++) e[i] = k64(g, i + off);
    return LLVMConstVector(e, (unsigned)n);
}

/* ---- microkernel ---- */

typedef struct micro {
    gx g;
    const cg_gemm_config *c;
    const cg_gemm_epilogue *epi;
    LLVMValueRef kc, a, bp, cp, c_rs, mr, nr, flags, batch, row, col, ctx, pf;
    LLVMValueRef acc[64 * 16];
    LLVMValueRef fma, mload, mstore; /* fma: the dot intrinsic of the integer engine */
    LLVMTypeRef fma_ty, mload_ty, mstore_ty;
} micro;

/* acc + the dot of the i16 pairs of a and b (<vec x i32> each) */
static LLVMValueRef dot_i16(micro *u, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
    gx *g = &u->g;
    int n = g->vec;
    LLVMTypeRef i16 = LLVMInt16TypeInContext(g->cx), hv = LLVMVectorType(i16, (unsigned)(2 * n));
    if (u->c->dot == CG_DOT_VPDPWSSD) {
        LLVMValueRef args[3] = {acc, a, b};
        return LLVMBuildCall2(g->b, u->fma_ty, u->fma, args, 3, "");
    }
    LLVMValueRef ah = LLVMBuildBitCast(g->b, a, hv, ""), bh = LLVMBuildBitCast(g->b, b, hv, "");
    if (u->c->dot == CG_DOT_PMADDWD) {
        LLVMValueRef args[2] = {ah, bh};
        return LLVMBuildAdd(g->b, acc, LLVMBuildCall2(g->b, u->fma_ty, u->fma, args, 2, ""), "");
    }
    LLVMTypeRef wv = LLVMVectorType(g->i32, (unsigned)(2 * n));
    LLVMValueRef p = LLVMBuildMul(g->b, LLVMBuildSExt(g->b, ah, wv, ""), LLVMBuildSExt(g->b, bh, wv, ""), "");
    LLVMValueRef ev[64], od[64];
    for (int i = 0; i < n; i++) ev[i] = LLVMConstInt(g->i32, (unsigned)(2 * i), 0), od[i] = LLVMConstInt(g->i32, (unsigned)(2 * i + 1), 0);
    LLVMValueRef e = LLVMBuildShuffleVector(g->b, p, LLVMGetUndef(wv), LLVMConstVector(ev, (unsigned)n), "");
    LLVMValueRef o = LLVMBuildShuffleVector(g->b, p, LLVMGetUndef(wv), LLVMConstVector(od, (unsigned)n), "");
    return LLVMBuildAdd(g->b, acc, LLVMBuildAdd(g->b, e, o, ""), "");
}

/* the dot intrinsic of the integer engine (none for CG_DOT_I16) */
static void dot_intrinsic(micro *u) {
    gx *g = &u->g;
    const char *name = NULL;
    if (u->c->dot == CG_DOT_VPDPWSSD) name = g->vec == 16 ? "llvm.x86.avx512.vpdpwssd.512" : "llvm.x86.avx512.vpdpwssd.256";
    if (u->c->dot == CG_DOT_PMADDWD)
        name = g->vec == 16 ? "llvm.x86.avx512.pmaddw.d.512" : g->vec == 8 ? "llvm.x86.avx2.pmadd.wd" : "llvm.x86.sse2.pmadd.wd";
    if (name) u->fma = intrinsic(g, name, NULL, 0, &u->fma_ty);
}

static void micro_step(micro *u, LLVMValueRef apan, LLVMValueRef bpan, int k) {
    gx *g = &u->g;
    int nv = u->c->nr / g->vec, MR = u->c->mr;
    LLVMValueRef bv[16];
    for (int j = 0; j < nv; j++) {
        bv[j] = LLVMBuildLoad2(g->b, g->vty, gep(g, bpan, k64(g, (int64_t)k * u->c->nr + j * g->vec)), "b");
        LLVMSetAlignment(bv[j], 4);
    }
    LLVMTypeRef et = LLVMGetElementType(g->vty);
    for (int i = 0; i < MR; i++) {
        LLVMValueRef x = LLVMBuildLoad2(g->b, et, gep(g, apan, k64(g, (int64_t)k * MR + i)), "a");
        LLVMValueRef av = splat(g, x, g->vec);
        for (int j = 0; j < nv; j++) {
            LLVMValueRef old = LLVMBuildLoad2(g->b, g->vty, u->acc[i * nv + j], "");
            LLVMValueRef args[3] = {av, bv[j], old}, v;
            if (u->c->dot) v = dot_i16(u, old, av, bv[j]);
            else v = LLVMBuildCall2(g->b, u->fma_ty, u->fma, args, 3, "");
            LLVMBuildStore(g->b, v, u->acc[i * nv + j]);
        }
    }
}

/* The k loop from lo to hi, `unroll` k per trip. */
static void micro_kloop(micro *u, LLVMValueRef lo, LLVMValueRef hi, int unroll) {
    gx *g = &u->g;
    gloop l;
    LLVMValueRef k = loop_begin(g, &l, lo, hi, k64(g, unroll), "k");
    LLVMValueRef apan = gep(g, u->a, mul(g, k, k64(g, u->c->mr)));
    LLVMValueRef bpan = gep(g, u->bp, mul(g, k, k64(g, u->c->nr)));
    /* the next B panel (pf), as fast as this one is read, into L2 */
    LLVMValueRef pfk = gep(g, u->pf, mul(g, k, k64(g, u->c->nr)));
    for (int off = 0; off < unroll * u->c->nr; off += 16) prefetch(g, gep(g, pfk, k64(g, off)), 0, 2);
    for (int t = 0; t < unroll; t++) micro_step(u, apan, bpan, t);
    loop_end(g, &l);
}

static LLVMValueRef apply_epilogue(micro *u, LLVMValueRef v, LLVMValueRef row, LLVMValueRef col,
                                   LLVMValueRef mask, int j) {
    gx *g = &u->g;
    if (u->epi->vec) return u->epi->vec(u->epi->user, g->b, v, u->batch, row, col, mask, u->ctx);
    for (int l = 0; l < g->vec; l++) {
        LLVMValueRef lane = LLVMConstInt(g->i32, (unsigned)l, 0);
        LLVMValueRef off = k64(g, l);
        if (mask) /* lanes outside C see the last column inside: their result is not stored */
            off = LLVMBuildSub(g->b, smin(g, k64(g, j * g->vec + l), LLVMBuildSub(g->b, u->nr, k64(g, 1), "")),
                               k64(g, j * g->vec), "");
        LLVMValueRef x = LLVMBuildExtractElement(g->b, v, lane, "");
        LLVMValueRef y = u->epi->elem(u->epi->user, g->b, x, u->batch, row, add(g, col, off), u->ctx);
        v = LLVMBuildInsertElement(g->b, v, y, lane, "");
    }
    return v;
}

/* Stores the accumulators into C: every row and lane (edge = 0) or the
 * mr x nr corner (edge = 1); with the epilogue when epi = 1. */
static void micro_store(micro *u, int edge, int epi) {
    gx *g = &u->g;
    int nv = u->c->nr / g->vec, MR = u->c->mr;
    LLVMValueRef accf = LLVMBuildICmp(g->b, LLVMIntNE,
                                      LLVMBuildAnd(g->b, u->flags, LLVMConstInt(g->i32, CG_GEMM_ACCUMULATE, 0), ""),
                                      LLVMConstInt(g->i32, 0, 0), "accf");
    LLVMValueRef masks[16] = {0};
    if (edge) {
        LLVMValueRef nrv = splat(g, u->nr, g->vec);
        for (int j = 0; j < nv; j++)
            masks[j] = LLVMBuildICmp(g->b, LLVMIntSLT, iota64(g, g->vec, (int64_t)j * g->vec), nrv, "m");
    }
    LLVMValueRef zero = LLVMConstNull(g->vty), al = LLVMConstInt(g->i32, 4, 0);
    for (int i = 0; i < MR; i++) {
        LLVMBasicBlockRef join = NULL;
        if (edge && i > 0) join = if_begin(g, LLVMBuildICmp(g->b, LLVMIntSLT, k64(g, i), u->mr, ""), "row");
        LLVMValueRef crow = gep(g, u->cp, mul(g, k64(g, i), u->c_rs));
        LLVMValueRef row = add(g, u->row, k64(g, i));
        for (int j = 0; j < nv; j++) {
            LLVMValueRef p = gep(g, crow, k64(g, (int64_t)j * g->vec));
            LLVMValueRef v = LLVMBuildLoad2(g->b, g->vty, u->acc[i * nv + j], "");
            LLVMValueRef old;
            if (edge) {
                LLVMValueRef a[4] = {p, al, masks[j], zero};
                old = LLVMBuildCall2(g->b, u->mload_ty, u->mload, a, 4, "");
            } else {
                old = LLVMBuildLoad2(g->b, g->vty, p, "");
                LLVMSetAlignment(old, 4);
            }
            v = LLVMBuildSelect(g->b, accf, u->c->dot ? LLVMBuildAdd(g->b, v, old, "") : LLVMBuildFAdd(g->b, v, old, ""), v, "");
            if (epi) v = apply_epilogue(u, v, row, add(g, u->col, k64(g, (int64_t)j * g->vec)), masks[j], j);
            if (edge) {
                LLVMValueRef a[4] = {v, p, al, masks[j]};
                LLVMBuildCall2(g->b, u->mstore_ty, u->mstore, a, 4, "");
            } else {
                LLVMSetAlignment(LLVMBuildStore(g->b, v, p), 4);
            }
        }
        if (join) if_end(g, join);
    }
}

LLVMValueRef cg_gemm_emit_micro(LLVMModuleRef m, const cg_gemm_config *c, const cg_gemm_epilogue *epi,
                                const char *name) {
    if (cg_gemm_config_check(c, NULL, 0)) return NULL;
    if (epi && !epi->vec && !epi->elem) epi = NULL;
    micro u;
    memset(&u, 0, sizeof u);
    gx *g = &u.g;
    gx_init(g, m, c->vec);
    if (c->dot) g->vty = LLVMVectorType(g->i32, (unsigned)c->vec);
    u.c = c;
    u.epi = epi;
    LLVMTypeRef ps[13] = {g->i64, g->ptr, g->ptr, g->ptr, g->i64, g->i64, g->i64, g->i32,
                          g->i64, g->i64, g->i64, g->ptr, g->ptr};
    LLVMValueRef fn = new_fn(g, name, ps, 13);
    LLVMValueRef *args[13] = {&u.kc, &u.a, &u.bp, &u.cp, &u.c_rs, &u.mr, &u.nr, &u.flags,
                              &u.batch, &u.row, &u.col, &u.ctx, &u.pf};
    for (unsigned i = 0; i < 13; i++) *args[i] = LLVMGetParam(fn, i);
    LLVMTypeRef t1[1] = {g->vty}, t2[2] = {g->vty, g->ptr};
    if (c->dot) dot_intrinsic(&u);
    else u.fma = intrinsic(g, "llvm.fma", t1, 1, &u.fma_ty);
    u.mload = intrinsic(g, "llvm.masked.load", t2, 2, &u.mload_ty);
    u.mstore = intrinsic(g, "llvm.masked.store", t2, 2, &u.mstore_ty);

    int nacc = c->mr * (c->nr / c->vec);
    for (int i = 0; i < nacc; i++) {
        u.acc[i] = LLVMBuildAlloca(g->b, g->vty, "acc");
        LLVMBuildStore(g->b, LLVMConstNull(g->vty), u.acc[i]);
    }
    /* bring the C tile towards the cache while the k loop runs */
    LLVMValueRef rowl = smin(g, u.mr, k64(g, c->mr));
    for (int i = 0; i < c->mr; i++) {
        LLVMValueRef ri = smin(g, k64(g, i), LLVMBuildSub(g->b, rowl, k64(g, 1), ""));
        LLVMValueRef crow = gep(g, u.cp, mul(g, ri, u.c_rs));
        for (int j = 0; j < c->nr; j += 16) {
            prefetch(g, gep(g, crow, k64(g, j)), 1, 3);
        }
    }
    LLVMValueRef kmain = LLVMBuildAnd(g->b, u.kc, k64(g, -CG_GEMM_UNROLL), "kmain");
    micro_kloop(&u, k64(g, 0), kmain, CG_GEMM_UNROLL);
    micro_kloop(&u, kmain, u.kc, 1);

    LLVMValueRef full = LLVMBuildAnd(g->b, LLVMBuildICmp(g->b, LLVMIntEQ, u.mr, k64(g, c->mr), ""),
                                     LLVMBuildICmp(g->b, LLVMIntEQ, u.nr, k64(g, c->nr), ""), "full");
    LLVMBasicBlockRef bfull = blk(g, "full"), bedge = blk(g, "edge"), done = blk(g, "done");
    LLVMBuildCondBr(g->b, full, bfull, bedge);
    LLVMValueRef last = NULL;
    for (int edge = 0; edge < 2; edge++) {
        LLVMPositionBuilderAtEnd(g->b, edge ? bedge : bfull);
        if (epi) {
            last = LLVMBuildICmp(g->b, LLVMIntNE, LLVMBuildAnd(g->b, u.flags, LLVMConstInt(g->i32, CG_GEMM_LAST, 0), ""),
                                 LLVMConstInt(g->i32, 0, 0), "last");
            LLVMBasicBlockRef with = blk(g, "epi"), without = blk(g, "noepi");
            LLVMBuildCondBr(g->b, last, with, without);
            LLVMPositionBuilderAtEnd(g->b, with);
            micro_store(&u, edge, 1);
            LLVMBuildBr(g->b, done);
            LLVMPositionBuilderAtEnd(g->b, without);
        }
        micro_store(&u, edge, 0);
        LLVMBuildBr(g->b, done);
    }
    LLVMPositionBuilderAtEnd(g->b, done);
    LLVMBuildRetVoid(g->b);
    LLVMDisposeBuilder(g->b);
    return fn;
}

/* ---- pack kernels ---- */

typedef struct packer {
    gx g;
    const cg_gemm_config *c;
    const cg_gemm_loader *ld;
    int R;
    LLVMValueRef src, sp, sk, P, ctx, bt;
    int op;
} packer;

/* one source element (p, k) of batch bt, in range */
static LLVMValueRef pack_load(packer *q, LLVMValueRef sb, LLVMValueRef p, LLVMValueRef k) {
    gx *g = &q->g;
    if (q->ld) {
        LLVMValueRef r = q->op == CG_GEMM_A ? p : k, c = q->op == CG_GEMM_A ? k : p;
        return q->ld->load(q->ld->user, g->b, q->bt, r, c, q->ctx);
    }
    return LLVMBuildLoad2(g->b, g->f32, gep(g, sb, add(g, mul(g, p, q->sp), mul(g, k, q->sk))), "");
}

/* Vector path: the panels are contiguous in the source (sp == 1): copy
 * rows of R floats, source row by source row over panels pa..pb-1 (long
 * sequential reads; panel after panel would stride through the source).
 * dk: the packed K block (db + k0 * Pp). */
static void pack_rows(packer *q, LLVMValueRef sb, LLVMValueRef dk, LLVMValueRef pa, LLVMValueRef pb,
                      LLVMValueRef k0, LLVMValueRef kc) {
    gx *g = &q->g;
    LLVMTypeRef rt = LLVMVectorType(g->f32, (unsigned)q->R);
    gloop l, lp;
    LLVMValueRef k = loop_begin(g, &l, k64(g, 0), kc, k64(g, 1), "pk");
    LLVMValueRef srow = gep(g, sb, mul(g, add(g, k0, k), q->sk)), drow = gep(g, dk, mul(g, k, k64(g, q->R)));
    LLVMValueRef p = loop_begin(g, &lp, pa, pb, k64(g, 1), "pp");
    LLVMValueRef v = LLVMBuildLoad2(g->b, rt, gep(g, srow, mul(g, p, k64(g, q->R))), "");
    LLVMSetAlignment(v, 4);
    LLVMSetAlignment(LLVMBuildStore(g->b, v, gep(g, drow, mul(g, mul(g, p, k64(g, q->R)), kc))), 4);
    loop_end(g, &lp);
    loop_end(g, &l);
}

/* Transposing path: each panel row is contiguous along k (sk == 1): load
 * R vectors of T consecutive k, write T rows of R. */
static void pack_transpose(packer *q, LLVMValueRef sb, LLVMValueRef pd, LLVMValueRef p0, LLVMValueRef k0,
                           LLVMValueRef kc) {
    gx *g = &q->g;
    int T = g->vec, R = q->R;
    LLVMTypeRef tt = LLVMVectorType(g->f32, (unsigned)T), rt = LLVMVectorType(g->f32, (unsigned)R);
    LLVMValueRef kt = LLVMBuildAnd(g->b, kc, k64(g, -T), "kt");
    gloop l;
    LLVMValueRef k = loop_begin(g, &l, k64(g, 0), kt, k64(g, T), "pt");
    LLVMValueRef rows[64];
    for (int i = 0; i < R; i++) {
        LLVMValueRef s = gep(g, sb, add(g, mul(g, add(g, p0, k64(g, i)), q->sp), add(g, k0, k)));
        rows[i] = LLVMBuildLoad2(g->b, tt, s, "");
        LLVMSetAlignment(rows[i], 4);
    }
    LLVMValueRef dk = gep(g, pd, mul(g, k, k64(g, R)));
    for (int t = 0; t < T; t++) {
        LLVMValueRef v = LLVMGetUndef(rt);
        for (int i = 0; i < R; i++)
            v = LLVMBuildInsertElement(g->b, v, LLVMBuildExtractElement(g->b, rows[i], LLVMConstInt(g->i32, (unsigned)t, 0), ""),
                                       LLVMConstInt(g->i32, (unsigned)i, 0), "");
        LLVMSetAlignment(LLVMBuildStore(g->b, v, gep(g, dk, k64(g, (int64_t)t * R))), 4);
    }
    loop_end(g, &l);
    /* the k tail */
    gloop l2;
    k = loop_begin(g, &l2, kt, kc, k64(g, 1), "ptk");
    for (int i = 0; i < R; i++) {
        LLVMValueRef x = pack_load(q, sb, add(g, p0, k64(g, i)), add(g, k0, k));
        LLVMBuildStore(g->b, x, gep(g, pd, add(g, mul(g, k, k64(g, R)), k64(g, i))));
    }
    loop_end(g, &l2);
}

/* Any layout, partial panels, loader hooks: element by element, zeros past P. */
static void pack_generic(packer *q, LLVMValueRef sb, LLVMValueRef pd, LLVMValueRef p0, LLVMValueRef k0,
                         LLVMValueRef kc) {
    gx *g = &q->g;
    gloop l;
    LLVMValueRef k = loop_begin(g, &l, k64(g, 0), kc, k64(g, 1), "pg");
    for (int i = 0; i < q->R; i++) {
        LLVMValueRef p = add(g, p0, k64(g, i));
        LLVMValueRef d = gep(g, pd, add(g, mul(g, k, k64(g, q->R)), k64(g, i)));
        LLVMValueRef in = LLVMBuildICmp(g->b, LLVMIntSLT, p, q->P, "");
        LLVMBasicBlockRef yes = blk(g, "in"), no = blk(g, "out"), join = blk(g, "j");
        LLVMBuildCondBr(g->b, in, yes, no);
        LLVMPositionBuilderAtEnd(g->b, yes);
        LLVMBuildStore(g->b, pack_load(q, sb, p, add(g, k0, k)), d);
        LLVMBuildBr(g->b, join);
        LLVMPositionBuilderAtEnd(g->b, no);
        LLVMBuildStore(g->b, LLVMConstNull(g->f32), d);
        LLVMBuildBr(g->b, join);
        LLVMPositionBuilderAtEnd(g->b, join);
    }
    loop_end(g, &l);
}

LLVMValueRef cg_gemm_emit_pack(LLVMModuleRef m, const cg_gemm_config *c, cg_gemm_operand op,
                               const cg_gemm_loader *ld, const char *name) {
    if (cg_gemm_config_check(c, NULL, 0)) return NULL;
    packer q;
    memset(&q, 0, sizeof q);
    gx *g = &q.g;
    gx_init(g, m, c->vec);
    q.c = c;
    q.ld = ld && ld->load ? ld : NULL;
    q.op = op;
    q.R = op_r(c, op);
    LLVMTypeRef ps[10] = {g->ptr, g->i64, g->i64, g->i64, g->ptr, g->i64, g->i64, g->ptr, g->i64, g->i64};
    LLVMValueRef fn = new_fn(g, name, ps, 10);
    LLVMValueRef src = LLVMGetParam(fn, 0), s_rs = LLVMGetParam(fn, 1), s_cs = LLVMGetParam(fn, 2),
                 s_bs = LLVMGetParam(fn, 3), dst = LLVMGetParam(fn, 4), K = LLVMGetParam(fn, 6);
    q.P = LLVMGetParam(fn, 5);
    q.ctx = LLVMGetParam(fn, 7);
    q.sp = op == CG_GEMM_A ? s_rs : s_cs;
    q.sk = op == CG_GEMM_A ? s_cs : s_rs;
    LLVMValueRef npan = cdiv_ir(g, q.P, q.R);
    LLVMValueRef Pp = mul(g, npan, k64(g, q.R));
    LLVMValueRef per = mul(g, Pp, K);
    LLVMValueRef vec_ok = q.ld ? LLVMConstInt(g->i1, 0, 0) : LLVMBuildICmp(g->b, LLVMIntEQ, q.sp, k64(g, 1), "");
    LLVMValueRef tr_ok = q.ld ? LLVMConstInt(g->i1, 0, 0) : LLVMBuildICmp(g->b, LLVMIntEQ, q.sk, k64(g, 1), "");

    LLVMValueRef ngrp = cdiv_ir(g, npan, CG_GEMM_PACK_GROUP);
    gloop li;
    LLVMValueRef it = loop_begin(g, &li, LLVMGetParam(fn, 8), LLVMGetParam(fn, 9), k64(g, 1), "item");
    q.bt = LLVMBuildSDiv(g->b, it, ngrp, "bt");
    LLVMValueRef pa = mul(g, LLVMBuildSRem(g->b, it, ngrp, ""), k64(g, CG_GEMM_PACK_GROUP));
    LLVMValueRef pb = smin(g, npan, add(g, pa, k64(g, CG_GEMM_PACK_GROUP)));
    LLVMValueRef sb = gep(g, src, mul(g, q.bt, s_bs));
    LLVMValueRef db = gep(g, dst, mul(g, q.bt, per));
    LLVMValueRef allfull = LLVMBuildICmp(g->b, LLVMIntSLE, mul(g, pb, k64(g, q.R)), q.P, "allfull");
    gloop lk, lp;
    LLVMValueRef k0 = loop_begin(g, &lk, k64(g, 0), K, k64(g, c->kc), "kb");
    LLVMValueRef kc = smin(g, k64(g, c->kc), LLVMBuildSub(g->b, K, k0, ""));
    LLVMValueRef dk = gep(g, db, mul(g, k0, Pp));
    LLVMBasicBlockRef brow = blk(g, "rows"), bpan = blk(g, "panels"), join = blk(g, "pj");
    LLVMBuildCondBr(g->b, LLVMBuildAnd(g->b, allfull, vec_ok, ""), brow, bpan);
    LLVMPositionBuilderAtEnd(g->b, brow);
    pack_rows(&q, sb, dk, pa, pb, k0, kc);
    LLVMBuildBr(g->b, join);
    /* panel by panel: transposed sources, the partial last panel, loaders */
    LLVMPositionBuilderAtEnd(g->b, bpan);
    LLVMValueRef p = loop_begin(g, &lp, pa, pb, k64(g, 1), "pan");
    LLVMValueRef p0 = mul(g, p, k64(g, q.R));
    LLVMValueRef pd = gep(g, dk, mul(g, p0, kc));
    LLVMValueRef full = LLVMBuildICmp(g->b, LLVMIntSLE, add(g, p0, k64(g, q.R)), q.P, "full");
    LLVMBasicBlockRef bone = blk(g, "row1"), bnot = blk(g, "notrows"), btr = blk(g, "tr"), bgen = blk(g, "gen"),
                      pjoin = blk(g, "pnj");
    LLVMBuildCondBr(g->b, LLVMBuildAnd(g->b, full, vec_ok, ""), bone, bnot);
    LLVMPositionBuilderAtEnd(g->b, bone);
    pack_rows(&q, sb, dk, p, add(g, p, k64(g, 1)), k0, kc);
    LLVMBuildBr(g->b, pjoin);
    LLVMPositionBuilderAtEnd(g->b, bnot);
    LLVMBuildCondBr(g->b, LLVMBuildAnd(g->b, full, tr_ok, ""), btr, bgen);
    LLVMPositionBuilderAtEnd(g->b, btr);
    pack_transpose(&q, sb, pd, p0, k0, kc);
    LLVMBuildBr(g->b, pjoin);
    LLVMPositionBuilderAtEnd(g->b, bgen);
    pack_generic(&q, sb, pd, p0, k0, kc);
    LLVMBuildBr(g->b, pjoin);
    LLVMPositionBuilderAtEnd(g->b, pjoin);
    loop_end(g, &lp);
    LLVMBuildBr(g->b, join);
    LLVMPositionBuilderAtEnd(g->b, join);
    loop_end(g, &lk);
    loop_end(g, &li);
    LLVMBuildRetVoid(g->b);
    LLVMDisposeBuilder(g->b);
    return fn;
}

/* ---- driver ---- */

/* enough of a gx for i64 arithmetic at the caller's builder */
static gx gx_arith(LLVMBuilderRef b, LLVMValueRef v) {
    gx g;
    memset(&g, 0, sizeof g);
    g.b = b;
    g.i64 = LLVMInt64TypeInContext(LLVMGetTypeContext(LLVMTypeOf(v)));
    return g;
}

LLVMValueRef cg_gemm_build_items(LLVMBuilderRef b, const cg_gemm_config *c, LLVMValueRef batch,
                                 LLVMValueRef M, LLVMValueRef N) {
    gx g = gx_arith(b, M);
    return mul(&g, batch, mul(&g, cdiv_ir(&g, M, c->mc), cdiv_ir(&g, N, c->nc)));
}

LLVMValueRef cg_gemm_build_pack_items(LLVMBuilderRef b, const cg_gemm_config *c, cg_gemm_operand op,
                                      LLVMValueRef batch, LLVMValueRef P) {
    gx g = gx_arith(b, P);
    return mul(&g, batch, cdiv_ir(&g, cdiv_ir(&g, P, op_r(c, op)), CG_GEMM_PACK_GROUP));
}

LLVMValueRef cg_gemm_emit_driver(LLVMModuleRef m, const cg_gemm_config *c, LLVMValueRef micro_fn,
                                 const char *name) {
    if (cg_gemm_config_check(c, NULL, 0) || !micro_fn) return NULL;
    gx gg, *g = &gg;
    gx_init(g, m, c->vec);
    LLVMTypeRef ps[14] = {g->ptr, g->i64, g->ptr, g->i64, g->ptr, g->i64, g->i64,
                          g->i64, g->i64, g->i64, g->i32, g->ptr, g->i64, g->i64};
    LLVMValueRef fn = new_fn(g, name, ps, 14);
    LLVMValueRef A = LLVMGetParam(fn, 0), a_bs = LLVMGetParam(fn, 1), B = LLVMGetParam(fn, 2),
                 b_bs = LLVMGetParam(fn, 3), C = LLVMGetParam(fn, 4), c_rs = LLVMGetParam(fn, 5),
                 c_bs = LLVMGetParam(fn, 6), M = LLVMGetParam(fn, 7), N = LLVMGetParam(fn, 8),
                 K = LLVMGetParam(fn, 9), accum = LLVMGetParam(fn, 10), ctx = LLVMGetParam(fn, 11);
    LLVMTypeRef mty = LLVMGlobalGetValueType(micro_fn);
    LLVMValueRef nm = cdiv_ir(g, M, c->mc), nn = cdiv_ir(g, N, c->nc);
    LLVMValueRef per = mul(g, nm, nn);
    /* even blocks (rounded to the tile), so that equal item ranges are equal work */
    LLVMValueRef mc = mul(g, cdiv_ir(g, cdiv_even(g, M, nm), c->mr), k64(g, c->mr));
    LLVMValueRef nc = mul(g, cdiv_ir(g, cdiv_even(g, N, nn), c->nr), k64(g, c->nr));
    LLVMValueRef Mp = mul(g, cdiv_ir(g, M, c->mr), k64(g, c->mr));
    LLVMValueRef Np = mul(g, cdiv_ir(g, N, c->nr), k64(g, c->nr));
    LLVMValueRef acc0 = LLVMBuildICmp(g->b, LLVMIntNE, accum, LLVMConstInt(g->i32, 0, 0), "");
    /* K == 0 still runs one (empty) block: C = 0 or C, then the epilogue */
    LLVMValueRef Kr = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, K, k64(g, 0), ""), K, k64(g, 1), "");

    gloop li;
    LLVMValueRef it = loop_begin(g, &li, LLVMGetParam(fn, 12), LLVMGetParam(fn, 13), k64(g, 1), "item");
    LLVMValueRef bt = LLVMBuildSDiv(g->b, it, per, "bt");
    LLVMValueRef r = LLVMBuildSRem(g->b, it, per, "");
    LLVMValueRef m0 = mul(g, LLVMBuildSDiv(g->b, r, nn, ""), mc);
    LLVMValueRef n0 = mul(g, LLVMBuildSRem(g->b, r, nn, ""), nc);
    LLVMValueRef m1 = smin(g, M, add(g, m0, mc)), n1 = smin(g, N, add(g, n0, nc));
    LLVMValueRef Ab = gep(g, A, mul(g, bt, a_bs)), Bb = gep(g, B, mul(g, bt, b_bs)), Cb = gep(g, C, mul(g, bt, c_bs));
    gloop lk;
    LLVMValueRef k0 = loop_begin(g, &lk, k64(g, 0), Kr, k64(g, c->kc), "kb");
    LLVMValueRef kc = LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSGT, K, k64(g, 0), ""),
                                      smin(g, k64(g, c->kc), LLVMBuildSub(g->b, K, k0, "")), k64(g, 0), "kc");
    LLVMValueRef accf = LLVMBuildOr(g->b, acc0, LLVMBuildICmp(g->b, LLVMIntSGT, k0, k64(g, 0), ""), "");
    LLVMValueRef lastf = LLVMBuildICmp(g->b, LLVMIntSGE, add(g, k0, k64(g, c->kc)), Kr, "");
    LLVMValueRef flags = LLVMBuildOr(g->b, LLVMBuildZExt(g->b, accf, g->i32, ""),
                                     LLVMBuildShl(g->b, LLVMBuildZExt(g->b, lastf, g->i32, ""),
                                                  LLVMConstInt(g->i32, 1, 0), ""), "flags");
    LLVMValueRef Ak = gep(g, Ab, mul(g, k0, Mp)), Bk = gep(g, Bb, mul(g, k0, Np));
    gloop ln, lm;
    LLVMValueRef n = loop_begin(g, &ln, n0, n1, k64(g, c->nr), "jr");
    LLVMValueRef bpan = gep(g, Bk, mul(g, n, kc));
    LLVMValueRef bnext = gep(g, bpan, mul(g, kc, k64(g, c->nr)));
    LLVMValueRef nr = smin(g, k64(g, c->nr), LLVMBuildSub(g->b, n1, n, ""));
    LLVMValueRef mm = loop_begin(g, &lm, m0, m1, k64(g, c->mr), "ir");
    LLVMValueRef apan = gep(g, Ak, mul(g, mm, kc));
    LLVMValueRef mr = smin(g, k64(g, c->mr), LLVMBuildSub(g->b, m1, mm, ""));
    LLVMValueRef cp = gep(g, Cb, add(g, mul(g, mm, c_rs), n));
    LLVMValueRef a[13] = {kc, apan, bpan, cp, c_rs, mr, nr, flags, bt, mm, n, ctx, bnext};
    LLVMBuildCall2(g->b, mty, micro_fn, a, 13, "");
    loop_end(g, &lm);
    loop_end(g, &ln);
    loop_end(g, &lk);
    loop_end(g, &li);
    LLVMBuildRetVoid(g->b);
    LLVMDisposeBuilder(g->b);
    return fn;
}
