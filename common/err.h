/* err.h -- the error a failing function hands back to its caller. */
#ifndef CO_ERR_H
#define CO_ERR_H

#define ERR_MSG_MAX 512

/*
 * Functions that can fail return 0 / -1 (or a pointer / NULL) and fill the caller's
 * struct err. Only main() decides to exit. msg is always NUL-terminated.
 */
struct err {
    char msg[ERR_MSG_MAX];
};

/* Format into err->msg (truncated messages end in "..."); err may be NULL. Returns -1. */
int err_set(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A bound the code itself must keep was broken (a programming error, never bad input, which
 * always gets a struct err): say which on stderr and abort, as the out-of-memory answer does.
 */
void err_bug(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
