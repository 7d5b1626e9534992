/* text.h — the readable text form of the graph IR: a printer and a parser
 * such that print -> parse -> print gives the same bytes for every graph.
 *
 * It is what `--print-after=PASS` shows, what golden tests compare, and a
 * way to write test graphs by hand. A graph looks like this:
 *
 *   # smelt-ir 1
 *   graph "main" source "model.onnx" bin "model.ir.bin" {
 *     sym batch, seq
 *     input %x: f32[batch,3,224,224]
 *     const %w: f32[64,3,7,7] = file "model.onnx" offset 1234 bytes 37632
 *     const %shape: i64[2] = [1, -1]
 *     const %h: f16[2] = hex "003c0040"
 *     const %folded: f32[4096] = bin offset 0 bytes 16384
 *     %y: f32[batch,64,112,112] = Conv(%x, %w, _) {group=1, pads=[3,3,3,3], strides=[2,2]} @"Conv_0"
 *     %v: f32[batch,5], %i: i64[batch,5] = TopK(%y, %k) {axis=-1}
 *     %z: f32[(batch*seq),768] = Reshape(%a, %s) @"other.onnx":"Reshape_3"
 *     output %y
 *   }
 *
 * - Tokens are separated by any whitespace; `#` starts a comment to the end
 *   of the line. Statements: `sym`, `input`, `const`, a node, `output`.
 * - `sym` declares the graph's named symbols, in symbol-table order; every
 *   symbol used in a shape must be declared. A dimension is an integer, a
 *   symbol, or an expression over them with + - * / % (floor division and
 *   modulo), parentheses, and cdiv(a,b) min(a,b) max(a,b). Expressions are
 *   built with ir_dim_expr, so they print in one canonical form.
 *   Symbol names that are not C identifiers are written quoted: "seq len".
 * - Value names: `%name` when name is made of [A-Za-z0-9_.], else
 *   `%"..."` with C escapes (\" \\ \n \t \r \xHH). `_` is an omitted input.
 * - Attributes: only those set, in schema order, as `{name=value, ...}`:
 *   int `3`, float `0.5` / `inf` / `-inf` / `nan` (shortest text that reads
 *   back to the same float), string `"..."`, dtype `f16`, ints `[1,2]`,
 *   floats `[0.5,1]`, strings `["a","b"]`, graph `graph "name" { ... }`.
 * - Origin: `@"name"`, or `@"file":"name"` when the node's file is not the
 *   graph's source.
 * - Constants: a literal list `[1, -1]` when small (<= inline_limit bytes)
 *   and of dtype f32, f64, a whole-byte integer or bool; `hex "..."` (bytes
 *   in memory order) when small and of another dtype; when large, `file
 *   "PATH" offset O bytes N` if the bytes lie in a mapped file (PATH relative
 *   to the .ir file's directory), else `bin offset O bytes N` into the
 *   sidecar file named in the header (64-byte aligned offsets, in print
 *   order), else `hex`.
 *
 * The parser checks everything it can locate, and reports the first error as
 * `PATH:LINE:COL: message`; each node's declared output types are checked
 * against inference as the node is read, and the finished graph goes through
 * ir_verify. `file` data is mapped read-only (owned by the graph); `bin` and
 * inline data are copied into the graph arena.
 */
#ifndef SMELT_TEXT_H
#define SMELT_TEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"

#define IR_TEXT_VERSION 1
#define IR_TEXT_INLINE_LIMIT 64

typedef struct ir_print_opts {
    /* Path of the .ir file being written: `file` paths are printed relative
     * to its directory. NULL: mapping paths are printed as stored. */
    const char *out_path;
    /* Receives large arena-owned constants (the `bin` form); it must start
     * empty: offsets count from its first byte. NULL: they print as hex. */
    FILE *sidecar;
    /* The sidecar's name as written in the header, relative to the .ir
     * file's directory. Required with sidecar. */
    const char *sidecar_name;
    /* Constants of at most this many bytes print inline. 0: the default,
     * IR_TEXT_INLINE_LIMIT. */
    uint64_t inline_limit;
    /* For debug dumps: large constants that would be hex or bin print as
     * `elided bytes N`, which the parser refuses. */
    bool elide_data;
} ir_print_opts;

/* Print g (and its subgraphs). opts may be NULL. Returns 0, or -1 with an
 * error in d (a write error, or a sidecar without a name). */
int ir_print(ir_graph *g, FILE *out, const ir_print_opts *opts, diag *d);
/* The same text in a malloc'd NUL-terminated string; NULL on error. */
char *ir_print_to_string(ir_graph *g, const ir_print_opts *opts, diag *d);

/* Parse a graph from text[0..len). path names the text in messages, and
 * relative `file` and `bin` paths are read from its directory (NULL:
 * "<text>", the current directory). Returns a verified graph, or NULL with
 * one error `PATH:LINE:COL: ...` in d. Never crashes on any input. */
ir_graph *ir_parse(const char *text, size_t len, const char *path, diag *d);
/* Read the file at path and parse it. */
ir_graph *ir_parse_file(const char *path, diag *d);

/* Write a value name as the text format does (`%x`, `%"a/b:0"`) into buf;
 * returns the full length like snprintf. For messages elsewhere too. */
int ir_format_value_name(const char *name, char *buf, size_t size);

#endif
