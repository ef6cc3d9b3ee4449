/* test_safetensors.c: the safetensors reader/writer (byte-exact header layout, round trip,
 * every malformed-file error, random corruption) and model checkpoints under PyTorch's
 * state_dict names and shapes. */
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_safetensors.h"
#include "dc_test.h"
#include "train/dc_model.h"

/* Two tensors: "a" F32 [2] = {1, 2} and "z" I64 [] = 7, metadata format=pt. The reference
 * orders tensors by dtype (I64 before F32), then name, and pads the JSON with spaces to a
 * multiple of 8; data follows in the same order. */
START_TEST(test_header_byte_exact) {
    dc_st_writer *w = dc_st_writer_new();
    float a[2] = {1.0f, 2.0f};
    int64_t z = 7;
    ck_assert(dc_st_writer_add(w, "a", DC_ST_F32, 1, (int64_t[]){2}, a) == DC_OK);
    ck_assert(dc_st_writer_add(w, "z", DC_ST_I64, 0, NULL, &z) == DC_OK);
    ck_assert(dc_st_writer_set_meta(w, "format", "pt") == DC_OK);
    void *buf;
    size_t len;
    ck_assert(dc_st_writer_serialize(w, &buf, &len) == DC_OK);
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},\"z\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    size_t jl = strlen(json), padded = (jl + 7) / 8 * 8;
    unsigned char expect[512] = {0};
    for (int i = 0; i < 8; i++) expect[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(expect + 8, json, jl);
    memset(expect + 8 + jl, ' ', padded - jl);
    unsigned char *d = expect + 8 + padded;
    memcpy(d, &z, 8); /* little-endian host */
    memcpy(d + 8, a, 8);
    ck_assert_uint_eq(len, 8 + padded + 16);
    ck_assert_msg(memcmp(buf, expect, len) == 0, "serialized bytes differ from the specification layout");
    free(buf);
    dc_st_writer_free(w);
}
END_TEST

static void make_valid(void **buf, size_t *len) {
    dc_st_writer *w = dc_st_writer_new();
    float x[6] = {1, 2, 3, 4, 5, 6};
    double y[2] = {0.5, -0.25};
    ck_assert(dc_st_writer_add(w, "x", DC_ST_F32, 2, (int64_t[]){2, 3}, x) == DC_OK);
    ck_assert(dc_st_writer_add(w, "y", DC_ST_F64, 1, (int64_t[]){2}, y) == DC_OK);
    ck_assert(dc_st_writer_serialize(w, buf, len) == DC_OK);
    dc_st_writer_free(w);
}

START_TEST(test_round_trip) {
    void *buf;
    size_t len;
    make_valid(&buf, &len);
    dc_st_file *f;
    ck_assert_msg(dc_st_parse(buf, len, "mem", &f) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(dc_st_count(f), 2);
    const dc_st_tensor *x = dc_st_find(f, "x"), *y = dc_st_find(f, "y");
    ck_assert(x && y && x->dtype == DC_ST_F32 && x->ndim == 2 && x->shape[0] == 2 && x->shape[1] == 3);
    ck_assert(((const float *)x->data)[5] == 6.0f);
    double y1;
    memcpy(&y1, (const char *)y->data + 8, 8);
    ck_assert(y1 == -0.25);
    ck_assert_ptr_null(dc_st_meta(f, "format"));
    dc_st_close(f);
    free(buf);
}
END_TEST

/* Replace the header JSON of a file image with `json` (data kept). */
static void *with_header(const char *json, const void *data, size_t dlen, size_t *len) {
    size_t jl = strlen(json);
    unsigned char *b = malloc(8 + jl + dlen);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(b + 8, json, jl);
    memcpy(b + 8 + jl, data, dlen);
    *len = 8 + jl + dlen;
    return b;
}

static void expect_error(const void *buf, size_t len, const char *needle) {
    dc_st_file *f = NULL;
    dc_clear_error();
    ck_assert_int_eq(dc_st_parse(buf, len, "bad.safetensors", &f), DC_ERR_FORMAT);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(dc_last_error(), needle) && strstr(dc_last_error(), "bad.safetensors"), "wanted '%s' in: %s",
                  needle, dc_last_error());
}

START_TEST(test_malformed_files) {
    unsigned char data[16] = {0};
    size_t len;
    void *b;
    expect_error(data, 5, "too short");
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    expect_error(big, 16, "exceeds 100 MB");
    unsigned char past[16] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    expect_error(past, 16, "runs past the end");
    b = with_header("[1,2]", data, 0, &len);
    expect_error(b, len, "not a JSON object");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],", data, 8, &len);
    expect_error(b, len, "not valid JSON");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8, &len);
    expect_error(b, len, "unknown dtype 'F17'");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,64]}}", data, 8, &len);
    expect_error(b, len, "point outside the 8 data bytes");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data, 8, &len);
    expect_error(b, len, "8 bytes for 3 elements of F32");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data, 8, &len);
    expect_error(b, len, "gap or overlap");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data, 8, &len);
    expect_error(b, len, "cover 4 of the 8 data bytes");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data, 12, &len);
    expect_error(b, len, "gap or overlap");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", data, 8, &len);
    expect_error(b, len, "not a non-negative integer");
    free(b);
    b = with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", data, 8, &len);
    expect_error(b, len, "overflows");
    free(b);
    b = with_header("{\"__metadata__\":{\"k\":3}}", data, 0, &len);
    expect_error(b, len, "must be a string");
    free(b);
    dc_clear_error();
    dc_st_file *f;
    ck_assert_int_eq(dc_st_open("/nonexistent/x.safetensors", &f), DC_ERR_IO);
    ck_assert(strstr(dc_last_error(), "/nonexistent/x.safetensors"));
}
END_TEST

/* Random corruption never crashes: each mutated image parses or fails with a message. */
START_TEST(test_random_corruption) {
    void *buf;
    size_t len;
    make_valid(&buf, &len);
    unsigned char *m = malloc(len);
    dc_rng r = dc_rng_init(3);
    int ok = 0, bad = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(m, buf, len);
        int nmut = 1 + (int)dc_rng_randint(&r, 0, 3);
        for (int k = 0; k < nmut; k++) m[dc_rng_randint(&r, 0, (int64_t)len - 1)] = (unsigned char)dc_rng_randint(&r, 0, 255);
        size_t l = (size_t)dc_rng_randint(&r, 0, (int64_t)len);
        dc_st_file *f = NULL;
        if (dc_st_parse(m, l, "fuzz", &f) == DC_OK) {
            ok++;
            for (int i = 0; i < dc_st_count(f); i++) { /* touch every byte of every tensor */
                const dc_st_tensor *t = dc_st_get(f, i);
                volatile unsigned char s = 0;
                for (size_t j = 0; j < t->nbytes; j++) s ^= ((const unsigned char *)t->data)[j];
            }
            dc_st_close(f);
        } else {
            bad++;
            ck_assert(dc_last_error()[0]);
        }
    }
    ck_assert(bad > 0);
    free(m);
    free(buf);
}
END_TEST

/* The checkpoint holds exactly the PyTorch FeatureProjector state_dict, names and shapes. */
START_TEST(test_model_checkpoint_names_and_round_trip) {
    dc_backend *be = dc_backend_new("cpu");
    dc_model_config cfg = dc_model_config_defaults("dynacl", "harth", "authors");
    dc_model *m = dc_model_new(&cfg, be, 156);
    ck_assert_msg(m, "%s", dc_last_error());
    m->enc->num_batches_tracked = 61500;
    char *dir = dc_test_tmpdir(), path[1024];
    snprintf(path, sizeof path, "%s/ck.safetensors", dir);
    ck_assert_msg(dc_model_save(m, path, "{\"step\": 1}") == DC_OK, "%s", dc_last_error());
    dc_st_file *f;
    ck_assert(dc_st_open(path, &f) == DC_OK);
    struct { const char *n; int nd; int64_t s[3]; dc_st_dtype dt; } want[] = {
        {"conv1.weight", 3, {128, 156, 1}, DC_ST_F32}, {"conv1.bias", 1, {128}, DC_ST_F32},
        {"conv2.weight", 3, {64, 128, 1}, DC_ST_F32},  {"conv2.bias", 1, {64}, DC_ST_F32},
        {"conv3.weight", 3, {32, 64, 1}, DC_ST_F32},   {"conv3.bias", 1, {32}, DC_ST_F32},
        {"bn1.weight", 1, {128}, DC_ST_F32},           {"bn1.bias", 1, {128}, DC_ST_F32},
        {"bn1.running_mean", 1, {128}, DC_ST_F32},     {"bn1.running_var", 1, {128}, DC_ST_F32},
        {"bn1.num_batches_tracked", 0, {0}, DC_ST_I64}, {"bn2.weight", 1, {64}, DC_ST_F32},
        {"bn2.bias", 1, {64}, DC_ST_F32},              {"bn2.running_mean", 1, {64}, DC_ST_F32},
        {"bn2.running_var", 1, {64}, DC_ST_F32},       {"bn2.num_batches_tracked", 0, {0}, DC_ST_I64},
        {"bn3.weight", 1, {32}, DC_ST_F32},            {"bn3.bias", 1, {32}, DC_ST_F32},
        {"bn3.running_mean", 1, {32}, DC_ST_F32},      {"bn3.running_var", 1, {32}, DC_ST_F32},
        {"bn3.num_batches_tracked", 0, {0}, DC_ST_I64},
    };
    ck_assert_int_eq(dc_st_count(f), (int)(sizeof want / sizeof want[0]));
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const dc_st_tensor *t = dc_st_find(f, want[i].n);
        ck_assert_msg(t, "missing %s", want[i].n);
        ck_assert_msg(t->dtype == want[i].dt && t->ndim == want[i].nd, "%s dtype/rank", want[i].n);
        for (int d = 0; d < want[i].nd; d++) ck_assert_int_eq(t->shape[d], want[i].s[d]);
    }
    int64_t nbt;
    memcpy(&nbt, dc_st_find(f, "bn2.num_batches_tracked")->data, 8);
    ck_assert_int_eq(nbt, 61500);
    ck_assert_str_eq(dc_st_meta(f, "format"), "pt");
    /* round trip into a differently seeded model */
    float w0[128 * 156], w1[128 * 156];
    ck_assert(dc_tensor_download(m->enc->w[0], w0, sizeof w0) == DC_OK);
    cfg.seed = 7;
    dc_model *m2 = dc_model_new(&cfg, be, 156);
    ck_assert_msg(dc_model_load(m2, path) == DC_OK, "%s", dc_last_error());
    ck_assert(dc_tensor_download(m2->enc->w[0], w1, sizeof w1) == DC_OK);
    ck_assert(memcmp(w0, w1, sizeof w0) == 0);
    ck_assert_int_eq(m2->enc->num_batches_tracked, 61500);
    /* a checkpoint whose shapes do not fit the data's D: both shapes named */
    dc_model *m3 = dc_model_new(&cfg, be, 252);
    dc_clear_error();
    ck_assert_int_eq(dc_model_load(m3, path), DC_ERR_SHAPE);
    ck_assert_msg(strstr(dc_last_error(), "[128, 156, 1]") && strstr(dc_last_error(), "[128, 252, 1]"), "%s",
                  dc_last_error());
    int64_t D;
    ck_assert(dc_checkpoint_in_dim(path, &D) == DC_OK && D == 156);
    dc_st_close(f);
    dc_model_free(m), dc_model_free(m2), dc_model_free(m3);
    dc_backend_free(be);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_header_byte_exact);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_malformed_files);
    tcase_add_test(tc, test_random_corruption);
    tcase_add_test(tc, test_model_checkpoint_names_and_round_trip);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
