/* cmd_fetch.c: `dynacl fetch-data harth|afdb|sleep-edf|mitdb`: download a public dataset
 * with libcurl from its official site (or --mirror), resuming interrupted downloads from
 * "<file>.part" (HTTP Range), checking each file's SHA-256 against the manifest kept in the
 * repository (fetch_manifest.c) or, for files it does not pin, against the server's
 * SHA256SUMS.txt, and saying so when neither is available. libcurl and libarchive are optional at
 * build time: without them (DC_HAVE_DOWNLOAD 0) --list and --help still work, and a download
 * says that this dynacl was built without download support.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "dc/dc_sha256.h"
#include "fetch_manifest.h"
#include "tool_common.h"

static void list_datasets(void) {
    printf("datasets:\n");
    for (int i = 0; i < dc_manifest_count(); i++) {
        const dc_manifest_dataset *d = dc_manifest_get(i);
        printf("  %-10s %s\n  %-10s %s (%s); %d file(s) pinned with SHA-256%s\n", d->name, d->title, "", d->base_url,
               d->license, d->n_files, d->listing ? ", others checked against the server's SHA256SUMS.txt" : "");
    }
}

#if DC_HAVE_DOWNLOAD
#include <curl/curl.h>

#include "fetch_zip.h"

typedef struct fentry {
    char path[512];
    char pinned[65], listed[65];  /* "" when absent */
    int64_t bytes;                /* -1 unknown */
} fentry;

typedef struct xfer {
    dc_progress pg;
    int64_t offset;
    int quiet, started;
    const char *label;
} xfer;

static int64_t file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *user) {
    return fwrite(ptr, size, nmemb, (FILE *)user);
}

static int on_xfer(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)ultotal;
    (void)ulnow;
    xfer *x = user;
    if (x->quiet) return 0;
    if (!x->started) { /* counts this transfer only, so the rate is right after a resume */
        dc_progress_start(&x->pg, x->label, dltotal > 0 ? (int64_t)dltotal : 0);
        x->started = 1;
    }
    if (x->pg.total == 0 && dltotal > 0) x->pg.total = (int64_t)dltotal;
    char msg[64];
    snprintf(msg, sizeof msg, "%.1f of %.1f MB", (double)(x->offset + (int64_t)dlnow) / 1e6,
             (double)(x->offset + (int64_t)dltotal) / 1e6);
    dc_progress_update(&x->pg, (int64_t)dlnow, msg);
    return 0;
}

/* One transfer of url into part (appending from its current size). */
static CURLcode transfer(const char *url, const char *part, const char *label, int quiet, long *http, int64_t *offset) {
    *offset = file_size(part);
    if (*offset < 0) *offset = 0;
    FILE *f = fopen(part, *offset ? "ab" : "wb");
    if (!f) {
        fprintf(stderr, "dynacl fetch-data: %s: cannot open: %s\n", part, strerror(errno));
        return CURLE_WRITE_ERROR;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        fclose(f);
        return CURLE_FAILED_INIT;
    }
    xfer x;
    memset(&x, 0, sizeof x);
    x.offset = *offset;
    x.quiet = quiet;
    x.label = label;
    char ua[64];
    snprintf(ua, sizeof ua, "dynacl/%s", dc_version());
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);   /* a stalled transfer: under 1 B/s ... */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);  /* ... for two minutes */
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    if (*offset) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)*offset);
    CURLcode rc = curl_easy_perform(c);
    *http = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    if (fclose(f) != 0 && rc == CURLE_OK) rc = CURLE_WRITE_ERROR;
    if (x.started) {
        if (rc == CURLE_OK) dc_progress_finish(&x.pg, "done");
        else if (x.pg.tty) fputc('\n', stderr);
    }
    curl_easy_cleanup(c);
    return rc;
}

static int transient(CURLcode rc) {
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_PARTIAL_FILE ||
           rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
           rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
}

typedef enum { V_PINNED, V_LISTED, V_NONE } vkind;

/* Download one file into dest (via dest.part); 0 ok, 1 failure (message printed). */
static int fetch_one(const char *base, const fentry *e, const char *dest, int retries, int quiet, int announce,
                     vkind *how, int *skipped) {
    const char *want = e->pinned[0] ? e->pinned : e->listed[0] ? e->listed : NULL;
    *how = e->pinned[0] ? V_PINNED : e->listed[0] ? V_LISTED : V_NONE;
    *skipped = 0;
    char hex[65], part[4200], url[4096];
    int64_t have = file_size(dest);
    if (have >= 0) {
        if (!want) {
            printf("%s: present (no checksum in manifest, not verified)\n", e->path);
            *skipped = 1;
            return 0;
        }
        if (dc_sha256_file(dest, hex, NULL) != DC_OK) return dc_tool_fail("fetch-data", e->path);
        if (!strcmp(hex, want)) {
            printf("%s: present, SHA-256 ok\n", e->path);
            *skipped = 1;
            return 0;
        }
        printf("%s: present but its SHA-256 differs; downloading it again\n", e->path);
        if (unlink(dest) != 0) {
            fprintf(stderr, "dynacl fetch-data: %s: cannot remove: %s\n", dest, strerror(errno));
            return 1;
        }
    }
    snprintf(part, sizeof part, "%s.part", dest);
    snprintf(url, sizeof url, "%s%s", base, e->path);
    int64_t off = file_size(part);
    if (off > 0) printf("%s: resuming at byte %lld\n", e->path, (long long)off);
    for (int attempt = 0;; attempt++) {
        long http = 0;
        int64_t from = 0;
        CURLcode rc = transfer(url, part, e->path, quiet, &http, &from);
        if (rc == CURLE_RANGE_ERROR || http == 416 || rc == CURLE_BAD_DOWNLOAD_RESUME) rc = CURLE_OK; /* already whole */
        if (rc == CURLE_OK) break;
        if (transient(rc) && attempt < retries) {
            fprintf(stderr, "dynacl fetch-data: %s: %s; retrying (%d of %d)\n", e->path, curl_easy_strerror(rc),
                    attempt + 1, retries);
            sleep(attempt < 3 ? 1u << attempt : 8u);
            continue;
        }
        char code[32] = "";
        if (http > 0) snprintf(code, sizeof code, " (HTTP %ld)", http);
        if (file_size(part) <= 0) {
            unlink(part);
            fprintf(stderr, "dynacl fetch-data: %s: %s%s\n", url, curl_easy_strerror(rc), code);
        } else {
            fprintf(stderr, "dynacl fetch-data: %s: %s%s; %s is kept, run again to resume\n", url,
                    curl_easy_strerror(rc), code, part);
        }
        return 1;
    }
    int64_t got = 0;
    if (dc_sha256_file(part, hex, &got) != DC_OK) return dc_tool_fail("fetch-data", part);
    if ((e->bytes >= 0 && got != e->bytes) || (want && strcmp(hex, want) != 0)) {
        unlink(part);
        if (e->bytes >= 0 && got != e->bytes)
            fprintf(stderr, "dynacl fetch-data: %s: size mismatch: the manifest says %lld bytes, got %lld\n", e->path,
                    (long long)e->bytes, (long long)got);
        else
            fprintf(stderr, "dynacl fetch-data: %s: SHA-256 mismatch: expected %s (%s), got %s\n", e->path, want,
                    *how == V_PINNED ? "repository manifest" : "server's SHA256SUMS.txt", hex);
        fprintf(stderr, "dynacl fetch-data: %s: the download was removed; run again to retry\n", e->path);
        return 1;
    }
    if (rename(part, dest) != 0) {
        fprintf(stderr, "dynacl fetch-data: %s: cannot rename into place: %s\n", dest, strerror(errno));
        return 1;
    }
    if (!announce) return 0;
    if (*how == V_PINNED) printf("%s: %lld bytes, SHA-256 verified (repository manifest)\n", e->path, (long long)got);
    else if (*how == V_LISTED)
        printf("%s: %lld bytes, SHA-256 verified against the server's SHA256SUMS.txt (not pinned in the repository)\n",
               e->path, (long long)got);
    else printf("%s: %lld bytes, no checksum in manifest, not verified\n", e->path, (long long)got);
    return 0;
}

/* --only: comma-separated names; a file matches its path, its base name, or "<name>.*". */
static int wanted(const char *only, const char *path) {
    if (!only || !*only) return 1;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (const char *s = only; *s;) {
        const char *comma = strchr(s, ',');
        size_t l = comma ? (size_t)(comma - s) : strlen(s);
        if (l && ((strlen(path) == l && !strncmp(path, s, l)) || (strlen(base) == l && !strncmp(base, s, l)) ||
                  (!strncmp(base, s, l) && base[l] == '.')))
            return 1;
        s += l + (comma ? 1 : 0);
    }
    return 0;
}

static int add_entry(fentry **v, int *n, int *cap, const char *path) {
    for (int i = 0; i < *n; i++)
        if (!strcmp((*v)[i].path, path)) return i;
    if (strlen(path) >= sizeof(*v)->path) return -1;
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        fentry *nv = realloc(*v, (size_t)*cap * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
    }
    fentry *e = &(*v)[(*n)++];
    memset(e, 0, sizeof *e);
    strcpy(e->path, path);
    e->bytes = -1;
    return *n - 1;
}

/* Parse "sha256  path" lines (sha256sum format, '*' binary marker allowed). */
static int read_listing(const dc_manifest_dataset *d, const char *file, fentry **v, int *n, int *cap) {
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "dynacl fetch-data: %s: cannot open: %s\n", file, strerror(errno));
        return 1;
    }
    char line[1200];
    int ln = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = '\0';
        if (l == 0) continue;
        char hex[65];
        if (l < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) {
            fprintf(stderr, "dynacl fetch-data: %s:%d: not a 'sha256  path' line\n", file, ln);
            bad = 1;
            break;
        }
        memcpy(hex, line, 64);
        hex[64] = '\0';
        const char *path = line + 66;
        if (!dc_sha256_is_hex(hex)) {
            fprintf(stderr, "dynacl fetch-data: %s:%d: bad SHA-256 '%s'\n", file, ln, hex);
            bad = 1;
            break;
        }
        if (!dc_manifest_selects(d, path)) continue;
        int i = add_entry(v, n, cap, path);
        if (i < 0) {
            bad = 1;
            break;
        }
        for (int k = 0; k < 64; k++) (*v)[i].listed[k] = (char)(hex[k] >= 'A' && hex[k] <= 'F' ? hex[k] + 32 : hex[k]);
        (*v)[i].listed[64] = '\0';
    }
    fclose(f);
    return bad;
}

/* Download (or find present) every wanted file of d from base into out, verify each, unpack
 * the archive, and say which `dynacl prepare` command reads the folder. Returns the exit status. */
static int fetch_dataset(const dc_manifest_dataset *d, const char *base, const char *out, const char *only,
                         int retries, int quiet, int no_unzip) {
    if (dc_mkdirs(out) != DC_OK) return dc_tool_fail("fetch-data", "creating the output folder");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "dynacl fetch-data: libcurl initialisation failed\n");
        return 1;
    }
    printf("fetching %s from %s into %s\n", d->name, base, out);
    fentry *v = NULL;
    int n = 0, cap = 0, rc = 0;
    if (d->listing) { /* the server's list of files and checksums, fetched fresh */
        fentry le;
        memset(&le, 0, sizeof le);
        snprintf(le.path, sizeof le.path, "%s", d->listing);
        le.bytes = -1;
        char dest[4096];
        snprintf(dest, sizeof dest, "%s/%s", out, d->listing);
        unlink(dest);
        char part[4200];
        snprintf(part, sizeof part, "%s.part", dest);
        unlink(part);
        vkind how;
        int skipped;
        if (fetch_one(base, &le, dest, retries, 1, 0, &how, &skipped) || read_listing(d, dest, &v, &n, &cap)) {
            rc = 1;
            goto done;
        }
        printf("%s: the server's list of files and checksums; %d file(s) of the dataset listed\n", d->listing, n);
    }
    for (int i = 0; i < d->n_files; i++) { /* pinned files: always included, checksums from the repository */
        int k = add_entry(&v, &n, &cap, d->files[i].path);
        if (k < 0) {
            rc = dc_tool_fail("fetch-data", "out of memory");
            goto done;
        }
        if (d->files[i].sha256) snprintf(v[k].pinned, sizeof v[k].pinned, "%s", d->files[i].sha256);
        v[k].bytes = d->files[i].bytes;
        if (v[k].pinned[0] && v[k].listed[0] && strcmp(v[k].pinned, v[k].listed) != 0) {
            fprintf(stderr, "dynacl fetch-data: %s: the repository manifest (%s) and the server's %s (%s) disagree; "
                            "not downloading\n", v[k].path, v[k].pinned, d->listing, v[k].listed);
            rc = 1;
            goto done;
        }
    }
    int n_wanted = 0, fetched = 0, present = 0, by[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) n_wanted += wanted(only, v[i].path);
    if (n_wanted == 0) {
        fprintf(stderr, "dynacl fetch-data: no file of %s matches --only '%s'\n", d->name, only ? only : "");
        rc = 2;
        goto done;
    }
    for (int i = 0, k = 0; i < n; i++) {
        if (!wanted(only, v[i].path)) continue;
        char dest[4096];
        snprintf(dest, sizeof dest, "%s/%s", out, v[i].path);
        char *slash = strrchr(dest, '/');
        *slash = '\0';
        if (dc_mkdirs(dest) != DC_OK) {
            rc = dc_tool_fail("fetch-data", v[i].path);
            break;
        }
        *slash = '/';
        if (!quiet) fprintf(stderr, "[%d/%d] %s\n", ++k, n_wanted, v[i].path);
        vkind how;
        int skipped;
        if (fetch_one(base, &v[i], dest, retries, quiet, 1, &how, &skipped)) {
            rc = 1;
            break;
        }
        by[how]++;
        if (skipped) present++;
        else fetched++;
    }
    printf("%s: %d downloaded, %d already present; SHA-256 checked against the repository manifest: %d, against the "
           "server's list: %d, not verified: %d\n", d->name, fetched, present, by[V_PINNED], by[V_LISTED], by[V_NONE]);
    if (rc == 0 && d->unzip && !no_unzip && wanted(only, d->unzip)) {
        char zip[4096];
        int64_t nf = 0;
        snprintf(zip, sizeof zip, "%s/%s", out, d->unzip);
        if (dc_zip_extract(zip, out, &nf) != DC_OK) {
            rc = dc_tool_fail("fetch-data", "extracting the archive");
            goto done;
        }
        printf("extracted %lld files from %s into %s\n", (long long)nf, d->unzip, out);
    }
    if (rc == 0) {
        char cmd[4096];
        const char *at = strstr(d->prepare, "{out}");
        if (at) snprintf(cmd, sizeof cmd, "%.*s%s%s", (int)(at - d->prepare), d->prepare, out, at + 5);
        else snprintf(cmd, sizeof cmd, "%s", d->prepare);
        printf("next: %s\n", cmd);
    }
done:
    free(v);
    curl_global_cleanup();
    return rc;
}
#endif /* DC_HAVE_DOWNLOAD */

int cmd_fetch(int argc, char **argv) {
    const char *synopsis = "harth|afdb|sleep-edf|mitdb --out DIR [options]";
    const char *out = NULL, *mirror = NULL, *only = NULL;
    int64_t retries = 3;
    int quiet = 0, list = 0, no_unzip = 0;
    const dc_opt opts[] = {
        {"out", OPT_STR, &out, "download folder (files keep their relative paths)"},
        {"mirror", OPT_STR, &mirror, "base URL replacing the official one (http://, https:// or file://)"},
        {"only", OPT_STR, &only, "comma-separated files or record names to fetch (e.g. 100,201 or RECORDS)"},
        {"retries", OPT_INT, &retries, "retries of a transient network error, resuming each time (default 3)", "[0, 1000]"},
        {"no-unzip", OPT_FLAG, &no_unzip, "keep a downloaded .zip packed"},
        {"list", OPT_FLAG, &list, "list the datasets and exit"},
        {"quiet", OPT_FLAG, &quiet, "no progress display"},
        {0},
    };
    const char *name = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (name) {
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    int r = dc_opts_parse("fetch-data", synopsis, opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (list) {
        list_datasets();
        return 0;
    }
    const dc_manifest_dataset *d = name ? dc_manifest_find(name) : NULL;
    if (!d) {
        fprintf(stderr, "dynacl fetch-data: %s%s%s; one of:", name ? "unknown dataset '" : "name a dataset",
                name ? name : "", name ? "'" : "");
        for (int i = 0; i < dc_manifest_count(); i++) fprintf(stderr, " %s", dc_manifest_get(i)->name);
        fprintf(stderr, "\n");
        return 2;
    }
    if (!out) {
        fprintf(stderr, "dynacl fetch-data: --out is required\n");
        return 2;
    }
    char base[2048];
    const char *b = mirror ? mirror : d->base_url;
    size_t bl = strlen(b);
    if (bl + 2 > sizeof base) {
        fprintf(stderr, "dynacl fetch-data: --mirror URL too long\n");
        return 2;
    }
    snprintf(base, sizeof base, "%s%s", b, bl && b[bl - 1] == '/' ? "" : "/");
#if DC_HAVE_DOWNLOAD
    return fetch_dataset(d, base, out, only, (int)retries, quiet, no_unzip);
#else
    fprintf(stderr, "dynacl fetch-data: this dynacl was built without download support, which needs libcurl and "
                    "libarchive at build time (apt-get install libcurl4-openssl-dev libarchive-dev, then configure with "
                    "DC_FETCH=AUTO or ON and rebuild). The files of %s can be downloaded by hand from %s\n",
            d->name, base);
    return 1;
#endif
}
