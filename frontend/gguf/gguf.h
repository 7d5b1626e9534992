/* gguf.h — a GGUF file (v2 and v3) read in place through a read-only mmap.
 *
 * GGUF is how quantized LLMs ship: a header, a table of typed metadata
 * key/value pairs (strings, numbers, bools and nested arrays), a table of
 * tensor infos (name, shape, ggml type, offset), then the tensor data,
 * aligned to `general.alignment` (default 32). gguf_open checks every count
 * and offset against the file size before it is used, so a malformed file
 * gives an error naming the file and the key or tensor, never a crash or an
 * allocation sized by the file. Nothing is copied: strings and tensor data
 * point into the mapping, which lives until gguf_close.
 *
 * Tensor types are IR dtypes (ir/dtype.def carries the ggml type codes);
 * dims are listed innermost first, as ggml stores them (ne[0] is the row).
 * Block formats are decoded by runtime/ggml_quant.h, shared with the
 * interpreter and the runtime.
 */
#ifndef SMELT_GGUF_H
#define SMELT_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/diag.h"
#include "ir/dtype.h"

/* Metadata value types, with GGUF's own codes. */
typedef enum gguf_type {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
    GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
    GGUF_I64 = 11, GGUF_F64 = 12
} gguf_type;

/* A string in the mapping: not NUL-terminated. */
typedef struct gguf_str {
    const char *ptr;
    uint64_t len;
} gguf_str;

/* A metadata value. Scalars are decoded; an array keeps its element type,
 * count and the position of its first element in the mapping (elements of
 * a string array or of a nested array are variable-sized: walk them with
 * gguf_arr_str / gguf_arr_next). */
typedef struct gguf_value {
    gguf_type type;
    union {
        uint64_t u;   /* U8 .. U64, BOOL */
        int64_t i;    /* I8 .. I64 */
        double f;     /* F32, F64 */
        gguf_str s;   /* STRING */
        struct { gguf_type type; uint64_t n; const uint8_t *data; } arr;  /* ARRAY */
    };
} gguf_value;

typedef struct gguf_kv {
    gguf_str key;
    gguf_value val;
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[4];         /* innermost first; unused dims are 1 */
    ir_dtype dtype;         /* from the ggml type code */
    uint64_t offset;        /* from the start of the data section */
    uint64_t nbytes;        /* checked: whole blocks, inside the file */
    const uint8_t *data;    /* into the mapping, aligned to `alignment` */
} gguf_tensor;

typedef struct gguf_file {
    const char *path;
    const uint8_t *base;
    size_t size;
    uint32_t version;       /* 2 or 3 */
    uint64_t alignment;     /* general.alignment, or 32 */
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;            /* n_kv, in file order */
    gguf_tensor *tensors;   /* n_tensors, in file order */
    const uint8_t *data;    /* start of the data section */
} gguf_file;

/* Open and validate `path`. NULL with the reason in d on any error. */
gguf_file *gguf_open(const char *path, diag *d);
void gguf_close(gguf_file *f);

/* Lookups: NULL when absent. */
const gguf_kv *gguf_find(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);

/* Typed getters for metadata: 0 on success; -1 with an error naming the
 * file and the key when the key is missing or has another type (integer
 * getters accept any integer type whose value fits). */
int gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out, diag *d);
int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out, diag *d);
int gguf_get_f64(const gguf_file *f, const char *key, double *out, diag *d);
int gguf_get_bool(const gguf_file *f, const char *key, bool *out, diag *d);
int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out, diag *d);
/* An array of the given element type: its count and raw element start. */
int gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem, uint64_t *n, const uint8_t **data, diag *d);

/* Elements of arrays. gguf_arr_str walks a string array: *cursor starts at
 * the array's data and moves past each string (bounds were checked at open).
 * Numeric elements: gguf_arr_f64 / gguf_arr_i64 read element i of a numeric
 * array of type elem. */
gguf_str gguf_arr_str(const uint8_t **cursor);
/* Any element type, nested arrays included: decode the element at *cursor
 * (an array's arr.data points at its first element) and move past it. */
gguf_value gguf_arr_next(gguf_type elem, const uint8_t **cursor);
double gguf_arr_f64(gguf_type elem, const uint8_t *data, uint64_t i);
int64_t gguf_arr_i64(gguf_type elem, const uint8_t *data, uint64_t i);

const char *gguf_type_name(gguf_type t);

#endif
