/* weights.c — the weights blob: every KB_CONST buffer's bytes, each at a
 * 64-byte aligned offset, in one 64-byte aligned constant global (read-only
 * data, mapped with the file), and its FNV-1a 64 checksum for the manifest;
 * the artifact's named sections (cg_extra: SPIR-V modules, tokenizer) after them.
 * A buffer's bytes may be followed by packed copies that the GEMM engine
 * made at compile time (gemm_kernel.c, layout in gemm.h); kernels reach
 * them at a fixed distance from the buffer's address, so the manifest's
 * offset and bytes of every constant stay exactly those of its tensor;
 * except that a constant read by nothing but one such copy is replaced by
 * it (its bytes start the copy; the manifest marks it "packed") — not when
 * the artifact also carries SPIR-V, whose kernels read the tensor itself.
 */
#include <stdlib.h>
#include <string.h>

#include "codegen/llvm/cg_internal.h"
#include "runtime/smelt_abi.h"

uint64_t cg_fnv1a64(const unsigned char *data, uint64_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= data[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int64_t const_bytes(const kir_program *p, uint32_t b) {
    const kir_buffer *kb = &p->bufs[b];
    int64_t n = 1;
    for (int i = 0; i < kb->rank; i++) {
        if (!ir_dim_is_const(kb->dims[i])) return -1;
        if (__builtin_mul_overflow(n, kb->dims[i].c, &n)) return -1;
    }
    return ir_dtype_storage_bytes(kb->dtype, n);
}

static uint64_t align_up(uint64_t n) { return (n + SMELT_WEIGHTS_ALIGN - 1) / SMELT_WEIGHTS_ALIGN * SMELT_WEIGHTS_ALIGN; }

/* how many kernels read each buffer (loop kernels: their loads; library
 * kernels: their inputs), and the outputs counted once more */
static int count_readers(cg_ctx *c) {
    const kir_program *p = c->p;
    uint32_t nb = p->n_bufs ? p->n_bufs : 1;
    c->readers = calloc(nb, sizeof *c->readers);
    c->packed_only = calloc(nb, 1);
    uint32_t *mark = calloc((size_t)p->n_exprs + p->n_bufs + 1, sizeof *mark), *reads = malloc(nb * sizeof *reads);
    int rc = c->readers && c->packed_only && mark && reads ? 0 : -1;
    for (uint32_t k = 0; k < p->n_kernels && !rc; k++) {
        const kir_kernel *kn = &p->kernels[k];
        if (kn->kind == KK_LIB) {
            for (uint32_t i = 0; i < kn->n_lib_in; i++)
                if (kn->lib_in[i] != KIR_NONE) c->readers[kn->lib_in[i]]++;
            continue;
        }
        uint32_t n = kir_kernel_reads(p, k, mark, reads);
        for (uint32_t i = 0; i < n; i++) c->readers[reads[i]]++;
    }
    for (uint32_t i = 0; i < p->n_outputs && !rc; i++) c->readers[p->outputs[i]]++;
    free(mark);
    free(reads);
    return rc;
}

int64_t cg_weights_add_packed(cg_ctx *c, uint32_t b, void *data, uint64_t bytes, bool exclusive) {
    if (!c->readers && count_readers(c)) {
        free(data);
        return -1;
    }
    if (c->n_packs == c->cap_packs) {
        uint32_t cap = c->cap_packs ? 2 * c->cap_packs : 16;
        cg_packed *np = realloc(c->packs, cap * sizeof *np);
        if (!np) {
            free(data);
            return -1;
        }
        c->packs = np;
        c->cap_packs = cap;
    }
    int64_t own = const_bytes(c->p, b);
    uint64_t rel = align_up(own > 0 ? (uint64_t)own : 0);
    bool first = true;
    for (uint32_t i = 0; i < c->n_packs; i++)
        if (c->packs[i].buf == b) {
            rel = align_up(c->packs[i].rel + c->packs[i].bytes);
            first = false;
        }
    bool other_backend = c->o && c->o->shared_weights; /* SPIR-V kernels read b itself */
    if (first && exclusive && !other_backend && c->readers[b] == 1 && (uint64_t)(own > 0 ? own : 0) <= bytes) {
        rel = 0; /* the only use of b: its packed copy takes its place */
        c->packed_only[b] = 1;
    }
    c->packs[c->n_packs++] = (cg_packed){b, data, bytes, rel};
    return (int64_t)rel;
}

void cg_weights_free_packed(cg_ctx *c) {
    for (uint32_t i = 0; i < c->n_packs; i++) free(c->packs[i].data);
    free(c->packs);
    free(c->readers);
    free(c->packed_only);
    c->packs = NULL;
    c->readers = NULL;
    c->packed_only = NULL;
    c->n_packs = c->cap_packs = 0;
}

int cg_weights_layout(const cg_ctx *c, int64_t *offset, uint64_t *total, diag *d) {
    const kir_program *p = c->p;
    uint64_t at = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        offset[b] = -1;
        if (p->bufs[b].kind != KB_CONST) continue;
        int64_t n = const_bytes(p, b);
        if (n < 0) return diag_error(d, "constant '%s' has no static size", p->bufs[b].name);
        if (n > 0 && !p->bufs[b].data) return diag_error(d, "constant '%s' has no data", p->bufs[b].name);
        at = align_up(at);
        offset[b] = (int64_t)at;
        at += (uint64_t)n;
        for (uint32_t i = 0; i < c->n_packs; i++) /* its packed copies follow it */
            if (c->packs[i].buf == b && offset[b] + c->packs[i].rel + c->packs[i].bytes > at)
                at = (uint64_t)offset[b] + c->packs[i].rel + c->packs[i].bytes;
    }
    *total = at;
    return 0;
}

LLVMValueRef cg_emit_weights(cg_ctx *c, const int64_t *offset, uint64_t total, const uint64_t *extra_at,
                             uint64_t *checksum) {
    const kir_program *p = c->p;
    unsigned char *blob = calloc(1, total ? total : 1);
    if (!blob) return NULL;
    for (uint32_t b = 0; b < p->n_bufs; b++)
        if (offset[b] >= 0) {
            int64_t n = const_bytes(p, b);
            if (n > 0 && !(c->packed_only && c->packed_only[b])) memcpy(blob + offset[b], p->bufs[b].data, (size_t)n);
        }
    for (uint32_t i = 0; i < c->n_packs; i++)
        memcpy(blob + offset[c->packs[i].buf] + c->packs[i].rel, c->packs[i].data, (size_t)c->packs[i].bytes);
    for (int i = 0; c->o && i < c->o->n_extras; i++)
        if (c->o->extras[i].len) memcpy(blob + extra_at[i], c->o->extras[i].data, c->o->extras[i].len);
    *checksum = cg_fnv1a64(blob, total);
    LLVMValueRef init = LLVMConstStringInContext(c->ctx, (const char *)blob, (unsigned)(total ? total : 1), 1);
    free(blob);
    LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), "smelt.weights");
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetAlignment(gv, SMELT_WEIGHTS_ALIGN);
    return gv;
}
