/* test_fetch.c: `dynacl fetch-data` against local file:// mirrors built in a temporary
 * folder from shared/data (never the network): downloads checked against the repository
 * manifest and the mirror's SHA256SUMS.txt, resuming a truncated .part file, recovering
 * from a corrupt one, checksum mismatches, missing files, HARTH's zip (deflated members,
 * __MACOSX skipped) and broken archives (CRC, unsafe names). A dynacl built without libcurl
 * and libarchive (DC_HAVE_DOWNLOAD 0) must say so; the download tests are then skipped (exit 77).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc_sha256.h"
#include "dc_test.h"

static char g_out[1 << 16];

static int run_cli(const char *args) { return dc_test_run_cli(args, g_out, sizeof g_out); }

static void copy_file(const char *src, const char *dst, size_t limit) {
    FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
    ck_assert_msg(a && b, "copy %s -> %s", src, dst);
    char buf[65536];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0 && total < limit) {
        if (n > limit - total) n = limit - total;
        ck_assert_uint_eq(fwrite(buf, 1, n, b), n);
        total += n;
    }
    fclose(a);
    fclose(b);
}

static void write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void same_as_shared(const char *file, const char *shared_rel) {
    char a[65], b[65], p[4096];
    dc_test_data_path(p, sizeof p, shared_rel);
    ck_assert_int_eq(dc_sha256_file(file, a, NULL), DC_OK);
    ck_assert_int_eq(dc_sha256_file(p, b, NULL), DC_OK);
    ck_assert_msg(!strcmp(a, b), "%s differs from %s", file, p);
}

/* mirror/<rec>.{hea,dat,atr} copied from shared/data/mitdb, plus its SHA256SUMS.txt */
static void mitdb_mirror(const char *mirror, const char *const *recs, int n) {
    char src[4096], dst[8300], rel[64];
    mkdir(mirror, 0777);
    dc_test_data_path(src, sizeof src, "mitdb/SHA256SUMS.txt");
    snprintf(dst, sizeof dst, "%s/SHA256SUMS.txt", mirror);
    copy_file(src, dst, SIZE_MAX);
    for (int i = 0; i < n; i++)
        for (int e = 0; e < 3; e++) {
            static const char *const ext[3] = {"hea", "dat", "atr"};
            snprintf(rel, sizeof rel, "mitdb/%s.%s", recs[i], ext[e]);
            dc_test_data_path(src, sizeof src, rel);
            snprintf(dst, sizeof dst, "%s/%s.%s", mirror, recs[i], ext[e]);
            copy_file(src, dst, SIZE_MAX);
        }
}

START_TEST(test_fetch_verified_and_present) {
    char *dir = dc_test_tmpdir(), m[4200], o[4200], p[8400], args[16384];
    static const char *const recs[2] = {"100", "201"};
    snprintf(m, sizeof m, "%s/mirror", dir);
    snprintf(o, sizeof o, "%s/out", dir);
    mitdb_mirror(m, recs, 2);
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s' --mirror 'file://%s' --only 100,201 --quiet", o, m);
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    ck_assert_msg(strstr(g_out, "100.dat: 1950000 bytes, SHA-256 verified (repository manifest)"), "%s", g_out);
    ck_assert_msg(strstr(g_out, "6 downloaded, 0 already present") && strstr(g_out, "next: dynacl prepare ecg --input"),
                  "%s", g_out);
    for (int i = 0; i < 2; i++)
        for (int e = 0; e < 3; e++) {
            static const char *const ext[3] = {"hea", "dat", "atr"};
            char rel[64];
            snprintf(p, sizeof p, "%s/%s.%s", o, recs[i], ext[e]);
            snprintf(rel, sizeof rel, "mitdb/%s.%s", recs[i], ext[e]);
            same_as_shared(p, rel);
        }
    snprintf(p, sizeof p, "%s/SHA256SUMS.txt", o);
    ck_assert(exists(p));
    /* again: everything present and checked, nothing downloaded */
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    ck_assert_msg(strstr(g_out, "201.atr: present, SHA-256 ok") && strstr(g_out, "0 downloaded, 6 already present"),
                  "%s", g_out);
    /* a file only the mirror's list knows: checked against it, and said so */
    snprintf(p, sizeof p, "%s/999.hea", m);
    write_bytes(p, "999 0 360 0\n", 12);
    char hex[65];
    ck_assert_int_eq(dc_sha256_file(p, hex, NULL), DC_OK);
    snprintf(p, sizeof p, "%s/SHA256SUMS.txt", m);
    FILE *f = fopen(p, "a");
    fprintf(f, "%s  999.hea\n%s  x_mitdb/x_999.hea\n", hex, hex);
    fclose(f);
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s' --mirror 'file://%s/' --only 999", o, m);
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    ck_assert_msg(strstr(g_out, "999.hea: 12 bytes, SHA-256 verified against the server's SHA256SUMS.txt (not pinned"),
                  "%s", g_out);
    snprintf(p, sizeof p, "%s/x_mitdb", o);
    ck_assert(!exists(p)); /* sub-folders of the list are not part of the dataset */
    /* a file the mirror lacks */
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s' --mirror 'file://%s' --only 202.hea --quiet", o, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "202.hea"), "%s", g_out);
    snprintf(p, sizeof p, "%s/202.hea.part", o);
    ck_assert(!exists(p));
    /* the repository manifest and the mirror's list disagree: refuse */
    snprintf(p, sizeof p, "%s/SHA256SUMS.txt", m);
    f = fopen(p, "w");
    fprintf(f, "%064d  100.atr\n", 0);
    fclose(f);
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s/o2' --mirror 'file://%s' --only 100", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "100.atr: the repository manifest") && strstr(g_out, "disagree"), "%s", g_out);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_fetch_resume_and_mismatch) {
    char *dir = dc_test_tmpdir(), m[4200], o[4200], p[8400], src[4096], args[16384];
    static const char *const recs[1] = {"100"};
    snprintf(m, sizeof m, "%s/mirror", dir);
    snprintf(o, sizeof o, "%s/out", dir);
    mitdb_mirror(m, recs, 1);
    mkdir(o, 0777);
    /* an interrupted download: the first 1,000,000 bytes are already there */
    dc_test_data_path(src, sizeof src, "mitdb/100.dat");
    snprintf(p, sizeof p, "%s/100.dat.part", o);
    copy_file(src, p, 1000000);
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s' --mirror 'file://%s' --only 100.dat", o, m);
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    ck_assert_msg(strstr(g_out, "100.dat: resuming at byte 1000000") &&
                      strstr(g_out, "100.dat: 1950000 bytes, SHA-256 verified (repository manifest)"),
                  "%s", g_out);
    ck_assert(!exists(p));
    snprintf(p, sizeof p, "%s/100.dat", o);
    same_as_shared(p, "mitdb/100.dat");
    /* a corrupt .part: the mismatch is reported, the .part removed, and a rerun succeeds */
    unlink(p);
    snprintf(p, sizeof p, "%s/100.dat.part", o);
    write_bytes(p, "garbage", 7);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "100.dat: SHA-256 mismatch: expected b2ea3c25") &&
                      strstr(g_out, "the download was removed"),
                  "%s", g_out);
    ck_assert(!exists(p));
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    /* the mirror serves a corrupted file of the right size */
    snprintf(p, sizeof p, "%s/100.hea", m);
    FILE *f = fopen(p, "r+b");
    fputc('X', f);
    fclose(f);
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s/o3' --mirror 'file://%s' --only 100.hea --quiet", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "100.hea: SHA-256 mismatch: expected 60ebc904") && strstr(g_out, "(repository manifest)"),
                  "%s", g_out);
    snprintf(p, sizeof p, "%s/o3/100.hea", dir);
    ck_assert(!exists(p));
    snprintf(p, sizeof p, "%s/o3/100.hea.part", dir);
    ck_assert(!exists(p));
    /* a file of the wrong size is caught before hashing */
    snprintf(p, sizeof p, "%s/100.atr", m);
    write_bytes(p, "short", 5);
    snprintf(args, sizeof args, "fetch-data mitdb --out '%s/o4' --mirror 'file://%s' --only 100.atr --quiet", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "100.atr: size mismatch: the manifest says 4558 bytes, got 5"), "%s", g_out);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* zipfile.ZipFile(..., ZIP_DEFLATED) with "harth/", "harth/S006.csv" (5 rows) and
 * "__MACOSX/harth/._S006.csv", written once with Python's zipfile module */
static const unsigned char k_zip[] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x21, 0x38, 0x7c, 0x5d, 0x00, 0x00,
    0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x68, 0x61,
    0x72, 0x74, 0x68, 0x2f, 0x03, 0x00, 0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00,
    0x21, 0x38, 0x7c, 0x5d, 0x40, 0x7d, 0x8b, 0xca, 0x7d, 0x00, 0x00, 0x00, 0xeb, 0x01, 0x00, 0x00,
    0x0e, 0x00, 0x00, 0x00, 0x68, 0x61, 0x72, 0x74, 0x68, 0x2f, 0x53, 0x30, 0x30, 0x36, 0x2e, 0x63,
    0x73, 0x76, 0xb5, 0x8c, 0x41, 0x0a, 0x83, 0x30, 0x10, 0x45, 0xf7, 0x3d, 0x45, 0x0f, 0x30, 0x09,
    0x7f, 0x92, 0x74, 0x4c, 0xbc, 0x4c, 0x89, 0x22, 0x2a, 0x55, 0x28, 0x34, 0x8b, 0xea, 0xe9, 0x1b,
    0x4d, 0x97, 0xdd, 0x95, 0xc0, 0xc0, 0xfb, 0xfc, 0xcf, 0xbc, 0x34, 0xaf, 0xc3, 0x2b, 0xc5, 0xf5,
    0x49, 0x5d, 0xec, 0x1f, 0xf7, 0x77, 0xc1, 0x56, 0xb0, 0x53, 0x9a, 0xe6, 0x71, 0xca, 0x6d, 0xe1,
    0xf6, 0xe5, 0x4e, 0x4b, 0xec, 0x86, 0xe5, 0x62, 0xc0, 0x41, 0x81, 0x15, 0x9b, 0x2b, 0xd0, 0x9e,
    0xa7, 0x01, 0x90, 0x82, 0x0e, 0x37, 0x2b, 0x6c, 0x8f, 0x84, 0x26, 0x30, 0x58, 0x08, 0x9a, 0xe1,
    0x6d, 0xf0, 0xe7, 0x2a, 0xd6, 0x4b, 0x93, 0x2b, 0xb8, 0x60, 0x59, 0xdc, 0x91, 0xd8, 0x48, 0x7e,
    0x22, 0xf9, 0x6d, 0x35, 0x55, 0xac, 0xae, 0x8a, 0x55, 0xaa, 0x58, 0xfd, 0xbf, 0xd6, 0x0f, 0x50,
    0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x21, 0x38, 0x7c, 0x5d, 0x39, 0x9c, 0xfb,
    0x06, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00, 0x5f, 0x5f, 0x4d,
    0x41, 0x43, 0x4f, 0x53, 0x58, 0x2f, 0x68, 0x61, 0x72, 0x74, 0x68, 0x2f, 0x2e, 0x5f, 0x53, 0x30,
    0x30, 0x36, 0x2e, 0x63, 0x73, 0x76, 0xcb, 0x2a, 0xcd, 0xcb, 0x06, 0x00, 0x50, 0x4b, 0x01, 0x02,
    0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x21, 0x38, 0x7c, 0x5d, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x00, 0xfd, 0x41, 0x00, 0x00, 0x00, 0x00, 0x68, 0x61, 0x72, 0x74, 0x68, 0x2f,
    0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x21, 0x38, 0x7c, 0x5d,
    0x40, 0x7d, 0x8b, 0xca, 0x7d, 0x00, 0x00, 0x00, 0xeb, 0x01, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x26, 0x00, 0x00, 0x00, 0x68, 0x61,
    0x72, 0x74, 0x68, 0x2f, 0x53, 0x30, 0x30, 0x36, 0x2e, 0x63, 0x73, 0x76, 0x50, 0x4b, 0x01, 0x02,
    0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x21, 0x38, 0x7c, 0x5d, 0x39, 0x9c, 0xfb, 0x06,
    0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0xcf, 0x00, 0x00, 0x00, 0x5f, 0x5f, 0x4d, 0x41, 0x43, 0x4f,
    0x53, 0x58, 0x2f, 0x68, 0x61, 0x72, 0x74, 0x68, 0x2f, 0x2e, 0x5f, 0x53, 0x30, 0x30, 0x36, 0x2e,
    0x63, 0x73, 0x76, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x00, 0xb7,
    0x00, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00,
};

static const char k_csv[] =
    "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\n"
    "2019-01-12 00:00:00.000,-0.953613,-0.0791016,0.108398,-0.963867,0.0493164,0.0126953,6\n"
    "2019-01-12 00:00:00.020,-0.953613,-0.0791016,0.108398,-0.963867,0.0493164,0.0126953,6\n"
    "2019-01-12 00:00:00.040,-0.953613,-0.0791016,0.108398,-0.963867,0.0493164,0.0126953,6\n"
    "2019-01-12 00:00:00.060,-0.953613,-0.0791016,0.108398,-0.963867,0.0493164,0.0126953,6\n"
    "2019-01-12 00:00:00.080,-0.953613,-0.0791016,0.108398,-0.963867,0.0493164,0.0126953,6\n";

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static void le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) { le16(p, v & 0xFFFF), le16(p + 2, v >> 16); }

/* A one-member stored zip; crc_delta != 0 corrupts the recorded CRC; unix_mode != 0 marks the
 * member as made on Unix with that st_mode (e.g. 0120777, a symbolic link). */
static size_t stored_zip(uint8_t *z, const char *name, const char *data, uint32_t crc_delta, uint32_t unix_mode) {
    size_t nl = strlen(name), dl = strlen(data), p = 0;
    uint32_t crc = crc32_of((const uint8_t *)data, dl) + crc_delta;
    memset(z, 0, 30 + nl + dl + 46 + nl + 22);
    le32(z, 0x04034b50), le16(z + 4, 10), le32(z + 14, crc), le32(z + 18, (uint32_t)dl), le32(z + 22, (uint32_t)dl);
    le16(z + 26, (uint32_t)nl);
    memcpy(z + 30, name, nl);
    memcpy(z + 30 + nl, data, dl);
    p = 30 + nl + dl;
    uint8_t *c = z + p;
    le32(c, 0x02014b50), le16(c + 4, 20), le16(c + 6, 10), le32(c + 16, crc), le32(c + 20, (uint32_t)dl);
    le32(c + 24, (uint32_t)dl), le16(c + 28, (uint32_t)nl), le32(c + 42, 0);
    if (unix_mode) le16(c + 4, 0x0314), le32(c + 38, unix_mode << 16);
    memcpy(c + 46, name, nl);
    uint8_t *e = c + 46 + nl;
    le32(e, 0x06054b50), le16(e + 8, 1), le16(e + 10, 1), le32(e + 12, (uint32_t)(46 + nl)), le32(e + 16, (uint32_t)p);
    return p + 46 + nl + 22;
}

START_TEST(test_fetch_harth_zip) {
    char *dir = dc_test_tmpdir(), m[4200], o[4200], p[8400], args[16384];
    snprintf(m, sizeof m, "%s/mirror", dir);
    snprintf(o, sizeof o, "%s/out", dir);
    mkdir(m, 0777);
    snprintf(p, sizeof p, "%s/harth.zip", m);
    write_bytes(p, k_zip, sizeof k_zip);
    snprintf(args, sizeof args, "fetch-data harth --out '%s' --mirror 'file://%s' --quiet", o, m);
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    ck_assert_msg(strstr(g_out, "harth.zip: 473 bytes, no checksum in manifest, not verified") &&
                      strstr(g_out, "extracted 1 files") && strstr(g_out, "not verified: 1"),
                  "%s", g_out);
    ck_assert_msg(strstr(g_out, "next: dynacl prepare harth --input"), "%s", g_out);
    snprintf(p, sizeof p, "%s/harth/S006.csv", o);
    FILE *f = fopen(p, "rb");
    ck_assert(f);
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, strlen(k_csv));
    ck_assert(!memcmp(buf, k_csv, n));
    snprintf(p, sizeof p, "%s/__MACOSX", o);
    ck_assert(!exists(p));
    ck_assert_msg(run_cli(args) == 0, "%s", g_out); /* present: kept, not verified, extracted again */
    ck_assert_msg(strstr(g_out, "harth.zip: present (no checksum in manifest, not verified)"), "%s", g_out);
    /* stored members: a good one, a bad CRC, an unsafe name */
    uint8_t z[1024];
    size_t zl = stored_zip(z, "harth/S007.csv", k_csv, 0, 0);
    snprintf(p, sizeof p, "%s/harth.zip", m);
    write_bytes(p, z, zl);
    snprintf(args, sizeof args, "fetch-data harth --out '%s/o2' --mirror 'file://%s' --quiet", dir, m);
    ck_assert_msg(run_cli(args) == 0, "%s", g_out);
    snprintf(p, sizeof p, "%s/o2/harth/S007.csv", dir);
    ck_assert(exists(p));
    zl = stored_zip(z, "harth/S007.csv", k_csv, 1, 0);
    snprintf(p, sizeof p, "%s/harth.zip", m);
    write_bytes(p, z, zl);
    snprintf(args, sizeof args, "fetch-data harth --out '%s/o3' --mirror 'file://%s' --quiet", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "data of 'harth/S007.csv'") && strstr(g_out, "bad CRC"), "%s", g_out);
    snprintf(p, sizeof p, "%s/o3/harth/S007.csv", dir);
    ck_assert(!exists(p));
    snprintf(p, sizeof p, "%s/harth.zip", m);
    zl = stored_zip(z, "harth/../../evil.csv", k_csv, 0, 0);
    write_bytes(p, z, zl);
    snprintf(args, sizeof args, "fetch-data harth --out '%s/o4' --mirror 'file://%s' --quiet", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "unsafe member name"), "%s", g_out);
    snprintf(p, sizeof p, "%s/evil.csv", dir);
    ck_assert(!exists(p));
    /* a "." component and a symbolic link member are refused too */
    snprintf(args, sizeof args, "fetch-data harth --out '%s/o6' --mirror 'file://%s' --quiet", dir, m);
    snprintf(p, sizeof p, "%s/harth.zip", m);
    write_bytes(p, z, stored_zip(z, "harth/./S007.csv", k_csv, 0, 0));
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "unsafe member name 'harth/./S007.csv'"), "%s", g_out);
    write_bytes(p, z, stored_zip(z, "harth/link.csv", "/etc/passwd", 0, 0120777));
    snprintf(args, sizeof args, "fetch-data harth --out '%s/o7' --mirror 'file://%s' --quiet", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "'harth/link.csv' is not a regular file"), "%s", g_out);
    snprintf(p, sizeof p, "%s/o7/harth/link.csv", dir);
    ck_assert(!exists(p));
    snprintf(p, sizeof p, "%s/evil.csv", dir);
    write_bytes(p, "not a zip", 9);
    snprintf(p, sizeof p, "%s/harth.zip", m);
    write_bytes(p, "not a zip at all, no directory", 30);
    snprintf(args, sizeof args, "fetch-data harth --out '%s/o5' --mirror 'file://%s' --quiet", dir, m);
    ck_assert_int_eq(run_cli(args), 1);
    ck_assert_msg(strstr(g_out, "not a zip archive"), "%s", g_out);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_fetch_usage) {
    ck_assert_int_eq(run_cli("fetch-data --list"), 0);
    ck_assert_msg(strstr(g_out, "harth") && strstr(g_out, "afdb") && strstr(g_out, "sleep-edf") &&
                      strstr(g_out, "https://physionet.org/files/afdb/1.0.0/"),
                  "%s", g_out);
    ck_assert_int_eq(run_cli("fetch-data nope --out x"), 2);
    ck_assert(strstr(g_out, "unknown dataset 'nope'"));
    ck_assert_int_eq(run_cli("fetch-data afdb"), 2);
    ck_assert_int_eq(run_cli("fetch-data --help"), 0);
    ck_assert(strstr(g_out, "--mirror") && strstr(g_out, "--only"));
    ck_assert_int_eq(run_cli("--help"), 0);
    ck_assert(strstr(g_out, "fetch-data") && strstr(g_out, "prepare"));
}
END_TEST

#if !DC_HAVE_DOWNLOAD
START_TEST(test_fetch_unsupported) {
    ck_assert_int_eq(run_cli("fetch-data mitdb --out unused --quiet"), 1);
    ck_assert_msg(strstr(g_out, "built without download support") && strstr(g_out, "physionet.org"), "%s", g_out);
    ck_assert_int_eq(run_cli("fetch-data --list"), 0);
    ck_assert_msg(strstr(g_out, "afdb"), "%s", g_out);
}
END_TEST
#endif

int main(void) {
#if !DC_HAVE_DOWNLOAD
    Suite *su = suite_create("fetch");
    TCase *tu = tcase_create("fetch");
    tcase_add_test(tu, test_fetch_unsupported);
    suite_add_tcase(su, tu);
    if (dc_test_run_suite(su)) return 1;
    printf("test_fetch: download tests skipped: dynacl was built without download support (libcurl, libarchive)\n");
    return 77;
#endif
    Suite *s = suite_create("fetch");
    TCase *tc = tcase_create("fetch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fetch_harth_zip);
    tcase_add_test(tc, test_fetch_usage);
    suite_add_tcase(s, tc);
    if (dc_test_have_data("mitdb", "the downloads from a mirror of the genuine MIT-BIH files")) {
        TCase *td = tcase_create("mirror");
        tcase_set_timeout(td, 120);
        tcase_add_test(td, test_fetch_verified_and_present);
        tcase_add_test(td, test_fetch_resume_and_mismatch);
        suite_add_tcase(s, td);
    }
    return dc_test_exit(dc_test_run_suite(s));
}
