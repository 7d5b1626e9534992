/* target.c — refuse an artifact built for another CPU than the host's.
 *
 * The manifest's target names the triple and the LLVM features the code was
 * compiled for ("+avx2,+fma,-avx512f"). Running AVX2 code on a CPU without
 * it dies with SIGILL somewhere inside a kernel, so the loader checks first:
 * the triple's architecture must be the host's, and every "+feature" the
 * host can be asked about (x86-64: __builtin_cpu_supports; aarch64: the
 * kernel's HWCAP bits) must be present. Features the runtime cannot query
 * are trusted.
 */
#include <stdio.h>
#include <string.h>

#include "runtime/rt_model.h"

#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#if defined(__x86_64__)
#define RT_HOST_ARCH "x86_64"
#elif defined(__aarch64__)
#define RT_HOST_ARCH "aarch64"
#elif defined(__riscv) && __riscv_xlen == 64
#define RT_HOST_ARCH "riscv64"
#else
#define RT_HOST_ARCH "unknown"
#endif

/* 1 present, 0 absent, -1 unknown to this runtime. */
static int host_has(const char *f) {
#if defined(__x86_64__)
#define X(llvm, gcc) \
    if (!strcmp(f, llvm)) return __builtin_cpu_supports(gcc) ? 1 : 0;
    X("sse2", "sse2") X("sse3", "sse3") X("ssse3", "ssse3") X("sse4.1", "sse4.1") X("sse4.2", "sse4.2")
    X("popcnt", "popcnt") X("avx", "avx") X("avx2", "avx2") X("fma", "fma") X("bmi", "bmi") X("bmi2", "bmi2")
    X("f16c", "f16c") X("avx512f", "avx512f") X("avx512bw", "avx512bw") X("avx512dq", "avx512dq")
    X("avx512vl", "avx512vl") X("avx512cd", "avx512cd") X("avx512vnni", "avx512vnni")
    X("avx512bf16", "avx512bf16") X("avx512vbmi", "avx512vbmi") X("avx512ifma", "avx512ifma")
    X("avx512fp16", "avx512fp16") X("avxvnni", "avxvnni") X("aes", "aes") X("pclmul", "pclmul")
    X("gfni", "gfni") X("vpclmulqdq", "vpclmulqdq") X("fma4", "fma4")
#undef X
#elif defined(__aarch64__)
    unsigned long hw = getauxval(AT_HWCAP);
#define A(llvm, bit) \
    if (!strcmp(f, llvm)) return (hw & (bit)) ? 1 : 0;
    A("neon", 1UL << 1) A("fp-armv8", 1UL << 0) A("aes", 1UL << 3) A("crc", 1UL << 7) A("lse", 1UL << 8)
    A("fullfp16", 1UL << 10) A("rdm", 1UL << 12) A("dotprod", 1UL << 20) A("sve", 1UL << 22)
#undef A
#endif
    return -1;
}

static const char *arch_alias(const char *a, size_t n) {
    if ((n == 5 && !strncmp(a, "amd64", 5))) return "x86_64";
    if ((n == 5 && !strncmp(a, "arm64", 5))) return "aarch64";
    return NULL;
}

int rt_target_check(const rt_manifest *m, const char *what, char *err, size_t err_size) {
    if (!m->triple) return 0;
    const char *t = m->triple;
    size_t n = strcspn(t, "-");
    const char *alias = arch_alias(t, n);
    if (alias ? strcmp(alias, RT_HOST_ARCH) : (strlen(RT_HOST_ARCH) != n || strncmp(t, RT_HOST_ARCH, n))) {
        snprintf(err, err_size, "%s: built for %s, this machine is %s", what, t, RT_HOST_ARCH);
        return -1;
    }
    const char *f = m->features ? m->features : "";
    while (*f) {
        size_t len = strcspn(f, ",");
        char name[64];
        if (f[0] == '+' && len > 1 && len - 1 < sizeof name) {
            memcpy(name, f + 1, len - 1);
            name[len - 1] = 0;
            if (host_has(name) == 0) {
                snprintf(err, err_size, "%s: built for CPU feature '%s' (cpu %s), which this CPU lacks", what, name,
                         m->cpu && *m->cpu ? m->cpu : "?");
                return -1;
            }
        }
        f += len;
        if (*f == ',') f++;
    }
    return 0;
}
