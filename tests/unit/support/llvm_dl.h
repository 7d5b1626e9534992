/* llvm_dl.h — for tests and benchmarks of emitted LLVM IR: optimize a
 * module for the host CPU, emit an object, link it into a shared object
 * (codegen/link.c) and dlopen it: for code that is not a whole model (the
 * GEMM engine's functions), which cg_harness cannot run.
 */
#ifndef SMELT_LLVM_DL_H
#define SMELT_LLVM_DL_H

#include <stddef.h>

#include <llvm-c/Core.h>

typedef struct llvm_dl {
    void *handle;
    char dir[256];   /* temporary directory holding the .o and .so */
} llvm_dl;

/* The host's vector width in floats and vector register count
 * (AVX-512: 16/32, AVX2: 8/16, aarch64: 4/32, else 4/16). */
void llvm_dl_host_vector(int *vec, int *nregs);

/* Verify, optimize at O3 for the host, link, load. Consumes nothing (the
 * module stays the caller's). When asm_path is set, the assembly is also
 * written there. 0, or -1 with a message in err. */
int llvm_dl_open(LLVMModuleRef m, const char *asm_path, llvm_dl *out, char *err, size_t errlen);
void *llvm_dl_sym(llvm_dl *d, const char *name);
void llvm_dl_close(llvm_dl *d);

#endif
