/* log.c -- one log for the agent: levels, text or JSON lines, context fields, reopen on SIGHUP. */
#include "agent/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"

enum log_level log_min_level = LOG_INFO;

static struct {
    int fd; /* 2 for stderr */
    char *path;
    enum log_format format;
} lg = {2, NULL, LOG_TEXT};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void (*stderr_hook)(void *arg);
static void *stderr_hook_arg;

void
log_set_stderr_hook(void (*cb)(void *arg), void *arg)
{
    stderr_hook = cb;
    stderr_hook_arg = arg;
}

/* The secrets to blank, longest first (a form inside a longer one must not leave the rest). */
static struct {
    char **v;
    size_t n;
} secrets;

void
log_add_secret(const char *s)
{
    size_t i, len = s != NULL ? strlen(s) : 0;

    if (len == 0) {
        return;
    }
    for (i = 0; i < secrets.n; i++) {
        if (strcmp(secrets.v[i], s) == 0) {
            return;
        }
    }
    secrets.v = xrealloc(secrets.v, (secrets.n + 1) * sizeof(*secrets.v));
    for (i = secrets.n; i > 0 && strlen(secrets.v[i - 1]) < len; i--) {
        secrets.v[i] = secrets.v[i - 1];
    }
    secrets.v[i] = xstrdup(s);
    secrets.n++;
}

void
log_forget_secrets(void)
{
    for (size_t i = 0; i < secrets.n; i++) {
        memset(secrets.v[i], 0, strlen(secrets.v[i]));
        free(secrets.v[i]);
    }
    free(secrets.v);
    secrets.v = NULL;
    secrets.n = 0;
}

/* s with the secrets blanked: s itself when there are none, else scratch's buffer. */
static const char *
masked(const char *s, struct strbuf *scratch)
{
    if (secrets.n == 0) {
        return s;
    }
    strbuf_reset(scratch);
    strbuf_add_masked(scratch, s, strlen(s), (const char *const *)secrets.v, secrets.n);
    return scratch->buf;
}

void
log_print(FILE *f, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT, out = STRBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    fputs(masked(sb.buf, &out), f);
    fflush(f);
    strbuf_release(&sb);
    strbuf_release(&out);
}

static int
open_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int
log_open(const char *path, enum log_format format, enum log_level level)
{
    log_close();
    lg.format = format;
    log_min_level = level;
    if (path == NULL) {
        return 0;
    }
    int fd = open_file(path);
    if (fd < 0) {
        return -1;
    }
    lg.fd = fd;
    lg.path = xstrdup(path);
    return 0;
}

void
log_reopen(void)
{
    if (lg.path == NULL) {
        return;
    }
    int fd = open_file(lg.path);
    if (fd < 0) {
        log_printf(LOG_ERROR, "cannot reopen log file %s; keeping the old one", lg.path);
        return;
    }
    close(lg.fd);
    lg.fd = fd;
}

void
log_close(void)
{
    if (lg.fd != 2) {
        close(lg.fd);
    }
    free(lg.path);
    lg.fd = 2;
    lg.path = NULL;
}

static void
add_timestamp(struct strbuf *sb)
{
    struct timespec ts;
    struct tm tm;
    char buf[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    strbuf_addf(sb, "%s.%03ldZ", buf, ts.tv_nsec / 1000000);
}

static bool
needs_quotes(const char *v)
{
    if (*v == '\0') {
        return true;
    }
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c <= ' ' || c == '"' || c == '=' || c == 0x7F) {
            return true;
        }
    }
    return false;
}

void
log_write(enum log_level level, const char *msg, const char *const *fields)
{
    struct strbuf sb = STRBUF_INIT, scratch = STRBUF_INIT;

    if (level < log_min_level) {
        return;
    }
    strbuf_grow(&sb, 256);
    /* The one choke point of everything logged: secrets go before any formatting. */
    struct strbuf mmsg = STRBUF_INIT;
    strbuf_addstr(&mmsg, masked(msg, &scratch));
    msg = mmsg.buf;
    if (lg.format == LOG_JSON) {
        strbuf_addstr(&sb, "{\"ts\":\"");
        add_timestamp(&sb);
        strbuf_addf(&sb, "\",\"level\":\"%s\",\"msg\":", level_names[level]);
        strbuf_add_json_str(&sb, msg, strlen(msg));
        for (size_t i = 0; fields != NULL && fields[i] != NULL; i += 2) {
            if (fields[i + 1] == NULL) {
                continue;
            }
            const char *v = masked(fields[i + 1], &scratch);
            strbuf_addch(&sb, ',');
            strbuf_add_json_str(&sb, fields[i], strlen(fields[i]));
            strbuf_addch(&sb, ':');
            strbuf_add_json_str(&sb, v, strlen(v));
        }
        strbuf_addch(&sb, '}');
    } else {
        add_timestamp(&sb);
        strbuf_addf(&sb, " %-5s %s", level_names[level], msg);
        for (size_t i = 0; fields != NULL && fields[i] != NULL; i += 2) {
            const char *v = fields[i + 1];
            if (v == NULL) {
                continue;
            }
            v = masked(v, &scratch);
            strbuf_addf(&sb, " %s=", fields[i]);
            if (needs_quotes(v)) {
                strbuf_add_json_str(&sb, v, strlen(v));
            } else {
                strbuf_addstr(&sb, v);
            }
        }
    }
    strbuf_addch(&sb, '\n');
    if (lg.fd == 2 && stderr_hook != NULL) {
        stderr_hook(stderr_hook_arg);
    }
    /* One write(2) per line: lines from one process never interleave in O_APPEND files. */
    const char *p = sb.buf;
    size_t left = sb.len;
    while (left > 0) {
        ssize_t n = write(lg.fd, p, left);
        if (n <= 0) {
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    strbuf_release(&sb);
    strbuf_release(&mmsg);
    strbuf_release(&scratch);
}

void
log_printf(enum log_level level, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;

    if (level < log_min_level) {
        return;
    }
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    log_write(level, sb.buf, NULL);
    strbuf_release(&sb);
}
