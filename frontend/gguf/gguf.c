/* gguf.c — the GGUF reader (see gguf.h): maps the file read-only, walks the
 * header, the metadata and the tensor infos with a bounds-checked cursor,
 * then checks every tensor's type, shape, alignment and extent and that no
 * two tensors overlap. Every count read from the file is compared with the
 * bytes left before anything is allocated from it, so the largest allocation
 * is bounded by the file's size. Nested arrays are walked recursively up to
 * GGUF_MAX_DEPTH levels.
 */
#include "gguf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DEPTH 8   /* nested arrays: an array of arrays of ... */
#define GGUF_MAX_DIMS 4

/* The read position in the mapping and what it is reading, for messages. */
typedef struct cursor {
    const gguf_file *f;
    size_t pos;
    diag *d;
} cursor;

static size_t left(const cursor *c) { return c->f->size - c->pos; }

/* Bytes of one element of a fixed-size type; 0 for STRING / ARRAY; -1 unknown. */
static int type_size(uint32_t t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    case GGUF_STRING: case GGUF_ARRAY: return 0;
    default: return -1;
    }
}

const char *gguf_type_name(gguf_type t) {
    static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* what: "key 'x'" or "tensor 'y'" or "header", for the message */
static int need(cursor *c, uint64_t n, const char *what, const char *field) {
    if (n <= left(c)) return 0;
    return diag_error(c->d, "%s: %s: %s at byte %zu (%llu bytes) runs past the end of the file (%zu bytes)", c->f->path,
                      what, field, c->pos, (unsigned long long)n, c->f->size);
}

static int rd_u32(cursor *c, uint32_t *v, const char *what, const char *field) {
    if (need(c, 4, what, field)) return -1;
    *v = (uint32_t)rd_le(c->f->base + c->pos, 4);
    c->pos += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v, const char *what, const char *field) {
    if (need(c, 8, what, field)) return -1;
    *v = rd_le(c->f->base + c->pos, 8);
    c->pos += 8;
    return 0;
}

static int rd_str(cursor *c, gguf_str *s, const char *what, const char *field) {
    uint64_t len;
    if (rd_u64(c, &len, what, field)) return -1;
    if (len > left(c))
        return diag_error(c->d, "%s: %s: %s length %llu at byte %zu runs past the end of the file (%zu bytes)",
                          c->f->path, what, field, (unsigned long long)len, c->pos - 8, c->f->size);
    s->ptr = (const char *)c->f->base + c->pos;
    s->len = len;
    c->pos += len;
    return 0;
}

/* Check and skip one value of type t (array elements of nested arrays too). */
static int read_value(cursor *c, uint32_t t, gguf_value *out, int depth, const char *what) {
    int sz = type_size(t);
    if (sz < 0) return diag_error(c->d, "%s: %s: unknown value type %u at byte %zu", c->f->path, what, t, c->pos - 4);
    gguf_value v;
    memset(&v, 0, sizeof v);
    v.type = (gguf_type)t;
    if (t == GGUF_STRING) {
        if (rd_str(c, &v.s, what, "string")) return -1;
    } else if (t == GGUF_ARRAY) {
        if (depth >= GGUF_MAX_DEPTH)
            return diag_error(c->d, "%s: %s: arrays nested deeper than %d levels", c->f->path, what, GGUF_MAX_DEPTH);
        uint32_t et;
        uint64_t n;
        if (rd_u32(c, &et, what, "array element type") || rd_u64(c, &n, what, "array count")) return -1;
        int esz = type_size(et);
        if (esz < 0)
            return diag_error(c->d, "%s: %s: unknown array element type %u at byte %zu", c->f->path, what, et, c->pos - 12);
        /* the least an element can take: strings 8, arrays 12 */
        uint64_t min = esz ? (uint64_t)esz : et == GGUF_STRING ? 8 : 12;
        if (n > left(c) / min)
            return diag_error(c->d, "%s: %s: array of %llu %s at byte %zu runs past the end of the file (%zu bytes)",
                              c->f->path, what, (unsigned long long)n, gguf_type_name((gguf_type)et), c->pos - 12,
                              c->f->size);
        v.arr.type = (gguf_type)et;
        v.arr.n = n;
        v.arr.data = c->f->base + c->pos;
        if (esz) c->pos += n * (uint64_t)esz;
        else
            for (uint64_t i = 0; i < n; i++)
                if (read_value(c, et, NULL, depth + 1, what)) return -1;
    } else {
        if (need(c, (uint64_t)sz, what, gguf_type_name((gguf_type)t))) return -1;
        uint64_t raw = rd_le(c->f->base + c->pos, sz);
        c->pos += (size_t)sz;
        switch (t) {
        case GGUF_I8: v.i = (int8_t)raw; break;
        case GGUF_I16: v.i = (int16_t)raw; break;
        case GGUF_I32: v.i = (int32_t)raw; break;
        case GGUF_I64: v.i = (int64_t)raw; break;
        case GGUF_F32: { float x; uint32_t r = (uint32_t)raw; memcpy(&x, &r, 4); v.f = x; break; }
        case GGUF_F64: memcpy(&v.f, &raw, 8); break;
        default: v.u = raw; break;
        }
    }
    if (out) *out = v;
    return 0;
}

static int str_eq(gguf_str s, const char *z) { return strlen(z) == s.len && !memcmp(s.ptr, z, s.len); }

/* "key 'NAME'" / "tensor 'NAME'" with the name cut to fit */
static const char *label(char *buf, size_t cap, const char *kind, gguf_str name) {
    int n = name.len > 200 ? 200 : (int)name.len;
    snprintf(buf, cap, "%s '%.*s%s'", kind, n, name.ptr, name.len > 200 ? "..." : "");
    return buf;
}

/* The name of key / tensor i; what becomes "key 'NAME'" for later messages. */
static int read_name(cursor *c, uint64_t i, const char *kind, gguf_str *name, char *what, size_t cap) {
    snprintf(what, cap, "%s %llu", kind, (unsigned long long)i);
    if (rd_str(c, name, what, !strcmp(kind, "key") ? "key" : "name")) return -1;
    label(what, cap, kind, *name);
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    const gguf_str *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return memcmp(x->ptr, y->ptr, x->len);
}

/* No name twice among n names, each at first + i * stride (sorted copies:
 * n log n, whatever the file holds). */
static int check_unique(const gguf_file *f, const gguf_str *first, size_t stride, uint64_t n, const char *kind,
                        diag *d) {
    if (n < 2) return 0;
    gguf_str *v = malloc(n * sizeof *v);
    if (!v) return diag_error(d, "%s: out of memory", f->path);
    for (uint64_t i = 0; i < n; i++) v[i] = *(const gguf_str *)((const char *)first + i * stride);
    qsort(v, n, sizeof *v, cmp_str);
    int rc = 0;
    for (uint64_t i = 1; i < n && !rc; i++)
        if (!cmp_str(&v[i - 1], &v[i])) {
            char what[256];
            rc = diag_error(d, "%s: %s: duplicate %s", f->path, label(what, sizeof what, kind, v[i]),
                            !strcmp(kind, "key") ? "key" : "tensor name");
        }
    free(v);
    return rc;
}

static int read_kvs(cursor *c, gguf_file *f) {
    char what[256];
    for (uint64_t i = 0; i < f->n_kv; i++) {
        gguf_kv *kv = &f->kv[i];
        if (read_name(c, i, "key", &kv->key, what, sizeof what)) return -1;
        uint32_t t;
        if (rd_u32(c, &t, what, "value type") || read_value(c, t, &kv->val, 0, what)) return -1;
    }
    if (check_unique(f, &f->kv[0].key, sizeof f->kv[0], f->n_kv, "key", c->d)) return -1;
    const gguf_kv *al = gguf_find(f, "general.alignment");
    if (al) {
        if (al->val.type != GGUF_U32)
            return diag_error(c->d, "%s: key 'general.alignment': type %s, expected u32", f->path,
                              gguf_type_name(al->val.type));
        if (al->val.u == 0 || (al->val.u & (al->val.u - 1)))
            return diag_error(c->d, "%s: key 'general.alignment': %llu is not a power of two", f->path,
                              (unsigned long long)al->val.u);
        f->alignment = al->val.u;
    }
    return 0;
}

/* Tensor info i: name, n_dims, ne[], ggml type, offset. */
static int read_tensor_info(cursor *c, const gguf_file *f, uint64_t i, gguf_tensor *t) {
    char what[256];
    uint32_t type;
    if (read_name(c, i, "tensor", &t->name, what, sizeof what) || rd_u32(c, &t->n_dims, what, "n_dims")) return -1;
    if (t->n_dims > GGUF_MAX_DIMS)
        return diag_error(c->d, "%s: %s: %u dimensions, at most %d", f->path, what, t->n_dims, GGUF_MAX_DIMS);
    for (int k = 0; k < GGUF_MAX_DIMS; k++) t->ne[k] = 1;
    for (uint32_t k = 0; k < t->n_dims; k++)
        if (rd_u64(c, &t->ne[k], what, "dimension")) return -1;
    if (rd_u32(c, &type, what, "type") || rd_u64(c, &t->offset, what, "offset")) return -1;
    t->dtype = ir_dtype_from_gguf((int)type);
    if (t->dtype == IR_DTYPE_NONE)
        return diag_error(c->d, "%s: %s: unknown or unsupported ggml type %u", f->path, what, type);
    return 0;
}

static int read_tensor_infos(cursor *c, gguf_file *f) {
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (read_tensor_info(c, f, i, &f->tensors[i])) return -1;
    return check_unique(f, &f->tensors[0].name, sizeof f->tensors[0], f->n_tensors, "tensor", c->d);
}

/* Shapes, sizes, alignment, extents. */
static int check_tensor(gguf_file *f, gguf_tensor *t, uint64_t data_bytes, diag *d) {
    char what[256];
    label(what, sizeof what, "tensor", t->name);
    const ir_dtype_info *info = ir_dtype_get(t->dtype);
    uint64_t n = 1;
    for (int k = 0; k < GGUF_MAX_DIMS; k++) {
        if (t->ne[k] > (uint64_t)INT64_MAX || (t->ne[k] && n > (uint64_t)INT64_MAX / t->ne[k]))
            return diag_error(d, "%s: %s: element count overflows", f->path, what);
        n *= t->ne[k];
    }
    if (t->ne[0] % info->block_elems)
        return diag_error(d, "%s: %s: row length %llu is not a multiple of the %s block (%u)", f->path, what,
                          (unsigned long long)t->ne[0], info->name, info->block_elems);
    uint64_t blocks = n / info->block_elems;
    if (blocks > UINT64_MAX / info->block_bytes)
        return diag_error(d, "%s: %s: byte size overflows", f->path, what);
    t->nbytes = blocks * info->block_bytes;
    if (t->offset % f->alignment)
        return diag_error(d, "%s: %s: offset %llu not aligned to %llu", f->path, what, (unsigned long long)t->offset,
                          (unsigned long long)f->alignment);
    if (t->offset > data_bytes || t->nbytes > data_bytes - t->offset)
        return diag_error(d, "%s: %s: data at offset %llu, %llu bytes, runs past the end of the file (%llu data bytes)",
                          f->path, what, (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                          (unsigned long long)data_bytes);
    t->data = f->data + t->offset;
    return 0;
}

static int cmp_offset(const void *a, const void *b) {
    const gguf_tensor *x = *(const gguf_tensor *const *)a, *y = *(const gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_overlaps(gguf_file *f, diag *d) {
    if (f->n_tensors < 2) return 0;
    gguf_tensor **order = malloc(f->n_tensors * sizeof *order);
    if (!order) return diag_error(d, "%s: out of memory", f->path);
    for (uint64_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, cmp_offset);
    int rc = 0;
    for (uint64_t i = 1; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *a = order[i - 1], *b = order[i];
        if (a->nbytes && b->nbytes && b->offset < a->offset + a->nbytes) {
            char la[256], lb[256];
            rc = diag_error(d, "%s: %s (bytes %llu..%llu) overlaps %s (from byte %llu)", f->path,
                            label(la, sizeof la, "tensor", b->name), (unsigned long long)b->offset,
                            (unsigned long long)(b->offset + b->nbytes), label(lb, sizeof lb, "tensor", a->name),
                            (unsigned long long)a->offset);
        }
    }
    free(order);
    return rc;
}

static int parse(gguf_file *f, diag *d) {
    cursor c = {f, 4, d}; /* past the magic */
    if (f->size < 4 || memcmp(f->base, GGUF_MAGIC, 4))
        return diag_error(d, "%s: not a GGUF file (bad magic)", f->path);
    if (rd_u32(&c, &f->version, "header", "version")) return -1;
    if (f->version != 2 && f->version != 3) {
        if (f->version == 1) return diag_error(d, "%s: GGUF version 1 is not supported (only 2 and 3)", f->path);
        if (f->version == 0x02000000u || f->version == 0x03000000u)
            return diag_error(d, "%s: big-endian GGUF is not supported", f->path);
        return diag_error(d, "%s: unknown GGUF version %u (expected 2 or 3)", f->path, f->version);
    }
    if (rd_u64(&c, &f->n_tensors, "header", "tensor count") || rd_u64(&c, &f->n_kv, "header", "key count")) return -1;
    /* a key/value takes at least 13 bytes (length, type, one byte); a tensor
     * info at least 24 (name length, n_dims, type, offset) */
    if (f->n_kv > left(&c) / 13)
        return diag_error(d, "%s: header: %llu keys cannot fit in the %zu bytes that follow", f->path,
                          (unsigned long long)f->n_kv, left(&c));
    if (f->n_tensors > left(&c) / 24)
        return diag_error(d, "%s: header: %llu tensors cannot fit in the %zu bytes that follow", f->path,
                          (unsigned long long)f->n_tensors, left(&c));
    f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    if (!f->kv || !f->tensors) return diag_error(d, "%s: out of memory", f->path);
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (read_kvs(&c, f) || read_tensor_infos(&c, f)) return -1;
    size_t start = c.pos + (f->alignment - c.pos % f->alignment) % f->alignment;
    if (start > f->size) start = f->size; /* no data section: only zero-sized tensors fit */
    f->data = f->base + start;
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (check_tensor(f, &f->tensors[i], f->size - start, d)) return -1;
    return check_overlaps(f, d);
}

gguf_file *gguf_open(const char *path, diag *d) {
    gguf_file *f = calloc(1, sizeof *f);
    char *p = strdup(path);
    if (!f || !p) {
        free(f);
        free(p);
        diag_error(d, "%s: out of memory", path);
        return NULL;
    }
    f->path = p;
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        diag_error(d, "%s: cannot open", path);
        if (fd >= 0) close(fd);
        gguf_close(f);
        return NULL;
    }
    f->size = (size_t)st.st_size;
    if (f->size < 4) {
        close(fd);
        diag_error(d, "%s: not a GGUF file (%zu bytes)", path, f->size);
        gguf_close(f);
        return NULL;
    }
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        diag_error(d, "%s: cannot map the file", path);
        gguf_close(f);
        return NULL;
    }
    f->base = m;
    if (parse(f, d)) {
        gguf_close(f);
        return NULL;
    }
    return f;
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    if (f->base) munmap((void *)f->base, f->size);
    free(f->kv);
    free(f->tensors);
    free((char *)f->path);
    free(f);
}

const gguf_kv *gguf_find(const gguf_file *f, const char *key) {
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (str_eq(f->kv[i].key, key)) return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (str_eq(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

/* ---- typed getters ------------------------------------------------------ */

static const gguf_kv *get(const gguf_file *f, const char *key, diag *d) {
    const gguf_kv *kv = gguf_find(f, key);
    if (!kv) diag_error(d, "%s: key '%s' is missing", f->path, key);
    return kv;
}

static int wrong_type(const gguf_file *f, const char *key, gguf_type got, const char *want, diag *d) {
    return diag_error(d, "%s: key '%s': type %s, expected %s", f->path, key, gguf_type_name(got), want);
}

static int is_unsigned(gguf_type t) { return t == GGUF_U8 || t == GGUF_U16 || t == GGUF_U32 || t == GGUF_U64; }
static int is_signed(gguf_type t) { return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64; }

int gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, diag *d) {
    const gguf_kv *kv = get(f, key, d);
    if (!kv) return -1;
    if (is_unsigned(kv->val.type)) *out = kv->val.u;
    else if (is_signed(kv->val.type) && kv->val.i >= 0) *out = (uint64_t)kv->val.i;
    else if (is_signed(kv->val.type)) return diag_error(d, "%s: key '%s': %lld is negative", f->path, key, (long long)kv->val.i);
    else return wrong_type(f, key, kv->val.type, "an integer", d);
    return 0;
}

int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, diag *d) {
    const gguf_kv *kv = get(f, key, d);
    if (!kv) return -1;
    if (is_signed(kv->val.type)) *out = kv->val.i;
    else if (is_unsigned(kv->val.type) && kv->val.u <= (uint64_t)INT64_MAX) *out = (int64_t)kv->val.u;
    else if (is_unsigned(kv->val.type)) return diag_error(d, "%s: key '%s': %llu does not fit i64", f->path, key, (unsigned long long)kv->val.u);
    else return wrong_type(f, key, kv->val.type, "an integer", d);
    return 0;
}

int gguf_get_f64(const gguf_file *f, const char *key, double *out, diag *d) {
    const gguf_kv *kv = get(f, key, d);
    if (!kv) return -1;
    if (kv->val.type != GGUF_F32 && kv->val.type != GGUF_F64) return wrong_type(f, key, kv->val.type, "f32 or f64", d);
    *out = kv->val.f;
    return 0;
}

int gguf_get_bool(const gguf_file *f, const char *key, bool *out, diag *d) {
    const gguf_kv *kv = get(f, key, d);
    if (!kv) return -1;
    if (kv->val.type != GGUF_BOOL) return wrong_type(f, key, kv->val.type, "bool", d);
    *out = kv->val.u != 0;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, diag *d) {
    const gguf_kv *kv = get(f, key, d);
    if (!kv) return -1;
    if (kv->val.type != GGUF_STRING) return wrong_type(f, key, kv->val.type, "string", d);
    *out = kv->val.s;
    return 0;
}

int gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem, uint64_t *n, const uint8_t **data, diag *d) {
    const gguf_kv *kv = get(f, key, d);
    if (!kv) return -1;
    if (kv->val.type != GGUF_ARRAY) return wrong_type(f, key, kv->val.type, "array", d);
    if (kv->val.arr.type != elem)
        return diag_error(d, "%s: key '%s': array of %s, expected an array of %s", f->path, key,
                          gguf_type_name(kv->val.arr.type), gguf_type_name(elem));
    *n = kv->val.arr.n;
    *data = kv->val.arr.data;
    return 0;
}

/* ---- array elements (bounds were checked at open) ------------------------ */

gguf_str gguf_arr_str(const uint8_t **cursor_) {
    gguf_str s;
    s.len = rd_le(*cursor_, 8);
    s.ptr = (const char *)*cursor_ + 8;
    *cursor_ += 8 + s.len;
    return s;
}

gguf_value gguf_arr_next(gguf_type elem, const uint8_t **cur) {
    gguf_value v;
    memset(&v, 0, sizeof v);
    v.type = elem;
    int sz = type_size(elem);
    if (elem == GGUF_STRING) {
        v.s = gguf_arr_str(cur);
    } else if (elem == GGUF_ARRAY) {
        v.arr.type = (gguf_type)rd_le(*cur, 4);
        v.arr.n = rd_le(*cur + 4, 8);
        v.arr.data = *cur + 12;
        *cur += 12;
        int esz = type_size(v.arr.type);
        if (esz > 0) *cur += v.arr.n * (uint64_t)esz;
        else
            for (uint64_t i = 0; i < v.arr.n; i++) (void)gguf_arr_next(v.arr.type, cur);
    } else if (sz > 0) {
        if (is_signed(elem)) v.i = gguf_arr_i64(elem, *cur, 0);
        else if (elem == GGUF_F32 || elem == GGUF_F64) v.f = gguf_arr_f64(elem, *cur, 0);
        else v.u = rd_le(*cur, sz);
        *cur += sz;
    }
    return v;
}

double gguf_arr_f64(gguf_type elem, const uint8_t *data, uint64_t i) {
    switch (elem) {
    case GGUF_F32: { uint32_t r = (uint32_t)rd_le(data + 4 * i, 4); float x; memcpy(&x, &r, 4); return x; }
    case GGUF_F64: { uint64_t r = rd_le(data + 8 * i, 8); double x; memcpy(&x, &r, 8); return x; }
    case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64: return (double)gguf_arr_i64(elem, data, i);
    default: { int sz = type_size(elem); return sz > 0 ? (double)rd_le(data + (uint64_t)sz * i, sz) : 0; }
    }
}

int64_t gguf_arr_i64(gguf_type elem, const uint8_t *data, uint64_t i) {
    int sz = type_size(elem);
    if (sz <= 0) return 0;
    uint64_t raw = rd_le(data + (uint64_t)sz * i, sz);
    switch (elem) {
    case GGUF_I8: return (int8_t)raw;
    case GGUF_I16: return (int16_t)raw;
    case GGUF_I32: return (int32_t)raw;
    case GGUF_I64: return (int64_t)raw;
    case GGUF_F32: case GGUF_F64: {
        double x = gguf_arr_f64(elem, data, i);
        return x > -9.2e18 && x < 9.2e18 ? (int64_t)x : 0; /* NaN and out of range: 0 */
    }
    default: return (int64_t)raw;
    }
}
