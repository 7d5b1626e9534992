/* target.c — which machine the code is for: triple, CPU and features.
 *
 * Default: the host (LLVMGetDefaultTargetTriple, LLVMGetHostCPUName,
 * LLVMGetHostCPUFeatures). A named CPU ("skylake-avx512", "neoverse-n1") or
 * an x86-64 level ("x86-64-v2", "x86-64-v3", "x86-64-v4", which LLVM 16
 * knows as CPU names) may be asked for, and a cross triple
 * ("aarch64-linux-gnu", "aarch64-apple-darwin"). The X86 and AArch64
 * targets are registered. A named CPU's features (cpu_features.c) are
 * spelled out, so that the manifest lists what the runtime must check.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Target.h>

#include "codegen/llvm/cg_internal.h"

static void init_targets(void) {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86Target();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86AsmPrinter();
    LLVMInitializeAArch64TargetInfo();
    LLVMInitializeAArch64Target();
    LLVMInitializeAArch64TargetMC();
    LLVMInitializeAArch64AsmPrinter();
}

static char *dup_llvm(char *s) { /* an LLVM message as a malloc'd string */
    char *r = strdup(s ? s : "");
    LLVMDisposeMessage(s);
    return r;
}

int cg_target_resolve(const cg_target *t, char **triple, char **cpu, char **features, LLVMTargetMachineRef *tm,
                      int opt_level, int pic, diag *d) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_targets);
    *triple = *cpu = *features = NULL;
    *tm = NULL;
    char *host = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(t->triple ? t->triple : host);
    bool is_host = !t->triple || !strcmp(norm, host);
    *triple = dup_llvm(norm);
    LLVMDisposeMessage(host);
    bool native = !t->cpu || !strcmp(t->cpu, "native");
    if (native && is_host) {
        *cpu = dup_llvm(LLVMGetHostCPUName());
        *features = dup_llvm(LLVMGetHostCPUFeatures());
    } else { /* a named CPU, or the generic one of a cross target: the features it implies */
        *cpu = strdup(native ? "generic" : t->cpu);
        const char *implied = *cpu ? cg_cpu_implied_features(*triple, *cpu) : NULL;
        *features = strdup(implied ? implied : "");
    }
    if (t->features && *t->features) {
        size_t n = strlen(*features) + strlen(t->features) + 2;
        char *f = malloc(n);
        if (f) {
            snprintf(f, n, "%s%s%s", *features, **features ? "," : "", t->features);
            free(*features);
        }
        *features = f;
    }
    if (!*triple || !*cpu || !*features) return diag_error(d, "out of memory");
    LLVMTargetRef target;
    char *err = NULL;
    if (LLVMGetTargetFromTriple(*triple, &target, &err)) {
        int rc = diag_error(d, "target '%s' is not supported: %s (supported: x86_64, aarch64)", *triple,
                            err ? err : "?");
        LLVMDisposeMessage(err);
        return rc;
    }
    LLVMCodeGenOptLevel lvl = opt_level == 0 ? LLVMCodeGenLevelNone : opt_level == 1 ? LLVMCodeGenLevelLess
                              : opt_level == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
    *tm = LLVMCreateTargetMachine(target, *triple, *cpu, *features, lvl, pic ? LLVMRelocPIC : LLVMRelocStatic,
                                  LLVMCodeModelDefault);
    if (!*tm) return diag_error(d, "target '%s' with CPU '%s' cannot be created", *triple, *cpu);
    return 0;
}
