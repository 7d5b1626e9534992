/* llvm_dl.c — build emitted LLVM IR into a loaded shared object (see
 * llvm_dl.h). */
#include "tests/unit/support/llvm_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

static int dl_init_done;

static void dl_init(void) {
    if (dl_init_done) return;
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    dl_init_done = 1;
}

void llvm_dl_host_vector(int *vec, int *nregs) {
    dl_init();
    char *triple = LLVMGetDefaultTargetTriple();
    char *feat = LLVMGetHostCPUFeatures();
    *vec = 4;
    *nregs = 16;
    if (strncmp(triple, "aarch64", 7) == 0 || strncmp(triple, "arm64", 5) == 0) *nregs = 32;
    else if (strstr(feat, "+avx512f")) { *vec = 16; *nregs = 32; }
    else if (strstr(feat, "+avx2")) *vec = 8;
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(feat);
}

int llvm_dl_open(LLVMModuleRef m, const char *asm_path, llvm_dl *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    dl_init();
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "invalid module: %s", msg);
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
    LLVMTargetRef t;
    int rc = -1;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(triple, &t, &msg)) {
        snprintf(err, errlen, "target %s: %s", triple, msg);
        LLVMDisposeMessage(msg);
        goto done;
    }
    tm = LLVMCreateTargetMachine(t, triple, cpu, feat, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                 LLVMCodeModelDefault);
    LLVMSetTarget(m, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, td);
    LLVMDisposeTargetData(td);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (e) {
        msg = LLVMGetErrorMessage(e);
        snprintf(err, errlen, "passes: %s", msg);
        LLVMDisposeErrorMessage(msg);
        goto done;
    }
    if (asm_path && LLVMTargetMachineEmitToFile(tm, m, (char *)asm_path, LLVMAssemblyFile, &msg)) {
        snprintf(err, errlen, "asm: %s", msg);
        LLVMDisposeMessage(msg);
        goto done;
    }
    snprintf(out->dir, sizeof out->dir, "/tmp/smelt_dl_XXXXXX");
    if (!mkdtemp(out->dir)) {
        snprintf(err, errlen, "mkdtemp failed");
        goto done;
    }
    char obj[300], so[300], cmd[1600];
    snprintf(obj, sizeof obj, "%s/k.o", out->dir);
    snprintf(so, sizeof so, "%s/k.so", out->dir);
    if (LLVMTargetMachineEmitToFile(tm, m, obj, LLVMObjectFile, &msg)) {
        snprintf(err, errlen, "object: %s", msg);
        LLVMDisposeMessage(msg);
        goto done;
    }
    snprintf(cmd, sizeof cmd, "if command -v ld.lld-16 >/dev/null; then ld.lld-16 -shared -o %s %s; else cc -shared -o %s %s; fi",
             so, obj, so, obj);
    if (system(cmd) != 0) {
        snprintf(err, errlen, "link failed: %s", cmd);
        goto done;
    }
    out->handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!out->handle) {
        snprintf(err, errlen, "dlopen: %s", dlerror());
        goto done;
    }
    rc = 0;
done:
    if (tm) LLVMDisposeTargetMachine(tm);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(feat);
    return rc;
}

void *llvm_dl_sym(llvm_dl *d, const char *name) { return d->handle ? dlsym(d->handle, name) : NULL; }

void llvm_dl_close(llvm_dl *d) {
    char p[300];
    if (d->handle) dlclose(d->handle);
    d->handle = NULL;
    if (!d->dir[0]) return;
    snprintf(p, sizeof p, "%s/k.o", d->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/k.so", d->dir);
    unlink(p);
    rmdir(d->dir);
    d->dir[0] = 0;
}
