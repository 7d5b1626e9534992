/* lower_image.c — lowering of the image ops of the loss family.
 * CenterCropPad is one elementwise kernel that reads the input at an offset
 * along each cropped or padded axis (guarded where it pads). Col2Im is a
 * gather like ConvTranspose's: an image point sums the block entries whose
 * window tap lands on it (nn_transpose_pos), one SUM reduction over the
 * block's taps. MaxUnpool scatters X to the positions I names, which is
 * not a loop nest over the output: it is a library kernel (lower_library,
 * runtime/lib_data.c).
 */
#include "image.h"
#include "lower_nn.h"

#define NODE (&p->g->nodes[node])

// y (shape)[o...] = x[o + (in - out) / 2, ...] (the division toward zero:
// a crop starts inside x, a pad before it), 0 where that is outside x
int lower_center_crop_pad(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    uint32_t x = kb_value(p, n->in[0]), out = kb_value(p, n->out[0]);
    int rank = kb_buf(p, x)->rank;
    const ir_dim *in = kb_buf(p, x)->dims, *od = kb_buf(p, out)->dims; /* arena-held */
    ir_dtype t = kb_buf(p, x)->dtype;
    uint32_t idx[IR_MAX_RANK], inside = KIR_NONE;
    for (int a = 0; a < rank; a++) {
        idx[a] = kb_idx(p, a);
        if (ir_dim_eq(in[a], od[a])) continue;
        bool known = ir_dim_is_const(in[a]) && ir_dim_is_const(od[a]);
        uint32_t off = known ? nn_ix(p, (in[a].c - od[a].c) / 2)
                             : kb_bin(p, KX_DIV, kb_bin(p, KX_SUB, kb_dim(p, in[a]), kb_dim(p, od[a])), nn_ix(p, 2));
        idx[a] = kb_bin(p, KX_ADD, idx[a], off);
        if (!known || in[a].c < od[a].c) inside = nn_and(p, inside, nn_in_range(p, idx[a], in[a]));
    }
    uint32_t v = kb_load(p, x, idx);
    if (inside != KIR_NONE) v = kb_select(p, inside, v, kb_const_i(p, t, 0));
    return kb_kernel(p, node, out, v) < 0 ? -1 : 0;
}

// y (N, C, image...)[n, c, o...] = sum over block taps t... of
//     input[n, c * prod(block) + flat(t), flat(q)],  q_i * stride_i = o_i + pad_i - t_i * dilation_i,
// taps without a whole, in-range q reading 0
int lower_col2im(kir_program *p, ir_id node, diag *d) {
    nn_bind_node(p, node);
    const ir_node *n = NODE;
    col2im_geometry geo;
    if (col2im_read(p->g, n, &geo, d)) return -1;
    uint32_t out = kb_value(p, n->out[0]);
    nn_contraction c = {.n = 1, .rrank = geo.w.k};
    c.op[0] = nn_operand_of(p, n->in[0]);
    nn_operand *o = &c.op[0];
    uint32_t tap_flat = nn_ix(p, 0), block_flat = nn_ix(p, 0);
    for (int i = 0; i < geo.w.k; i++) {
        uint32_t tap = kb_ridx(p, i);
        uint32_t q = nn_transpose_pos(p, &geo.w, i, nn_ix(p, geo.w.pads[i]), tap, ir_dim_const(geo.blocks[i]), &o->inside);
        tap_flat = kb_bin(p, KX_ADD, kb_imul(p, tap_flat, geo.w.kernel[i]), tap);
        block_flat = kb_bin(p, KX_ADD, kb_imul(p, block_flat, geo.blocks[i]), q);
        c.red[i] = ir_dim_const(geo.w.kernel[i]);
    }
    o->idx[0] = kb_idx(p, 0);
    o->idx[1] = kb_bin(p, KX_ADD, kb_imul(p, kb_idx(p, 1), geo.block_size), tap_flat);
    o->idx[2] = block_flat;
    return nn_contraction_emit(p, node, out, &c, nn_compute_type(kb_buf(p, out)->dtype), KIR_NONE);
}
