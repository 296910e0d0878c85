/* cmd_parse.c -- `creatoros-agent parse FILE...`: the rows files map to, as JSON lines. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cmd.h"
#include "agent/scan.h"
#include "common/strbuf.h"
#include "parser/record.h"
#include "persist/rows.h"

/*
 * The path of arg relative to the root: arg as given when it names a file below the root
 * from the current directory, else arg itself taken as relative to the root. NULL when
 * it lies outside the root.
 */
static char *
relative_to_root(const char *root_abs, const char *arg)
{
    char *abs = realpath(arg, NULL);
    size_t n = strlen(root_abs);

    if (abs == NULL) {
        /* not reachable from here: maybe relative to the root, or already gone */
        if (arg[0] != '/') {
            return xstrdup(arg);
        }
        return NULL;
    }
    /* realpath resolved the file's own links too: keep the name as the user wrote it */
    char *dir_end = strrchr(abs, '/');
    const char *base = strrchr(arg, '/') != NULL ? strrchr(arg, '/') + 1 : arg;
    char *out = NULL;
    if (strncmp(abs, root_abs, n) == 0 && abs[n] == '/') {
        *dir_end = '\0';
        struct strbuf sb = STRBUF_INIT;
        if (strlen(abs) > n) {
            strbuf_addf(&sb, "%s/", abs + n + 1);
        }
        strbuf_addstr(&sb, base);
        out = strbuf_detach(&sb, NULL);
    }
    free(abs);
    return out;
}

int
cmd_parse(const struct config *cfg)
{
    struct parse_opts popts = {(size_t)cfg->max_file_bytes, cfg->fallback_encoding};
    struct strbuf out = STRBUF_INIT;
    struct err err;
    int rc = 0;
    char *root_abs = realpath(cfg->root, NULL);
    int rootfd = scan_open_root(cfg->root, &err);

    if (root_abs == NULL || rootfd < 0) {
        fprintf(stderr, "creatoros-agent parse: %s\n",
                rootfd < 0 ? err.msg : "cannot resolve the root");
        free(root_abs);
        return 2;
    }
    for (int i = 0; i < cfg->nfiles; i++) {
        char *rel = relative_to_root(root_abs, cfg->files[i]);
        strbuf_reset(&out);
        if (rel == NULL) {
            strbuf_addstr(&out, "{\"path\":");
            strbuf_add_json_str(&out, cfg->files[i], strlen(cfg->files[i]));
            strbuf_addstr(&out, ",\"ok\":false,\"error\":\"not below the root\"}");
            rc = 1;
        } else if (scan_kind(rel) == FILE_IGNORED) {
            strbuf_addstr(&out, "{\"path\":");
            strbuf_add_json_str(&out, rel, strlen(rel));
            strbuf_addstr(&out, ",\"ok\":true,\"kind\":\"ignored\"}");
        } else {
            char *buf = NULL;
            size_t len = 0;
            int64_t mtime;
            struct record rec;
            int r = scan_read(rootfd, rel, popts.max_file_bytes, &buf, &len, &mtime, &err);
            if (r == 0) {
                err_set(&err, "no such regular file below the root (links are never followed)");
            } else if (r > 0 && buf == NULL) {
                record_check_size(len, popts.max_file_bytes, &err);
            }
            if (r > 0 && buf != NULL && record_parse(rel, buf, len, &popts, &rec, &err) == 0) {
                rows_to_json(&rec, cfg->creator_mind, &out);
                record_release(&rec);
            } else {
                strbuf_addstr(&out, "{\"path\":");
                strbuf_add_json_str(&out, rel, strlen(rel));
                strbuf_addstr(&out, ",\"ok\":false,\"error\":");
                strbuf_add_json_str(&out, err.msg, strlen(err.msg));
                strbuf_addch(&out, '}');
                rc = 1;
            }
            free(buf);
        }
        strbuf_addch(&out, '\n');
        fwrite(out.buf, 1, out.len, stdout);
        free(rel);
    }
    strbuf_release(&out);
    free(root_abs);
    close(rootfd);
    return rc;
}
