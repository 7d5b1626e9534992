"""tests/cli/cli_test.py — the smelt command as a user meets it.

Exit codes and help of every verb; malformed model files (truncated,
wrong wire type, a length past the end of the file, negative and
overflowing dims, missing or short external data, unsupported operators)
each give one clear message naming the file and a non-zero exit, never a
crash; failed writes leave no file behind; `smelt convert` output reads back
to the same text; and `smelt run` agrees with onnxruntime on small models.
`smelt compile`: a shared object, an executable, an object with its header
linked into a small C program, and an aarch64 executable run under qemu all
agree with onnxruntime; the same input gives the same bytes; a failed
compile writes nothing; bad targets are usage errors; an artifact built for
a CPU feature this machine lacks is refused.
`smelt inspect --memory` reports the arena of a MatMul chain as worked out
by hand from its shapes. Vulkan (on lavapipe; skipped without a device):
`smelt devices`, `smelt run --target vulkan` (in memory, and an artifact
compiled with --target cpu,vulkan) agree with onnxruntime, an artifact falls
back to the CPU without a Vulkan driver, `--emit spirv-asm` writes the
disassembly, and wrong devices and targets give clear errors.
Ends with `cli: N passed, N failed, N skipped`.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from checks import Checks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMELT = os.path.join(ROOT, os.environ.get("BUILD", "build"), "smelt")
EXAMPLE = os.path.join(ROOT, "examples", "tiny_cnn.onnx")
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
QEMU = shutil.which("qemu-aarch64-static")
check = Checks()
skip = check.skip


def smelt(*args):
    return subprocess.run([SMELT, *args], capture_output=True, text=True, timeout=300)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300)


def expect_error(path, needle, what):
    """smelt inspect on a bad file: exit 1 (not a crash), one message with the file name and needle."""
    r = smelt("inspect", path)
    check(r.returncode == 1, f"{what}: exit {r.returncode}, expected 1 (stderr: {r.stderr.strip()[:200]})")
    check(os.path.basename(path) in r.stderr, f"{what}: message does not name the file: {r.stderr.strip()[:200]}")
    check(needle in r.stderr, f"{what}: message lacks '{needle}': {r.stderr.strip()[:300]}")


def test_usage():
    r = smelt("--help")
    check(r.returncode == 0 and "convert" in r.stdout and "inspect" in r.stdout, "--help")
    r = smelt("--version")
    check(r.returncode == 0 and r.stdout.startswith("smelt "), "--version")
    check(smelt().returncode == 2, "no verb exits 2")
    check(smelt("frobnicate").returncode == 2, "unknown verb exits 2")
    for verb in ("convert", "compile", "run", "inspect", "tokenize", "quantize-report"):
        r = smelt(verb, "--help")
        check(r.returncode == 0 and "usage: smelt " + verb in r.stdout, f"{verb} --help")
    check(smelt("convert").returncode == 2, "convert without a model exits 2")
    check(smelt("convert", EXAMPLE, "--bogus").returncode == 2, "unknown option exits 2")
    check(smelt("run", EXAMPLE).returncode == 2, "run without -o exits 2")
    r = smelt("inspect", "/nonexistent/model.onnx")
    check(r.returncode == 1 and "/nonexistent/model.onnx" in r.stderr, "missing file exits 1 naming it")


# ---- malformed protobuf files --------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    return varint(num << 3 | wire) + payload


def test_malformed(tmp):
    data = open(EXAMPLE, "rb").read()
    for cut in (1, 7, 50, 300, len(data) // 2, len(data) - 3):
        p = os.path.join(tmp, f"cut{cut}.onnx")
        open(p, "wb").write(data[:cut])
        r = smelt("inspect", p)
        check(r.returncode == 1 and p.split("/")[-1] in r.stderr, f"truncated at {cut}: exit {r.returncode} {r.stderr[:200]}")
    # ModelProto.graph (field 7) sent as a varint instead of a message
    p = os.path.join(tmp, "wire.onnx")
    open(p, "wb").write(field(1, 0, varint(8)) + field(7, 0, varint(5)))
    expect_error(p, "wire type", "wrong wire type")
    # a length-delimited field whose length runs past the end of the file
    p = os.path.join(tmp, "pastend.onnx")
    open(p, "wb").write(field(1, 0, varint(8)) + field(7, 2, varint(1 << 30)) + b"\x00" * 8)
    expect_error(p, "past end", "length past end of file")
    # a name that is not UTF-8 (protobuf string fields must be)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="QQQQ")], "g", [x],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    raw = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    p = os.path.join(tmp, "utf8.onnx")
    open(p, "wb").write(raw.replace(b"QQQQ", b"\xff\xfeQQ"))
    expect_error(p, "not valid UTF-8", "name that is not UTF-8")
    # an overlong varint
    p = os.path.join(tmp, "varint.onnx")
    open(p, "wb").write(field(1, 0, b"\xff" * 11))
    expect_error(p, "varint", "overlong varint")


def model_with_initializer(tensor, extra_nodes=(), inputs=None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    nodes = [helper.make_node("Add", ["x", "x"], ["y"], name="add")] + list(extra_nodes)
    g = helper.make_graph(nodes, "g", inputs or [x], [y], [tensor] if tensor is not None else [])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_bad_tensors(tmp):
    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    t.dims[:] = [-3]
    p = os.path.join(tmp, "negdim.onnx")
    onnx.save(model_with_initializer(t), p)
    expect_error(p, "w", "negative dim")
    check("negative" in smelt("inspect", p).stderr, "negative dim is called negative")

    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    t.dims[:] = [1 << 40, 1 << 40]
    p = os.path.join(tmp, "overflow.onnx")
    onnx.save(model_with_initializer(t), p)
    expect_error(p, "overflow", "overflowing dims")

    t = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "missing.bin"), ("offset", "0"), ("length", "16")):
        e = t.external_data.add()
        e.key, e.value = k, v
    p = os.path.join(tmp, "noext.onnx")
    onnx.save(model_with_initializer(t), p)
    expect_error(p, "missing.bin", "missing external data file")

    open(os.path.join(tmp, "short.bin"), "wb").write(b"\x00" * 8)
    t.external_data[0].value = "short.bin"
    p = os.path.join(tmp, "shortext.onnx")
    onnx.save(model_with_initializer(t), p)
    expect_error(p, "short.bin", "external data file too short")

    # external data past 2 GiB: a sparse file, the tensor at offset 3 GiB
    big = os.path.join(tmp, "big.bin")
    want = np.arange(2, dtype=np.float32) + 0.5
    with open(big, "wb") as f:
        f.seek(3 << 30)
        f.write(want.tobytes())
    t2 = numpy_helper.from_array(want, "w")
    t2.ClearField("raw_data")
    t2.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "big.bin"), ("offset", str(3 << 30)), ("length", "8")):
        e = t2.external_data.add()
        e.key, e.value = k, v
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [t2])
    p = os.path.join(tmp, "bigext.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
    np.save(os.path.join(tmp, "x2.npy"), np.ones(2, np.float32))
    r = smelt("run", p, "-i", os.path.join(tmp, "x2.npy"), "-o", os.path.join(tmp, "bigout"))
    ok = r.returncode == 0 and np.array_equal(np.load(os.path.join(tmp, "bigout", "y.npy")), want + 1)
    check(ok, f"external data at offset 3 GiB: {r.stderr[:200]}")
    os.remove(big)

    t.external_data[0].value = "../../etc/passwd"
    p = os.path.join(tmp, "escape.onnx")
    onnx.save(model_with_initializer(t), p)
    expect_error(p, "relative path inside the model's folder", "external data outside the model folder")

    # two unsupported operators: both listed with their node names
    bad = [helper.make_node("FrobA", ["y"], ["z1"], name="first_bad", domain="com.example"),
           helper.make_node("NoSuchOp", ["y"], ["z2"], name="second_bad")]
    p = os.path.join(tmp, "unsupported.onnx")
    onnx.save(model_with_initializer(None, bad), p)
    r = smelt("inspect", p)
    check(r.returncode == 1 and "first_bad" in r.stderr and "second_bad" in r.stderr,
          f"all unsupported ops listed: {r.stderr[:300]}")

    # an input without a shape
    p = os.path.join(tmp, "noshape.onnx")
    onnx.save(model_with_initializer(None, inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, None)]), p)
    expect_error(p, "'x'", "input without shape")


# ---- outputs -----------------------------------------------------------------------

def test_outputs(tmp):
    out = os.path.join(tmp, "tiny.ir")
    r = smelt("convert", EXAMPLE, "-o", out)
    check(r.returncode == 0 and os.path.exists(out), f"convert writes the file: {r.stderr[:200]}")
    again = os.path.join(tmp, "tiny2.ir")
    r = smelt("convert", out, "-o", again)
    check(r.returncode == 0 and open(out).read() == open(again).read(), "convert of the .ir gives the same text")
    before = open(out).read()
    bad = os.path.join(tmp, "cut50.onnx")
    r = smelt("convert", bad, "-o", out)
    check(r.returncode == 1 and open(out).read() == before, "a failed convert leaves the old output untouched")
    r = smelt("convert", bad, "-o", os.path.join(tmp, "never.ir"))
    check(not os.path.exists(os.path.join(tmp, "never.ir")), "a failed convert writes no file")
    check(not [f for f in os.listdir(tmp) if ".tmp-" in f], "no temporary files are left behind")


def test_run_against_onnxruntime(tmp):
    """Small elementwise models: smelt run matches onnxruntime."""
    rng = np.random.default_rng(7)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])
    nodes = [helper.make_node("Mul", ["x", "b"], ["m"]), helper.make_node("Sigmoid", ["m"], ["s"]),
             helper.make_node("Sub", ["s", "x"], ["d"]), helper.make_node("Gelu", ["d"], ["y"], approximate="tanh")]
    model = helper.make_model(helper.make_graph(nodes, "ew", [x, b], [y]), opset_imports=[helper.make_opsetid("", 20)])
    p = os.path.join(tmp, "ew.onnx")
    onnx.save(model, p)
    feeds = {"x": rng.standard_normal((3, 5)).astype(np.float32), "b": rng.standard_normal(5).astype(np.float32)}
    for k, v in feeds.items():
        np.save(os.path.join(tmp, k + ".npy"), v)
    want = ort.InferenceSession(p, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    outdir = os.path.join(tmp, "ewout")
    r = smelt("run", p, "-i", "x=" + os.path.join(tmp, "x.npy"), "-i", os.path.join(tmp, "b.npy"), "-o", outdir)
    check(r.returncode == 0, f"run: {r.stderr[:200]}")
    if r.returncode == 0:
        got = np.load(os.path.join(outdir, "y.npy"))
        check(got.dtype == np.float32 and got.shape == (3, 5), "run output dtype and shape")
        check(np.allclose(got, want, rtol=1e-5, atol=1e-6), f"run matches onnxruntime (max diff {np.abs(got - want).max()})")
    # the elementwise chain fuses into one kernel; unfused, one kernel per node, same results
    r = smelt("run", p, "--print-kernels")
    check(r.stdout.count("\nkernel ") + r.stdout.startswith("kernel ") == 1, f"chain fused into one kernel:\n{r.stdout}")
    r = smelt("run", p, "--print-kernels", "--no-fuse")
    check(r.stdout.count("kernel ") == 4, f"unfused: four kernels:\n{r.stdout}")
    r = smelt("run", p, "--no-fuse", "-i", "x=" + os.path.join(tmp, "x.npy"), "-i", os.path.join(tmp, "b.npy"), "-o", outdir + "2")
    check(r.returncode == 0 and np.allclose(np.load(os.path.join(outdir + "2", "y.npy")), want, rtol=1e-5, atol=1e-6),
          "unfused run matches onnxruntime")
    # a node whose result nothing reads gets no kernel
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["x"], ["unused"])]
    dead = os.path.join(tmp, "dead.onnx")
    onnx.save(helper.make_model(helper.make_graph(nodes, "dead", [x], [y]), opset_imports=[helper.make_opsetid("", 17)]), dead)
    r = smelt("run", dead, "--print-kernels")
    check(r.returncode == 0 and r.stdout.count("kernel ") == 1 and "NEG" not in r.stdout, f"dead kernel pruned:\n{r.stdout}")
    r = smelt("run", p, "-i", os.path.join(tmp, "x.npy"), "-o", outdir)
    check(r.returncode == 1 and "'b' is not given" in r.stderr, f"missing input named: {r.stderr[:200]}")
    np.save(os.path.join(tmp, "bad.npy"), np.zeros((3, 4), np.float32))
    r = smelt("run", p, "-i", "x=" + os.path.join(tmp, "bad.npy"), "-i", "b=" + os.path.join(tmp, "b.npy"), "-o", outdir)
    check(r.returncode == 1 and "'x'" in r.stderr and "axis 1" in r.stderr, f"wrong input shape named: {r.stderr[:200]}")


# ---- compiled artifacts ----------------------------------------------------------

def close(got, want):
    return got.dtype == want.dtype and got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-5)


def compile_ok(what, *args):
    r = smelt("compile", *args)
    check(r.returncode == 0, f"{what}: compile exit {r.returncode}: {r.stderr[:400]}")
    return r.returncode == 0


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    return head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little")


def output_matches(outdir, name, want, what):
    """OUTDIR/NAME.npy exists and agrees with want (onnxruntime's)."""
    p = os.path.join(outdir, name + ".npy")
    got = np.load(p) if os.path.exists(p) else None
    check(got is not None and close(got, want),
          f"{what}: matches onnxruntime" + ("" if got is None else f" (max diff {np.abs(got - want).max()})"))


def example_input(tmp, seed, name):
    """A random image for the example model, saved as TMP/NAME; onnxruntime's output."""
    x = np.random.default_rng(seed).standard_normal((2, 3, 32, 32)).astype(np.float32)
    xf = os.path.join(tmp, name)
    np.save(xf, x)
    return xf, ort.InferenceSession(EXAMPLE, providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]


def test_compile(tmp):
    """smelt compile: every artifact form, checked against onnxruntime."""
    xf, want = example_input(tmp, 3, "image.npy")

    def output_of(outdir, what):
        output_matches(outdir, "probs", want, what)

    # a shared object, run by `smelt run`
    so = os.path.join(tmp, "tiny.so")
    if compile_ok("so", EXAMPLE, "-o", so):
        check(elf_machine(so) in (62, 183), "the .so is an ELF file")
        r = smelt("run", so, "-i", "image=" + xf, "-o", os.path.join(tmp, "so_out"))
        check(r.returncode == 0, f"run .so: {r.stderr[:300]}")
        output_of(os.path.join(tmp, "so_out"), "run .so")
        r = smelt("run", so, "-o", os.path.join(tmp, "so_out2"))
        check(r.returncode == 1 and "'image'" in r.stderr, f"run .so without its input names it: {r.stderr[:200]}")
        so2 = os.path.join(tmp, "tiny2.so")
        if compile_ok("so again", EXAMPLE, "-o", so2):
            check(open(so, "rb").read() == open(so2, "rb").read(), "the same model compiles to the same .so bytes")
    # compiled in memory by `smelt run --target cpu`, with timing
    r = smelt("run", EXAMPLE, "--target", "cpu", "-i", xf, "-o", os.path.join(tmp, "cpu_out"), "--threads", "2")
    check(r.returncode == 0, f"run --target cpu: {r.stderr[:300]}")
    output_of(os.path.join(tmp, "cpu_out"), "run --target cpu")
    r = smelt("run", EXAMPLE, "--target", "cpu", "-i", xf, "--repeat", "3")
    check(r.returncode == 0 and "latency: median" in r.stdout, f"run --repeat prints the median: {r.stdout[:200]} {r.stderr[:200]}")
    check(smelt("run", EXAMPLE, "-i", xf, "--repeat", "0", "--target", "cpu").returncode == 2, "--repeat 0 is a usage error")
    # --profile: every step once, by time, the shares summing to the total
    r = smelt("run", EXAMPLE, "--target", "cpu", "-i", xf, "--repeat", "3", "--threads", "1", "--profile")
    rows = re.findall(r"^ +([0-9.]+) ms +([0-9.]+)% +step ([0-9]+) ", r.stdout, re.M)
    total = re.search(r"^ +([0-9.]+) ms +total, ([0-9]+) steps", r.stdout, re.M)
    steps = sorted(int(x[2]) for x in rows)
    check(r.returncode == 0 and total and steps == list(range(int(total.group(2)))) and
          abs(sum(float(x[1]) for x in rows) - 100) < 1 and
          [float(x[0]) for x in rows] == sorted((float(x[0]) for x in rows), reverse=True),
          f"run --profile lists each step once by time: {r.stdout[:600]} {r.stderr[:200]}")
    check(smelt("run", EXAMPLE, "-i", xf, "-o", os.path.join(tmp, "p"), "--profile").returncode == 2,
          "--profile on the interpreter is a usage error")

    # a standalone executable
    exe = os.path.join(tmp, "tiny_exe")
    if compile_ok("exe", EXAMPLE, "-o", exe, "--emit", "exe"):
        check(os.access(exe, os.X_OK), "the executable is executable")
        r = run(exe, "-i", "image=" + xf, "-o", os.path.join(tmp, "exe_out"))
        check(r.returncode == 0, f"exe run: {r.stderr[:300]}")
        output_of(os.path.join(tmp, "exe_out"), "exe")
        r = run(exe, "-i", xf, "--repeat", "3", "--threads", "1")
        check(r.returncode == 0 and "latency: median" in r.stdout, f"exe --repeat: {r.stdout[:200]} {r.stderr[:200]}")
        bad = os.path.join(tmp, "bad_image.npy")
        np.save(bad, np.zeros((2, 4, 32, 32), np.float32))
        r = run(exe, "-i", "image=" + bad, "-o", os.path.join(tmp, "exe_bad"))
        check(r.returncode == 1 and "image" in r.stderr, f"exe: wrong input shape is an error: {r.stderr[:200]}")
        np.save(bad, np.zeros((2, 3, 32, 32), np.float64))
        r = run(exe, "-i", "image=" + bad, "-o", os.path.join(tmp, "exe_bad"))
        check(r.returncode == 1 and "f32" in r.stderr, f"exe: wrong input dtype is an error: {r.stderr[:200]}")
        r = run(exe, "-o", os.path.join(tmp, "exe_bad"))
        check(r.returncode == 1 and "'image'" in r.stderr, f"exe: a missing input is named: {r.stderr[:200]}")
        check(run(exe, "--frobnicate").returncode == 2, "exe: unknown option exits 2")
        r = run(exe, "--help")
        check(r.returncode == 0 and "image" in r.stdout and "probs" in r.stdout, f"exe --help lists inputs and outputs: {r.stdout[:300]}")
        exe2 = os.path.join(tmp, "tiny_exe2")
        if compile_ok("exe again", EXAMPLE, "-o", exe2, "--emit", "exe"):
            check(open(exe, "rb").read() == open(exe2, "rb").read(), "the same model links to the same executable bytes")

    # an object + header, linked into a C program with the runtime library
    obj = os.path.join(tmp, "tiny.o")
    if compile_ok("obj", EXAMPLE, "-o", obj, "--emit", "obj", "--name", "tiny"):
        hdr = os.path.join(tmp, "tiny.h")
        text = open(hdr).read() if os.path.exists(hdr) else ""
        check("smelt_model_tiny" in text and "SMELT_MODEL_TINY_WEIGHTS_BYTES" in text, f"header names the desc and sizes:\n{text[:400]}")
        check('#define SMELT_MODEL_TINY_INPUT_0_NAME "image"' in text, "header names the input")
        w_bytes = sum(numpy_helper.to_array(t).nbytes for t in onnx.load(EXAMPLE).graph.initializer)
        m = re.search(r"SMELT_MODEL_TINY_WEIGHTS_BYTES (\d+)u", text)
        check(m is not None and int(m.group(1)) > 0 and int(m.group(1)) <= 2 * w_bytes + 4096,
              f"header's weights bytes are plausible ({m and m.group(1)} vs {w_bytes} in the model)")
        prog = os.path.join(tmp, "use_obj.c")
        open(prog, "w").write(r'''
#include <stdio.h>
#include "npy.h"
#include "smelt.h"
#include "tiny.h"
int main(int argc, char **argv) {
    char err[1024];
    smelt_model *m; smelt_session *s; npy_array x, y = {0};
    if (smelt_load_desc(SMELT_MODEL_TINY_DESC, "tiny", &m, err, sizeof err) ||
        smelt_session_new(m, &(smelt_options){.threads = 1}, &s, err, sizeof err) ||
        npy_read_file(argv[1], &x, err, sizeof err) ||
        smelt_set_input(s, 0, x.data, x.shape, x.rank, err, sizeof err) || smelt_run(s, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const void *data;
    smelt_get_output(s, 0, &data, y.shape, &y.rank);
    y.dtype = NPY_F32; y.data = (void *)data; y.nbytes = (size_t)npy_numel(&y) * 4;
    int rc = npy_write_file(argv[2], &y, err, sizeof err);
    npy_free(&x);
    smelt_session_free(s);
    smelt_model_free(m);
    return rc;
}
''')
        binary = os.path.join(tmp, "use_obj")
        libs = re.search(r'#define SMELT_MODEL_TINY_LINK_LIBS "([^"]*)"', text)
        check(libs is not None, "header names the libraries the runtime needs")
        RT_LDLIBS = libs.group(1).split() if libs else []
        # a sanitized runtime (make asan) needs the sanitizer runtimes at link time
        san = ["-fsanitize=address,undefined"] if "asan" in os.path.basename(os.path.normpath(BUILD)) else []
        r = run("cc", "-std=c11", *san, "-I" + os.path.join(ROOT, "runtime"), "-I" + tmp, prog, obj,
                os.path.join(BUILD, "libsmeltrt.a"), *RT_LDLIBS, "-o", binary)
        check(r.returncode == 0, f"a C program links model.o and libsmeltrt.a: {r.stderr[:400]}")
        if r.returncode == 0:
            out = os.path.join(tmp, "obj_probs.npy")
            r = run(binary, xf, out)
            check(r.returncode == 0 and os.path.exists(out) and close(np.load(out), want), f"obj program matches onnxruntime: {r.stderr[:200]}")
        obj2 = os.path.join(tmp, "tiny2.o")
        if compile_ok("obj again", EXAMPLE, "-o", obj2, "--emit", "obj", "--name", "tiny"):
            check(open(obj, "rb").read() == open(obj2, "rb").read(), "the same model compiles to the same object bytes")

    # an aarch64 executable, run under qemu
    arm = os.path.join(tmp, "tiny_arm")
    if compile_ok("aarch64 exe", EXAMPLE, "-o", arm, "--emit", "exe", "--target", "aarch64-linux-gnu"):
        check(elf_machine(arm) == 183, "the aarch64 executable is an aarch64 ELF file")
        if QEMU:
            # no -L prefix: the loader and libc come from Debian's multiarch
            # libc6:arm64 (/lib/ld-linux-aarch64.so.1), matched versions; the
            # cross libc in /usr/aarch64-linux-gnu is only for linking (its
            # ld.so with multiarch's libc.so.6 hangs in pthread_create)
            for threads in ("1", "2"):
                out = os.path.join(tmp, "arm_out" + threads)
                r = run(QEMU, arm, "-i", "image=" + xf, "-o", out, "--threads", threads)
                check(r.returncode == 0, f"aarch64 exe under qemu, {threads} threads: {r.stderr[:300]}")
                output_of(out, f"aarch64 exe under qemu, {threads} threads")
        else:
            skip("qemu-aarch64-static is not installed: the aarch64 executable is not run")
    arm_so = os.path.join(tmp, "tiny_arm.so")
    if compile_ok("aarch64 so", EXAMPLE, "-o", arm_so, "--target", "aarch64-linux-gnu", "--cpu", "neoverse-n1"):
        check(elf_machine(arm_so) == 183, "the aarch64 .so is an aarch64 ELF file")
        r = smelt("run", arm_so, "-i", xf, "-o", os.path.join(tmp, "arm_so_out"))
        check(r.returncode == 1 and "tiny_arm.so" in r.stderr, f"an aarch64 .so is refused on this host: {r.stderr[:200]}")

    # Apple silicon: a Mach-O object and its header; linked here with lld's
    # Mach-O linker into a dylib (no macOS SDK here to link a program)
    mac = os.path.join(tmp, "tiny_mac.o")
    if compile_ok("aarch64-apple-darwin obj", EXAMPLE, "-o", mac, "--emit", "obj", "--target", "aarch64-apple-darwin",
                  "--name", "tiny"):
        head = open(mac, "rb").read(8)
        check(head[:4] == b"\xcf\xfa\xed\xfe" and int.from_bytes(head[4:8], "little") == 0x0100000C,
              "the aarch64-apple-darwin object is a Mach-O arm64 file")
        use = os.path.join(tmp, "use_mac.c")
        with open(use, "w") as f:
            f.write('#include "tiny_mac.h"\nconst void *model_desc(void) { return SMELT_MODEL_TINY_DESC; }\n')
        clang, ld64 = shutil.which("clang-16"), shutil.which("ld64.lld-16")
        if clang and ld64:
            r = run(clang, "-target", "arm64-apple-macos11", "-ffreestanding", "-I" + os.path.join(ROOT, "runtime"),
                    "-I" + tmp, "-c", use, "-o", use + ".o")
            check(r.returncode == 0, f"the Mach-O header compiles for arm64-apple-macos: {r.stderr[:300]}")
            dylib = os.path.join(tmp, "libtiny_mac.dylib")
            r = run(ld64, "-arch", "arm64", "-platform_version", "macos", "11.0", "11.0", "-dylib", "-undefined",
                    "dynamic_lookup", use + ".o", mac, "-o", dylib)
            check(r.returncode == 0, f"the header's symbol resolves against the Mach-O object: {r.stderr[:300]}")
        else:
            skip("clang-16 or ld64.lld-16 missing: the Mach-O object is not linked")
    r = smelt("compile", EXAMPLE, "-o", os.path.join(tmp, "never_mac.so"), "--target", "aarch64-apple-darwin")
    check(r.returncode == 2 and "--emit obj" in r.stderr, f"aarch64-apple-darwin without --emit obj is refused: {r.stderr[:200]}")

    # failures write nothing; bad targets are usage errors
    never = os.path.join(tmp, "never.so")
    r = smelt("compile", os.path.join(tmp, "cut50.onnx"), "-o", never)
    check(r.returncode == 1 and "cut50.onnx" in r.stderr, f"compile of a broken model fails naming it: {r.stderr[:200]}")
    check(not os.path.exists(never), "a failed compile writes no file")
    old = os.path.join(tmp, "old.so")
    open(old, "wb").write(b"old")
    smelt("compile", os.path.join(tmp, "cut50.onnx"), "-o", old)
    check(open(old, "rb").read() == b"old", "a failed compile leaves the old output untouched")
    check(not [f for f in os.listdir(tmp) if ".tmp-" in f], "no temporary files are left behind")
    for target in ("riscv64-linux-gnu", "nonsense", "x86_64-apple-darwin"):
        r = smelt("compile", EXAMPLE, "-o", never, "--target", target)
        check(r.returncode == 2 and target in r.stderr, f"--target {target}: exit {r.returncode}: {r.stderr[:200]}")
    check(smelt("compile", EXAMPLE, "-o", never, "--emit", "dll").returncode == 2, "--emit dll is a usage error")
    check(smelt("compile", EXAMPLE).returncode == 2, "compile without -o is a usage error")
    check(not os.path.exists(never), "usage errors write no file")

    # an artifact for a CPU feature this machine lacks is refused
    flags = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    lvl3 = os.path.join(tmp, "v3.so")
    if os.uname().machine == "x86_64" and compile_ok("--cpu x86-64-v3", EXAMPLE, "-o", lvl3, "--cpu", "x86-64-v3"):
        feats = re.search(rb'"features":"([^"]*)"', open(lvl3, "rb").read())
        feats = feats.group(1).decode().split(",") if feats else []
        check("+avx2" in feats and "+fma" in feats and "+avx512f" not in feats,
              f"the manifest of --cpu x86-64-v3 lists the level's features: {feats}")
    # (cpuinfo flag, a CPU with it): the manifest lists the features the
    # named CPU implies, so the CPU's name alone must get the refusal
    candidates = [("avx512f", "skylake-avx512"), ("fma4", "bdver4")]
    missing = [c for c in candidates if c[0] not in flags]
    if os.uname().machine != "x86_64" or not missing:
        skip("no CPU name with a feature this machine lacks")
    else:
        flag, cpu = missing[0]
        other = os.path.join(tmp, "other_cpu.so")
        if compile_ok(f"--cpu {cpu}", EXAMPLE, "-o", other, "--cpu", cpu):
            r = smelt("run", other, "-i", xf, "-o", os.path.join(tmp, "other_out"))
            check(r.returncode == 1 and flag.replace("_", "") in r.stderr.replace("_", "").replace("-", ""),
                  f"an artifact for {cpu} (needs {flag}) is refused naming it: exit {r.returncode} {r.stderr[:200]}")


def memory_figures(out):
    """The byte counts of `smelt inspect --memory` by line label."""
    figures = {}
    for line in out.splitlines():
        for label in ("arena (peak activations):", "activations without reuse:", "largest live set:", "weights:"):
            if line.strip().startswith(label):
                figures[label.split()[0].rstrip(":")] = int(line.strip()[len(label):].split()[0])
    return figures


def test_inspect_memory(tmp):
    """x -> MatMul -> a -> MatMul -> b -> MatMul -> y: a lives over steps 0-1, b over 1-2, y from 2 to the
    end, so two of the three activations are alive at once and y can reuse a's bytes."""
    n, batch = 128, 2
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n])
    ws = [numpy_helper.from_array(np.full((n, n), 0.01 * (i + 1), np.float32), f"w{i}") for i in range(3)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["a"], name="mm0"),
             helper.make_node("MatMul", ["a", "w1"], ["b"], name="mm1"),
             helper.make_node("MatMul", ["b", "w2"], ["y"], name="mm2")]
    p = os.path.join(tmp, "chain.onnx")
    onnx.save(helper.make_model(helper.make_graph(nodes, "chain", [x], [y], ws), opset_imports=[helper.make_opsetid("", 17)]), p)
    act = np.zeros((batch, n), np.float32).nbytes
    weights = sum(numpy_helper.to_array(w).nbytes for w in ws)
    r = smelt("inspect", p, "--memory", "--shape", f"x={batch}x{n}")
    f = memory_figures(r.stdout)
    check(r.returncode == 0, f"inspect --memory: {r.stderr[:200]}")
    check(f.get("arena") == 2 * act, f"arena is two activations: {f}")
    check(f.get("activations") == 3 * act, f"without reuse: three activations: {f}")
    check(f.get("largest") == 2 * act and "(mm1)" in r.stdout, f"largest live set at mm1:\n{r.stdout}")
    check(f.get("weights") == weights, f"weights bytes: {f}")
    r = smelt("inspect", p, "--memory")
    check(r.returncode == 0 and "unbound symbols: batch" in r.stdout and "arena (" not in r.stdout,
          f"symbolic batch unbound:\n{r.stdout}")
    r = smelt("inspect", p, "--memory", "--shape", "z=2x128")
    check(r.returncode == 1 and "no input 'z'" in r.stderr and not r.stdout, f"unknown input: {r.stderr[:200]}")
    r = smelt("inspect", p, "--memory", "--shape", "x=2x127")
    check(r.returncode == 1 and "axis 1" in r.stderr, f"constant axis mismatch: {r.stderr[:200]}")
    check(smelt("inspect", p, "--memory", "--shape", "x=2y").returncode == 2, "malformed --shape exits 2")
    check(smelt("inspect", p, "--shape", "x=2x128").returncode == 2, "--shape without --memory exits 2")


def test_library_attrs(tmp):
    """An attribute whose absence means something (Unique without axis:
    flatten) survives the artifact's manifest: compiled against onnxruntime."""
    outs = [("y", TensorProto.FLOAT), ("i", TensorProto.INT64), ("inv", TensorProto.INT64), ("c", TensorProto.INT64)]
    g = helper.make_graph([helper.make_node("Unique", ["x"], [n for n, _ in outs], sorted=1)], "unique",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                          [helper.make_tensor_value_info(n, t, None) for n, t in outs])
    model = os.path.join(tmp, "unique.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
    x = np.array([[1, 2, 2, 3], [3, 1, 5, 5], [0, 0, 1, 2]], np.float32)
    xf = os.path.join(tmp, "unique_x.npy")
    np.save(xf, x)
    want = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    art = os.path.join(tmp, "unique.so")
    if not compile_ok("unique", model, "-o", art):
        return
    out = os.path.join(tmp, "unique_out")
    r = smelt("run", art, "-i", "x=" + xf, "-o", out)
    check(r.returncode == 0, f"compiled Unique without axis runs: {r.stderr[:200]}")
    for (name, _), w in zip(outs, want):
        f = os.path.join(out, name + ".npy")
        got = np.load(f) if os.path.exists(f) else None
        check(got is not None and got.shape == w.shape and np.array_equal(got, w),
              f"compiled Unique without axis (flattened), output {name} matches onnxruntime")


def test_vulkan(tmp):
    """The Vulkan target as a user meets it."""
    r = smelt("devices")
    check(r.returncode in (0, 1), f"devices exits 0 or 1: {r.returncode}")
    asm = os.path.join(tmp, "tiny.spvasm")
    check(compile_ok("spirv-asm", EXAMPLE, "-o", asm, "--emit", "spirv-asm") and
          "OpEntryPoint GLCompute" in open(asm).read() and "; kernel 0 'conv1'" in open(asm).read(),
          "--emit spirv-asm writes the disassembly of every kernel")
    check(smelt("compile", EXAMPLE, "-o", os.path.join(tmp, "x.so"), "--target", "cpu,vulkan,cpu").returncode == 2,
          "two CPU targets are a usage error")
    check(smelt("run", EXAMPLE, "-o", tmp, "--profile").returncode == 2, "--profile needs --target vulkan")
    if r.returncode != 0 or not re.search(r"^0: ", r.stdout, re.M):
        skip("no Vulkan device: the vulkan runs")
        return
    xf, want = example_input(tmp, 5, "vk_image.npy")

    def agrees(outdir, what):
        output_matches(outdir, "probs", want, what)

    r = smelt("run", EXAMPLE, "--target", "vulkan", "-i", xf, "-o", os.path.join(tmp, "vk_out"), "--profile")
    check(r.returncode == 0 and "total on the device" in r.stdout, f"run --target vulkan --profile: {r.stderr[:300]}")
    agrees(os.path.join(tmp, "vk_out"), "run --target vulkan")
    r = smelt("run", EXAMPLE, "--target", "vulkan", "--device", "99", "-i", xf, "-o", os.path.join(tmp, "vk99"))
    check(r.returncode == 1 and "no Vulkan device 99" in r.stderr, f"--device 99: {r.stderr[:200]}")
    so = os.path.join(tmp, "tiny_vk.so")
    if compile_ok("cpu,vulkan", EXAMPLE, "-o", so, "--target", "cpu,vulkan"):
        r = smelt("run", so, "--target", "vulkan", "-i", xf, "-o", os.path.join(tmp, "vk_so"))
        check(r.returncode == 0, f"run the artifact on vulkan: {r.stderr[:300]}")
        agrees(os.path.join(tmp, "vk_so"), "artifact on vulkan")
        env = dict(os.environ, VK_ICD_FILENAMES="/nonexistent.json", VK_DRIVER_FILES="/nonexistent.json")
        r = subprocess.run([SMELT, "run", so, "--target", "vulkan", "-i", xf, "-o", os.path.join(tmp, "vk_cpu")],
                           capture_output=True, text=True, timeout=300, env=env)
        check(r.returncode == 0 and "running on the CPU" in r.stderr, f"no driver: the CPU code runs: {r.stderr[:300]}")
        agrees(os.path.join(tmp, "vk_cpu"), "artifact without a Vulkan driver")
    cpu_so = os.path.join(tmp, "tiny_cpu.so")
    if compile_ok("cpu only", EXAMPLE, "-o", cpu_so):
        r = smelt("run", cpu_so, "--target", "vulkan", "-i", xf, "-o", os.path.join(tmp, "vk_no"))
        check(r.returncode == 1 and "not compiled for Vulkan" in r.stderr, f"a CPU-only artifact: {r.stderr[:200]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_usage()
        test_malformed(tmp)
        test_bad_tensors(tmp)
        test_outputs(tmp)
        test_run_against_onnxruntime(tmp)
        test_compile(tmp)
        test_library_attrs(tmp)
        test_inspect_memory(tmp)
        test_vulkan(tmp)
    sys.exit(check.summary("cli"))


if __name__ == "__main__":
    main()
