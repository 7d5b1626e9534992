/* manifest.c — parse and check an artifact's JSON manifest (docs/artifact.md)
 * into the compact structs of rt_model.h.
 *
 * Everything a session relies on is checked here, once: indices in range,
 * known dtypes and kinds, ranks up to 16, constant parts of shapes whose
 * element counts fit in int64, constants inside the weights blob and of the
 * size their shape needs. A malformed manifest gives one message naming the
 * artifact and the JSON path of the offending field, never a crash.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "runtime/rt_model.h"

typedef struct mp {
    const char *what;
    char *err;
    size_t err_size;
} mp;

static int fail(mp *p, const char *fmt, ...) {
    int k = snprintf(p->err, p->err_size, "%s: manifest: ", p->what);
    if (k < 0 || (size_t)k >= p->err_size) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + k, p->err_size - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

/* An integer JSON number in [lo, hi] (exact: |v| <= 2^53). */
static int get_int(mp *p, const cJSON *v, const char *path, int64_t lo, int64_t hi, int64_t *out) {
    if (!cJSON_IsNumber(v)) return fail(p, "%s: missing or not a number", path);
    double d = v->valuedouble;
    if (d != floor(d) || fabs(d) > 9007199254740992.0 || d < (double)lo || d > (double)hi)
        return fail(p, "%s: %.17g is not an integer in [%lld, %lld]", path, d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return 0;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* A required (or optional, with def) string field, copied. */
static int get_str(mp *p, const cJSON *obj, const char *key, const char *path, const char *def, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) && !(def && !v)) return fail(p, "%s.%s: missing or not a string", path, key);
    *out = dup_str(v ? v->valuestring : def);
    return *out ? 0 : fail(p, "out of memory");
}

static const cJSON *get_array(mp *p, const cJSON *obj, const char *key, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(v)) {
        fail(p, "%s%s%s: missing or not an array", path, *path ? "." : "", key);
        return NULL;
    }
    return v;
}

/* An array of buffer indices (allow_none: -1 allowed). */
static int get_indices(mp *p, const cJSON *arr, const char *path, uint32_t n_bufs, bool allow_none, int32_t **out,
                       uint32_t *n) {
    int size = cJSON_GetArraySize(arr);
    *out = calloc((size_t)size + 1, sizeof **out);
    if (!*out) return fail(p, "out of memory");
    *n = (uint32_t)size;
    char sub[96];
    int k = 0;
    for (const cJSON *e = arr->child; e; e = e->next, k++) {
        int64_t v;
        snprintf(sub, sizeof sub, "%s[%d]", path, k);
        if (get_int(p, e, sub, allow_none ? -1 : 0, (int64_t)n_bufs - 1, &v)) return -1;
        (*out)[k] = (int32_t)v;
    }
    return 0;
}

static int parse_symbols(mp *p, rt_manifest *m, const cJSON *root) {
    const cJSON *arr = get_array(p, root, "symbols", "");
    if (!arr) return -1;
    m->n_syms = (uint32_t)cJSON_GetArraySize(arr);
    m->syms = calloc(m->n_syms + 1, sizeof *m->syms);
    if (!m->syms) return fail(p, "out of memory");
    uint32_t k = 0;
    for (const cJSON *e = arr->child; e; e = e->next, k++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *expr = cJSON_GetObjectItemCaseSensitive(e, "expr");
        if (cJSON_IsString(name)) m->syms[k].name = dup_str(name->valuestring);
        else if (cJSON_IsString(expr)) m->syms[k].expr = dup_str(expr->valuestring);
        else return fail(p, "symbols[%u]: needs a string \"name\" or \"expr\"", k);
        if (!m->syms[k].name && !m->syms[k].expr) return fail(p, "out of memory");
    }
    return 0;
}

static int parse_kind(mp *p, const char *s, uint32_t i, rt_buf_kind *out) {
    static const char *const names[] = {"input", "const", "value", "temp"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(s, names[k])) {
            *out = (rt_buf_kind)k;
            return 0;
        }
    return fail(p, "buffers[%u].kind: unknown kind '%s'", i, s);
}

static int parse_buffer(mp *p, rt_manifest *m, const cJSON *e, uint32_t i, uint64_t weights_len) {
    rt_buffer *b = &m->bufs[i];
    char path[64], *s = NULL;
    snprintf(path, sizeof path, "buffers[%u]", i);
    if (!cJSON_IsObject(e)) return fail(p, "%s: not an object", path);
    if (get_str(p, e, "name", path, NULL, &b->name)) return -1;
    if (get_str(p, e, "kind", path, NULL, &s)) return -1;
    int rc = parse_kind(p, s, i, &b->kind);
    free(s);
    if (rc) return -1;
    if (get_str(p, e, "dtype", path, NULL, &s)) return -1;
    b->dtype = (int)ir_dtype_from_name(s, -1);
    if (b->dtype == IR_DTYPE_NONE) {
        fail(p, "%s (%s).dtype: unknown dtype '%s'", path, b->name, s);
        free(s);
        return -1;
    }
    free(s);
    const cJSON *shape = get_array(p, e, "shape", path);
    if (!shape) return -1;
    int rank = cJSON_GetArraySize(shape);
    if (rank > RT_MAX_RANK) return fail(p, "%s (%s).shape: rank %d over %d", path, b->name, rank, RT_MAX_RANK);
    b->rank = rank;
    int64_t const_numel = 1;
    int k = 0;
    for (const cJSON *d = shape->child; d; d = d->next, k++) {
        char sub[96];
        snprintf(sub, sizeof sub, "%s (%s).shape[%d]", path, b->name, k);
        int64_t v;
        if (cJSON_IsObject(d)) {
            if (get_int(p, cJSON_GetObjectItemCaseSensitive(d, "sym"), sub, 0, (int64_t)m->n_syms - 1, &v)) return -1;
            b->dims[k] = (rt_dim){-1, (int32_t)v};
            b->symbolic = true;
        } else {
            if (get_int(p, d, sub, 0, INT64_MAX, &v)) return -1;
            b->dims[k] = (rt_dim){v, -1};
            if (v && const_numel > INT64_MAX / v)
                return fail(p, "%s (%s).shape: the element count overflows", path, b->name);
            const_numel *= v;
        }
    }
    if (b->kind == RT_BUF_CONST) {
        int64_t off, bytes;
        if (b->symbolic) return fail(p, "%s (%s): a constant needs a constant shape", path, b->name);
        if (get_int(p, cJSON_GetObjectItemCaseSensitive(e, "offset"), "offset", 0, INT64_MAX, &off) ||
            get_int(p, cJSON_GetObjectItemCaseSensitive(e, "bytes"), "bytes", 0, INT64_MAX, &bytes))
            return fail(p, "%s (%s): a constant needs integer \"offset\" and \"bytes\"", path, b->name);
        int64_t need = ir_dtype_storage_bytes((ir_dtype)b->dtype, const_numel);
        if (need != bytes)
            return fail(p, "%s (%s): %lld bytes given, its shape needs %lld", path, b->name, (long long)bytes,
                        (long long)need);
        if ((uint64_t)off > weights_len || (uint64_t)bytes > weights_len - (uint64_t)off)
            return fail(p, "%s (%s): bytes [%lld, %lld) outside the %llu bytes of weights", path, b->name,
                        (long long)off, (long long)off + bytes, (unsigned long long)weights_len);
        b->offset = (uint64_t)off;
        b->bytes = (uint64_t)bytes;
    } else if (!b->symbolic && ir_dtype_storage_bytes((ir_dtype)b->dtype, const_numel) < 0) {
        return fail(p, "%s (%s): its size in bytes overflows", path, b->name);
    }
    return 0;
}

static int parse_io(mp *p, rt_manifest *m, const cJSON *root, const char *key, uint32_t **out, uint32_t *n) {
    const cJSON *arr = get_array(p, root, key, "");
    int32_t *idx = NULL;
    int rc = arr ? get_indices(p, arr, key, m->n_bufs, false, &idx, n) : -1;
    *out = (uint32_t *)idx; /* freed by rt_manifest_free, also after a failure */
    return rc;
}

static int parse_step(mp *p, rt_manifest *m, const cJSON *e, uint32_t i, uint32_t n_kernels) {
    rt_step *s = &m->steps[i];
    char path[64], def[32];
    snprintf(path, sizeof path, "steps[%u]", i);
    snprintf(def, sizeof def, "step %u", i);
    if (!cJSON_IsObject(e)) return fail(p, "%s: not an object", path);
    if (get_str(p, e, "node", path, def, &s->node)) return -1;
    const cJSON *kernel = cJSON_GetObjectItemCaseSensitive(e, "kernel");
    if (kernel) {
        int64_t k, out;
        char sub[96];
        snprintf(sub, sizeof sub, "%s (%s).kernel", path, s->node);
        if (get_int(p, kernel, sub, 0, (int64_t)n_kernels - 1, &k)) return -1;
        snprintf(sub, sizeof sub, "%s (%s).out", path, s->node);
        if (get_int(p, cJSON_GetObjectItemCaseSensitive(e, "out"), sub, 0, (int64_t)m->n_bufs - 1, &out)) return -1;
        s->kernel = (int32_t)k;
        s->out = malloc(sizeof *s->out);
        if (!s->out) return fail(p, "out of memory");
        s->out[0] = (int32_t)out;
        s->n_out = 1;
        const cJSON *reads = get_array(p, e, "reads", path);
        snprintf(sub, sizeof sub, "%s (%s).reads", path, s->node);
        return reads ? get_indices(p, reads, sub, m->n_bufs, false, &s->in, &s->n_in) : -1;
    }
    s->kernel = -1;
    if (get_str(p, e, "lib", path, NULL, &s->lib)) return fail(p, "%s (%s): needs \"kernel\" or \"lib\"", path, s->node);
    char sub[96];
    const cJSON *in = get_array(p, e, "in", path), *out = in ? get_array(p, e, "out", path) : NULL;
    if (!out) return -1;
    snprintf(sub, sizeof sub, "%s (%s).in", path, s->node);
    if (get_indices(p, in, sub, m->n_bufs, true, &s->in, &s->n_in)) return -1;
    snprintf(sub, sizeof sub, "%s (%s).out", path, s->node);
    if (get_indices(p, out, sub, m->n_bufs, false, &s->out, &s->n_out)) return -1;
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(e, "attrs");
    if (attrs && !cJSON_IsObject(attrs)) return fail(p, "%s (%s).attrs: not an object", path, s->node);
    if (attrs && rt_attrs_from_json(&s->attrs, attrs))
        return fail(p, "%s (%s).attrs: unreadable attributes", path, s->node);
    return 0;
}

static int parse_target(mp *p, rt_manifest *m, const cJSON *root) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "target");
    if (!t) return 0;
    if (!cJSON_IsObject(t)) return fail(p, "target: not an object");
    if (get_str(p, t, "triple", "target", NULL, &m->triple)) return -1;
    if (get_str(p, t, "cpu", "target", "", &m->cpu)) return -1;
    return get_str(p, t, "features", "target", "", &m->features);
}

static int parse_root(mp *p, rt_manifest *m, const cJSON *root, uint32_t n_kernels, uint64_t weights_len) {
    if (!cJSON_IsObject(root)) return fail(p, "not a JSON object");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "smelt-artifact"))
        return fail(p, "format: not \"smelt-artifact\"");
    int64_t version;
    if (get_int(p, cJSON_GetObjectItemCaseSensitive(root, "format_version"), "format_version", 0, INT32_MAX, &version))
        return -1;
    if (version != SMELT_FORMAT_VERSION)
        return fail(p, "format version %lld, this runtime reads version %d", (long long)version, SMELT_FORMAT_VERSION);
    if (parse_target(p, m, root) || parse_symbols(p, m, root)) return -1;

    const cJSON *bufs = get_array(p, root, "buffers", "");
    if (!bufs) return -1;
    m->n_bufs = (uint32_t)cJSON_GetArraySize(bufs);
    m->bufs = calloc(m->n_bufs + 1, sizeof *m->bufs);
    if (!m->bufs) return fail(p, "out of memory");
    uint32_t i = 0;
    for (const cJSON *e = bufs->child; e; e = e->next, i++)
        if (parse_buffer(p, m, e, i, weights_len)) return -1;

    if (parse_io(p, m, root, "inputs", &m->inputs, &m->n_inputs) ||
        parse_io(p, m, root, "outputs", &m->outputs, &m->n_outputs))
        return -1;
    for (i = 0; i < m->n_inputs; i++) {
        rt_buffer *b = &m->bufs[m->inputs[i]];
        if (b->kind != RT_BUF_INPUT) return fail(p, "inputs[%u]: buffer %u (%s) is not an input", i, m->inputs[i], b->name);
        for (int k = 0; k < b->rank; k++)
            if (b->dims[k].sym >= 0 && m->syms[b->dims[k].sym].name) m->syms[b->dims[k].sym].from_input = true;
    }
    for (i = 0; i < m->n_outputs; i++) {
        rt_buffer *b = &m->bufs[m->outputs[i]];
        if (b->kind == RT_BUF_TEMP) return fail(p, "outputs[%u]: buffer %u (%s) is a temp", i, m->outputs[i], b->name);
        if (b->is_output) return fail(p, "outputs[%u]: buffer %u (%s) is listed twice", i, m->outputs[i], b->name);
        b->is_output = true;
    }

    const cJSON *steps = get_array(p, root, "steps", "");
    if (!steps) return -1;
    m->n_steps = (uint32_t)cJSON_GetArraySize(steps);
    m->steps = calloc(m->n_steps + 1, sizeof *m->steps);
    if (!m->steps) return fail(p, "out of memory");
    i = 0;
    for (const cJSON *e = steps->child; e; e = e->next, i++)
        if (parse_step(p, m, e, i, n_kernels)) return -1;
    for (i = 0; i < m->n_steps; i++)
        for (uint32_t o = 0; o < m->steps[i].n_out; o++) {
            rt_buffer *b = &m->bufs[m->steps[i].out[o]];
            if (b->kind == RT_BUF_INPUT || b->kind == RT_BUF_CONST)
                return fail(p, "steps[%u] (%s) writes %s buffer %d (%s)", i, m->steps[i].node,
                            b->kind == RT_BUF_INPUT ? "input" : "constant", m->steps[i].out[o], b->name);
        }

    const cJSON *arena = cJSON_GetObjectItemCaseSensitive(root, "arena");
    if (arena) {
        int64_t bytes;
        if (get_int(p, cJSON_GetObjectItemCaseSensitive(arena, "bytes"), "arena.bytes", 0, INT64_MAX, &bytes)) return -1;
        m->arena_bytes = (uint64_t)bytes;
    }
    return 0;
}

int rt_manifest_parse(rt_manifest *m, const char *text, size_t len, uint32_t n_kernels, uint64_t weights_len,
                      const char *what, char *err, size_t err_size) {
    mp p = {what, err, err_size};
    memset(m, 0, sizeof *m);
    if (!text) return fail(&p, "missing");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        return fail(&p, "invalid JSON near byte %zu of %zu", at, len);
    }
    int rc = parse_root(&p, m, root, n_kernels, weights_len);
    cJSON_Delete(root);
    return rc;
}

void rt_manifest_free(rt_manifest *m) {
    for (uint32_t i = 0; m->syms && i < m->n_syms; i++) {
        free(m->syms[i].name);
        free(m->syms[i].expr);
    }
    for (uint32_t i = 0; m->bufs && i < m->n_bufs; i++) free(m->bufs[i].name);
    for (uint32_t i = 0; m->steps && i < m->n_steps; i++) {
        rt_step *s = &m->steps[i];
        free(s->node);
        free(s->lib);
        free(s->in);
        free(s->out);
        if (s->attrs) rt_attrs_free(s->attrs);
    }
    free(m->syms);
    free(m->bufs);
    free(m->steps);
    free(m->inputs);
    free(m->outputs);
    free(m->triple);
    free(m->cpu);
    free(m->features);
    memset(m, 0, sizeof *m);
}
