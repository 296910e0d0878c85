/* testutil.h -- helpers shared by the tests: temp trees, files, waiting with a deadline. */
#ifndef CO_TESTUTIL_H
#define CO_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* mkdtemp under $TMPDIR (or /tmp); returns a heap path (free()) or aborts. */
char *tu_mkdtemp(const char *prefix);
/* rm -rf dir (no symlink is followed). */
void tu_rmtree(const char *dir);
/* Write len bytes to dir/rel, creating parent directories; aborts on failure. */
void tu_write(const char *dir, const char *rel, const char *data, size_t len);
/* Same with a NUL-terminated string. */
void tu_write_str(const char *dir, const char *rel, const char *text);
/* Read a whole file into a heap buffer (free()); NULL when it cannot be read. */
char *tu_read(const char *path, size_t *len);
/* Milliseconds of CLOCK_MONOTONIC. */
long long tu_now_ms(void);
/* Poll cond(arg) every few ms until it is true or timeout_ms passes; returns its last value. */
bool tu_wait_for(bool (*cond)(void *), void *arg, long timeout_ms);
/*
 * Skip the current cmocka test because the machine lacks CAP, a capability of
 * tests/sh/lib.sh (root, mountns, tmpfs, proc_sys, ...): it says "SKIP NAME: REASON
 * (capability CAP)", the line deploy/test.sh accounts as the shell suites' skips (a failure
 * there when the machine has CAP). Use it in the test function itself (cmocka's skip()).
 */
#define TU_SKIP(cap, name, reason)                                                                 \
    do {                                                                                           \
        print_message("SKIP %s: %s (capability %s)\n", name, reason, cap);                         \
        skip();                                                                                    \
    } while (0)

/* The test database URL from CO_TEST_DB, or NULL (the test then fails: it needs one). */
const char *tu_db_url(void);

#endif
