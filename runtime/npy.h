/* npy.h — read and write NumPy .npy files (formats 1.0, 2.0 and 3.0).
 *
 * Deployed smelt executables take their inputs and give their outputs as .npy
 * files, so this reader and writer live in the runtime: plain C11, no other
 * dependency, and no trust in the file. The header dict is parsed as the
 * Python literal it is (any key order, whitespace, trailing commas, either
 * quote, Python 2 `3L` sizes); every size is checked against the bytes the file
 * really has before anything is allocated, and each failure is one message
 * naming the file and the fault, e.g.
 *     x.npy: data has 40 bytes, shape (3, 4) of <f4 needs 48
 *
 * Decisions:
 *  - Big-endian files ('>f4', ...) are accepted and byte-swapped on read; the
 *    array in memory is always in the host's byte order. The writer writes the
 *    host order ('<' on x86-64 and aarch64), exactly as numpy.save would.
 *  - fortran_order True is rejected (transpose in numpy first), as are every
 *    descr outside npy_dtype: complex, strings, objects, structured dtypes, and
 *    raw void ('<V2' is how ml_dtypes saves bfloat16; there is no way to know).
 *  - '|b1' bytes are copied as they are; they are not checked to be 0 or 1.
 *  - The writer emits the exact bytes numpy.save emits for the same array
 *    (format 1.0, header padded with spaces to a multiple of 64 bytes,
 *    including numpy's spare room for growing the first axis), so files are
 *    byte-identical to numpy's and reproducible.
 *
 * Ownership: npy_read_* fill an npy_array whose data is malloc'd, 64-byte
 * aligned and owned by the caller (release with npy_free). Writers only read
 * the array. On failure the functions return -1, leave *out empty and write a
 * message to err (when err is not NULL); on success they return 0.
 */
#ifndef SMELT_RUNTIME_NPY_H
#define SMELT_RUNTIME_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_RANK 16

typedef enum npy_dtype {
    NPY_F32, NPY_F64, NPY_F16,
    NPY_I8, NPY_I16, NPY_I32, NPY_I64,
    NPY_U8, NPY_U16, NPY_U32, NPY_U64,
    NPY_BOOL,
    NPY_DTYPE_COUNT
} npy_dtype;

typedef struct npy_array {
    npy_dtype dtype;
    int rank;                        /* 0 for a scalar */
    int64_t shape[NPY_MAX_RANK];     /* C order; entries past rank are 0 */
    void *data;                      /* host byte order, C order; never NULL after a read */
    size_t nbytes;                   /* product(shape) * npy_dtype_size(dtype) */
} npy_array;

/* Reads the file at path. */
int npy_read_file(const char *path, npy_array *out, char *err, size_t errlen);

/* Reads a .npy image of len bytes at buf; name (or "<memory>") starts messages.
 * The data is copied, buf may be freed afterwards. */
int npy_read_mem(const void *buf, size_t len, const char *name, npy_array *out, char *err,
                 size_t errlen);

/* Writes a to path atomically: a temporary file beside it, then rename(), so a
 * reader never sees a partial file and a failed write leaves the old one. */
int npy_write_file(const char *path, const npy_array *a, char *err, size_t errlen);

/* The same bytes npy_write_file writes, in a malloc'd buffer (free() it). */
int npy_write_mem(const npy_array *a, void **buf, size_t *len, char *err, size_t errlen);

/* Frees a->data and empties *a; safe on an empty or already freed array. */
void npy_free(npy_array *a);

/* Element size in bytes (0 for an invalid dtype). */
size_t npy_dtype_size(npy_dtype t);

/* Little-endian descr of the dtype as numpy writes it: "<f4", "|i1", "|b1", ...
 * ("?" for an invalid dtype). */
const char *npy_dtype_descr(npy_dtype t);

/* Number of elements, product of the shape (1 for a scalar). */
int64_t npy_numel(const npy_array *a);

#endif
