/* test_fstype.c -- which parts of a tree must be polled: filesystem kinds and mounts below it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/fstype.h"
#include "testutil.h"

static void
test_kinds(void **state)
{
    (void)state;
    const char *remote[] = {"nfs", "nfs4", "cifs", "smb3", "9p", "fuse", "fuse.sshfs", "ceph"};
    const char *local[] = {"ext4", "xfs", "btrfs", "tmpfs", "overlay", "fusectl", "proc"};

    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
        assert_true(fstype_name_remote(remote[i]));
    }
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        assert_false(fstype_name_remote(local[i]));
    }
}

/* Mounts strictly below the root, of a kind inotify cannot follow, are found; others not. */
static void
test_mounts_below_root(void **state)
{
    (void)state;
    char *root = tu_mkdtemp("co-fstype");
    char text[4096];
    struct fstype_remote *r = NULL;

    snprintf(text, sizeof(text),
             "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
             "40 27 0:50 / %s/shared rw,relatime shared:1 - nfs4 srv:/export rw,vers=4.2\n"
             "41 27 0:51 / %s/a\\040b rw - fuse.sshfs user@host:/x rw\n"
             "42 27 0:52 / %s/local rw - ext4 /dev/vdb rw\n"
             "43 27 0:53 / %sX rw - nfs srv:/y rw\n"
             "44 27 0:54 / %s rw - tmpfs tmpfs rw\n"
             "45 27 0:55 / /elsewhere rw - cifs //srv/share rw\n",
             root, root, root, root, root);
    unsetenv("CO_TEST_FSTYPE");
    size_t n = fstype_remote_find(root, text, &r);
    assert_int_equal(n, 2);
    char want[4096];
    snprintf(want, sizeof(want), "%s/shared", root);
    assert_string_equal(r[0].path, want);
    assert_string_equal(r[0].fstype, "nfs4");
    snprintf(want, sizeof(want), "%s/a b", root);
    assert_string_equal(r[1].path, want);
    assert_string_equal(r[1].fstype, "fuse.sshfs");
    fstype_remote_free(r, n);

    /* the root itself on a network filesystem (injected: statfs here says ext4 or tmpfs) */
    setenv("CO_TEST_FSTYPE", "nfs", 1);
    n = fstype_remote_find(root, "", &r);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].path, root);
    assert_string_equal(r[0].fstype, "nfs");
    fstype_remote_free(r, n);
    setenv("CO_TEST_FSTYPE", "ext4", 1);
    n = fstype_remote_find(root, "", &r);
    assert_int_equal(n, 0);
    assert_null(r);
    unsetenv("CO_TEST_FSTYPE");

    /* a local root with a readable mountinfo: nothing to poll on this machine's /tmp */
    n = fstype_remote_scan(root, &r);
    assert_int_equal(n, 0);
    fstype_remote_free(r, n);
    tu_rmtree(root);
    free(root);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_mounts_below_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
