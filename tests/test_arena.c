/* test_arena.c -- the bump allocator the agent keeps its per-file records in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arena.h"

/* Many objects of odd sizes: each zeroed, 8-byte aligned, and none overlaps another. */
static void
test_small_objects(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    enum { N = 20000 };
    unsigned char **p = calloc(N, sizeof(*p));

    for (size_t i = 0; i < N; i++) {
        size_t size = 1 + i % 97;
        p[i] = arena_alloc(&a, size);
        assert_int_equal((uintptr_t)p[i] % 8, 0);
        for (size_t k = 0; k < size; k++) {
            assert_int_equal(p[i][k], 0);
        }
        memset(p[i], (int)(i & 0xff), size);
    }
    for (size_t i = 0; i < N; i++) {
        size_t size = 1 + i % 97;
        for (size_t k = 0; k < size; k++) {
            assert_int_equal(p[i][k], (unsigned char)(i & 0xff));
        }
    }
    /* about 1 MB of objects in blocks of 256 KB: a handful of blocks, no header per object */
    assert_true(a.bytes < 2 * 1024 * 1024);
    arena_release(&a);
    assert_int_equal(a.bytes, 0);
    assert_null(a.blocks);
    free(p);
}

/* An object larger than a quarter block gets a block of its own; the current one keeps its
 * room for the next small objects. */
static void
test_large_object(void **state)
{
    (void)state;
    struct arena a = ARENA_INIT;
    char *s1 = arena_alloc(&a, 16);
    char *big = arena_alloc(&a, 1024 * 1024);
    char *s2 = arena_alloc(&a, 16);

    memset(big, 'x', 1024 * 1024);
    assert_ptr_equal(s2, s1 + 16);
    assert_int_equal(s2[0], 0);
    arena_release(&a);
    /* a first object larger than a block, and a zero-sized one */
    struct arena b = ARENA_INIT;
    char *huge = arena_alloc(&b, 512 * 1024);
    huge[512 * 1024 - 1] = 1;
    assert_non_null(arena_alloc(&b, 0));
    arena_release(&b);
    /* the arena is reusable after release */
    char *again = arena_alloc(&a, 100);
    assert_non_null(again);
    arena_release(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_objects),
        cmocka_unit_test(test_large_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
