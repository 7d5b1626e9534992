/* gen_model.h — a model ready for generation (cmd_generate.c): the
 * compiled step (from a GGUF file, compiled in memory, or a `smelt compile`
 * artifact), its tokenizer and its chat template. */
#ifndef SMELT_TOOLS_GEN_MODEL_H
#define SMELT_TOOLS_GEN_MODEL_H

#include <stdbool.h>

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

int gen_model_open(const char *path, gen_model *gm, diag *d);
void gen_model_close(gen_model *gm);

#endif
