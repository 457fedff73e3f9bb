/* The shared async scenario driven by libevent through
 * <ami/adapters/libevent.h>. */
/* Built as a skip (exit 77) when CMake did not find libevent. */
#ifdef AMI_TEST_HAVE_LIBEVENT
#include <ami/adapters/libevent.h>

#include "async_scenario.h"

struct evloop {
    struct event_base *base;
};

static void *le_attach(ami_async *a)
{
    struct evloop *l = calloc(1, sizeof *l);
    l->base = event_base_new();
    assert_non_null(l->base);
    assert_non_null(ami_libevent_attach(l->base, a));
    return l;
}

static void le_detach(void *loop)
{
    struct evloop *l = loop;
    event_base_free(l->base);
    free(l);
}

static void on_guard(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    (void)ud;
}

static int le_run_until(void *loop, ami_async *a, int *flag, int timeout_ms)
{
    (void)a;
    struct evloop *l = loop;
    struct event *guard = event_new(l->base, -1, EV_PERSIST, on_guard, NULL);
    struct timeval tv = {0, 10000};
    event_add(guard, &tv);
    uint64_t end = ami_async_now() + (uint64_t)timeout_ms;
    while (!*flag && ami_async_now() < end)
        event_base_loop(l->base, EVLOOP_ONCE);
    event_free(guard);
    return *flag;
}

static void test_plain(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_PLAIN, le_attach, le_run_until, le_detach);
}

static void test_md5(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_MD5, le_attach, le_run_until, le_detach);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_md5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void);
int main(void)
{
    return 77;
}
#endif
