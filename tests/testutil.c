/* testutil.c -- helpers shared by the tests: temp trees, files, waiting with a deadline. */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *
tu_mkdtemp(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char *path;
    size_t n;

    if (tmp == NULL || *tmp == '\0') {
        tmp = "/tmp";
    }
    n = strlen(tmp) + strlen(prefix) + 16;
    path = malloc(n);
    if (path == NULL) {
        abort();
    }
    snprintf(path, n, "%s/%s.XXXXXX", tmp, prefix);
    if (mkdtemp(path) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0 && errno != ENOENT) {
        /* a directory made unreadable by a test: make it writable and try again */
        chmod(path, 0700);
        remove(path);
    }
    return 0;
}

void
tu_rmtree(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
mkdirs_for(const char *path)
{
    char *p = strdup(path);

    if (p == NULL) {
        abort();
    }
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                perror(p);
                abort();
            }
            *s = '/';
        }
    }
    free(p);
}

void
tu_write(const char *dir, const char *rel, const char *data, size_t len)
{
    char path[4096];
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path)) {
        abort();
    }
    mkdirs_for(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        abort();
    }
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            perror(path);
            abort();
        }
        data += n;
        len -= (size_t)n;
    }
    close(fd);
}

void
tu_write_str(const char *dir, const char *rel, const char *text)
{
    tu_write(dir, rel, text, strlen(text));
}

char *
tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            if (buf == NULL) {
                abort();
            }
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096) {
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

long long
tu_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
tu_wait_for(bool (*cond)(void *), void *arg, long timeout_ms)
{
    long long deadline = tu_now_ms() + timeout_ms;
    struct timespec nap = {0, 5 * 1000 * 1000};

    for (;;) {
        if (cond(arg)) {
            return true;
        }
        if (tu_now_ms() >= deadline) {
            return cond(arg);
        }
        nanosleep(&nap, NULL);
    }
}

const char *
tu_db_url(void)
{
    const char *url = getenv("CO_TEST_DB");

    return url != NULL && *url != '\0' ? url : NULL;
}
