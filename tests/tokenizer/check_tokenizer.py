#!/usr/bin/env python3
"""check_tokenizer.py BUILD — checks smelt's tokenizers (runtime/tokenizer.h,
driven through `smelt tokenize`) against llama.cpp's tokenizer test vectors.

For each vocabulary (.cache/llama-vocab/ggml-vocab-NAME.gguf, extracted from
the llama-cpp-python sdist by tools/deps.sh), the .inp file holds inputs
separated by "\\n__ggml_vocab_test__\\n" and the .out file one line of token
ids per input, which llama.cpp's convert script took from the model's
Hugging Face tokenizer. Per input this checks:
  - ids: smelt's ids equal the .out line (add_special off, as test-tokenizer-0);
  - round trip: the ids decode back to the input;
and per vocabulary:
  - add_special: BOS is added where the GGUF keys / llama.cpp's rules ask
    (the expected BOS id and the flags are read from the file);
  - special tokens: one text joining the inputs with control tokens between
    them, tokenized with --parse-special, gives the control tokens' ids (from
    the gguf package's token list) around each input's .out ids; without
    --parse-special the control tokens' ids never appear;
  - an unsupported vocabulary gives an error naming the file and the key.
Chat templates: runtime/chat_template.c (`smelt tokenize --chat
--print-prompt`) against the Jinja templates rendered by jinja2 (as Hugging
Face's apply_chat_template sets it up), for several conversations with and
without the generation prompt; a conversation the template refuses
(raise_exception) is skipped.
Ends with `tokenizer: N passed, N failed[, N skipped]`.
"""
import json
import mmap
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import Checks  # noqa: E402

SEP = "\n__ggml_vocab_test__\n"
VOCAB_DIR = ".cache/llama-vocab"
# name -> control tokens put between the inputs
VOCABS = {
    "llama-spm": ["<s>", "</s>"],
    "llama-bpe": ["<|start_header_id|>", "<|eot_id|>"],
    "qwen2": ["<|im_start|>", "<|im_end|>"],
    "gpt-2": ["<|endoftext|>"],
    "phi-3": ["<|user|>", "<|end|>"],
    "gemma-4": ["<bos>", "<|tool>"],
    "starcoder": ["<fim_prefix>", "<|endoftext|>"],
    "qwen35": ["<|im_start|>", "<|im_end|>"],
    "command-r": ["<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>"],
    "mpt": [],
    "refact": ["<fim_prefix>", "<|endoftext|>"],
}
# vocabularies smelt refuses, with the key the error must name
UNSUPPORTED = {
    "bert-bge": "tokenizer.ggml.model",
    "deepseek-coder": "tokenizer.ggml.pre",
    "falcon": "tokenizer.ggml.pre",
}

check = Checks()


def read_inputs(path):
    """Inputs as test-tokenizer-0 splits them."""
    raw = open(path, "rb").read().decode("utf-8")
    out, pos = [], 0
    while pos < len(raw):
        nxt = raw.find(SEP, pos)
        if nxt < 0:
            out.append(raw[pos:])
            break
        out.append(raw[pos:nxt])
        pos = nxt + len(SEP)
    return out


def unescape(s):
    """Undo smelt tokenize --decode's escapes."""
    out, i = bytearray(), 0
    b = s.encode("utf-8")
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            n = chr(b[i + 1])
            if n == "x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            out.append({"n": 10, "r": 13, "t": 9, "\\": 92}[n])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def smelt_tokenize(smelt, model, text, *flags):
    path = os.path.join("tests/out", "tokenizer_input.txt")
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))
    r = subprocess.run([smelt, "tokenize", model, "--text-file", path, *flags], capture_output=True)
    return r


SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def read_gguf_kv(path, keep):
    """The metadata of a GGUF file (v2/v3), from the spec: scalars and
    strings; arrays only for the keys in keep (others are skipped)."""
    with open(path, "rb") as fh:
        m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    assert m[:4] == b"GGUF"
    _, _, n_kv = struct.unpack_from("<IQQ", m, 4)
    pos = 24

    def rd_str(p):
        (n,) = struct.unpack_from("<Q", m, p)
        return m[p + 8:p + 8 + n].decode("utf-8", "replace"), p + 8 + n

    def rd_val(t, p, want):
        if t == 8:
            return rd_str(p)
        if t == 9:
            et, n = struct.unpack_from("<IQ", m, p)
            p += 12
            if et in SCALARS:
                size = struct.calcsize(SCALARS[et])
                vals = list(struct.unpack_from("<%d%s" % (n, SCALARS[et][1]), m, p)) if want else None
                return vals, p + n * size
            vals = [] if want else None
            for _ in range(n):
                v, p = rd_val(et, p, want)
                if want:
                    vals.append(v)
            return vals, p
        (v,) = struct.unpack_from(SCALARS[t], m, p)
        return v, p + struct.calcsize(SCALARS[t])

    kv = {}
    for _ in range(n_kv):
        key, pos = rd_str(pos)
        (t,) = struct.unpack_from("<I", m, pos)
        val, pos = rd_val(t, pos + 4, t != 9 or key in keep)
        kv[key] = val
    return kv


def vocab_info(model):
    kv = read_gguf_kv(model, {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type"})
    ids = {}
    for i, t in enumerate(kv["tokenizer.ggml.tokens"]):
        ids.setdefault(t, i)
    return ids, kv["tokenizer.ggml.token_type"], kv.get


def expected_bos(name, get):
    """BOS that add_special adds: llama.cpp adds it for SPM and for the
    llama3 and gemma4 pre-tokenizers unless tokenizer.ggml.add_bos_token
    says otherwise (Gemma 4 always)."""
    model = get("tokenizer.ggml.model")
    pre = get("tokenizer.ggml.pre")
    add = model == "llama" or pre in ("llama-bpe", "llama3") or model == "gemma4"
    if get("tokenizer.ggml.add_bos_token") is not None and model != "gemma4":
        add = bool(get("tokenizer.ggml.add_bos_token"))
    bos = get("tokenizer.ggml.bos_token_id")
    if bos is None:
        bos = 1 if model == "llama" else 11
    return [int(bos)] if add else []


def check_vocab(smelt, name, specials):
    model = os.path.join(VOCAB_DIR, "ggml-vocab-%s.gguf" % name)
    inputs = read_inputs(model + ".inp")
    expected = [[int(x) for x in line.split()] for line in open(model + ".out")]
    if not check(len(inputs) == len(expected), "%s: %d inputs, %d outputs" % (name, len(inputs), len(expected))):
        return
    r = smelt_tokenize(smelt, model, SEP.join(inputs) + SEP, "--sep", SEP, "--decode")
    if not check(r.returncode == 0, "%s: smelt tokenize failed: %s" % (name, r.stderr.decode()[-500:])):
        return
    lines = r.stdout.decode("utf-8").split("\n")
    p0 = check.passed
    for i, text in enumerate(inputs):
        ids = [int(x) for x in lines[2 * i].split()]
        dec = unescape(lines[2 * i + 1][2:])
        check(ids == expected[i], "%s: input %d %r: ids %s, expected %s" % (name, i, text[:40], ids[:24], expected[i][:24]))
        check(dec == text.encode("utf-8"), "%s: input %d %r decodes to %r" % (name, i, text[:40], dec[:60]))
    ids_ok = sum(1 for i in range(len(inputs)) if [int(x) for x in lines[2 * i].split()] == expected[i])
    print("%-10s ids %d/%d, round trips %d/%d" % (name, ids_ok, len(inputs), (check.passed - p0) - ids_ok, len(inputs)))

    tok_ids, types, get = vocab_info(model)
    # add_special: BOS (no vocabulary here adds EOS)
    r = smelt_tokenize(smelt, model, inputs[-1], "--add-special")
    got = [int(x) for x in r.stdout.split()]
    check(got == expected_bos(name, get) + expected[-1], "%s: --add-special gives %s" % (name, got[:8]))

    if not specials:
        return
    # special tokens between inputs (ones that start with whitespace would be
    # changed by Phi-3's rstrip: left out everywhere for one rule)
    sp = [tok_ids[s] for s in specials]
    text, want = "", []
    for i, t in enumerate(inputs):
        if not t or t[0].isspace():
            continue
        s = specials[i % len(specials)]
        text += s + t
        want += [tok_ids[s]] + expected[i]
    r = smelt_tokenize(smelt, model, text, "--parse-special")
    got = [int(x) for x in r.stdout.split()]
    check(got == want, "%s: text with special tokens: %d ids, expected %d (first difference at %s)" % (
        name, len(got), len(want), next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))))
    r = smelt_tokenize(smelt, model, text)
    got = set(int(x) for x in r.stdout.split())
    control = set(i for i in sp if types[i] == 3)
    user = set(i for i in sp if types[i] == 4)
    check(r.returncode == 0 and not (got & control) and user <= got,
          "%s: without --parse-special: control ids %s appear, user-defined ids %s missing" % (
              name, sorted(got & control), sorted(user - got)))


def check_unsupported(smelt, name, key):
    model = os.path.join(VOCAB_DIR, "ggml-vocab-%s.gguf" % name)
    r = subprocess.run([smelt, "tokenize", model, "--text", "hi"], capture_output=True)
    err = r.stderr.decode()
    check(r.returncode == 1 and model in err and key in err, "%s: expected an error naming %s, got rc %d: %s" % (
        name, key, r.returncode, err.strip()))


TEMPLATES = [  # (template file, or None for the GGUF's own; vocabulary for BOS/EOS)
    ("tests/tokenizer/templates/chatml.jinja", "qwen2"),
    (None, "qwen2"),
    (VOCAB_DIR + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2"),
    (VOCAB_DIR + "/templates/Qwen-Qwen3-0.6B.jinja", "qwen2"),
    ("tests/tokenizer/templates/llama3.jinja", "llama-bpe"),
    (VOCAB_DIR + "/templates/meta-llama-Llama-3.1-8B-Instruct.jinja", "llama-bpe"),
    (VOCAB_DIR + "/templates/meta-llama-Llama-3.2-3B-Instruct.jinja", "llama-bpe"),
    (VOCAB_DIR + "/templates/meta-llama-Llama-3.3-70B-Instruct.jinja", "llama-bpe"),
    ("tests/tokenizer/templates/gemma3.jinja", "gemma-4"),
    (VOCAB_DIR + "/templates/google-gemma-2-2b-it.jinja", "gemma-4"),
    ("tests/tokenizer/templates/llama2.jinja", "llama-spm"),
    ("tests/tokenizer/templates/mistral.jinja", "llama-spm"),
]
CONVERSATIONS = [
    [{"role": "system", "content": "You are a helpful assistant"}, {"role": "user", "content": "Hello"},
     {"role": "assistant", "content": "Hi there"}, {"role": "user", "content": "Who are you"},
     {"role": "assistant", "content": "   I am an assistant   "}, {"role": "user", "content": "Another question"}],
    [{"role": "user", "content": "  Bonjour, ça va ? 🦙\n"}],
    [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
    [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nBecause."},
     {"role": "user", "content": "Sure?"}, {"role": "assistant", "content": "<think>ok</think>Yes."}],
]


def check_chat(smelt):
    import jinja2
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)
    env.globals["raise_exception"] = raise_exception
    for path, vocab in TEMPLATES:
        model = os.path.join(VOCAB_DIR, "ggml-vocab-%s.gguf" % vocab)
        kv = read_gguf_kv(model, {"tokenizer.ggml.tokens"})
        if path is None:
            src = kv["tokenizer.chat_template"]
        elif not os.path.exists(path):
            check.skip("%s: missing" % path)
            continue
        else:
            src = open(path, encoding="utf-8").read()
        toks = kv["tokenizer.ggml.tokens"]
        bos, eos = toks[kv["tokenizer.ggml.bos_token_id"]], toks[kv["tokenizer.ggml.eos_token_id"]]
        tmpl = env.from_string(src)
        name = os.path.basename(path) if path else vocab + " (GGUF)"
        for k, msgs in enumerate(CONVERSATIONS):
            for gen in (True, False):
                try:
                    want = tmpl.render(messages=msgs, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                except jinja2.exceptions.TemplateError:
                    continue
                mpath = os.path.join("tests/out", "tokenizer_chat.json")
                with open(mpath, "w") as f:
                    json.dump(msgs, f)
                cmd = [smelt, "tokenize", model, "--chat", mpath, "--print-prompt"]
                if path:
                    cmd += ["--template-file", path]
                if not gen:
                    cmd.append("--no-generation-prompt")
                r = subprocess.run(cmd, capture_output=True)
                got = r.stdout.decode("utf-8")
                check(r.returncode == 0 and got == want, "chat %s, conversation %d%s: got %r, expected %r %s" % (
                    name, k, "" if gen else " (no generation prompt)", got, want, r.stderr.decode()))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    smelt = os.path.join(build, "smelt")
    os.makedirs("tests/out", exist_ok=True)
    if not os.path.isdir(VOCAB_DIR):
        check.skip("%s is missing (run tools/deps.sh)" % VOCAB_DIR, len(VOCABS))
    else:
        for name, specials in VOCABS.items():
            if not os.path.exists(os.path.join(VOCAB_DIR, "ggml-vocab-%s.gguf.out" % name)):
                check.skip("%s: not in %s" % (name, VOCAB_DIR))
                continue
            check_vocab(smelt, name, specials)
        for name, key in UNSUPPORTED.items():
            check_unsupported(smelt, name, key)
        p0, f0 = check.passed, check.failed
        check_chat(smelt)
        print("chat templates: %d passed, %d failed" % (check.passed - p0, check.failed - f0))
    return check.summary("tokenizer")


if __name__ == "__main__":
    sys.exit(main())
