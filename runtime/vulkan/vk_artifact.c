/* vk_artifact.c — the SPIR-V an artifact carries: the manifest's "vulkan"
 * section (written by `smelt compile --target cpu,vulkan`, docs/artifact.md)
 *
 *   "vulkan": {"format": 1, "base": B, "modules": [
 *       {"step": T, "offset": O, "words": N, "tile": 16, "m": A, "n": A, "needs": BITS,
 *        "bindings": K}, ...]}
 *
 * module T's words lie at weights + B + O. Every field is checked against
 * the artifact before use; a module the device cannot run (RT_VK_NEEDS_*
 * bits it lacks, more bindings than it binds per shader) is left to the
 * artifact's CPU code for that step. A later entry of the same step (a
 * cooperative-matrix GEMM, needs RT_VK_NEEDS_COOP) replaces the earlier one
 * where the device runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "runtime/rt_session.h"
#include "runtime/vulkan/vk_internal.h"

static int num(const cJSON *o, const char *key, double lo, double hi, int64_t *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x) || x->valuedouble < lo || x->valuedouble > hi || x->valuedouble != (double)(int64_t)x->valuedouble)
        return -1;
    *v = (int64_t)x->valuedouble;
    return 0;
}

static bool device_has(const rt_vk_device_info *i, int64_t needs, int64_t bindings) {
    if ((needs & RT_VK_NEEDS_COOP) && !rt_vk_has_coop(i, 16, 16, 16)) return false;
    if ((needs & RT_VK_NEEDS_F64) && !i->float64) return false;
    if ((needs & RT_VK_NEEDS_STORAGE8) && !i->storage8) return false;
    if ((needs & RT_VK_NEEDS_STORAGE16) && !i->storage16) return false;
    if ((needs & RT_VK_NEEDS_INT8) && !i->int8) return false;
    if ((needs & RT_VK_NEEDS_INT16) && !i->int16) return false;
    return bindings <= i->max_storage_buffers;
}

int rt_vk_attach_artifact(rt_vk *vk, smelt_session *s, bool profile, rt_vk_exec **out, uint32_t *n_device,
                          char *err, size_t err_size) {
    const smelt_model_desc *d = s->m->desc;
    uint32_t n_steps = s->man->n_steps;
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(d->manifest, d->manifest_len);
    const cJSON *vs = root ? cJSON_GetObjectItemCaseSensitive(root, "vulkan") : NULL;
    rt_vk_module *mods = calloc(n_steps ? n_steps : 1, sizeof *mods);
    int rc = -1;
    int64_t base, fmt, count = 0;
    if (!mods) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    if (!vs) {
        snprintf(err, err_size, "%s was not compiled for Vulkan (smelt compile --target cpu,vulkan)", s->m->name);
        goto done;
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(vs, "modules");
    if (num(vs, "format", 1, 1, &fmt) || num(vs, "base", 0, (double)d->weights_len, &base) || base % 4 ||
        !cJSON_IsArray(list)) {
        snprintf(err, err_size, "%s: the manifest's vulkan section is malformed", s->m->name);
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        int64_t step, off, words, tile, m, n, needs, bindings;
        uint64_t room = d->weights_len - (uint64_t)base;
        if (num(e, "step", 0, n_steps - 1.0, &step) || num(e, "offset", 0, (double)room, &off) ||
            num(e, "words", 5, (double)room / 4, &words) || num(e, "tile", 0, 64, &tile) || num(e, "m", -1, 31, &m) ||
            num(e, "n", -1, 31, &n) || num(e, "needs", 0, 65535, &needs) || num(e, "bindings", 1, 1e6, &bindings) ||
            off % 4 || (uint64_t)off + (uint64_t)words * 4 > room ||
            bindings != 2 + s->man->steps[step].n_in) {
            snprintf(err, err_size, "%s: the manifest's vulkan module %lld is malformed", s->m->name, (long long)count);
            goto done;
        }
        int64_t per_group = 0; /* optional: artifacts before it have no workgroup reductions */
        if (cJSON_GetObjectItemCaseSensitive(e, "per_group") && num(e, "per_group", 0, 1, &per_group)) {
            snprintf(err, err_size, "%s: the manifest's vulkan module %lld is malformed", s->m->name, (long long)count);
            goto done;
        }
        count++;
        if (!device_has(&vk->info, needs, bindings)) continue;
        mods[step] = (rt_vk_module){(const uint32_t *)(const void *)(d->weights + base + off), (size_t)words,
                                    (uint32_t)tile, (int32_t)m, (int32_t)n, per_group != 0};
    }
    uint32_t on = 0;
    for (uint32_t t = 0; t < n_steps; t++) on += mods[t].words != NULL;
    if (n_device) *n_device = on;
    rc = rt_vk_attach(vk, s, mods, n_steps, profile, out, err, err_size);
done:
    free(mods);
    cJSON_Delete(root);
    return rc;
}
