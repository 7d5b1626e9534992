/* weights.c — the weights blob: every KB_CONST buffer's bytes, each at a
 * 64-byte aligned offset, in one 64-byte aligned constant global (read-only
 * data, mapped with the file), and its FNV-1a 64 checksum for the manifest;
 * another backend's data (cg_extra: SPIR-V modules) after them.
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

int cg_weights_layout(const kir_program *p, int64_t *offset, uint64_t *total, diag *d) {
    uint64_t at = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        offset[b] = -1;
        if (p->bufs[b].kind != KB_CONST) continue;
        int64_t n = const_bytes(p, b);
        if (n < 0) return diag_error(d, "constant '%s' has no static size", p->bufs[b].name);
        if (n > 0 && !p->bufs[b].data) return diag_error(d, "constant '%s' has no data", p->bufs[b].name);
        at = (at + SMELT_WEIGHTS_ALIGN - 1) / SMELT_WEIGHTS_ALIGN * SMELT_WEIGHTS_ALIGN;
        offset[b] = (int64_t)at;
        at += (uint64_t)n;
    }
    *total = at;
    return 0;
}

LLVMValueRef cg_emit_weights(cg_ctx *c, const int64_t *offset, uint64_t total, const cg_extra *extra,
                             uint64_t extra_at, uint64_t *checksum) {
    const kir_program *p = c->p;
    unsigned char *blob = calloc(1, total ? total : 1);
    if (!blob) return NULL;
    for (uint32_t b = 0; b < p->n_bufs; b++)
        if (offset[b] >= 0) {
            int64_t n = const_bytes(p, b);
            if (n > 0) memcpy(blob + offset[b], p->bufs[b].data, (size_t)n);
        }
    if (extra && extra->len) memcpy(blob + extra_at, extra->data, extra->len);
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
