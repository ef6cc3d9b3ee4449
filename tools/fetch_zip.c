/* fetch_zip.c: a small .zip extractor (end of central directory -> central directory ->
 * local headers; methods 0 stored and 8 deflated through zlib) for `dynacl fetch-data`.
 * Not a general archive library: no ZIP64, encryption or multi-disk archives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "dc/dc_atomic.h"
#include "fetch_zip.h"


static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static dc_status read_all(const char *path, uint8_t **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return dc_fail(DC_ERR_IO, "%s: cannot seek", path);
    }
    long n = ftell(f);
    rewind(f);
    *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!*buf) {
        fclose(f);
        return dc_fail(DC_ERR_OOM, "%s: out of memory for %ld bytes", path, n);
    }
    *len = fread(*buf, 1, (size_t)n, f);
    fclose(f);
    if (*len != (size_t)n) {
        free(*buf);
        return dc_fail(DC_ERR_IO, "%s: read error at byte offset %zu", path, *len);
    }
    return DC_OK;
}

/* 1 for a safe relative name, 0 to skip (folders, __MACOSX), -1 to reject. */
static int name_ok(const char *n) {
    size_t l = strlen(n);
    if (l == 0 || n[l - 1] == '/') return 0;
    if (!strncmp(n, "__MACOSX/", 9)) return 0;
    if (n[0] == '/' || strchr(n, '\\') || strchr(n, ':')) return -1;
    for (const char *p = n; *p;) { /* no ".." or "." components */
        const char *s = strchr(p, '/');
        size_t cl = s ? (size_t)(s - p) : strlen(p);
        if (cl == 0 || (cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.')) return -1;
        p += cl + (s ? 1 : 0);
    }
    return 1;
}

/* Member sizes are 32-bit fields here (no ZIP64), so one inflate call with Z_FINISH fits
 * zlib's uInt counters; the stream must end exactly at out_n bytes. */
static dc_status inflate_raw(const uint8_t *src, uint32_t n, uint8_t *dst, uint32_t out_n, const char *zip, size_t at) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return dc_fail(DC_ERR_OOM, "%s: zlib initialisation failed", zip);
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = n;
    zs.next_out = dst;
    zs.avail_out = out_n;
    int r = inflate(&zs, Z_FINISH);
    dc_status st = DC_OK;
    if (r != Z_STREAM_END || zs.total_out != out_n)
        st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: corrupt deflate data (%s)", zip, at,
                     zs.msg ? zs.msg : r == Z_STREAM_END ? "size differs from the directory" : "truncated or too long");
    inflateEnd(&zs);
    return st;
}

dc_status dc_zip_extract(const char *zip, const char *dir, int64_t *n_files) {
    uint8_t *b = NULL;
    size_t len = 0;
    *n_files = 0;
    dc_status st = read_all(zip, &b, &len);
    if (st) return st;
    /* end of central directory: the last signature within 22 + 65535 bytes of the end */
    size_t eocd = (size_t)-1;
    for (size_t i = len >= 22 ? len - 22 + 1 : 0; i-- > 0 && len - i <= 22 + 65535;)
        if (rd32(b + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == (size_t)-1) {
        free(b);
        return dc_fail(DC_ERR_FORMAT, "%s: not a zip archive (no end of central directory)", zip);
    }
    uint32_t entries = rd16(b + eocd + 10), cd_size = rd32(b + eocd + 12), cd_off = rd32(b + eocd + 16);
    if (entries == 0xFFFF || cd_off == 0xFFFFFFFFu || cd_size == 0xFFFFFFFFu) {
        free(b);
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset %zu: ZIP64 archives are not supported", zip, eocd);
    }
    if ((size_t)cd_off + cd_size > eocd) {
        free(b);
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: central directory outside the file", zip, eocd);
    }
    size_t p = cd_off;
    for (uint32_t e = 0; e < entries && st == DC_OK; e++) {
        if (p + 46 > eocd || rd32(b + p) != 0x02014b50) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: bad central directory entry %u", zip, p, e);
            break;
        }
        uint32_t flags = rd16(b + p + 8), method = rd16(b + p + 10), crc = rd32(b + p + 16);
        uint32_t csize = rd32(b + p + 20), usize = rd32(b + p + 24), nl = rd16(b + p + 28);
        uint32_t xl = rd16(b + p + 30), cl = rd16(b + p + 32), lho = rd32(b + p + 42);
        if (p + 46 + nl + xl + cl > eocd) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: entry %u runs past the directory", zip, p, e);
            break;
        }
        char name[1024];
        if (nl == 0 || nl >= sizeof name || memchr(b + p + 46, 0, nl)) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: bad member name", zip, p + 46);
            break;
        }
        memcpy(name, b + p + 46, nl);
        name[nl] = '\0';
        size_t here = p;
        p += 46 + nl + xl + cl;
        int ok = name_ok(name);
        if (ok < 0) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: unsafe member name '%s'", zip, here + 46, name);
            break;
        }
        if (ok == 0) continue;
        if (flags & 1) {
            st = dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset %zu: '%s' is encrypted", zip, here, name);
            break;
        }
        if (method != 0 && method != 8) {
            st = dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset %zu: '%s' uses compression method %u", zip, here, name,
                         method);
            break;
        }
        if ((size_t)lho + 30 > len || rd32(b + lho) != 0x04034b50) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %u: bad local header of '%s'", zip, lho, name);
            break;
        }
        size_t data = (size_t)lho + 30 + rd16(b + lho + 26) + rd16(b + lho + 28);
        /* deflate expands at most ~1032:1, so a larger stated size is a lie, not a reason to allocate */
        if (data + csize > len || (method == 0 && csize != usize) || (uint64_t)usize > (uint64_t)csize * 1032 + 1024) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: data of '%s' (%u bytes) runs past the end or is inconsistent",
                         zip, data, name, csize);
            break;
        }
        uint8_t *out = method == 0 ? b + data : malloc(usize ? usize : 1);
        if (!out) {
            st = dc_fail(DC_ERR_OOM, "%s: out of memory for '%s' (%u bytes)", zip, name, usize);
            break;
        }
        if (method == 8) st = inflate_raw(b + data, csize, out, usize, zip, data);
        if (st == DC_OK && (uint32_t)crc32(crc32(0L, Z_NULL, 0), out, usize) != crc)
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: CRC-32 mismatch in '%s'", zip, data, name);
        char path[4096];
        if (st == DC_OK && (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
            st = dc_fail(DC_ERR_ARG, "%s/%s: path too long", dir, name);
        if (st == DC_OK) {
            char *slash = strrchr(path, '/');
            *slash = '\0';
            st = dc_mkdirs(path);
            *slash = '/';
        }
        if (st == DC_OK) st = dc_atomic_write(path, out, usize);
        if (st == DC_OK) (*n_files)++;
        if (method == 8) free(out);
    }
    free(b);
    return st;
}
