/* loop.c -- a small event loop: epoll for fds, one timerfd for timers, signalfd for signals. */
#include "agent/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "common/clock.h"
#include "common/strbuf.h"

#define LOOP_MAX_EVENTS 64
#define LOOP_NSIG 65 /* signals 1..64 on Linux */

struct fd_slot {
    loop_fd_cb *cb; /* NULL: the fd is not watched */
    void *arg;
};

/*
 * Timers live in a list sorted by due time (then id): the agent has a handful (settle,
 * retry with backoff, periodic rescan), so a list beats a heap on simplicity. The one
 * timerfd is armed for the head, or disarmed when the list is empty.
 */
struct timer {
    long long id;
    long long due; /* clock_ms() */
    loop_timer_cb *cb;
    void *arg;
    bool deleted; /* deleted by its own callback */
    struct timer *next;
};

struct sig_slot {
    loop_signal_cb *cb;
    void *arg;
};

struct loop {
    int epfd;
    int tfd;
    int sfd; /* -1 until the first loop_add_signal */
    bool stop;

    struct fd_slot *fds; /* indexed by fd */
    size_t nfds;

    struct timer *timers;  /* pending, sorted */
    struct timer *firing;  /* due in the current dispatch, not yet run */
    struct timer *running; /* the one whose callback runs now */
    long long next_id;
    long long armed_due; /* what the timerfd is armed for; -1 when disarmed */

    sigset_t sigs;    /* the signals routed to the signalfd */
    sigset_t oldmask; /* the mask before the first loop_add_signal */
    bool mask_saved;
    struct sig_slot sig[LOOP_NSIG];

    loop_before_sleep_cb *before_sleep;
    void *before_sleep_arg;
};

struct loop *
loop_create(struct err *err)
{
    struct loop *l = xcalloc(1, sizeof(*l));
    struct epoll_event ev = {.events = EPOLLIN};
    struct sigaction sa;

    l->epfd = -1;
    l->tfd = -1;
    l->sfd = -1;
    l->next_id = 1;
    l->armed_due = -1;
    sigemptyset(&l->sigs);

    /* A peer that closes a socket must give us EPIPE, not kill the daemon (tmux proc.c). */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        err_set(err, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->tfd < 0) {
        err_set(err, "timerfd_create: %s", strerror(errno));
        goto fail;
    }
    ev.data.fd = l->tfd;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) != 0) {
        err_set(err, "epoll_ctl(timerfd): %s", strerror(errno));
        goto fail;
    }
    return l;
fail:
    loop_destroy(l);
    return NULL;
}

void
loop_destroy(struct loop *l)
{
    struct timer *t, *next;

    if (l == NULL) {
        return;
    }
    if (l->sfd >= 0) {
        struct signalfd_siginfo si;

        /* Drain what is pending so that unblocking does not deliver it with SIG_DFL. */
        while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        }
        close(l->sfd);
    }
    if (l->mask_saved) {
        sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
    }
    if (l->tfd >= 0) {
        close(l->tfd);
    }
    if (l->epfd >= 0) {
        close(l->epfd);
    }
    for (t = l->timers; t != NULL; t = next) {
        next = t->next;
        free(t);
    }
    for (t = l->firing; t != NULL; t = next) {
        next = t->next;
        free(t);
    }
    free(l->fds);
    free(l);
}

int
loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb *cb, void *arg, struct err *err)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    int op;

    if (fd < 0 || cb == NULL || fd == l->tfd || fd == l->sfd || fd == l->epfd) {
        return err_set(err, "loop_add_fd: invalid fd %d or callback", fd);
    }
    if ((size_t)fd >= l->nfds) {
        size_t n = l->nfds == 0 ? 64 : l->nfds;

        while (n <= (size_t)fd) {
            n *= 2;
        }
        l->fds = xrealloc(l->fds, n * sizeof(*l->fds));
        memset(l->fds + l->nfds, 0, (n - l->nfds) * sizeof(*l->fds));
        l->nfds = n;
    }
    op = l->fds[fd].cb != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ev) != 0) {
        return err_set(err, "epoll_ctl(fd %d): %s", fd, strerror(errno));
    }
    l->fds[fd].cb = cb;
    l->fds[fd].arg = arg;
    return 0;
}

void
loop_del_fd(struct loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds || l->fds[fd].cb == NULL) {
        return;
    }
    /* A closed fd has already left the epoll set; ignore the error then. */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    l->fds[fd].cb = NULL;
    l->fds[fd].arg = NULL;
}

/* Arm the timerfd for the earliest timer, or disarm it when none is left. */
static void
timers_rearm(struct loop *l)
{
    struct itimerspec its;
    long long due = l->timers != NULL ? l->timers->due : -1;

    if (due == l->armed_due) {
        return;
    }
    memset(&its, 0, sizeof(its));
    if (due >= 0) {
        its.it_value.tv_sec = (time_t)(due / 1000);
        its.it_value.tv_nsec = (long)(due % 1000) * 1000000L;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) {
            its.it_value.tv_nsec = 1; /* zero would disarm */
        }
    }
    if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) {
        log_error("timerfd_settime: %s", strerror(errno));
        l->armed_due = -1;
        return;
    }
    l->armed_due = due;
}

static void
timers_insert(struct loop *l, struct timer *t)
{
    struct timer **pp = &l->timers;

    while (*pp != NULL && ((*pp)->due < t->due || ((*pp)->due == t->due && (*pp)->id < t->id))) {
        pp = &(*pp)->next;
    }
    t->next = *pp;
    *pp = t;
}

long long
loop_add_timer(struct loop *l, long delay_ms, loop_timer_cb *cb, void *arg)
{
    struct timer *t = xcalloc(1, sizeof(*t));

    t->id = l->next_id++;
    t->due = clock_ms() + (delay_ms > 0 ? delay_ms : 0);
    t->cb = cb;
    t->arg = arg;
    timers_insert(l, t);
    timers_rearm(l);
    return t->id;
}

static bool
timers_unlink(struct timer **head, long long id)
{
    for (struct timer **pp = head; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct timer *t = *pp;

            *pp = t->next;
            free(t);
            return true;
        }
    }
    return false;
}

int
loop_del_timer(struct loop *l, long long id)
{
    if (l->running != NULL && l->running->id == id) {
        l->running->deleted = true;
        return 0;
    }
    if (timers_unlink(&l->timers, id)) {
        timers_rearm(l);
        return 0;
    }
    return timers_unlink(&l->firing, id) ? 0 : -1;
}

bool
loop_timer_armed(struct loop *l)
{
    struct itimerspec its;

    if (timerfd_gettime(l->tfd, &its) != 0) {
        return false;
    }
    return its.it_value.tv_sec != 0 || its.it_value.tv_nsec != 0;
}

/*
 * The timerfd fired: run every timer due now. They are first moved to a private list, so
 * that a callback returning 0 runs again at the next iteration instead of forever in this
 * one, and a callback may delete any timer, itself included.
 */
static int
timers_dispatch(struct loop *l)
{
    uint64_t ticks;
    long long now = clock_ms();
    struct timer **tail = &l->firing;
    int n = 0;

    while (read(l->tfd, &ticks, sizeof(ticks)) > 0) {
    }
    l->armed_due = -1; /* a fired timerfd is disarmed */
    while (l->timers != NULL && l->timers->due <= now) {
        struct timer *t = l->timers;

        l->timers = t->next;
        t->next = NULL;
        *tail = t;
        tail = &t->next;
    }
    while (l->firing != NULL) {
        struct timer *t = l->firing;
        long next;

        l->firing = t->next;
        l->running = t;
        next = t->cb(l, t->id, t->arg);
        l->running = NULL;
        n++;
        if (t->deleted || next < 0) {
            free(t);
        } else {
            t->due = clock_ms() + next;
            timers_insert(l, t);
        }
    }
    timers_rearm(l);
    return n;
}

int
loop_add_signal(struct loop *l, int signo, loop_signal_cb *cb, void *arg, struct err *err)
{
    sigset_t one;
    int fd;

    if (signo <= 0 || signo >= LOOP_NSIG || signo == SIGKILL || signo == SIGSTOP || cb == NULL) {
        return err_set(err, "loop_add_signal: invalid signal %d or callback", signo);
    }
    sigemptyset(&one);
    sigaddset(&one, signo);
    if (sigprocmask(SIG_BLOCK, &one, l->mask_saved ? NULL : &l->oldmask) != 0) {
        return err_set(err, "sigprocmask: %s", strerror(errno));
    }
    l->mask_saved = true;
    sigaddset(&l->sigs, signo);
    fd = signalfd(l->sfd, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        return err_set(err, "signalfd: %s", strerror(errno));
    }
    if (l->sfd < 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            return err_set(err, "epoll_ctl(signalfd): %s", strerror(errno));
        }
        l->sfd = fd;
    }
    l->sig[signo].cb = cb;
    l->sig[signo].arg = arg;
    return 0;
}

static int
signals_dispatch(struct loop *l)
{
    struct signalfd_siginfo si;
    int n = 0;

    while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int signo = (int)si.ssi_signo;

        if (signo > 0 && signo < LOOP_NSIG && l->sig[signo].cb != NULL) {
            l->sig[signo].cb(l, signo, l->sig[signo].arg);
            n++;
        }
    }
    return n;
}

void
loop_set_before_sleep(struct loop *l, loop_before_sleep_cb *cb, void *arg)
{
    l->before_sleep = cb;
    l->before_sleep_arg = arg;
}

int
loop_run_once(struct loop *l, int timeout_ms)
{
    struct epoll_event evs[LOOP_MAX_EVENTS];
    int nev, n = 0;

    if (l->before_sleep != NULL) {
        l->before_sleep(l, l->before_sleep_arg);
    }
    nev = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, timeout_ms);
    if (nev < 0) {
        if (errno == EINTR) {
            return 0;
        }
        log_error("epoll_wait: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < nev; i++) {
        int fd = evs[i].data.fd;

        if (fd == l->tfd) {
            n += timers_dispatch(l);
        } else if (fd == l->sfd) {
            n += signals_dispatch(l);
        } else if ((size_t)fd < l->nfds && l->fds[fd].cb != NULL) {
            /* Looked up at each event: an earlier callback may have deleted this fd. */
            l->fds[fd].cb(l, fd, evs[i].events, l->fds[fd].arg);
            n++;
        }
    }
    return n;
}

int
loop_run(struct loop *l)
{
    l->stop = false;
    while (!l->stop) {
        if (loop_run_once(l, -1) < 0) {
            return -1;
        }
    }
    return 0;
}

void
loop_stop(struct loop *l)
{
    l->stop = true;
}
