/* cmd_generate.c — `smelt run MODEL --prompt TEXT -n N [...]`: text
 * generation. MODEL is a GGUF file (its generation step is compiled for this
 * CPU in memory; the tokenizer and chat template come from the file) or an
 * artifact made from one by `smelt compile` (which carries them). The text is
 * printed as it is generated, the speeds at the end (on stderr).
 * For tests, --prompt-ids gives the prompt as token ids, --print-ids prints
 * the generated ids, and --eval-ids IDS --logits-out F.npy writes the logits
 * of every position of IDS run through the decode path (the prompt-ids at
 * once, then one token per step) instead of generating. --target vulkan
 * [--device N] runs the steps with the Vulkan executor attached to the
 * generator's session (the SPIR-V the artifact carries; a GGUF file is
 * compiled with it), or on the CPU, said on stderr, without a device.
 * --ignore-eos (benchmarks: always n tokens) does not stop at the end of
 * generation and prints ids, not text; --profile prints the device time of
 * each dispatch of the last step (vulkan) or the wall time of each step of
 * the compiled model summed over prefill and decode steps, mean per run
 * (cpu; with -n 1 the prefill alone) on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "cli.h"
#include "frontend/gguf/gguf_import.h"
#include "frontend/gguf/gguf_vocab.h"
#include "frontend/load.h"
#include "gen_model.h"
#include "runtime/chat_template.h"
#include "runtime/generate.h"
#include "runtime/npy.h"
#include "runtime/vulkan/vk.h"
#include "run_vulkan.h"
#include "step_profile.h"

extern const cli_verb verb_run;

typedef struct gen_opts {
    const char *model, *prompt, *prompt_ids, *eval_ids, *logits_out;
    int64_t n_predict, n_ctx;
    int threads, chat, print_ids, vulkan, ignore_eos;
    cli_vk_opts vk;
    rt_sampler_params sp;
} gen_opts;

static int parse_ids(const char *s, int32_t **ids, int64_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    *ids = malloc(cap * sizeof **ids);
    *n = 0;
    if (!*ids) return -1;
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX) return -1;
        (*ids)[(*n)++] = (int32_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return *n ? 0 : -1;
}

static int emit_text(void *ctx, int32_t token, const char *piece, size_t len) {
    (void)ctx;
    (void)token;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* The prompt's token ids: --prompt-ids, or the text (with --chat, rendered
 * by the model's chat template as one user message). */
static int prompt_tokens(const gen_opts *go, const gen_model *gm, int32_t **ids, int64_t *n, diag *d) {
    if (go->prompt_ids) {
        if (parse_ids(go->prompt_ids, ids, n)) return diag_error(d, "--prompt-ids: expected ids like 1,2,3");
        return 0;
    }
    if (!gm->tok)
        return diag_error(d, "%s: the model carries no tokenizer (compile it from a GGUF file with one, or use "
                          "--prompt-ids)", go->model);
    char *text = NULL;
    const char *src = go->prompt;
    if (go->chat) {
        if (!gm->has_chat) return diag_error(d, "%s: no chat template this version knows", go->model);
        rt_chat_msg msg = {"user", go->prompt};
        size_t bl = 0, el = 0;
        const char *bos = rt_tok_text(gm->tok, rt_tok_bos(gm->tok), &bl), *eos = rt_tok_text(gm->tok, rt_tok_eos(gm->tok), &el);
        size_t len = rt_chat_apply(&gm->chat, &msg, 1, true, bos ? bos : "", eos ? eos : "", NULL, 0);
        if (!(text = malloc(len + 1))) return diag_error(d, "out of memory");
        rt_chat_apply(&gm->chat, &msg, 1, true, bos ? bos : "", eos ? eos : "", text, len + 1);
        src = text;
    }
    size_t len = strlen(src);
    long k = rt_tokenize(gm->tok, src, len, !go->chat, true, NULL, 0);
    *ids = k >= 0 ? malloc((size_t)(k ? k : 1) * sizeof **ids) : NULL;
    if (!*ids) {
        free(text);
        return diag_error(d, "out of memory");
    }
    *n = rt_tokenize(gm->tok, src, len, !go->chat, true, *ids, (size_t)k);
    free(text);
    return *n > 0 ? 0 : diag_error(d, "the prompt has no tokens");
}

/* The generator's KV cache and logits in the Vulkan executor's memory,
 * bound in place (rt_gen_set_memory). */
static void *vk_alloc(void *x, uint64_t bytes, bool host_reads) { return rt_vk_host_alloc(x, bytes, host_reads); }
static void vk_release(void *x, void *p) { rt_vk_host_free(x, p); }

/* --eval-ids: the logits of every position, as a .npy [n, vocab]. */
static int eval_logits(rt_gen *g, const int32_t *pre, int64_t n_pre, const gen_opts *go, diag *d) {
    int32_t *ids;
    int64_t n;
    char err[1024];
    if (parse_ids(go->eval_ids, &ids, &n)) return diag_error(d, "--eval-ids: expected ids like 1,2,3");
    int64_t V = rt_gen_n_vocab(g), total = n_pre + n;
    float *all = malloc((size_t)(total * V) * sizeof *all);
    const float *lg;
    int rc = all ? 0 : diag_error(d, "out of memory");
    if (rc == 0 && rt_gen_eval(g, pre, n_pre, true, &lg, err, sizeof err)) rc = diag_error(d, "%s", err);
    if (rc == 0) memcpy(all, lg, (size_t)(n_pre * V) * sizeof *all);
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        if (rt_gen_eval(g, &ids[i], 1, true, &lg, err, sizeof err)) rc = diag_error(d, "%s", err);
        else memcpy(all + (n_pre + i) * V, lg, (size_t)V * sizeof *all);
    }
    if (rc == 0) {
        npy_array a = {.dtype = NPY_F32, .rank = 2, .shape = {total, V}, .data = all,
                       .nbytes = (size_t)(total * V) * sizeof(float)};
        char msg[512];
        if (npy_write_file(go->logits_out, &a, msg, sizeof msg)) rc = diag_error(d, "%s", msg);
    }
    free(all);
    free(ids);
    return rc;
}

static int generate(const gen_opts *go, diag *d) {
    gen_model gm;
    if (gen_model_open(go->model, go->vulkan, &gm, d)) return -1;
    rt_gen *g = NULL;
    rt_vk *vk = NULL;
    rt_vk_exec *x = NULL;
    cli_step_profile prof = {0};
    int32_t *ids = NULL, *out = NULL;
    int64_t n = 0;
    char err[1024];
    int rc = -1;
    if (rt_gen_new(gm.m, go->threads, go->n_ctx, &g, err, sizeof err)) {
        diag_error(d, "%s: %s", go->model, err);
        goto done;
    }
    if (go->vulkan && cli_vk_attach_session(rt_gen_session(g), &go->vk, &vk, &x, d) < 0) goto done;
    if (x && rt_gen_set_memory(g, &(rt_gen_memory){x, vk_alloc, vk_release}, err, sizeof err)) {
        diag_error(d, "%s: %s", go->model, err);
        goto done;
    }
    if (!go->vulkan && go->vk.profile) {
        if (cli_step_profile_attach(&prof, rt_gen_session(g))) {
            diag_error(d, "out of memory");
            goto done;
        }
        prof.skip = 0; /* every step of the generation counts */
    }
    if (prompt_tokens(go, &gm, &ids, &n, d)) goto done;
    if (go->eval_ids) {
        rc = eval_logits(g, ids, n, go, d);
        goto done;
    }
    if (!(out = malloc((size_t)(go->n_predict ? go->n_predict : 1) * sizeof *out))) {
        diag_error(d, "out of memory");
        goto done;
    }
    rt_gen_stats st;
    if (rt_generate(g, go->ignore_eos ? NULL : gm.tok, ids, n, &go->sp, go->n_predict, go->print_ids ? NULL : emit_text, NULL, out, &st, err,
                    sizeof err)) {
        diag_error(d, "%s: %s", go->model, err);
        goto done;
    }
    if (go->print_ids) {
        for (int64_t i = 0; i < st.n_gen; i++) printf("%s%d", i ? "," : "", out[i]);
    }
    printf("\n");
    fflush(stdout); /* the text ends before the speeds on stderr */
    fprintf(stderr, "prompt: %lld tokens in %.1f ms, %.2f tokens/s\n", (long long)st.n_prompt, st.prompt_ms,
            st.prompt_ms > 0 ? 1000.0 * (double)st.n_prompt / st.prompt_ms : 0.0);
    fprintf(stderr, "generation: %lld tokens, %lld decode steps in %.1f ms, %.2f tokens/s\n", (long long)st.n_gen,
            (long long)st.n_decode, st.gen_ms, st.gen_ms > 0 ? 1000.0 * (double)st.n_decode / st.gen_ms : 0.0);
    if (x && go->vk.profile) cli_vk_print_profile(stderr, x, rt_gen_session(g)); /* the last decode step */
    if (prof.ms) cli_step_profile_print(&prof, getenv("SMELT_PROFILE_ALL") ? 1 << 30 : 25, stderr);
    rc = 0;
done:
    cli_step_profile_free(&prof);
    free(ids);
    free(out);
    rt_gen_free(g); /* the session before its executor */
    rt_vk_exec_free(x);
    rt_vk_close(vk);
    gen_model_close(&gm);
    return rc;
}

static int num(const char *s, double lo, double hi, double *v) {
    char *end;
    *v = strtod(s, &end);
    return end == s || *end || *v < lo || *v > hi ? -1 : 0;
}

int cli_generate(int argc, char **argv) {
    gen_opts go = {.n_predict = 128, .n_ctx = 0, .vk = {-1, 0, 0}};
    const char *target = "cpu";
    rt_sampler_defaults(&go.sp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v;
        if (!strcmp(a, "--chat")) { go.chat = 1; continue; }
        if (!strcmp(a, "--print-ids")) { go.print_ids = 1; continue; }
        if (!strcmp(a, "--profile")) { go.vk.profile = 1; continue; }
        if (!strcmp(a, "--ignore-eos")) { go.ignore_eos = go.print_ids = 1; continue; } /* for benchmarks */
        if (a[0] != '-') {
            if (go.model) return cli_usage_error(&verb_run, "more than one model given");
            go.model = a;
            continue;
        }
        if (i + 1 >= argc) return cli_usage_error(&verb_run, "%s needs a value", a);
        const char *s = argv[++i];
        if (!strcmp(a, "--prompt")) go.prompt = s;
        else if (!strcmp(a, "--prompt-ids")) go.prompt_ids = s;
        else if (!strcmp(a, "--eval-ids")) go.eval_ids = s;
        else if (!strcmp(a, "--target")) target = s;
        else if (!strcmp(a, "--device") && !num(s, 0, 1 << 16, &v)) go.vk.device = (int)v;
        else if (!strcmp(a, "--logits-out")) go.logits_out = s;
        else if (!strcmp(a, "-n") && !num(s, 0, 1 << 24, &v)) go.n_predict = (int64_t)v;
        else if (!strcmp(a, "--ctx") && !num(s, 1, 1 << 24, &v)) go.n_ctx = (int64_t)v;
        else if (!strcmp(a, "--threads") && !num(s, 0, 1024, &v)) go.threads = (int)v;
        else if (!strcmp(a, "--temp") && !num(s, -1, 100, &v)) go.sp.temp = (float)v;
        else if (!strcmp(a, "--top-k") && !num(s, 0, 1 << 30, &v)) go.sp.top_k = (int32_t)v;
        else if (!strcmp(a, "--top-p") && !num(s, 0, 1, &v)) go.sp.top_p = (float)v;
        else if (!strcmp(a, "--min-p") && !num(s, 0, 1, &v)) go.sp.min_p = (float)v;
        else if (!strcmp(a, "--repeat-penalty") && !num(s, 0, 100, &v)) go.sp.repeat_penalty = (float)v;
        else if (!strcmp(a, "--repeat-last-n") && !num(s, 0, 1 << 24, &v)) go.sp.repeat_last_n = (int32_t)v;
        else if (!strcmp(a, "--seed") && !num(s, 0, 1.8e19, &v)) go.sp.seed = (uint64_t)v;
        else return cli_usage_error(&verb_run, "bad option or value: %s %s", a, s);
    }
    if (!go.model) return cli_usage_error(&verb_run, "no model given");
    if (!go.prompt == !go.prompt_ids) return cli_usage_error(&verb_run, "give one of --prompt TEXT, --prompt-ids IDS");
    if (!go.eval_ids != !go.logits_out) return cli_usage_error(&verb_run, "--eval-ids and --logits-out go together");
    if (!go.n_ctx) go.n_ctx = 2048;
    go.vulkan = !strcmp(target, "vulkan");
    go.vk.verbose = getenv("SMELT_VK_VERBOSE") != NULL;
    if (!go.vulkan && strcmp(target, "cpu"))
        return cli_usage_error(&verb_run, "generation runs on --target cpu or vulkan, not '%s'", target);
    if (go.vk.device >= 0 && !go.vulkan) return cli_usage_error(&verb_run, "--device needs --target vulkan");
    diag d;
    diag_init(&d);
    return generate(&go, &d) ? cli_fail(&d) : EXIT_OK;
}
