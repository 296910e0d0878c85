/* watch.c -- the inotify watcher: every directory of the tree watched, events turned into paths. */
#include "agent/watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/ignore.h"
#include "common/strbuf.h"

/* What a directory watch asks for. Files are never watched: their directory reports them.
 * IN_ATTRIB: a file made readable again (chmod) changes nothing else the agent could see. */
#define WATCH_MASK                                                                                 \
    (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |            \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
/* At least 4096 bytes (libuv); a larger buffer means fewer reads in a storm and fewer
 * MOVED_FROM/MOVED_TO pairs cut by a read boundary. */
#define WATCH_BUF_SIZE 65536
/* The watch-limit error is repeated at most this often. */
#define WATCH_LIMIT_LOG_MS 60000

/* add_watch results besides a wd */
#define WATCH_UNWATCHED (-1) /* not watched, but walk it (files still count) */
#define WATCH_SKIP (-2)      /* gone, not a directory, or a loop: do not walk it */

/*
 * One watched directory. The tree of nodes mirrors the directories: a node knows its parent
 * and its name, so a rename moves one node and every descendant's path follows; paths are
 * built on demand. Two hash tables index the nodes: by wd (every event) and by
 * (parent, name) (renames, deletions).
 */
struct wnode {
    int wd;
    unsigned gen;   /* the walk that last saw it */
    bool unmounted; /* IN_UNMOUNT came: the IN_IGNORED that follows is no deletion */
    char *name;     /* "" for the root */
    uint64_t pn_hash;
    struct wnode *parent; /* NULL for the root */
    struct wnode *child, *prev_sib, *next_sib;
    struct wnode *wd_next, *pn_next; /* hash chains */
};

/* The first half of a directory rename, waiting for its IN_MOVED_TO (same cookie). */
struct pending_move {
    uint32_t cookie;
    int wd;    /* the moved directory's watch, -1 when it had none */
    char *rel; /* its old path */
};

struct watch {
    int fd;
    char *root;
    struct watch_ops ops;
    void *arg;

    struct wnode *rootn;
    struct wnode **by_wd, **by_pn;
    size_t nbuckets; /* a power of two, for both tables */
    size_t count;
    unsigned gen;

    struct pending_move *moves;
    size_t nmoves, amoves;

    unsigned long long overflows;
    bool need_rewalk;    /* after an overflow: re-add the watches events could not tell us */
    size_t unwatched;    /* directories not watched for lack of watches, since the last walk */
    bool limit_new;      /* a watch failed with ENOSPC in the current call */
    long long limit_log; /* when the limit error was last logged; 0 never */

    struct strbuf abs, rel; /* scratch */
    char buf[WATCH_BUF_SIZE] __attribute__((aligned(__alignof__(struct inotify_event))));
};

/* --- the node tree and its two indexes --- */

static size_t
wd_slot(struct watch *w, int wd)
{
    return (size_t)(unsigned)wd & (w->nbuckets - 1);
}

static uint64_t
pn_hash(const struct wnode *parent, const char *name)
{
    return hash64(name, strlen(name)) ^ ((uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL);
}

static struct wnode *
find_wd(struct watch *w, int wd)
{
    for (struct wnode *n = w->by_wd[wd_slot(w, wd)]; n != NULL; n = n->wd_next) {
        if (n->wd == wd) {
            return n;
        }
    }
    return NULL;
}

static struct wnode *
find_child(struct watch *w, const struct wnode *parent, const char *name)
{
    uint64_t h = pn_hash(parent, name);

    for (struct wnode *n = w->by_pn[h & (w->nbuckets - 1)]; n != NULL; n = n->pn_next) {
        if (n->pn_hash == h && n->parent == parent && strcmp(n->name, name) == 0) {
            return n;
        }
    }
    return NULL;
}

static void
chain_remove(struct wnode **head, struct wnode *n, bool by_wd)
{
    for (struct wnode **pp = head; *pp != NULL; pp = by_wd ? &(*pp)->wd_next : &(*pp)->pn_next) {
        if (*pp == n) {
            *pp = by_wd ? n->wd_next : n->pn_next;
            return;
        }
    }
}

static void
tables_grow(struct watch *w)
{
    size_t nb = w->nbuckets * 2;
    struct wnode **bw = xcalloc(nb, sizeof(*bw));
    struct wnode **bp = xcalloc(nb, sizeof(*bp));

    for (size_t i = 0; i < w->nbuckets; i++) {
        struct wnode *n, *next;

        for (n = w->by_wd[i]; n != NULL; n = next) {
            next = n->wd_next;
            n->wd_next = bw[(unsigned)n->wd & (nb - 1)];
            bw[(unsigned)n->wd & (nb - 1)] = n;
        }
        for (n = w->by_pn[i]; n != NULL; n = next) {
            next = n->pn_next;
            n->pn_next = bp[n->pn_hash & (nb - 1)];
            bp[n->pn_hash & (nb - 1)] = n;
        }
    }
    free(w->by_wd);
    free(w->by_pn);
    w->by_wd = bw;
    w->by_pn = bp;
    w->nbuckets = nb;
}

/* Give n its place (parent, name): the (parent, name) index and the parent's children. */
static void
node_attach(struct watch *w, struct wnode *n, struct wnode *parent, const char *name)
{
    size_t slot;

    if (n->name == NULL || strcmp(n->name, name) != 0) {
        free(n->name);
        n->name = xstrdup(name);
    }
    n->parent = parent;
    n->pn_hash = pn_hash(parent, n->name);
    slot = n->pn_hash & (w->nbuckets - 1);
    n->pn_next = w->by_pn[slot];
    w->by_pn[slot] = n;
    if (parent != NULL) {
        n->prev_sib = NULL;
        n->next_sib = parent->child;
        if (parent->child != NULL) {
            parent->child->prev_sib = n;
        }
        parent->child = n;
    }
}

/* Take n out of its place (it keeps its wd and its children). */
static void
node_detach(struct watch *w, struct wnode *n)
{
    chain_remove(&w->by_pn[n->pn_hash & (w->nbuckets - 1)], n, false);
    if (n->parent != NULL) {
        if (n->prev_sib != NULL) {
            n->prev_sib->next_sib = n->next_sib;
        } else {
            n->parent->child = n->next_sib;
        }
        if (n->next_sib != NULL) {
            n->next_sib->prev_sib = n->prev_sib;
        }
    }
    n->parent = n->prev_sib = n->next_sib = NULL;
}

static struct wnode *
node_new(struct watch *w, int wd, struct wnode *parent, const char *name)
{
    struct wnode *n;

    if (w->count >= w->nbuckets) {
        tables_grow(w);
    }
    n = xcalloc(1, sizeof(*n));
    n->wd = wd;
    n->wd_next = w->by_wd[wd_slot(w, wd)];
    w->by_wd[wd_slot(w, wd)] = n;
    node_attach(w, n, parent, name);
    w->count++;
    return n;
}

/*
 * Forget n and everything below it. rm_self: also remove n's watch from the kernel (false
 * when the kernel already did, after IN_IGNORED). Descendants' watches are always removed:
 * a directory moved out of the tree must stop talking to us. The IN_IGNORED events this
 * causes find no node and are skipped.
 */
static void
forget(struct watch *w, struct wnode *n, bool rm_self)
{
    while (n->child != NULL) {
        forget(w, n->child, true);
    }
    if (rm_self) {
        inotify_rm_watch(w->fd, n->wd);
    }
    node_detach(w, n);
    chain_remove(&w->by_wd[wd_slot(w, n->wd)], n, true);
    if (n == w->rootn) {
        w->rootn = NULL;
    }
    w->count--;
    free(n->name);
    free(n);
}

/* sb = the path of n relative to the root. */
static void
node_rel(const struct wnode *n, struct strbuf *sb)
{
    if (n->parent == NULL) {
        strbuf_reset(sb);
        return;
    }
    node_rel(n->parent, sb);
    if (sb->len > 0) {
        strbuf_addch(sb, '/');
    }
    strbuf_addstr(sb, n->name);
}

static void
rel_join(struct strbuf *sb, const char *dir_rel, const char *name)
{
    strbuf_reset(sb);
    strbuf_addstr(sb, dir_rel);
    if (sb->len > 0) {
        strbuf_addch(sb, '/');
    }
    strbuf_addstr(sb, name);
}

static const char *
abs_path(struct watch *w, const char *rel)
{
    strbuf_reset(&w->abs);
    strbuf_addstr(&w->abs, w->root);
    if (*rel != '\0') {
        strbuf_addch(&w->abs, '/');
        strbuf_addstr(&w->abs, rel);
    }
    return w->abs.buf;
}

/* --- reporting --- */

/* Hand rel to op, one of the caller's ops, when it gave one. */
static void
report_path(const struct watch *w, void (*op)(void *, const char *), const char *rel)
{
    if (op != NULL) {
        op(w->arg, rel);
    }
}

static long
read_sysctl(const char *path)
{
    FILE *f = fopen(path, "re");
    long v = -1;

    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    return v;
}

/* One error line for all the directories a walk or a batch of events could not watch. */
static void
log_limit(struct watch *w)
{
    long max = read_sysctl("/proc/sys/fs/inotify/max_user_watches");
    long long now = clock_ms();
    long long need;

    w->limit_new = false;
    if (w->limit_log != 0 && now - w->limit_log < WATCH_LIMIT_LOG_MS) {
        return;
    }
    w->limit_log = now;
    /* The limit is per user, so the user's watches in use are about max; add what is missing
     * and a quarter for growth, rounded up to a multiple of 1024. */
    need = (max > (long)w->count ? max : (long)w->count) + (long long)w->unwatched;
    need = (need + need / 4 + 1023) / 1024 * 1024;
    log_error("inotify watch limit reached (fs.inotify.max_user_watches=%ld): %zu directories "
              "are not watched; raise it, e.g. sysctl fs.inotify.max_user_watches=%lld",
              max, w->unwatched, need);
}

/* --- adding watches and walking --- */

/*
 * The node of watch wd is the directory (parent, name). An inotify watch belongs to an
 * inode, so a wd we already know at another place is a directory that moved (its
 * descendants move with it); a different node at that place is a directory that was replaced
 * and is forgotten.
 */
static struct wnode *
place(struct watch *w, int wd, struct wnode *parent, const char *name)
{
    struct wnode *n = find_wd(w, wd), *other;

    if (n != NULL && n->parent == parent && strcmp(n->name, name) == 0) {
        n->gen = w->gen;
        return n;
    }
    if (n != NULL) {
        for (const struct wnode *p = parent; p != NULL; p = p->parent) {
            if (p == n) {
                return NULL; /* a bind mount of a directory inside itself */
            }
        }
        if (n == w->rootn) {
            return NULL; /* the root seen again below itself: a loop too */
        }
        node_detach(w, n);
    }
    other = find_child(w, parent, name);
    if (other != NULL && other != n) {
        forget(w, other, true);
    }
    if (n != NULL) {
        node_attach(w, n, parent, name);
    } else {
        n = node_new(w, wd, parent, name);
    }
    n->gen = w->gen;
    return n;
}

/* Watch the directory rel = parent/name. Returns its wd, WATCH_UNWATCHED or WATCH_SKIP. */
static int
add_watch(struct watch *w, struct wnode *parent, const char *name, const char *rel)
{
    int wd = inotify_add_watch(w->fd, abs_path(w, rel), WATCH_MASK);
    struct wnode *n;

    if (wd < 0) {
        switch (errno) {
        case ENOSPC:
            w->unwatched++;
            w->limit_new = true;
            report_path(w, w->ops.limit, rel);
            return WATCH_UNWATCHED;
        case ENOENT:
        case ENOTDIR: /* replaced by a file, or a symlink (IN_DONT_FOLLOW | IN_ONLYDIR) */
        case ELOOP:
            return WATCH_SKIP;
        default:
            log_kv(LOG_WARN, "cannot watch directory; it will only be rescanned", "path", rel,
                   "error", strerror(errno));
            report_path(w, w->ops.limit, rel);
            return WATCH_UNWATCHED;
        }
    }
    n = place(w, wd, parent, name);
    if (n == NULL) {
        log_kv(LOG_WARN, "directory loop (bind mount?) not followed", "path", rel);
        return WATCH_SKIP;
    }
    return wd;
}

struct walk_item {
    int wd; /* WATCH_UNWATCHED: walked for its files and to count its directories */
    char *rel;
};

/* What a walk says of the files it finds. */
enum walk_report {
    WALK_QUIET,  /* nothing: the daemon reconciles the whole tree itself */
    WALK_SETTLE, /* file_modified: a directory just created may hold files still being written */
    WALK_READY,  /* file_ready: a directory moved into place holds complete files */
};

/*
 * Walk the directory rel (watch wd) and everything below it: add a watch to every
 * subdirectory (each before it is read, see (1) in handle_event) and report every
 * regular file and symlink as `report` says. Symlinks are never followed. One directory
 * is open at a time.
 */
static void
walk(struct watch *w, int wd, const char *rel, enum walk_report report)
{
    struct walk_item *stack = xmalloc(16 * sizeof(*stack));
    size_t depth = 1, cap = 16;
    struct strbuf child = STRBUF_INIT;

    stack[0].wd = wd;
    stack[0].rel = xstrdup(rel);
    while (depth > 0) {
        struct walk_item it = stack[--depth];
        struct wnode *dirn = NULL;
        struct dirent *de;
        DIR *d = NULL;
        int dfd;

        if (it.wd >= 0 && (dirn = find_wd(w, it.wd)) == NULL) {
            goto next; /* forgotten meanwhile: replaced while we walked */
        }
        dfd = open(abs_path(w, it.rel),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC | (*it.rel != '\0' ? O_NOFOLLOW : 0));
        if (dfd < 0) {
            if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) {
                log_kv(LOG_WARN, "cannot read directory", "path", it.rel, "error", strerror(errno));
            }
            goto next;
        }
        d = fdopendir(dfd);
        if (d == NULL) {
            close(dfd);
            goto next;
        }
        while ((de = readdir(d)) != NULL) {
            unsigned char type = de->d_type;

            if (ignore_name(de->d_name)) {
                continue; /* also "." and ".." */
            }
            if (type == DT_UNKNOWN) {
                struct stat st;

                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                    continue;
                }
                type = S_ISDIR(st.st_mode)   ? DT_DIR
                       : S_ISREG(st.st_mode) ? DT_REG
                       : S_ISLNK(st.st_mode) ? DT_LNK
                                             : DT_UNKNOWN;
            }
            rel_join(&child, it.rel, de->d_name);
            if (type == DT_DIR) {
                int cwd = WATCH_UNWATCHED;

                if (dirn != NULL) {
                    cwd = add_watch(w, dirn, de->d_name, child.buf);
                    if (cwd == WATCH_SKIP) {
                        continue;
                    }
                } else {
                    w->unwatched++; /* below a directory we could not watch */
                }
                if (depth == cap) {
                    cap *= 2;
                    stack = xrealloc(stack, cap * sizeof(*stack));
                }
                stack[depth].wd = cwd;
                stack[depth++].rel = xstrdup(child.buf);
            } else if (type == DT_REG || type == DT_LNK) {
                if (report == WALK_READY) {
                    report_path(w, w->ops.file_ready, child.buf);
                } else if (report == WALK_SETTLE && w->ops.file_modified != NULL) {
                    w->ops.file_modified(w->arg, child.buf);
                }
            }
        }
        closedir(d);
    next:
        free(it.rel);
    }
    free(stack);
    strbuf_release(&child);
}

/*
 * Watch the root and the whole tree; forget the nodes this walk did not meet (directories
 * gone while events were lost). The one walk used at start, after an overflow and on demand.
 */
static int
rewalk(struct watch *w, struct err *err)
{
    int wd;
    int *stale = NULL;
    size_t nstale = 0, cap = 0;

    w->gen++;
    w->unwatched = 0;
    /* The root itself may be a symlink the user chose: follow it (and only it). */
    wd = inotify_add_watch(w->fd, w->root, WATCH_MASK & ~(uint32_t)IN_DONT_FOLLOW);
    if (wd < 0) {
        if (errno == ENOSPC) {
            return err_set(err,
                           "cannot watch %s: inotify watch limit reached "
                           "(fs.inotify.max_user_watches=%ld); raise it",
                           w->root, read_sysctl("/proc/sys/fs/inotify/max_user_watches"));
        }
        return err_set(err, "cannot watch %s: %s", w->root, strerror(errno));
    }
    if (w->rootn != NULL && w->rootn->wd != wd) {
        forget(w, w->rootn, true); /* the root was replaced by another directory */
    }
    if (w->rootn == NULL) {
        struct wnode *old = find_wd(w, wd);

        if (old != NULL) {
            forget(w, old, false); /* the root came back as a directory we knew below it */
        }
        w->rootn = node_new(w, wd, NULL, "");
    }
    w->rootn->gen = w->gen;
    walk(w, wd, "", WALK_QUIET);

    /* Collect wds, not pointers: forgetting one stale node frees its stale descendants. */
    for (size_t i = 0; i < w->nbuckets; i++) {
        for (struct wnode *n = w->by_wd[i]; n != NULL; n = n->wd_next) {
            if (n->gen != w->gen) {
                if (nstale == cap) {
                    cap = cap == 0 ? 16 : cap * 2;
                    stale = xrealloc(stale, cap * sizeof(*stale));
                }
                stale[nstale++] = n->wd;
            }
        }
    }
    for (size_t i = 0; i < nstale; i++) {
        struct wnode *n = find_wd(w, stale[i]);

        if (n != NULL) {
            forget(w, n, true);
        }
    }
    free(stale);
    if (w->limit_new) {
        log_limit(w);
    }
    return 0;
}

/* --- events --- */

/*
 * (1) A directory created with files already in it (mkdir -p a/b/c, then files written at
 * once): by the time we read IN_CREATE for "a", "b", "c" and the files may all exist, and
 * no event was sent for them since nobody watched "a" yet. So the watch is added FIRST,
 * then the directory is read: a file made before the watch is found by the scan, one made
 * after it raises an event; a file made in between is reported twice, and the daemon
 * dedupes. Subdirectories get the same treatment, recursively. A file found in a
 * directory just created may still be open for writing (a generator streaming a lesson
 * into a fresh module directory): it is reported to settle, and its close, which the new
 * watch does see, makes it ready. A directory moved into place holds complete files.
 */
static void
dir_appeared(struct watch *w, struct wnode *parent, const char *name, const char *rel,
             enum walk_report report)
{
    char *r = xstrdup(rel); /* add_watch and walk reuse the scratch buffers */
    int wd = add_watch(w, parent, name, r);

    if (wd != WATCH_SKIP) {
        walk(w, wd, r, report);
    }
    free(r);
}

static void
moved_from(struct watch *w, struct wnode *dirn, const struct inotify_event *e, const char *rel)
{
    struct wnode *child;

    if (!(e->mask & IN_ISDIR)) {
        report_path(w, w->ops.file_gone, rel); /* the old name is gone, wherever the file went */
        return;
    }
    child = find_child(w, dirn, e->name);
    if (w->nmoves == w->amoves) {
        w->amoves = w->amoves == 0 ? 8 : w->amoves * 2;
        w->moves = xrealloc(w->moves, w->amoves * sizeof(*w->moves));
    }
    w->moves[w->nmoves].cookie = e->cookie;
    w->moves[w->nmoves].wd = child != NULL ? child->wd : -1;
    w->moves[w->nmoves++].rel = xstrdup(rel);
}

static void
moved_to(struct watch *w, struct wnode *dirn, const struct inotify_event *e, const char *rel)
{
    if (!(e->mask & IN_ISDIR)) {
        /* (2) An editor saving through a temp file: write .x.md.tmp, rename it onto x.md.
         * The temp name is ignored throughout; this half alone says x.md is complete. */
        report_path(w, w->ops.file_ready, rel);
        return;
    }
    /*
     * (3) A directory renamed within the tree: both halves carry one cookie. The old path is
     * gone; the node keeps its watch (a watch follows the inode) and add_watch in
     * dir_appeared finds that wd and moves the node, so every descendant's path follows.
     * The new place is then scanned as in (1): files may have been written during the move.
     */
    for (size_t i = 0; i < w->nmoves; i++) {
        if (e->cookie != 0 && w->moves[i].cookie == e->cookie) {
            char *old = w->moves[i].rel;

            w->moves[i] = w->moves[--w->nmoves];
            report_path(w, w->ops.subtree_gone, old);
            free(old);
            break;
        }
    }
    /* Unpaired: moved in from outside the tree, which is a create. */
    dir_appeared(w, dirn, e->name, rel, WALK_READY);
}

/*
 * (3, continued) MOVED_FROM halves still unpaired once the inotify queue is drained: the
 * directory left the tree (or went to an ignored name). Its files are gone and its watches
 * must go, or they would keep reporting from outside the tree. A pair cut by the end of a
 * read is still joined, since pairing spans every read of one watch_process call.
 */
static void
resolve_moves(struct watch *w)
{
    for (size_t i = 0; i < w->nmoves; i++) {
        struct wnode *n = w->moves[i].wd >= 0 ? find_wd(w, w->moves[i].wd) : NULL;

        report_path(w, w->ops.subtree_gone, w->moves[i].rel);
        if (n != NULL && n != w->rootn) {
            forget(w, n, true);
        }
        free(w->moves[i].rel);
    }
    w->nmoves = 0;
}

static void
root_lost(struct watch *w, uint32_t mask)
{
    log_kv(LOG_ERROR,
           "the watched root was deleted or moved away; nothing is watched until it is back",
           "path", w->root, "event", (mask & IN_MOVE_SELF) ? "moved" : "deleted");
    forget(w, w->rootn, (mask & IN_IGNORED) == 0);
    report_path(w, w->ops.subtree_gone, "");
}

static void
handle_event(struct watch *w, const struct inotify_event *e)
{
    struct wnode *dirn;
    bool isdir = (e->mask & IN_ISDIR) != 0;
    char *rel;

    if (e->mask & IN_Q_OVERFLOW) {
        w->overflows++;
        log_error("inotify event queue overflowed (%llu so far): events were lost; rescanning "
                  "the tree (raise fs.inotify.max_queued_events if it recurs)",
                  w->overflows);
        w->need_rewalk = true;
        if (w->ops.overflow != NULL) {
            w->ops.overflow(w->arg);
        }
        return;
    }
    dirn = find_wd(w, e->wd);
    if (dirn == NULL) {
        return; /* a watch we removed: its last events are stale */
    }
    if (e->mask & IN_UNMOUNT) {
        /* (4) A volume unmounted (umount, or umount -l once nothing holds it): every watch on
         * it gets IN_UNMOUNT, then IN_IGNORED. Its files did not go anywhere; the daemon
         * deletes nothing of them and checks until the volume is back. */
        dirn->unmounted = true;
        node_rel(dirn, &w->rel);
        if (w->ops.unmounted != NULL) {
            w->ops.unmounted(w->arg, w->rel.buf);
        }
        return;
    }
    if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        if (dirn->unmounted && (e->mask & IN_IGNORED)) {
            forget(w, dirn, false); /* (4): not a deletion */
        } else if (dirn == w->rootn) {
            root_lost(w, e->mask);
        } else if (e->mask & IN_IGNORED) {
            forget(w, dirn, false); /* the kernel dropped it (deleted) */
        }
        /* Any other directory: its parent's IN_DELETE / IN_MOVED_* tell the story. */
        return;
    }
    if (e->len == 0 || ignore_name(e->name)) {
        /* Hidden names and editor leftovers: a temp file renamed onto a real name is told
         * by the MOVED_TO half; a directory renamed to a hidden name leaves its MOVED_FROM
         * unpaired, i.e. gone. */
        return;
    }
    node_rel(dirn, &w->rel);
    if (w->rel.len > 0) {
        strbuf_addch(&w->rel, '/');
    }
    strbuf_addstr(&w->rel, e->name);
    rel = xstrdup(w->rel.buf);

    if (e->mask & IN_MOVED_FROM) {
        moved_from(w, dirn, e, rel);
    } else if (e->mask & IN_MOVED_TO) {
        moved_to(w, dirn, e, rel);
    } else if (e->mask & IN_CREATE) {
        if (isdir) {
            dir_appeared(w, dirn, e->name, rel, WALK_SETTLE);
        } else if (w->ops.file_modified != NULL) {
            /* A close normally follows; a hard link or a symlink never closes, hence the
             * settle window rather than nothing. */
            w->ops.file_modified(w->arg, rel);
        }
    } else if (e->mask & IN_DELETE) {
        if (isdir) {
            struct wnode *child = find_child(w, dirn, e->name);

            if (child != NULL) {
                forget(w, child, true);
            }
            report_path(w, w->ops.subtree_gone, rel);
        } else {
            report_path(w, w->ops.file_gone, rel);
        }
    } else if ((e->mask & IN_CLOSE_WRITE) || ((e->mask & IN_ATTRIB) && !isdir)) {
        /* An attribute change (chmod, touch) is cheap to check: the daemon compares size,
         * mtime and bytes, and writes only what changed. */
        report_path(w, w->ops.file_ready, rel);
    } else if ((e->mask & IN_MODIFY) && w->ops.file_modified != NULL) {
        w->ops.file_modified(w->arg, rel);
    }
    free(rel);
}

void
watch_process(struct watch *w)
{
    for (;;) {
        ssize_t n = read(w->fd, w->buf, sizeof(w->buf));
        const char *p;

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                log_error("read(inotify): %s", strerror(errno));
            }
            break;
        }
        if (n == 0) {
            break;
        }
        /* Each event is followed by its name, padded: step by sizeof(*e) + e->len. */
        for (p = w->buf; p < w->buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)(const void *)p;

            handle_event(w, e);
            p += sizeof(*e) + e->len;
        }
    }
    resolve_moves(w);
    if (w->need_rewalk) {
        struct err err;

        w->need_rewalk = false;
        if (rewalk(w, &err) != 0) {
            log_error("%s", err.msg);
        }
    }
    if (w->limit_new) {
        log_limit(w);
    }
}

/* --- life --- */

struct watch *
watch_create(const char *root, const struct watch_ops *ops, void *arg, struct err *err)
{
    struct watch *w = xcalloc(1, sizeof(*w));
    size_t len = strlen(root);

    w->fd = -1;
    w->arg = arg;
    if (ops != NULL) {
        w->ops = *ops;
    }
    strbuf_init(&w->abs, 256);
    strbuf_init(&w->rel, 256);
    w->nbuckets = 64;
    w->by_wd = xcalloc(w->nbuckets, sizeof(*w->by_wd));
    w->by_pn = xcalloc(w->nbuckets, sizeof(*w->by_pn));
    while (len > 1 && root[len - 1] == '/') {
        len--;
    }
    w->root = xstrndup(root, len);
    if (len == 0) {
        err_set(err, "watch: empty root path");
        goto fail;
    }
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        if (errno == EMFILE) {
            err_set(err, "inotify_init1: too many inotify instances; raise "
                         "fs.inotify.max_user_instances");
        } else {
            err_set(err, "inotify_init1: %s", strerror(errno));
        }
        goto fail;
    }
    return w;
fail:
    watch_destroy(w);
    return NULL;
}

void
watch_destroy(struct watch *w)
{
    if (w == NULL) {
        return;
    }
    /* Closing the fd removes every watch at once; only our memory is left to free. */
    for (size_t i = 0; i < w->nbuckets; i++) {
        struct wnode *n = w->by_wd[i], *next;

        for (; n != NULL; n = next) {
            next = n->wd_next;
            free(n->name);
            free(n);
        }
    }
    for (size_t i = 0; i < w->nmoves; i++) {
        free(w->moves[i].rel);
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->moves);
    free(w->by_wd);
    free(w->by_pn);
    free(w->root);
    strbuf_release(&w->abs);
    strbuf_release(&w->rel);
    free(w);
}

int
watch_fd(struct watch *w)
{
    return w->fd;
}

int
watch_start(struct watch *w, struct err *err)
{
    return rewalk(w, err);
}

size_t
watch_count(struct watch *w)
{
    return w->count;
}
