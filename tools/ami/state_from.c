/*
 * `ami state --from FILE`: build a store from a recorded server stream (a
 * .raw capture: every byte a server sent, banner first) as if the tool had
 * been connected at its start.
 *
 * The store asks for its lists as it would live; the capture answers them
 * with its own list responses. A first pass finds each response's ActionID
 * and, for a list, the name of its closing event (CoreShowChannelsComplete
 * answers CoreShowChannels; BridgeInfoComplete also names its bridge).
 * The second pass feeds the bytes through a session that waits for exactly
 * those ActionIDs, so list events are grouped into results and every other
 * event reaches the store in stream order, as the live client sees them.
 *
 * Which responses count: each list response answers the store's list of
 * that name when the store is waiting for one; when it is not (its
 * snapshot is complete), a later response starts a new snapshot, so every
 * list in the capture is applied where it comes, as a resync would apply
 * it live (each list reconciles its own kinds). Lists the capture never
 * has (no parking module, no BridgeList) count as empty in the first
 * snapshot and are left as they are in later ones. When FILE.sent (the
 * client's side of a capture) is next to FILE.raw, a list narrowed by its
 * action (QueueStatus with Queue:, ...) does not count: it shows a part.
 */
#include "state_from.h"

#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A capture larger than this is refused rather than read into memory. */
#define FROM_MAX_BYTES (1ul << 30)
#define FEED_CHUNK     65536

typedef struct from_entry {
    char *id;     /* the response's ActionID */
    char *list;   /* the list action it answers ("CoreShowChannels"), NULL: not a list */
    char *bridge; /* BridgeInfo: the bridge it describes */
    int sent;     /* registered with the session */
    int used;     /* its result answers a wanted list */
    int narrowed; /* its action asked for a part of the list (from FILE.sent) */
} from_entry;

typedef struct wanted {
    unsigned token;
    char *name;
    char *bridge;
    size_t entry; /* the capture response that will answer it, (size_t)-1: none */
} wanted;

typedef struct from_ctx {
    ami_state *st;
    ami_session *ses;
    from_entry *e;
    size_t ne, cap;
    wanted *w;
    size_t nw, wcap;
    size_t pos;  /* entries completed so far (stream position) */
    int error;   /* first libami error from the store */
    int later;   /* a snapshot after the first: absent lists stay as they are */
    int closing; /* the session is being freed: pending results are void */
} from_ctx;

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = tool_xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

static int read_all(const char *path, char **out, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t cap = 1 << 16, n = 0;
    char *buf = tool_xrealloc(NULL, cap);
    for (;;) {
        if (n == cap) {
            if (cap >= FROM_MAX_BYTES) {
                free(buf);
                if (fd != STDIN_FILENO)
                    close(fd);
                return EFBIG;
            }
            cap *= 2;
            buf = tool_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            if (fd != STDIN_FILENO)
                close(fd);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    *out = buf;
    *len = n;
    return 0;
}

static from_entry *last_with_id(from_ctx *c, const char *id)
{
    for (size_t i = c->ne; i-- > 0;)
        if (strcmp(c->e[i].id, id) == 0)
            return &c->e[i];
    return NULL;
}

/* Pass 1: the responses, in order, and what each list answers. */
static int index_capture(from_ctx *c, const char *data, size_t len)
{
    ami_parser *ps;
    if (ami_parser_create(&ps, AMI_PARSER_EXPECT_BANNER) != 0)
        tool_oom();
    int rc = ami_parser_feed(ps, data, len);
    for (;;) {
        const ami_packet *p = NULL;
        int r = rc == 0 ? ami_parser_next(ps, &p) : rc;
        if (r < 0) {
            rc = r;
            break;
        }
        if (r == 0)
            break;
        const char *id = ami_packet_action_id(p);
        if (!id || !*id)
            continue;
        if (ami_packet_kind_of(p) == AMI_PACKET_RESPONSE) {
            if (c->ne == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->e = tool_xrealloc(c->e, c->cap * sizeof(*c->e));
            }
            memset(&c->e[c->ne], 0, sizeof(c->e[0]));
            c->e[c->ne++].id = xstrdup(id);
            continue;
        }
        const char *name = ami_packet_event_name(p);
        const char *el = ami_packet_get(p, "EventList");
        size_t nl = name ? strlen(name) : 0;
        if (!name || !el || strcasecmp(el, "Complete") != 0 || nl <= 8 ||
            strcmp(name + nl - 8, "Complete") != 0)
            continue;
        from_entry *e = last_with_id(c, id);
        if (!e || e->list)
            continue;
        e->list = tool_xrealloc(NULL, nl - 7);
        memcpy(e->list, name, nl - 8);
        e->list[nl - 8] = '\0';
        e->bridge = xstrdup(ami_packet_get(p, "BridgeUniqueid"));
    }
    ami_parser_free(ps);
    return rc < 0 ? rc : 0;
}

/* FILE.sent next to FILE.raw: the actions, to tell a narrowed list (one
 * queue's QueueStatus) from a whole one. Missing or unreadable: none. */
static void mark_narrowed(from_ctx *c, const char *raw_path)
{
    size_t pl = strlen(raw_path);
    if (pl < 4 || strcmp(raw_path + pl - 4, ".raw") != 0)
        return;
    char *sent = tool_xrealloc(NULL, pl + 2);
    memcpy(sent, raw_path, pl - 4);
    memcpy(sent + pl - 4, ".sent", 6);
    char *data = NULL;
    size_t len = 0;
    int err = read_all(sent, &data, &len);
    free(sent);
    if (err)
        return;
    static const char *const narrowing[] = {"Queue", "Member", "BridgeType", "ParkingLot"};
    ami_parser *ps;
    if (ami_parser_create(&ps, 0) != 0)
        tool_oom();
    if (ami_parser_feed(ps, data, len) == 0) {
        const ami_packet *p;
        while (ami_parser_next(ps, &p) > 0) {
            const char *id = ami_packet_action_id(p);
            int narrow = 0;
            for (size_t k = 0; k < sizeof(narrowing) / sizeof(narrowing[0]); k++) {
                const char *v = ami_packet_get(p, narrowing[k]);
                narrow |= v && *v;
            }
            for (size_t i = 0; id && narrow && i < c->ne; i++)
                if (strcmp(c->e[i].id, id) == 0)
                    c->e[i].narrowed = 1;
        }
    }
    ami_parser_free(ps);
    free(data);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The first capture response after the current position that answers
 * `name` (and, for BridgeInfo, the same bridge) and is not taken yet. */
static size_t find_answer(const from_ctx *c, const char *name, const char *bridge)
{
    for (size_t i = c->pos; i < c->ne; i++) {
        const from_entry *e = &c->e[i];
        if (e->used || e->narrowed || !e->list || strcmp(e->list, name) != 0)
            continue;
        if (strcmp(name, "BridgeInfo") == 0 && !same(e->bridge, bridge))
            continue;
        return i;
    }
    return (size_t)-1;
}

static void set_error(from_ctx *c, int rc)
{
    if (rc == AMI_ERR_NOMEM)
        tool_oom();
    if (rc < 0 && !c->error)
        c->error = rc;
}

static void on_synth(ami_session *s, ami_result *r, void *ud)
{
    (void)s;
    *(ami_result **)ud = r;
}

/* An empty list for `name`, parsed by a session of its own like any
 * server's: what a list the capture never has stands for. */
static void answer_empty(from_ctx *c, const wanted *w)
{
    ami_session *s;
    ami_action *a;
    ami_result *r = NULL;
    if (ami_session_create(&s) != 0 || ami_action_create(&a, w->name) != 0)
        tool_oom();
    ami_action_set(a, "ActionID", "from-empty");
    if (ami_session_send(s, a, AMI_NO_DEADLINE, on_synth, &r, NULL) != 0)
        tool_oom();
    ami_action_free(a);
    char bytes[512];
    int n = snprintf(bytes, sizeof(bytes),
                     "Asterisk Call Manager/6.0.0\r\n"
                     "Response: Success\r\nActionID: from-empty\r\nEventList: start\r\n"
                     "Message: not in the capture\r\n\r\n"
                     "Event: %.100sComplete\r\nActionID: from-empty\r\nEventList: Complete\r\n"
                     "ListItems: 0\r\n\r\n",
                     w->name);
    ami_session_recv(s, bytes, (size_t)n, 0);
    if (r) {
        set_error(c, ami_state_feed_result(c->st, w->token, r));
        ami_result_free(r);
    }
    ami_session_free(s);
}

/* Take every list the store wants now; answer at once those the rest of
 * the capture cannot. */
static void take_wanted(from_ctx *c)
{
    for (;;) {
        ami_action *a = NULL;
        unsigned token = 0;
        int rc = ami_state_next_action(c->st, &a, &token);
        if (rc <= 0 || !a) {
            set_error(c, rc);
            return;
        }
        wanted w = {token, xstrdup(ami_action_name(a)),
                    xstrdup(ami_action_get(a, "BridgeUniqueid")), 0};
        ami_action_free(a);
        w.entry = find_answer(c, w.name, w.bridge);
        if (w.entry == (size_t)-1) {
            if (!c->later)
                answer_empty(c, &w);
            free(w.name);
            free(w.bridge);
            continue;
        }
        c->e[w.entry].used = 1;
        if (c->nw == c->wcap) {
            c->wcap = c->wcap ? c->wcap * 2 : 16;
            c->w = tool_xrealloc(c->w, c->wcap * sizeof(*c->w));
        }
        c->w[c->nw++] = w;
    }
}

static void register_entry(from_ctx *c, size_t i);

static size_t want_index(const from_ctx *c, size_t entry)
{
    for (size_t k = 0; k < c->nw; k++)
        if (c->w[k].entry == entry)
            return k;
    return (size_t)-1;
}

/* The lists a snapshot starts with (BridgeInfo follows BridgeList). */
static int top_level(const char *list)
{
    static const char *const names[] = {"CoreShowChannels", "BridgeList", "QueueStatus",
                                        "ParkedCalls", "DeviceStateList"};
    for (size_t i = 0; list && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(list, names[i]) == 0)
            return 1;
    return 0;
}

/* Forget what the abandoned snapshot waited for. */
static void drop_wanted(from_ctx *c)
{
    for (size_t k = 0; k < c->nw; k++) {
        c->e[c->w[k].entry].used = 0;
        free(c->w[k].name);
        free(c->w[k].bridge);
    }
    c->nw = 0;
}

typedef struct from_ref {
    from_ctx *c;
    size_t i;
} from_ref;

static void on_entry_result(ami_session *s, ami_result *r, void *ud)
{
    from_ref *ref = ud;
    from_ctx *c = ref->c;
    size_t i = ref->i;
    free(ref);
    (void)s;
    if (c->closing) {
        ami_result_free(r);
        return;
    }
    size_t k = want_index(c, i);
    if (k == (size_t)-1 && top_level(c->e[i].list) && !c->e[i].narrowed &&
        ami_result_status(r) == AMI_OK) {
        /* The store waits for no such list: a new snapshot, which this
         * response opens (the others follow as the capture has them). */
        drop_wanted(c);
        c->later = 1;
        c->pos = i;
        set_error(c, ami_state_resync_begin(c->st));
        take_wanted(c);
        k = want_index(c, i);
    }
    if (i + 1 > c->pos)
        c->pos = i + 1;
    if (k != (size_t)-1) {
        set_error(c, ami_state_feed_result(c->st, c->w[k].token, r));
        free(c->w[k].name);
        free(c->w[k].bridge);
        c->w[k] = c->w[--c->nw];
        take_wanted(c);
    }
    ami_result_free(r);
    /* The same ActionID may come again later in the capture. */
    for (size_t j = i + 1; j < c->ne; j++)
        if (!c->e[j].sent && strcmp(c->e[j].id, c->e[i].id) == 0) {
            register_entry(c, j);
            break;
        }
}

static void register_entry(from_ctx *c, size_t i)
{
    ami_action *a;
    if (ami_action_create(&a, c->e[i].list ? c->e[i].list : "Replay") != 0 ||
        ami_action_set(a, "ActionID", c->e[i].id) != 0)
        tool_oom();
    from_ref *ref = tool_xrealloc(NULL, sizeof(*ref));
    ref->c = c;
    ref->i = i;
    int rc = ami_session_send(c->ses, a, AMI_NO_DEADLINE, on_entry_result, ref, NULL);
    ami_action_free(a);
    if (rc == 0) {
        c->e[i].sent = 1;
    } else {
        free(ref);
        if (rc == AMI_ERR_NOMEM)
            tool_oom();
    }
}

static void on_event(ami_session *s, const ami_packet *ev, void *ud)
{
    from_ctx *c = ud;
    (void)s;
    set_error(c, ami_state_feed_event(c->st, ev));
}

int tool_state_from(const char *path, ami_state *st)
{
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    char *data = NULL;
    size_t len = 0;
    int err = read_all(path, &data, &len);
    if (err) {
        tool_err("state --from: cannot read %s: %s — check the path", name,
                 err == EFBIG ? "larger than 1 GiB" : strerror(err));
        return TOOL_EXIT_USAGE;
    }
    from_ctx c;
    memset(&c, 0, sizeof(c));
    c.st = st;
    int rc = index_capture(&c, data, len);
    int code = TOOL_EXIT_OK;
    if (rc < 0) {
        tool_err("state --from: %s is not a recorded server stream: %s — give a .raw capture "
                 "(banner first)",
                 name, ami_strerror(rc));
        code = tool_exit_for(rc);
        goto out;
    }
    mark_narrowed(&c, path);
    if (ami_session_create(&c.ses) != 0)
        tool_oom();
    ami_session_set_event_cb(c.ses, on_event, &c);
    for (size_t i = 0; i < c.ne; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = c.e[j].sent && strcmp(c.e[j].id, c.e[i].id) == 0;
        if (!dup)
            register_entry(&c, i);
    }
    ami_state_resync_begin(st);
    take_wanted(&c);
    for (size_t off = 0; off < len;) {
        size_t k = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
        long r = ami_session_recv(c.ses, data + off, k, 0);
        const char *out;
        size_t outn;
        ami_session_output(c.ses, &out, &outn);
        ami_session_consume(c.ses, outn); /* nobody to send the actions to */
        if (r < 0) {
            tool_err("state --from: %s is not a valid AMI stream: %s — the state before it is "
                     "printed",
                     name, ami_strerror((int)r));
            code = tool_exit_for((int)r);
            break;
        }
        if (r == 0)
            break;
        off += (size_t)r;
    }
    if (code == TOOL_EXIT_OK && c.error) {
        tool_err("state --from: the store refused the capture: %s", ami_strerror(c.error));
        code = TOOL_EXIT_CONNECTION;
    }
    if (code == TOOL_EXIT_OK && c.nw)
        tool_err("state --from: %s ends before the response to %s — the snapshot is incomplete",
                 name, c.w[0].name);
    c.closing = 1;
    ami_session_free(c.ses); /* fails the rest: their results are ignored */
out:
    for (size_t i = 0; i < c.nw; i++) {
        free(c.w[i].name);
        free(c.w[i].bridge);
    }
    free(c.w);
    for (size_t i = 0; i < c.ne; i++) {
        free(c.e[i].id);
        free(c.e[i].list);
        free(c.e[i].bridge);
    }
    free(c.e);
    free(data);
    return code;
}
