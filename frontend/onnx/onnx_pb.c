/* onnx_pb.c — hand-written protobuf decoder for ONNX files (see onnx_pb.h).
 *
 * Protobuf wire format in brief: a message is a sequence of fields, each a
 * varint tag (field number << 3 | wire type) followed by a value: a varint
 * (wire type 0), 8 bytes (1), a varint length and that many bytes (2: strings,
 * bytes, sub-messages, packed repeated numbers) or 4 bytes (5). Wire types 3
 * and 4 (groups) are not used by ONNX and are rejected.
 *
 * Each message is decoded in two passes over its bytes. Pass 1 (pb_scan)
 * checks every tag, varint and length against the bytes left, checks the wire
 * type of every known field, and counts the elements of each repeated field
 * (packed runs included). Arrays are then allocated at their exact size, and
 * pass 2 (the dec_* functions) fills them, descending into sub-messages. A
 * message's bytes are therefore read twice, sub-messages are skipped in the
 * first pass, and no allocation is sized from an unchecked number.
 *
 * A pb_frame chain on the C stack names where the decoder is (for messages)
 * and counts the nesting depth (recursion: a graph attribute holds a graph).
 */
#include "frontend/onnx/onnx_pb.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

/* ---- wire-format reading ---------------------------------------------- */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* Field kinds of the message descriptors. */
enum { F_NONE = 0, F_VARINT, F_FIXED32, F_FIXED64, F_BYTES, F_MSG };

#define PB_NF 32 /* field numbers of interest are all below this */
#define PB_NOINDEX ((size_t)-1)
#define PB_MAX_FIELDNUM ((1u << 29) - 1)

typedef struct pb_fdesc {
    uint8_t kind, rep;
    const char *name;
} pb_fdesc;

typedef struct pb_mdesc {
    const char *name; /* message type, for messages */
    pb_fdesc f[PB_NF];
} pb_mdesc;

typedef struct pb_frame {
    const struct pb_frame *up;
    const char *name; /* message type at the root, field name below */
    size_t index;     /* element of a repeated field, or PB_NOINDEX */
    int depth;
} pb_frame;

typedef struct pb_ctx {
    const uint8_t *base, *fend; /* the whole file */
    const char *path;
    const char *file; /* arena copy of path, stored in tensors */
    arena *a;
    diag *d;
} pb_ctx;

typedef struct pb_field {
    uint32_t num, wt;
    const uint8_t *at;   /* where the tag starts */
    uint64_t v;          /* varint value, or fixed32/fixed64 bits */
    const uint8_t *data; /* WT_LEN payload */
    size_t len;
} pb_field;

static const char pb_empty[] = "";

/* "ModelProto.graph.node[3].attribute[1]" (+ ".field[i]") into buf. */
static void pb_trail(char *buf, size_t cap, const pb_frame *fr, const char *field, size_t index) {
    const pb_frame *chain[ONNX_PB_MAX_DEPTH + 8];
    size_t n = 0, len = 0;
    for (const pb_frame *f = fr; f && n < sizeof chain / sizeof chain[0]; f = f->up) chain[n++] = f;
    buf[0] = 0;
    for (size_t k = n; k-- > 0;) {
        const pb_frame *f = chain[k];
        int w = (f->index == PB_NOINDEX)
                    ? snprintf(buf + len, cap - len, "%s%s", len ? "." : "", f->name)
                    : snprintf(buf + len, cap - len, "%s%s[%zu]", len ? "." : "", f->name, f->index);
        if (w < 0 || (size_t)w >= cap - len) return;
        len += (size_t)w;
    }
    if (field) {
        if (index == PB_NOINDEX) snprintf(buf + len, cap - len, "%s%s", len ? "." : "", field);
        else snprintf(buf + len, cap - len, "%s%s[%zu]", len ? "." : "", field, index);
    }
}

__attribute__((format(printf, 6, 7))) static int pb_error(pb_ctx *c, const uint8_t *at, const pb_frame *fr,
                                                          const char *field, size_t index, const char *fmt, ...) {
    char trail[1024], msg[1024];
    pb_trail(trail, sizeof trail, fr, field, index);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return diag_error(c->d, "%s: byte %zu: %s: %s", c->path, (size_t)(at - c->base), trail, msg);
}

static int pb_oom(pb_ctx *c, const uint8_t *at, const pb_frame *fr, const char *field) {
    return pb_error(c, at, fr, field, PB_NOINDEX, "out of memory (or array over 4 GiB)");
}

static const char *pb_where(const pb_ctx *c, const uint8_t *end) {
    return end == c->fend ? "end of file" : "end of enclosing message";
}

/* Reads one varint at *pp, which must stay below end. */
static int pb_varint(pb_ctx *c, const uint8_t **pp, const uint8_t *end, uint64_t *out, const pb_frame *fr,
                     const char *field, size_t index) {
    const uint8_t *p = *pp, *start = p;
    uint64_t v = 0;
    for (int i = 0;; i++) {
        if (p >= end)
            return pb_error(c, start, fr, field, index, "varint truncated by %s", pb_where(c, end));
        uint8_t b = *p++;
        if (i == 9) {
            if (b & 0x80) return pb_error(c, start, fr, field, index, "varint longer than 10 bytes");
            if (b > 1) return pb_error(c, start, fr, field, index, "varint overflows 64 bits");
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) break;
    }
    *pp = p;
    *out = v;
    return 0;
}

static uint64_t pb_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n; i-- > 0;) v = v << 8 | p[i];
    return v;
}

static const char *pb_wt_name(uint32_t wt) {
    switch (wt) {
    case WT_VARINT: return "varint";
    case WT_I64: return "64-bit";
    case WT_LEN: return "length-delimited";
    case WT_I32: return "32-bit";
    default: return "invalid";
    }
}

static const pb_fdesc *pb_lookup(const pb_mdesc *m, uint32_t num) {
    return (num < PB_NF && m->f[num].kind != F_NONE) ? &m->f[num] : NULL;
}

/* Reads the next field of the message [*pp, end); 1 = a field, 0 = end. */
static int pb_next(pb_ctx *c, const uint8_t **pp, const uint8_t *end, const pb_mdesc *m, const pb_frame *fr,
                   pb_field *f) {
    const uint8_t *p = *pp;
    if (p >= end) return 0;
    f->at = p;
    uint64_t tag;
    if (pb_varint(c, &p, end, &tag, fr, NULL, PB_NOINDEX)) return -1;
    if ((tag >> 3) == 0 || (tag >> 3) > PB_MAX_FIELDNUM)
        return pb_error(c, f->at, fr, NULL, PB_NOINDEX, "invalid field number %" PRIu64, tag >> 3);
    f->num = (uint32_t)(tag >> 3);
    f->wt = (uint32_t)(tag & 7);
    f->v = 0;
    f->data = p; /* a valid pointer even for non-length-delimited fields */
    f->len = 0;
    char unk[32];
    const pb_fdesc *fd = pb_lookup(m, f->num);
    const char *name = fd ? fd->name : (snprintf(unk, sizeof unk, "field %u", f->num), unk);
    size_t left;
    switch (f->wt) {
    case WT_VARINT:
        if (pb_varint(c, &p, end, &f->v, fr, name, PB_NOINDEX)) return -1;
        break;
    case WT_I64:
    case WT_I32: {
        size_t n = f->wt == WT_I64 ? 8 : 4;
        if ((size_t)(end - p) < n)
            return pb_error(c, f->at, fr, name, PB_NOINDEX, "%zu-byte value truncated by %s", n, pb_where(c, end));
        f->v = pb_le(p, (int)n);
        p += n;
        break;
    }
    case WT_LEN: {
        uint64_t len;
        const uint8_t *lat = p;
        if (pb_varint(c, &p, end, &len, fr, name, PB_NOINDEX)) return -1;
        left = (size_t)(end - p);
        if (len > left) {
            if (len > (uint64_t)(c->fend - p))
                return pb_error(c, lat, fr, name, PB_NOINDEX, "length %" PRIu64 " past end of file", len);
            return pb_error(c, lat, fr, name, PB_NOINDEX,
                            "length %" PRIu64 " past end of enclosing message (%zu bytes left)", len, left);
        }
        f->data = p;
        f->len = (size_t)len;
        p += len;
        break;
    }
    case WT_SGROUP:
    case WT_EGROUP:
        return pb_error(c, f->at, fr, name, PB_NOINDEX, "groups (wire type %u) are not supported", f->wt);
    default:
        return pb_error(c, f->at, fr, name, PB_NOINDEX, "invalid wire type %u", f->wt);
    }
    *pp = p;
    return 1;
}

/* Pass 1: validate the message [p, end) and count each known field's
 * elements into cnt[field number]. */
static int pb_scan(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_mdesc *m, const pb_frame *fr,
                   size_t cnt[PB_NF]) {
    memset(cnt, 0, sizeof(size_t) * PB_NF);
    if (fr->depth > ONNX_PB_MAX_DEPTH)
        return pb_error(c, p, fr, NULL, PB_NOINDEX, "messages nested deeper than %d levels", ONNX_PB_MAX_DEPTH);
    pb_field f;
    int r;
    while ((r = pb_next(c, &p, end, m, fr, &f)) > 0) {
        const pb_fdesc *fd = pb_lookup(m, f.num);
        if (!fd) continue; /* unknown field: skipped by wire type */
        size_t idx = fd->rep ? cnt[f.num] : PB_NOINDEX;
        uint32_t want;
        switch (fd->kind) {
        case F_VARINT: want = WT_VARINT; break;
        case F_FIXED32: want = WT_I32; break;
        case F_FIXED64: want = WT_I64; break;
        default: want = WT_LEN; break;
        }
        if (f.wt == want) {
            if (fd->kind == F_MSG && !fd->rep && cnt[f.num] > 0)
                return pb_error(c, f.at, fr, fd->name, idx,
                                "message field given twice (merging is not supported)");
            cnt[f.num]++;
        } else if (f.wt == WT_LEN && fd->rep && want != WT_LEN) { /* packed */
            size_t n = 0;
            if (want == WT_VARINT) {
                const uint8_t *q = f.data, *qe = f.data + f.len;
                uint64_t v;
                while (q < qe) {
                    if (pb_varint(c, &q, qe, &v, fr, fd->name, cnt[f.num] + n)) return -1;
                    n++;
                }
            } else {
                size_t w = want == WT_I32 ? 4 : 8;
                if (f.len % w)
                    return pb_error(c, f.data, fr, fd->name, PB_NOINDEX,
                                    "packed length %zu is not a multiple of %zu", f.len, w);
                n = f.len / w;
            }
            cnt[f.num] += n;
        } else {
            return pb_error(c, f.at, fr, fd->name, idx, "wire type %u (%s), expected %u (%s)%s", f.wt,
                            pb_wt_name(f.wt), want, pb_wt_name(want),
                            fd->rep && want != WT_LEN ? " or 2 (packed)" : "");
        }
    }
    return r;
}

enum { N_I64, N_U64, N_I32, N_F32, N_F64 };

/* Pass 2: append one occurrence (packed or not) of a repeated numeric field. */
static int pb_rep_num(pb_ctx *c, const pb_field *f, const pb_frame *fr, const char *name, int ty, void *arr,
                      size_t *n, size_t cap) {
    int single = f->wt != WT_LEN;
    const uint8_t *q = single ? NULL : f->data, *qe = single ? NULL : f->data + f->len;
    while (single || q < qe) {
        uint64_t v;
        if (single) {
            v = f->v;
        } else if (ty == N_F32 || ty == N_F64) {
            size_t w = ty == N_F32 ? 4 : 8;
            if ((size_t)(qe - q) < w)
                return pb_error(c, q, fr, name, *n, "packed length %zu is not a multiple of %zu", f->len, w);
            v = pb_le(q, (int)w);
            q += w;
        } else if (pb_varint(c, &q, qe, &v, fr, name, *n)) {
            return -1;
        }
        if (*n >= cap) return pb_error(c, f->at, fr, name, *n, "internal error: count changed between passes");
        switch (ty) {
        case N_I64: ((int64_t *)arr)[*n] = (int64_t)v; break;
        case N_U64: ((uint64_t *)arr)[*n] = v; break;
        case N_I32: ((int32_t *)arr)[*n] = (int32_t)(uint32_t)v; break;
        case N_F32: {
            uint32_t b = (uint32_t)v;
            memcpy((float *)arr + *n, &b, 4);
            break;
        }
        default: memcpy((double *)arr + *n, &v, 8); break;
        }
        (*n)++;
        if (single) break;
    }
    return 0;
}

/* Whether s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF), as protobuf requires of string fields. */
static bool valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + len > n) return false;
        uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1fu) : len == 3 ? (b & 0x0fu) : (b & 0x07u);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

/* A string field as a NUL-terminated arena copy; names must not hold NULs
 * and must be UTF-8 (messages repeat them). */
static int pb_cstr(pb_ctx *c, const pb_field *f, const pb_frame *fr, const char *name, size_t index,
                   const char **out) {
    if (f->len == 0) {
        *out = pb_empty;
        return 0;
    }
    if (memchr(f->data, 0, f->len)) return pb_error(c, f->data, fr, name, index, "string contains a NUL byte");
    if (!valid_utf8(f->data, f->len)) return pb_error(c, f->data, fr, name, index, "string is not valid UTF-8");
    char *s = arena_strndup(c->a, (const char *)f->data, f->len);
    if (!s) return pb_oom(c, f->at, fr, name);
    *out = s;
    return 0;
}

static int pb_bstr(pb_ctx *c, const pb_field *f, const pb_frame *fr, const char *name, onnx_string *out) {
    char *s = arena_strndup(c->a, (const char *)f->data, f->len);
    if (!s) return pb_oom(c, f->at, fr, name);
    out->str = s;
    out->len = f->len;
    return 0;
}

/* Allocate a counted array (NULL when the count is 0). */
#define PB_ARRAY(ptr, n, at, fr, fname)                                                     \
    do {                                                                                    \
        if ((n) && !((ptr) = arena_array(c->a, (n), sizeof *(ptr)))) return pb_oom(c, at, fr, fname); \
    } while (0)

/* Bounds-checked slot of a pass-1-sized array. */
#define PB_SLOT(arr, n, cap, f, fr, fname)                                                         \
    do {                                                                                           \
        if ((n) >= (cap))                                                                          \
            return pb_error(c, (f).at, fr, fname, n, "internal error: count changed between passes"); \
    } while (0)

#define PB_SUB(var, parent, fname, idx) pb_frame var = {(parent), (fname), (idx), (parent)->depth + 1}

/* ---- message descriptors (field numbers from onnx/onnx.in.proto) ---------- */

static const pb_mdesc d_model = {"ModelProto", {
    [1] = {F_VARINT, 0, "ir_version"}, [2] = {F_BYTES, 0, "producer_name"},
    [3] = {F_BYTES, 0, "producer_version"}, [4] = {F_BYTES, 0, "domain"},
    [5] = {F_VARINT, 0, "model_version"}, [6] = {F_BYTES, 0, "doc_string"},
    [7] = {F_MSG, 0, "graph"}, [8] = {F_MSG, 1, "opset_import"},
    [14] = {F_MSG, 1, "metadata_props"}, [20] = {F_MSG, 1, "training_info"},
    [25] = {F_MSG, 1, "functions"}, [26] = {F_MSG, 1, "configuration"}}};

static const pb_mdesc d_opset = {"OperatorSetIdProto", {
    [1] = {F_BYTES, 0, "domain"}, [2] = {F_VARINT, 0, "version"}}};

static const pb_mdesc d_entry = {"StringStringEntryProto", {
    [1] = {F_BYTES, 0, "key"}, [2] = {F_BYTES, 0, "value"}}};

static const pb_mdesc d_graph = {"GraphProto", {
    [1] = {F_MSG, 1, "node"}, [2] = {F_BYTES, 0, "name"},
    [5] = {F_MSG, 1, "initializer"}, [15] = {F_MSG, 1, "sparse_initializer"},
    [10] = {F_BYTES, 0, "doc_string"}, [11] = {F_MSG, 1, "input"},
    [12] = {F_MSG, 1, "output"}, [13] = {F_MSG, 1, "value_info"},
    [14] = {F_MSG, 1, "quantization_annotation"}, [16] = {F_MSG, 1, "metadata_props"}}};

static const pb_mdesc d_node = {"NodeProto", {
    [1] = {F_BYTES, 1, "input"}, [2] = {F_BYTES, 1, "output"}, [3] = {F_BYTES, 0, "name"},
    [4] = {F_BYTES, 0, "op_type"}, [7] = {F_BYTES, 0, "domain"}, [8] = {F_BYTES, 0, "overload"},
    [5] = {F_MSG, 1, "attribute"}, [6] = {F_BYTES, 0, "doc_string"},
    [9] = {F_MSG, 1, "metadata_props"}, [10] = {F_MSG, 1, "device_configurations"}}};

static const pb_mdesc d_attr = {"AttributeProto", {
    [1] = {F_BYTES, 0, "name"}, [21] = {F_BYTES, 0, "ref_attr_name"},
    [13] = {F_BYTES, 0, "doc_string"}, [20] = {F_VARINT, 0, "type"},
    [2] = {F_FIXED32, 0, "f"}, [3] = {F_VARINT, 0, "i"}, [4] = {F_BYTES, 0, "s"},
    [5] = {F_MSG, 0, "t"}, [6] = {F_MSG, 0, "g"}, [22] = {F_MSG, 0, "sparse_tensor"},
    [14] = {F_MSG, 0, "tp"}, [7] = {F_FIXED32, 1, "floats"}, [8] = {F_VARINT, 1, "ints"},
    [9] = {F_BYTES, 1, "strings"}, [10] = {F_MSG, 1, "tensors"}, [11] = {F_MSG, 1, "graphs"},
    [23] = {F_MSG, 1, "sparse_tensors"}, [15] = {F_MSG, 1, "type_protos"}}};

static const pb_mdesc d_value_info = {"ValueInfoProto", {
    [1] = {F_BYTES, 0, "name"}, [2] = {F_MSG, 0, "type"}, [3] = {F_BYTES, 0, "doc_string"},
    [4] = {F_MSG, 1, "metadata_props"}}};

static const pb_mdesc d_tensor = {"TensorProto", {
    [1] = {F_VARINT, 1, "dims"}, [2] = {F_VARINT, 0, "data_type"}, [3] = {F_MSG, 0, "segment"},
    [4] = {F_FIXED32, 1, "float_data"}, [5] = {F_VARINT, 1, "int32_data"},
    [6] = {F_BYTES, 1, "string_data"}, [7] = {F_VARINT, 1, "int64_data"}, [8] = {F_BYTES, 0, "name"},
    [12] = {F_BYTES, 0, "doc_string"}, [9] = {F_BYTES, 0, "raw_data"},
    [13] = {F_MSG, 1, "external_data"}, [14] = {F_VARINT, 0, "data_location"},
    [10] = {F_FIXED64, 1, "double_data"}, [11] = {F_VARINT, 1, "uint64_data"},
    [16] = {F_MSG, 1, "metadata_props"}}};

static const pb_mdesc d_sparse = {"SparseTensorProto", {
    [1] = {F_MSG, 0, "values"}, [2] = {F_MSG, 0, "indices"}, [3] = {F_VARINT, 1, "dims"}}};

static const pb_mdesc d_shape = {"TensorShapeProto", {[1] = {F_MSG, 1, "dim"}}};

static const pb_mdesc d_dim = {"Dimension", {
    [1] = {F_VARINT, 0, "dim_value"}, [2] = {F_BYTES, 0, "dim_param"}, [3] = {F_BYTES, 0, "denotation"}}};

static const pb_mdesc d_type = {"TypeProto", {
    [1] = {F_MSG, 0, "tensor_type"}, [4] = {F_MSG, 0, "sequence_type"}, [5] = {F_MSG, 0, "map_type"},
    [9] = {F_MSG, 0, "optional_type"}, [8] = {F_MSG, 0, "sparse_tensor_type"},
    [7] = {F_MSG, 0, "opaque_type"}, [6] = {F_BYTES, 0, "denotation"}}};

/* TypeProto.Tensor and TypeProto.SparseTensor */
static const pb_mdesc d_type_tensor = {"TypeProto.Tensor", {
    [1] = {F_VARINT, 0, "elem_type"}, [2] = {F_MSG, 0, "shape"}}};

/* TypeProto.Sequence and TypeProto.Optional */
static const pb_mdesc d_type_seq = {"TypeProto.Sequence", {[1] = {F_MSG, 0, "elem_type"}}};

static const pb_mdesc d_type_map = {"TypeProto.Map", {
    [1] = {F_VARINT, 0, "key_type"}, [2] = {F_MSG, 0, "value_type"}}};

static const pb_mdesc d_type_opaque = {"TypeProto.Opaque", {
    [1] = {F_BYTES, 0, "domain"}, [2] = {F_BYTES, 0, "name"}}};

static const pb_mdesc d_function = {"FunctionProto", {
    [1] = {F_BYTES, 0, "name"}, [4] = {F_BYTES, 1, "input"}, [5] = {F_BYTES, 1, "output"},
    [6] = {F_BYTES, 1, "attribute"}, [11] = {F_MSG, 1, "attribute_proto"}, [7] = {F_MSG, 1, "node"},
    [8] = {F_BYTES, 0, "doc_string"}, [9] = {F_MSG, 1, "opset_import"}, [10] = {F_BYTES, 0, "domain"},
    [13] = {F_BYTES, 0, "overload"}, [12] = {F_MSG, 1, "value_info"}, [14] = {F_MSG, 1, "metadata_props"}}};

/* Decoding a field of one of the above: loop over the message with pass 2. */
#define PB_FOREACH(p, end, desc, fr, f)                               \
    for (const uint8_t *pb_p_ = (p); (pb_r_ = pb_next(c, &pb_p_, (end), (desc), (fr), &(f))) > 0;)

/* ---- data types ------------------------------------------------------- */

int onnx_dtype_bits(int32_t dt) {
    switch (dt) {
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 32;
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: case ONNX_FLOAT8E4M3FN: case ONNX_FLOAT8E4M3FNUZ:
    case ONNX_FLOAT8E5M2: case ONNX_FLOAT8E5M2FNUZ: case ONNX_FLOAT8E8M0: return 8;
    case ONNX_UINT16: case ONNX_INT16: case ONNX_FLOAT16: case ONNX_BFLOAT16: return 16;
    case ONNX_INT64: case ONNX_DOUBLE: case ONNX_UINT64: case ONNX_COMPLEX64: return 64;
    case ONNX_COMPLEX128: return 128;
    case ONNX_UINT4: case ONNX_INT4: case ONNX_FLOAT4E2M1: return 4;
    case ONNX_UINT2: case ONNX_INT2: return 2;
    default: return 0; /* STRING, UNDEFINED, unknown */
    }
}

const char *onnx_dtype_name(int32_t dt) {
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
        "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
        "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4",
        "FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2"};
    return (dt >= 0 && (size_t)dt < sizeof names / sizeof names[0]) ? names[dt] : "UNKNOWN";
}

static int nbytes_for(int32_t dt, uint64_t numel, uint64_t *out) {
    int bits = onnx_dtype_bits(dt);
    if (bits == 0) return -1;
    if (bits < 8) {
        uint64_t per = (uint64_t)(8 / bits);
        *out = numel / per + (numel % per != 0);
        return 0;
    }
    return checked_mul_u64(numel, (uint64_t)(bits / 8), out);
}

int onnx_tensor_nbytes(const onnx_tensor *t, uint64_t *nbytes) {
    return nbytes_for(t->data_type, t->numel, nbytes);
}

/* Which typed field holds a data type's elements, and how many entries
 * numel elements take there. */
enum { TF_NONE, TF_FLOAT, TF_INT32, TF_STRING, TF_INT64, TF_DOUBLE, TF_UINT64 };

static int typed_field(int32_t dt, uint64_t numel, uint64_t *entries) {
    *entries = numel;
    switch (dt) {
    case ONNX_FLOAT: return TF_FLOAT;
    case ONNX_COMPLEX64: *entries = numel * 2; return TF_FLOAT;
    case ONNX_DOUBLE: return TF_DOUBLE;
    case ONNX_COMPLEX128: *entries = numel * 2; return TF_DOUBLE;
    case ONNX_INT64: return TF_INT64;
    case ONNX_UINT32: case ONNX_UINT64: return TF_UINT64;
    case ONNX_STRING: return TF_STRING;
    case ONNX_UINT4: case ONNX_INT4: case ONNX_FLOAT4E2M1: *entries = numel / 2 + numel % 2; return TF_INT32;
    case ONNX_UINT2: case ONNX_INT2: *entries = numel / 4 + (numel % 4 != 0); return TF_INT32;
    case ONNX_INT32: case ONNX_UINT8: case ONNX_INT8: case ONNX_UINT16: case ONNX_INT16: case ONNX_BOOL:
    case ONNX_FLOAT16: case ONNX_BFLOAT16: case ONNX_FLOAT8E4M3FN: case ONNX_FLOAT8E4M3FNUZ:
    case ONNX_FLOAT8E5M2: case ONNX_FLOAT8E5M2FNUZ: case ONNX_FLOAT8E8M0: return TF_INT32;
    default: return TF_NONE;
    }
}

static const char *const tf_names[] = {"", "float_data", "int32_data", "string_data",
                                       "int64_data", "double_data", "uint64_data"};

static size_t tf_count(const onnx_tensor *t, int tf) {
    switch (tf) {
    case TF_FLOAT: return t->n_float_data;
    case TF_INT32: return t->n_int32_data;
    case TF_STRING: return t->n_string_data;
    case TF_INT64: return t->n_int64_data;
    case TF_DOUBLE: return t->n_double_data;
    case TF_UINT64: return t->n_uint64_data;
    default: return 0;
    }
}

/* ---- messages ----------------------------------------------------------- */

static int dec_graph(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_graph *g);
static int dec_type(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_type *ty);

static int dec_entry(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_string_entry *e) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_entry, fr, cnt)) return -1;
    e->key = e->value = pb_empty;
    PB_FOREACH(p, end, &d_entry, fr, f) {
        if (f.num == 1 && pb_cstr(c, &f, fr, "key", PB_NOINDEX, &e->key)) return -1;
        if (f.num == 2 && pb_cstr(c, &f, fr, "value", PB_NOINDEX, &e->value)) return -1;
    }
    return pb_r_;
}

static int dec_opset(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_opset *o) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_opset, fr, cnt)) return -1;
    o->domain = pb_empty;
    PB_FOREACH(p, end, &d_opset, fr, f) {
        if (f.num == 1 && pb_cstr(c, &f, fr, "domain", PB_NOINDEX, &o->domain)) return -1;
        if (f.num == 2) o->version = (int64_t)f.v;
    }
    return pb_r_;
}

/* "123" -> 123; digits only, no overflow. */
static int parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Checks that a decoded tensor's data agrees with its type and dims. */
static int check_tensor(pb_ctx *c, const uint8_t *at, const pb_frame *fr, onnx_tensor *t) {
    const char *tn = t->name;
    uint64_t numel = 1;
    for (size_t k = 0; k < t->ndims; k++) {
        if (t->dims[k] < 0)
            return pb_error(c, at, fr, "dims", k, "tensor '%s': negative dimension %" PRId64, tn, t->dims[k]);
        if (checked_mul_u64(numel, (uint64_t)t->dims[k], &numel) || numel > (uint64_t)INT64_MAX)
            return pb_error(c, at, fr, "dims", k, "tensor '%s': product of dims overflows 64 bits", tn);
    }
    t->numel = numel;

    uint64_t entries, nbytes = 0;
    int tf = typed_field(t->data_type, numel, &entries);
    int known = tf != TF_NONE;
    if (known && t->data_type != ONNX_STRING && nbytes_for(t->data_type, numel, &nbytes))
        return pb_error(c, at, fr, "dims", PB_NOINDEX, "tensor '%s': byte size of %" PRIu64 " %s elements overflows",
                        tn, numel, onnx_dtype_name(t->data_type));
    /* entries <= 2 * numel <= 2 * INT64_MAX: no overflow */

    size_t typed = t->n_float_data + t->n_int32_data + t->n_string_data + t->n_int64_data + t->n_double_data +
                   t->n_uint64_data;
    if (t->is_external) {
        if (t->has_raw_data || typed)
            return pb_error(c, at, fr, "data_location", PB_NOINDEX,
                            "tensor '%s': external data and inline data both present", tn);
        if (t->data_type == ONNX_STRING)
            return pb_error(c, at, fr, "data_location", PB_NOINDEX, "tensor '%s': STRING tensor with external data",
                            tn);
        if (!t->ext_location[0])
            return pb_error(c, at, fr, "external_data", PB_NOINDEX, "tensor '%s': external data without 'location'",
                            tn);
        if (known && t->ext_has_length && t->ext_length != nbytes)
            return pb_error(c, at, fr, "external_data", PB_NOINDEX,
                            "tensor '%s': external 'length' %" PRIu64 " but %s dims need %" PRIu64 " bytes", tn,
                            t->ext_length, onnx_dtype_name(t->data_type), nbytes);
        return 0;
    }
    if (!known) return 0; /* UNDEFINED or a newer type: the importer reports it if it is used */
    if (t->has_raw_data) {
        if (t->data_type == ONNX_STRING)
            return pb_error(c, at, fr, "raw_data", PB_NOINDEX, "tensor '%s': STRING tensor stored in raw_data", tn);
        if (typed)
            return pb_error(c, at, fr, "raw_data", PB_NOINDEX, "tensor '%s': both raw_data and typed data present",
                            tn);
        if (t->raw_data.size != nbytes)
            return pb_error(c, at, fr, "raw_data", PB_NOINDEX,
                            "tensor '%s': raw_data has %zu bytes, %s dims need %" PRIu64, tn, t->raw_data.size,
                            onnx_dtype_name(t->data_type), nbytes);
        return 0;
    }
    size_t have = tf_count(t, tf);
    if (have != typed)
        return pb_error(c, at, fr, tf_names[tf], PB_NOINDEX, "tensor '%s': data in a field other than %s for %s", tn,
                        tf_names[tf], onnx_dtype_name(t->data_type));
    if (have != entries)
        return pb_error(c, at, fr, tf_names[tf], PB_NOINDEX,
                        "tensor '%s': %s has %zu values, %s dims need %" PRIu64, tn, tf_names[tf], have,
                        onnx_dtype_name(t->data_type), entries);
    return 0;
}

static int dec_tensor(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_tensor *t) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_tensor, fr, cnt)) return -1;
    t->name = pb_empty;
    t->file = c->file;
    t->offset = (size_t)(p - c->base);
    t->ext_location = t->ext_checksum = pb_empty;
    if (cnt[3]) { /* segment: find it again for the offset */
        PB_FOREACH(p, end, &d_tensor, fr, f) {
            if (f.num == 8 && pb_cstr(c, &f, fr, "name", PB_NOINDEX, &t->name)) return -1;
        }
        PB_FOREACH(p, end, &d_tensor, fr, f) {
            if (f.num == 3)
                return pb_error(c, f.at, fr, "segment", PB_NOINDEX,
                                "tensor '%s': segmented tensors are not supported", t->name);
        }
        return -1;
    }
    PB_ARRAY(t->dims, cnt[1], p, fr, "dims");
    PB_ARRAY(t->float_data, cnt[4], p, fr, "float_data");
    PB_ARRAY(t->int32_data, cnt[5], p, fr, "int32_data");
    PB_ARRAY(t->string_data, cnt[6], p, fr, "string_data");
    PB_ARRAY(t->int64_data, cnt[7], p, fr, "int64_data");
    PB_ARRAY(t->external_data, cnt[13], p, fr, "external_data");
    PB_ARRAY(t->double_data, cnt[10], p, fr, "double_data");
    PB_ARRAY(t->uint64_data, cnt[11], p, fr, "uint64_data");
    int32_t location = 0;
    const uint8_t *loc_at = p;
    PB_FOREACH(p, end, &d_tensor, fr, f) {
        int r = 0;
        switch (f.num) {
        case 1: r = pb_rep_num(c, &f, fr, "dims", N_I64, t->dims, &t->ndims, cnt[1]); break;
        case 2: t->data_type = (int32_t)(uint32_t)f.v; break;
        case 4: r = pb_rep_num(c, &f, fr, "float_data", N_F32, t->float_data, &t->n_float_data, cnt[4]); break;
        case 5: r = pb_rep_num(c, &f, fr, "int32_data", N_I32, t->int32_data, &t->n_int32_data, cnt[5]); break;
        case 6:
            PB_SLOT(t->string_data, t->n_string_data, cnt[6], f, fr, "string_data");
            t->string_data[t->n_string_data].data = f.data;
            t->string_data[t->n_string_data++].size = f.len;
            break;
        case 7: r = pb_rep_num(c, &f, fr, "int64_data", N_I64, t->int64_data, &t->n_int64_data, cnt[7]); break;
        case 8: r = pb_cstr(c, &f, fr, "name", PB_NOINDEX, &t->name); break;
        case 9:
            t->has_raw_data = 1;
            t->raw_data.data = f.data;
            t->raw_data.size = f.len;
            break;
        case 10: r = pb_rep_num(c, &f, fr, "double_data", N_F64, t->double_data, &t->n_double_data, cnt[10]); break;
        case 11: r = pb_rep_num(c, &f, fr, "uint64_data", N_U64, t->uint64_data, &t->n_uint64_data, cnt[11]); break;
        case 13: {
            size_t i = t->n_external_data;
            PB_SLOT(t->external_data, i, cnt[13], f, fr, "external_data");
            PB_SUB(sub, fr, "external_data", i);
            onnx_string_entry *e = &t->external_data[i];
            if (dec_entry(c, f.data, f.data + f.len, &sub, e)) return -1;
            t->n_external_data++;
            uint64_t v;
            if (!strcmp(e->key, "location")) t->ext_location = e->value;
            else if (!strcmp(e->key, "checksum")) t->ext_checksum = e->value;
            else if (!strcmp(e->key, "offset") || !strcmp(e->key, "length")) {
                if (parse_u64(e->value, &v))
                    return pb_error(c, f.data, &sub, "value", PB_NOINDEX,
                                    "external data '%s' is '%s', not a decimal integer", e->key, e->value);
                if (e->key[0] == 'o') t->ext_offset = v;
                else t->ext_has_length = 1, t->ext_length = v;
            }
            break;
        }
        case 14:
            location = (int32_t)(uint32_t)f.v;
            loc_at = f.at;
            break;
        default: break;
        }
        if (r) return -1;
    }
    if (pb_r_) return -1;
    if (location != 0 && location != 1)
        return pb_error(c, loc_at, fr, "data_location", PB_NOINDEX, "tensor '%s': unknown data_location %" PRId32,
                        t->name, location);
    t->is_external = location == 1;
    return check_tensor(c, p, fr, t);
}

static int dec_sparse(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_sparse_tensor *s) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_sparse, fr, cnt)) return -1;
    s->offset = (size_t)(p - c->base);
    s->values.name = s->indices.name = s->name = pb_empty;
    PB_ARRAY(s->dims, cnt[3], p, fr, "dims");
    PB_FOREACH(p, end, &d_sparse, fr, f) {
        if (f.num == 1 || f.num == 2) {
            PB_SUB(sub, fr, f.num == 1 ? "values" : "indices", PB_NOINDEX);
            if (dec_tensor(c, f.data, f.data + f.len, &sub, f.num == 1 ? &s->values : &s->indices)) return -1;
        } else if (f.num == 3 && pb_rep_num(c, &f, fr, "dims", N_I64, s->dims, &s->ndims, cnt[3])) {
            return -1;
        }
    }
    s->name = s->values.name;
    return pb_r_;
}

static int dec_dim(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_dim *dm) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_dim, fr, cnt)) return -1;
    dm->param = pb_empty;
    PB_FOREACH(p, end, &d_dim, fr, f) {
        if (f.num == 1) { /* oneof: the last one given wins */
            dm->value = (int64_t)f.v;
            dm->kind = dm->value >= 0 ? ONNX_DIM_VALUE : ONNX_DIM_UNKNOWN;
            dm->param = pb_empty;
        } else if (f.num == 2) {
            if (pb_cstr(c, &f, fr, "dim_param", PB_NOINDEX, &dm->param)) return -1;
            dm->kind = dm->param[0] ? ONNX_DIM_PARAM : ONNX_DIM_UNKNOWN;
            dm->value = 0;
        }
    }
    return pb_r_;
}

static int dec_shape(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_type *ty) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_shape, fr, cnt)) return -1;
    PB_ARRAY(ty->dims, cnt[1], p, fr, "dim");
    ty->ndims = 0;
    ty->has_shape = 1;
    PB_FOREACH(p, end, &d_shape, fr, f) {
        if (f.num != 1) continue;
        PB_SLOT(ty->dims, ty->ndims, cnt[1], f, fr, "dim");
        PB_SUB(sub, fr, "dim", ty->ndims);
        if (dec_dim(c, f.data, f.data + f.len, &sub, &ty->dims[ty->ndims])) return -1;
        ty->ndims++;
    }
    return pb_r_;
}

/* The message of one TypeProto oneof member. */
static int dec_type_member(pb_ctx *c, const pb_field *mf, const pb_frame *fr, const char *fname, onnx_type *ty) {
    const uint8_t *p = mf->data, *end = mf->data + mf->len;
    PB_SUB(sub, fr, fname, PB_NOINDEX);
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    const pb_mdesc *m = (ty->kind == ONNX_TYPE_TENSOR || ty->kind == ONNX_TYPE_SPARSE_TENSOR) ? &d_type_tensor
                        : ty->kind == ONNX_TYPE_MAP                                             ? &d_type_map
                        : ty->kind == ONNX_TYPE_OPAQUE                                          ? &d_type_opaque
                                                                                                : &d_type_seq;
    if (pb_scan(c, p, end, m, &sub, cnt)) return -1;
    PB_FOREACH(p, end, m, &sub, f) {
        if (m == &d_type_tensor && f.num == 1) ty->elem_type = (int32_t)(uint32_t)f.v;
        else if (m == &d_type_tensor && f.num == 2) {
            PB_SUB(s2, &sub, "shape", PB_NOINDEX);
            if (dec_shape(c, f.data, f.data + f.len, &s2, ty)) return -1;
        } else if (m == &d_type_map && f.num == 1) ty->elem_type = (int32_t)(uint32_t)f.v;
        else if ((m == &d_type_map && f.num == 2) || (m == &d_type_seq && f.num == 1)) {
            PB_SUB(s2, &sub, m == &d_type_map ? "value_type" : "elem_type", PB_NOINDEX);
            if (!(ty->elem = arena_alloc(c->a, sizeof *ty->elem))) return pb_oom(c, f.at, &sub, NULL);
            if (dec_type(c, f.data, f.data + f.len, &s2, ty->elem)) return -1;
        }
    }
    return pb_r_;
}

static int dec_type(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_type *ty) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_type, fr, cnt)) return -1;
    PB_FOREACH(p, end, &d_type, fr, f) {
        int kind;
        switch (f.num) {
        case 1: kind = ONNX_TYPE_TENSOR; break;
        case 4: kind = ONNX_TYPE_SEQUENCE; break;
        case 5: kind = ONNX_TYPE_MAP; break;
        case 9: kind = ONNX_TYPE_OPTIONAL; break;
        case 8: kind = ONNX_TYPE_SPARSE_TENSOR; break;
        case 7: kind = ONNX_TYPE_OPAQUE; break;
        default: continue;
        }
        memset(ty, 0, sizeof *ty); /* oneof: the last member given wins */
        ty->kind = kind;
        if (dec_type_member(c, &f, fr, d_type.f[f.num].name, ty)) return -1;
    }
    return pb_r_;
}

static int dec_value_info(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_value_info *v) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_value_info, fr, cnt)) return -1;
    v->name = pb_empty;
    v->offset = (size_t)(p - c->base);
    PB_FOREACH(p, end, &d_value_info, fr, f) {
        if (f.num == 1 && pb_cstr(c, &f, fr, "name", PB_NOINDEX, &v->name)) return -1;
        if (f.num == 2) {
            PB_SUB(sub, fr, "type", PB_NOINDEX);
            if (dec_type(c, f.data, f.data + f.len, &sub, &v->type)) return -1;
        }
    }
    return pb_r_;
}

static int dec_attr(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_attribute *at) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_attr, fr, cnt)) return -1;
    at->name = at->ref_attr_name = pb_empty;
    at->s.str = pb_empty;
    at->offset = (size_t)(p - c->base);
    PB_ARRAY(at->floats, cnt[7], p, fr, "floats");
    PB_ARRAY(at->ints, cnt[8], p, fr, "ints");
    PB_ARRAY(at->strings, cnt[9], p, fr, "strings");
    PB_ARRAY(at->tensors, cnt[10], p, fr, "tensors");
    PB_ARRAY(at->graphs, cnt[11], p, fr, "graphs");
    PB_ARRAY(at->sparse_tensors, cnt[23], p, fr, "sparse_tensors");
    PB_ARRAY(at->type_protos, cnt[15], p, fr, "type_protos");
    int has_f = 0, has_i = 0, has_s = 0;
    PB_FOREACH(p, end, &d_attr, fr, f) {
        int r = 0;
        const char *fn = d_attr.f[f.num < PB_NF ? f.num : 0].name;
        switch (f.num) {
        case 1: r = pb_cstr(c, &f, fr, "name", PB_NOINDEX, &at->name); break;
        case 21: r = pb_cstr(c, &f, fr, "ref_attr_name", PB_NOINDEX, &at->ref_attr_name); break;
        case 20: at->type = (int32_t)(uint32_t)f.v; break;
        case 2: {
            uint32_t b = (uint32_t)f.v;
            memcpy(&at->f, &b, 4);
            has_f = 1;
            break;
        }
        case 3: at->i = (int64_t)f.v, has_i = 1; break;
        case 4: r = pb_bstr(c, &f, fr, "s", &at->s), has_s = 1; break;
        case 5: case 6: case 14: case 22: {
            PB_SUB(sub, fr, fn, PB_NOINDEX);
            if (f.num == 5) {
                if (!(at->t = arena_alloc(c->a, sizeof *at->t))) return pb_oom(c, f.at, fr, fn);
                r = dec_tensor(c, f.data, f.data + f.len, &sub, at->t);
            } else if (f.num == 6) {
                if (!(at->g = arena_alloc(c->a, sizeof *at->g))) return pb_oom(c, f.at, fr, fn);
                r = dec_graph(c, f.data, f.data + f.len, &sub, at->g);
            } else if (f.num == 14) {
                if (!(at->tp = arena_alloc(c->a, sizeof *at->tp))) return pb_oom(c, f.at, fr, fn);
                r = dec_type(c, f.data, f.data + f.len, &sub, at->tp);
            } else {
                if (!(at->sparse_tensor = arena_alloc(c->a, sizeof *at->sparse_tensor))) return pb_oom(c, f.at, fr, fn);
                r = dec_sparse(c, f.data, f.data + f.len, &sub, at->sparse_tensor);
            }
            break;
        }
        case 7: r = pb_rep_num(c, &f, fr, "floats", N_F32, at->floats, &at->n_floats, cnt[7]); break;
        case 8: r = pb_rep_num(c, &f, fr, "ints", N_I64, at->ints, &at->n_ints, cnt[8]); break;
        case 9:
            PB_SLOT(at->strings, at->n_strings, cnt[9], f, fr, "strings");
            r = pb_bstr(c, &f, fr, "strings", &at->strings[at->n_strings++]);
            break;
        case 10: case 11: case 15: case 23: {
            size_t *n = f.num == 10 ? &at->n_tensors : f.num == 11 ? &at->n_graphs
                        : f.num == 15 ? &at->n_type_protos : &at->n_sparse_tensors;
            PB_SLOT(x, *n, cnt[f.num], f, fr, fn);
            PB_SUB(sub, fr, fn, *n);
            const uint8_t *e = f.data + f.len;
            if (f.num == 10) r = dec_tensor(c, f.data, e, &sub, &at->tensors[*n]);
            else if (f.num == 11) r = dec_graph(c, f.data, e, &sub, &at->graphs[*n]);
            else if (f.num == 15) r = dec_type(c, f.data, e, &sub, &at->type_protos[*n]);
            else r = dec_sparse(c, f.data, e, &sub, &at->sparse_tensors[*n]);
            (*n)++;
            break;
        }
        default: break;
        }
        if (r) return -1;
    }
    if (pb_r_) return -1;
    if (!at->name[0]) return pb_error(c, p, fr, "name", PB_NOINDEX, "attribute without a name");
    if (at->type == ONNX_ATTR_UNDEFINED && !at->ref_attr_name[0]) { /* IR version 1: infer */
        at->type = at->n_floats ? ONNX_ATTR_FLOATS : at->n_ints ? ONNX_ATTR_INTS : at->n_strings ? ONNX_ATTR_STRINGS
                   : at->n_tensors ? ONNX_ATTR_TENSORS : at->n_graphs ? ONNX_ATTR_GRAPHS
                   : at->t ? ONNX_ATTR_TENSOR : at->g ? ONNX_ATTR_GRAPH : has_s ? ONNX_ATTR_STRING
                   : has_i ? ONNX_ATTR_INT : has_f ? ONNX_ATTR_FLOAT : ONNX_ATTR_UNDEFINED;
    }
    return 0;
}

static int dec_node(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_node *n) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_node, fr, cnt)) return -1;
    n->name = n->op_type = n->domain = n->overload = pb_empty;
    n->offset = (size_t)(p - c->base);
    PB_ARRAY(n->inputs, cnt[1], p, fr, "input");
    PB_ARRAY(n->outputs, cnt[2], p, fr, "output");
    PB_ARRAY(n->attrs, cnt[5], p, fr, "attribute");
    PB_FOREACH(p, end, &d_node, fr, f) {
        int r = 0;
        switch (f.num) {
        case 1:
            PB_SLOT(n->inputs, n->n_inputs, cnt[1], f, fr, "input");
            r = pb_cstr(c, &f, fr, "input", n->n_inputs, &n->inputs[n->n_inputs]);
            n->n_inputs++;
            break;
        case 2:
            PB_SLOT(n->outputs, n->n_outputs, cnt[2], f, fr, "output");
            r = pb_cstr(c, &f, fr, "output", n->n_outputs, &n->outputs[n->n_outputs]);
            n->n_outputs++;
            break;
        case 3: r = pb_cstr(c, &f, fr, "name", PB_NOINDEX, &n->name); break;
        case 4: r = pb_cstr(c, &f, fr, "op_type", PB_NOINDEX, &n->op_type); break;
        case 7: r = pb_cstr(c, &f, fr, "domain", PB_NOINDEX, &n->domain); break;
        case 8: r = pb_cstr(c, &f, fr, "overload", PB_NOINDEX, &n->overload); break;
        case 5: {
            PB_SLOT(n->attrs, n->n_attrs, cnt[5], f, fr, "attribute");
            PB_SUB(sub, fr, "attribute", n->n_attrs);
            r = dec_attr(c, f.data, f.data + f.len, &sub, &n->attrs[n->n_attrs]);
            n->n_attrs++;
            break;
        }
        default: break;
        }
        if (r) return -1;
    }
    if (pb_r_) return -1;
    if (!n->op_type[0]) return pb_error(c, p, fr, "op_type", PB_NOINDEX, "node '%s' has no op_type", n->name);
    return 0;
}

static int dec_graph(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_graph *g) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_graph, fr, cnt)) return -1;
    g->name = pb_empty;
    g->offset = (size_t)(p - c->base);
    PB_ARRAY(g->nodes, cnt[1], p, fr, "node");
    PB_ARRAY(g->initializers, cnt[5], p, fr, "initializer");
    PB_ARRAY(g->sparse_initializers, cnt[15], p, fr, "sparse_initializer");
    PB_ARRAY(g->inputs, cnt[11], p, fr, "input");
    PB_ARRAY(g->outputs, cnt[12], p, fr, "output");
    PB_ARRAY(g->value_infos, cnt[13], p, fr, "value_info");
    PB_FOREACH(p, end, &d_graph, fr, f) {
        int r = 0;
        const uint8_t *e = f.data + f.len;
        switch (f.num) {
        case 2: r = pb_cstr(c, &f, fr, "name", PB_NOINDEX, &g->name); break;
        case 1: {
            PB_SLOT(g->nodes, g->n_nodes, cnt[1], f, fr, "node");
            PB_SUB(sub, fr, "node", g->n_nodes);
            r = dec_node(c, f.data, e, &sub, &g->nodes[g->n_nodes++]);
            break;
        }
        case 5: {
            PB_SLOT(g->initializers, g->n_initializers, cnt[5], f, fr, "initializer");
            PB_SUB(sub, fr, "initializer", g->n_initializers);
            r = dec_tensor(c, f.data, e, &sub, &g->initializers[g->n_initializers++]);
            break;
        }
        case 15: {
            PB_SLOT(g->sparse_initializers, g->n_sparse_initializers, cnt[15], f, fr, "sparse_initializer");
            PB_SUB(sub, fr, "sparse_initializer", g->n_sparse_initializers);
            r = dec_sparse(c, f.data, e, &sub, &g->sparse_initializers[g->n_sparse_initializers++]);
            break;
        }
        case 11: case 12: case 13: {
            onnx_value_info *arr = f.num == 11 ? g->inputs : f.num == 12 ? g->outputs : g->value_infos;
            size_t *n = f.num == 11 ? &g->n_inputs : f.num == 12 ? &g->n_outputs : &g->n_value_infos;
            PB_SLOT(arr, *n, cnt[f.num], f, fr, d_graph.f[f.num].name);
            PB_SUB(sub, fr, d_graph.f[f.num].name, *n);
            r = dec_value_info(c, f.data, e, &sub, &arr[(*n)++]);
            break;
        }
        default: break;
        }
        if (r) return -1;
    }
    return pb_r_;
}

static int dec_function(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_function *fn) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_function, fr, cnt)) return -1;
    fn->name = fn->domain = fn->overload = pb_empty;
    fn->offset = (size_t)(p - c->base);
    PB_ARRAY(fn->inputs, cnt[4], p, fr, "input");
    PB_ARRAY(fn->outputs, cnt[5], p, fr, "output");
    PB_ARRAY(fn->attr_names, cnt[6], p, fr, "attribute");
    PB_ARRAY(fn->attr_defaults, cnt[11], p, fr, "attribute_proto");
    PB_ARRAY(fn->nodes, cnt[7], p, fr, "node");
    PB_ARRAY(fn->opset_import, cnt[9], p, fr, "opset_import");
    PB_ARRAY(fn->value_infos, cnt[12], p, fr, "value_info");
    PB_FOREACH(p, end, &d_function, fr, f) {
        int r = 0;
        const uint8_t *e = f.data + f.len;
        const char *fname = f.num < PB_NF ? d_function.f[f.num].name : NULL;
        switch (f.num) {
        case 1: r = pb_cstr(c, &f, fr, "name", PB_NOINDEX, &fn->name); break;
        case 10: r = pb_cstr(c, &f, fr, "domain", PB_NOINDEX, &fn->domain); break;
        case 13: r = pb_cstr(c, &f, fr, "overload", PB_NOINDEX, &fn->overload); break;
        case 4: case 5: case 6: {
            const char **arr = f.num == 4 ? fn->inputs : f.num == 5 ? fn->outputs : fn->attr_names;
            size_t *n = f.num == 4 ? &fn->n_inputs : f.num == 5 ? &fn->n_outputs : &fn->n_attr_names;
            PB_SLOT(arr, *n, cnt[f.num], f, fr, fname);
            r = pb_cstr(c, &f, fr, fname, *n, &arr[*n]);
            (*n)++;
            break;
        }
        case 11: {
            PB_SLOT(fn->attr_defaults, fn->n_attr_defaults, cnt[11], f, fr, fname);
            PB_SUB(sub, fr, fname, fn->n_attr_defaults);
            r = dec_attr(c, f.data, e, &sub, &fn->attr_defaults[fn->n_attr_defaults++]);
            break;
        }
        case 7: {
            PB_SLOT(fn->nodes, fn->n_nodes, cnt[7], f, fr, fname);
            PB_SUB(sub, fr, fname, fn->n_nodes);
            r = dec_node(c, f.data, e, &sub, &fn->nodes[fn->n_nodes++]);
            break;
        }
        case 9: {
            PB_SLOT(fn->opset_import, fn->n_opset_import, cnt[9], f, fr, fname);
            PB_SUB(sub, fr, fname, fn->n_opset_import);
            r = dec_opset(c, f.data, e, &sub, &fn->opset_import[fn->n_opset_import++]);
            break;
        }
        case 12: {
            PB_SLOT(fn->value_infos, fn->n_value_infos, cnt[12], f, fr, fname);
            PB_SUB(sub, fr, fname, fn->n_value_infos);
            r = dec_value_info(c, f.data, e, &sub, &fn->value_infos[fn->n_value_infos++]);
            break;
        }
        default: break;
        }
        if (r) return -1;
    }
    return pb_r_;
}

static int dec_model(pb_ctx *c, const uint8_t *p, const uint8_t *end, const pb_frame *fr, onnx_model *m) {
    size_t cnt[PB_NF];
    pb_field f;
    int pb_r_;
    if (pb_scan(c, p, end, &d_model, fr, cnt)) return -1;
    m->file = c->file;
    m->producer_name = m->producer_version = m->domain = pb_empty;
    m->n_training_info = cnt[20];
    PB_ARRAY(m->opset_import, cnt[8], p, fr, "opset_import");
    PB_ARRAY(m->metadata_props, cnt[14], p, fr, "metadata_props");
    PB_ARRAY(m->functions, cnt[25], p, fr, "functions");
    int has_ir = 0;
    PB_FOREACH(p, end, &d_model, fr, f) {
        int r = 0;
        const uint8_t *e = f.data + f.len;
        switch (f.num) {
        case 1: m->ir_version = (int64_t)f.v, has_ir = 1; break;
        case 2: r = pb_cstr(c, &f, fr, "producer_name", PB_NOINDEX, &m->producer_name); break;
        case 3: r = pb_cstr(c, &f, fr, "producer_version", PB_NOINDEX, &m->producer_version); break;
        case 4: r = pb_cstr(c, &f, fr, "domain", PB_NOINDEX, &m->domain); break;
        case 5: m->model_version = (int64_t)f.v; break;
        case 7: {
            PB_SUB(sub, fr, "graph", PB_NOINDEX);
            if (!(m->graph = arena_alloc(c->a, sizeof *m->graph))) return pb_oom(c, f.at, fr, "graph");
            r = dec_graph(c, f.data, e, &sub, m->graph);
            break;
        }
        case 8: {
            PB_SLOT(m->opset_import, m->n_opset_import, cnt[8], f, fr, "opset_import");
            PB_SUB(sub, fr, "opset_import", m->n_opset_import);
            r = dec_opset(c, f.data, e, &sub, &m->opset_import[m->n_opset_import++]);
            break;
        }
        case 14: {
            PB_SLOT(m->metadata_props, m->n_metadata_props, cnt[14], f, fr, "metadata_props");
            PB_SUB(sub, fr, "metadata_props", m->n_metadata_props);
            r = dec_entry(c, f.data, e, &sub, &m->metadata_props[m->n_metadata_props++]);
            break;
        }
        case 25: {
            PB_SLOT(m->functions, m->n_functions, cnt[25], f, fr, "functions");
            PB_SUB(sub, fr, "functions", m->n_functions);
            r = dec_function(c, f.data, e, &sub, &m->functions[m->n_functions++]);
            break;
        }
        default: break;
        }
        if (r) return -1;
    }
    if (pb_r_) return -1;
    /* The wire format has no end marker: a file cut at a field boundary is a
     * valid shorter message. These required fields catch most such cuts. */
    if (!has_ir) return pb_error(c, end, fr, "ir_version", PB_NOINDEX, "missing (not an ONNX model, or truncated)");
    if (!m->graph) return pb_error(c, end, fr, "graph", PB_NOINDEX, "missing (not an ONNX model, or truncated)");
    if (m->n_opset_import == 0 && m->ir_version >= 3)
        return pb_error(c, end, fr, "opset_import", PB_NOINDEX, "missing (IR version %" PRId64 " requires it)",
                        m->ir_version);
    return 0;
}

static int pb_init(pb_ctx *c, const uint8_t *base, size_t size, const char *path, arena *a, diag *d) {
    c->base = base;
    c->fend = base + size;
    c->path = path ? path : "<memory>";
    c->a = a;
    c->d = d;
    c->file = arena_strdup(a, c->path);
    if (!c->file) return diag_error(d, "%s: out of memory", c->path);
    if (!base && size) return diag_error(d, "%s: no data", c->path);
    return 0;
}

int onnx_pb_decode_model(const uint8_t *base, size_t size, const char *path, arena *a, onnx_model **out, diag *d) {
    pb_ctx c;
    *out = NULL;
    if (pb_init(&c, base, size, path, a, d)) return -1;
    onnx_model *m = arena_alloc(a, sizeof *m);
    if (!m) return diag_error(d, "%s: out of memory", c.path);
    pb_frame root = {NULL, "ModelProto", PB_NOINDEX, 1};
    if (dec_model(&c, base, base + size, &root, m)) return -1;
    *out = m;
    return 0;
}

int onnx_pb_decode_tensor(const uint8_t *base, size_t size, const char *path, arena *a, onnx_tensor **out, diag *d) {
    pb_ctx c;
    *out = NULL;
    if (pb_init(&c, base, size, path, a, d)) return -1;
    onnx_tensor *t = arena_alloc(a, sizeof *t);
    if (!t) return diag_error(d, "%s: out of memory", c.path);
    pb_frame root = {NULL, "TensorProto", PB_NOINDEX, 1};
    if (dec_tensor(&c, base, base + size, &root, t)) return -1;
    *out = t;
    return 0;
}

/* ---- tensor data --------------------------------------------------------- */

static int host_is_le(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int tensor_err(const onnx_tensor *t, diag *d, const char *what) {
    return diag_error(d, "%s: byte %zu: tensor '%s' (%s): %s", t->file ? t->file : "<memory>", t->offset, t->name,
                      onnx_dtype_name(t->data_type), what);
}

int onnx_tensor_bytes(const onnx_tensor *t, arena *a, const uint8_t **data, size_t *nbytes, diag *d) {
    uint64_t want, entries;
    *data = NULL;
    *nbytes = 0;
    if (t->is_external) return tensor_err(t, d, "data is external (read ext_location)");
    if (t->data_type == ONNX_STRING) return tensor_err(t, d, "string tensor has no byte layout (use string_data)");
    int tf = typed_field(t->data_type, t->numel, &entries);
    if (tf == TF_NONE || nbytes_for(t->data_type, t->numel, &want)) return tensor_err(t, d, "unsupported data type");
    if (want > SIZE_MAX) return tensor_err(t, d, "too large");
    if (t->has_raw_data) {
        if (t->raw_data.size != want) return tensor_err(t, d, "raw_data size does not match dims");
        *data = t->raw_data.data;
        *nbytes = t->raw_data.size;
        return 0;
    }
    if (tf_count(t, tf) != entries) return tensor_err(t, d, "element count does not match dims");
    if (want == 0) {
        static const uint8_t none[1];
        *data = none;
        return 0;
    }
    int le = host_is_le();
    if (le && (tf == TF_FLOAT || tf == TF_DOUBLE || tf == TF_INT64 ||
               (tf == TF_UINT64 && t->data_type == ONNX_UINT64) || t->data_type == ONNX_INT32)) {
        *data = tf == TF_FLOAT ? (const uint8_t *)t->float_data
                : tf == TF_DOUBLE ? (const uint8_t *)t->double_data
                : tf == TF_INT64 ? (const uint8_t *)t->int64_data
                : tf == TF_UINT64 ? (const uint8_t *)t->uint64_data : (const uint8_t *)t->int32_data;
        *nbytes = (size_t)want;
        return 0;
    }
    uint8_t *out = arena_alloc(a, (size_t)want);
    if (!out) return tensor_err(t, d, "out of memory");
    size_t n = (size_t)entries;
    switch (tf) {
    case TF_FLOAT:
        for (size_t k = 0; k < n; k++) {
            uint32_t b;
            memcpy(&b, &t->float_data[k], 4);
            put_le(out + 4 * k, b, 4);
        }
        break;
    case TF_DOUBLE:
        for (size_t k = 0; k < n; k++) {
            uint64_t b;
            memcpy(&b, &t->double_data[k], 8);
            put_le(out + 8 * k, b, 8);
        }
        break;
    case TF_INT64:
        for (size_t k = 0; k < n; k++) put_le(out + 8 * k, (uint64_t)t->int64_data[k], 8);
        break;
    case TF_UINT64: {
        int w = t->data_type == ONNX_UINT32 ? 4 : 8;
        for (size_t k = 0; k < n; k++) put_le(out + (size_t)w * k, t->uint64_data[k], w);
        break;
    }
    default: { /* int32_data: 1, 2 or 4 low bytes per entry; sub-byte types one packed byte each */
        int bits = onnx_dtype_bits(t->data_type);
        int w = bits <= 8 ? 1 : bits / 8;
        for (size_t k = 0; k < n; k++) put_le(out + (size_t)w * k, (uint32_t)t->int32_data[k], w);
        break;
    }
    }
    *data = out;
    *nbytes = (size_t)want;
    return 0;
}

int onnx_tensor_int64_values(const onnx_tensor *t, arena *a, const int64_t **vals, size_t *n, diag *d) {
    *vals = NULL;
    *n = 0;
    int w, sign;
    switch (t->data_type) {
    case ONNX_INT8: w = 1, sign = 1; break;
    case ONNX_UINT8: case ONNX_BOOL: w = 1, sign = 0; break;
    case ONNX_INT16: w = 2, sign = 1; break;
    case ONNX_UINT16: w = 2, sign = 0; break;
    case ONNX_INT32: w = 4, sign = 1; break;
    case ONNX_UINT32: w = 4, sign = 0; break;
    case ONNX_INT64: w = 8, sign = 1; break;
    case ONNX_UINT64: w = 8, sign = 0; break;
    default: return tensor_err(t, d, "not an integer tensor");
    }
    if (t->data_type == ONNX_INT64 && !t->has_raw_data && !t->is_external && t->n_int64_data == t->numel) {
        *vals = t->int64_data;
        *n = t->n_int64_data;
        return 0;
    }
    const uint8_t *bytes;
    size_t nbytes;
    if (onnx_tensor_bytes(t, a, &bytes, &nbytes, d)) return -1;
    size_t count = nbytes / (size_t)w;
    int64_t *out = arena_array(a, count ? count : 1, sizeof *out);
    if (!out) return tensor_err(t, d, "out of memory");
    for (size_t k = 0; k < count; k++) {
        uint64_t v = pb_le(bytes + (size_t)w * k, w);
        if (sign && w < 8 && (v >> (8 * w - 1)) & 1) v |= ~(uint64_t)0 << (8 * w);
        if (!sign && w == 8 && v > (uint64_t)INT64_MAX) return tensor_err(t, d, "UINT64 value above INT64_MAX");
        out[k] = (int64_t)v;
    }
    *vals = out;
    *n = count;
    return 0;
}
