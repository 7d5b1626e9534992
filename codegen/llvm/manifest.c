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
#include "ir/kir_memory.h"

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

static cJSON *attr_json(const ir_graph *g, const ir_attr_schema *s, const ir_attr *a) {
    if (!a->set && s->no_default) return cJSON_CreateNull(); /* unset has a meaning of its own */
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
                  const unsigned char *packed_only, const uint64_t *extra_at, diag *d) {
    const ir_graph *g = p->g;
    cJSON *m = cJSON_CreateObject();
    uint32_t *mark = calloc((size_t)p->n_exprs + p->n_bufs, sizeof *mark);
    uint32_t *reads = malloc((p->n_bufs ? p->n_bufs : 1) * sizeof *reads);
    char *out = NULL, buf[256];
    if (!m || !mark || !reads) goto done;
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
            if (packed_only && packed_only[b]) cJSON_AddTrueToObject(e, "packed");
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
            cJSON *rj = cJSON_AddArrayToObject(e, "reads");
            uint32_t n_reads = kir_kernel_reads(p, k, mark, reads);
            for (uint32_t i = 0; i < n_reads; i++) cJSON_AddItemToArray(rj, cJSON_CreateNumber(reads[i]));
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
    /* the runtime's own plan (kir_memory.h) when every size is known */
    kir_memory plan;
    if (kir_memory_plan(p, NULL, &plan, d) == 0) {
        if (plan.known) {
            cJSON *a = cJSON_AddObjectToObject(m, "arena");
            cJSON_AddNumberToObject(a, "bytes", (double)plan.arena_bytes);
        }
        kir_memory_free(&plan);
    }
    for (int i = 0; o && i < o->n_extras; i++) { /* named sections (SPIR-V, tokenizer) */
        const cg_extra *e = &o->extras[i];
        cJSON *x = cJSON_Parse(e->json);
        if (!x || !cJSON_IsObject(x) || cJSON_GetObjectItemCaseSensitive(m, e->key)) {
            cJSON_Delete(x);
            diag_error(d, "the %s section of the manifest is not a JSON object, or a second one", e->key);
            goto done;
        }
        cJSON_AddNumberToObject(x, "base", (double)extra_at[i]);
        cJSON_AddNumberToObject(x, "bytes", (double)e->len);
        cJSON_AddItemToObject(m, e->key, x);
    }
    out = cJSON_PrintUnformatted(m);
done:
    if (!out) diag_error(d, "out of memory writing the manifest");
    cJSON_Delete(m);
    free(mark);
    free(reads);
    return out;
}
