/* queue.h -- the set of dirty paths between inotify events and the database. */
#ifndef CO_QUEUE_H
#define CO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Paths, never contents: a file is re-read when it is synced, so a path marked a thousand
 * times is synced once with its latest bytes. An entry is either ready (synced at the next
 * flush) or settling (due settle_ms after its last mark: a file written in many chunks
 * without a close syncs once, when it has been quiet). A path and a directory prefix with
 * the same text are distinct entries. Times are clock_ms() values (common/clock.h).
 */
struct queue;

/* The daemon's defaults (--settle-ms, --queue-limit). */
#define QUEUE_DEFAULT_SETTLE_MS 100L
#define QUEUE_DEFAULT_LIMIT 100000L

/* One path handed to the daemon: path relative to the root; subtree: re-check the directory
 * prefix path and every file recorded under it ("" is the whole tree). */
struct queue_item {
    char *path;
    bool subtree;
};

/*
 * Create a queue holding at most limit distinct entries (0: no limit) whose settling entries
 * become due settle_ms after their last mark. Free with queue_destroy.
 */
struct queue *queue_create(size_t limit, long settle_ms);
/* Free the queue and every path it holds. Accepts NULL. */
void queue_destroy(struct queue *q);

/* rel is ready: sync it at the next flush (a pending settle is cancelled). rel is copied. */
void queue_mark_ready(struct queue *q, const char *rel, long long now_ms);
/* rel was written without a close: due at now_ms + settle_ms, pushed back by each further
 * mark; a path already ready stays ready. rel is copied. */
void queue_mark_settle(struct queue *q, const char *rel, long long now_ms);
/* The directory prefix rel_dir must be re-checked (ready). rel_dir is copied. */
void queue_mark_subtree(struct queue *q, const char *rel_dir, long long now_ms);

/*
 * Move every due entry (ready ones, then settled ones in due order) to a new array *items
 * (NULL when none) and return how many. The array and its paths are the caller's: free them
 * with queue_items_free(items, n).
 */
size_t queue_take_due(struct queue *q, long long now_ms, struct queue_item **items);
/* Free an array from queue_take_due (its paths too). Accepts NULL. */
void queue_items_free(struct queue_item *items, size_t n);
/*
 * Put items back as ready (the database was down: keep them for the next flush). The paths
 * are copied: items stay the caller's (queue_items_free). A path marked again meanwhile
 * merges with its item (ready wins), so nothing is lost.
 */
void queue_requeue(struct queue *q, const struct queue_item *items, size_t n, long long now_ms);

/* ms until the next entry is due: 0 when one is due already, -1 when the queue is empty. Arm
 * a timer with it only when it is not -1 (idle means idle). */
long queue_next_due_ms(struct queue *q, long long now_ms);
/* Number of distinct entries held. */
size_t queue_len(struct queue *q);

/*
 * True when more than limit distinct entries were marked: they were all dropped and the
 * daemon must rescan the whole tree. While it is set, marks are dropped (the rescan covers
 * them); call queue_clear_rescan just before the rescan starts walking.
 */
bool queue_rescan_needed(struct queue *q);
void queue_clear_rescan(struct queue *q);

#endif
