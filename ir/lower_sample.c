#include "lower.h"
int lower_grid_sample(kir_program *p, ir_id node, diag *d) { return ir_node_error(p->g, &p->g->nodes[node], d, "todo"); }
int lower_affine_grid(kir_program *p, ir_id node, diag *d) { return ir_node_error(p->g, &p->g->nodes[node], d, "todo"); }
int lower_roi_align(kir_program *p, ir_id node, diag *d) { return ir_node_error(p->g, &p->g->nodes[node], d, "todo"); }
int lower_deform_conv(kir_program *p, ir_id node, diag *d) { return ir_node_error(p->g, &p->g->nodes[node], d, "todo"); }
