/* spv.h — the Vulkan backend's compiler half: kernel IR to SPIR-V compute
 * shaders, written as binary directly (codegen/spirv/spv_builder.c) from
 * the same fused, pruned kir_program the CPU backend takes.
 *
 * One module per loop kernel: a GLSL450 compute shader whose invocations
 * each compute one element of the output (the domain flattened in
 * row-major order; the reduction, if any, is a loop inside the
 * invocation). The interface every module shares (the runtime,
 * runtime/vulkan, binds it):
 *   descriptor set 0, binding 0   the symbol values: int64[] (manifest order)
 *                     binding 1   the output buffer
 *                     binding 2+i the i-th buffer the kernel reads, in
 *                                 kir_kernel_reads order (the manifest
 *                                 step's "reads")
 *   every buffer binding is a runtime array of its dtype's storage type
 *   (bool/i8/u8 as 8-bit, i16/u16/f16/bf16 as 16-bit words);
 *   specialization constant 0: the workgroup size (x; y = z = 1);
 *   invocation i = gid.y * (num_workgroups.x * size) + gid.x; invocations
 *   at or past the output's element count do nothing.
 * Contractions (a SUM of a product, f32) are tiled instead (spv_tiling).
 * Kernels that cannot be expressed (library kernels; packed 4/2-bit and
 * float8/float4 dtypes; f64 transcendentals, which GLSL.std.450 lacks;
 * features the device lacks) get no module and a reason: the runtime runs
 * them on the host between dispatches.
 */
#ifndef SMELT_SPV_H
#define SMELT_SPV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/kir.h"

/* What the device offers (runtime/vulkan reports it; int64 is required). */
typedef struct spv_features {
    bool float64, int8, int16;     /* shaderFloat64, shaderInt8, shaderInt16 */
    bool storage8, storage16;      /* storageBuffer8BitAccess, storageBuffer16BitAccess */
    uint32_t max_storage_buffers;  /* maxPerStageDescriptorStorageBuffers */
    bool tiled;                    /* tile contractions in shared memory (GPUs; on a
                                      CPU device such as lavapipe barriers cost more) */
    bool coop;                     /* VK_NV_cooperative_matrix 16x16x16 f16 -> f32 with
                                      shaderFloat16 and subgroups of 32 (rt_vk_has_coop) */
    bool one_n_axis;               /* tiles' N: the innermost axis only (for comparisons) */
    uint32_t big_tile_groups;      /* 64 x 64 tiles only where they make at least this many
                                      workgroups (SPV_MIN_BIG_GROUPS; 0: wherever M, N >= 64) */
} spv_features;

#define SPV_BINDING_SYMS 0
#define SPV_BINDING_OUT 1
#define SPV_BINDING_READS 2

/* A tiled contraction's dispatch: one workgroup of 256 invocations per
 * tile x tile block (tile: SPV_TILE or 64) of the (M, N) plane of the
 * output at each point of its other axes (workgroup w = y *
 * num_workgroups.x + x, row-major over those axes, then the M tiles, then
 * the N tiles); M is axis m_axis, N the axes from n_axis to the last,
 * flattened (a Conv's output rows and columns: one GEMM column per output
 * pixel); m_axis < n_axis; the workgroup size is fixed, not specialized. */
#define SPV_TILE 16
/* Fewer 64 x 64 workgroups than this leave most of a large GPU idle:
 * ResNet-50's batch-1 Convs ran 2x slower in 64 x 64 tiles than in 16 x 16
 * ones on an H100 (132 SMs). */
#define SPV_MIN_BIG_GROUPS 256
typedef struct spv_tiling {
    int32_t m_axis, n_axis;        /* output axes; tile 0: not tiled */
    uint32_t tile;
    uint32_t a, b;                 /* the product's operands (a reads M, b reads N) */
    bool coop;                     /* the products on cooperative matrices (tile 64;
                                      the module needs RT_VK_NEEDS_COOP) */
    bool per_group;                /* not tiled: one workgroup per output element
                                      (a workgroup reduction, spv_kernel.c) */
} spv_tiling;

typedef struct spv_kernel {
    uint32_t *words;               /* the module; NULL: the kernel runs on the host */
    size_t n_words;
    spv_tiling tile;
    uint32_t needs;                /* RT_VK_NEEDS_* bits (runtime/vulkan/vk.h) */
    uint32_t n_bindings;
    char why[200];                 /* host kernels: why */
} spv_kernel;

typedef struct spv_program {
    uint32_t n_kernels;            /* one entry per kernel of the program */
    uint32_t n_device;             /* kernels with a module */
    spv_kernel *k;
} spv_program;

/* Every feature (for --emit spirv-asm without a device). */
void spv_features_all(spv_features *f);
/* Compile every loop kernel of p that the backend can express for f.
 * Returns -1 (d filled) only for internal errors and out of memory. */
int spv_compile(const kir_program *p, const spv_features *f, spv_program *out, diag *d);
/* Whether expression e of p holds values that f16 represents exactly (an
 * f16 value, widened, or a select of such and constants that are): the
 * condition for multiplying it on f16 cooperative matrices. */
bool spv_f16_exact(const kir_program *p, uint32_t e);
void spv_program_free(spv_program *sp);
/* The modules as an artifact carries them (runtime/vulkan/vk_artifact.c):
 * the words of every module one after another (*data, *len) and the
 * manifest's "vulkan" object without "base" (*json); malloc'd. The
 * cooperative-matrix modules of alt (NULL: none) follow as second entries
 * of their steps, which a device that has such matrices runs instead. */
int spv_pack(const spv_program *sp, const spv_program *alt, unsigned char **data, uint64_t *len, char **json,
             diag *d);

/* SPIRV-Tools (spv_tools.c): validate for the Vulkan 1.1 environment
 * (0, or -1 with the validator's message), or disassemble (malloc'd text,
 * NULL with d filled). */
int spv_validate(const uint32_t *words, size_t n_words, char *err, size_t err_size);
char *spv_disassemble(const uint32_t *words, size_t n_words, diag *d);

#endif
