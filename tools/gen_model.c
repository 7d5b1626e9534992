/* gen_model.c — opening a model for generation (gen_model.h). A GGUF file
 * is imported as its generation step (gguf_import_file_kv), compiled for
 * this CPU with its tokenizer section (as `smelt compile` does) and loaded
 * from memory (with its SPIR-V for --target vulkan); an artifact is loaded. Either way the tokenizer and chat
 * template come from the loaded model's tokenizer section. */
#include "gen_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "frontend/gguf/gguf_import.h"
#include "frontend/gguf/gguf_vocab.h"
#include "frontend/load.h"
#include "pass_args.h"
#include "runtime/tokenizer_blob.h"

static int tokenizer_section(const char *path, cg_extra *x, unsigned char **data, diag *d) {
    *data = NULL;
    gguf_file *f = gguf_open(path, d);
    if (!f) return -1;
    gguf_vocab v;
    int rc = gguf_find(f, "tokenizer.ggml.model") ? gguf_vocab_read(f, &v, d) : 1;
    if (rc) {
        gguf_close(f);
        return rc;
    }
    char err[512];
    rt_tokenizer *t = rt_tok_new(&v.cfg, err, sizeof err);
    size_t len = 0;
    if (!t) rc = diag_error(d, "%s: %s", path, err);
    else if (rt_tok_record_write(&v.cfg, v.chat_template.ptr, v.chat_template.len, data, &len, err, sizeof err))
        rc = diag_error(d, "%s: %s", path, err);
    else *x = (cg_extra){"tokenizer", "{\"format\":1}", *data, len};
    rt_tok_free(t);
    gguf_vocab_free(&v);
    gguf_close(f);
    return rc;
}

/* A tokenizer this version cannot carry is no reason to refuse the model
 * (--prompt-ids still works): say why and go on without it. */
bool gen_tokenizer_section(const char *path, cg_extra *x, unsigned char **data) {
    diag d;
    diag_init(&d);
    int rc = tokenizer_section(path, x, data, &d);
    size_t n = d.len;
    while (n && d.msg[n - 1] == '\n') n--;
    if (rc < 0) fprintf(stderr, "warning: %.*s; the compiled model carries no tokenizer\n", (int)n, d.msg);
    if (rc) {
        free(*data);
        *data = NULL;
    }
    return rc == 0;
}

int gen_tokenizer_open(const char *path, rt_tokenizer **tok, char **chat, diag *d) {
    *tok = NULL;
    *chat = NULL;
    char err[1024];
    int rc;
    if (cli_is_elf(path)) {
        smelt_model *m;
        if (smelt_load(path, &m, err, sizeof err)) return diag_error(d, "%s", err);
        rc = rt_model_tokenizer(m, tok, chat, err, sizeof err);
        smelt_model_free(m);
        if (rc < 0) return diag_error(d, "%s", err);
    } else {
        cg_extra x;
        unsigned char *data;
        rc = tokenizer_section(path, &x, &data, d);
        if (rc == 0 && rt_tok_from_record(data, x.len, tok, chat, err, sizeof err))
            rc = diag_error(d, "%s: %s", path, err);
        free(data);
        if (rc < 0) return -1;
    }
    return rc ? diag_error(d, "%s: the model carries no tokenizer", path) : 0;
}

static int compile_gguf(const char *path, bool vulkan, gen_model *gm, diag *d) {
    ir_graph *g = gguf_import_file_kv(path, d);
    if (!g) return -1;
    pass_options popts;
    pass_args_init(&popts);
    kir_program *p = NULL;
    const char *slash = strrchr(path, '/');
    cg_options o = {.opt_level = -1, .pic = 1, .model = slash ? slash + 1 : path, .shared_weights = vulkan};
    cg_extra extras[2]; /* the SPIR-V (vulkan), then the tokenizer, as smelt compile stores them */
    unsigned char *tok_data = NULL, *spv_data = NULL;
    char *spv_json = NULL;
    o.extras = extras;
    cg_bytes so = {0};
    int rc = cli_lower_graph(g, &popts, 1, &p, d);
    if (rc == 0 && vulkan) rc = cli_spirv_section(p, &extras[o.n_extras++], &spv_data, &spv_json, d);
    if (rc == 0 && gen_tokenizer_section(path, &extras[o.n_extras], &tok_data)) o.n_extras++;
    if (rc == 0) rc = cli_build_artifact(p, &o, CLI_EMIT_SO, path, &so, NULL, d);
    if (rc == 0) rc = cli_load_shared(&so, path, &gm->m, d);
    cg_bytes_free(&so);
    free(tok_data);
    free(spv_data);
    free(spv_json);
    kir_free(p);
    ir_graph_free(g);
    return rc;
}

static int load_tokenizer(gen_model *gm, diag *d) {
    char err[1024], *chat = NULL;
    int rc = rt_model_tokenizer(gm->m, &gm->tok, &chat, err, sizeof err);
    if (rc < 0) return diag_error(d, "%s", err);
    if (chat) gm->has_chat = rt_chat_detect(chat, strlen(chat), &gm->chat) == 0;
    free(chat);
    return 0;
}

int gen_model_open(const char *path, bool vulkan, gen_model *gm, diag *d) {
    memset(gm, 0, sizeof *gm);
    int rc;
    if (model_detect_format(path) == MODEL_GGUF) {
        rc = compile_gguf(path, vulkan, gm, d);
    } else if (cli_is_elf(path)) {
        char err[2048];
        rc = smelt_load(path, &gm->m, err, sizeof err);
        if (rc) diag_error(d, "%s", err);
    } else {
        rc = diag_error(d, "%s: generation needs a GGUF model or an artifact compiled from one", path);
    }
    if (rc == 0) rc = load_tokenizer(gm, d);
    if (rc) gen_model_close(gm);
    return rc;
}

void gen_model_close(gen_model *gm) {
    rt_tok_free(gm->tok);
    smelt_model_free(gm->m);
    memset(gm, 0, sizeof *gm);
}
