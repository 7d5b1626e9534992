/* dce.c — dead-code elimination: a node is kept when one of its outputs is
 * a graph output, is read by a kept node, or is named by a subgraph of a
 * kept node; every other node is marked dead. Walking the nodes backwards
 * (they are in SSA order) settles each node once. Import keeps every node
 * and the other passes leave the nodes they bypass for this one to remove.
 */
#include <stdlib.h>

#include "passes/passes.h"
#include "passes/rewrite.h"

int pass_dce(ir_graph *g, diag *d) {
    bool *live = calloc(g->n_values ? g->n_values : 1, sizeof *live);
    uint32_t *captured = rw_capture_counts(g, d);
    if (!live || !captured) {
        free(live);
        free(captured);
        return live ? -1 : diag_error(d, "%s: out of memory", g->source);
    }
    for (uint32_t o = 0; o < g->n_outputs; o++) live[g->outputs[o]] = true;
    for (uint32_t v = 0; v < g->n_values; v++)
        if (captured[v]) live[v] = true;
    for (uint32_t i = g->n_nodes; i-- > 0;) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        bool keep = false;
        for (uint32_t o = 0; o < n->n_out && !keep; o++) keep = live[n->out[o]];
        if (!keep) {
            n->dead = true;
            continue;
        }
        for (uint32_t k = 0; k < n->n_in; k++)
            if (n->in[k] != IR_NONE) live[n->in[k]] = true;
    }
    free(live);
    free(captured);
    return 0;
}
