/* gguf_import.h — a GGUF model as a graph: the transformer of its
 * architecture (general.architecture) built from the metadata, weights as
 * constants pointing into the file's mapping, kept in their ggml types.
 */
#ifndef SMELT_GGUF_IMPORT_H
#define SMELT_GGUF_IMPORT_H

#include "ir/ir.h"

/* The prefill graph: input `tokens` (i64 [seq]) -> output `logits`
 * (f32 [seq, vocab]), positions 0 .. seq-1. NULL with the reason in d (an
 * unsupported architecture is named). */
ir_graph *gguf_import_file(const char *path, diag *d);

#endif
