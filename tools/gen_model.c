/* gen_model.c — opening a model for generation (gen_model.h). A GGUF file
 * is imported as its generation step (gguf_import_file_kv), compiled for
 * this CPU and loaded from memory; its tokenizer comes from the file's
 * tokenizer.ggml.* keys. */
#include "gen_model.h"

#include <string.h>

#include "artifact.h"
#include "frontend/gguf/gguf_import.h"
#include "frontend/gguf/gguf_vocab.h"
#include "frontend/load.h"
#include "pass_args.h"

static int gguf_tokenizer(const char *path, gen_model *gm, diag *d) {
    gguf_file *f = gguf_open(path, d);
    if (!f) return -1;
    gguf_vocab v;
    if (gguf_vocab_read(f, &v, d)) {
        gguf_close(f);
        return -1;
    }
    char err[512];
    gm->tok = rt_tok_new(&v.cfg, err, sizeof err);
    if (!gm->tok) diag_error(d, "%s: %s", path, err);
    if (v.chat_template.len) gm->has_chat = rt_chat_detect(v.chat_template.ptr, v.chat_template.len, &gm->chat) == 0;
    gguf_vocab_free(&v);
    gguf_close(f);
    return gm->tok ? 0 : -1;
}

static int compile_gguf(const char *path, gen_model *gm, diag *d) {
    ir_graph *g = gguf_import_file_kv(path, d);
    if (!g) return -1;
    pass_options popts;
    pass_args_init(&popts);
    kir_program *p = NULL;
    const char *slash = strrchr(path, '/');
    cg_options o = {.opt_level = -1, .pic = 1, .model = slash ? slash + 1 : path};
    cg_bytes so = {0};
    int rc = cli_lower_graph(g, &popts, 1, &p, d);
    if (rc == 0) rc = cli_build_artifact(p, &o, CLI_EMIT_SO, path, &so, NULL, d);
    if (rc == 0) rc = cli_load_shared(&so, path, &gm->m, d);
    cg_bytes_free(&so);
    kir_free(p);
    ir_graph_free(g);
    return rc;
}

int gen_model_open(const char *path, gen_model *gm, diag *d) {
    memset(gm, 0, sizeof *gm);
    int rc;
    if (model_detect_format(path) == MODEL_GGUF) {
        rc = gguf_tokenizer(path, gm, d);
        if (rc == 0) rc = compile_gguf(path, gm, d);
    } else if (cli_is_elf(path)) {
        char err[2048];
        rc = smelt_load(path, &gm->m, err, sizeof err);
        if (rc) diag_error(d, "%s", err);
    } else {
        rc = diag_error(d, "%s: generation needs a GGUF model or an artifact compiled from one", path);
    }
    if (rc) gen_model_close(gm);
    return rc;
}

void gen_model_close(gen_model *gm) {
    rt_tok_free(gm->tok);
    smelt_model_free(gm->m);
    memset(gm, 0, sizeof *gm);
}
