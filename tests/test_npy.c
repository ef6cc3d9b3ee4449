/* test_npy.c: .npy writing byte for byte as numpy 1.x/2.x writes it (hand-written expected
 * headers), memory-mapped reading of every supported dtype and shape, header variants other
 * writers produce (format 2.0/3.0, double quotes, key order, Python 2 'L' suffixes), every
 * malformed-header error with its byte offset, and a mutation loop that must never crash.
 * Also the atomic file and folder writes of dc_atomic.h, and the removal of the temporaries
 * a killed writer leaves.
 */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dc/dc_atomic.h"
#include "dc/dc_npy.h"
#include "dc_test.h"

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* numpy's header for dict text d: magic, v1.0, LE length, d, spaces, '\n', total % 64 == 0 */
static size_t numpy_header(const char *d, uint8_t *out) {
    size_t dl = strlen(d), pad = 64 - (10 + dl + 1) % 64, total = 10 + dl + pad + 1;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)((total - 10) & 0xFF);
    out[9] = (uint8_t)((total - 10) >> 8);
    memcpy(out + 10, d, dl);
    memset(out + 10 + dl, ' ', pad);
    out[total - 1] = '\n';
    return total;
}

START_TEST(test_write_matches_numpy_bytes) {
    char *dir = dc_test_tmpdir(), p[4096];
    snprintf(p, sizeof p, "%s/a.npy", dir);
    /* np.save("a.npy", np.arange(6, dtype="<f4").reshape(2, 3)): a 128-byte header */
    float x[6] = {0, 1, 2, 3, 4, 5};
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_F32, 2, (int64_t[]){2, 3}, x), DC_OK);
    size_t len;
    uint8_t *b = slurp(p, &len), want[256];
    size_t hl = numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", want);
    ck_assert_uint_eq(hl, 128);
    ck_assert_uint_eq(want[8], 118);
    ck_assert_uint_eq(len, 128 + 24);
    ck_assert(!memcmp(b, want, hl));
    ck_assert(!memcmp(b + 128, x, 24));
    free(b);
    /* 1-D int64 (trailing comma), 0-D, empty */
    int64_t v[3] = {-1, 0, 1LL << 40};
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_I64, 1, (int64_t[]){3}, v), DC_OK);
    b = slurp(p, &len);
    hl = numpy_header("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", want);
    ck_assert(!memcmp(b, want, hl));
    ck_assert(!memcmp(b + hl, v, 24));
    free(b);
    int32_t s = 7;
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_I32, 0, NULL, &s), DC_OK);
    b = slurp(p, &len);
    hl = numpy_header("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", want);
    ck_assert(!memcmp(b, want, hl));
    ck_assert_uint_eq(len, hl + 4);
    free(b);
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_U8, 2, (int64_t[]){0, 5}, NULL), DC_OK);
    b = slurp(p, &len);
    hl = numpy_header("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 5), }", want);
    ck_assert(!memcmp(b, want, hl));
    ck_assert_uint_eq(len, hl);
    free(b);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_roundtrip_mapped) {
    char *dir = dc_test_tmpdir(), p[4096];
    snprintf(p, sizeof p, "%s/r.npy", dir);
    const dc_npy_dtype dts[] = {DC_NPY_F32, DC_NPY_F64, DC_NPY_I32, DC_NPY_I64, DC_NPY_U8, DC_NPY_I8};
    uint8_t data[2 * 3 * 5 * 8];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 37 + 11);
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        int64_t shape[3] = {2, 3, 5};
        ck_assert_int_eq(dc_npy_write(p, dts[k], 3, shape, data), DC_OK);
        dc_npy a;
        ck_assert_msg(dc_npy_open(p, &a) == DC_OK, "%s", dc_last_error());
        ck_assert_int_eq(a.dtype, dts[k]);
        ck_assert_int_eq(a.ndim, 3);
        ck_assert_int_eq(a.shape[0], 2);
        ck_assert_int_eq(a.shape[2], 5);
        ck_assert_int_eq(a.numel, 30);
        ck_assert_int_eq((uintptr_t)a.data % 64, 0); /* 64-byte aligned data in the mapping */
        ck_assert(!memcmp(a.data, data, 30 * dc_npy_dtype_size(dts[k])));
        ((uint8_t *)a.data)[0] ^= 0xFF; /* private pages: the file is not changed */
        dc_npy_close(&a);
        dc_npy_close(&a);
        ck_assert_int_eq(dc_npy_open(p, &a), DC_OK);
        ck_assert_int_eq(((uint8_t *)a.data)[0], data[0]);
        dc_npy_close(&a);
    }
    dc_npy_close(NULL);
    /* no temporary files left behind */
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    ck_assert_int_eq(n, 1);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Parse a header dict (v1.0 framing unless major > 1) with data_bytes of payload. */
static dc_status parse_dict(int major, const char *dict, size_t data_bytes, dc_npy_header *h) {
    static uint8_t b[4096];
    size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    b[8] = (uint8_t)(dl & 0xFF);
    b[9] = (uint8_t)(dl >> 8);
    if (major > 1) b[10] = b[11] = 0;
    memcpy(b + pre, dict, dl);
    memset(b + pre + dl, 0, data_bytes);
    return dc_npy_parse_header(b, pre + dl + data_bytes, pre + dl + data_bytes, "t.npy", h);
}

START_TEST(test_header_variants) {
    dc_npy_header h;
    ck_assert_int_eq(parse_dict(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }\n", 32, &h), DC_OK);
    ck_assert_int_eq(h.major, 2);
    ck_assert_int_eq(h.data_offset, 12 + 60);
    ck_assert_int_eq(h.dtype, DC_NPY_F64);
    ck_assert_int_eq(parse_dict(3, "{\"shape\": (4,), \"descr\": \"<i4\", \"fortran_order\": False}", 16, &h), DC_OK);
    ck_assert_int_eq(h.shape[0], 4);
    ck_assert_int_eq(parse_dict(1, "  {'descr':'|u1','fortran_order':False,'shape':(3L, 2L)}  \n", 6, &h), DC_OK);
    ck_assert_int_eq(h.ndim, 2);
    ck_assert_int_eq(h.numel, 6);
    ck_assert_int_eq(parse_dict(1, "{'descr': 'u1', 'fortran_order': True, 'shape': (1, 5, 1), }", 5, &h), DC_OK);
    ck_assert_int_eq(h.fortran_order, 1);
    ck_assert_int_eq(parse_dict(1, "{'descr': '=i8', 'fortran_order': False, 'shape': (), }", 8, &h), DC_OK);
    ck_assert_int_eq(h.numel, 1);
}
END_TEST

static void expect_bad(int major, const char *dict, size_t data, dc_status want, const char *needle) {
    dc_npy_header h;
    dc_status st = parse_dict(major, dict, data, &h);
    ck_assert_msg(st == want, "%s: status %d, want %d (%s)", dict, st, want, dc_last_error());
    ck_assert_msg(strstr(dc_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", dict, dc_last_error(), needle);
    ck_assert_msg(strstr(dc_last_error(), "t.npy: byte offset") != NULL, "%s", dc_last_error());
}

START_TEST(test_header_errors) {
    expect_bad(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4, DC_ERR_UNSUPPORTED, "big-endian");
    expect_bad(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, DC_ERR_UNSUPPORTED, "'<c8'");
    expect_bad(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", 4, DC_ERR_FORMAT, "byte order");
    expect_bad(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, DC_ERR_FORMAT, "structured");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, DC_ERR_UNSUPPORTED, "Fortran");
    expect_bad(1, "{'descr': '<f4', 'shape': (1,), }", 4, DC_ERR_FORMAT, "lacks 'fortran_order'");
    expect_bad(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, DC_ERR_FORMAT, "twice");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, DC_ERR_FORMAT, "unexpected key 'x'");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': Nope, 'shape': (1,), }", 4, DC_ERR_FORMAT, "True or False");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1), }", 4, DC_ERR_FORMAT, "trailing comma");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, DC_ERR_FORMAT, "non-negative");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }", 4, DC_ERR_FORMAT,
               "more than 8");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 4, DC_ERR_FORMAT,
               "overflows");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8, DC_ERR_FORMAT, "promises 12 data bytes");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8, DC_ERR_FORMAT, "but the file has 8");
    expect_bad(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, DC_ERR_FORMAT, "after the header");
    expect_bad(1, "['descr']", 0, DC_ERR_FORMAT, "expected '{'");
    expect_bad(1, "{'descr: '<f4'}", 0, DC_ERR_FORMAT, "expected ':'");
    expect_bad(1, "{'descr': '<f4\xc3\xa9', 'fortran_order': False, 'shape': (1,), }", 4, DC_ERR_FORMAT, "non-ASCII");
    /* framing errors */
    dc_npy_header h;
    uint8_t b[64] = "\x93NUMPX\x01\x00";
    ck_assert_int_eq(dc_npy_parse_header(b, sizeof b, 0, "t.npy", &h), DC_ERR_FORMAT);
    ck_assert(strstr(dc_last_error(), "bad magic"));
    memcpy(b, "\x93NUMPY\x04\x00", 8);
    ck_assert_int_eq(dc_npy_parse_header(b, sizeof b, 0, "t.npy", &h), DC_ERR_UNSUPPORTED);
    ck_assert(strstr(dc_last_error(), "version 4.0"));
    memcpy(b, "\x93NUMPY\x01\x00\xff\x00", 10);
    ck_assert_int_eq(dc_npy_parse_header(b, sizeof b, 0, "t.npy", &h), DC_ERR_FORMAT);
    ck_assert(strstr(dc_last_error(), "runs past the end"));
    memcpy(b, "\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12);
    ck_assert_int_eq(dc_npy_parse_header(b, sizeof b, 0, "t.npy", &h), DC_ERR_FORMAT);
    ck_assert(strstr(dc_last_error(), "exceeds"));
    ck_assert_int_eq(dc_npy_parse_header(b, 5, 0, "t.npy", &h), DC_ERR_FORMAT);
}
END_TEST

START_TEST(test_misaligned_and_file_errors) {
    char *dir = dc_test_tmpdir(), p[4096];
    snprintf(p, sizeof p, "%s/m.npy", dir);
    /* a header of 13 + 10 bytes: the data start at offset 23, not a multiple of 4 */
    const char *d = "{'descr':'<f4','fortran_order':False,'shape':(3,)}\n";
    uint8_t b[128];
    size_t dl = strlen(d);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (uint8_t)dl;
    b[9] = 0;
    memcpy(b + 10, d, dl);
    float v[3] = {1.5f, -2.25f, 3.0f};
    memcpy(b + 10 + dl, v, sizeof v);
    spit(p, b, 10 + dl + sizeof v);
    dc_npy a;
    ck_assert_msg(dc_npy_open(p, &a) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq((uintptr_t)a.data % 4, 0);
    ck_assert(!memcmp(a.data, v, sizeof v));
    dc_npy_close(&a);
    spit(p, b, 10 + dl + 5); /* truncated data */
    ck_assert_int_eq(dc_npy_open(p, &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), p) && strstr(dc_last_error(), "but the file has 5"), "%s", dc_last_error());
    spit(p, b, 4);
    ck_assert_int_eq(dc_npy_open(p, &a), DC_ERR_FORMAT);
    ck_assert_int_eq(dc_npy_open(dir, &a), DC_ERR_IO);
    snprintf(p, sizeof p, "%s/missing.npy", dir);
    ck_assert_int_eq(dc_npy_open(p, &a), DC_ERR_IO);
    ck_assert(strstr(dc_last_error(), "missing.npy"));
    snprintf(p, sizeof p, "%s/nodir/x.npy", dir);
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_F32, 1, (int64_t[]){1}, v), DC_ERR_IO);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_mutations_never_crash) {
    uint8_t base[256];
    size_t hl = numpy_header("{'descr': '<i4', 'fortran_order': False, 'shape': (4, 2), }", base);
    for (size_t i = hl; i < hl + 32; i++) base[i] = (uint8_t)i;
    size_t len = hl + 32;
    uint64_t x = 99;
    int ok = 0;
    for (int it = 0; it < 50000; it++) {
        uint8_t m[256];
        memcpy(m, base, len);
        size_t n = len;
        int edits = 1 + (int)(it % 4);
        for (int e = 0; e < edits; e++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t at = (size_t)(x >> 33) % n;
            switch ((x >> 20) % 4) {
            case 0: m[at] = (uint8_t)(x >> 8); break;
            case 1: n = at + 1; break;
            case 2: m[at] = "{}(),':LTF0123456789 \n"[(x >> 9) % 22]; break;
            default: m[at] ^= (uint8_t)(1u << ((x >> 12) % 8)); break;
            }
        }
        dc_npy a;
        if (dc_npy_parse(m, n, "fuzz.npy", &a) == DC_OK) {
            ok++;
            ck_assert(a.hdr.data_offset + a.hdr.data_bytes == n);
        } else {
            ck_assert(strstr(dc_last_error(), "fuzz.npy") != NULL);
        }
    }
    ck_assert_int_gt(ok, 0);
}
END_TEST

START_TEST(test_atomic_writes) {
    char *dir = dc_test_tmpdir(), p[4096], q[8300];
    snprintf(p, sizeof p, "%s/f.bin", dir);
    ck_assert_int_eq(dc_atomic_write(p, "hello", 5), DC_OK);
    ck_assert_int_eq(dc_atomic_write(p, "bye", 3), DC_OK); /* replaces */
    size_t len;
    uint8_t *b = slurp(p, &len);
    ck_assert_uint_eq(len, 3);
    free(b);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_ne(sb.st_mode & 0044, 0); /* not mkstemp's 0600 */
    dc_atomic_file f;
    ck_assert_int_eq(dc_atomic_file_begin(&f, p), DC_OK);
    ck_assert_int_eq(dc_atomic_file_write(&f, "partial", 7), DC_OK);
    dc_atomic_file_abort(&f); /* the old content stays, the temporary file goes */
    b = slurp(p, &len);
    ck_assert_uint_eq(len, 3);
    free(b);
    /* folders */
    snprintf(p, sizeof p, "%s/out", dir);
    dc_atomic_dir d;
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 0), DC_OK);
    snprintf(q, sizeof q, "%s/a.txt", d.tmp);
    ck_assert_int_eq(dc_atomic_write(q, "1", 1), DC_OK);
    ck_assert_int_ne(stat(p, &sb), 0); /* not visible before commit */
    ck_assert_int_eq(dc_atomic_dir_commit(&d), DC_OK);
    snprintf(q, sizeof q, "%s/a.txt", p);
    ck_assert_int_eq(stat(q, &sb), 0);
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 0), DC_ERR_IO);
    ck_assert(strstr(dc_last_error(), "already exists"));
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 1), DC_OK);
    snprintf(q, sizeof q, "%s/b.txt", d.tmp);
    ck_assert_int_eq(dc_atomic_write(q, "2", 1), DC_OK);
    ck_assert_int_eq(dc_atomic_dir_commit(&d), DC_OK);
    snprintf(q, sizeof q, "%s/a.txt", p);
    ck_assert_int_ne(stat(q, &sb), 0); /* replaced as a whole */
    snprintf(q, sizeof q, "%s/b.txt", p);
    ck_assert_int_eq(stat(q, &sb), 0);
    snprintf(p, sizeof p, "%s/aborted", dir);
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 0), DC_OK);
    dc_atomic_dir_abort(&d);
    dc_atomic_dir_abort(&d);
    ck_assert_int_ne(stat(p, &sb), 0);
    /* only f.bin and out remain: no hidden temporaries */
    DIR *dd = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dd));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dd);
    ck_assert_int_eq(n, 2);
    snprintf(p, sizeof p, "%s/f.bin", dir);
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 1), DC_ERR_IO); /* a file, not a folder */
    snprintf(p, sizeof p, "%s/x/y/z", dir);
    ck_assert_int_eq(dc_mkdirs(p), DC_OK);
    ck_assert_int_eq(dc_mkdirs(p), DC_OK);
    ck_assert_int_eq(dc_remove_tree(dir), DC_OK);
    ck_assert_int_ne(stat(dir, &sb), 0);
    free(dir);
}
END_TEST

/* A writer that begins a temporary folder at dir/name and a temporary file at dir/name.bin,
 * writes into both, says so on the pipe and waits to be killed. */
static pid_t start_writer(const char *dir, const char *name) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        char p[4300], q[8700];
        snprintf(p, sizeof p, "%s/%s", dir, name);
        dc_atomic_dir d;
        if (dc_atomic_dir_begin(&d, p, 0) != DC_OK) _exit(1);
        snprintf(q, sizeof q, "%s/X.npy", d.tmp);
        if (dc_atomic_write(q, "partial", 7) != DC_OK) _exit(1);
        snprintf(p, sizeof p, "%s/%s.bin", dir, name);
        dc_atomic_file f;
        if (dc_atomic_file_begin(&f, p) != DC_OK || dc_atomic_file_write(&f, "partial", 7) != DC_OK) _exit(1);
        if (write(fds[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    close(fds[1]);
    char c;
    ck_assert_int_eq(read(fds[0], &c, 1), 1); /* both temporaries exist */
    close(fds[0]);
    return pid;
}

/* Temporaries left by a killed writer are removed by the next begin on the same name; those
 * of a live writer, and of other names, are kept. */
START_TEST(test_atomic_stale_temporaries) {
    char *dir = dc_test_tmpdir(), p[4300];
    pid_t dead = start_writer(dir, "out");
    kill(dead, SIGKILL);
    waitpid(dead, NULL, 0);
    pid_t live = start_writer(dir, "live");
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".out.tmp-"), 1);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".out.bin.tmp-"), 1);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".live.tmp-"), 1);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".live.bin.tmp-"), 1);
    /* a begin on another name leaves them alone */
    snprintf(p, sizeof p, "%s/other", dir);
    dc_atomic_dir d;
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 0), DC_OK);
    dc_atomic_dir_abort(&d);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".out.tmp-"), 1);
    /* the killed writer's folder goes with the next begin on its name, and its file likewise */
    snprintf(p, sizeof p, "%s/out", dir);
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 0), DC_OK);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".out.tmp-"), 1); /* only the new one */
    ck_assert_int_eq(dc_atomic_dir_commit(&d), DC_OK);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".out.tmp-"), 0);
    snprintf(p, sizeof p, "%s/out.bin", dir);
    ck_assert_int_eq(dc_atomic_write(p, "whole", 5), DC_OK);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".out.bin.tmp-"), 0);
    /* the live writer's are kept, also by begins on their own names */
    snprintf(p, sizeof p, "%s/live", dir);
    ck_assert_int_eq(dc_atomic_dir_begin(&d, p, 0), DC_OK);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".live.tmp-"), 2);
    dc_atomic_dir_abort(&d);
    snprintf(p, sizeof p, "%s/live.bin", dir);
    ck_assert_int_eq(dc_atomic_write(p, "whole", 5), DC_OK);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".live.tmp-"), 1);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".live.bin.tmp-"), 1);
    kill(live, SIGKILL);
    waitpid(live, NULL, 0);
    ck_assert_int_eq(dc_atomic_write(p, "again", 5), DC_OK);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".live.bin.tmp-"), 0);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_write_matches_numpy_bytes);
    tcase_add_test(tc, test_roundtrip_mapped);
    tcase_add_test(tc, test_header_variants);
    tcase_add_test(tc, test_header_errors);
    tcase_add_test(tc, test_misaligned_and_file_errors);
    tcase_add_test(tc, test_mutations_never_crash);
    tcase_add_test(tc, test_atomic_writes);
    tcase_add_test(tc, test_atomic_stale_temporaries);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
