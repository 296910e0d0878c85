/* queue.c -- the set of dirty paths between inotify events and the database. */
#include "agent/queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "common/hash.h"
#include "common/strbuf.h"

/*
 * Each entry sits in the hash table (dedupe in O(1)) and in exactly one list: the ready list
 * (FIFO) or the settle list (sorted by due time; since every mark sets due = now + settle_ms
 * with a monotonic now, a re-marked entry goes to the tail in O(1)).
 */
struct qent {
    char *path;
    uint64_t hash;
    bool subtree;
    bool ready;
    long long due;
    struct qent *hnext;
    struct qent *prev, *next;
};

struct qlist {
    struct qent *head, *tail;
    size_t len;
};

struct queue {
    struct qent **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    size_t limit;
    long settle_ms;
    bool rescan;
    struct qlist ready;
    struct qlist settle;
};

static void
list_unlink(struct qlist *ls, struct qent *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        ls->head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        ls->tail = e->prev;
    }
    e->prev = e->next = NULL;
    ls->len--;
}

/* Insert e after the last entry whose due is <= e->due (searching from the tail). */
static void
list_insert_sorted(struct qlist *ls, struct qent *e)
{
    struct qent *after = ls->tail;

    while (after != NULL && after->due > e->due) {
        after = after->prev;
    }
    e->prev = after;
    e->next = after != NULL ? after->next : ls->head;
    if (e->next != NULL) {
        e->next->prev = e;
    } else {
        ls->tail = e;
    }
    if (after != NULL) {
        after->next = e;
    } else {
        ls->head = e;
    }
    ls->len++;
}

static void
list_append(struct qlist *ls, struct qent *e)
{
    e->next = NULL;
    e->prev = ls->tail;
    if (ls->tail != NULL) {
        ls->tail->next = e;
    } else {
        ls->head = e;
    }
    ls->tail = e;
    ls->len++;
}

static uint64_t
key_hash(const char *path, bool subtree)
{
    return hash64(path, strlen(path)) ^ (subtree ? 0x9e3779b97f4a7c15ULL : 0);
}

static struct qent *
find(struct queue *q, const char *path, bool subtree, uint64_t h)
{
    for (struct qent *e = q->buckets[h & (q->nbuckets - 1)]; e != NULL; e = e->hnext) {
        if (e->hash == h && e->subtree == subtree && strcmp(e->path, path) == 0) {
            return e;
        }
    }
    return NULL;
}

static void
grow(struct queue *q)
{
    size_t n = q->nbuckets * 2;
    struct qent **b = xcalloc(n, sizeof(*b));

    for (size_t i = 0; i < q->nbuckets; i++) {
        struct qent *e = q->buckets[i], *next;

        for (; e != NULL; e = next) {
            next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(q->buckets);
    q->buckets = b;
    q->nbuckets = n;
}

/* Remove e from the table and its list; returns its path (the caller's now). */
static char *
take(struct queue *q, struct qent *e)
{
    struct qent **pp = &q->buckets[e->hash & (q->nbuckets - 1)];
    char *path = e->path;

    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    list_unlink(e->ready ? &q->ready : &q->settle, e);
    q->count--;
    free(e);
    return path;
}

static void
drop_all(struct queue *q)
{
    for (size_t i = 0; i < q->nbuckets; i++) {
        struct qent *e = q->buckets[i], *next;

        for (; e != NULL; e = next) {
            next = e->hnext;
            free(e->path);
            free(e);
        }
        q->buckets[i] = NULL;
    }
    memset(&q->ready, 0, sizeof(q->ready));
    memset(&q->settle, 0, sizeof(q->settle));
    q->count = 0;
}

struct queue *
queue_create(size_t limit, long settle_ms)
{
    struct queue *q = xcalloc(1, sizeof(*q));

    q->nbuckets = 64;
    q->buckets = xcalloc(q->nbuckets, sizeof(*q->buckets));
    q->limit = limit;
    q->settle_ms = settle_ms > 0 ? settle_ms : 0;
    return q;
}

void
queue_destroy(struct queue *q)
{
    if (q == NULL) {
        return;
    }
    drop_all(q);
    free(q->buckets);
    free(q);
}

static void
mark(struct queue *q, const char *rel, bool subtree, bool ready, long long now_ms)
{
    uint64_t h;
    struct qent *e;

    if (q->rescan) {
        return; /* the rescan to come covers it */
    }
    h = key_hash(rel, subtree);
    e = find(q, rel, subtree, h);
    if (e != NULL && e->ready) {
        return; /* ready wins, and keeps its place in line */
    }
    if (e == NULL) {
        if (q->limit > 0 && q->count >= q->limit) {
            /* Bounded memory under an event storm: forget paths, remember to walk the tree. */
            log_warn("%zu dirty paths pending (limit %zu): dropping them and rescanning the tree",
                     q->count + 1, q->limit);
            drop_all(q);
            q->rescan = true;
            return;
        }
        if (q->count >= q->nbuckets) {
            grow(q);
        }
        e = xcalloc(1, sizeof(*e));
        e->path = xstrdup(rel);
        e->hash = h;
        e->subtree = subtree;
        e->hnext = q->buckets[h & (q->nbuckets - 1)];
        q->buckets[h & (q->nbuckets - 1)] = e;
        q->count++;
    } else {
        list_unlink(&q->settle, e);
    }
    e->ready = ready;
    if (ready) {
        list_append(&q->ready, e);
    } else {
        e->due = now_ms + q->settle_ms;
        list_insert_sorted(&q->settle, e);
    }
}

void
queue_mark_ready(struct queue *q, const char *rel, long long now_ms)
{
    mark(q, rel, false, true, now_ms);
}

void
queue_mark_settle(struct queue *q, const char *rel, long long now_ms)
{
    mark(q, rel, false, false, now_ms);
}

void
queue_mark_subtree(struct queue *q, const char *rel_dir, long long now_ms)
{
    mark(q, rel_dir, true, true, now_ms);
}

size_t
queue_take_due(struct queue *q, long long now_ms, struct queue_item **items)
{
    size_t n = q->ready.len, i = 0;
    struct qent *e;

    for (e = q->settle.head; e != NULL && e->due <= now_ms; e = e->next) {
        n++;
    }
    *items = NULL;
    if (n == 0) {
        return 0;
    }
    *items = xcalloc(n, sizeof(**items));
    while (q->ready.head != NULL) {
        e = q->ready.head;
        (*items)[i].subtree = e->subtree;
        (*items)[i++].path = take(q, e);
    }
    while (i < n) {
        e = q->settle.head;
        (*items)[i].subtree = e->subtree;
        (*items)[i++].path = take(q, e);
    }
    return n;
}

void
queue_items_free(struct queue_item *items, size_t n)
{
    if (items == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(items[i].path);
    }
    free(items);
}

void
queue_requeue(struct queue *q, const struct queue_item *items, size_t n, long long now_ms)
{
    for (size_t i = 0; i < n; i++) {
        mark(q, items[i].path, items[i].subtree, true, now_ms);
    }
}

long
queue_next_due_ms(struct queue *q, long long now_ms)
{
    long long d;

    if (q->ready.head != NULL) {
        return 0;
    }
    if (q->settle.head == NULL) {
        return -1;
    }
    d = q->settle.head->due - now_ms;
    return d > 0 ? (long)d : 0;
}

size_t
queue_len(struct queue *q)
{
    return q->count;
}

bool
queue_rescan_needed(struct queue *q)
{
    return q->rescan;
}

void
queue_clear_rescan(struct queue *q)
{
    q->rescan = false;
}
