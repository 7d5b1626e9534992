/* inspect_gguf.c — what `smelt inspect model.gguf` prints: the file's
 * version and alignment, every metadata key with its type and value (long
 * arrays abbreviated to their element type, count and first elements,
 * strings escaped and cut), the tensor table (name, type, ggml shape
 * innermost first, offset in the data section, bytes) and totals by type.
 * One line per key and per tensor, columns separated by blanks, so that
 * scripts (tests/gguf) can read it back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "frontend/gguf/gguf.h"

#define ARR_SHOW 8      /* array elements shown */
#define STR_SHOW 120    /* bytes of a string shown */

/* A string in double quotes: printable ASCII as is, '"' and '\' escaped,
 * other bytes (UTF-8 included) as \xNN; cut after max bytes with "...". */
static void put_str(gguf_str s, uint64_t max) {
    putchar('"');
    uint64_t n = s.len < max ? s.len : max;
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7f) putchar(c);
        else printf("\\x%02x", c);
    }
    putchar('"');
    if (s.len > max) printf("...");
}

static void put_value(const gguf_value *v, int depth);

static void put_array(const gguf_value *v, int depth) {
    printf("[%s x %" PRIu64 "]", gguf_type_name(v->arr.type), v->arr.n);
    const uint8_t *cur = v->arr.data;
    uint64_t show = v->arr.n < ARR_SHOW ? v->arr.n : ARR_SHOW;
    if (depth > 0 && show > 3) show = 3; /* inner arrays: shorter */
    for (uint64_t i = 0; i < show; i++) {
        gguf_value e = gguf_arr_next(v->arr.type, &cur);
        printf(i ? ", " : " ");
        put_value(&e, depth + 1);
    }
    if (show < v->arr.n) printf(", ...");
}

static void put_value(const gguf_value *v, int depth) {
    switch (v->type) {
    case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64: printf("%" PRIu64, v->u); break;
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: printf("%" PRId64, v->i); break;
    case GGUF_F32: printf("%.9g", v->f); break;
    case GGUF_F64: printf("%.17g", v->f); break;
    case GGUF_BOOL: printf("%s", v->u ? "true" : "false"); break;
    case GGUF_STRING: put_str(v->s, depth ? 40 : STR_SHOW); break;
    case GGUF_ARRAY:
        if (depth) putchar('(');
        put_array(v, depth);
        if (depth) putchar(')');
        break;
    }
}

static void put_name(gguf_str s) {
    for (uint64_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c > 0x20 && c < 0x7f && c != '\\') putchar(c);
        else printf("\\x%02x", c);
    }
}

int inspect_gguf(const char *path) {
    diag d;
    diag_init(&d);
    gguf_file *f = gguf_open(path, &d);
    if (!f) return cli_fail(&d);
    printf("model: %s\nformat: GGUF version %u, alignment %" PRIu64 ", %" PRIu64 " keys, %" PRIu64
           " tensors, data at byte %zu of %zu\n",
           path, f->version, f->alignment, f->n_kv, f->n_tensors, (size_t)(f->data - f->base), f->size);
    printf("metadata (%" PRIu64 "):\n", f->n_kv);
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kv[i];
        printf("  ");
        put_name(kv->key);
        int pad = 44 - (int)(kv->key.len < 44 ? kv->key.len : 43);
        printf("%*s%-7s ", pad, "", gguf_type_name(kv->val.type));
        put_value(&kv->val, 0);
        putchar('\n');
    }
    printf("tensors (%" PRIu64 "):\n", f->n_tensors);
    printf("  %-32s %-6s %-24s %12s %12s\n", "name", "type", "shape", "offset", "bytes");
    uint64_t by_type[IR_DTYPE_COUNT][3] = {{0}}; /* tensors, elements, bytes */
    uint64_t elems = 0, bytes = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        char shape[128];
        size_t n = 0;
        uint64_t ne = 1;
        for (uint32_t k = 0; k < t->n_dims; k++)
            n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%" PRIu64, k ? "," : "[", t->ne[k]);
        snprintf(shape + n, sizeof shape - n, "%s]", t->n_dims ? "" : "[");
        for (int k = 0; k < 4; k++) ne *= t->ne[k];
        printf("  ");
        put_name(t->name);
        int pad = 32 - (int)(t->name.len < 32 ? t->name.len : 31);
        printf("%*s %-6s %-24s %12" PRIu64 " %12" PRIu64 "\n", pad, "", ir_dtype_name(t->dtype), shape, t->offset,
               t->nbytes);
        by_type[t->dtype][0]++;
        by_type[t->dtype][1] += ne;
        by_type[t->dtype][2] += t->nbytes;
        elems += ne;
        bytes += t->nbytes;
    }
    printf("totals: %" PRIu64 " tensors, %" PRIu64 " elements, %" PRIu64 " bytes (%.2f MiB)\n", f->n_tensors, elems,
           bytes, (double)bytes / (1024.0 * 1024.0));
    for (int t = 0; t < IR_DTYPE_COUNT; t++)
        if (by_type[t][0])
            printf("  %-6s %6" PRIu64 " tensors %12" PRIu64 " elements %12" PRIu64 " bytes\n", ir_dtype_name((ir_dtype)t),
                   by_type[t][0], by_type[t][1], by_type[t][2]);
    gguf_close(f);
    return EXIT_OK;
}
