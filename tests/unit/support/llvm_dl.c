/* llvm_dl.c — build emitted LLVM IR into a loaded shared object (see
 * llvm_dl.h): the backend's own host target machine (cg_target_resolve)
 * and shared-object linker (cg_link_shared), then dlopen. */
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

#include "codegen/link.h"
#include "codegen/llvm/cg_internal.h"

void llvm_dl_host_vector(int *vec, int *nregs) {
    LLVMInitializeNativeTarget();
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

/* optimize at O3 and emit the object into obj */
static int dl_compile(LLVMModuleRef m, const char *asm_path, cg_object *obj, diag *d) {
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        diag_error(d, "invalid module: %s", msg);
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    cg_target host = {NULL, NULL, NULL};
    LLVMTargetMachineRef tm;
    if (cg_target_resolve(&host, &obj->triple, &obj->cpu, &obj->features, &tm, 3, 1, d)) return -1;
    LLVMSetTarget(m, obj->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, td);
    LLVMDisposeTargetData(td);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tm, po);
    LLVMDisposePassBuilderOptions(po);
    int rc = -1;
    LLVMMemoryBufferRef mb = NULL;
    if (e) {
        msg = LLVMGetErrorMessage(e);
        diag_error(d, "passes: %s", msg);
        LLVMDisposeErrorMessage(msg);
    } else if (asm_path && LLVMTargetMachineEmitToFile(tm, m, (char *)asm_path, LLVMAssemblyFile, &msg)) {
        diag_error(d, "asm: %s", msg);
        LLVMDisposeMessage(msg);
    } else if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &mb)) {
        diag_error(d, "object: %s", msg);
        LLVMDisposeMessage(msg);
    } else {
        obj->size = LLVMGetBufferSize(mb);
        obj->data = malloc(obj->size);
        if (obj->data) memcpy(obj->data, LLVMGetBufferStart(mb), obj->size), rc = 0;
        LLVMDisposeMemoryBuffer(mb);
    }
    LLVMDisposeTargetMachine(tm);
    return rc;
}

int llvm_dl_open(LLVMModuleRef m, const char *asm_path, llvm_dl *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    diag d;
    diag_init(&d);
    cg_object obj;
    memset(&obj, 0, sizeof obj);
    cg_bytes so = {NULL, 0};
    int rc = -1;
    if (dl_compile(m, asm_path, &obj, &d) || cg_link_shared(&obj, &so, &d)) goto done;
    snprintf(out->dir, sizeof out->dir, "/tmp/smelt_dl_XXXXXX");
    if (!mkdtemp(out->dir)) {
        out->dir[0] = 0;
        diag_error(&d, "mkdtemp failed");
        goto done;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/k.so", out->dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(so.data, 1, so.size, f) != so.size) diag_error(&d, "cannot write %s", path);
    if (f && fclose(f)) diag_error(&d, "cannot write %s", path);
    if (d.errors) goto done;
    out->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!out->handle) diag_error(&d, "dlopen: %s", dlerror());
    else rc = 0;
done:
    if (rc) snprintf(err, errlen, "%s", d.msg);
    cg_object_free(&obj);
    cg_bytes_free(&so);
    return rc;
}

void *llvm_dl_sym(llvm_dl *d, const char *name) { return d->handle ? dlsym(d->handle, name) : NULL; }

void llvm_dl_close(llvm_dl *d) {
    char p[300];
    if (d->handle) dlclose(d->handle);
    d->handle = NULL;
    if (!d->dir[0]) return;
    snprintf(p, sizeof p, "%s/k.so", d->dir);
    unlink(p);
    rmdir(d->dir);
    d->dir[0] = 0;
}
