/* npy.c — NumPy .npy reader and writer of the runtime (see npy.h).
 *
 * A .npy file is a 6-byte magic, a 2-byte version, a little-endian header
 * length (u16 in format 1.0, u32 in 2.0 and 3.0), a Python dict literal
 * padded with spaces and ended by '\n', then the raw array bytes. The reader
 * checks the preamble, parses the dict with a small recursive-descent parser
 * that knows only the three keys numpy writes, computes the byte size of the
 * shape with overflow checks, and compares it with the bytes the file really
 * has before it allocates anything: a hostile header can make it fail, never
 * allocate more than the file holds, read past a buffer or crash. The writer
 * builds the header exactly as numpy.save does (numpy/lib/_format_impl.py:
 * _write_array_header and _wrap_header) so its files are byte-identical.
 *
 * Only C11 is used: stdio for files (ftell for the size, with a bounded
 * read-all fallback for pipes), aligned_alloc for the 64-byte aligned data,
 * fopen "wbx" + rename for the atomic write.
 */
#include "runtime/npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
#define NPY_GROWTH_AXIS_MAX_DIGITS 21 /* numpy's spare room after the dict */
#define NPY_DESCR_MAX 32

static const struct {
    const char *descr; /* little-endian, as numpy writes it */
    size_t size;
} dtype_info[NPY_DTYPE_COUNT] = {
    [NPY_F32] = {"<f4", 4}, [NPY_F64] = {"<f8", 8}, [NPY_F16] = {"<f2", 2},
    [NPY_I8] = {"|i1", 1},  [NPY_I16] = {"<i2", 2}, [NPY_I32] = {"<i4", 4},
    [NPY_I64] = {"<i8", 8}, [NPY_U8] = {"|u1", 1},  [NPY_U16] = {"<u2", 2},
    [NPY_U32] = {"<u4", 4}, [NPY_U64] = {"<u8", 8}, [NPY_BOOL] = {"|b1", 1},
};

size_t npy_dtype_size(npy_dtype t) {
    return (unsigned)t < NPY_DTYPE_COUNT ? dtype_info[t].size : 0;
}

const char *npy_dtype_descr(npy_dtype t) {
    return (unsigned)t < NPY_DTYPE_COUNT ? dtype_info[t].descr : "?";
}

int64_t npy_numel(const npy_array *a) {
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) n *= a->shape[i];
    return n;
}

void npy_free(npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

static int host_is_le(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...) {
    if (err && errlen) {
        int n = snprintf(err, errlen, "%s: ", name);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* "(3, 4)", "(5,)", "()" — the way Python prints a tuple. */
static const char *fmt_shape(char *buf, size_t cap, int rank, const int64_t *shape) {
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, rank == 1 ? ",)" : ")");
    return buf;
}

/* Byte size of a shape of elements of size elsize; -1 when it overflows size_t.
 * A zero dimension makes the whole array empty, whatever the others are. */
static int shape_nbytes(int rank, const int64_t *shape, size_t elsize, size_t *out) {
    for (int i = 0; i < rank; i++)
        if (shape[i] == 0) {
            *out = 0;
            return 0;
        }
    size_t n = elsize;
    for (int i = 0; i < rank; i++) {
        if ((uint64_t)shape[i] > SIZE_MAX / n) return -1;
        n *= (size_t)shape[i];
    }
    *out = n;
    return 0;
}

static void *alloc_aligned(size_t n) {
    size_t r = n ? n : 1;
    if (r > SIZE_MAX - (NPY_ALIGN - 1)) return NULL;
    r = (r + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    return aligned_alloc(NPY_ALIGN, r);
}

static void byteswap(void *data, size_t nbytes, size_t elsize) {
    unsigned char *p = data;
    for (size_t off = 0; off + elsize <= nbytes; off += elsize)
        for (size_t i = 0; i < elsize / 2; i++) {
            unsigned char t = p[off + i];
            p[off + i] = p[off + elsize - 1 - i];
            p[off + elsize - 1 - i] = t;
        }
}

/* ---- preamble ---------------------------------------------------------- */

typedef struct preamble {
    int major;
    size_t hstart; /* offset of the dict text */
    size_t hlen;   /* its length, padding and '\n' included */
} preamble;

/* b holds the first avail bytes of a file of total bytes (avail >= min(total, 12)). */
static int parse_preamble(const unsigned char *b, size_t avail, uint64_t total, const char *name,
                          preamble *pre, char *err, size_t errlen) {
    size_t m = avail < NPY_MAGIC_LEN ? avail : NPY_MAGIC_LEN;
    if (m && memcmp(b, NPY_MAGIC, m) != 0) return fail(err, errlen, name, "not a .npy file (bad magic)");
    if (avail < 8)
        return fail(err, errlen, name, "file ends inside the .npy preamble (%zu bytes)", avail);
    pre->major = b[6];
    if (!(b[6] >= 1 && b[6] <= 3 && b[7] == 0))
        return fail(err, errlen, name, "unsupported .npy format version %d.%d (1.0, 2.0, 3.0 are)",
                    b[6], b[7]);
    size_t lenlen = pre->major == 1 ? 2 : 4;
    if (avail < 8 + lenlen)
        return fail(err, errlen, name, "file ends inside the .npy preamble (%zu bytes)", avail);
    uint32_t hlen = (uint32_t)b[8] | (uint32_t)b[9] << 8;
    if (lenlen == 4) hlen |= (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
    pre->hstart = 8 + lenlen;
    pre->hlen = hlen;
    if (pre->hstart > total || hlen > total - pre->hstart)
        return fail(err, errlen, name, "header length %" PRIu32 " runs past the end of the file (%" PRIu64
                    " bytes)", hlen, total);
    return 0;
}

/* ---- header dict ----------------------------------------------------------- */

typedef struct header {
    npy_dtype dtype;
    int swap;                 /* file byte order differs from the host's */
    int rank;
    int64_t shape[NPY_MAX_RANK];
    char descr[NPY_DESCR_MAX]; /* as written in the file, for messages */
    size_t nbytes;
} header;

typedef struct parser {
    const char *s, *p, *end;
    const char *name;
    int py2; /* format 1.0/2.0: accept Python 2 long literals "3L" */
    char *err;
    size_t errlen;
} parser;

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int syntax(parser *ps, const char *what) {
    if (ps->p >= ps->end)
        return fail(ps->err, ps->errlen, ps->name, "header is not a valid dict: %s, found the end",
                    what);
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x20 && c < 0x7f)
        return fail(ps->err, ps->errlen, ps->name,
                    "header is not a valid dict: %s at offset %zu, found '%c'", what,
                    (size_t)(ps->p - ps->s), c);
    return fail(ps->err, ps->errlen, ps->name,
                "header is not a valid dict: %s at offset %zu, found byte 0x%02x", what,
                (size_t)(ps->p - ps->s), c);
}

static int expect(parser *ps, char c, const char *what) {
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return 0;
    }
    return syntax(ps, what);
}

/* A quoted string ('...' or "..."); copied NUL-terminated into out, cut to cap-1. */
static int parse_string(parser *ps, char *out, size_t cap, size_t *len) {
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"')) return syntax(ps, "expected a string");
    char q = *ps->p++;
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end || *ps->p == '\n')
            return fail(ps->err, ps->errlen, ps->name, "header has an unterminated string");
        char c = *ps->p++;
        if (c == q) break;
        if (c == '\\')
            return fail(ps->err, ps->errlen, ps->name,
                        "header string has an escape sequence (not supported)");
        if (n + 1 < cap) out[n] = c;
        n++;
    }
    out[n + 1 < cap ? n : cap - 1] = '\0';
    *len = n;
    return 0;
}

/* descr: [<>|=]? then f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1. '|' and '=' mean
 * "no byte order"/"native" for numpy; both read as the host's order. */
static int parse_descr(parser *ps, header *h) {
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '[')
        return fail(ps->err, ps->errlen, ps->name,
                    "header 'descr' is a list (structured dtypes are not supported)");
    size_t n;
    if (parse_string(ps, h->descr, sizeof h->descr, &n)) return -1;
    if (n >= sizeof h->descr)
        return fail(ps->err, ps->errlen, ps->name, "unsupported dtype descr '%s...'", h->descr);
    const char *d = h->descr;
    int file_le = host_is_le();
    if (*d == '<' || *d == '>') file_le = *d == '<';
    if (*d == '<' || *d == '>' || *d == '|' || *d == '=') d++;
    static const char *const kinds[NPY_DTYPE_COUNT] = {
        [NPY_F32] = "f4", [NPY_F64] = "f8", [NPY_F16] = "f2",  [NPY_I8] = "i1",
        [NPY_I16] = "i2", [NPY_I32] = "i4", [NPY_I64] = "i8",  [NPY_U8] = "u1",
        [NPY_U16] = "u2", [NPY_U32] = "u4", [NPY_U64] = "u8",  [NPY_BOOL] = "b1",
    };
    for (int t = 0; t < NPY_DTYPE_COUNT; t++)
        if (strcmp(d, kinds[t]) == 0) {
            h->dtype = (npy_dtype)t;
            h->swap = dtype_info[t].size > 1 && file_le != host_is_le();
            return 0;
        }
    if (*d == 'V')
        return fail(ps->err, ps->errlen, ps->name,
                    "unsupported dtype descr '%s' (raw bytes; ml_dtypes saves bfloat16 this way, "
                    "convert to float32 first)", h->descr);
    return fail(ps->err, ps->errlen, ps->name,
                "unsupported dtype descr '%s' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)",
                h->descr);
}

static int parse_bool(parser *ps, int *out) {
    skip_ws(ps);
    size_t left = (size_t)(ps->end - ps->p);
    const char *after = NULL;
    if (left >= 4 && memcmp(ps->p, "True", 4) == 0) *out = 1, after = ps->p + 4;
    else if (left >= 5 && memcmp(ps->p, "False", 5) == 0) *out = 0, after = ps->p + 5;
    if (after && (after == ps->end || !(after[0] == '_' || (after[0] >= '0' && after[0] <= '9') ||
                                        ((after[0] | 0x20) >= 'a' && (after[0] | 0x20) <= 'z')))) {
        ps->p = after;
        return 0;
    }
    return fail(ps->err, ps->errlen, ps->name, "header 'fortran_order' is not True or False");
}

static int is_delim(const parser *ps) {
    if (ps->p >= ps->end) return 1;
    char c = *ps->p;
    return c == ',' || c == ')' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int parse_shape(parser *ps, header *h) {
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '(')
        return fail(ps->err, ps->errlen, ps->name, "header 'shape' is not a tuple");
    ps->p++;
    int rank = 0, comma = 0;
    for (;;) {
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            break;
        }
        if (rank == NPY_MAX_RANK)
            return fail(ps->err, ps->errlen, ps->name,
                        "header 'shape' has more than %d dimensions", NPY_MAX_RANK);
        const char *start = ps->p;
        uint64_t v = 0;
        int big = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            unsigned dig = (unsigned)(*ps->p++ - '0');
            if (v > (uint64_t)(INT64_MAX - dig) / 10) big = 1;
            else v = v * 10 + dig;
        }
        if (ps->p > start && ps->py2 && ps->p < ps->end && (*ps->p == 'L' || *ps->p == 'l')) ps->p++;
        if (ps->p == start || !is_delim(ps))
            return fail(ps->err, ps->errlen, ps->name,
                        "header 'shape' entry %d is not a non-negative integer", rank);
        if (big)
            return fail(ps->err, ps->errlen, ps->name,
                        "header 'shape' entry %d is larger than %" PRId64, rank, INT64_MAX);
        h->shape[rank++] = (int64_t)v;
        skip_ws(ps);
        comma = 0;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            comma = 1;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            break;
        }
        return syntax(ps, "expected ',' or ')' in 'shape'");
    }
    if (rank == 1 && !comma)
        return fail(ps->err, ps->errlen, ps->name,
                    "header 'shape' is an integer in parentheses, not a tuple (write (%" PRId64 ",))",
                    h->shape[0]);
    h->rank = rank;
    return 0;
}

static int parse_header(const char *text, size_t len, int major, const char *name, header *h,
                        char *err, size_t errlen) {
    parser ps = {text, text, text + len, name, major < 3, err, errlen};
    memset(h, 0, sizeof *h);
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0, fortran = 0;
    if (expect(&ps, '{', "expected '{'")) return -1;
    for (;;) {
        skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == '}') {
            ps.p++;
            break;
        }
        char key[32];
        size_t klen;
        if (parse_string(&ps, key, sizeof key, &klen)) return -1;
        if (expect(&ps, ':', "expected ':' after a key")) return -1;
        int *seen = NULL;
        if (strcmp(key, "descr") == 0) seen = &seen_descr;
        else if (strcmp(key, "fortran_order") == 0) seen = &seen_fortran;
        else if (strcmp(key, "shape") == 0) seen = &seen_shape;
        else
            return fail(err, errlen, name, "header has an unknown key '%s%s'", key,
                        klen >= sizeof key ? "..." : "");
        if (*seen) return fail(err, errlen, name, "header has the key '%s' twice", key);
        *seen = 1;
        int rc = seen == &seen_descr     ? parse_descr(&ps, h)
                 : seen == &seen_fortran ? parse_bool(&ps, &fortran)
                                         : parse_shape(&ps, h);
        if (rc) return -1;
        skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == ',') {
            ps.p++;
            continue;
        }
        if (ps.p < ps.end && *ps.p == '}') {
            ps.p++;
            break;
        }
        return syntax(&ps, "expected ',' or '}'");
    }
    skip_ws(&ps);
    if (ps.p != ps.end) return syntax(&ps, "expected only padding after '}'");
    if (!seen_descr) return fail(err, errlen, name, "header has no 'descr' key");
    if (!seen_fortran) return fail(err, errlen, name, "header has no 'fortran_order' key");
    if (!seen_shape) return fail(err, errlen, name, "header has no 'shape' key");
    if (fortran)
        return fail(err, errlen, name,
                    "fortran_order is True (not supported; save np.ascontiguousarray(a) instead)");
    if (shape_nbytes(h->rank, h->shape, dtype_info[h->dtype].size, &h->nbytes)) {
        char sb[512];
        return fail(err, errlen, name, "shape %s of %s is too large to address",
                    fmt_shape(sb, sizeof sb, h->rank, h->shape), h->descr);
    }
    return 0;
}

static int check_data_size(const header *h, uint64_t have, const char *name, char *err,
                           size_t errlen) {
    if (have == h->nbytes) return 0;
    char sb[512];
    return fail(err, errlen, name, "data has %" PRIu64 " bytes, shape %s of %s needs %zu", have,
                fmt_shape(sb, sizeof sb, h->rank, h->shape), h->descr, h->nbytes);
}

static void fill_out(npy_array *out, const header *h, void *data) {
    out->dtype = h->dtype;
    out->rank = h->rank;
    memcpy(out->shape, h->shape, sizeof out->shape);
    out->data = data;
    out->nbytes = h->nbytes;
    if (h->swap) byteswap(data, h->nbytes, dtype_info[h->dtype].size);
}

/* ---- reading --------------------------------------------------------------- */

int npy_read_mem(const void *buf, size_t len, const char *name, npy_array *out, char *err,
                 size_t errlen) {
    const unsigned char *b = buf;
    if (!name) name = "<memory>";
    memset(out, 0, sizeof *out);
    if (!b && len) return fail(err, errlen, name, "no buffer");
    preamble pre;
    if (parse_preamble(b, len, len, name, &pre, err, errlen)) return -1;
    header h;
    if (parse_header((const char *)b + pre.hstart, pre.hlen, pre.major, name, &h, err, errlen))
        return -1;
    size_t off = pre.hstart + pre.hlen;
    if (check_data_size(&h, len - off, name, err, errlen)) return -1;
    void *data = alloc_aligned(h.nbytes);
    if (!data) return fail(err, errlen, name, "out of memory for %zu bytes", h.nbytes);
    if (h.nbytes) memcpy(data, b + off, h.nbytes);
    fill_out(out, &h, data);
    return 0;
}

/* For what cannot seek (a pipe): read everything, growing the buffer at most
 * to twice what has arrived, then parse it from memory. */
static int read_stream(FILE *f, unsigned char *head, size_t nhead, const char *path,
                       npy_array *out, char *err, size_t errlen) {
    size_t cap = 1 << 16, n = nhead;
    unsigned char *buf = malloc(cap);
    if (!buf) return fail(err, errlen, path, "out of memory");
    memcpy(buf, head, nhead);
    for (;;) {
        if (n == cap) {
            unsigned char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                return fail(err, errlen, path, "out of memory reading the stream");
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int rc = ferror(f) ? fail(err, errlen, path, "read error")
                       : npy_read_mem(buf, n, path, out, err, errlen);
    free(buf);
    return rc;
}

int npy_read_file(const char *path, npy_array *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, path, "cannot open: %s", strerror(errno));
    unsigned char head[12];
    size_t nhead = fread(head, 1, sizeof head, f);
    long end = -1;
    if (fseek(f, 0, SEEK_END) == 0) end = ftell(f);
    if (end < 0) {
        int rc = read_stream(f, head, nhead, path, out, err, errlen);
        fclose(f);
        return rc;
    }
    uint64_t total = (uint64_t)end;
    int rc = -1;
    char *text = NULL;
    void *data = NULL;
    preamble pre;
    header h;
    if (parse_preamble(head, nhead, total, path, &pre, err, errlen)) goto done;
    /* pre.hlen <= total - pre.hstart: the header fits in the file. */
    text = malloc(pre.hlen ? pre.hlen : 1);
    if (!text) {
        fail(err, errlen, path, "out of memory for the header");
        goto done;
    }
    if (fseek(f, (long)pre.hstart, SEEK_SET) != 0 || fread(text, 1, pre.hlen, f) != pre.hlen) {
        fail(err, errlen, path, "read error in the header");
        goto done;
    }
    if (parse_header(text, pre.hlen, pre.major, path, &h, err, errlen)) goto done;
    if (check_data_size(&h, total - pre.hstart - pre.hlen, path, err, errlen)) goto done;
    data = alloc_aligned(h.nbytes);
    if (!data) {
        fail(err, errlen, path, "out of memory for %zu bytes", h.nbytes);
        goto done;
    }
    if (h.nbytes && fread(data, 1, h.nbytes, f) != h.nbytes) {
        fail(err, errlen, path, "read error in the data (did the file change?)");
        goto done;
    }
    fill_out(out, &h, data);
    data = NULL;
    rc = 0;
done:
    free(data);
    free(text);
    fclose(f);
    return rc;
}

/* ---- writing --------------------------------------------------------------- */

/* The preamble and header numpy.save writes for a; returns its length, 0 on error.
 * hdr must hold 1024 bytes: 16 dims of 19 digits fit easily. */
static size_t build_header(const npy_array *a, unsigned char *hdr, size_t cap, const char *name,
                           char *err, size_t errlen) {
    if ((unsigned)a->dtype >= NPY_DTYPE_COUNT)
        return fail(err, errlen, name, "invalid dtype %d", (int)a->dtype), 0;
    if (a->rank < 0 || a->rank > NPY_MAX_RANK)
        return fail(err, errlen, name, "rank %d is outside 0..%d", a->rank, NPY_MAX_RANK), 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] < 0)
            return fail(err, errlen, name, "shape entry %d is negative (%" PRId64 ")", i,
                        a->shape[i]), 0;
    char sb[512], descr[4];
    size_t need;
    fmt_shape(sb, sizeof sb, a->rank, a->shape);
    memcpy(descr, dtype_info[a->dtype].descr, 4);
    if (descr[0] == '<' && !host_is_le()) descr[0] = '>';
    if (shape_nbytes(a->rank, a->shape, dtype_info[a->dtype].size, &need))
        return fail(err, errlen, name, "shape %s of %s is too large to address", sb, descr), 0;
    if (a->nbytes != need)
        return fail(err, errlen, name, "array has %zu bytes, shape %s of %s needs %zu", a->nbytes,
                    sb, descr, need), 0;
    if (need && !a->data) return fail(err, errlen, name, "array has no data"), 0;

    char dict[640];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, sb);
    if (a->rank > 0) { /* room to grow the first axis in place, as numpy leaves */
        char digits[24];
        int pad = NPY_GROWTH_AXIS_MAX_DIGITS - snprintf(digits, sizeof digits, "%" PRId64, a->shape[0]);
        for (; pad > 0; pad--) dict[n++] = ' ';
    }
    size_t dlen = (size_t)n, hlen = dlen + 1, lenlen = 2;
    size_t padlen = NPY_ALIGN - (8 + lenlen + hlen) % NPY_ALIGN;
    if (hlen + padlen > 65535) { /* format 2.0, as numpy does; unreachable for rank <= 16 */
        lenlen = 4;
        padlen = NPY_ALIGN - (8 + lenlen + hlen) % NPY_ALIGN;
    }
    size_t total = 8 + lenlen + hlen + padlen;
    if (total > cap) return fail(err, errlen, name, "header too long"), 0;
    memcpy(hdr, NPY_MAGIC, NPY_MAGIC_LEN);
    hdr[6] = lenlen == 2 ? 1 : 2;
    hdr[7] = 0;
    uint32_t hl = (uint32_t)(hlen + padlen);
    for (size_t i = 0; i < lenlen; i++) hdr[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(hdr + 8 + lenlen, dict, dlen);
    memset(hdr + 8 + lenlen + dlen, ' ', padlen);
    hdr[total - 1] = '\n';
    return total;
}

int npy_write_mem(const npy_array *a, void **buf, size_t *len, char *err, size_t errlen) {
    unsigned char hdr[1024];
    *buf = NULL;
    *len = 0;
    size_t hn = build_header(a, hdr, sizeof hdr, "<memory>", err, errlen);
    if (!hn) return -1;
    if (a->nbytes > SIZE_MAX - hn) return fail(err, errlen, "<memory>", "array too large");
    unsigned char *b = malloc(hn + a->nbytes);
    if (!b) return fail(err, errlen, "<memory>", "out of memory for %zu bytes", hn + a->nbytes);
    memcpy(b, hdr, hn);
    if (a->nbytes) memcpy(b + hn, a->data, a->nbytes);
    *buf = b;
    *len = hn + a->nbytes;
    return 0;
}

int npy_write_file(const char *path, const npy_array *a, char *err, size_t errlen) {
    unsigned char hdr[1024];
    size_t hn = build_header(a, hdr, sizeof hdr, path, err, errlen);
    if (!hn) return -1;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return fail(err, errlen, path, "out of memory");
    /* A name beside the target (same file system, so rename is atomic), made
     * unique with "x" (exclusive create) and a few tries. */
    static unsigned counter;
    uintptr_t salt = (uintptr_t)&hn ^ (uintptr_t)tmp;
    FILE *f = NULL;
    int saved = 0;
    for (int attempt = 0; attempt < 100 && !f; attempt++) {
        unsigned long id = (unsigned long)(salt ^ (uintptr_t)clock() * 2654435761u) +
                           (unsigned long)counter++ * 40503u;
        snprintf(tmp, plen + 32, "%s.tmp%08lx", path, id & 0xffffffffUL);
        errno = 0;
        f = fopen(tmp, "wbx");
        saved = errno;
        if (!f && saved != EEXIST) break;
    }
    if (!f) {
        fail(err, errlen, path, "cannot create a temporary file beside it: %s", strerror(saved));
        free(tmp);
        return -1;
    }
    errno = 0;
    int ok = fwrite(hdr, 1, hn, f) == hn;
    if (ok && a->nbytes) ok = fwrite(a->data, 1, a->nbytes, f) == a->nbytes;
    if (ok && fflush(f) != 0) ok = 0;
    saved = errno;
    if (fclose(f) != 0 && ok) ok = 0, saved = errno;
    if (!ok) {
        remove(tmp);
        free(tmp);
        return fail(err, errlen, path, "write failed: %s", strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        remove(tmp);
        free(tmp);
        return fail(err, errlen, path, "cannot rename the temporary file over it: %s",
                    strerror(saved));
    }
    free(tmp);
    return 0;
}
