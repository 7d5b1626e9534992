/* model.c — load an artifact: smelt_load (a shared object, through dlopen),
 * smelt_load_desc (a model linked into the program), and the questions
 * about a loaded model (its manifest, inputs and outputs).
 *
 * Loading checks the desc's format version, parses the manifest
 * (manifest.c), refuses another CPU (target.c), resolves the library
 * routines of library steps and builds the smelt_tensor_info tables once,
 * so that the info functions only hand out pointers. rt_model_section
 * finds a named section (the tokenizer, ...) in the weights.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ir/dtype.h"
#include "runtime/rt_model.h"

static int build_infos(smelt_model *m) {
    rt_manifest *man = &m->man;
    uint32_t n = man->n_inputs + man->n_outputs, n_dims = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = i < man->n_inputs ? man->inputs[i] : man->outputs[i - man->n_inputs];
        n_dims += (uint32_t)man->bufs[b].rank;
    }
    m->in_info = calloc((size_t)n + 1, sizeof *m->in_info);
    m->info_dims = calloc((size_t)n_dims + 1, sizeof *m->info_dims);
    m->info_names = calloc((size_t)n_dims + 1, sizeof *m->info_names);
    if (!m->in_info || !m->info_dims || !m->info_names) return -1;
    m->out_info = m->in_info + man->n_inputs;
    uint32_t d = 0;
    for (uint32_t i = 0; i < n; i++) {
        const rt_buffer *b = &man->bufs[i < man->n_inputs ? man->inputs[i] : man->outputs[i - man->n_inputs]];
        smelt_tensor_info *t = &m->in_info[i];
        t->name = b->name;
        t->dtype = ir_dtype_name((ir_dtype)b->dtype);
        t->rank = b->rank;
        t->dims = &m->info_dims[d];
        t->dim_names = &m->info_names[d];
        for (int k = 0; k < b->rank; k++, d++) {
            int32_t s = b->dims[k].sym;
            m->info_dims[d] = s < 0 ? b->dims[k].size : -1;
            m->info_names[d] = s < 0 ? NULL : man->syms[s].name ? man->syms[s].name : man->syms[s].expr;
        }
    }
    return 0;
}

int rt_model_set_lib(smelt_model *m, const char *lib, rt_lib_fn fn) {
    int n = 0;
    for (uint32_t i = 0; i < m->man.n_steps; i++)
        if (m->man.steps[i].lib && !strcmp(m->man.steps[i].lib, lib)) {
            m->man.steps[i].fn = fn;
            n++;
        }
    return n;
}

static int load(const smelt_model_desc *desc, const char *name, void *dl, smelt_model **out, char *err,
                size_t err_size) {
    *out = NULL;
    if (!desc) {
        snprintf(err, err_size, "%s: no model description", name);
        return -1;
    }
    if (desc->format_version != SMELT_FORMAT_VERSION) {
        snprintf(err, err_size, "%s: artifact format version %u, this runtime reads version %d", name,
                 desc->format_version, SMELT_FORMAT_VERSION);
        return -1;
    }
    if (!desc->manifest || (desc->n_kernels && !desc->kernels) || !desc->eval_symbols ||
        (desc->weights_len && !desc->weights)) {
        snprintf(err, err_size, "%s: incomplete model description", name);
        return -1;
    }
    smelt_model *m = calloc(1, sizeof *m);
    size_t name_len = strlen(name) + 1;
    if (!m || !(m->name = malloc(name_len))) {
        free(m);
        snprintf(err, err_size, "%s: out of memory", name);
        return -1;
    }
    memcpy(m->name, name, name_len);
    m->desc = desc;
    int rc = rt_manifest_parse(&m->man, desc->manifest, (size_t)desc->manifest_len, desc->n_kernels,
                               desc->weights_len, name, err, err_size);
    if (!rc) rc = rt_target_check(&m->man, name, err, err_size);
    if (!rc && build_infos(m)) {
        snprintf(err, err_size, "%s: out of memory", name);
        rc = -1;
    }
    if (rc) {
        smelt_model_free(m);
        return -1;
    }
    for (uint32_t i = 0; i < m->man.n_steps; i++)
        if (m->man.steps[i].lib) m->man.steps[i].fn = rt_lib_find(m->man.steps[i].lib);
    m->dl = dl;
    *out = m;
    return 0;
}

int smelt_load_desc(const smelt_model_desc *desc, const char *name, smelt_model **out, char *err, size_t err_size) {
    return load(desc, name ? name : "model", NULL, out, err, err_size);
}

int smelt_load(const char *path, smelt_model **out, char *err, size_t err_size) {
    *out = NULL;
    /* dlopen searches the library path for a bare name; a file is meant */
    char buf[4096];
    if (!strchr(path, '/')) {
        snprintf(buf, sizeof buf, "./%s", path);
    } else {
        snprintf(buf, sizeof buf, "%s", path);
    }
    void *dl = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(err, err_size, "%s: cannot load: %s", path, e ? e : "unknown error");
        return -1;
    }
    const smelt_model_desc *desc = dlsym(dl, SMELT_MODEL_SYMBOL);
    if (!desc) {
        snprintf(err, err_size, "%s: no symbol '%s' (not a smelt artifact, or compiled with --name)", path,
                 SMELT_MODEL_SYMBOL);
        dlclose(dl);
        return -1;
    }
    if (load(desc, path, dl, out, err, err_size)) {
        dlclose(dl);
        return -1;
    }
    return 0;
}

void smelt_model_free(smelt_model *m) {
    if (!m) return;
    rt_manifest_free(&m->man);
    free(m->in_info);
    free(m->info_dims);
    free(m->info_names);
    free(m->name);
    if (m->dl) dlclose(m->dl);
    free(m);
}

const char *smelt_manifest(const smelt_model *m) { return m->desc->manifest; }
int smelt_num_inputs(const smelt_model *m) { return (int)m->man.n_inputs; }
int smelt_num_outputs(const smelt_model *m) { return (int)m->man.n_outputs; }

int smelt_input_info(const smelt_model *m, int i, smelt_tensor_info *out) {
    if (i < 0 || (uint32_t)i >= m->man.n_inputs) return -1;
    *out = m->in_info[i];
    return 0;
}

int smelt_output_info(const smelt_model *m, int i, smelt_tensor_info *out) {
    if (i < 0 || (uint32_t)i >= m->man.n_outputs) return -1;
    *out = m->out_info[i];
    return 0;
}

static int section_num(const cJSON *o, const char *key, double hi, int64_t *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0 && x->valuedouble <= hi) ||
        x->valuedouble != (double)(int64_t)x->valuedouble)
        return -1;
    *v = (int64_t)x->valuedouble;
    return 0;
}

int rt_model_section(const smelt_model *m, const char *key, int64_t *format, const unsigned char **data,
                     uint64_t *len, char *err, size_t err_size) {
    const smelt_model_desc *d = m->desc;
    cJSON *root = cJSON_ParseWithLength(d->manifest, d->manifest_len);
    const cJSON *s = root ? cJSON_GetObjectItemCaseSensitive(root, key) : NULL;
    int64_t base, bytes;
    int rc = s ? 0 : 1;
    if (!root) {
        snprintf(err, err_size, "%s: the manifest is not JSON (or out of memory)", m->name);
        rc = -1;
    } else if (s && (!cJSON_IsObject(s) || section_num(s, "format", 1e9, format) ||
                     section_num(s, "base", (double)d->weights_len, &base) ||
                     section_num(s, "bytes", (double)d->weights_len, &bytes) ||
                     (uint64_t)bytes > d->weights_len - (uint64_t)base)) {
        snprintf(err, err_size, "%s: the manifest's %s section is malformed (format, base and bytes within the %llu "
                 "bytes of weights)", m->name, key, (unsigned long long)d->weights_len);
        rc = -1;
    } else if (s) {
        *data = d->weights + base;
        *len = (uint64_t)bytes;
    }
    cJSON_Delete(root);
    return rc;
}
