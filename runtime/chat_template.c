/* chat_template.c — recognizing and writing the chat formats of
 * chat_template.h. Each writer follows its Jinja template line by line for
 * plain text messages (no tools, no images). */
#include "runtime/chat_template.h"

#include <string.h>

#include "runtime/text_out.h"

typedef rt_text_out wbuf;

static void put_n(wbuf *o, const char *s, size_t n) { rt_text_put(o, s, n); }
static void put(wbuf *o, const char *s) { rt_text_put(o, s, strlen(s)); }

static bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Jinja's trim (Python's str.strip(), ASCII whitespace) */
static void put_trimmed(wbuf *o, const char *s) {
    size_t b = 0, e = strlen(s);
    while (b < e && is_space(s[b])) b++;
    while (e > b && is_space(s[e - 1])) e--;
    put_n(o, s + b, e - b);
}

static bool has(const char *t, size_t len, const char *needle) {
    size_t n = strlen(needle);
    return n <= len && memmem(t, len, needle, n) != NULL;
}

/* The text of a Jinja string literal at t[0..len) up to `end`, with \n
 * unescaped, or false when the literal stops before (a quote, an
 * expression) or it does not fit dst. */
static bool literal_until(const char *t, size_t len, const char *end, char *dst, size_t cap) {
    size_t el = strlen(end), k = 0;
    for (size_t i = 0; i < len; i++) {
        if (i + el <= len && !memcmp(t + i, end, el)) {
            dst[k] = 0;
            return true;
        }
        char c = t[i];
        if (c == '\'' || c == '"' || c == '{' || c == '}') return false;
        if (c == '\\' && i + 1 < len) c = t[++i] == 'n' ? '\n' : t[i];
        if (k + 1 >= cap) return false;
        dst[k++] = c;
    }
    return false;
}

/* ChatML's default system prompt: '<|im_start|>system\nTEXT<|im_end|>' as one literal */
static void find_default_system(const char *t, size_t len, rt_chat_template *out) {
    static const char mark[] = "<|im_start|>system";
    for (const char *p = t; (p = memmem(p, len - (size_t)(p - t), mark, sizeof mark - 1)) != NULL; p++) {
        const char *s = p + sizeof mark - 1, *end = t + len;
        /* the newline, escaped in the literal or not */
        if (end - s >= 2 && s[0] == '\\' && s[1] == 'n') s += 2;
        else if (s < end && s[0] == '\n') s++;
        else continue;
        if (literal_until(s, (size_t)(end - s), "<|im_end|>", out->default_system, sizeof out->default_system))
            return;
    }
    out->default_system[0] = 0;
}

/* Llama 3.1+: set date_string = "26 Jul 2024" */
static void find_date(const char *t, size_t len, rt_chat_template *out) {
    static const char mark[] = "set date_string = \"";
    const char *p = memmem(t, len, mark, sizeof mark - 1);
    strcpy(out->date, "26 Jul 2024");
    if (!p) return;
    p += sizeof mark - 1;
    const char *q = memchr(p, '"', len - (size_t)(p - t));
    if (q && (size_t)(q - p) < sizeof out->date) {
        memcpy(out->date, p, (size_t)(q - p));
        out->date[q - p] = 0;
    }
}

int rt_chat_detect(const char *tmpl, size_t len, rt_chat_template *out) {
    memset(out, 0, sizeof *out);
    if (has(tmpl, len, "<|im_start|>")) {
        out->kind = RT_CHAT_CHATML;
        out->think = has(tmpl, len, "</think>");
        find_default_system(tmpl, len, out);
    } else if (has(tmpl, len, "<|start_header_id|>") && has(tmpl, len, "<|end_header_id|>")) {
        out->kind = RT_CHAT_LLAMA3;
        out->dated = has(tmpl, len, "Cutting Knowledge Date");
        if (out->dated) find_date(tmpl, len, out);
    } else if (has(tmpl, len, "<start_of_turn>")) {
        out->kind = RT_CHAT_GEMMA;
    } else if (has(tmpl, len, "[INST]")) {
        out->kind = has(tmpl, len, "<<SYS>>") ? RT_CHAT_LLAMA2 : RT_CHAT_MISTRAL;
    } else {
        return -1;
    }
    return 0;
}

const char *rt_chat_kind_name(rt_chat_kind k) {
    static const char *const names[] = {"chatml", "llama3", "gemma", "llama2", "mistral"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static bool role_is(const rt_chat_msg *m, const char *r) { return !strcmp(m->role, r); }

/* Qwen 3: an assistant turn's content and reasoning, split at </think>;
 * after the last user turn, the reasoning in a <think> block (an empty one
 * for the last turn). */
static void put_qwen3_assistant(wbuf *o, const char *c, bool after_user, bool last) {
    const char *end = NULL;
    for (const char *p = c; (p = strstr(p, "</think>")) != NULL; p++) end = p;
    const char *content = c, *r = "", *r_end = r;
    if (end) {
        content = end + 8;
        while (*content == '\n') content++;
        /* reasoning: before the first </think>, rstrip \n, after the last <think>, lstrip \n */
        const char *first = strstr(c, "</think>");
        r_end = first;
        while (r_end > c && r_end[-1] == '\n') r_end--;
        r = c;
        for (const char *p = c; (p = strstr(p, "<think>")) != NULL && p < r_end; p++) r = p + 7;
        while (r < r_end && *r == '\n') r++;
    }
    if (after_user && (last || r < r_end)) {
        while (r < r_end && *r == '\n') r++;
        while (r_end > r && r_end[-1] == '\n') r_end--;
        put(o, "<think>\n");
        put_n(o, r, (size_t)(r_end - r));
        put(o, "\n</think>\n\n");
        while (*content == '\n') content++;
    }
    put(o, content);
}

static void chatml(const rt_chat_template *t, const rt_chat_msg *m, size_t n, bool gen, wbuf *o) {
    if (t->default_system[0] && (n == 0 || !role_is(&m[0], "system"))) {
        put(o, "<|im_start|>system\n");
        put(o, t->default_system);
        put(o, "<|im_end|>\n");
    }
    size_t last_user = 0;
    for (size_t i = 0; i < n; i++)
        if (role_is(&m[i], "user")) last_user = i;
    for (size_t i = 0; i < n; i++) {
        put(o, "<|im_start|>");
        put(o, m[i].role);
        put(o, "\n");
        if (t->think && role_is(&m[i], "assistant"))
            put_qwen3_assistant(o, m[i].content, i > last_user, i + 1 == n);
        else
            put(o, m[i].content);
        put(o, "<|im_end|>\n");
    }
    if (gen) put(o, "<|im_start|>assistant\n");
}

static void llama3(const rt_chat_template *t, const rt_chat_msg *m, size_t n, bool gen, const char *bos, wbuf *o) {
    put(o, bos);
    if (t->dated) {
        put(o, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: ");
        put(o, t->date);
        put(o, "\n\n");
        if (n && role_is(&m[0], "system")) put_trimmed(o, m[0].content), m++, n--;
        put(o, "<|eot_id|>");
    }
    for (size_t i = 0; i < n; i++) {
        put(o, "<|start_header_id|>");
        put(o, m[i].role);
        put(o, "<|end_header_id|>\n\n");
        put_trimmed(o, m[i].content);
        put(o, "<|eot_id|>");
    }
    if (gen) put(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void gemma(const rt_chat_msg *m, size_t n, bool gen, const char *bos, wbuf *o) {
    put(o, bos);
    const char *prefix = NULL;
    if (n && role_is(&m[0], "system")) prefix = m[0].content, m++, n--;
    for (size_t i = 0; i < n; i++) {
        put(o, "<start_of_turn>");
        put(o, role_is(&m[i], "assistant") ? "model" : m[i].role);
        put(o, "\n");
        if (i == 0 && prefix) {
            put(o, prefix);
            put(o, "\n\n");
        }
        put_trimmed(o, m[i].content);
        put(o, "<end_of_turn>\n");
    }
    if (gen) put(o, "<start_of_turn>model\n");
}

/* Llama 2 chat: BOS[INST] per user turn, the system message in <<SYS>> in the first */
static void llama2(const rt_chat_msg *m, size_t n, const char *bos, const char *eos, wbuf *o) {
    const char *sys = NULL;
    if (n && role_is(&m[0], "system")) sys = m[0].content, m++, n--;
    for (size_t i = 0; i < n; i++) {
        if (role_is(&m[i], "user")) {
            put(o, bos);
            put(o, "[INST] ");
            if (i == 0 && sys) {
                /* ('<<SYS>>\n' + system + '\n<</SYS>>\n\n' + user).strip() */
                const char *u = m[i].content;
                size_t e = strlen(u);
                while (e > 0 && is_space(u[e - 1])) e--;
                put(o, "<<SYS>>\n");
                put(o, sys);
                put(o, e ? "\n<</SYS>>\n\n" : "\n<</SYS>>");
                put_n(o, u, e);
            } else {
                put_trimmed(o, m[i].content);
            }
            put(o, " [/INST]");
        } else if (role_is(&m[i], "assistant")) {
            put(o, " ");
            put_trimmed(o, m[i].content);
            put(o, " ");
            put(o, eos);
        }
    }
}

/* Mistral Instruct: BOS once, [INST] user [/INST]answerEOS */
static void mistral(const rt_chat_msg *m, size_t n, const char *bos, const char *eos, wbuf *o) {
    put(o, bos);
    const char *sys = NULL;
    if (n && role_is(&m[0], "system")) sys = m[0].content, m++, n--;
    for (size_t i = 0; i < n; i++) {
        if (role_is(&m[i], "user")) {
            put(o, "[INST] ");
            if (i == 0 && sys) {
                put(o, sys);
                put(o, "\n\n");
            }
            put(o, m[i].content);
            put(o, " [/INST]");
        } else if (role_is(&m[i], "assistant")) {
            put(o, m[i].content);
            put(o, eos);
        }
    }
}

size_t rt_chat_apply(const rt_chat_template *t, const rt_chat_msg *msgs, size_t n,
                     bool add_generation_prompt, const char *bos, const char *eos, char *buf, size_t cap) {
    wbuf o = {buf, cap, 0};
    switch (t->kind) {
    case RT_CHAT_CHATML: chatml(t, msgs, n, add_generation_prompt, &o); break;
    case RT_CHAT_LLAMA3: llama3(t, msgs, n, add_generation_prompt, bos, &o); break;
    case RT_CHAT_GEMMA: gemma(msgs, n, add_generation_prompt, bos, &o); break;
    case RT_CHAT_LLAMA2: llama2(msgs, n, bos, eos, &o); break;
    case RT_CHAT_MISTRAL: mistral(msgs, n, bos, eos, &o); break;
    }
    if (o.n < cap) buf[o.n] = 0;
    return o.n;
}
