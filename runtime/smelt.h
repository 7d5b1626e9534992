/* smelt.h — the public API of the smelt runtime.
 *
 * Load a compiled model (an artifact made by `smelt compile`), ask what it
 * takes and gives, run it, free it. The runtime maps the artifact; weights
 * are used in place. Every function that can fail returns a status and,
 * where given a buffer, writes a message naming the artifact and the tensor.
 *
 *   smelt_model *m;
 *   if (smelt_load("model.so", &m, err, sizeof err)) { puts(err); ... }
 *   smelt_session *s;
 *   smelt_session_new(m, &(smelt_options){.threads = 0}, &s, err, sizeof err);
 *   smelt_set_input(s, 0, x_data, x_shape, 4, err, sizeof err);
 *   smelt_run(s, err, sizeof err);
 *   smelt_get_output(s, 0, &data, shape, &rank);
 */
#ifndef SMELT_H
#define SMELT_H

#include <stddef.h>
#include <stdint.h>

#include "smelt_abi.h"

typedef struct smelt_model smelt_model;
typedef struct smelt_session smelt_session;

typedef struct smelt_options {
    int threads;          /* 0: the machine's cores */
} smelt_options;

typedef struct smelt_tensor_info {
    const char *name;
    const char *dtype;    /* ir/dtype.def name: "f32", "i64", ... */
    int rank;
    const int64_t *dims;  /* -1 where the size is a symbol */
    const char *const *dim_names; /* the symbol's name, NULL where constant */
} smelt_tensor_info;

/* Open an artifact file (shared object). Refuses one built for another CPU
 * (a feature the host lacks) or another format version. */
int smelt_load(const char *path, smelt_model **out, char *err, size_t err_size);
/* Use a model linked into the program (--emit obj / exe). */
int smelt_load_desc(const smelt_model_desc *desc, const char *name, smelt_model **out, char *err, size_t err_size);
void smelt_model_free(smelt_model *m);

const char *smelt_manifest(const smelt_model *m);
int smelt_num_inputs(const smelt_model *m);
int smelt_num_outputs(const smelt_model *m);
int smelt_input_info(const smelt_model *m, int i, smelt_tensor_info *out);
int smelt_output_info(const smelt_model *m, int i, smelt_tensor_info *out);

int smelt_session_new(smelt_model *m, const smelt_options *o, smelt_session **out, char *err, size_t err_size);
void smelt_session_free(smelt_session *s);
/* Bind input i to caller-owned data of the given shape (checked against
 * the manifest; binds its symbols). The data must stay valid until smelt_run
 * returns. */
int smelt_set_input(smelt_session *s, int i, const void *data, const int64_t *shape, int rank, char *err,
                    size_t err_size);
/* Optionally give caller-owned storage for output i (at least the bytes the
 * bound shapes need); otherwise the session owns the output. */
int smelt_set_output(smelt_session *s, int i, void *data, size_t bytes, char *err, size_t err_size);
int smelt_run(smelt_session *s, char *err, size_t err_size);
/* Output i of the last run: data (session- or caller-owned) and shape. */
int smelt_get_output(smelt_session *s, int i, const void **data, int64_t *shape, int *rank);
/* Peak activation bytes of the session's arena for the bound shapes. */
size_t smelt_arena_bytes(const smelt_session *s);

#endif
