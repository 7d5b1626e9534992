/* helpers.c — small internal functions every generated module carries
 * (parsed from LLVM IR text, always inlined): f16/bf16 conversions with the
 * exact bit-level behaviour of runtime/half.c (so results do not depend on
 * the target's half support), integer power as ir/interp.c's ipow, and the
 * reassociable float add/mul that reductions use (the LLVM 16 C API cannot
 * set fast-math flags, IR text can), and exp of a float as a polynomial
 * that vectorizes (a libm call does not).
 */
#include <string.h>

#include <llvm-c/IRReader.h>
#include <llvm-c/Linker.h>

#include "codegen/llvm/cg_internal.h"

static const char helpers_ir[] =
    "define i16 @cg.f32_to_f16(float %f) #0 {\n"
    "  %x = bitcast float %f to i32\n"
    "  %s0 = lshr i32 %x, 16\n"
    "  %sign = and i32 %s0, 32768\n"
    "  %ax = and i32 %x, 2147483647\n"
    "  %m13 = lshr i32 %ax, 13\n"
    "  %nm = and i32 %m13, 1023\n"
    "  %n1 = or i32 %sign, 32256\n"
    "  %nanv = or i32 %n1, %nm\n"
    "  %infv = or i32 %sign, 31744\n"
    "  %h0 = sub i32 %m13, 114688\n"
    "  %rem = and i32 %ax, 8191\n"
    "  %odd = and i32 %h0, 1\n"
    "  %gt = icmp ugt i32 %rem, 4096\n"
    "  %eq = icmp eq i32 %rem, 4096\n"
    "  %oddb = icmp ne i32 %odd, 0\n"
    "  %tie = and i1 %eq, %oddb\n"
    "  %up = or i1 %gt, %tie\n"
    "  %upi = zext i1 %up to i32\n"
    "  %h1 = add i32 %h0, %upi\n"
    "  %normv = or i32 %sign, %h1\n"
    "  %mlo = and i32 %ax, 8388607\n"
    "  %man = or i32 %mlo, 8388608\n"
    "  %e = lshr i32 %ax, 23\n"
    "  %sh0 = sub i32 126, %e\n"
    "  %shbig = icmp ugt i32 %sh0, 24\n"
    "  %sh = select i1 %shbig, i32 24, i32 %sh0\n"
    "  %half = lshr i32 %man, %sh\n"
    "  %bit = shl i32 1, %sh\n"
    "  %mask = sub i32 %bit, 1\n"
    "  %rem2 = and i32 %man, %mask\n"
    "  %mid = lshr i32 %bit, 1\n"
    "  %gt2 = icmp ugt i32 %rem2, %mid\n"
    "  %eq2 = icmp eq i32 %rem2, %mid\n"
    "  %odd2 = and i32 %half, 1\n"
    "  %odd2b = icmp ne i32 %odd2, 0\n"
    "  %tie2 = and i1 %eq2, %odd2b\n"
    "  %up2 = or i1 %gt2, %tie2\n"
    "  %up2i = zext i1 %up2 to i32\n"
    "  %half1 = add i32 %half, %up2i\n"
    "  %subv = or i32 %sign, %half1\n"
    "  %isnan = icmp ugt i32 %ax, 2139095040\n"
    "  %isinf = icmp uge i32 %ax, 1199566848\n"
    "  %iszero = icmp ult i32 %ax, 855638016\n"
    "  %issub = icmp ult i32 %ax, 947912704\n"
    "  %r1 = select i1 %issub, i32 %subv, i32 %normv\n"
    "  %r2 = select i1 %iszero, i32 %sign, i32 %r1\n"
    "  %r3 = select i1 %isinf, i32 %infv, i32 %r2\n"
    "  %r4 = select i1 %isnan, i32 %nanv, i32 %r3\n"
    "  %r = trunc i32 %r4 to i16\n"
    "  ret i16 %r\n"
    "}\n"
    "define float @cg.f16_to_f32(i16 %h) #0 {\n"
    "  %w = zext i16 %h to i32\n"
    "  %s = and i32 %w, 32768\n"
    "  %sign = shl i32 %s, 16\n"
    "  %e0 = lshr i32 %w, 10\n"
    "  %exp = and i32 %e0, 31\n"
    "  %man = and i32 %w, 1023\n"
    "  %m13 = shl i32 %man, 13\n"
    "  %i1 = or i32 %sign, 2139095040\n"
    "  %infnan = or i32 %i1, %m13\n"
    "  %eb = add i32 %exp, 112\n"
    "  %es = shl i32 %eb, 23\n"
    "  %n1 = or i32 %sign, %es\n"
    "  %norm = or i32 %n1, %m13\n"
    "  %mf = uitofp i32 %man to float\n"
    "  %sf = fmul float %mf, 0x3E70000000000000\n"
    "  %sb = bitcast float %sf to i32\n"
    "  %sub = or i32 %sb, %sign\n"
    "  %is31 = icmp eq i32 %exp, 31\n"
    "  %is0 = icmp eq i32 %exp, 0\n"
    "  %r1 = select i1 %is0, i32 %sub, i32 %norm\n"
    "  %r2 = select i1 %is31, i32 %infnan, i32 %r1\n"
    "  %r = bitcast i32 %r2 to float\n"
    "  ret float %r\n"
    "}\n"
    "define i16 @cg.f32_to_bf16(float %f) #0 {\n"
    "  %x = bitcast float %f to i32\n"
    "  %ax = and i32 %x, 2147483647\n"
    "  %isnan = icmp ugt i32 %ax, 2139095040\n"
    "  %hi = lshr i32 %x, 16\n"
    "  %q = or i32 %hi, 64\n"
    "  %lsb = and i32 %hi, 1\n"
    "  %rnd = add i32 %lsb, 32767\n"
    "  %sum = add i32 %x, %rnd\n"
    "  %rr = lshr i32 %sum, 16\n"
    "  %r = select i1 %isnan, i32 %q, i32 %rr\n"
    "  %t = trunc i32 %r to i16\n"
    "  ret i16 %t\n"
    "}\n"
    "define float @cg.round_bf16(float %f) #0 {\n"
    "  %h = call i16 @cg.f32_to_bf16(float %f)\n"
    "  %w = zext i16 %h to i32\n"
    "  %s = shl i32 %w, 16\n"
    "  %r = bitcast i32 %s to float\n"
    "  ret float %r\n"
    "}\n"
    "define i64 @cg.ipow(i64 %b, i64 %e) #0 {\n"
    "entry:\n"
    "  %neg = icmp slt i64 %e, 0\n"
    "  br i1 %neg, label %negb, label %loop\n"
    "negb:\n"
    "  %is1 = icmp eq i64 %b, 1\n"
    "  %ism1 = icmp eq i64 %b, -1\n"
    "  %odd = and i64 %e, 1\n"
    "  %oddb = icmp ne i64 %odd, 0\n"
    "  %m1 = select i1 %oddb, i64 -1, i64 1\n"
    "  %r0 = select i1 %ism1, i64 %m1, i64 0\n"
    "  %r1 = select i1 %is1, i64 1, i64 %r0\n"
    "  ret i64 %r1\n"
    "loop:\n"
    "  %r = phi i64 [1, %entry], [%r2, %body]\n"
    "  %bb = phi i64 [%b, %entry], [%bb2, %body]\n"
    "  %ee = phi i64 [%e, %entry], [%ee2, %body]\n"
    "  %done = icmp eq i64 %ee, 0\n"
    "  br i1 %done, label %out, label %body\n"
    "body:\n"
    "  %bit = and i64 %ee, 1\n"
    "  %isb = icmp ne i64 %bit, 0\n"
    "  %rm = mul i64 %r, %bb\n"
    "  %r2 = select i1 %isb, i64 %rm, i64 %r\n"
    "  %bb2 = mul i64 %bb, %bb\n"
    "  %ee2 = lshr i64 %ee, 1\n"
    "  br label %loop\n"
    "out:\n"
    "  ret i64 %r\n"
    "}\n"
    "define float @cg.radd.f32(float %a, float %b) #0 {\n"
    "  %r = fadd reassoc contract float %a, %b\n  ret float %r\n}\n"
    "define double @cg.radd.f64(double %a, double %b) #0 {\n"
    "  %r = fadd reassoc contract double %a, %b\n  ret double %r\n}\n"
    "define float @cg.rmul.f32(float %a, float %b) #0 {\n"
    "  %r = fmul reassoc contract float %a, %b\n  ret float %r\n}\n"
    "define double @cg.rmul.f64(double %a, double %b) #0 {\n"
    "  %r = fmul reassoc contract double %a, %b\n  ret double %r\n}\n"
    /* exp of a float: x = n ln2 + r (Cody-Waite, ln2 = C1 + C2 with C1 of 9
     * bits so n * C1 is exact), Cephes' degree-7 polynomial for e^r on
     * |r| <= ln2 / 2, times 2^n as two powers of two (n / 2 and n - n / 2:
     * 2^128 is not a float); x clamped to [-87.3365, 88.8] (inf beyond),
     * NaN passed through. Results below FLT_MIN (x < -87.3365) are flushed
     * to 0: computing them would make the multiplies subnormal, and an x86
     * core takes a microcode assist of ~150 cycles for each (a causal
     * softmax's masked half, exp(-inf), ran 8x slower). Elsewhere within 1
     * ulp of the correctly rounded result (0.99 measured over 2e7 points). */
    "define float @cg.exp.f32(float %x) #0 {\n"
    "  %lo = call float @llvm.maxnum.f32(float %x, float 0xC055D589C0000000)\n"
    "  %c = call float @llvm.minnum.f32(float %lo, float 0x4056333340000000)\n"
    "  %t = fmul float %c, 0x3FF7154760000000\n"
    "  %n = call float @llvm.rint.f32(float %t)\n"
    "  %h = fmul float %n, 0x3FE6300000000000\n"
    "  %r0 = fsub float %c, %h\n"
    "  %l = fmul float %n, 0xBF2BD01060000000\n"
    "  %r = fsub float %r0, %l\n"
    "  %p1 = call float @llvm.fmuladd.f32(float 0x3F2A0D2CE0000000, float %r, float 0x3F56E879C0000000)\n"
    "  %p2 = call float @llvm.fmuladd.f32(float %p1, float %r, float 0x3F81112100000000)\n"
    "  %p3 = call float @llvm.fmuladd.f32(float %p2, float %r, float 0x3FA5553820000000)\n"
    "  %p4 = call float @llvm.fmuladd.f32(float %p3, float %r, float 0x3FC5555540000000)\n"
    "  %p5 = call float @llvm.fmuladd.f32(float %p4, float %r, float 5.0e-1)\n"
    "  %rr = fmul float %r, %r\n"
    "  %q0 = fadd float %r, 1.0\n"
    "  %q = call float @llvm.fmuladd.f32(float %p5, float %rr, float %q0)\n"
    "  %ni = fptosi float %n to i32\n"
    "  %n1 = ashr i32 %ni, 1\n"
    "  %n2 = sub i32 %ni, %n1\n"
    "  %b1 = add i32 %n1, 127\n"
    "  %e1 = shl i32 %b1, 23\n"
    "  %s1 = bitcast i32 %e1 to float\n"
    "  %b2 = add i32 %n2, 127\n"
    "  %e2 = shl i32 %b2, 23\n"
    "  %s2 = bitcast i32 %e2 to float\n"
    "  %y1 = fmul float %q, %s1\n"
    "  %y = fmul float %y1, %s2\n"
    "  %tiny = fcmp olt float %x, 0xC055D589C0000000\n"
    "  %yz = select i1 %tiny, float 0.0, float %y\n"
    "  %nan = fcmp uno float %x, %x\n"
    "  %res = select i1 %nan, float %x, float %yz\n"
    "  ret float %res\n"
    "}\n"
    "declare float @llvm.maxnum.f32(float, float)\n"
    "declare float @llvm.minnum.f32(float, float)\n"
    "declare float @llvm.rint.f32(float)\n"
    "declare float @llvm.fmuladd.f32(float, float, float)\n"
    "@cg.zero = constant [64 x i8] zeroinitializer, align 64\n"
    "attributes #0 = { alwaysinline nounwind }\n";

int cg_define_helpers(cg_ctx *c) {
    LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRangeCopy(helpers_ir, sizeof helpers_ir - 1, "helpers");
    LLVMModuleRef hm;
    char *err = NULL;
    if (LLVMParseIRInContext(c->ctx, mb, &hm, &err)) { /* takes mb */
        diag_error(c->d, "LLVM backend: internal helpers do not parse: %s", err ? err : "?");
        LLVMDisposeMessage(err);
        return -1;
    }
    LLVMSetTarget(hm, LLVMGetTarget(c->mod));
    LLVMSetDataLayout(hm, LLVMGetDataLayoutStr(c->mod));
    if (LLVMLinkModules2(c->mod, hm)) return diag_error(c->d, "LLVM backend: cannot link the internal helpers");
    /* defined external so that the linker keeps them; internal from now on */
    for (LLVMValueRef f = LLVMGetFirstFunction(c->mod); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f)) LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMSetLinkage(LLVMGetNamedGlobal(c->mod, "cg.zero"), LLVMInternalLinkage);
    return 0;
}
