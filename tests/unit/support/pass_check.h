/* pass_check.h — what the tests of the graph passes and of kernel fusion
 * share: parse a graph from IR text, count its live nodes of an op, run it
 * on the reference interpreter on fixed pseudo-random inputs (lowered as
 * is, or fused), and compare two runs' outputs. The oracle of a rewrite is
 * the interpreter's result on the graph before it. */
#ifndef SMELT_PASS_CHECK_H
#define SMELT_PASS_CHECK_H

#include <stdbool.h>

#include "ir/interp.h"

#define PC_MAX_OUT 8

typedef struct pc_result {
    int rc;                      /* 0 when the run worked */
    uint32_t n_out;
    interp_tensor out[PC_MAX_OUT];
    uint32_t kernels;            /* kernels of the program that ran */
} pc_result;

/* Parses text ("t.ir"); NULL (with the message on stderr) on error. */
ir_graph *pc_parse(const char *text);
/* Live nodes of op in g. */
int pc_live(const ir_graph *g, ir_op op);
/* Lowers g (kir_fuse when fuse, then kir_fuse_epilogue when epilogue,
 * then kir_prune) and runs it on inputs drawn from a fixed seed (floats in
 * [-1, 1], integers in [0, 4)). Static input shapes only. */
pc_result pc_run(ir_graph *g, bool fuse, bool epilogue);
/* Same outputs: bit for bit when rtol == 0, else float outputs within
 * rtol * (1 + |a|). */
bool pc_same(const pc_result *a, const pc_result *b, double rtol);
void pc_free(pc_result *r);

#endif
