/* fetch_zip.c: extraction of a downloaded .zip archive for `dynacl fetch-data`, through
 * libarchive (an archive reader that many projects use and fuzz; it checks each member's
 * CRC-32). What this file adds: the member-name policy, regular files only, a bound on the
 * expansion, and atomic writes. Not a general archive tool: zip only, nothing is executed,
 * no links or special files are made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "dc/dc_atomic.h"
#include "fetch_zip.h"

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

/* the errno libarchive gives for "not this format" (its private ARCHIVE_ERRNO_FILE_FORMAT) */
#ifdef EFTYPE
#define ZIP_ERRNO_FORMAT EFTYPE
#else
#define ZIP_ERRNO_FORMAT EILSEQ
#endif

/* deflate expands at most about 1032:1: more output than that per archive byte is a lie
 * (a zip bomb), not a reason to fill the disk */
#define ZIP_MAX_RATIO 1032

/* Copy the current member's data into an atomic file at path. */
static dc_status extract_member(struct archive *a, const char *zip, const char *name, const char *path,
                                int64_t *total, int64_t limit) {
    dc_atomic_file f;
    dc_status st = dc_atomic_file_begin(&f, path);
    if (st) return st;
    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &n, &off);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) { /* ARCHIVE_WARN included: libarchive reports a bad CRC-32 so */
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %lld: data of '%s': %s", zip,
                         (long long)archive_filter_bytes(a, -1), name, archive_error_string(a));
            break;
        }
        if (off != f.written) { /* zip members have no holes; a sparse offset is not ours to fill */
            st = dc_fail(DC_ERR_FORMAT, "%s: '%s': data out of order at %lld", zip, name, (long long)off);
            break;
        }
        *total += (int64_t)n;
        if (*total > limit) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %lld: '%s' expands past %d times the archive's size",
                         zip, (long long)archive_filter_bytes(a, -1), name, ZIP_MAX_RATIO);
            break;
        }
        st = dc_atomic_file_write(&f, buf, n);
        if (st) break;
    }
    if (st == DC_OK) st = dc_atomic_file_commit(&f);
    if (st != DC_OK) dc_atomic_file_abort(&f);
    return st;
}

dc_status dc_zip_extract(const char *zip, const char *dir, int64_t *n_files) {
    *n_files = 0;
    struct archive *a = archive_read_new();
    if (!a) return dc_fail(DC_ERR_OOM, "%s: out of memory for the archive reader", zip);
    archive_read_support_format_zip(a);
    dc_status st = DC_OK;
    if (archive_read_open_filename(a, zip, 1 << 16) != ARCHIVE_OK) {
        const char *why = archive_error_string(a);
        st = archive_errno(a) == ZIP_ERRNO_FORMAT
                 ? dc_fail(DC_ERR_FORMAT, "%s: not a zip archive (%s)", zip, why ? why : "unrecognised")
                 : dc_fail(DC_ERR_IO, "%s: cannot open: %s", zip, why ? why : "unknown error");
        archive_read_free(a);
        return st;
    }
    struct stat sb;
    int64_t total = 0, limit = (stat(zip, &sb) == 0 ? (int64_t)sb.st_size : 0) * ZIP_MAX_RATIO + (1 << 20);
    for (int e = 0; st == DC_OK; e++) {
        struct archive_entry *ent;
        int r = archive_read_next_header(a, &ent);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char *why = archive_error_string(a);
            st = e == 0 ? dc_fail(DC_ERR_FORMAT, "%s: not a zip archive (%s)", zip, why ? why : "unreadable")
                        : dc_fail(DC_ERR_FORMAT, "%s: byte offset %lld: member %d: %s", zip,
                                  (long long)archive_filter_bytes(a, -1), e, why ? why : "unreadable header");
            break;
        }
        const char *name = archive_entry_pathname(ent);
        if (!name) {
            st = dc_fail(DC_ERR_FORMAT, "%s: member %d: name not readable in this locale", zip, e);
            break;
        }
        int ok = name_ok(name);
        if (ok < 0) {
            st = dc_fail(DC_ERR_FORMAT, "%s: member %d: unsafe member name '%s'", zip, e, name);
            break;
        }
        if (ok == 0 || archive_entry_filetype(ent) == AE_IFDIR) continue;
        if (archive_entry_filetype(ent) != AE_IFREG) {
            st = dc_fail(DC_ERR_UNSUPPORTED, "%s: member %d: '%s' is not a regular file (a link or a device)", zip, e,
                         name);
            break;
        }
        if (archive_entry_is_encrypted(ent)) {
            st = dc_fail(DC_ERR_UNSUPPORTED, "%s: member %d: '%s' is encrypted", zip, e, name);
            break;
        }
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
            st = dc_fail(DC_ERR_ARG, "%s/%s: path too long", dir, name);
            break;
        }
        char *slash = strrchr(path, '/');
        *slash = '\0';
        st = dc_mkdirs(path);
        *slash = '/';
        if (st == DC_OK) st = extract_member(a, zip, name, path, &total, limit);
        if (st == DC_OK) (*n_files)++;
    }
    archive_read_free(a);
    return st;
}
