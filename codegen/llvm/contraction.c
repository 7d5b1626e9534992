/* contraction.c — which loop kernels are contractions for the GEMM emitter.
 *
 * A kernel matches when it is a SUM reduction with an f32 accumulator whose
 * body is MUL(a, b) of f32 operands (any expressions: loads, casts,
 * padding selects, inlined producers). Domain axes split by the operands
 * that read them: M (only a), N (only b), and the rest (both or neither)
 * are batch axes; the reduction axes are K. The output's innermost axis
 * must be an N axis (a and b are swapped when it is an M axis), so that a
 * tile's NR columns are contiguous in the output. The register tile
 * follows the target's vector width: AVX-512 16 lanes and 32 registers,
 * AVX2 8 lanes and 16 registers, NEON 4 lanes and 32 registers.
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/contraction.h"

/* vector lanes of f32 and vector registers of the target machine */
static void vector_shape(cg_ctx *c, int *lanes, int *regs) {
    char *triple = LLVMGetTargetMachineTriple(c->tm), *cpu = LLVMGetTargetMachineCPU(c->tm);
    char *feat = LLVMGetTargetMachineFeatureString(c->tm);
    static const char *avx512_cpus[] = {"x86-64-v4", "skylake-avx512", "cascadelake", "cooperlake", "cannonlake",
                                        "icelake-client", "icelake-server", "tigerlake", "sapphirerapids",
                                        "graniterapids", "emeraldrapids", "znver4", "rocketlake"};
    static const char *avx2_cpus[] = {"x86-64-v3", "haswell", "broadwell", "skylake", "alderlake", "znver1",
                                      "znver2", "znver3", "raptorlake", "meteorlake"};
    bool x86 = strncmp(triple, "x86_64", 6) == 0 || strncmp(triple, "i686", 4) == 0;
    bool v512 = strstr(feat, "+avx512f") != NULL, v256 = strstr(feat, "+avx2") != NULL;
    for (size_t i = 0; i < sizeof avx512_cpus / sizeof *avx512_cpus; i++) v512 |= !strcmp(cpu, avx512_cpus[i]);
    for (size_t i = 0; i < sizeof avx2_cpus / sizeof *avx2_cpus; i++) v256 |= !strcmp(cpu, avx2_cpus[i]);
    if (strstr(feat, "-avx512f")) v512 = false;
    if (x86 && v512) *lanes = 16, *regs = 32;
    else if (x86 && v256) *lanes = 8, *regs = 16;
    else if (x86) *lanes = 4, *regs = 16;
    else *lanes = 4, *regs = 32; /* AArch64 NEON and others */
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(feat);
}

static bool b_is_vector_load(const kir_program *p, uint32_t b, int n_axis, const uint32_t *mask) {
    const kir_expr *x = &p->exprs[b];
    if (x->op != KX_LOAD || x->dtype != IR_F32 || p->bufs[x->buffer].dtype != IR_F32 || x->n_args == 0) return false;
    const kir_expr *last = &p->exprs[x->args[x->n_args - 1]];
    if (last->op != KX_IDX || last->axis != n_axis) return false;
    for (uint32_t i = 0; i + 1 < x->n_args; i++)
        if (mask[x->args[i]] & (1u << n_axis)) return false;
    return true;
}

int cg_contraction_match(cg_ctx *c, const kir_kernel *k, cg_contraction *ct) {
    const kir_program *p = c->p;
    const kir_buffer *ob = &p->bufs[k->out];
    if (ir_dtype_get(ob->dtype)->block_elems > 1 || !cg_reg_type(c, ob->dtype)) return 0;
    uint32_t *mask = malloc(p->n_exprs * sizeof *mask);
    unsigned char *seen = calloc(p->n_exprs, 1);
    int ok = 0, m_axis;
    uint32_t a, b;
    if (!mask || !seen || !kir_contraction_operands(p, k, mask, seen, &a, &b, &m_axis)) goto done;
    int n_axis = ob->rank - 1;
    int lanes, regs;
    vector_shape(c, &lanes, &regs);
    ir_dim nd = ob->dims[n_axis];
    int nv = ir_dim_is_const(nd) && nd.c <= lanes ? 1 : 2;
    /* accumulators + the b vectors + one broadcast */
    int mr = m_axis < 0 ? 1 : (regs - nv - 2) / nv;
    if (mr > 12) mr = 12;
    if (m_axis >= 0 && ir_dim_is_const(ob->dims[m_axis]) && ob->dims[m_axis].c < mr) mr = (int)ob->dims[m_axis].c;
    if (mr < 1) mr = 1;
    *ct = (cg_contraction){.a = a, .b = b, .m_axis = m_axis, .n_axis = n_axis,
                           .b_vec = b_is_vector_load(p, b, n_axis, mask), .vl = lanes, .mr = mr, .nr = nv * lanes};
    ok = 1;
done:
    free(mask);
    free(seen);
    return ok;
}
