/* tensor_io.h — reading input tensors from .npy or ONNX TensorProto .pb
 * files and writing output tensors as .npy, for `smelt run`. */
#ifndef SMELT_TENSOR_IO_H
#define SMELT_TENSOR_IO_H

#include "ir/interp.h"

/* Reads FILE (.pb = TensorProto, anything else = .npy) into a malloc'd
 * tensor (a .npy with a PATH.dtype sidecar as tensor_write_npy writes it);
 * *pb_name receives the TensorProto's name ("" for .npy), arena-free
 * copy owned by the caller (free it). */
int tensor_read(const char *path, interp_tensor *t, char **pb_name, diag *d);
/* Writes t to path as .npy with its exact dtype (atomically); dtypes numpy
 * lacks go into a container with a sidecar PATH.dtype (see tensor_io.c). */
int tensor_write_npy(const char *path, const interp_tensor *t, diag *d);

#endif
