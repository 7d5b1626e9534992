/* smelt_abi.h — the contract between code that smelt generates and the
 * runtime that runs it (format version 1).
 *
 * An artifact (shared object, executable or object file) exports one
 * constant smelt_model_desc. The runtime reads its JSON manifest (schema in
 * docs/artifact.md), binds the named symbols from the input shapes, calls
 * eval_symbols to compute every derived size, gives each buffer an address
 * (inputs and outputs: the caller's; constants: inside `weights`; the rest:
 * one arena planned by liveness), then runs the manifest's steps in order.
 * A loop step calls kernels[k].extent once and kernels[k].run over
 * sub-ranges [begin, end) of [0, extent) on its threads; a library step
 * calls the runtime's routine of that name (runtime/lib.h).
 *
 * Generated code never allocates, never prints and calls nothing but the
 * C math library and the helpers in smelt_rt_api.
 */
#ifndef SMELT_ABI_H
#define SMELT_ABI_H

#include <stdint.h>

#define SMELT_FORMAT_VERSION 1
#define SMELT_MODEL_SYMBOL "smelt_model"   /* the default exported name */
#define SMELT_WEIGHTS_ALIGN 64

/* Helpers that generated code may call; the runtime fills the table.
 * Generated code must check nothing here: every field is always set. */
typedef struct smelt_rt_api {
    float (*f16_to_f32)(uint16_t h);
    uint16_t (*f32_to_f16)(float f);
    /* minifloat dtypes (float8e4m3fn, ..., float4e2m1), by smelt dtype id:
     * decode one element / encode with round-to-nearest-even (saturate flag) */
    double (*mf_decode)(int dtype, uint32_t bits);
    uint32_t (*mf_encode)(int dtype, double v, int saturate, int round);
} smelt_rt_api;

/* Arguments of every generated kernel. */
typedef struct smelt_kargs {
    void *const *bufs;          /* address per manifest buffer */
    const int64_t *syms;        /* value per symbol (manifest "symbols") */
    const smelt_rt_api *rt;
} smelt_kargs;

typedef struct smelt_kernel {
    /* number of independent work items of this kernel for the bound sizes */
    int64_t (*extent)(const smelt_kargs *a);
    /* compute work items [begin, end); disjoint ranges may run concurrently */
    void (*run)(const smelt_kargs *a, int64_t begin, int64_t end);
} smelt_kernel;

typedef struct smelt_model_desc {
    uint32_t format_version;    /* SMELT_FORMAT_VERSION */
    uint32_t n_kernels;
    const smelt_kernel *kernels;
    /* Fill every derived symbol of syms from the named ones (already set);
     * returns 0, or -1 when a size is negative or overflows. */
    int (*eval_symbols)(int64_t *syms);
    const char *manifest;       /* JSON, NUL-terminated */
    uint64_t manifest_len;      /* bytes, without the NUL */
    const unsigned char *weights; /* SMELT_WEIGHTS_ALIGN-aligned */
    uint64_t weights_len;
} smelt_model_desc;

#endif
