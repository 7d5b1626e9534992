/* spv_program.c — the SPIR-V modules of a whole kernel program: one per
 * loop kernel the backend can express for the device's features; library
 * kernels and the others are marked to run on the host, with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/spirv/spv_internal.h"

void spv_features_all(spv_features *f) {
    *f = (spv_features){.float64 = true, .int8 = true, .int16 = true, .storage8 = true, .storage16 = true,
                        .max_storage_buffers = 1u << 30, .tiled = true};
}

int spv_compile(const kir_program *p, const spv_features *f, spv_program *out, diag *d) {
    memset(out, 0, sizeof *out);
    out->k = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *out->k);
    if (!out->k) return diag_error(d, "out of memory");
    out->n_kernels = p->n_kernels;
    for (uint32_t i = 0; i < p->n_kernels; i++) {
        const kir_kernel *k = &p->kernels[i];
        spv_kernel *sk = &out->k[i];
        if (k->kind == KK_LIB) {
            snprintf(sk->why, sizeof sk->why, "library routine %s", k->lib);
            continue;
        }
        int rc = spv_emit_kernel(p, i, f, sk);
        if (rc < 0) {
            spv_program_free(out);
            return diag_error(d, "kernel '%s': out of memory emitting SPIR-V", k->name ? k->name : "?");
        }
        if (rc == 0) out->n_device++;
    }
    return 0;
}

void spv_program_free(spv_program *sp) {
    for (uint32_t i = 0; sp->k && i < sp->n_kernels; i++) free(sp->k[i].words);
    free(sp->k);
    memset(sp, 0, sizeof *sp);
}
