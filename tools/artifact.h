/* artifact.h — what `smelt compile` and `smelt run --target cpu` share:
 * lowering a graph to the kernel program the backends take, building an
 * artifact from it (compile + link), loading a built shared object
 * in-process, and running a loaded model on tensors with the runtime. */
#ifndef SMELT_TOOLS_ARTIFACT_H
#define SMELT_TOOLS_ARTIFACT_H

#include "codegen/link.h"
#include "codegen/llvm/cg_llvm.h"
#include "ir/interp.h"
#include "passes/passes.h"
#include "runtime/smelt.h"

typedef enum cli_emit { CLI_EMIT_SO, CLI_EMIT_EXE, CLI_EMIT_OBJ } cli_emit;

/* The graph passes (popts), lowering, fusion (unless !fuse) and pruning. */
int cli_lower_graph(ir_graph *g, const pass_options *popts, int fuse, kir_program **out, diag *d);
/* The graph passes of popts on g (pass_pipeline), with --calibrate's
 * ranges measured first (tools/calibrate.h). */
int cli_run_passes(ir_graph *g, const pass_options *popts, diag *d);

/* Compile p for o's target and link it as `emit` asks: *main gets the shared
 * object, the executable or the object; *header the --emit obj header
 * (untouched otherwise). Errors start with `model` (the file's path). */
int cli_build_artifact(kir_program *p, const cg_options *o, cli_emit emit, const char *model, cg_bytes *main,
                       cg_bytes *header, diag *d);

/* The artifact's "vulkan" section (docs/artifact.md): every kernel's SPIR-V
 * compiled for all features (cmd_compile.c); *data and *json malloc'd, for
 * the caller to free after building. */
int cli_spirv_section(const kir_program *p, cg_extra *x, unsigned char **data, char **json, diag *d);

/* Load a shared object held in memory: written to a temporary file in
 * $TMPDIR, loaded with smelt_load, removed. name is for messages. */
int cli_load_shared(const cg_bytes *so, const char *name, smelt_model **m, diag *d);

/* True when path starts like an ELF file (a compiled artifact). */
int cli_is_elf(const char *path);

/* Bind input i of session s to t, checking its dtype against the model. */
int cli_bind_input(smelt_session *s, const smelt_model *m, int i, const interp_tensor *t, diag *d);

/* Run m on in[k] (one per model input, in order) with `threads` threads,
 * `repeat` times (printing the median latency when repeat > 0, and with
 * profile each step's mean time, tools/step_profile.h), and write each
 * output as OUTDIR/NAME.npy. */
/* load_start_ms: when loading began (rt_now_ms), reported with --repeat; -1 when unknown */
int cli_run_model(smelt_model *m, const interp_tensor *in, int threads, int repeat, int profile,
                  double load_start_ms, const char *outdir, diag *d);
/* The same on a session made by the caller (another executor attached). */
int cli_run_session(smelt_session *s, smelt_model *m, const interp_tensor *in, int repeat, double load_start_ms,
                    const char *outdir, diag *d);

#endif
