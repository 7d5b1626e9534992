/* spv_program.c — the SPIR-V modules of a whole kernel program: one per
 * loop kernel the backend can express for the device's features and per
 * MatMulGGML (spv_ggml.c); other library kernels and the rest are marked
 * to run on the host, with the reason; and the form an artifact carries
 * them in (spv_pack).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codegen/spirv/spv_internal.h"

void spv_features_all(spv_features *f) {
    *f = (spv_features){.float64 = true, .int8 = true, .int16 = true, .storage8 = true, .storage16 = true,
                        .max_storage_buffers = 1u << 30, .tiled = true, .coop = true,
                        .big_tile_groups = SPV_MIN_BIG_GROUPS};
}

int spv_compile(const kir_program *p, const spv_features *f, spv_program *out, diag *d) {
    memset(out, 0, sizeof *out);
    out->k = calloc(p->n_kernels ? p->n_kernels : 1, sizeof *out->k);
    if (!out->k) return diag_error(d, "out of memory");
    out->n_kernels = p->n_kernels;
    for (uint32_t i = 0; i < p->n_kernels; i++) {
        const kir_kernel *k = &p->kernels[i];
        spv_kernel *sk = &out->k[i];
        if (k->kind == KK_LIB && !spv_ggml_kernel(k)) {
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

/* Module k of sp, or of alt (its cooperative-matrix modules) at pass 1. */
static const spv_kernel *packed(const spv_program *sp, const spv_program *alt, int pass, uint32_t k) {
    if (pass == 0) return sp->k[k].words ? &sp->k[k] : NULL;
    return alt && k < alt->n_kernels && alt->k[k].words && alt->k[k].tile.coop ? &alt->k[k] : NULL;
}

int spv_pack(const spv_program *sp, const spv_program *alt, unsigned char **data, uint64_t *len, char **json,
             diag *d) {
    uint64_t total = 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < sp->n_kernels; k++) {
            const spv_kernel *m = packed(sp, alt, pass, k);
            total += m ? m->n_words * 4 : 0;
        }
    *data = malloc(total ? total : 1);
    *json = NULL;
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "modules");
    if (!*data || !root || !list) goto oom;
    cJSON_AddNumberToObject(root, "format", 1);
    uint64_t at = 0;
    for (uint32_t i = 0; i < 2 * sp->n_kernels; i++) {
        uint32_t k = i % sp->n_kernels;
        const spv_kernel *m = packed(sp, alt, (int)(i / sp->n_kernels), k);
        if (!m) continue;
        memcpy(*data + at, m->words, m->n_words * 4);
        cJSON *e = cJSON_CreateObject();
        if (!e) goto oom;
        cJSON_AddNumberToObject(e, "step", k);
        cJSON_AddNumberToObject(e, "offset", (double)at);
        cJSON_AddNumberToObject(e, "words", (double)m->n_words);
        cJSON_AddNumberToObject(e, "tile", m->tile.tile);
        cJSON_AddNumberToObject(e, "m", m->tile.tile ? m->tile.m_axis : -1);
        cJSON_AddNumberToObject(e, "n", m->tile.tile ? m->tile.n_axis : -1);
        if (m->tile.per_group) cJSON_AddNumberToObject(e, "per_group", 1);
        cJSON_AddNumberToObject(e, "needs", m->needs);
        cJSON_AddNumberToObject(e, "bindings", m->n_bindings);
        cJSON_AddItemToArray(list, e);
        at += m->n_words * 4;
    }
    *len = total;
    if (!(*json = cJSON_PrintUnformatted(root))) goto oom;
    cJSON_Delete(root);
    return 0;
oom:
    cJSON_Delete(root);
    free(*data);
    *data = NULL;
    return diag_error(d, "out of memory packing the SPIR-V modules");
}
