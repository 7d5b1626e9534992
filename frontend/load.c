/* load.c — model file format detection and dispatch to the frontends. */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/gguf/gguf_import.h"
#include "frontend/onnx/onnx_import.h"
#include "ir/text.h"

model_format model_detect_format(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return MODEL_UNKNOWN;
    char head[16] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    if (n >= 4 && !memcmp(head, "GGUF", 4)) return MODEL_GGUF;
    if (n >= 10 && !memcmp(head, "# smelt-ir", 10)) return MODEL_IR_TEXT;
    size_t len = strlen(path);
    if (len >= 3 && !strcmp(path + len - 3, ".ir")) return MODEL_IR_TEXT;
    if (len >= 5 && !strcmp(path + len - 5, ".gguf")) return MODEL_GGUF; /* a damaged one: its reader says why */
    return MODEL_ONNX; /* protobuf has no magic: let the decoder judge */
}

ir_graph *model_load(const char *path, diag *d) { return model_load_bound(path, NULL, 0, d); }

ir_graph *model_load_bound(const char *path, const onnx_input_binding *bind, uint32_t n_bind, diag *d) {
    ir_graph *g = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(d, "%s: cannot open", path);
        return NULL;
    }
    fclose(f);
    switch (model_detect_format(path)) {
    case MODEL_ONNX: g = onnx_import_file_bound(path, bind, n_bind, d); break;
    case MODEL_IR_TEXT: g = ir_parse_file(path, d); break;
    case MODEL_GGUF: g = gguf_import_file(path, d); break;
    case MODEL_UNKNOWN: diag_error(d, "%s: unknown model format", path); return NULL;
    }
    if (!g) return NULL;
    const char *verify = getenv("SMELT_VERIFY");
    if (verify && !strcmp(verify, "1") && ir_verify(g, d)) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}
