/* rt_model.h — the runtime's private view of a loaded artifact.
 *
 * manifest.c parses the JSON manifest (docs/artifact.md) once, at load, into
 * the compact structs below so that sessions never look at JSON again;
 * model.c owns the smelt_model (the desc, the dlopen handle, the parsed
 * manifest and the smelt_tensor_info tables); session.c and exec.c read
 * them. Not a public header: tests include it to reach rt_model_set_lib.
 */
#ifndef SMELT_RT_MODEL_H
#define SMELT_RT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/lib.h"
#include "runtime/smelt.h"

#define RT_MAX_RANK 16

typedef enum rt_buf_kind { RT_BUF_INPUT, RT_BUF_CONST, RT_BUF_VALUE, RT_BUF_TEMP } rt_buf_kind;

/* One axis of a buffer's shape: a constant (sym < 0) or symbol `sym`. */
typedef struct rt_dim {
    int64_t size;
    int32_t sym;
} rt_dim;

typedef struct rt_buffer {
    char *name;
    rt_buf_kind kind;
    int dtype;              /* ir_dtype */
    int rank;
    rt_dim dims[RT_MAX_RANK];
    uint64_t offset, bytes; /* const only: where in the weights */
    bool symbolic;          /* some axis is a symbol */
    bool is_output;
} rt_buffer;

typedef struct rt_symbol {
    char *name;             /* NULL for a derived symbol (expr) */
    char *expr;             /* derived only, as written */
    bool from_input;        /* named, bound from an input shape */
} rt_symbol;

typedef struct rt_step {
    char *node;
    int32_t kernel;         /* loop step: kernel index; -1 for a library step */
    char *lib;              /* library step: routine name */
    rt_lib_fn fn;           /* resolved at load; NULL when unavailable */
    rt_attrs *attrs;
    int32_t *in, *out;      /* loop: out[0] is `out`, in are `reads` */
    uint32_t n_in, n_out;
} rt_step;

typedef struct rt_manifest {
    rt_symbol *syms;
    uint32_t n_syms;
    rt_buffer *bufs;
    uint32_t n_bufs;
    uint32_t *inputs, *outputs;
    uint32_t n_inputs, n_outputs;
    rt_step *steps;
    uint32_t n_steps;
    char *triple, *cpu, *features;
    uint64_t arena_bytes;   /* 0 when absent */
} rt_manifest;

struct smelt_model {
    const smelt_model_desc *desc;
    void *dl;               /* dlopen handle, NULL for smelt_load_desc */
    char *name;             /* file or model name, for messages */
    rt_manifest man;
    smelt_tensor_info *in_info, *out_info;
    int64_t *info_dims;     /* backing store of the infos' dims */
    const char **info_names;
};

/* Parse text (len bytes) into m, checking it against an artifact with
 * n_kernels kernels and weights_len bytes of weights; every structural error
 * is reported with `what` (the artifact's name) in err. m is zeroed first;
 * free with rt_manifest_free, also after a failure. */
int rt_manifest_parse(rt_manifest *m, const char *text, size_t len, uint32_t n_kernels, uint64_t weights_len,
                      const char *what, char *err, size_t err_size);
void rt_manifest_free(rt_manifest *m);

/* Refuse a manifest built for another architecture or for CPU features the
 * host lacks: 0, or -1 with a message naming `what` and the feature. */
int rt_target_check(const rt_manifest *m, const char *what, char *err, size_t err_size);

/* The manifest's named section `key` (docs/artifact.md: {"format": F,
 * "base": B, "bytes": N, ...}, N bytes at weights + B): 0 with its format
 * and bytes, checked to lie in the weights; 1 when the manifest has no such
 * key; -1 with a message naming the artifact when it is malformed. */
int rt_model_section(const smelt_model *m, const char *key, int64_t *format, const unsigned char **data,
                     uint64_t *len, char *err, size_t err_size);

/* Use fn for every library step of m named `lib` (tests, and embedders with
 * routines of their own). Returns the number of steps bound. */
int rt_model_set_lib(smelt_model *m, const char *lib, rt_lib_fn fn);

#endif
