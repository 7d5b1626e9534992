/* test_npy.c — unit tests of the .npy reader and writer (runtime/npy.c).
 *
 * The reference is numpy itself: tests/unit/data/make_npy_cases.py writes the
 * files in tests/unit/data/npy/ with numpy (every supported dtype, scalars,
 * empty arrays, rank 5, formats 2.0 and 3.0, big-endian data, hand-written
 * headers numpy accepts, and files numpy writes that smelt refuses) and, in
 * cases.txt, what numpy loaded from each: dtype, shape, byte count, a hash of
 * the little-endian bytes, the first value, and the file np.save writes for
 * the same array. The test reads every file from disk and from memory and
 * checks all of that, checks that the writer's bytes equal numpy's, round-trips
 * arrays of every dtype, reads through a pipe, and feeds malformed input —
 * every truncation, corrupted headers, huge shapes, header lengths past the
 * end, random byte flips — expecting one clean message, never a crash (run it
 * under ASan: each malformed image sits in a buffer of exactly its size).
 * Run from the repository root.
 */
#include "runtime/npy.h"
#include "tests/unit/support/check.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA "tests/unit/data/npy/"

static char tmpdir[64];

/* ---- helpers --------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

static int spit(const char *path, const void *b, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

/* Reads a copy of buf that is exactly len bytes long, so ASan sees overreads. */
static int read_exact(const void *buf, size_t len, const char *name, npy_array *a, char *err,
                      size_t errlen) {
    void *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, buf, len);
    int rc = npy_read_mem(len ? copy : NULL, len, name, a, err, errlen);
    free(copy);
    return rc;
}

static int host_le(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one;
}

/* FNV-1a 64 of the array's bytes in little-endian order (what the script hashes). */
static uint64_t fnv_le(const npy_array *a) {
    uint64_t h = 0xcbf29ce484222325ull;
    size_t es = npy_dtype_size(a->dtype);
    const unsigned char *p = a->data;
    for (size_t i = 0; i < a->nbytes; i++) {
        size_t j = host_le() ? i : i / es * es + (es - 1 - i % es);
        h = (h ^ p[j]) * 0x100000001b3ull;
    }
    return h;
}

static double half_to_double(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = m / 1024.0 / 16384.0;
    else if (e == 31) v = m ? 0.0 / 0.0 : 1.0 / 0.0;
    else {
        v = 1.0 + m / 1024.0;
        for (; e > 15; e--) v *= 2;
        for (; e < 15; e++) v /= 2;
    }
    return s ? -v : v;
}

/* The first element as the manifest prints it: a float repr or an integer. */
static int first_matches(const npy_array *a, const char *want) {
    char got[64];
    const void *p = a->data;
    switch (a->dtype) {
    case NPY_F32: return *(const float *)p == strtod(want, NULL);
    case NPY_F64: return *(const double *)p == strtod(want, NULL);
    case NPY_F16: return half_to_double(*(const uint16_t *)p) == strtod(want, NULL);
    case NPY_I8: snprintf(got, sizeof got, "%d", *(const int8_t *)p); break;
    case NPY_I16: snprintf(got, sizeof got, "%d", *(const int16_t *)p); break;
    case NPY_I32: snprintf(got, sizeof got, "%" PRId32, *(const int32_t *)p); break;
    case NPY_I64: snprintf(got, sizeof got, "%" PRId64, *(const int64_t *)p); break;
    case NPY_U8: snprintf(got, sizeof got, "%u", *(const uint8_t *)p); break;
    case NPY_U16: snprintf(got, sizeof got, "%u", *(const uint16_t *)p); break;
    case NPY_U32: snprintf(got, sizeof got, "%" PRIu32, *(const uint32_t *)p); break;
    case NPY_U64: snprintf(got, sizeof got, "%" PRIu64, *(const uint64_t *)p); break;
    case NPY_BOOL: snprintf(got, sizeof got, "%u", *(const uint8_t *)p); break;
    default: return 0;
    }
    return strcmp(got, want) == 0;
}

static int same_array(const npy_array *a, const npy_array *b) {
    if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}

/* A .npy image with a hand-written dict, padded to 64 bytes as numpy pads. */
static unsigned char *make_npy(int major, const char *dict, const void *data, size_t dlen,
                               size_t *len) {
    size_t lenlen = major == 1 ? 2 : 4, n = strlen(dict), hlen = n + 1;
    hlen += (64 - (8 + lenlen + hlen) % 64) % 64;
    *len = 8 + lenlen + hlen + dlen;
    unsigned char *b = malloc(*len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < lenlen; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8 + lenlen, dict, n);
    memset(b + 8 + lenlen + n, ' ', hlen - n - 1);
    b[8 + lenlen + hlen - 1] = '\n';
    if (dlen) memcpy(b + 8 + lenlen + hlen, data, dlen);
    return b;
}

/* Expects reading the image to fail with a message containing want. */
static void expect_error(const void *b, size_t len, const char *want) {
    npy_array a;
    char err[512] = "";
    int rc = read_exact(b, len, "x.npy", &a, err, sizeof err);
    CHECK(rc == -1);
    CHECK(a.data == NULL);
    CHECK_CONTAINS(err, want);
}

static void expect_dict_error(const char *dict, size_t dlen, const char *want) {
    size_t len;
    unsigned char data[64] = {0};
    unsigned char *b = make_npy(1, dict, data, dlen, &len);
    expect_error(b, len, want);
    free(b);
}

/* ---- numpy-written files --------------------------------------------------- */

static int n_ok_cases, n_reject_cases;

static void check_ok_case(char **tok, int ntok) {
    const char *name = tok[1], *descr = tok[2];
    int rank = atoi(tok[3]);
    if (ntok != 8 + rank) {
        CHECK(!"malformed cases.txt line");
        return;
    }
    size_t nbytes = strtoull(tok[4 + rank], NULL, 10);
    uint64_t hash = strtoull(tok[5 + rank], NULL, 16);
    const char *first = tok[6 + rank], *canon = tok[7 + rank];
    char path[256], err[512] = "";
    snprintf(path, sizeof path, DATA "%s", name);

    npy_array a;
    int rc = npy_read_file(path, &a, err, sizeof err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s: %s\n", name, err);
        return;
    }
    n_ok_cases++;
    CHECK(strcmp(npy_dtype_descr(a.dtype), descr) == 0);
    CHECK(a.rank == rank);
    int shape_ok = 1;
    for (int i = 0; i < rank; i++) shape_ok &= a.shape[i] == strtoll(tok[4 + i], NULL, 10);
    CHECK(shape_ok);
    CHECK(a.nbytes == nbytes);
    CHECK((size_t)npy_numel(&a) * npy_dtype_size(a.dtype) == a.nbytes);
    CHECK(a.data != NULL && (uintptr_t)a.data % 64 == 0);
    CHECK(fnv_le(&a) == hash);
    if (strcmp(first, "-") != 0) {
        int fm = first_matches(&a, first);
        CHECK(fm);
        if (!fm) fprintf(stderr, "  %s: first value is not %s\n", name, first);
    }

    /* From memory, the same array. */
    size_t flen;
    unsigned char *fb = slurp(path, &flen);
    npy_array m;
    CHECK(fb && read_exact(fb, flen, name, &m, err, sizeof err) == 0);
    CHECK(same_array(&a, &m));
    npy_free(&m);
    free(fb);

    /* The writer's bytes equal what np.save writes for this array. */
    char cpath[256];
    snprintf(cpath, sizeof cpath, DATA "%s", canon);
    size_t clen, wlen;
    unsigned char *cb = slurp(cpath, &clen);
    void *wb;
    CHECK(cb != NULL);
    CHECK(npy_write_mem(&a, &wb, &wlen, err, sizeof err) == 0);
    int same = cb && wlen == clen && memcmp(wb, cb, clen) == 0;
    CHECK(same);
    if (!same) fprintf(stderr, "  %s: written bytes differ from %s\n", name, canon);
    free(wb);

    /* And through a file: same bytes on disk, same array back. */
    char *out = tmp_path("case.npy");
    CHECK(npy_write_file(out, &a, err, sizeof err) == 0);
    size_t olen;
    unsigned char *ob = slurp(out, &olen);
    CHECK(ob && cb && olen == clen && memcmp(ob, cb, clen) == 0);
    npy_array r;
    CHECK(npy_read_file(out, &r, err, sizeof err) == 0);
    CHECK(same_array(&a, &r));
    npy_free(&r);
    remove(out);
    free(ob);
    free(cb);
    npy_free(&a);
    CHECK(a.data == NULL && a.rank == 0);
}

/* What smelt says about the files numpy writes but smelt refuses. */
static const struct {
    const char *name, *want;
} rejects[] = {
    {"fortran.npy", "fortran_order is True"},
    {"complex.npy", "unsupported dtype descr '<c8'"},
    {"void2.npy", "unsupported dtype descr '|V2' (raw bytes"},
    {"bf16.npy", "unsupported dtype descr '<V2' (raw bytes; ml_dtypes saves bfloat16"},
    {"struct.npy", "'descr' is a list (structured dtypes are not supported)"},
    {"str.npy", "unsupported dtype descr '<U2'"},
};

static void check_reject_case(const char *name) {
    char path[256], err[512] = "";
    snprintf(path, sizeof path, DATA "%s", name);
    const char *want = NULL;
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++)
        if (strcmp(rejects[i].name, name) == 0) want = rejects[i].want;
    CHECK(want != NULL);
    npy_array a;
    CHECK(npy_read_file(path, &a, err, sizeof err) == -1);
    CHECK(a.data == NULL);
    CHECK_CONTAINS(err, path);
    if (want) CHECK_CONTAINS(err, want);
    n_reject_cases++;
}

static void test_numpy_files(void) {
    FILE *f = fopen(DATA "cases.txt", "r");
    CHECK(f != NULL);
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char *tok[32], *save = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " \n", &save); t && n < 32; t = strtok_r(NULL, " \n", &save))
            tok[n++] = t;
        if (n >= 2 && strcmp(tok[0], "ok") == 0) check_ok_case(tok, n);
        else if (n == 2 && strcmp(tok[0], "reject") == 0) check_reject_case(tok[1]);
        else if (n) CHECK(!"unknown cases.txt line");
    }
    fclose(f);
    CHECK(n_ok_cases >= 34);
    CHECK(n_reject_cases == 6);
}

/* ---- malformed input ------------------------------------------------------- */

static const char *valid_files[] = {"f4.npy", "v2_f4.npy", "v3_i4.npy", "scalar_f4.npy",
                                    "empty_0x3.npy", "be_i8.npy", "craft_ws.npy", "rank5.npy"};

static void test_truncation(void) {
    for (size_t k = 0; k < sizeof valid_files / sizeof valid_files[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", valid_files[k]);
        size_t len;
        unsigned char *b = slurp(path, &len);
        CHECK(b != NULL);
        if (!b) continue;
        int all_fail = 1, all_named = 1;
        for (size_t cut = 0; cut < len; cut++) {
            npy_array a;
            char err[512] = "";
            if (read_exact(b, cut, "cut.npy", &a, err, sizeof err) != -1 || a.data) all_fail = 0;
            if (strncmp(err, "cut.npy: ", 9) != 0) all_named = 0;
        }
        CHECK(all_fail);
        CHECK(all_named);
        /* One byte too many is as wrong as one too few. */
        unsigned char *longer = malloc(len + 1);
        memcpy(longer, b, len);
        longer[len] = 0;
        npy_array a;
        char err[512] = "";
        CHECK(read_exact(longer, len + 1, "long.npy", &a, err, sizeof err) == -1);
        CHECK_CONTAINS(err, "bytes, shape (");
        free(longer);
        free(b);
    }
    /* Every truncation of one file read from disk, too. */
    size_t len;
    unsigned char *b = slurp(DATA "f4.npy", &len);
    int all_fail = 1;
    char *p = tmp_path("cut.npy");
    for (size_t cut = 0; b && cut < len; cut++) {
        npy_array a;
        char err[512] = "";
        spit(p, b, cut);
        if (npy_read_file(p, &a, err, sizeof err) != -1 || !strstr(err, p)) all_fail = 0;
    }
    CHECK(all_fail);
    remove(p);
    free(b);
}

static void test_bad_preamble(void) {
    size_t len;
    unsigned char *b = slurp(DATA "f4.npy", &len);
    unsigned char *c = malloc(len);
    if (!b || !c) {
        CHECK(!"cannot read f4.npy");
        return;
    }
    memcpy(c, b, len);
    c[1] = 'M';
    expect_error(c, len, "x.npy: not a .npy file (bad magic)");
    expect_error("PK\3\4", 4, "not a .npy file");
    expect_error("", 0, "x.npy: file ends inside the .npy preamble (0 bytes)");
    memcpy(c, b, len);
    c[6] = 4;
    expect_error(c, len, "unsupported .npy format version 4.0");
    memcpy(c, b, len);
    c[7] = 1;
    expect_error(c, len, "unsupported .npy format version 1.1");
    memcpy(c, b, len);
    c[8] = 0xff, c[9] = 0xff;
    expect_error(c, len, "x.npy: header length 65535 runs past the end of the file (");
    memcpy(c, b, len);
    c[8] = (unsigned char)(c[8] + 1);
    expect_error(c, len, "header is not a valid dict"); /* data byte ends the dict */
    memcpy(c, b, len);
    c[8] = 0, c[9] = 0;
    expect_error(c, len, "header is not a valid dict: expected '{', found the end");
    /* Format 2.0 with a 4 GiB header length. */
    unsigned char v2[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    expect_error(v2, sizeof v2, "header length 4294967295 runs past the end of the file (16 bytes)");
    free(b);
    free(c);
}

static void test_bad_headers(void) {
    /* The two messages of the brief, word for word. */
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, x), }", 0,
                      "x.npy: header 'shape' entry 3 is not a non-negative integer");
    expect_dict_error("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 40,
                      "x.npy: data has 40 bytes, shape (3, 4) of <f4 needs 48");
    static const struct {
        const char *dict;
        const char *want;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False}", "header has no 'shape' key"},
        {"{'fortran_order': False, 'shape': (1,)}", "header has no 'descr' key"},
        {"{'descr': '<f4', 'shape': (1,)}", "header has no 'fortran_order' key"},
        {"{}", "header has no 'descr' key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
         "header has an unknown key 'extra'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
         "header has the key 'descr' twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
         "header 'shape' entry 0 is not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1.5)}",
         "header 'shape' entry 1 is not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, '3')}",
         "header 'shape' entry 1 is not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,,)}",
         "header 'shape' entry 1 is not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')' in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "header 'shape' is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 5}", "header 'shape' is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (5)}",
         "header 'shape' is an integer in parentheses, not a tuple (write (5,))"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
         "header 'shape' entry 0 is larger than 9223372036854775807"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775808,)}",
         "header 'shape' entry 0 is larger than"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}",
         "shape (4611686018427387904, 4) of <f4 is too large to address"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
         "is too large to address"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000000000)}",
         "data has 0 bytes, shape (1000000000, 1000000000) of <f4 needs 4000000000000000000"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': "
         "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}",
         "header 'shape' has more than 16 dimensions"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}", "fortran_order is True"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
         "header 'fortran_order' is not True or False"},
        {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}",
         "header 'fortran_order' is not True or False"},
        {"{'descr': '<c16', 'fortran_order': False, 'shape': (1,)}", "unsupported dtype descr '<c16'"},
        {"{'descr': '<f4x', 'fortran_order': False, 'shape': (1,)}", "unsupported dtype descr '<f4x'"},
        {"{'descr': '', 'fortran_order': False, 'shape': (1,)}", "unsupported dtype descr ''"},
        {"{'descr': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'fortran_order': False, 'shape': (1,)}",
         "unsupported dtype descr 'xxxx"},
        {"{'descr': 4, 'fortran_order': False, 'shape': (1,)}", "expected a string at offset 10"},
        {"{'descr': '<f4\\n', 'fortran_order': False, 'shape': (1,)}", "escape sequence"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "unsupported dtype descr '<f4, '"},
        {"{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "expected ':' after a key"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "expected only padding after '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}}", "expected only padding after '}'"},
        {"[('descr', '<f4')]", "expected '{' at offset 0, found '['"},
        {"{descr: '<f4'}", "expected a string at offset 1"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ,}", "expected a string"},
        {"{,}", "expected a string at offset 1"},
        {"{'desc\xc3\xa9': 1}", "header has an unknown key 'desc\xc3\xa9'"},
        {"\x01", "found byte 0x01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = check_failed;
        expect_dict_error(cases[i].dict, 0, cases[i].want);
        if (check_failed != before) fprintf(stderr, "  in case %zu: %s\n", i, cases[i].dict);
    }
    /* 'L' sizes are Python 2, so only format 1.0 and 2.0 may carry them. */
    size_t len;
    unsigned char d[4] = {0};
    unsigned char *b = make_npy(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1L,)}", d, 4, &len);
    expect_error(b, len, "header 'shape' entry 0 is not a non-negative integer");
    free(b);
    b = make_npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1L,)}", d, 4, &len);
    npy_array a;
    char err[512] = "";
    CHECK(read_exact(b, len, "py2.npy", &a, err, sizeof err) == 0 && a.rank == 1 && a.shape[0] == 1);
    npy_free(&a);
    free(b);
    /* A zero dimension empties any shape, even one whose other sizes overflow. */
    b = make_npy(1,
                 "{'descr': '<f8', 'fortran_order': False, "
                 "'shape': (9223372036854775807, 0, 9223372036854775807)}",
                 NULL, 0, &len);
    CHECK(read_exact(b, len, "zero.npy", &a, err, sizeof err) == 0);
    CHECK(a.nbytes == 0 && a.rank == 3 && a.shape[1] == 0 && a.data != NULL);
    npy_free(&a);
    free(b);
    /* Rank 16 is the limit, and it is fine. */
    b = make_npy(1, "{'descr':'|u1','fortran_order':False,'shape':(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2)}",
                 "\x05\x06", 2, &len);
    CHECK(read_exact(b, len, "r16.npy", &a, err, sizeof err) == 0);
    CHECK(a.rank == 16 && a.shape[15] == 2 && ((unsigned char *)a.data)[1] == 6);
    npy_free(&a);
    free(b);
    /* '=' and '|' mean the host's order, as in numpy. */
    float one = 1.0f;
    b = make_npy(1, "{'descr':'=f4','fortran_order':False,'shape':()}", &one, 4, &len);
    CHECK(read_exact(b, len, "native.npy", &a, err, sizeof err) == 0);
    CHECK(a.dtype == NPY_F32 && a.rank == 0 && *(float *)a.data == 1.0f);
    npy_free(&a);
    free(b);
}

/* Random byte flips: either a clean error or a consistent array. */
static void test_fuzz(void) {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int clean = 1, ok_count = 0;
    for (size_t k = 0; k < sizeof valid_files / sizeof valid_files[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", valid_files[k]);
        size_t len;
        unsigned char *b = slurp(path, &len);
        if (!b) {
            CHECK(!"cannot read a valid file");
            continue;
        }
        for (int it = 0; it < 3000; it++) {
            unsigned char *c = malloc(len);
            memcpy(c, b, len);
            int flips = 1 + it % 3;
            for (int j = 0; j < flips; j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                size_t at = (size_t)(s >> 33) % (len < 140 ? len : 140); /* mostly the header */
                static const char pool[] = "'\"(),:{} 0123456789-LTF<>|\n\x93";
                c[at] = (s >> 20) & 1 ? (unsigned char)(s >> 24) : (unsigned char)pool[(s >> 24) % (sizeof pool - 1)];
            }
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t clen = (s >> 40) % 8 == 0 ? (size_t)(s >> 20) % (len + 1) : len;
            npy_array a;
            char err[512] = "";
            if (read_exact(c, clen, "fuzz.npy", &a, err, sizeof err) == 0) {
                ok_count++;
                if ((size_t)npy_numel(&a) * npy_dtype_size(a.dtype) != a.nbytes || !a.data) clean = 0;
                npy_free(&a);
            } else if (strncmp(err, "fuzz.npy: ", 10) != 0 || a.data) {
                clean = 0;
            }
            free(c);
        }
        free(b);
    }
    CHECK(clean);
    CHECK(ok_count > 0); /* some flips (padding, values) leave a valid file */
}

/* ---- writing --------------------------------------------------------------- */

static void fill(npy_array *a, npy_dtype t, int rank, const int64_t *shape) {
    memset(a, 0, sizeof *a);
    a->dtype = t;
    a->rank = rank;
    for (int i = 0; i < rank; i++) a->shape[i] = shape[i];
    a->nbytes = (size_t)npy_numel(a) * npy_dtype_size(t);
    a->data = malloc(a->nbytes ? a->nbytes : 1);
    for (size_t i = 0; i < a->nbytes; i++)
        ((unsigned char *)a->data)[i] = t == NPY_BOOL ? (unsigned char)(i % 3 == 0) : (unsigned char)(i * 37 + 11);
}

static void test_round_trip(void) {
    static const int64_t shapes[][4] = {{0}, {7}, {2, 3}, {0, 5}, {3, 1, 2}, {2, 2, 2, 2}};
    static const int ranks[] = {0, 1, 2, 2, 3, 4};
    int ok = 1;
    char *p = tmp_path("rt.npy");
    for (int t = 0; t < NPY_DTYPE_COUNT; t++)
        for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++) {
            npy_array a, b, m;
            char err[512] = "";
            fill(&a, (npy_dtype)t, ranks[k], shapes[k]);
            void *buf;
            size_t len, flen;
            if (npy_write_file(p, &a, err, sizeof err) || npy_read_file(p, &b, err, sizeof err)) {
                fprintf(stderr, "  round trip %s rank %d: %s\n", npy_dtype_descr(a.dtype), a.rank, err);
                ok = 0;
                free(a.data);
                continue;
            }
            ok &= same_array(&a, &b);
            ok &= (uintptr_t)b.data % 64 == 0;
            ok &= npy_write_mem(&a, &buf, &len, err, sizeof err) == 0;
            unsigned char *fb = slurp(p, &flen);
            ok &= fb && flen == len && memcmp(fb, buf, len) == 0;
            ok &= (len - a.nbytes) % 64 == 0;          /* header padded to 64 */
            ok &= ((char *)buf)[len - a.nbytes - 1] == '\n';
            ok &= npy_read_mem(buf, len, "m", &m, err, sizeof err) == 0 && same_array(&a, &m);
            npy_free(&m);
            free(fb);
            free(buf);
            npy_free(&b);
            free(a.data);
        }
    CHECK(ok);
    remove(p);
}

static void test_write_errors(void) {
    npy_array a;
    char err[512] = "";
    int64_t shape[2] = {3, 4};
    fill(&a, NPY_F32, 2, shape);
    void *buf;
    size_t len;
    a.nbytes = 40;
    CHECK(npy_write_file(tmp_path("bad.npy"), &a, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "bad.npy: array has 40 bytes, shape (3, 4) of <f4 needs 48");
    a.nbytes = 48;
    a.rank = 17;
    CHECK(npy_write_mem(&a, &buf, &len, err, sizeof err) == -1 && buf == NULL);
    CHECK_CONTAINS(err, "rank 17 is outside 0..16");
    a.rank = 2;
    a.shape[1] = -4;
    CHECK(npy_write_mem(&a, &buf, &len, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "shape entry 1 is negative (-4)");
    a.shape[1] = 4;
    a.dtype = (npy_dtype)99;
    CHECK(npy_write_mem(&a, &buf, &len, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "invalid dtype 99");
    a.dtype = NPY_F32;
    void *data = a.data;
    a.data = NULL;
    CHECK(npy_write_mem(&a, &buf, &len, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "array has no data");
    a.data = data;
    CHECK(npy_write_file("/nonexistent-dir/out.npy", &a, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "/nonexistent-dir/out.npy: cannot create a temporary file");

    /* Writing over a file replaces it whole; nothing else is left behind. */
    char *p = tmp_path("over.npy");
    CHECK(spit(p, "old contents that are longer than nothing", 41) == 0);
    CHECK(npy_write_file(p, &a, err, sizeof err) == 0);
    npy_array b;
    CHECK(npy_read_file(p, &b, err, sizeof err) == 0 && same_array(&a, &b));
    npy_free(&b);
    remove(p);
    free(data);
    DIR *d = opendir(tmpdir);
    int leftovers = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') {
            leftovers++;
            fprintf(stderr, "  left behind: %s\n", e->d_name);
        }
    if (d) closedir(d);
    CHECK(leftovers == 0);

    CHECK(npy_read_file(tmp_path("missing.npy"), &b, err, sizeof err) == -1);
    CHECK_CONTAINS(err, "missing.npy: cannot open: ");
    npy_free(NULL);
}

/* A file that cannot seek (a FIFO) goes through the read-all path. */
static void test_pipe(void) {
    npy_array a;
    int64_t shape[1] = {50000};
    fill(&a, NPY_I32, 1, shape); /* 200 kB: the buffer has to grow */
    void *buf;
    size_t len;
    char err[512] = "";
    CHECK(npy_write_mem(&a, &buf, &len, err, sizeof err) == 0);
    char *fifo = tmp_path("fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    for (int trunc = 0; trunc < 2; trunc++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            FILE *f = fopen(fifo, "wb");
            if (f) fwrite(buf, 1, trunc ? len - 1 : len, f), fclose(f);
            _exit(0);
        }
        npy_array b;
        int rc = npy_read_file(fifo, &b, err, sizeof err);
        if (!trunc) {
            CHECK(rc == 0 && same_array(&a, &b));
            CHECK((uintptr_t)b.data % 64 == 0);
        } else {
            CHECK(rc == -1);
            CHECK_CONTAINS(err, "fifo: data has 199999 bytes, shape (50000,) of <i4 needs 200000");
        }
        npy_free(&b);
        int status;
        waitpid(pid, &status, 0);
    }
    remove(fifo);
    free(buf);
    free(a.data);
}

static void test_dtype_table(void) {
    static const char *descr[] = {"<f4", "<f8", "<f2", "|i1", "<i2", "<i4",
                                  "<i8", "|u1", "<u2", "<u4", "<u8", "|b1"};
    static const size_t size[] = {4, 8, 2, 1, 2, 4, 8, 1, 2, 4, 8, 1};
    int ok = 1;
    for (int t = 0; t < NPY_DTYPE_COUNT; t++)
        ok &= strcmp(npy_dtype_descr((npy_dtype)t), descr[t]) == 0 && npy_dtype_size((npy_dtype)t) == size[t];
    CHECK(ok);
    CHECK(npy_dtype_size(NPY_DTYPE_COUNT) == 0 && strcmp(npy_dtype_descr(NPY_DTYPE_COUNT), "?") == 0);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smelt_test_npy_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_dtype_table();
    test_numpy_files();
    test_truncation();
    test_bad_preamble();
    test_bad_headers();
    test_fuzz();
    test_round_trip();
    test_write_errors();
    test_pipe();
    rmdir(tmpdir);
    return check_summary("npy");
}
