/* watch.h -- the inotify watcher: every directory of the tree watched, events turned into paths. */
#ifndef CO_WATCH_H
#define CO_WATCH_H

#include <stddef.h>

#include "common/err.h"

/*
 * Events are hints, the filesystem is the truth: the watcher says which paths to look at,
 * the daemon stats them (AT_SYMLINK_NOFOLLOW) and syncs what it finds. Only directories are
 * watched (one watch each), never files, never through a symlink; hidden names and editor
 * leftovers (see docs/CONTRACT.md) are skipped. Every inotify call of the project is in
 * watch.c.
 *
 * rel paths are relative to the root, '/'-separated, without a leading "./"; the root itself
 * is "". They are borrowed for the duration of the callback. Callbacks may be NULL (the event
 * is dropped) and must not call watch_* functions.
 */
struct watch_ops {
    /* rel is complete (closed after writing, renamed into place, or found in a newly
     * watched directory): stat it and sync whatever the filesystem says. */
    void (*file_ready)(void *arg, const char *rel);
    /* rel (a file) was deleted or moved away: stat it and sync whatever the filesystem says.
     * A deletion is often one step of a larger change (rm -r of a course); see cmd_watch.c. */
    void (*file_gone)(void *arg, const char *rel);
    /* rel was written or created but not closed yet: sync it after a quiet settle window. */
    void (*file_modified)(void *arg, const char *rel);
    /* The directory rel_dir was deleted or moved away ("" for the root itself): re-check
     * every file recorded under it. */
    void (*subtree_gone)(void *arg, const char *rel_dir);
    /* The kernel queue overflowed and events were lost: rescan the whole tree. (The watcher
     * has already re-added the watches it was missing.) */
    void (*overflow)(void *arg);
    /* rel_dir and everything below it could not be watched (watch limit, permission): fall
     * back to periodic rescans of it. */
    void (*limit)(void *arg, const char *rel_dir);
    /* The file system holding rel_dir ("" for the root) was unmounted (IN_UNMOUNT; reported
     * for every watched directory on it, outermost first or not): its files are not gone,
     * they are away. Its watches are dropped; call watch_start once it is mounted again. */
    void (*unmounted)(void *arg, const char *rel_dir);
};

struct watch;

/*
 * Create a watcher for root (a directory; a symlink given as the root itself is followed,
 * none below it). ops is copied; arg is passed to every callback and stays the caller's.
 * Returns the watcher (watch_destroy) or NULL with err filled. Nothing is watched before
 * watch_start.
 */
struct watch *watch_create(const char *root, const struct watch_ops *ops, void *arg,
                           struct err *err);
/* Remove every watch, close the inotify fd and free w. Accepts NULL. */
void watch_destroy(struct watch *w);

/* The inotify fd (nonblocking, CLOEXEC) to give to loop_add_fd with EPOLLIN; still w's. */
int watch_fd(struct watch *w);

/*
 * Watch the root and every directory below it. Reports no file: the daemon reconciles the
 * tree itself at start. A directory that cannot be watched is reported via ops->limit and
 * is not an error. Call it again (after a limit, or after the root was deleted and came back)
 * to add the missing watches and forget stale ones. Returns 0, or -1 with err filled when
 * the root itself cannot be watched.
 */
int watch_start(struct watch *w, struct err *err);

/* Read every pending event (until EAGAIN) and report them through ops. Call it when
 * watch_fd is readable. */
void watch_process(struct watch *w);

/* Number of directories watched (for status lines). */
size_t watch_count(struct watch *w);

#endif
