/* fstype.h -- which parts of the tree sit on a filesystem whose changes inotify cannot see. */
#ifndef CO_FSTYPE_H
#define CO_FSTYPE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * inotify reports the changes made through this kernel. On a network or user-space
 * filesystem (NFS, SMB/CIFS, FUSE, 9p, Ceph, AFS...) another host, or the FUSE server, can
 * change files without this kernel knowing: no event ever comes. Such a tree must be polled.
 */

/* One place of the tree that must be polled. */
struct fstype_remote {
    char *path;   /* the root, or a mount point below it (absolute; heap) */
    char *fstype; /* "nfs4", "cifs", "fuse.sshfs", ... (heap) */
};

/*
 * Is a filesystem of this type name (as /proc/self/mountinfo writes it) one whose changes
 * inotify may not see? True for the network and user-space kinds above.
 */
bool fstype_name_remote(const char *fstype);

/*
 * The places of the tree at root that must be polled: root itself when its filesystem is
 * such a kind (statfs f_type), and every mount point strictly below root whose type is
 * (mountinfo, the text of /proc/self/mountinfo). Returns how many were put in *out (free
 * with fstype_remote_free); 0 with *out NULL when none.
 *
 * Test hook: when the environment variable CO_TEST_FSTYPE is set, root is taken to be of
 * that type (e.g. "nfs"), whatever statfs says; tests use it to inject a network root.
 */
size_t fstype_remote_find(const char *root, const char *mountinfo, struct fstype_remote **out);

/* The same, reading /proc/self/mountinfo itself (no mounts below root when unreadable). */
size_t fstype_remote_scan(const char *root, struct fstype_remote **out);

void fstype_remote_free(struct fstype_remote *v, size_t n);

#endif
