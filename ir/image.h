/* image.h — what inference (infer_image.c) and lowering (lower_image.c) of
 * Col2Im share: its geometry, read once from the node so that both agree.
 */
#ifndef SMELT_IMAGE_H
#define SMELT_IMAGE_H

#include "window.h"

/* Col2Im(input (N, C * prod(block), L), image_shape, block_shape): the
 * window (kernel = block_shape, with the node's strides, pads and
 * dilations) slides over an image of k spatial axes; blocks[i] positions
 * along axis i, L = their product. */
typedef struct col2im_geometry {
    ir_window w;
    int64_t image[IR_MAX_RANK];
    int64_t blocks[IR_MAX_RANK];
    int64_t block_count;   /* prod(blocks): L */
    int64_t block_size;    /* prod(block_shape) */
} col2im_geometry;
int col2im_read(ir_graph *g, const ir_node *n, col2im_geometry *geo, diag *d);

#endif
