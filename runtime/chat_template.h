/* chat_template.h — chat prompts for the supported models without a Jinja
 * engine: the GGUF's tokenizer.chat_template text is recognized by
 * distinctive substrings as one of the known template families, and the
 * family's format is written out in C.
 *
 *  ChatML   <|im_start|>role\ncontent<|im_end|>\n (Qwen 2/2.5/3, SmolLM);
 *           a default system prompt written in the template (Qwen 2,
 *           Qwen 2.5, SmolLM) is used when the messages have none; Qwen 3's
 *           <think> handling of assistant turns.
 *  Llama 3  <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>, BOS
 *           first; Llama 3.1+ always start with a system turn carrying
 *           "Cutting Knowledge Date" and the template's default date.
 *  Gemma    <start_of_turn>user|model\ncontent<end_of_turn>\n, BOS first, a
 *           system message prefixed to the first user turn (Gemma 2/3).
 *  Llama 2  BOS[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer EOS.
 *  Mistral  BOS[INST] user [/INST]answerEOS (Mistral 7B Instruct v0.1-v0.3,
 *           TinyLlama's [INST] variants); a system message is prefixed to
 *           the first user turn.
 * Contents are trimmed where the template trims them. The result is text
 * holding the special tokens' texts: tokenize it with parse_special.
 */
#ifndef SMELT_RT_CHAT_TEMPLATE_H
#define SMELT_RT_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum rt_chat_kind {
    RT_CHAT_CHATML, RT_CHAT_LLAMA3, RT_CHAT_GEMMA, RT_CHAT_LLAMA2, RT_CHAT_MISTRAL
} rt_chat_kind;

typedef struct rt_chat_template {
    rt_chat_kind kind;
    bool think;                 /* ChatML: Qwen 3's <think> blocks */
    bool dated;                 /* Llama 3: the 3.1+ system turn */
    char default_system[256];   /* ChatML: used when there is no system message */
    char date[32];              /* Llama 3.1+: the template's default date_string */
} rt_chat_template;

typedef struct rt_chat_msg {
    const char *role;           /* "system", "user", "assistant" */
    const char *content;
} rt_chat_msg;

/* Recognize a template text; -1 when it is none of the known families. */
int rt_chat_detect(const char *tmpl, size_t len, rt_chat_template *out);
/* The name of a family ("chatml", "llama3", ...). */
const char *rt_chat_kind_name(rt_chat_kind k);

/* Write the prompt for n messages into buf (at most cap bytes, NUL-terminated
 * when it fits) and return its full length. add_generation_prompt ends it
 * with the assistant turn's opening. bos / eos are the vocabulary's texts. */
size_t rt_chat_apply(const rt_chat_template *t, const rt_chat_msg *msgs, size_t n,
                     bool add_generation_prompt, const char *bos, const char *eos, char *buf, size_t cap);

#endif
