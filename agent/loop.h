/* loop.h -- a small event loop: epoll for fds, one timerfd for timers, signalfd for signals. */
#ifndef CO_LOOP_H
#define CO_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/*
 * One thread, one loop (after Redis ae.h). Callbacks run on the loop's thread and may add
 * or delete fds, timers and signals, including their own. Idle means idle: with no timer
 * pending, no timerfd is armed and the loop sleeps in epoll_wait until an fd or a signal
 * wakes it. Timers run on common/clock.h's clock_ms, the clock of every deadline in the agent.
 */
struct loop;

/* fd became ready; events is the epoll mask (EPOLLIN, EPOLLERR, EPOLLHUP...). */
typedef void loop_fd_cb(struct loop *l, int fd, uint32_t events, void *arg);
/* A timer is due; return the next delay in ms (0 = next iteration) or -1 to delete it. */
typedef long loop_timer_cb(struct loop *l, long long id, void *arg);
/* signo was delivered (through signalfd: this runs as an ordinary loop callback). */
typedef void loop_signal_cb(struct loop *l, int signo, void *arg);
/* Called every time before the loop blocks in epoll_wait. */
typedef void loop_before_sleep_cb(struct loop *l, void *arg);

/*
 * Create a loop (epoll, timerfd; all CLOEXEC and NONBLOCK) and ignore SIGPIPE for the
 * process. Returns the loop (free with loop_destroy) or NULL with err filled.
 */
struct loop *loop_create(struct err *err);
/*
 * Free the loop. The fds it was given stay open (they are the caller's). Blocked signals are
 * drained from the signalfd and the signal mask in force before loop_add_signal is restored.
 * Accepts NULL.
 */
void loop_destroy(struct loop *l);

/*
 * Watch fd for events (EPOLLIN, EPOLLOUT...); cb(l, fd, events, arg) runs when it is ready.
 * Adding an fd that is already there replaces its events, cb and arg. The fd stays the
 * caller's (close it after loop_del_fd). Returns 0, or -1 with err filled.
 */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb *cb, void *arg,
                struct err *err);
/* Stop watching fd (no-op when it is not watched); safe from any callback. */
void loop_del_fd(struct loop *l, int fd);

/*
 * Run cb(l, id, arg) in delay_ms (negative means 0); its return value reschedules it (ms) or
 * deletes it (-1). Returns the timer id (> 0), valid until the timer is deleted.
 */
long long loop_add_timer(struct loop *l, long delay_ms, loop_timer_cb *cb, void *arg);
/* Delete a timer (also from its own callback: the return value is then ignored). Returns 0, or
 * -1 when no such timer exists. */
int loop_del_timer(struct loop *l, long long id);
/* True when the timerfd is armed, i.e. some timer is pending (for tests and status lines). */
bool loop_timer_armed(struct loop *l);

/*
 * Deliver signo as a loop event: the signal is blocked for the calling thread (call this
 * before starting threads so they inherit the mask) and read from a signalfd. Adding a
 * signal again replaces its cb and arg. Returns 0, or -1 with err filled.
 */
int loop_add_signal(struct loop *l, int signo, loop_signal_cb *cb, void *arg, struct err *err);

/* Set (or clear, with cb NULL) the hook called before each epoll_wait: flush batches there. */
void loop_set_before_sleep(struct loop *l, loop_before_sleep_cb *cb, void *arg);

/* Run iterations until loop_stop. Returns 0, or -1 when epoll_wait fails (logged). */
int loop_run(struct loop *l);
/*
 * One iteration: the before-sleep hook, then wait up to timeout_ms (-1: forever, 0: poll) and
 * dispatch. Returns the number of callbacks run (fds, timers, signals), or -1 on failure.
 */
int loop_run_once(struct loop *l, int timeout_ms);
/* Make loop_run return after the current iteration; safe from any callback. */
void loop_stop(struct loop *l);

#endif
