/* onnx_pb.h — ONNX protobuf wire-format decoder (ModelProto, TensorProto).
 *
 * An .onnx file is a protobuf message, but smelt links no protobuf library:
 * this decoder reads the wire format by hand, straight from an mmap of the
 * file, into plain C structs allocated in a caller-supplied arena. Tensor
 * payloads are never copied: raw_data and string_data are views into the
 * mapping, so the mapping must outlive the decoded structs. Names (op_type,
 * node/value/attribute names, domains) are NUL-terminated arena copies; an
 * absent string field reads as "" (never NULL).
 *
 * The file is untrusted input. Every varint, length and count is checked
 * against the bytes that remain before it is used, nesting is limited to
 * ONNX_PB_MAX_DEPTH messages, repeated fields are counted in a first pass so
 * that no array is sized from a number the file merely claims, and tensor
 * dims are checked (non-negative, product without overflow, data size equal
 * to what the dims need). A failure fills the diag with one line naming the
 * file, the byte offset and the field path, e.g.
 *   model.onnx: byte 1234: ModelProto.graph.node[3].attribute[1].t.dims: length 99999 past end of file
 * Field numbers follow onnx/onnx.in.proto (IR version 14). Fields an importer
 * does not need (doc strings, training info, quantization annotations,
 * device configurations, metadata of nodes/graphs) are skipped.
 */
#ifndef SMELT_ONNX_PB_H
#define SMELT_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#include "ir/arena.h"
#include "ir/diag.h"

#define ONNX_PB_MAX_DEPTH 64 /* nested messages, root included */

/* TensorProto.DataType */
enum {
    ONNX_UNDEFINED = 0,
    ONNX_FLOAT = 1,
    ONNX_UINT8 = 2,
    ONNX_INT8 = 3,
    ONNX_UINT16 = 4,
    ONNX_INT16 = 5,
    ONNX_INT32 = 6,
    ONNX_INT64 = 7,
    ONNX_STRING = 8,
    ONNX_BOOL = 9,
    ONNX_FLOAT16 = 10,
    ONNX_DOUBLE = 11,
    ONNX_UINT32 = 12,
    ONNX_UINT64 = 13,
    ONNX_COMPLEX64 = 14,
    ONNX_COMPLEX128 = 15,
    ONNX_BFLOAT16 = 16,
    ONNX_FLOAT8E4M3FN = 17,
    ONNX_FLOAT8E4M3FNUZ = 18,
    ONNX_FLOAT8E5M2 = 19,
    ONNX_FLOAT8E5M2FNUZ = 20,
    ONNX_UINT4 = 21,
    ONNX_INT4 = 22,
    ONNX_FLOAT4E2M1 = 23,
    ONNX_FLOAT8E8M0 = 24,
    ONNX_UINT2 = 25,
    ONNX_INT2 = 26,
};

/* AttributeProto.AttributeType */
enum {
    ONNX_ATTR_UNDEFINED = 0,
    ONNX_ATTR_FLOAT = 1,
    ONNX_ATTR_INT = 2,
    ONNX_ATTR_STRING = 3,
    ONNX_ATTR_TENSOR = 4,
    ONNX_ATTR_GRAPH = 5,
    ONNX_ATTR_FLOATS = 6,
    ONNX_ATTR_INTS = 7,
    ONNX_ATTR_STRINGS = 8,
    ONNX_ATTR_TENSORS = 9,
    ONNX_ATTR_GRAPHS = 10,
    ONNX_ATTR_SPARSE_TENSOR = 11,
    ONNX_ATTR_SPARSE_TENSORS = 12,
    ONNX_ATTR_TYPE_PROTO = 13,
    ONNX_ATTR_TYPE_PROTOS = 14,
};

/* A view of bytes inside the mapped file (not NUL-terminated). */
typedef struct onnx_bytes {
    const uint8_t *data;
    size_t size;
} onnx_bytes;

/* An arena copy of a bytes field: NUL-terminated, len excludes the NUL
 * (the bytes themselves may contain NULs; len is the truth). */
typedef struct onnx_string {
    const char *str;
    size_t len;
} onnx_string;

typedef struct onnx_string_entry { /* StringStringEntryProto */
    const char *key, *value;
} onnx_string_entry;

typedef struct onnx_opset { /* OperatorSetIdProto; domain "" is ai.onnx */
    const char *domain;
    int64_t version;
} onnx_opset;

typedef struct onnx_graph onnx_graph;
typedef struct onnx_type onnx_type;

typedef struct onnx_tensor { /* TensorProto */
    const char *name;
    const char *file;  /* the decoded file's path, for messages */
    size_t offset;     /* byte offset of the message in the file */
    int32_t data_type; /* ONNX_FLOAT, ... */
    int64_t *dims;     /* all >= 0 (checked) */
    size_t ndims;
    uint64_t numel; /* product of dims (1 for a scalar), checked <= INT64_MAX */

    /* Inline data: exactly one source is set, matching data_type and numel
     * (checked at decode for every known data type). Typed repeated fields
     * are decoded, packed or not, into contiguous host arrays. */
    int has_raw_data;
    onnx_bytes raw_data; /* view into the file: zero copy */
    float *float_data;   /* FLOAT, COMPLEX64 (re, im pairs) */
    size_t n_float_data;
    int32_t *int32_data; /* int32 and narrower types, see onnx_tensor_bytes */
    size_t n_int32_data;
    int64_t *int64_data;
    size_t n_int64_data;
    double *double_data; /* DOUBLE, COMPLEX128 */
    size_t n_double_data;
    uint64_t *uint64_data; /* UINT32, UINT64 */
    size_t n_uint64_data;
    onnx_bytes *string_data; /* STRING: views, one per element */
    size_t n_string_data;

    /* External data (data_location == EXTERNAL). The decoder does not open
     * the file; ext_location is relative to the model's directory. */
    int is_external;
    onnx_string_entry *external_data; /* all key/value pairs as written */
    size_t n_external_data;
    const char *ext_location; /* "" when absent (an error if is_external) */
    uint64_t ext_offset;      /* 0 when absent */
    int ext_has_length;
    uint64_t ext_length; /* checked == onnx_tensor_nbytes when present */
    const char *ext_checksum; /* SHA1 hex, "" when absent */
} onnx_tensor;

typedef struct onnx_sparse_tensor { /* SparseTensorProto: decoded, not supported */
    const char *name; /* values.name */
    size_t offset;
    onnx_tensor values, indices;
    int64_t *dims;
    size_t ndims;
} onnx_sparse_tensor;

enum { ONNX_DIM_UNKNOWN = 0, ONNX_DIM_VALUE = 1, ONNX_DIM_PARAM = 2 };

typedef struct onnx_dim { /* TensorShapeProto.Dimension */
    int kind;          /* ONNX_DIM_*; a negative dim_value reads as UNKNOWN */
    int64_t value;     /* as written, when kind is VALUE (or negative) */
    const char *param; /* symbol such as "batch" when kind is PARAM, else "" */
} onnx_dim;

enum {
    ONNX_TYPE_NONE = 0, /* TypeProto absent or empty */
    ONNX_TYPE_TENSOR,
    ONNX_TYPE_SEQUENCE,
    ONNX_TYPE_MAP,
    ONNX_TYPE_OPTIONAL,
    ONNX_TYPE_SPARSE_TENSOR,
    ONNX_TYPE_OPAQUE,
};

struct onnx_type { /* TypeProto */
    int kind;          /* ONNX_TYPE_*, so an importer can name what it refuses */
    int32_t elem_type; /* TENSOR / SPARSE_TENSOR element type; MAP key type */
    int has_shape;     /* shape absent = rank unknown */
    onnx_dim *dims;
    size_t ndims;
    onnx_type *elem; /* SEQUENCE / OPTIONAL element, MAP value; may be NULL */
};

typedef struct onnx_value_info { /* ValueInfoProto */
    const char *name;
    size_t offset;
    onnx_type type; /* kind NONE when absent */
} onnx_value_info;

typedef struct onnx_attribute { /* AttributeProto */
    const char *name;
    const char *ref_attr_name; /* "" unless a reference to a function attribute */
    size_t offset;
    int32_t type; /* ONNX_ATTR_*; inferred from the fields present when 0 */
    float f;
    int64_t i;
    onnx_string s;
    onnx_tensor *t;  /* NULL when absent */
    onnx_graph *g;   /* NULL when absent */
    onnx_type *tp;   /* NULL when absent */
    onnx_sparse_tensor *sparse_tensor; /* NULL when absent */
    float *floats;
    size_t n_floats;
    int64_t *ints;
    size_t n_ints;
    onnx_string *strings;
    size_t n_strings;
    onnx_tensor *tensors;
    size_t n_tensors;
    onnx_graph *graphs;
    size_t n_graphs;
    onnx_sparse_tensor *sparse_tensors;
    size_t n_sparse_tensors;
    onnx_type *type_protos;
    size_t n_type_protos;
} onnx_attribute;

typedef struct onnx_node { /* NodeProto */
    const char *name, *op_type, *domain, *overload;
    size_t offset;
    const char **inputs; /* "" marks an omitted optional input */
    size_t n_inputs;
    const char **outputs;
    size_t n_outputs;
    onnx_attribute *attrs;
    size_t n_attrs;
} onnx_node;

struct onnx_graph { /* GraphProto */
    const char *name;
    size_t offset;
    onnx_node *nodes;
    size_t n_nodes;
    onnx_tensor *initializers;
    size_t n_initializers;
    onnx_sparse_tensor *sparse_initializers; /* importer: "not supported" */
    size_t n_sparse_initializers;
    onnx_value_info *inputs, *outputs, *value_infos;
    size_t n_inputs, n_outputs, n_value_infos;
};

typedef struct onnx_function { /* FunctionProto */
    const char *name, *domain, *overload;
    size_t offset;
    const char **inputs, **outputs;
    size_t n_inputs, n_outputs;
    const char **attr_names;          /* attributes without default */
    size_t n_attr_names;
    onnx_attribute *attr_defaults;    /* attribute_proto: with defaults */
    size_t n_attr_defaults;
    onnx_node *nodes;
    size_t n_nodes;
    onnx_opset *opset_import;
    size_t n_opset_import;
    onnx_value_info *value_infos;
    size_t n_value_infos;
} onnx_function;

typedef struct onnx_model { /* ModelProto */
    const char *file;
    int64_t ir_version; /* present (checked) */
    onnx_opset *opset_import; /* at least one when ir_version >= 3 (checked) */
    size_t n_opset_import;
    const char *producer_name, *producer_version, *domain;
    int64_t model_version;
    onnx_graph *graph; /* never NULL after a successful decode */
    onnx_string_entry *metadata_props;
    size_t n_metadata_props;
    onnx_function *functions;
    size_t n_functions;
    size_t n_training_info; /* counted, not decoded */
} onnx_model;

/* Decode a ModelProto from base[0..size) (an mmap of `path`, which names the
 * file in messages). Everything is allocated in `a`; views point into base.
 * Returns 0 and sets *out, or -1 with one error line in d. */
int onnx_pb_decode_model(const uint8_t *base, size_t size, const char *path,
                         arena *a, onnx_model **out, diag *d);

/* Decode a standalone TensorProto (the ONNX test suite's input_0.pb). */
int onnx_pb_decode_tensor(const uint8_t *base, size_t size, const char *path,
                          arena *a, onnx_tensor **out, diag *d);

/* Bits per element of a data type: 1..128; 0 for STRING and unknown types. */
int onnx_dtype_bits(int32_t data_type);
/* "FLOAT", "INT4", ...; "UNKNOWN" for a number not in the enum. */
const char *onnx_dtype_name(int32_t data_type);

/* Bytes that numel elements of t's type take: ceil(numel * bits / 8),
 * 4-bit and 2-bit types packed low bits first. -1 for STRING / unknown. */
int onnx_tensor_nbytes(const onnx_tensor *t, uint64_t *nbytes);

/* The tensor's elements as little-endian bytes in the layout of its data type
 * (the layout raw_data uses: bool one byte each, float16 as uint16 bits,
 * int4 two per byte low nibble first, complex as re,im pairs).
 *   - raw_data: the view itself, zero copy (*data points into the file);
 *   - typed fields: a converted array allocated in `a` (float_data and
 *     int64_data are returned as they are on a little-endian host);
 *     int32_data holds one element per entry for 8/16-bit types (low bits
 *     taken), one packed byte (two elements) per entry for 4-bit types and
 *     one packed byte (four elements) per entry for 2-bit types, as
 *     onnx.proto specifies.
 * Fails (-1 and a diag line naming file and tensor) for STRING, unknown data
 * types and external data (the importer reads ext_location itself). */
int onnx_tensor_bytes(const onnx_tensor *t, arena *a, const uint8_t **data,
                      size_t *nbytes, diag *d);

/* The values of an integer or BOOL tensor (INT8..UINT64, any storage) widened
 * to int64, e.g. a Reshape shape constant. UINT64 above INT64_MAX is an
 * error. *vals may alias t->int64_data. */
int onnx_tensor_int64_values(const onnx_tensor *t, arena *a,
                             const int64_t **vals, size_t *n, diag *d);

#endif
