/* symbols.c — the generated eval_symbols: every expression symbol of the
 * graph (IR_SYM_ADD ... IR_SYM_MAX) computed from the named ones in graph
 * order (operands come before the symbols made of them), with the checks of
 * ir/symdim.c: an overflow, a division by zero or a negative size makes it
 * return -1. A symbol whose operands are not bound yet (a data-dependent
 * size a library step binds later) is set to -1 without failing.
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/cg_internal.h"

static LLVMValueRef ovf(cg_ctx *c, LLVMBuilderRef b, const char *name, LLVMValueRef x, LLVMValueRef y,
                        LLVMValueRef *bad) {
    LLVMTypeRef ty = c->t_i64;
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &ty, 1);
    LLVMValueRef args[2] = {x, y};
    LLVMValueRef r = LLVMBuildCall2(b, LLVMIntrinsicGetType(c->ctx, id, &ty, 1), fn, args, 2, "");
    *bad = LLVMBuildOr(b, *bad, LLVMBuildExtractValue(b, r, 1, ""), "");
    return LLVMBuildExtractValue(b, r, 0, "");
}

/* floor(x / y) for x >= 0 known; y == 0 is flagged bad */
static LLVMValueRef floordiv(cg_ctx *c, LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y, LLVMValueRef *bad) {
    LLVMValueRef zero = LLVMConstInt(c->t_i64, 0, 0), one = LLVMConstInt(c->t_i64, 1, 0);
    LLVMValueRef yz = LLVMBuildICmp(b, LLVMIntEQ, y, zero, "");
    *bad = LLVMBuildOr(b, *bad, yz, "");
    LLVMValueRef sy = LLVMBuildSelect(b, yz, one, y, "");
    LLVMValueRef q = LLVMBuildSDiv(b, x, sy, ""), m = LLVMBuildSRem(b, x, sy, "");
    LLVMValueRef fix = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntNE, m, zero, ""),
                                    LLVMBuildXor(b, LLVMBuildICmp(b, LLVMIntSLT, x, zero, ""),
                                                 LLVMBuildICmp(b, LLVMIntSLT, y, zero, ""), ""), "");
    return LLVMBuildSelect(b, fix, LLVMBuildSub(b, q, one, ""), q, "");
}

LLVMValueRef cg_emit_eval_symbols(cg_ctx *c) {
    LLVMTypeRef ty = LLVMFunctionType(c->t_i32, &c->t_ptr, 1, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, "smelt.eval_symbols", ty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c->ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
    LLVMValueRef syms = LLVMGetParam(fn, 0), bad = LLVMConstInt(c->t_i1, 0, 0);
    LLVMValueRef zero = LLVMConstInt(c->t_i64, 0, 0), m1 = LLVMConstAllOnes(c->t_i64);
    const ir_graph *g = c->g;
    LLVMValueRef *val = calloc(g->n_syms ? g->n_syms : 1, sizeof *val);
    if (!val) return NULL;
    for (uint32_t s = 0; s < g->n_syms; s++) {
        LLVMValueRef i = LLVMConstInt(c->t_i64, s, 0);
        LLVMValueRef slot = LLVMBuildGEP2(b, c->t_i64, syms, &i, 1, "");
        const ir_symbol *sy = &g->syms[s];
        if (sy->kind == IR_SYM_NAMED) {
            val[s] = LLVMBuildLoad2(b, c->t_i64, slot, "");
            continue;
        }
        LLVMValueRef x = ir_dim_is_const(sy->a) ? LLVMConstInt(c->t_i64, (unsigned long long)sy->a.c, 1) : val[sy->a.sym];
        LLVMValueRef y = ir_dim_is_const(sy->b) ? LLVMConstInt(c->t_i64, (unsigned long long)sy->b.c, 1) : val[sy->b.sym];
        LLVMValueRef known = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, x, zero, ""),
                                          LLVMBuildICmp(b, LLVMIntSGE, y, zero, ""), "");
        LLVMValueRef sbad = LLVMConstInt(c->t_i1, 0, 0), r;
        switch (sy->kind) {
        case IR_SYM_ADD: r = ovf(c, b, "llvm.sadd.with.overflow", x, y, &sbad); break;
        case IR_SYM_SUB: r = ovf(c, b, "llvm.ssub.with.overflow", x, y, &sbad); break;
        case IR_SYM_MUL: r = ovf(c, b, "llvm.smul.with.overflow", x, y, &sbad); break;
        case IR_SYM_DIV: r = floordiv(c, b, x, y, &sbad); break;
        case IR_SYM_CDIV: r = LLVMBuildSub(b, zero, floordiv(c, b, LLVMBuildSub(b, zero, x, ""), y, &sbad), ""); break;
        case IR_SYM_MOD: r = LLVMBuildSub(b, x, LLVMBuildMul(b, floordiv(c, b, x, y, &sbad), y, ""), ""); break;
        case IR_SYM_MIN: r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, x, y, ""), x, y, ""); break;
        default: r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, x, y, ""), x, y, ""); break;
        }
        sbad = LLVMBuildOr(b, sbad, LLVMBuildICmp(b, LLVMIntSLT, r, zero, ""), "");
        bad = LLVMBuildOr(b, bad, LLVMBuildAnd(b, known, sbad, ""), "");
        val[s] = LLVMBuildSelect(b, LLVMBuildAnd(b, known, LLVMBuildNot(b, sbad, ""), ""), r, m1, "");
        LLVMBuildStore(b, val[s], slot);
    }
    LLVMBuildRet(b, LLVMBuildSelect(b, bad, LLVMConstAllOnes(c->t_i32), LLVMConstInt(c->t_i32, 0, 0), ""));
    LLVMDisposeBuilder(b);
    free(val);
    return fn;
}
