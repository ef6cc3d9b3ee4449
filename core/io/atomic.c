/* atomic.c: write-to-temporary + fsync + rename for files and folders (dc_atomic.h), plus
 * the small file-system helpers they need (remove a tree, fsync a folder, mkdir -p), and the
 * removal of temporaries whose writer is gone (each writer holds a lock on its temporary).
 * Not a general file API: callers write their own bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc_atomic.h"

/* Split path (trailing slashes ignored) into its folder ("." if none) and last component. */
static dc_status split_path(const char *path, char *dir, char *base) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    if (n == 0 || n >= DC_PATH_MAX - 32) return dc_fail(DC_ERR_ARG, "'%s': empty or too long a path", path);
    size_t s = n;
    while (s > 0 && path[s - 1] != '/') s--;
    if (s == n) return dc_fail(DC_ERR_ARG, "'%s': path names no file", path);
    memcpy(base, path + s, n - s);
    base[n - s] = '\0';
    if (!strcmp(base, ".") || !strcmp(base, ".."))
        return dc_fail(DC_ERR_ARG, "'%s': path must name a file or folder, not '%s'", path, base);
    if (s == 0) {
        strcpy(dir, ".");
    } else {
        size_t d = s;
        while (d > 1 && path[d - 1] == '/') d--;
        memcpy(dir, path, d);
        dir[d] = '\0';
    }
    return DC_OK;
}

static mode_t current_umask(void) {
    mode_t m = umask(022);
    umask(m);
    return m;
}

dc_status dc_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return dc_fail(DC_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    /* some file systems refuse fsync on folders; that is not a write failure */
    if (r != 0 && e != EINVAL && e != EBADF && e != ENOTSUP)
        return dc_fail(DC_ERR_IO, "%s: fsync of folder failed: %s", dir, strerror(e));
    return DC_OK;
}

dc_status dc_mkdirs(const char *path) {
    if (!path || !*path) return dc_fail(DC_ERR_ARG, "mkdirs: empty path");
    char p[DC_PATH_MAX];
    if (strlen(path) >= sizeof p) return dc_fail(DC_ERR_ARG, "mkdirs: path too long");
    strcpy(p, path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return dc_fail(DC_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
            struct stat sb;
            if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
                return dc_fail(DC_ERR_IO, "%s: exists and is not a folder", p);
            *s = c;
            if (c == '\0') break;
        }
    }
    return DC_OK;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    int r = flag == FTW_DP ? rmdir(p) : unlink(p);
    return r != 0 && errno != ENOENT ? -1 : 0;
}

/* 0 or an errno value; records no message (abort paths must keep the first error) */
static int remove_tree_quiet(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return errno == ENOENT ? 0 : errno;
    if (!S_ISDIR(sb.st_mode)) return unlink(path) != 0 ? errno : 0;
    return nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 ? (errno ? errno : EIO) : 0;
}

dc_status dc_remove_tree(const char *path) {
    if (!path) return dc_fail(DC_ERR_ARG, "remove_tree: NULL path");
    int e = remove_tree_quiet(path);
    return e ? dc_fail(DC_ERR_IO, "%s: cannot remove: %s", path, strerror(e)) : DC_OK;
}

/* ---- temporaries and their writers ------------------------------------------------------
 * A writer keeps an exclusive flock on its temporary (the open file, or the folder opened
 * O_DIRECTORY) from creation to rename, and the kernel drops the lock when the writer dies,
 * however it dies (kill -9 included). So a temporary whose lock can be taken has no writer:
 * the next begin on the same name removes it. Where the file system has no locks (flock
 * fails with anything but EWOULDBLOCK), writers go on unlocked and nothing is removed. */

/* Take the writer's lock on fd, the temporary just made at tmp: 1 locked, 0 unlocked (no
 * locks here), -1 lost to a cleaner (tmp is gone or locked by it: make another). */
static int lock_new_tmp(int fd, const char *tmp) {
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) return errno == EWOULDBLOCK ? -1 : 0;
    struct stat a, b; /* a cleaner may have removed tmp between its creation and the lock */
    if (fstat(fd, &a) != 0 || lstat(tmp, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) return -1;
    return 1;
}

/* Remove the temporaries ".<base>.tmp-XXXXXX" in dir whose writer is gone. Quiet: a
 * temporary that cannot be checked or removed is left as it is. */
static void remove_stale_tmps(const char *dir, const char *base) {
    char prefix[DC_PATH_MAX];
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    if (pl >= sizeof prefix) return;
    DIR *dd = opendir(dir);
    if (!dd) return;
    for (struct dirent *e; (e = readdir(dd));) {
        if (strncmp(e->d_name, prefix, pl) != 0 || strlen(e->d_name) != pl + 6) continue;
        char p[DC_PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p) continue;
        int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) continue;
        struct stat sb;
        if (fstat(fd, &sb) == 0 && (S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode)) &&
            flock(fd, LOCK_EX | LOCK_NB) == 0)
            remove_tree_quiet(p); /* held until removed: a writer that comes late loses the race */
        close(fd);
    }
    closedir(dd);
}

/* ---- files ---------------------------------------------------------------------------- */

dc_status dc_atomic_file_begin(dc_atomic_file *f, const char *path) {
    if (!f || !path) return dc_fail(DC_ERR_ARG, "atomic_file_begin: NULL argument");
    memset(f, 0, sizeof *f);
    f->fd = -1;
    char dir[DC_PATH_MAX], base[DC_PATH_MAX];
    dc_status st = split_path(path, dir, base);
    if (st) return st;
    strcpy(f->path, path);
    remove_stale_tmps(dir, base);
    for (int tries = 0;; tries++) {
        if ((size_t)snprintf(f->tmp, sizeof f->tmp, "%s/.%s.tmp-XXXXXX", dir, base) >= sizeof f->tmp)
            return dc_fail(DC_ERR_ARG, "%s: path too long", path);
        f->fd = mkostemp(f->tmp, O_CLOEXEC);
        if (f->fd < 0) {
            int e = errno;
            f->tmp[0] = '\0';
            return dc_fail(DC_ERR_IO, "%s: cannot create a temporary file in '%s': %s", path, dir, strerror(e));
        }
        if (lock_new_tmp(f->fd, f->tmp) >= 0) break;
        close(f->fd); /* lost to a cleaner, which removes it */
        f->fd = -1;
        if (tries == 9) {
            f->tmp[0] = '\0';
            return dc_fail(DC_ERR_IO, "%s: cannot keep a temporary file in '%s': removed as fast as it is made", path, dir);
        }
    }
    if (fchmod(f->fd, 0666 & ~current_umask()) != 0) {
        int e = errno;
        dc_atomic_file_abort(f);
        return dc_fail(DC_ERR_IO, "%s: cannot set permissions: %s", path, strerror(e));
    }
    return DC_OK;
}

dc_status dc_atomic_file_write(dc_atomic_file *f, const void *data, size_t n) {
    if (!f || f->fd < 0) return dc_fail(DC_ERR_STATE, "atomic_file_write: file not open");
    const char *p = data;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(f->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return dc_fail(DC_ERR_IO, "%s: write failed at byte offset %lld: %s", f->path, f->written, strerror(errno));
        }
        p += w, n -= (size_t)w, f->written += w;
    }
    return DC_OK;
}

dc_status dc_atomic_file_commit(dc_atomic_file *f) {
    if (!f || f->fd < 0) return dc_fail(DC_ERR_STATE, "atomic_file_commit: file not open");
    dc_status st = DC_OK;
    if (fsync(f->fd) != 0) st = dc_fail(DC_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    /* renamed while still open: the lock keeps cleaners away until the final name is there */
    if (st == DC_OK && rename(f->tmp, f->path) != 0)
        st = dc_fail(DC_ERR_IO, "%s: cannot rename the temporary file into place: %s", f->path, strerror(errno));
    if (st != DC_OK) unlink(f->tmp);
    if (close(f->fd) != 0 && st == DC_OK) st = dc_fail(DC_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    f->fd = -1;
    if (st != DC_OK) {
        f->tmp[0] = '\0';
        return st;
    }
    f->tmp[0] = '\0';
    char dir[DC_PATH_MAX], base[DC_PATH_MAX];
    if (split_path(f->path, dir, base) == DC_OK) return dc_fsync_dir(dir);
    return DC_OK;
}

void dc_atomic_file_abort(dc_atomic_file *f) {
    if (!f) return;
    if (f->tmp[0]) unlink(f->tmp); /* before the close: the lock holds until it is gone */
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    f->tmp[0] = '\0';
}

dc_status dc_atomic_write(const char *path, const void *data, size_t n) {
    dc_atomic_file f;
    dc_status st = dc_atomic_file_begin(&f, path);
    if (st == DC_OK) st = dc_atomic_file_write(&f, data, n);
    if (st == DC_OK) st = dc_atomic_file_commit(&f);
    if (st != DC_OK) dc_atomic_file_abort(&f);
    return st;
}

/* ---- folders -------------------------------------------------------------------------- */

/* the writer's lock on its temporary folder, released once it is renamed or removed */
static void dir_unlock(dc_atomic_dir *d) {
    if (d->lock_fd >= 0) close(d->lock_fd);
    d->lock_fd = -1;
}

dc_status dc_atomic_dir_begin(dc_atomic_dir *d, const char *path, int overwrite) {
    if (!d || !path) return dc_fail(DC_ERR_ARG, "atomic_dir_begin: NULL argument");
    memset(d, 0, sizeof *d);
    char dir[DC_PATH_MAX], base[DC_PATH_MAX];
    dc_status st = split_path(path, dir, base);
    if (st) return st;
    d->lock_fd = -1;
    remove_stale_tmps(dir, base);
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return dc_fail(DC_ERR_IO, "%s: exists and is not a folder", path);
        if (!overwrite) return dc_fail(DC_ERR_IO, "%s: already exists (use --force to replace it)", path);
    }
    struct stat pb;
    if (stat(dir, &pb) != 0 || !S_ISDIR(pb.st_mode))
        return dc_fail(DC_ERR_IO, "%s: parent folder '%s' does not exist", path, dir);
    strcpy(d->path, path);
    d->overwrite = overwrite;
    for (int tries = 0;; tries++) {
        if ((size_t)snprintf(d->tmp, sizeof d->tmp, "%s/.%s.tmp-XXXXXX", dir, base) >= sizeof d->tmp)
            return dc_fail(DC_ERR_ARG, "%s: path too long", path);
        if (!mkdtemp(d->tmp)) {
            int e = errno;
            d->tmp[0] = '\0';
            return dc_fail(DC_ERR_IO, "%s: cannot create a temporary folder in '%s': %s", path, dir, strerror(e));
        }
        d->lock_fd = open(d->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->lock_fd < 0) {
            int e = errno;
            rmdir(d->tmp);
            d->tmp[0] = '\0';
            return dc_fail(DC_ERR_IO, "%s: cannot open the temporary folder: %s", path, strerror(e));
        }
        if (lock_new_tmp(d->lock_fd, d->tmp) >= 0) break;
        close(d->lock_fd); /* lost to a cleaner, which removes it */
        d->lock_fd = -1;
        if (tries == 9) {
            d->tmp[0] = '\0';
            return dc_fail(DC_ERR_IO, "%s: cannot keep a temporary folder in '%s': removed as fast as it is made", path,
                           dir);
        }
    }
    if (chmod(d->tmp, 0777 & ~current_umask()) != 0) {
        int e = errno;
        dc_atomic_dir_abort(d);
        return dc_fail(DC_ERR_IO, "%s: cannot set permissions: %s", path, strerror(e));
    }
    return DC_OK;
}

dc_status dc_atomic_dir_commit(dc_atomic_dir *d) {
    if (!d || !d->tmp[0]) return dc_fail(DC_ERR_STATE, "atomic_dir_commit: no temporary folder");
    char dir[DC_PATH_MAX], base[DC_PATH_MAX];
    dc_status st = split_path(d->path, dir, base);
    if (st == DC_OK) st = dc_fsync_dir(d->tmp);
    if (st != DC_OK) {
        dc_atomic_dir_abort(d);
        return st;
    }
    struct stat sb;
    if (lstat(d->path, &sb) == 0) {
        if (!d->overwrite || !S_ISDIR(sb.st_mode)) {
            dc_atomic_dir_abort(d);
            return dc_fail(DC_ERR_IO, "%s: appeared while writing; not replaced", d->path);
        }
#if defined(__linux__) && defined(RENAME_EXCHANGE)
        if (renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->path, RENAME_EXCHANGE) == 0) {
            /* d->tmp now holds the old folder */
            st = dc_remove_tree(d->tmp);
            d->tmp[0] = '\0';
            dir_unlock(d);
            dc_status s2 = dc_fsync_dir(dir);
            return st != DC_OK ? st : s2;
        }
#endif
        char old[DC_PATH_MAX];
        if ((size_t)snprintf(old, sizeof old, "%s/.%s.old-XXXXXX", dir, base) >= sizeof old || !mkdtemp(old)) {
            dc_atomic_dir_abort(d);
            return dc_fail(DC_ERR_IO, "%s: cannot make room to replace it", d->path);
        }
        if (rename(d->path, old) != 0) {
            int e = errno;
            rmdir(old);
            dc_atomic_dir_abort(d);
            return dc_fail(DC_ERR_IO, "%s: cannot move the old folder aside: %s", d->path, strerror(e));
        }
        if (rename(d->tmp, d->path) != 0) {
            int e = errno;
            rename(old, d->path);
            dc_atomic_dir_abort(d);
            return dc_fail(DC_ERR_IO, "%s: cannot rename the new folder into place: %s", d->path, strerror(e));
        }
        d->tmp[0] = '\0';
        dir_unlock(d);
        st = dc_remove_tree(old);
        dc_status s2 = dc_fsync_dir(dir);
        return st != DC_OK ? st : s2;
    }
    if (rename(d->tmp, d->path) != 0) {
        int e = errno;
        dc_atomic_dir_abort(d);
        return dc_fail(DC_ERR_IO, "%s: cannot rename the temporary folder into place: %s", d->path, strerror(e));
    }
    d->tmp[0] = '\0';
    dir_unlock(d);
    return dc_fsync_dir(dir);
}

void dc_atomic_dir_abort(dc_atomic_dir *d) {
    if (!d || !d->tmp[0]) return;
    remove_tree_quiet(d->tmp); /* before the unlock: a cleaner finds nothing half-removed */
    d->tmp[0] = '\0';
    dir_unlock(d);
}
