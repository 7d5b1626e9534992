/* link.h — from the object file that a backend emits (cg_object) to the
 * artifacts of docs/artifact.md: a shared object, a standalone executable,
 * or the object plus a C header for static linking.
 *
 * Linking runs the system's tools (ld.lld-16 for shared objects; the C
 * compiler driver for executables: gcc on the host, clang-16 with lld for
 * another architecture) in a private temporary folder, and returns the
 * result's bytes: the caller writes them atomically (ir/outfile.h), so a
 * failed link never leaves a partial file. Inputs are passed in a fixed
 * order and no build id is written, so the same object gives the same bytes.
 *
 * An executable needs the runtime built for its target: libsmeltrt.a and
 * exe_main.o (runtime/exe_main.c), found by cg_link_runtime_dir.
 */
#ifndef SMELT_CG_LINK_H
#define SMELT_CG_LINK_H

#include <stddef.h>

#include "codegen/llvm/cg_llvm.h"

typedef struct cg_bytes {
    unsigned char *data; /* malloc'd */
    size_t size;
} cg_bytes;

/* The folder holding libsmeltrt.a and exe_main.o for triple (NULL: the
 * host's). Looked for, in order: $SMELT_RUNTIME_DIR, the folder of the
 * running program (the build/ layout), then ../lib/smelt beside it (an
 * installed layout); the host's runtime sits at the top of such a folder,
 * another architecture's in a subfolder named ARCH-linux-gnu
 * (build/aarch64-linux-gnu/). The error says where it looked. */
int cg_link_runtime_dir(const char *triple, char *dir, size_t size, diag *d);

/* A shared object exporting the object's smelt_model_desc; math functions
 * stay undefined and resolve from the process that loads it. */
int cg_link_shared(const cg_object *obj, cg_bytes *out, diag *d);

/* A standalone executable: obj + exe_main.o + libsmeltrt.a of rt_dir + libc
 * and libm. symbol: the exported desc's name when not SMELT_MODEL_SYMBOL
 * (exe_main.o reads the default name). */
int cg_link_exe(const cg_object *obj, const char *rt_dir, const char *symbol, cg_bytes *out, diag *d);

/* The C header that goes with an object (--emit obj): declares the
 * exported desc and gives the fixed sizes of the manifest as constants
 * (each input's and output's shape when static, weights and arena bytes).
 * Macro names are the symbol in capitals: SMELT_MODEL_ARENA_BYTES;
 * SMELT_MODEL_LINK_LIBS names the libraries to link besides libsmeltrt.a. */
int cg_link_header(const cg_object *obj, const char *symbol, cg_bytes *out, diag *d);

/* The libraries a program linking libsmeltrt.a needs besides libc
 * ("-lm -lpthread"), as the Makefile configured them. */
const char *cg_link_runtime_libs(void);

void cg_bytes_free(cg_bytes *b);

#endif
