/* vk.h — the Vulkan runtime: devices, and running a session's loop steps
 * as SPIR-V compute dispatches (modules from codegen/spirv, interface in
 * codegen/spirv/spv.h).
 *
 * libvulkan.so.1 is opened with dlopen at rt_vk_open / rt_vk_list (no link
 * dependency: without a Vulkan loader or device these return a clear
 * error). This code is built into its own archive (libsmeltrt_vk.a), so
 * the CPU runtime stays small.
 *
 *   rt_vk *vk;  rt_vk_open(-1, &vk, err, n);          // the first device
 *   smelt_session_new(m, ...);                          // as for the CPU
 *   rt_vk_exec *x;  rt_vk_attach(vk, s, mods, n_steps, &x, err, n);
 *   smelt_set_input(...); smelt_run(s, ...);            // dispatches
 *   smelt_session_free(s); rt_vk_exec_free(x); rt_vk_close(vk);
 */
#ifndef SMELT_RT_VK_H
#define SMELT_RT_VK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/smelt.h"

typedef struct rt_vk_device_info {
    char name[256];
    const char *type;             /* "discrete", "integrated", "virtual", "cpu", "other" */
    uint32_t api_version;         /* VK_MAKE_API_VERSION */
    uint32_t vendor_id, device_id;
    uint64_t device_local_bytes;  /* the largest device-local heap */
    bool float64, int8, int16, storage8, storage16;
    bool timestamps;              /* timestampComputeAndGraphics */
    uint32_t max_storage_buffers; /* per shader stage */
    uint64_t max_storage_range;   /* bytes one binding may span */
    bool float16;                 /* shaderFloat16 */
    uint32_t subgroup_size;
    /* VK_NV_cooperative_matrix: the f16 x f16 -> f32 subgroup shapes
     * (M, N, K), the first n_coop of them; coop_ok when the device also has
     * shaderFloat16, 16-bit storage and subgroups of 32 (what the
     * cooperative-matrix GEMM of codegen/spirv assumes) */
    uint32_t n_coop, coop[4][3];
    bool coop_ok;
} rt_vk_device_info;

typedef struct rt_vk rt_vk;
typedef struct rt_vk_exec rt_vk_exec;

/* Every Vulkan device with a compute queue: *out (malloc'd) and *n.
 * 0 with *n == 0 when a loader exists but reports no device; -1 when no
 * loader or instance can be had. */
int rt_vk_list(rt_vk_device_info **out, uint32_t *n, char *err, size_t err_size);
/* Open device `index` of rt_vk_list's order (-1: the first discrete or
 * integrated GPU, else the first). */
int rt_vk_open(int index, rt_vk **out, char *err, size_t err_size);
const rt_vk_device_info *rt_vk_info(const rt_vk *vk);
void rt_vk_close(rt_vk *vk);

/* The SPIR-V module of each manifest step (words NULL: the step runs on the
 * CPU, through the artifact's own code or library routine). */
typedef struct rt_vk_module {
    const uint32_t *words;
    size_t n_words;
    /* tile > 0: one workgroup per tile x tile block of the output's
     * (tile_m, tile_n) axes at each point of its other axes (spv.h's
     * spv_tiling); else one invocation per output element */
    uint32_t tile;
    int32_t tile_m, tile_n;
    bool per_group; /* not tiled: one workgroup per output element */
} rt_vk_module;

/* What a module needs of the device beyond Vulkan 1.1 + shaderInt64
 * (codegen/spirv records it per module in artifacts). */
#define RT_VK_NEEDS_F64 1u
#define RT_VK_NEEDS_STORAGE8 2u
#define RT_VK_NEEDS_STORAGE16 4u
#define RT_VK_NEEDS_INT8 8u
#define RT_VK_NEEDS_INT16 16u
/* a cooperative-matrix GEMM (spv.h's spv_coop: its shape must be one of
 * the device's rt_vk_device_info.coop, and coop_ok) */
#define RT_VK_NEEDS_COOP 32u

/* Whether the device has cooperative matrices of shape m x n x k (f16
 * inputs, f32 accumulator) and what the GEMM using them needs. */
bool rt_vk_has_coop(const rt_vk_device_info *i, uint32_t m, uint32_t n, uint32_t k);

/* Per-dispatch times of the last run (with profile set at attach). */
typedef struct rt_vk_profile {
    uint32_t step;
    double ms;
} rt_vk_profile;

/* Run session s's steps on vk from now on: pipelines are built here (one
 * pipeline cache), the weights uploaded once to device memory, the arena
 * placed in one buffer the host can map; every run records the command
 * buffer of each run of consecutive device steps once for the bound shapes
 * and resubmits it while they do not change. Free the session before the
 * executor. */
int rt_vk_attach(rt_vk *vk, smelt_session *s, const rt_vk_module *mods, uint32_t n_steps, bool profile,
                 rt_vk_exec **out, char *err, size_t err_size);
/* The device steps' times of the last run: *n entries (valid until the next run). */
/* The same with the SPIR-V modules an artifact carries (compiled with
 * `smelt compile --target cpu,vulkan`: the manifest's "vulkan" section).
 * Modules that need a feature the device lacks, or more bindings than it
 * has, stay on the CPU; *n_device (when not NULL) counts those that run on
 * the device. */
int rt_vk_attach_artifact(rt_vk *vk, smelt_session *s, bool profile, rt_vk_exec **out, uint32_t *n_device,
                          char *err, size_t err_size);
const rt_vk_profile *rt_vk_last_profile(const rt_vk_exec *x, uint32_t *n);
/* Memory the host addresses and the device reads and writes in place (a
 * host-visible buffer of its own): a caller array in it, bound as an input
 * or output of every run (an LLM's KV cache), needs no copy to or from the
 * device. host_reads: the host reads it after runs (logits): host-cached
 * memory where the device has it, else device-local where the host can map
 * that. NULL when out of memory. Freed by rt_vk_host_free or with the
 * executor; offsets into it are bound in place when they meet the
 * device's storage-buffer alignment (else mirrored as other caller memory). */
void *rt_vk_host_alloc(rt_vk_exec *x, uint64_t bytes, bool host_reads);
void rt_vk_host_free(rt_vk_exec *x, void *p);
void rt_vk_exec_free(rt_vk_exec *x);

#endif
