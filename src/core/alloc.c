/* Allocation wrappers with a failure-injection hook for tests. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Process-wide on purpose: this is a test hook, not library state. */
static long fail_countdown = -1;
static long alloc_count;

static bool should_fail(void)
{
    alloc_count++;
    if (fail_countdown < 0)
        return false;
    if (fail_countdown == 0)
        return true;
    fail_countdown--;
    return false;
}

long ami__alloc_fail_after(long n)
{
    long count = alloc_count;
    alloc_count = 0;
    fail_countdown = n;
    return count;
}

void *ami__malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *ami__calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *ami__realloc(void *ptr, size_t n)
{
    return should_fail() ? NULL : realloc(ptr, n ? n : 1);
}

void ami__free(void *ptr)
{
    free(ptr);
}

char *ami__strndup(const char *s, size_t n)
{
    char *copy = ami__malloc(n + 1);
    if (copy) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

char *ami__strdup(const char *s)
{
    return ami__strndup(s, strlen(s));
}
