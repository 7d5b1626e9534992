/* link_header.c — the C header of `--emit obj` (see link.h). Everything it
 * states comes from the manifest embedded in the object (docs/artifact.md),
 * the same text the runtime reads, so the two cannot disagree: the exported
 * desc, and as constants each input's and output's name, dtype, rank and —
 * when every dimension is a number — shape, element count and bytes, plus
 * the weights bytes and the planned arena bytes when sizes are static. */
#include <ctype.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ir/dtype.h"
#include "link.h"
#include "runtime/smelt_abi.h"

typedef struct text {
    char *buf;
    size_t len, cap;
    int oom;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->oom) return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->oom = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A C string literal of s (quotes and backslashes escaped, controls as \x). */
static void put_cstring(text *t, const char *s) {
    put(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') put(t, "\\%c", c);
        else if (c < 32 || c == 127) put(t, "\\%03o", c);
        else put(t, "%c", c);
    }
    put(t, "\"");
}

/* One tensor (an input or output) as constants PREFIX_INPUT_0_*. */
static int put_tensor(text *t, const char *prefix, const char *role, int i, const cJSON *buf, const char *model,
                      diag *d) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(buf, "name");
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(buf, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(buf, "shape");
    if (!cJSON_IsString(name) || !cJSON_IsString(dtype) || !cJSON_IsArray(shape))
        return diag_error(d, "%s: manifest: %s %d lacks a name, dtype or shape", model, role, i);
    char p[160];
    snprintf(p, sizeof p, "%s%s_%d_", prefix, role, i);
    put(t, "#define %sNAME ", p);
    put_cstring(t, name->valuestring);
    put(t, "\n#define %sDTYPE ", p);
    put_cstring(t, dtype->valuestring);
    put(t, "\n#define %sRANK %d\n", p, cJSON_GetArraySize(shape));
    int64_t elems = 1;
    int is_static = 1;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        if (!cJSON_IsNumber(dim)) is_static = 0;
        else if (dim->valuedouble < 0 || (elems && dim->valuedouble > (double)(INT64_MAX / (elems ? elems : 1))))
            return diag_error(d, "%s: manifest: %s '%s' has a bad size", model, role, name->valuestring);
        else elems *= (int64_t)dim->valuedouble;
    }
    if (!is_static) {
        put(t, "/* %s '%s' has symbolic dimensions: sizes are known when its shape is bound */\n", role,
            name->valuestring);
        return 0;
    }
    put(t, "#define %sSHAPE {", p);
    int k = 0;
    cJSON_ArrayForEach(dim, shape) put(t, "%s%lld", k++ ? ", " : "", (long long)dim->valuedouble);
    put(t, "}\n#define %sELEMENTS %lld\n", p, (long long)elems);
    ir_dtype dt = ir_dtype_from_name(dtype->valuestring, -1);
    if (dt != IR_DTYPE_NONE) put(t, "#define %sBYTES %lld\n", p, (long long)ir_dtype_storage_bytes(dt, elems));
    return 0;
}

static int put_tensors(text *t, const char *prefix, const char *role, const cJSON *m, const char *key,
                       const char *model, diag *d) {
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(m, key);
    const cJSON *bufs = cJSON_GetObjectItemCaseSensitive(m, "buffers");
    if (!cJSON_IsArray(idx) || !cJSON_IsArray(bufs))
        return diag_error(d, "%s: manifest lacks '%s' or 'buffers'", model, key);
    put(t, "\n#define %sNUM_%sS %d\n", prefix, role, cJSON_GetArraySize(idx));
    int i = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, idx) {
        const cJSON *buf = cJSON_IsNumber(b) ? cJSON_GetArrayItem(bufs, (int)b->valuedouble) : NULL;
        if (!buf) return diag_error(d, "%s: manifest: %s %d is not a buffer", model, role, i);
        if (put_tensor(t, prefix, role, i++, buf, model, d)) return -1;
    }
    return 0;
}

int cg_link_header(const cg_object *obj, const char *symbol, cg_bytes *out, diag *d) {
    if (!symbol) symbol = SMELT_MODEL_SYMBOL;
    cJSON *m = cJSON_Parse(obj->manifest ? obj->manifest : "");
    if (!m) return diag_error(d, "%s: the object's manifest is not JSON", symbol);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(m, "model");
    const char *mname = cJSON_IsString(model) ? model->valuestring : symbol;
    char prefix[128], guard[160];
    size_t n = 0;
    for (const char *c = symbol; *c && n + 2 < sizeof prefix; c++)
        prefix[n++] = isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
    prefix[n++] = '_';
    prefix[n] = 0;
    snprintf(guard, sizeof guard, "%sH", prefix);
    text t = {0};
    put(&t, "/* Generated by smelt from %s for %s (cpu %s). Do not edit.\n", mname, obj->triple ? obj->triple : "?",
        obj->cpu ? obj->cpu : "?");
    put(&t, " * Link the object with libsmeltrt.a and pass %sDESC to smelt_load_desc\n", prefix);
    put(&t, " * (runtime/smelt.h). Sizes below are bytes. */\n");
    put(&t, "#ifndef %s\n#define %s\n\n#include \"smelt_abi.h\"\n\n", guard, guard);
    /* the C name differs from the symbol: the default symbol `smelt_model`
     * is also the name of smelt.h's model type */
    /* Mach-O prefixes C symbols with '_', and an asm label names the raw symbol */
    bool macho = obj->triple && strstr(obj->triple, "-apple-");
    put(&t, "extern const smelt_model_desc %s_artifact __asm__(\"%s%s\");\n", symbol, macho ? "_" : "", symbol);
    put(&t, "#define %sDESC (&%s_artifact)\n\n#define %sSYMBOL ", prefix, symbol, prefix);
    put_cstring(&t, symbol);
    put(&t, "\n#define %sTARGET ", prefix);
    put_cstring(&t, obj->triple ? obj->triple : "");
    put(&t, "\n#define %sLINK_LIBS ", prefix);
    put_cstring(&t, cg_link_runtime_libs());
    put(&t, "\n");
    const cJSON *bufs = cJSON_GetObjectItemCaseSensitive(m, "buffers");
    const cJSON *b;
    uint64_t weights = 0;
    cJSON_ArrayForEach(b, bufs) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(b, "kind");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(b, "offset");
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(b, "bytes");
        if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "const") && cJSON_IsNumber(off) &&
            cJSON_IsNumber(bytes) && off->valuedouble + bytes->valuedouble > (double)weights)
            weights = (uint64_t)(off->valuedouble + bytes->valuedouble);
    }
    put(&t, "#define %sWEIGHTS_BYTES %lluu\n", prefix, (unsigned long long)weights);
    const cJSON *arena_bytes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "arena"), "bytes");
    if (cJSON_IsNumber(arena_bytes))
        put(&t, "#define %sARENA_BYTES %lluu\n", prefix, (unsigned long long)arena_bytes->valuedouble);
    else put(&t, "/* the arena's size depends on symbolic dimensions: the runtime plans it */\n");
    int rc = put_tensors(&t, prefix, "INPUT", m, "inputs", mname, d);
    if (!rc) rc = put_tensors(&t, prefix, "OUTPUT", m, "outputs", mname, d);
    put(&t, "\n#endif\n");
    cJSON_Delete(m);
    if (!rc && t.oom) rc = diag_error(d, "out of memory");
    if (rc) {
        free(t.buf);
        return -1;
    }
    out->data = (unsigned char *)t.buf;
    out->size = t.len;
    return 0;
}
