/* tensor_io.c — .npy / .pb tensor files <-> interpreter tensors. The npy
 * module (runtime/npy.c) has its own dtype enum so that the runtime does not
 * depend on the compiler; the table below is the one mapping between them. */
#include "tensor_io.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_pb.h"
#include "ir/mapfile.h"
#include "runtime/npy.h"

static const struct { npy_dtype npy; ir_dtype ir; } npy_map[] = {
    {NPY_F32, IR_F32}, {NPY_F64, IR_F64}, {NPY_F16, IR_F16}, {NPY_I8, IR_I8},   {NPY_I16, IR_I16},
    {NPY_I32, IR_I32}, {NPY_I64, IR_I64}, {NPY_U8, IR_U8},   {NPY_U16, IR_U16}, {NPY_U32, IR_U32},
    {NPY_U64, IR_U64}, {NPY_BOOL, IR_BOOL},
};
#define N_NPY_MAP (sizeof npy_map / sizeof npy_map[0])

static int read_pb(const char *path, interp_tensor *t, char **pb_name, diag *d) {
    const uint8_t *base;
    size_t size;
    if (map_file(path, &base, &size, d)) return -1;
    arena a;
    arena_init(&a);
    onnx_tensor *ot;
    int rc = -1;
    if (onnx_pb_decode_tensor(base, size, path, &a, &ot, d)) goto out;
    ir_dtype dt = ir_dtype_from_onnx(ot->data_type);
    if (dt == IR_DTYPE_NONE) {
        diag_error(d, "%s: tensor '%s' has data type %s, which smelt does not support", path, ot->name,
                   onnx_dtype_name(ot->data_type));
        goto out;
    }
    if (ot->ndims > IR_MAX_RANK) {
        diag_error(d, "%s: tensor '%s' has rank %zu, more than %d", path, ot->name, ot->ndims, IR_MAX_RANK);
        goto out;
    }
    const uint8_t *bytes;
    size_t nbytes;
    if (onnx_tensor_bytes(ot, &a, &bytes, &nbytes, d)) goto out;
    t->dtype = dt;
    t->rank = (int)ot->ndims;
    for (size_t i = 0; i < ot->ndims; i++) t->shape[i] = ot->dims[i];
    t->nbytes = nbytes;
    t->data = malloc(nbytes ? nbytes : 1);
    *pb_name = strdup(ot->name);
    if (!t->data || !*pb_name) {
        free(t->data);
        free(*pb_name);
        diag_error(d, "%s: out of memory", path);
        goto out;
    }
    if (nbytes) memcpy(t->data, bytes, nbytes);
    rc = 0;
out:
    arena_free(&a);
    unmap_file(base, size);
    return rc;
}

int tensor_read(const char *path, interp_tensor *t, char **pb_name, diag *d) {
    memset(t, 0, sizeof *t);
    *pb_name = NULL;
    size_t len = strlen(path);
    if (len > 3 && !strcmp(path + len - 3, ".pb")) return read_pb(path, t, pb_name, d);
    npy_array a;
    char err[512];
    if (npy_read_file(path, &a, err, sizeof err)) return diag_error(d, "%s", err);
    if (a.rank > IR_MAX_RANK) {
        npy_free(&a);
        return diag_error(d, "%s: rank %d is more than %d", path, a.rank, IR_MAX_RANK);
    }
    t->dtype = IR_DTYPE_NONE;
    for (size_t i = 0; i < N_NPY_MAP; i++)
        if (npy_map[i].npy == a.dtype) t->dtype = npy_map[i].ir;
    t->rank = a.rank;
    for (int i = 0; i < a.rank; i++) t->shape[i] = a.shape[i];
    t->data = a.data;
    t->nbytes = a.nbytes;
    *pb_name = strdup("");
    return 0;
}

int tensor_write_npy(const char *path, const interp_tensor *t, diag *d) {
    npy_array a;
    memset(&a, 0, sizeof a);
    size_t i;
    for (i = 0; i < N_NPY_MAP && npy_map[i].ir != t->dtype; i++) {}
    if (i == N_NPY_MAP)
        return diag_error(d, "%s: a %s tensor cannot be written as .npy", path, ir_dtype_name(t->dtype));
    a.dtype = npy_map[i].npy;
    a.rank = t->rank;
    for (int k = 0; k < t->rank; k++) a.shape[k] = t->shape[k];
    a.data = t->data;
    a.nbytes = t->nbytes;
    char err[512];
    if (npy_write_file(path, &a, err, sizeof err)) return diag_error(d, "%s", err);
    return 0;
}
