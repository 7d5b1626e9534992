/* tensor_io.c — .npy / .pb tensor files <-> interpreter tensors. The npy
 * module (runtime/npy.c) has its own dtype enum so that the runtime does not
 * depend on the compiler; the table below is the one mapping between them.
 *
 * Dtypes that numpy has no type for (bf16, the float8 / float4 types, 4- and
 * 2-bit ints) are stored in a numpy container, one element per container
 * element, and a sidecar text file beside it, the .npy path with ".dtype"
 * appended (out/y.npy -> out/y.npy.dtype), names the real dtype in one line
 * ("bf16").
 * Floats keep their bit pattern ('<u2' for bf16, '|u1' for 8- and 4-bit
 * floats, a 4-bit code in the low bits); integers keep their value ('|i1' for
 * i4 / i2, '|u1' for u4 / u2), so that numpy (with ml_dtypes: .view() for the
 * floats, .astype() for the ints) gets the exact values back. Reading a .npy
 * honours the sidecar the same way.
 */
#include "tensor_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx/onnx_pb.h"
#include "ir/mapfile.h"
#include "ir/outfile.h"
#include "runtime/npy.h"

static const struct { npy_dtype npy; ir_dtype ir; } npy_map[] = {
    {NPY_F32, IR_F32}, {NPY_F64, IR_F64}, {NPY_F16, IR_F16}, {NPY_I8, IR_I8},   {NPY_I16, IR_I16},
    {NPY_I32, IR_I32}, {NPY_I64, IR_I64}, {NPY_U8, IR_U8},   {NPY_U16, IR_U16}, {NPY_U32, IR_U32},
    {NPY_U64, IR_U64}, {NPY_BOOL, IR_BOOL},
};
#define N_NPY_MAP (sizeof npy_map / sizeof npy_map[0])

/* Dtypes written in a container with a sidecar (see the top of the file). */
static const struct { ir_dtype ir; npy_dtype npy; } container_map[] = {
    {IR_BF16, NPY_U16},     {IR_F8E4M3FN, NPY_U8}, {IR_F8E4M3FNUZ, NPY_U8}, {IR_F8E5M2, NPY_U8},
    {IR_F8E5M2FNUZ, NPY_U8}, {IR_F8E8M0, NPY_U8},  {IR_F4E2M1, NPY_U8},     {IR_I4, NPY_I8},
    {IR_U4, NPY_U8},         {IR_I2, NPY_I8},      {IR_U2, NPY_U8},
};
#define N_CONTAINER_MAP (sizeof container_map / sizeof container_map[0])

static npy_dtype container_of(ir_dtype t) {
    for (size_t i = 0; i < N_CONTAINER_MAP; i++)
        if (container_map[i].ir == t) return container_map[i].npy;
    return NPY_DTYPE_COUNT;
}

static void sidecar_path(char *buf, size_t size, const char *npy_path) { snprintf(buf, size, "%s.dtype", npy_path); }

/* Packed elements (2 or 4 per byte) <-> one per byte; signed ints sign-extended. */
static void unpack_elems(ir_dtype t, const uint8_t *in, uint8_t *out, int64_t n) {
    int per = (int)ir_dtype_get(t)->block_elems, bits = 8 / per;
    bool sext = ir_dtype_is_int(t) && ir_dtype_is_signed(t);
    for (int64_t i = 0; i < n; i++) {
        unsigned v = (in[i / per] >> ((i % per) * bits)) & ((1u << bits) - 1);
        if (sext && (v >> (bits - 1))) v |= ~0u << bits;
        out[i] = (uint8_t)v;
    }
}

static void pack_elems(ir_dtype t, const uint8_t *in, uint8_t *out, int64_t n) {
    int per = (int)ir_dtype_get(t)->block_elems, bits = 8 / per;
    memset(out, 0, (size_t)((n + per - 1) / per));
    for (int64_t i = 0; i < n; i++) out[i / per] |= (uint8_t)((in[i] & ((1u << bits) - 1)) << ((i % per) * bits));
}

static int64_t numel_of(const int64_t *shape, int rank) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= shape[i];
    return n;
}

/* The dtype named by PATH.dtype: IR_DTYPE_NONE when there is no sidecar. */
static int read_sidecar(const char *npy_path, ir_dtype *t, diag *d) {
    char side[4200], name[64] = "";
    sidecar_path(side, sizeof side, npy_path);
    *t = IR_DTYPE_NONE;
    FILE *f = fopen(side, "r");
    if (!f) return 0;
    bool ok = fgets(name, sizeof name, f) != NULL;
    fclose(f);
    name[strcspn(name, "\r\n")] = 0;
    *t = ok ? ir_dtype_from_name(name, -1) : IR_DTYPE_NONE;
    if (*t == IR_DTYPE_NONE || container_of(*t) == NPY_DTYPE_COUNT)
        return diag_error(d, "%s: '%s' is not a dtype stored in a .npy container", side, name);
    return 0;
}

static int write_sidecar(const char *npy_path, ir_dtype t, diag *d) {
    char side[4200];
    sidecar_path(side, sizeof side, npy_path);
    if (t == IR_DTYPE_NONE) {
        if (unlink(side) != 0 && errno != ENOENT) return diag_error(d, "%s: cannot remove: %s", side, strerror(errno));
        return 0;
    }
    outfile o;
    if (outfile_open(&o, side, d)) return -1;
    fprintf(o.f, "%s\n", ir_dtype_name(t));
    return outfile_commit(&o, d);
}

/* A .npy container array of the declared dtype t -> t's storage, in place. */
static int from_container(const char *path, interp_tensor *t, ir_dtype real, npy_dtype have, diag *d) {
    if (have != container_of(real))
        return diag_error(d, "%s: a %s tensor must be stored as %s, the file holds %s", path, ir_dtype_name(real),
                          npy_dtype_descr(container_of(real)), npy_dtype_descr(have));
    t->dtype = real;
    if (ir_dtype_get(real)->block_elems > 1) {
        int64_t n = numel_of(t->shape, t->rank);
        uint8_t *packed = malloc((size_t)ir_dtype_storage_bytes(real, n) + 1), *back = malloc((size_t)n + 1);
        if (!packed || !back) {
            free(packed);
            free(back);
            return diag_error(d, "%s: out of memory", path);
        }
        pack_elems(real, t->data, packed, n);
        unpack_elems(real, packed, back, n);
        bool fits = n == 0 || !memcmp(back, t->data, (size_t)n);
        free(back);
        if (!fits) {
            free(packed);
            return diag_error(d, "%s: a value does not fit in %s", path, ir_dtype_name(real));
        }
        free(t->data);
        t->data = packed;
        t->nbytes = (size_t)ir_dtype_storage_bytes(real, n);
    }
    return 0;
}

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
    ir_dtype real;
    if (read_sidecar(path, &real, d) || (real != IR_DTYPE_NONE && from_container(path, t, real, a.dtype, d))) {
        free(t->data);
        t->data = NULL;
        return -1;
    }
    *pb_name = strdup("");
    return 0;
}

int tensor_write_npy(const char *path, const interp_tensor *t, diag *d) {
    npy_array a;
    memset(&a, 0, sizeof a);
    size_t i;
    for (i = 0; i < N_NPY_MAP && npy_map[i].ir != t->dtype; i++) {}
    npy_dtype container = container_of(t->dtype);
    if (i == N_NPY_MAP && container == NPY_DTYPE_COUNT)
        return diag_error(d, "%s: a %s tensor cannot be written as .npy", path, ir_dtype_name(t->dtype));
    a.dtype = i < N_NPY_MAP ? npy_map[i].npy : container;
    a.rank = t->rank;
    for (int k = 0; k < t->rank; k++) a.shape[k] = t->shape[k];
    a.data = t->data;
    a.nbytes = t->nbytes;
    void *unpacked = NULL;
    if (ir_dtype_get(t->dtype)->block_elems > 1) { /* packed sub-byte elements: one per byte */
        int64_t n = numel_of(t->shape, t->rank);
        unpacked = malloc((size_t)n + 1);
        if (!unpacked) return diag_error(d, "%s: out of memory", path);
        unpack_elems(t->dtype, t->data, unpacked, n);
        a.data = unpacked;
        a.nbytes = (size_t)n;
    }
    char err[512];
    int rc = npy_write_file(path, &a, err, sizeof err) ? diag_error(d, "%s", err) : 0;
    free(unpacked);
    if (rc == 0) rc = write_sidecar(path, i < N_NPY_MAP ? IR_DTYPE_NONE : t->dtype, d);
    return rc;
}
