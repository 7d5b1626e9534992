/* cg_llvm.h — the CPU backend: kernel IR to native code through LLVM 16.
 *
 * cg_llvm_compile turns a fused, pruned kir_program into one LLVM module
 * (one function pair per loop kernel, the symbol evaluator, the weights
 * blob and the manifest of docs/artifact.md, and the exported
 * smelt_model_desc of runtime/smelt_abi.h), optimizes it at O3 for the
 * target and returns the object file's bytes. Linking it into a shared
 * object or an executable is codegen/link.c's job.
 */
#ifndef SMELT_CG_LLVM_H
#define SMELT_CG_LLVM_H

#include <stddef.h>

#include "ir/kir.h"

typedef struct cg_target {
    const char *triple;   /* NULL: the host's */
    const char *cpu;      /* NULL or "native": the host's CPU (host triple only);
                             a CPU name ("skylake-avx512", "neoverse-n1") or a
                             level ("x86-64-v2", "x86-64-v3", "x86-64-v4") */
    const char *features; /* extra LLVM features ("+avx2,-avx512f"), or NULL */
} cg_target;

/* A named section stored in the artifact (codegen/spirv's modules, the
 * tokenizer of an LLM): `data` after the weights (and the sections before
 * it) at a 64-byte aligned offset, and the JSON object `json` in the
 * manifest under `key`, with "base" (that offset) and "bytes" (len) added. */
#define CG_MAX_EXTRAS 4
typedef struct cg_extra {
    const char *key;
    const char *json;
    const unsigned char *data;
    uint64_t len;
} cg_extra;

typedef struct cg_options {
    cg_target target;
    const char *symbol;   /* exported desc name; NULL: SMELT_MODEL_SYMBOL */
    const char *model;    /* the model's file name, for the manifest */
    int opt_level;        /* 0..3; 3 by default when 0 is not asked: use -1 for default */
    int pic;              /* position-independent code (shared objects) */
    const cg_extra *extras; /* n_extras (at most CG_MAX_EXTRAS) sections, in order */
    int n_extras;
    int shared_weights;   /* another backend reads the constants from this
                             artifact's weights (SPIR-V kernels): each keeps
                             its own bytes, packed copies only come after */
} cg_options;

typedef struct cg_object {
    unsigned char *data;  /* the object file (malloc'd) */
    size_t size;
    char *manifest;       /* the manifest JSON embedded in it (malloc'd) */
    char *triple, *cpu, *features; /* what was resolved (malloc'd) */
} cg_object;

/* Compile p. Errors name the kernel (its graph node) that could not be
 * emitted. */
int cg_llvm_compile(kir_program *p, const cg_options *o, cg_object *out, diag *d);
void cg_object_free(cg_object *o);

#endif
