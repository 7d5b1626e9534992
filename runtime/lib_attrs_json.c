/* lib_attrs_json.c — the attribute source of the library routines over a
 * manifest step's "attrs" object (see lib.h, lib_attrs.h).
 *
 * The compiler writes every attribute of the op's schema, defaults
 * included (docs/artifact.md): ints and floats as numbers, lists as arrays,
 * strings as strings, dtypes by name. The object is copied into a table at
 * creation, so lookups need no cJSON and the manifest may be freed. A key
 * that is absent or null, or an empty list, is an attribute the node does
 * not have; a present key is one the node sets (the manifest writes null
 * for an A_OPT_INT attribute such as Unique's axis when the node does not
 * set it, ir/ops.def). Lists of other than whole
 * numbers (floats, strings) are kept by no routine and left out.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "lib_attrs.h"

typedef enum { JA_NUMBER, JA_STRING, JA_INTS, JA_OTHER } ja_kind;

typedef struct ja_entry {
    char *name;
    ja_kind kind;
    double f;        /* JA_NUMBER */
    char *s;         /* JA_STRING */
    int64_t *ints;   /* JA_INTS */
    uint32_t count;
} ja_entry;

typedef struct ja_attrs {
    rt_attrs base;   /* first: the rt_attrs handed out is this */
    ja_entry *e;
    uint32_t n;
} ja_attrs;

static const ja_entry *find(const void *ctx, const char *name, ja_kind kind) {
    const ja_attrs *a = ctx;
    for (uint32_t i = 0; i < a->n; i++)
        if (!strcmp(a->e[i].name, name)) return a->e[i].kind == kind ? &a->e[i] : NULL;
    return NULL;
}

static bool ja_int(const void *ctx, const char *name, int64_t *v) {
    const ja_entry *s = find(ctx, name, JA_STRING); /* a dtype attribute */
    if (s && ir_dtype_from_name(s->s, -1) != IR_DTYPE_NONE) {
        *v = ir_dtype_from_name(s->s, -1);
        return true;
    }
    const ja_entry *e = find(ctx, name, JA_NUMBER);
    if (!e || !(e->f >= -9.2e18 && e->f <= 9.2e18) || e->f != floor(e->f)) return false;
    *v = (int64_t)e->f;
    return true;
}

static bool ja_float(const void *ctx, const char *name, double *v) {
    const ja_entry *e = find(ctx, name, JA_NUMBER);
    if (e) *v = e->f;
    return e != NULL;
}

static bool ja_ints(const void *ctx, const char *name, const int64_t **v, uint32_t *n) {
    const ja_entry *e = find(ctx, name, JA_INTS);
    if (!e) return false;
    *v = e->ints;
    *n = e->count;
    return true;
}

static bool ja_str(const void *ctx, const char *name, const char **v) {
    const ja_entry *e = find(ctx, name, JA_STRING);
    if (e) *v = e->s;
    return e != NULL;
}

static bool ja_is_set(const void *ctx, const char *name) {
    const ja_attrs *a = ctx;
    for (uint32_t i = 0; i < a->n; i++)
        if (!strcmp(a->e[i].name, name)) return a->e[i].kind != JA_OTHER;
    return false;
}

static bool whole(const cJSON *x) {
    return cJSON_IsNumber(x) && x->valuedouble >= -9.2e18 && x->valuedouble <= 9.2e18 &&
           x->valuedouble == floor(x->valuedouble);
}

static void ja_free(rt_attrs *base) {
    ja_attrs *a = (ja_attrs *)base;
    for (uint32_t i = 0; i < a->n; i++) {
        free(a->e[i].name);
        free(a->e[i].s);
        free(a->e[i].ints);
    }
    free(a->e);
    free(a);
}

/* Entry e from item (JA_OTHER: nothing a routine reads); -1 for a value of
 * another type (an object) or out of memory. */
static int read_entry(ja_entry *e, const cJSON *item) {
    e->name = strdup(item->string);
    if (!e->name) return -1;
    if (cJSON_IsNumber(item)) {
        e->kind = JA_NUMBER;
        e->f = item->valuedouble;
        return 0;
    }
    if (cJSON_IsString(item)) {
        e->kind = JA_STRING;
        e->s = strdup(item->valuestring);
        return e->s ? 0 : -1;
    }
    if (!cJSON_IsArray(item)) return -1;
    int n = cJSON_GetArraySize(item);
    const cJSON *x;
    e->kind = JA_OTHER;
    cJSON_ArrayForEach(x, item) if (!whole(x)) return 0;
    if (n == 0) return 0; /* an unset list */
    e->kind = JA_INTS;
    e->ints = malloc((size_t)n * sizeof *e->ints);
    if (!e->ints) return -1;
    cJSON_ArrayForEach(x, item) e->ints[e->count++] = (int64_t)x->valuedouble;
    return 0;
}

int rt_attrs_from_json(rt_attrs **out, const void *cjson_attrs_object) {
    const cJSON *obj = cjson_attrs_object;
    *out = NULL;
    if (!cJSON_IsObject(obj)) return -1;
    ja_attrs *a = calloc(1, sizeof *a);
    int n = cJSON_GetArraySize(obj);
    if (!a || !(a->e = calloc((size_t)(n ? n : 1), sizeof *a->e))) {
        free(a);
        return -1;
    }
    a->base = (rt_attrs){.ctx = a, .get_int = ja_int, .get_float = ja_float, .get_ints = ja_ints,
                         .get_str = ja_str, .is_set = ja_is_set, .free = ja_free};
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        if (cJSON_IsNull(item)) continue;
        if (read_entry(&a->e[a->n++], item)) {
            ja_free(&a->base);
            return -1;
        }
    }
    *out = &a->base;
    return 0;
}
