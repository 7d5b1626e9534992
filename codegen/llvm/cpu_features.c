/* cpu_features.c — the instruction-set features a named CPU implies.
 *
 * `smelt compile --cpu skylake-avx512` lets LLVM use everything that CPU
 * has, but LLVM's C API cannot say what that is, and the runtime refuses an
 * artifact only for the "+feature"s its manifest lists (runtime/target.c).
 * So the features that matter for refusing (the ones the runtime can ask
 * the host about) are listed here per CPU: the x86-64 micro-architecture
 * levels of the psABI (v2, v3, v4) and, per CPU family, the level plus its
 * extensions; for AArch64 the Armv8 extensions of common cores. A CPU not
 * in the table gets no implied features (the code still runs where LLVM
 * put it; the loader just cannot check).
 */
#include <string.h>

#include "codegen/llvm/cg_internal.h"

#define X86_V2 "+sse3,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16,+sahf"
#define X86_V3 X86_V2 ",+avx,+avx2,+bmi,+bmi2,+f16c,+fma,+lzcnt,+movbe,+xsave"
#define X86_V4 X86_V3 ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl"
#define X86_ICL X86_V4 ",+avx512vnni,+avx512vbmi,+avx512ifma,+gfni,+vpclmulqdq"

typedef struct cpu_row {
    const char *name;
    const char *features;
} cpu_row;

static const cpu_row x86_cpus[] = {
    {"x86-64-v2", X86_V2},
    {"nehalem", X86_V2},
    {"westmere", X86_V2},
    {"sandybridge", X86_V2 ",+avx"},
    {"ivybridge", X86_V2 ",+avx,+f16c"},
    {"x86-64-v3", X86_V3},
    {"haswell", X86_V3},
    {"broadwell", X86_V3},
    {"skylake", X86_V3},
    {"alderlake", X86_V3 ",+avxvnni"},
    {"raptorlake", X86_V3 ",+avxvnni"},
    {"meteorlake", X86_V3 ",+avxvnni"},
    {"znver1", X86_V3},
    {"znver2", X86_V3},
    {"znver3", X86_V3},
    {"bdver4", X86_V3 ",+fma4,+xop"},
    {"x86-64-v4", X86_V4},
    {"skylake-avx512", X86_V4},
    {"cascadelake", X86_V4 ",+avx512vnni"},
    {"cooperlake", X86_V4 ",+avx512vnni,+avx512bf16"},
    {"cannonlake", X86_V4 ",+avx512vbmi,+avx512ifma"},
    {"icelake-client", X86_ICL},
    {"icelake-server", X86_ICL},
    {"rocketlake", X86_ICL},
    {"tigerlake", X86_ICL},
    {"sapphirerapids", X86_ICL ",+avx512bf16,+avx512fp16"},
    {"emeraldrapids", X86_ICL ",+avx512bf16,+avx512fp16"},
    {"graniterapids", X86_ICL ",+avx512bf16,+avx512fp16"},
    {"znver4", X86_ICL ",+avx512bf16"},
};

#define A64_V82 "+neon,+fp-armv8,+crc,+lse,+rdm,+fullfp16,+dotprod"

static const cpu_row aarch64_cpus[] = {
    {"generic", "+neon,+fp-armv8"},
    {"cortex-a53", "+neon,+fp-armv8,+crc"},
    {"cortex-a72", "+neon,+fp-armv8,+crc"},
    {"cortex-a76", A64_V82},
    {"cortex-a78", A64_V82},
    {"cortex-x1", A64_V82},
    {"neoverse-n1", A64_V82},
    {"neoverse-n2", A64_V82 ",+sve"},
    {"neoverse-v1", A64_V82 ",+sve"},
    {"neoverse-v2", A64_V82 ",+sve"},
    {"apple-m1", A64_V82},
    {"apple-m2", A64_V82},
};

const char *cg_cpu_implied_features(const char *triple, const char *cpu) {
    bool x86 = !strncmp(triple, "x86_64", 6);
    bool a64 = !strncmp(triple, "aarch64", 7) || !strncmp(triple, "arm64", 5);
    const cpu_row *rows = x86 ? x86_cpus : a64 ? aarch64_cpus : NULL;
    size_t n = x86 ? sizeof x86_cpus / sizeof *x86_cpus : a64 ? sizeof aarch64_cpus / sizeof *aarch64_cpus : 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].name, cpu)) return rows[i].features;
    return NULL;
}
