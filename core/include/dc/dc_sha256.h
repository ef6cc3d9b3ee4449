/* dc_sha256.h: SHA-256 (FIPS 180-4) of memory buffers and files, for the source-file
 * checksums in prepared datasets and the download manifest of `dynacl fetch-data`.
 *
 *     char hex[65];
 *     if (dc_sha256_file("data/mitdb/100.dat", hex, NULL)) fail(dc_last_error());
 *     // hex = "b2ea3c25...", as `sha256sum` prints it
 *
 * A portable implementation; on x86-64 CPUs with the SHA extensions the block function
 * uses them (chosen at run time, same results).
 */
#ifndef DC_SHA256_H
#define DC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_sha256_ctx {
    uint32_t h[8];     /* chaining state */
    uint64_t bytes;    /* message length so far */
    uint8_t buf[64];   /* pending partial block */
    size_t nbuf;
} dc_sha256_ctx;

void dc_sha256_init(dc_sha256_ctx *s);
void dc_sha256_update(dc_sha256_ctx *s, const void *data, size_t n);
void dc_sha256_final(dc_sha256_ctx *s, uint8_t digest[32]);   /* s must be re-initialised after */
/* One-shot digest of a buffer. */
void dc_sha256_buf(const void *data, size_t n, uint8_t digest[32]);
/* Lower-case hex of a digest (64 characters + NUL). */
void dc_sha256_hex(const uint8_t digest[32], char hex[65]);
/* Digest of a whole file in lower-case hex; *bytes (optional) gets its size. DC_ERR_IO
 * naming the path (and the byte offset of a failed read). */
dc_status dc_sha256_file(const char *path, char hex[65], int64_t *bytes);
/* 1 if hex is 64 hexadecimal digits (either case). */
int dc_sha256_is_hex(const char *hex);

/* Use the CPU's SHA instructions when available (on = 1, the default) or force the
 * portable code (on = 0). Returns 1 if the accelerated path is now in use. For tests. */
int dc_sha256_set_accelerated(int on);

#ifdef __cplusplus
}
#endif
#endif
