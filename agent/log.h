/* log.h -- one log for the agent: levels, text or JSON lines, context fields, reopen on SIGHUP. */
#ifndef CO_LOG_H
#define CO_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/*
 * Configure the log. path NULL logs to stderr. Returns 0, or -1 when the file cannot be
 * opened (then stderr is used). Format and level may be changed at any time.
 */
int log_open(const char *path, enum log_format format, enum log_level level);
/* Reopen the log file (after logrotate moved it); no-op on stderr. */
void log_reopen(void);
void log_close(void);
extern enum log_level log_min_level;

/*
 * log_write(level, msg, fields): one line. fields is NULL or a NULL-terminated list of
 * key/value pairs ("path", p, "slug", s, NULL); a NULL value skips the pair. In text mode:
 * "2026-11-26T10:00:00.123Z INFO  msg key=value ..." (values quoted when they hold spaces);
 * in JSON mode one object {"ts","level","msg",...}. Values are printed verbatim but for the
 * secrets (log_add_secret), which are blanked.
 */
void log_write(enum log_level level, const char *msg, const char *const *fields);
/*
 * Call cb(arg) before each line written to stderr (not to a --log-file): a progress line
 * drawn in place on the terminal clears itself there, so that no log line lands inside it.
 * cb NULL removes the hook.
 */
void log_set_stderr_hook(void (*cb)(void *arg), void *arg);
/*
 * Secrets: log_add_secret(s) makes every later line blank each occurrence of s (with "***"),
 * in the message and in every field value, whatever the line quotes (a libpq error that
 * echoes the connection string included); log_print blanks them in what is printed outside
 * the log. s is copied; an empty s is ignored. log_forget_secrets wipes and frees them.
 */
void log_add_secret(const char *s);
void log_forget_secrets(void);
/* printf to f (stdout, stderr) with the secrets blanked. */
void log_print(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* printf-style message without fields. */
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Level checked before any formatting. */
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_min_level <= LOG_DEBUG)                                                            \
            log_printf(LOG_DEBUG, __VA_ARGS__);                                                    \
    } while (0)
#define log_info(...)                                                                              \
    do {                                                                                           \
        if (log_min_level <= LOG_INFO)                                                             \
            log_printf(LOG_INFO, __VA_ARGS__);                                                     \
    } while (0)
#define log_warn(...)                                                                              \
    do {                                                                                           \
        if (log_min_level <= LOG_WARN)                                                             \
            log_printf(LOG_WARN, __VA_ARGS__);                                                     \
    } while (0)
#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)

/* The same with context fields: log_kv(LOG_INFO, "synced", "path", p, "ms", ms_text). */
#define log_kv(level, msg, ...)                                                                    \
    do {                                                                                           \
        if (log_min_level <= (level)) {                                                            \
            const char *const log_fields_[] = {__VA_ARGS__, NULL};                                 \
            log_write((level), (msg), log_fields_);                                                \
        }                                                                                          \
    } while (0)

#endif
