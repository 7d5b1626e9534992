/* manifest.c — the JSON manifest of docs/artifact.md, written with cJSON:
 * target, weights checksum, symbols, buffers (shapes with symbolic
 * entries, constants' offsets in the weights), inputs, outputs, and the
 * steps: loop kernels with the buffers they write and read, library
 * kernels with their operands and every attribute of the op's schema
 * (defaults included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "codegen/llvm/cg_internal.h"

#define CG_COMPILER "smelt 0.1.0"

static cJSON *shape_json(const kir_buffer *kb) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < kb->rank; i++) {
        cJSON *e;
        if (ir_dim_is_const(kb->dims[i])) e = cJSON_CreateNumber((double)kb->dims[i].c);
        else {
            e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "sym", kb->dims[i].sym);
        }
        cJSON_AddItemToArray(a, e);
    }
    return a;
}

static int64_t static_bytes(const kir_buffer *kb) {
    int64_t n = 1;
    for (int i = 0; i < kb->rank; i++) {
        if (!ir_dim_is_const(kb->dims[i]) || __builtin_mul_overflow(n, kb->dims[i].c, &n)) return -1;
    }
    return ir_dtype_storage_bytes(kb->dtype, n);
}

/* the buffers a loop kernel reads (each once, in first-use order) */
static void collect_reads(const kir_program *p, uint32_t e, unsigned char *seen_e, unsigned char *seen_b,
                          cJSON *reads) {
    if (seen_e[e]) return;
    seen_e[e] = 1;
    const kir_expr *x = &p->exprs[e];
    if (x->op == KX_LOAD && !seen_b[x->buffer]) {
        seen_b[x->buffer] = 1;
        cJSON_AddItemToArray(reads, cJSON_CreateNumber(x->buffer));
    }
    for (uint32_t i = 0; i < x->n_args; i++) collect_reads(p, x->args[i], seen_e, seen_b, reads);
}

static cJSON *attr_json(const ir_graph *g, const ir_attr_schema *s, const ir_attr *a) {
    switch (s->kind) {
    case IR_AK_INT: return cJSON_CreateNumber((double)(a->set ? a->v.i : s->def_i));
    case IR_AK_DTYPE: return cJSON_CreateString(ir_dtype_name((ir_dtype)(a->set ? a->v.i : s->def_i)));
    case IR_AK_FLOAT: return cJSON_CreateNumber((double)(a->set ? a->v.f : s->def_f));
    case IR_AK_STR: {
        const char *v = a->set ? a->v.s : s->def_s;
        return v ? cJSON_CreateString(v) : cJSON_CreateNull();
    }
    case IR_AK_INTS: {
        cJSON *r = cJSON_CreateArray();
        for (uint32_t i = 0; a->set && i < a->count; i++) cJSON_AddItemToArray(r, cJSON_CreateNumber((double)a->v.ints[i]));
        return r;
    }
    case IR_AK_FLOATS: {
        cJSON *r = cJSON_CreateArray();
        for (uint32_t i = 0; a->set && i < a->count; i++) cJSON_AddItemToArray(r, cJSON_CreateNumber(a->v.floats[i]));
        return r;
    }
    case IR_AK_STRS: {
        cJSON *r = cJSON_CreateArray();
        for (uint32_t i = 0; a->set && i < a->count; i++) cJSON_AddItemToArray(r, cJSON_CreateString(a->v.strs[i]));
        return r;
    }
    default: return cJSON_CreateNull(); /* subgraphs are not passed to the runtime */
    }
}

static cJSON *index_array(const uint32_t *v, uint32_t n) {
    cJSON *a = cJSON_CreateArray();
    for (uint32_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i] == KIR_NONE ? -1.0 : v[i]));
    return a;
}

char *cg_manifest(const kir_program *p, const cg_options *o, const char *triple, const char *cpu,
                  const char *features, const int64_t *offset, uint64_t checksum, const int32_t *kernel_of,
                  diag *d) {
    const ir_graph *g = p->g;
    cJSON *m = cJSON_CreateObject();
    unsigned char *seen_e = calloc(p->n_exprs ? p->n_exprs : 1, 1), *seen_b = calloc(p->n_bufs ? p->n_bufs : 1, 1);
    char *out = NULL, buf[256];
    if (!m || !seen_e || !seen_b) goto done;
    cJSON_AddStringToObject(m, "format", "smelt-artifact");
    cJSON_AddNumberToObject(m, "format_version", 1);
    cJSON_AddStringToObject(m, "compiler", CG_COMPILER);
    cJSON_AddStringToObject(m, "model", o && o->model ? o->model : (g->source ? g->source : ""));
    cJSON *t = cJSON_AddObjectToObject(m, "target");
    cJSON_AddStringToObject(t, "triple", triple);
    cJSON_AddStringToObject(t, "cpu", cpu);
    cJSON_AddStringToObject(t, "features", features);
    snprintf(buf, sizeof buf, "fnv1a64:%016llx", (unsigned long long)checksum);
    cJSON_AddStringToObject(m, "checksum", buf);
    cJSON *syms = cJSON_AddArrayToObject(m, "symbols");
    for (uint32_t s = 0; s < g->n_syms; s++) {
        cJSON *e = cJSON_CreateObject();
        if (g->syms[s].kind == IR_SYM_NAMED) cJSON_AddStringToObject(e, "name", g->syms[s].name);
        else {
            ir_dim x = {0, (int32_t)s};
            ir_dim_format(g, x, buf, sizeof buf);
            cJSON_AddStringToObject(e, "expr", buf);
        }
        cJSON_AddItemToArray(syms, e);
    }
    static const char *kinds[] = {"input", "const", "value", "temp"};
    cJSON *bufs = cJSON_AddArrayToObject(m, "buffers");
    int64_t arena_bytes = 0;
    for (uint32_t b = 0; b < p->n_bufs; b++) {
        const kir_buffer *kb = &p->bufs[b];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", kb->name);
        cJSON_AddStringToObject(e, "kind", kinds[kb->kind]);
        cJSON_AddStringToObject(e, "dtype", ir_dtype_name(kb->dtype));
        cJSON_AddItemToObject(e, "shape", shape_json(kb));
        if (kb->kind == KB_CONST) {
            cJSON_AddNumberToObject(e, "offset", (double)offset[b]);
            cJSON_AddNumberToObject(e, "bytes", (double)static_bytes(kb));
        }
        if ((kb->kind == KB_VALUE || kb->kind == KB_TEMP) && arena_bytes >= 0) {
            int64_t n = static_bytes(kb);
            arena_bytes = n < 0 ? -1 : arena_bytes + (n + 63) / 64 * 64;
        }
        cJSON_AddItemToArray(bufs, e);
    }
    cJSON_AddItemToObject(m, "inputs", index_array(p->inputs, p->n_inputs));
    cJSON_AddItemToObject(m, "outputs", index_array(p->outputs, p->n_outputs));
    cJSON *steps = cJSON_AddArrayToObject(m, "steps");
    for (uint32_t k = 0; k < p->n_kernels; k++) {
        const kir_kernel *kn = &p->kernels[k];
        cJSON *e = cJSON_CreateObject();
        if (kn->kind == KK_LOOP) {
            cJSON_AddNumberToObject(e, "kernel", kernel_of[k]);
            cJSON_AddStringToObject(e, "node", kn->name ? kn->name : "");
            cJSON_AddNumberToObject(e, "out", kn->out);
            cJSON *reads = cJSON_AddArrayToObject(e, "reads");
            memset(seen_b, 0, p->n_bufs);
            collect_reads(p, kn->body, seen_e, seen_b, reads);
            if (kn->post != KIR_NONE) collect_reads(p, kn->post, seen_e, seen_b, reads);
            memset(seen_e, 0, p->n_exprs);
        } else {
            const ir_node *nd = &g->nodes[kn->node];
            const ir_op_info *info = ir_op_get(nd->op);
            cJSON_AddStringToObject(e, "lib", kn->lib);
            cJSON_AddStringToObject(e, "node", kn->name ? kn->name : "");
            cJSON_AddStringToObject(e, "op", info->name);
            cJSON_AddItemToObject(e, "in", index_array(kn->lib_in, kn->n_lib_in));
            cJSON_AddItemToObject(e, "out", index_array(kn->lib_out, kn->n_lib_out));
            cJSON *attrs = cJSON_AddObjectToObject(e, "attrs");
            for (uint16_t a = 0; a < info->n_attrs; a++)
                cJSON_AddItemToObject(attrs, info->attrs[a].name, attr_json(g, &info->attrs[a], &nd->attrs[a]));
        }
        cJSON_AddItemToArray(steps, e);
    }
    if (arena_bytes >= 0) {
        cJSON *a = cJSON_AddObjectToObject(m, "arena");
        cJSON_AddNumberToObject(a, "bytes", (double)arena_bytes);
    }
    out = cJSON_PrintUnformatted(m);
done:
    if (!out) diag_error(d, "out of memory writing the manifest");
    cJSON_Delete(m);
    free(seen_e);
    free(seen_b);
    return out;
}
