/* cmd_tokenize.c — `smelt tokenize MODEL`: runs the runtime's tokenizer
 * (runtime/tokenizer.h) on text, built from the GGUF file's tokenizer keys
 * through the record a compiled artifact carries (runtime/tokenizer_blob.h),
 * or from an artifact's own record.
 * It prints one line of token ids per input; the test suite compares them
 * with llama.cpp's test vectors (tests/tokenizer). --sep splits the text
 * into several inputs the way llama.cpp's test-tokenizer-0 splits its .inp
 * files; --decode adds the decoded text of each input, escaped, for the
 * round-trip check. --chat renders messages (a JSON list of {role, content})
 * with the model's chat template (runtime/chat_template.h) and tokenizes
 * the prompt, or prints it with --print-prompt. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "runtime/chat_template.h"
#include "gen_model.h"

static int run_tokenize(int argc, char **argv);

const cli_verb verb_tokenize = {
    "tokenize", "turn text into the token ids of a GGUF model's tokenizer",
    "usage: smelt tokenize MODEL (--text TEXT | --text-file FILE) [--sep MARK]\n"
    "                      [--add-special] [--parse-special] [--decode] [--pieces] [--time]\n\n"
    "Prints the token ids of the text, separated by spaces, one line per input.\n"
    "MODEL is a GGUF file or an artifact compiled from one (which carries it).\n"
    "--sep MARK        the text holds several inputs separated by MARK (llama.cpp's\n"
    "                  .inp files use \"\\n__ggml_vocab_test__\\n\")\n"
    "--add-special     add BOS/EOS where the vocabulary asks for them\n"
    "--parse-special   turn control tokens written in the text (<|im_start|>) into\n"
    "                  their ids (user-defined tokens always are)\n"
    "--decode          after each line of ids, a line '> TEXT': the ids decoded\n"
    "                  back, with \\\\ \\n \\r \\t and \\xHH escapes for control bytes\n"
    "--pieces          print id:'piece' pairs instead of bare ids\n"
    "--time            print the tokenizing time and rate on stderr\n"
    "--chat FILE.json  instead of text: messages [{\"role\": .., \"content\": ..}, ..]\n"
    "                  rendered with the model's tokenizer.chat_template (or\n"
    "                  --template-file FILE), ending with the assistant's turn unless\n"
    "                  --no-generation-prompt; tokenized with --parse-special, or\n"
    "                  printed as text with --print-prompt\n",
    run_tokenize};

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *b = realloc(buf, cap *= 2);
        if (!b) free(buf);
        buf = b;
    }
    bool err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') fputs("\\\\", stdout);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7F) printf("\\x%02x", c);
        else putchar(c);
    }
}

typedef struct opts {
    bool add_special, parse_special, decode, pieces;
} opts;

/* Tokenize one input and print its line(s). -1 when out of memory. */
static int one(const rt_tokenizer *t, const char *s, size_t n, const opts *o, size_t *n_tokens) {
    size_t cap = n + 16;
    int32_t *ids = malloc(cap * sizeof *ids);
    if (!ids) return -1;
    long k = rt_tokenize(t, s, n, o->add_special, o->parse_special, ids, cap);
    if (k > (long)cap) {
        free(ids);
        cap = (size_t)k;
        ids = malloc(cap * sizeof *ids);
        if (!ids) return -1;
        k = rt_tokenize(t, s, n, o->add_special, o->parse_special, ids, cap);
    }
    if (k < 0) return free(ids), -1;
    *n_tokens += (size_t)k;
    for (long i = 0; i < k; i++) {
        if (i) putchar(' ');
        printf("%d", ids[i]);
        if (o->pieces) {
            char piece[256];
            size_t m = rt_tok_piece(t, ids[i], true, piece, sizeof piece);
            putchar(':');
            putchar('\'');
            print_escaped(piece, m < sizeof piece ? m : sizeof piece);
            putchar('\'');
        }
    }
    putchar('\n');
    if (o->decode) {
        size_t m = rt_detokenize(t, ids, (size_t)k, false, false, NULL, 0);
        char *text = malloc(m + 1);
        if (!text) return free(ids), -1;
        rt_detokenize(t, ids, (size_t)k, false, false, text, m);
        fputs("> ", stdout);
        print_escaped(text, m);
        putchar('\n');
        free(text);
    }
    free(ids);
    return 0;
}

/* Messages from a JSON file: a list of {"role": .., "content": ..}. */
static rt_chat_msg *read_messages(const char *path, cJSON **root, size_t *n) {
    size_t len;
    char *txt = read_all(path, &len);
    if (!txt) return NULL;
    *root = cJSON_ParseWithLength(txt, len);
    free(txt);
    if (!cJSON_IsArray(*root)) return NULL;
    *n = (size_t)cJSON_GetArraySize(*root);
    rt_chat_msg *m = calloc(*n ? *n : 1, sizeof *m);
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, *root) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "role");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (!m || !cJSON_IsString(r) || !cJSON_IsString(c)) {
            free(m);
            return NULL;
        }
        m[i++] = (rt_chat_msg){r->valuestring, c->valuestring};
    }
    return m;
}

static int run_chat(const char *model, const char *chat, const char *template_file, bool gen, bool print_prompt) {
    diag d;
    diag_init(&d);
    rt_tokenizer *t;
    char *own_tmpl;
    if (gen_tokenizer_open(model, &t, &own_tmpl, &d)) return cli_fail(&d);
    char *tmpl_owned = NULL;
    size_t tlen = own_tmpl ? strlen(own_tmpl) : 0;
    const char *tmpl = own_tmpl;
    if (template_file) tmpl = tmpl_owned = read_all(template_file, &tlen);
    int rc = EXIT_USER;
    rt_chat_template ct;
    cJSON *root = NULL;
    rt_chat_msg *msgs = NULL;
    size_t n = 0;
    if (!tmpl || !tlen) {
        fprintf(stderr, "%s: no chat template (tokenizer.chat_template or --template-file)\n",
                template_file ? template_file : model);
    } else if (rt_chat_detect(tmpl, tlen, &ct)) {
        fprintf(stderr, "%s: the chat template is none of the known ones (ChatML, Llama 3, Gemma, Llama 2, Mistral)\n",
                template_file ? template_file : model);
    } else if (!(msgs = read_messages(chat, &root, &n))) {
        fprintf(stderr, "%s: expected a JSON list of {\"role\": string, \"content\": string}\n", chat);
    } else {
        size_t bl = 0, el = 0;
        const char *bos = rt_tok_text(t, rt_tok_bos(t), &bl), *eos = rt_tok_text(t, rt_tok_eos(t), &el);
        size_t len = rt_chat_apply(&ct, msgs, n, gen, bos ? bos : "", eos ? eos : "", NULL, 0);
        char *prompt = malloc(len + 1);
        if (prompt) {
            rt_chat_apply(&ct, msgs, n, gen, bos ? bos : "", eos ? eos : "", prompt, len + 1);
            size_t n_tokens = 0;
            opts o = {false, true, false, false};
            if (print_prompt) rc = fwrite(prompt, 1, len, stdout) == len ? EXIT_OK : EXIT_USER;
            else rc = one(t, prompt, len, &o, &n_tokens) ? EXIT_USER : EXIT_OK;
            free(prompt);
        }
    }
    free(msgs);
    cJSON_Delete(root);
    free(tmpl_owned);
    free(own_tmpl);
    rt_tok_free(t);
    return rc;
}

static int run_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *text_file = NULL, *sep = NULL, *chat = NULL, *template_file = NULL;
    opts o = {0};
    bool timing = false, gen_prompt = true, print_prompt = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--text") && i + 1 < argc) text = argv[++i];
        else if (!strcmp(a, "--text-file") && i + 1 < argc) text_file = argv[++i];
        else if (!strcmp(a, "--sep") && i + 1 < argc) sep = argv[++i];
        else if (!strcmp(a, "--add-special")) o.add_special = true;
        else if (!strcmp(a, "--parse-special")) o.parse_special = true;
        else if (!strcmp(a, "--decode")) o.decode = true;
        else if (!strcmp(a, "--pieces")) o.pieces = true;
        else if (!strcmp(a, "--time")) timing = true;
        else if (!strcmp(a, "--chat") && i + 1 < argc) chat = argv[++i];
        else if (!strcmp(a, "--template-file") && i + 1 < argc) template_file = argv[++i];
        else if (!strcmp(a, "--no-generation-prompt")) gen_prompt = false;
        else if (!strcmp(a, "--print-prompt")) print_prompt = true;
        else if (a[0] == '-') return cli_usage_error(&verb_tokenize, "unknown option '%s'", a);
        else if (!model) model = a;
        else return cli_usage_error(&verb_tokenize, "unexpected argument '%s'", a);
    }
    if (!model) return cli_usage_error(&verb_tokenize, "no model given");
    if (chat) return run_chat(model, chat, template_file, gen_prompt, print_prompt);
    if (!text == !text_file) return cli_usage_error(&verb_tokenize, "give one of --text and --text-file");
    if (sep && !*sep) return cli_usage_error(&verb_tokenize, "--sep must not be empty");

    diag d;
    diag_init(&d);
    rt_tokenizer *t;
    char *tmpl;
    if (gen_tokenizer_open(model, &t, &tmpl, &d)) return cli_fail(&d);
    free(tmpl);

    size_t len = 0;
    char *owned = NULL;
    if (text_file) {
        owned = read_all(text_file, &len);
        if (!owned) {
            rt_tok_free(t);
            fprintf(stderr, "smelt tokenize: cannot read '%s'\n", text_file);
            return EXIT_USER;
        }
        text = owned;
    } else {
        len = strlen(text);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t n_tokens = 0, sl = sep ? strlen(sep) : 0;
    int rc = 0;
    /* inputs as test-tokenizer-0 reads them: split at each MARK; a MARK at
     * the very end ends the last input */
    for (size_t pos = 0; !rc && (pos < len || (!sep && pos == 0));) {
        const char *next = sep ? memmem(text + pos, len - pos, sep, sl) : NULL;
        size_t end = next ? (size_t)(next - text) : len;
        rc = one(t, text + pos, end - pos, &o, &n_tokens);
        pos = next ? end + sl : len + 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (timing) {
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        fprintf(stderr, "tokenized %zu bytes into %zu tokens in %.3f s (%.2f MB/s)\n", len, n_tokens, s,
                (double)len / 1e6 / (s > 0 ? s : 1e-9));
    }
    free(owned);
    rt_tok_free(t);
    if (rc) {
        fprintf(stderr, "smelt tokenize: out of memory\n");
        return EXIT_USER;
    }
    return EXIT_OK;
}
