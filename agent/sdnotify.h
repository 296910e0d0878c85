/* sdnotify.h -- tell systemd how we are (READY=1, STATUS=, WATCHDOG=1), without libsystemd. */
#ifndef CO_SDNOTIFY_H
#define CO_SDNOTIFY_H

#include <stdbool.h>

/* Send one notification ("READY=1", "STATUS=...") to $NOTIFY_SOCKET; no-op without it. */
void sdnotify_send(const char *state);
/* printf-style. */
void sdnotify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Watchdog period asked by systemd ($WATCHDOG_USEC for this pid), in ms; 0 when none. */
long sdnotify_watchdog_ms(void);

#endif
