/* parse_bench.c -- parser throughput: walk a course tree, read and record_parse every file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ignore.h"
#include "common/strbuf.h"
#include "parser/record.h"

struct paths {
    char **v;
    size_t n;
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Collect the rel paths of briefs and lessons below root/rel (symlinks never followed). */
static void
walk(const char *root, const char *rel, struct paths *out)
{
    struct strbuf dir = STRBUF_INIT;
    DIR *d;
    struct dirent *e;

    strbuf_addf(&dir, "%s%s%s", root, *rel ? "/" : "", rel);
    d = opendir(dir.buf);
    if (d == NULL) {
        fprintf(stderr, "parse_bench: %s: %s\n", dir.buf, strerror(errno));
        strbuf_release(&dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct strbuf child = STRBUF_INIT, full = STRBUF_INIT;
        struct stat st;
        size_t cl;

        if (ignore_name(e->d_name)) {
            continue; /* ".", "..", hidden names, editor leftovers */
        }
        strbuf_addf(&child, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        strbuf_addf(&full, "%s/%s", root, child.buf);
        if (lstat(full.buf, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                walk(root, child.buf, out);
            } else if (S_ISREG(st.st_mode) && tree_classify(child.buf, &cl) != FILE_IGNORED) {
                out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
                out->v[out->n++] = strbuf_detach(&child, NULL);
            }
        }
        strbuf_release(&child);
        strbuf_release(&full);
    }
    closedir(d);
    strbuf_release(&dir);
}

int
main(int argc, char **argv)
{
    struct paths paths = {NULL, 0};
    struct strbuf buf = STRBUF_INIT;
    struct parse_opts opts = {PARSE_DEFAULT_MAX_FILE_BYTES, NULL};
    size_t bytes = 0, rejected = 0;
    double t0, parse_s = 0, total;

    if (argc != 2) {
        fprintf(stderr, "usage: parse_bench ROOT\n");
        return 2;
    }
    walk(argv[1], "", &paths);
    t0 = now_s();
    for (size_t i = 0; i < paths.n; i++) {
        struct strbuf full = STRBUF_INIT;
        struct record rec;
        struct err err;
        struct stat st;
        double p0;
        int fd;

        strbuf_addf(&full, "%s/%s", argv[1], paths.v[i]);
        fd = open(full.buf, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        strbuf_release(&full);
        if (fd < 0 || fstat(fd, &st) < 0) {
            rejected++;
            if (fd >= 0) {
                close(fd);
            }
            continue;
        }
        strbuf_reset(&buf);
        strbuf_grow(&buf, (size_t)st.st_size);
        for (;;) {
            ssize_t r = read(fd, buf.buf + buf.len, buf.alloc - buf.len - 1);

            if (r <= 0) {
                break;
            }
            buf.len += (size_t)r;
            if (buf.len + 1 == buf.alloc) {
                strbuf_grow(&buf, 65536);
            }
        }
        close(fd);
        bytes += buf.len;
        p0 = now_s();
        if (record_parse(paths.v[i], buf.buf, buf.len, &opts, &rec, &err) == 0) {
            record_release(&rec);
        } else {
            rejected++;
        }
        parse_s += now_s() - p0;
    }
    total = now_s() - t0;
    printf("files=%zu bytes=%zu seconds=%.3f files_per_s=%.0f mb_per_s=%.1f rejected=%zu "
           "parse_only_seconds=%.3f\n",
           paths.n, bytes, total, total > 0 ? (double)paths.n / total : 0.0,
           total > 0 ? (double)bytes / 1e6 / total : 0.0, rejected, parse_s);
    for (size_t i = 0; i < paths.n; i++) {
        free(paths.v[i]);
    }
    free(paths.v);
    strbuf_release(&buf);
    return 0;
}
