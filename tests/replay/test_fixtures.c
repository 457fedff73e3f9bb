/*
 * Replays every real Asterisk capture through the parser: whole, one byte at
 * a time, in random chunks, and cut in two: at every point for files under
 * 16 KB; for the larger ones (cutting a file at every point costs its size
 * squared) at every point within a few bytes of every packet and line
 * boundary, each replayed from the packet before the cut to the packet after
 * it, plus a seeded random sample of whole-file cuts (the seed is printed;
 * AMI_SPLIT_SEED=N repeats a run). Checks the packets against an
 * independent naive splitter and against known values from the captures.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define EVERY_SPLIT_MAX (16u * 1024u)
/* Large captures: cuts this many bytes either side of each boundary. */
#define NEAR_BOUNDARY 4
/* Large captures: whole-file cuts at random points. */
#define RANDOM_CUTS 24

static size_t chunk_one(size_t off, size_t remaining, void *ctx)
{
    (void)off, (void)remaining, (void)ctx;
    return 1;
}

static size_t chunk_at(size_t off, size_t remaining, void *ctx)
{
    size_t cut = *(size_t *)ctx;
    return off < cut ? cut - off : remaining;
}

typedef struct random_chunks {
    uint64_t state;
} random_chunks;

static size_t chunk_random(size_t off, size_t remaining, void *ctx)
{
    (void)off, (void)remaining;
    random_chunks *r = ctx;
    r->state = r->state * 6364136223846793005ull + 1442695040888963407ull;
    return 1 + (size_t)((r->state >> 33) % 700);
}

/* The oracle: the captures are CRLF, so split on "\r\n\r\n", then on
 * "\r\n", then on the first ':' plus one optional space. One quirk of
 * Asterisk 22 is known (fixtures README): a few responses end their last
 * line with a bare "\n" before the CRLF ("Message: Park successful\n\r\n
 * \r\n"). The parser ends a line at LF as well as CRLF, so it sees that
 * packet end one line early, then an empty line between packets; the oracle
 * does the same: a value's trailing bare LF ends the packet there. */
static parsed_stream naive_split(const char *data, size_t len)
{
    parsed_stream s = {0};
    size_t cap = 0;
    const char *p = data, *end = data + len;
    const char *nl = memmem(p, (size_t)(end - p), "\r\n", 2);
    assert_non_null(nl);
    s.packets = malloc(sizeof(char *) * 4096);
    cap = 4096;
    /* Banner */
    size_t banner_len = (size_t)(nl - p);
    s.packets[s.count] = malloc(banner_len + 9);
    sprintf(s.packets[s.count++], "Banner\x1f%.*s\x1e", (int)banner_len, p);
    p = nl + 2;
    while (p < end) {
        const char *term = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        assert_non_null(term);
        size_t plen = (size_t)(term - p) + 2;
        char *flat = malloc(plen + 2), *o = flat;
        const char *line = p;
        while (line < term + 2) {
            const char *le = memmem(line, (size_t)(term + 2 - line), "\r\n", 2);
            const char *colon = memchr(line, ':', (size_t)(le - line));
            assert_non_null(colon);
            memcpy(o, line, (size_t)(colon - line));
            o += colon - line;
            *o++ = '\x1f';
            const char *v = colon + 1;
            if (v < le && *v == ' ')
                v++;
            const char *ve = le;
            if (le == term && ve > v && ve[-1] == '\n')
                ve--; /* the bare-LF quirk: the packet's last line */
            memcpy(o, v, (size_t)(ve - v));
            o += ve - v;
            *o++ = '\x1e';
            line = le + 2;
        }
        *o = '\0';
        if (s.count == cap)
            s.packets = realloc(s.packets, sizeof(char *) * (cap *= 2));
        s.packets[s.count++] = flat;
        p = term + 4;
    }
    return s;
}

static void assert_same(const parsed_stream *a, const parsed_stream *b, const char *what)
{
    if (a->count != b->count)
        fail_msg("%s: %zu packets vs %zu", what, a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        if (strcmp(a->packets[i], b->packets[i]) != 0)
            fail_msg("%s: packet %zu differs", what, i);
    }
}

static char **list_raw_fixtures(size_t *n)
{
    DIR *d = opendir(fixture_dir());
    assert_non_null(d);
    char **names = malloc(sizeof(char *) * 256);
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".raw") == 0 && *n < 256)
            names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    return names;
}

/* Parse the whole of `data` cut in two at `cut`: the same packets. */
static void check_cut(const char *data, size_t len, size_t cut, const parsed_stream *whole,
                      const char *name)
{
    parsed_stream two;
    assert_int_equal(parse_stream(data, len, AMI_PARSER_EXPECT_BANNER, chunk_at, &cut, &two), 0);
    char what[300];
    snprintf(what, sizeof what, "%s cut at %zu", name, cut);
    if (two.error)
        fail_msg("%s: parser error %d", what, two.error);
    assert_same(whole, &two, what);
    parsed_stream_free(&two);
}

/* Where each packet starts (the banner is packet 0, at 0), as the oracle
 * splits them; `whole` matched the oracle, so packet i is whole->packets[i]. */
static size_t *packet_starts(const char *data, size_t len, size_t count)
{
    size_t *starts = malloc(sizeof *starts * (count + 1));
    const char *nl = memmem(data, len, "\r\n", 2);
    assert_non_null(nl);
    size_t n = 0;
    starts[n++] = 0;
    const char *p = nl + 2, *end = data + len;
    while (p < end && n < count) {
        starts[n++] = (size_t)(p - data);
        const char *term = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        assert_non_null(term);
        p = term + 4;
    }
    assert_int_equal(n, count);
    starts[n] = len;
    return starts;
}

/* Every cut within NEAR_BOUNDARY bytes of every line boundary (packet
 * boundaries are line boundaries too), each replayed from the start of the
 * packet holding the cut to the end of the next one: the parser state is
 * the same at every packet start, so this checks the cut as the whole file
 * would, in time linear in the file's size. */
static void check_cuts_near_boundaries(const char *data, size_t len, const parsed_stream *whole,
                                       const char *name)
{
    size_t *starts = packet_starts(data, len, whole->count);
    size_t k = 0;    /* packet holding the cut */
    size_t next = 1; /* first cut not checked yet */
    size_t checked = 0;
    for (size_t b = 1; b <= len; b++) {
        if (data[b - 1] != '\n' && b != len)
            continue;
        size_t lo = b > NEAR_BOUNDARY ? b - NEAR_BOUNDARY : 1;
        size_t hi = b + NEAR_BOUNDARY < len ? b + NEAR_BOUNDARY : len - 1;
        for (size_t cut = lo > next ? lo : next; cut <= hi; cut++) {
            while (k + 1 < whole->count && starts[k + 1] <= cut)
                k++;
            size_t from = starts[k];
            size_t to = starts[k + 2 < whole->count ? k + 2 : whole->count]; /* [count]: len */
            size_t at = cut - from;
            parsed_stream two;
            assert_int_equal(parse_stream(data + from, to - from,
                                          k == 0 ? AMI_PARSER_EXPECT_BANNER : 0, chunk_at, &at,
                                          &two),
                             0);
            char what[300];
            snprintf(what, sizeof what, "%s cut at %zu (from packet %zu at %zu)", name, cut, k,
                     from);
            if (two.error)
                fail_msg("%s: parser error %d", what, two.error);
            size_t want = whole->count - k < 2 ? whole->count - k : 2;
            if (two.count != want)
                fail_msg("%s: %zu packets, want %zu", what, two.count, want);
            for (size_t i = 0; i < want; i++)
                if (strcmp(two.packets[i], whole->packets[k + i]) != 0 ||
                    two.kinds[i] != whole->kinds[k + i])
                    fail_msg("%s: packet %zu differs", what, k + i);
            parsed_stream_free(&two);
            checked++;
            next = cut + 1;
        }
    }
    /* Every boundary was in reach: at least one cut per line. */
    assert_true(checked > whole->count);
    free(starts);
}

static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 17;
}

static uint64_t name_hash(const char *name)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211ull;
    return h;
}

/* The seed of the random whole-file cuts: AMI_SPLIT_SEED if set, else a
 * fresh one; printed either way so that a failure can be repeated. */
static uint64_t split_seed(void)
{
    static uint64_t seed;
    static int chosen;
    if (!chosen) {
        const char *env = getenv("AMI_SPLIT_SEED");
        if (env && *env)
            seed = strtoull(env, NULL, 0);
        else
            seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        chosen = 1;
        printf("test_fixtures: random cuts use AMI_SPLIT_SEED=%llu\n", (unsigned long long)seed);
        fflush(stdout);
    }
    return seed;
}

static void test_every_fixture_every_split(void **state)
{
    (void)state;
    size_t nfiles;
    char **names = list_raw_fixtures(&nfiles);
    assert_true(nfiles >= 20);
    for (size_t f = 0; f < nfiles; f++) {
        size_t len;
        char *data = fixture_load(names[f], &len);
        parsed_stream oracle = naive_split(data, len);

        parsed_stream whole;
        assert_int_equal(parse_stream(data, len, AMI_PARSER_EXPECT_BANNER, NULL, NULL, &whole), 0);
        if (whole.error)
            fail_msg("%s: parser error %d", names[f], whole.error);
        assert_same(&oracle, &whole, names[f]);
        assert_int_equal(whole.kinds[0], AMI_PACKET_BANNER);
        for (size_t i = 1; i < whole.count; i++)
            assert_true(whole.kinds[i] == AMI_PACKET_RESPONSE ||
                        whole.kinds[i] == AMI_PACKET_EVENT);

        parsed_stream bytes;
        assert_int_equal(parse_stream(data, len, AMI_PARSER_EXPECT_BANNER, chunk_one, NULL, &bytes),
                         0);
        assert_int_equal(bytes.error, 0);
        assert_same(&whole, &bytes, names[f]);
        parsed_stream_free(&bytes);

        if (len < EVERY_SPLIT_MAX) {
            for (size_t cut = 0; cut <= len; cut++)
                check_cut(data, len, cut, &whole, names[f]);
        } else {
            check_cuts_near_boundaries(data, len, &whole, names[f]);
            uint64_t rng = split_seed() ^ name_hash(names[f]);
            for (int i = 0; i < RANDOM_CUTS; i++)
                check_cut(data, len, (size_t)(next_random(&rng) % (len + 1)), &whole, names[f]);
        }
        for (uint64_t seed = 1; seed <= 50; seed++) {
            random_chunks rc = {seed * 0x9e3779b97f4a7c15ull};
            parsed_stream rnd;
            assert_int_equal(
                parse_stream(data, len, AMI_PARSER_EXPECT_BANNER, chunk_random, &rc, &rnd), 0);
            assert_int_equal(rnd.error, 0);
            assert_same(&whole, &rnd, names[f]);
            parsed_stream_free(&rnd);
        }
        parsed_stream_free(&whole);
        parsed_stream_free(&oracle);
        free(data);
        free(names[f]);
    }
    free(names);
}

/* Run `fn` over each packet of a fixture. */
typedef void (*packet_fn)(const ami_packet *p, void *ctx);
static void each_packet(const char *name, packet_fn fn, void *ctx)
{
    size_t len;
    char *data = fixture_load(name, &len);
    ami_parser *p;
    assert_int_equal(ami_parser_create(&p, AMI_PARSER_EXPECT_BANNER), 0);
    assert_int_equal(ami_parser_feed(p, data, len), 0);
    const ami_packet *pkt;
    int rc;
    while ((rc = ami_parser_next(p, &pkt)) == 1)
        fn(pkt, ctx);
    assert_int_equal(rc, 0);
    assert_int_equal(ami_parser_buffered(p), 0);
    ami_parser_free(p);
    free(data);
}

typedef struct listcommands_seen {
    int packets;
    int descriptions;
    int priv_none;
} listcommands_seen;

static void check_listcommands(const ami_packet *p, void *ctx)
{
    listcommands_seen *seen = ctx;
    seen->packets++;
    const char *bridge = ami_packet_get(p, "BridgeDestroy");
    if (!bridge)
        return;
    assert_string_equal(bridge, "Destroy a bridge.  (Priv: <none>)");
    for (size_t i = 0; i < ami_packet_count(p); i++) {
        const char *k, *v;
        ami_packet_header(p, i, &k, NULL, &v, NULL);
        if (strstr(v, "  (Priv: ") && v[strlen(v) - 1] == ')')
            seen->descriptions++;
        if (strstr(v, "(Priv: <none>)"))
            seen->priv_none++;
    }
}

static void test_listcommands_descriptions_intact(void **state)
{
    (void)state;
    listcommands_seen seen = {0};
    each_packet("listcommands.raw", check_listcommands, &seen);
    /* banner, login, ListCommands, Goodbye */
    assert_int_equal(seen.packets, 4);
    /* 100 lines in the file, minus banner, 2x3 lines of login/goodbye,
     * 2 blank separators after them and the response's own 2 lines + blank. */
    assert_true(seen.descriptions > 80);
    assert_true(seen.priv_none > 10);
}

typedef struct output_seen {
    int command_responses;
    int lines;
    int blank_lines;
    int indented;
    char first[128];
} output_seen;

static void check_outputs(const ami_packet *p, void *ctx)
{
    output_seen *seen = ctx;
    if (ami_packet_count_key(p, "Output") == 0)
        return;
    seen->command_responses++;
    assert_string_equal(ami_packet_message(p), "Command output follows");
    size_t cursor = 0, len;
    const char *v;
    while ((v = ami_packet_next_value(p, "Output", &cursor, &len)) != NULL) {
        if (seen->lines++ == 0)
            snprintf(seen->first, sizeof(seen->first), "%s", v);
        if (len == 0)
            seen->blank_lines++;
        if (len > 0 && v[0] == ' ')
            seen->indented++;
    }
}

static void test_command_output_lines(void **state)
{
    (void)state;
    output_seen seen = {0};
    each_packet("command_dialplan_show_test.raw", check_outputs, &seen);
    assert_int_equal(seen.command_responses, 1);
    assert_string_equal(seen.first, "[ Context 'test' created by 'pbx_config' ]");
    assert_true(seen.blank_lines >= 1);
    assert_true(seen.indented >= 10);

    output_seen empty = {0};
    each_packet("command_empty_output.raw", check_outputs, &empty);
    assert_int_equal(empty.command_responses, 1);
    assert_int_equal(empty.lines, 1);
    assert_int_equal(empty.blank_lines, 1);
}

/* Events between "EventList: start" and "EventList: Complete" that carry the
 * list's ActionID number exactly ListItems. */
typedef struct list_check {
    char id[64];
    int open;
    int items;
    int lists;
} list_check;

static void check_lists(const ami_packet *p, void *ctx)
{
    list_check *c = ctx;
    const char *el = ami_packet_get(p, "EventList");
    const char *id = ami_packet_action_id(p);
    if (ami_packet_kind_of(p) == AMI_PACKET_RESPONSE && el && strcmp(el, "start") == 0) {
        assert_false(c->open);
        c->open = 1;
        c->items = 0;
        snprintf(c->id, sizeof(c->id), "%s", id ? id : "");
        return;
    }
    if (!c->open || ami_packet_kind_of(p) != AMI_PACKET_EVENT || !id || strcmp(id, c->id) != 0)
        return;
    if (el && strcmp(el, "Complete") == 0) {
        const char *items = ami_packet_get(p, "ListItems");
        assert_non_null(items);
        assert_int_equal(atoi(items), c->items);
        c->open = 0;
        c->lists++;
        return;
    }
    c->items++;
}

static void test_eventlist_sizes_match_listitems(void **state)
{
    (void)state;
    const struct {
        const char *name;
        int lists;
    } cases[] = {{"coreshowchannels.raw", 3},
                 {"queuestatus.raw", 6},
                 {"status_with_channel.raw", 3},
                 {"misc_actions.raw", 3}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        list_check c = {0};
        each_packet(cases[i].name, check_lists, &c);
        assert_false(c.open);
        if (c.lists != cases[i].lists)
            fail_msg("%s: %d lists, expected %d", cases[i].name, c.lists, cases[i].lists);
    }
}

typedef struct counts {
    int events, responses, user_events;
    char baz[64];
} counts;

static void count_kinds(const ami_packet *p, void *ctx)
{
    counts *c = ctx;
    if (ami_packet_kind_of(p) == AMI_PACKET_EVENT)
        c->events++;
    if (ami_packet_kind_of(p) == AMI_PACKET_RESPONSE)
        c->responses++;
    const char *name = ami_packet_event_name(p);
    if (name && strcmp(name, "UserEvent") == 0) {
        c->user_events++;
        const char *baz = ami_packet_get(p, "Baz");
        if (baz)
            snprintf(c->baz, sizeof(c->baz), "%s", baz);
    }
}

static void test_burst_and_originate_counts(void **state)
{
    (void)state;
    counts burst = {0};
    each_packet("burst_events.raw", count_kinds, &burst);
    /* login + 50 Originates + Logoff */
    assert_int_equal(burst.responses, 52);
    assert_true(burst.events > 1500);
    assert_int_equal(burst.baz[0] != '\0', 1);
    assert_string_equal(burst.baz, "value with: colon");

    counts call = {0};
    each_packet("originate_events.raw", count_kinds, &call);
    assert_true(call.events >= 90);
    assert_int_equal(call.user_events, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_every_split),
        cmocka_unit_test(test_listcommands_descriptions_intact),
        cmocka_unit_test(test_command_output_lines),
        cmocka_unit_test(test_eventlist_sizes_match_listitems),
        cmocka_unit_test(test_burst_and_originate_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
