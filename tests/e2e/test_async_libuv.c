/* The shared async scenario driven by libuv through <ami/adapters/libuv.h>. */
/* Built as a skip (exit 77) when CMake did not find libuv. */
#ifdef AMI_TEST_HAVE_LIBUV
#include <ami/adapters/libuv.h>

#include "async_scenario.h"

struct uvloop {
    uv_loop_t loop;
    uv_timer_t guard;
};

static void *uv_attach_fn(ami_async *a)
{
    struct uvloop *l = calloc(1, sizeof *l);
    assert_int_equal(uv_loop_init(&l->loop), 0);
    uv_timer_init(&l->loop, &l->guard);
    assert_non_null(ami_libuv_attach(&l->loop, a));
    return l;
}

static void uv_detach_fn(void *loop)
{
    struct uvloop *l = loop;
    uv_close((uv_handle_t *)&l->guard, NULL);
    /* Handles close asynchronously: let the loop finish them. */
    uv_run(&l->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&l->loop), 0);
    free(l);
}

static void on_guard(uv_timer_t *t)
{
    (void)t;
}

static int uv_run_until(void *loop, ami_async *a, int *flag, int timeout_ms)
{
    (void)a;
    struct uvloop *l = loop;
    uv_timer_start(&l->guard, on_guard, 10, 10);
    uint64_t end = ami_async_now() + (uint64_t)timeout_ms;
    while (!*flag && ami_async_now() < end)
        uv_run(&l->loop, UV_RUN_ONCE);
    uv_timer_stop(&l->guard);
    return *flag;
}

static void test_plain(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_PLAIN, uv_attach_fn, uv_run_until, uv_detach_fn);
}

static void test_md5(void **state)
{
    (void)state;
    scen_run_one(AMI_LOGIN_MD5, uv_attach_fn, uv_run_until, uv_detach_fn);
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
