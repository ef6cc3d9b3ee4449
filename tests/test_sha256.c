/* test_sha256.c: SHA-256 against the FIPS 180-2 example vectors, incremental updates split
 * at every offset, the SHA-NI path against the portable one, and every file listed in the
 * SHA256SUMS.txt files of shared/data (PhysioNet's published checksums).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc_sha256.h"
#include "dc_test.h"

static void hex_of(const void *d, size_t n, char hex[65]) {
    uint8_t dg[32];
    dc_sha256_buf(d, n, dg);
    dc_sha256_hex(dg, hex);
}

static const struct {
    const char *msg, *hex;
} k_fips[] = {
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

START_TEST(test_fips_vectors) {
    for (int accel = 0; accel < 2; accel++) {
        dc_sha256_set_accelerated(accel);
        char hex[65];
        for (size_t i = 0; i < sizeof k_fips / sizeof k_fips[0]; i++) {
            hex_of(k_fips[i].msg, strlen(k_fips[i].msg), hex);
            ck_assert_msg(!strcmp(hex, k_fips[i].hex), "vector %zu accel %d: %s", i, accel, hex);
        }
        /* one million 'a' fed in pieces of 997 bytes */
        char chunk[997];
        memset(chunk, 'a', sizeof chunk);
        dc_sha256_ctx s;
        dc_sha256_init(&s);
        size_t left = 1000000;
        while (left) {
            size_t c = left < sizeof chunk ? left : sizeof chunk;
            dc_sha256_update(&s, chunk, c);
            left -= c;
        }
        uint8_t d[32];
        dc_sha256_final(&s, d);
        dc_sha256_hex(d, hex);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
    dc_sha256_set_accelerated(1);
}
END_TEST

START_TEST(test_incremental_and_paths_agree) {
    uint8_t buf[4099];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = (uint8_t)(x >> 56);
    }
    char ref[65], got[65];
    for (size_t n = 0; n < 300; n++) { /* every padding case, both block functions */
        dc_sha256_set_accelerated(0);
        hex_of(buf, n, ref);
        dc_sha256_set_accelerated(1);
        hex_of(buf, n, got);
        ck_assert_msg(!strcmp(ref, got), "length %zu: portable %s, accelerated %s", n, ref, got);
    }
    dc_sha256_set_accelerated(0);
    hex_of(buf, sizeof buf, ref);
    dc_sha256_set_accelerated(1);
    for (size_t split = 0; split <= 200; split++) { /* update boundaries anywhere */
        dc_sha256_ctx s;
        dc_sha256_init(&s);
        dc_sha256_update(&s, buf, split);
        dc_sha256_update(&s, buf + split, 1);
        dc_sha256_update(&s, buf + split + 1, sizeof buf - split - 1);
        uint8_t d[32];
        dc_sha256_final(&s, d);
        dc_sha256_hex(d, got);
        ck_assert_msg(!strcmp(ref, got), "split at %zu", split);
    }
    ck_assert(dc_sha256_is_hex(ref));
    ck_assert(dc_sha256_is_hex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    ck_assert(!dc_sha256_is_hex("e3b0"));
    ck_assert(!dc_sha256_is_hex("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    ck_assert(!dc_sha256_is_hex(NULL));
}
END_TEST

/* Every "hash  name" line of <folder>/SHA256SUMS.txt matches dc_sha256_file. */
static int check_sums(const char *folder) {
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/%s/SHA256SUMS.txt", dc_test_data_dir(), folder);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char want[65], name[256], file[4500], got[65];
        if (sscanf(line, "%64s %255s", want, name) != 2) continue;
        snprintf(file, sizeof file, "%s/%s/%s", dc_test_data_dir(), folder, name);
        int64_t bytes = -1;
        ck_assert_msg(dc_sha256_file(file, got, &bytes) == DC_OK, "%s", dc_last_error());
        ck_assert_msg(!strcmp(got, want), "%s: %s, listed %s", file, got, want);
        ck_assert(bytes > 0);
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(test_shared_data_sums) {
    ck_assert_int_eq(check_sums("mitdb"), 21);
    ck_assert_int_eq(check_sums("sleepedf"), 1);
    ck_assert_int_eq(check_sums("edf"), 2);
}
END_TEST

START_TEST(test_missing_and_empty_files) {
    char hex[65];
    ck_assert_int_eq(dc_sha256_file("/nonexistent/file", hex, NULL), DC_ERR_IO);
    ck_assert_msg(strstr(dc_last_error(), "/nonexistent/file") != NULL, "%s", dc_last_error());
    /* the empty file */
    char *dir = dc_test_tmpdir(), p[4096];
    snprintf(p, sizeof p, "%s/empty", dir);
    FILE *f = fopen(p, "w");
    fclose(f);
    int64_t bytes = -1;
    ck_assert_int_eq(dc_sha256_file(p, hex, &bytes), DC_OK);
    ck_assert_int_eq(bytes, 0);
    ck_assert_str_eq(hex, k_fips[1].hex);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("sha256");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fips_vectors);
    tcase_add_test(tc, test_incremental_and_paths_agree);
    tcase_add_test(tc, test_missing_and_empty_files);
    suite_add_tcase(s, tc);
    if (dc_test_have_data("mitdb", "the checksums of the genuine files") &&
        dc_test_have_data("sleepedf", "the checksums of the genuine files") &&
        dc_test_have_data("edf", "the checksums of the genuine files")) {
        TCase *td = tcase_create("genuine");
        tcase_set_timeout(td, 60);
        tcase_add_test(td, test_shared_data_sums);
        suite_add_tcase(s, td);
    }
    return dc_test_exit(dc_test_run_suite(s));
}
