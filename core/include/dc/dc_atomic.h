/* dc_atomic.h: all-or-nothing writes of files and folders (write to a temporary name in the
 * same folder, fsync, rename), so a crash, an error or Ctrl-C never leaves a half-written
 * file or folder under the final name. Used by prepared datasets and checkpoints.
 *
 *     dc_atomic_file f;
 *     if (dc_atomic_file_begin(&f, "run/ckpt.bin")) fail(dc_last_error());
 *     if (dc_atomic_file_write(&f, buf, n) || dc_atomic_file_commit(&f)) {
 *         dc_atomic_file_abort(&f);                 // removes the temporary file
 *         fail(dc_last_error());
 *     }
 *
 *     dc_atomic_dir d;                              // a folder: fill d.tmp, then commit
 *     dc_atomic_dir_begin(&d, "prepared/harth", 0); // 0: refuse to replace an existing folder
 *     ... write files under d.tmp ...
 *     dc_atomic_dir_commit(&d);                     // or dc_atomic_dir_abort(&d)
 *
 * Temporary names are hidden: ".<name>.tmp-XXXXXX" next to the target. The writer holds an
 * exclusive flock on its temporary until the rename, and the kernel releases it when the
 * writer dies, kill -9 included; every begin first removes the temporaries of the same name
 * whose lock it can take, i.e. those a killed writer left. (A file system without locks keeps
 * them; remove them by hand.) POSIX only.
 */
#ifndef DC_ATOMIC_H
#define DC_ATOMIC_H

#include <stddef.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_PATH_MAX 4096

typedef struct dc_atomic_file {
    int fd;                   /* -1 when not open */
    char path[DC_PATH_MAX];   /* final name */
    char tmp[DC_PATH_MAX];    /* temporary name ("" after commit or abort) */
    long long written;        /* bytes written so far */
} dc_atomic_file;

/* Remove the stale temporaries of path (above), then create the temporary file next to it
 * (permissions 0666 & ~umask once committed). */
dc_status dc_atomic_file_begin(dc_atomic_file *f, const char *path);
dc_status dc_atomic_file_write(dc_atomic_file *f, const void *data, size_t n);
/* fsync, close, rename over path (replacing an existing file), fsync the folder. On error
 * the temporary file is removed. */
dc_status dc_atomic_file_commit(dc_atomic_file *f);
/* Close and remove the temporary file; a no-op after commit or on a zeroed struct. */
void dc_atomic_file_abort(dc_atomic_file *f);
/* begin + write + commit in one call. */
dc_status dc_atomic_write(const char *path, const void *data, size_t n);

typedef struct dc_atomic_dir {
    char path[DC_PATH_MAX];   /* final folder */
    char tmp[DC_PATH_MAX];    /* temporary folder to fill ("" after commit or abort) */
    int overwrite;
    int lock_fd;              /* the writer's lock on tmp (-1 none); meaningful while tmp[0] */
} dc_atomic_dir;

/* Remove the stale temporaries of path (above), then create an empty temporary folder next
 * to it. Fails at once (DC_ERR_IO) if path exists and overwrite is 0, or if path exists and
 * is not a folder. */
dc_status dc_atomic_dir_begin(dc_atomic_dir *d, const char *path, int overwrite);
/* fsync the folder and rename it to path. An existing folder at path (overwrite = 1) is
 * swapped out atomically where the kernel allows (renameat2 RENAME_EXCHANGE), then removed. */
dc_status dc_atomic_dir_commit(dc_atomic_dir *d);
/* Remove the temporary folder and everything in it; a no-op after commit. */
void dc_atomic_dir_abort(dc_atomic_dir *d);

/* Remove a file or a folder tree (not following symbolic links). Missing path: DC_OK. */
dc_status dc_remove_tree(const char *path);
/* fsync a folder so that renames inside it are durable. */
dc_status dc_fsync_dir(const char *dir);
/* Create a folder and its missing parents (like mkdir -p). */
dc_status dc_mkdirs(const char *path);

#ifdef __cplusplus
}
#endif
#endif
