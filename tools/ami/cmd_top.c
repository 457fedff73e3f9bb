/*
 * `ami top`: a live full-screen view (ncurses) of one or several servers'
 * calls, queues and parked calls. Each server has an event-loop client and
 * a store, listed again after every reconnect; the screen is redrawn when
 * a store changes, on a key, and once a second only while a duration is on
 * screen — the servers are never polled.
 *
 * Keys: 1 2 3 (or Tab) switch views, / filter (Enter keeps, Esc clears),
 * s next sort key, arrows and PgUp/PgDn scroll, q quits.
 * --once waits for every snapshot, prints one screen as plain text and
 * exits (for scripts and tests).
 */
#include "conn.h"
#include "live.h"
#include "stop.h"
#include "state_from.h"
#include "top_view.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 1000
/* A change redraws at most this often: an event storm must not turn into
 * a redraw per event (a key redraws at once). */
#define REDRAW_MIN_MS 100

typedef struct top {
    tool_live live;
    top_ui ui;
    top_screen scr;
    int quit;
    int editing; /* typing a filter after '/' */
    int dirty;   /* redraw at the next turn */
    int urgent;  /* a key: redraw now, whatever REDRAW_MIN_MS says */
    uint64_t drawn_at;
    size_t scroll;
    int curses;
} top;

static void draw(top *t)
{
    uint64_t now = ami_async_now();
    top_build(&t->scr, &t->live, &t->ui, now);
    int rows = LINES, cols = COLS;
    erase();
    int y = 0;
    size_t body = t->scr.n > t->scr.head ? t->scr.n - t->scr.head : 0;
    int room = rows - (int)t->scr.head - 1; /* the last line is the help */
    if (room < 1)
        room = 1;
    if (t->scroll + (size_t)room > body)
        t->scroll = body > (size_t)room ? body - (size_t)room : 0;
    for (size_t i = 0; i < t->scr.n && y < rows - 1; i++) {
        if (i >= t->scr.head && i - t->scr.head < t->scroll)
            continue;
        const top_line *ln = &t->scr.v[i];
        int attr = ln->style == TOP_STYLE_TITLE     ? A_REVERSE
                   : ln->style == TOP_STYLE_HEADING ? A_BOLD
                   : ln->style == TOP_STYLE_ALERT   ? (A_BOLD | A_BLINK)
                                                    : A_NORMAL;
        if (attr != A_NORMAL)
            attron(attr);
        mvaddnstr(y++, 0, ln->text, cols);
        if (attr != A_NORMAL)
            attroff(attr);
    }
    if (t->editing)
        mvprintw(rows - 1, 0, "filter: %.100s_  (Enter keeps, Esc clears)", t->ui.filter);
    else
        mvaddnstr(rows - 1, 0,
                  "1 calls  2 queues  3 parked  Tab next  / filter  s sort  arrows scroll  q quit",
                  cols);
    refresh();
    t->dirty = 0;
    t->urgent = 0;
    t->drawn_at = now;
}

static void key(top *t, int ch)
{
    if (t->editing) {
        size_t len = strlen(t->ui.filter);
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            t->editing = 0;
        } else if (ch == 27) {
            t->editing = 0;
            t->ui.filter[0] = '\0';
        } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
            if (len)
                t->ui.filter[len - 1] = '\0';
        } else if (ch >= 0x20 && ch < 0x7f && len + 1 < sizeof(t->ui.filter)) {
            t->ui.filter[len] = (char)ch;
            t->ui.filter[len + 1] = '\0';
        }
        t->scroll = 0;
        t->dirty = t->urgent = 1;
        return;
    }
    switch (ch) {
    case 'q':
    case 'Q':
        t->quit = 1;
        return;
    case '1':
    case '2':
    case '3':
        t->ui.view = (top_view_id)(ch - '1');
        t->scroll = 0;
        break;
    case '\t':
        t->ui.view = (top_view_id)((t->ui.view + 1) % TOP_NVIEWS);
        t->scroll = 0;
        break;
    case KEY_BTAB:
        t->ui.view = (top_view_id)((t->ui.view + TOP_NVIEWS - 1) % TOP_NVIEWS);
        t->scroll = 0;
        break;
    case '/':
        t->editing = 1;
        break;
    case 's':
        top_sort_next(&t->ui);
        break;
    case KEY_DOWN:
        t->scroll++;
        break;
    case KEY_UP:
        if (t->scroll)
            t->scroll--;
        break;
    case KEY_NPAGE:
        t->scroll += (size_t)(LINES > 4 ? LINES - 4 : 1);
        break;
    case KEY_PPAGE:
        t->scroll = t->scroll > (size_t)LINES ? t->scroll - (size_t)LINES : 0;
        break;
    case KEY_RESIZE:
    case 12: /* Ctrl-L */
        clearok(stdscr, TRUE);
        break;
    default:
        return;
    }
    t->dirty = t->urgent = 1;
}

static void on_keys(void *ud)
{
    top *t = ud;
    int ch;
    while ((ch = getch()) != ERR)
        key(t, ch);
}

static void on_tick(void *ud)
{
    top *t = ud;
    /* A resize signal wakes poll() without input: ncurses reports it as
     * KEY_RESIZE at the next getch(). */
    on_keys(t);
    if (t->scr.timed)
        t->dirty = 1;
}

static int live_done(void *ud)
{
    top *t = ud;
    if (t->live.changed) {
        t->live.changed = 0;
        t->dirty = 1;
    }
    if (t->dirty && !t->quit && (t->urgent || ami_async_now() - t->drawn_at >= REDRAW_MIN_MS))
        draw(t);
    return t->quit;
}

/* Every server synced, stopped for good, or with a list that failed (a
 * timeout: without reconnecting nothing would list again). */
static int once_done(void *ud)
{
    top *t = ud;
    for (size_t i = 0; i < t->live.n; i++) {
        const tool_live_server *s = &t->live.sv[i];
        if (!s->failed && !s->list_failed && !ami_state_is_synced(s->st))
            return 0;
    }
    return 1;
}

/* `now_ms` 0: no durations (a capture has no clock). */
static int print_once(top *t, uint64_t now_ms)
{
    top_build(&t->scr, &t->live, &t->ui, now_ms);
    for (size_t i = 0; i < t->scr.n; i++)
        printf("%s\n", t->scr.v[i].text);
    return 0;
}

static int run(top *t, tool_opts *o)
{
    if (o->top_once) {
        tool_live_loop lp = {.extra_fd = -1, .tick_ms = -1, .done = once_done, .ud = t};
        if (tool_live_run(&t->live, &lp) < 0) {
            tool_err("waiting for the servers failed: %s", strerror(errno));
            return TOOL_EXIT_CONNECTION;
        }
        if (tool_stop_signal())
            return TOOL_EXIT_OK;
        print_once(t, ami_async_now());
        for (size_t i = 0; i < t->live.n; i++) {
            const tool_live_server *s = &t->live.sv[i];
            if (s->failed)
                return s->code;
            if (s->list_failed) {
                tool_err("%s: the snapshot failed: %s — check the server (or raise --timeout)",
                         s->srv->where, ami_strerror(s->list_failed));
                return tool_exit_for(s->list_failed);
            }
        }
        return TOOL_EXIT_OK;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        tool_err("top: needs a terminal — use --once for one screen as plain text");
        return TOOL_EXIT_USAGE;
    }
    setlocale(LC_ALL, "");
    if (!initscr()) {
        tool_err("top: cannot start the terminal (TERM=%s) — use --once", getenv("TERM"));
        return TOOL_EXIT_USAGE;
    }
    t->curses = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    t->dirty = 1;
    tool_live_loop lp = {.extra_fd = STDIN_FILENO,
                         .on_extra = on_keys,
                         .tick_ms = TICK_MS,
                         .on_tick = on_tick,
                         .done = live_done,
                         .ud = t};
    int rc = tool_live_run(&t->live, &lp);
    endwin();
    t->curses = 0;
    if (rc < 0) {
        tool_err("waiting for the servers failed: %s", strerror(errno));
        return TOOL_EXIT_CONNECTION;
    }
    return TOOL_EXIT_OK;
}

static top_view_id first_view(const tool_opts *o)
{
    if (o->top_view && strcmp(o->top_view, "queues") == 0)
        return TOP_QUEUES;
    if (o->top_view && strcmp(o->top_view, "parked") == 0)
        return TOP_PARKED;
    return TOP_CALLS;
}

/* --once --from FILE: the screen a recorded server stream ends with. */
static int once_from(top *t, tool_opts *o)
{
    static tool_server srv;
    tool_live_server *s = &t->live.sv[0];
    t->live.o = o;
    t->live.n = 1;
    srv.arg = o->state_from;
    s->live = &t->live;
    s->srv = &srv;
    s->name = o->state_from;
    s->up = s->was_up = 1;
    if (ami_state_create(&s->st) != 0)
        tool_oom();
    int code = tool_state_from(o->state_from, s->st);
    print_once(t, 0);
    ami_state_free(s->st);
    top_screen_free(&t->scr);
    return code;
}

int tool_cmd_top(tool_opts *o)
{
    if (o->nargs > 0)
        return tool_usage_error("top: unexpected argument '%s'", o->args[0]);
    if (o->state_from) {
        top *t = calloc(1, sizeof(*t));
        if (!t)
            tool_oom();
        t->ui.view = first_view(o);
        int code = once_from(t, o);
        free(t);
        return code;
    }
    top *t = calloc(1, sizeof(*t));
    if (!t)
        tool_oom();
    t->ui.view = first_view(o);
    /* The live view follows restarts and shows outages on screen; --once
     * reports them on stderr and exits. */
    int code = tool_live_init(&t->live, o, !o->top_once);
    t->live.quiet = !o->top_once;
    if (code == 0) {
        tool_live_start(&t->live);
        code = run(t, o);
    }
    tool_live_finish(&t->live);
    top_screen_free(&t->scr);
    free(t);
    return code;
}
