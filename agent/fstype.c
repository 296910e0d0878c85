/* fstype.c -- which parts of the tree sit on a filesystem whose changes inotify cannot see. */
#include "agent/fstype.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "common/strbuf.h"

/* statfs f_type of the kinds inotify cannot follow (linux/magic.h and the filesystems'
 * own headers; not all of them are in linux/magic.h). */
static const struct {
    uint32_t magic;
    const char *name;
} remote_magic[] = {
    {0x6969, "nfs"},        /* NFS_SUPER_MAGIC */
    {0x517B, "smb"},        /* SMB_SUPER_MAGIC */
    {0xFF534D42, "cifs"},   /* CIFS_SUPER_MAGIC */
    {0xFE534D42, "smb2"},   /* SMB2_SUPER_MAGIC */
    {0x65735546, "fuse"},   /* FUSE_SUPER_MAGIC */
    {0x01021997, "9p"},     /* V9FS_MAGIC */
    {0x00C36400, "ceph"},   /* CEPH_SUPER_MAGIC */
    {0x5346414F, "afs"},    /* AFS_SUPER_MAGIC */
    {0x6B414653, "afs"},    /* AFS_FS_MAGIC (kAFS) */
    {0x73757245, "coda"},   /* CODA_SUPER_MAGIC */
    {0x564C, "ncp"},        /* NCP_SUPER_MAGIC */
    {0x0BD00BD0, "lustre"}, /* LL_SUPER_MAGIC */
    {0x47504653, "gpfs"},   /* GPFS_SUPER_MAGIC */
    {0x786F4256, "vboxsf"}, /* VBOXSF_SUPER_MAGIC: a host's shared folder */
};

bool
fstype_name_remote(const char *t)
{
    static const char *const exact[] = {"nfs",  "nfs4",   "cifs",   "smb3", "smbfs",  "smb2",
                                        "9p",   "ceph",   "afs",    "coda", "ncpfs",  "lustre",
                                        "gpfs", "vboxsf", "beegfs", "fuse", "fuseblk"};

    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (strcmp(t, exact[i]) == 0) {
            return true;
        }
    }
    return strncmp(t, "fuse.", 5) == 0; /* fuse.sshfs, fuse.gcsfuse, fuse.rclone ... */
}

static void
add(struct fstype_remote **v, size_t *n, const char *path, size_t plen, const char *fstype)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].path = xstrndup(path, plen);
    (*v)[*n].fstype = xstrdup(fstype);
    (*n)++;
}

/* A mountinfo field with its octal escapes (\040 for a space) decoded, in place. */
static void
unescape(char *s)
{
    char *w = s;

    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* The type of the root by statfs, or the injected one; NULL when it is a local kind. */
static const char *
root_remote_type(const char *root)
{
    const char *inject = getenv("CO_TEST_FSTYPE");
    struct statfs sf;

    if (inject != NULL && *inject != '\0') {
        return fstype_name_remote(inject) ? inject : NULL;
    }
    if (statfs(root, &sf) != 0) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(remote_magic) / sizeof(remote_magic[0]); i++) {
        if ((uint32_t)sf.f_type == remote_magic[i].magic) {
            return remote_magic[i].name;
        }
    }
    return NULL;
}

size_t
fstype_remote_find(const char *root, const char *mountinfo, struct fstype_remote **out)
{
    struct fstype_remote *v = NULL;
    size_t n = 0;
    char *abs = realpath(root, NULL);
    const char *base = abs != NULL ? abs : root;
    size_t blen = strlen(base);
    const char *t = root_remote_type(base);

    if (t != NULL) {
        add(&v, &n, base, blen, t);
    }
    while (blen > 1 && base[blen - 1] == '/') {
        blen--;
    }
    /* "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue":
     * the fifth field is the mount point, the first after " - " the type. */
    for (const char *line = mountinfo; line != NULL && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);
        char *copy = xstrndup(line, len);
        char *fields[5] = {NULL};
        char *save = NULL, *tok = strtok_r(copy, " ", &save);
        for (int i = 0; i < 5 && tok != NULL; i++) {
            fields[i] = tok;
            tok = i < 4 ? strtok_r(NULL, " ", &save) : NULL;
        }
        const char *dash = strstr(line, " - ");
        if (fields[4] != NULL && dash != NULL && (size_t)(dash - line) < len) {
            char type[128];
            size_t tl = strcspn(dash + 3, " \n");
            if (tl < sizeof(type)) {
                memcpy(type, dash + 3, tl);
                type[tl] = '\0';
                unescape(fields[4]);
                const char *mp = fields[4];
                /* strictly below the root: "<root>/..." (the root's own mount is statfs's) */
                bool below = strncmp(mp, base, blen) == 0 && mp[blen] == '/' && mp[blen + 1];
                if (blen == 1 && base[0] == '/') {
                    below = mp[0] == '/' && mp[1] != '\0';
                }
                if (below && fstype_name_remote(type)) {
                    add(&v, &n, mp, strlen(mp), type);
                }
            }
        }
        free(copy);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(abs);
    *out = v;
    return n;
}

size_t
fstype_remote_scan(const char *root, struct fstype_remote **out)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    struct strbuf sb = STRBUF_INIT;
    char buf[4096];
    size_t got, n;

    if (f != NULL) {
        while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
            strbuf_add(&sb, buf, got);
        }
        fclose(f);
    }
    n = fstype_remote_find(root, sb.buf, out);
    strbuf_release(&sb);
    return n;
}

void
fstype_remote_free(struct fstype_remote *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].fstype);
    }
    free(v);
}
