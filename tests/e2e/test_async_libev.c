/* The shared async scenario driven by libev through <ami/adapters/libev.h>. */
/* Built as a skip (exit 77) when CMake did not find libev. */
#ifdef AMI_TEST_HAVE_LIBEV
#include <ami/adapters/libev.h>

#include "async_scenario.h"

struct evloop {
    struct ev_loop *loop;
};

static void *ev_attach(ami_async *a)
{
    struct evloop *l = calloc(1, sizeof *l);
    l->loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(ami_libev_attach(l->loop, a));
    return l;
}

static void ev_detach(void *loop)
{
    struct evloop *l = loop;
    ev_loop_destroy(l->loop);
    free(l);
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
}

/* EV_RUN_ONCE returns after any callback; a guard timer bounds the wait. */
static int ev_run_until(void *loop, ami_async *a, int *flag, int timeout_ms)
{
    (void)a;
    struct evloop *l = loop;
    ev_timer guard;
    ev_timer_init(&guard, on_guard, 0.01, 0.01);
    ev_timer_start(l->loop, &guard);
    uint64_t end = ami_async_now() + (uint64_t)timeout_ms;
    while (!*flag && ami_async_now() < end)
        ev_run(l->loop, EVRUN_ONCE);
    ev_timer_stop(l->loop, &guard);
    return *flag;
}

static void test_plain(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_PLAIN, ev_attach, ev_run_until, ev_detach);
}

static void test_md5(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_MD5, ev_attach, ev_run_until, ev_detach);
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
