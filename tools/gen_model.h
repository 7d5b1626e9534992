/* gen_model.h — a model ready for generation (cmd_generate.c): the
 * compiled step (from a GGUF file, compiled in memory, or a `smelt compile`
 * artifact), its tokenizer and its chat template; and the tokenizer section
 * that a GGUF file's compiled step carries (cmd_compile.c). */
#ifndef SMELT_TOOLS_GEN_MODEL_H
#define SMELT_TOOLS_GEN_MODEL_H

#include <stdbool.h>

#include "codegen/llvm/cg_llvm.h"
#include "ir/diag.h"
#include "runtime/chat_template.h"
#include "runtime/smelt.h"
#include "runtime/tokenizer.h"

typedef struct gen_model {
    smelt_model *m;
    rt_tokenizer *tok;      /* NULL when the model has none */
    rt_chat_template chat;
    bool has_chat;
} gen_model;

/* Both kinds of model take their tokenizer from the compiled step's
 * "tokenizer" section (runtime/tokenizer_blob.h). vulkan: a GGUF file's
 * step is compiled with its "vulkan" section too (as --target cpu,vulkan). */
int gen_model_open(const char *path, bool vulkan, gen_model *gm, diag *d);
void gen_model_close(gen_model *gm);

/* The "tokenizer" section of GGUF file path (its vocabulary and chat
 * template as the record of runtime/tokenizer_blob.h, checked to build):
 * true with *x set (x->data is *data, malloc'd: the caller frees it); false
 * when the file has no tokenizer keys, or (with a warning on stderr) one
 * that smelt cannot carry: the model still runs with --prompt-ids. */
bool gen_tokenizer_section(const char *path, cg_extra *x, unsigned char **data);

/* The tokenizer and chat template (*chat malloc'd, NULL when there is
 * none) of a GGUF file (through the record that `smelt compile` stores) or
 * of an artifact compiled from one: 0, or -1 with the reason in d (also
 * when the model carries no tokenizer). */
int gen_tokenizer_open(const char *path, rt_tokenizer **tok, char **chat, diag *d);

#endif
