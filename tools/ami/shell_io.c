/*
 * The shell's terminal side, on libedit: one EditLine whose character
 * reader (EL_GETCFN) polls the terminal and the AMI connection together.
 * While a line is on screen, events and notices are collected in
 * sh->pending; before the next key is read they are printed above the
 * line: the line is wiped ("\r" + erase to end of line), the output
 * written, and libedit told to draw prompt and line again (EL_REFRESH),
 * cursor position included, so typing goes on undisturbed.
 */
#include "shell.h"

#include "docs_fetch.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HISTORY_SIZE 1000

static const char *prompt_text;

static char *prompt_fn(EditLine *el)
{
    (void)el;
    return (char *)prompt_text;
}

static void flush_pending(shell *sh)
{
    if (!sh->pending.len)
        return;
    /* Wipe the line being typed, print, and let libedit redraw it. */
    if (sh->in_prompt)
        fputs("\r\033[K", stdout);
    fwrite(sh->pending.p, 1, sh->pending.len, stdout);
    fflush(stdout);
    sh->pending.len = 0;
    if (sh->in_prompt)
        el_set(sh->el, EL_REFRESH);
    if (sh->held) {
        sh->held = 0;
        ami_async_hold_events(sh->a, 0);
    }
}

int shell_poll(shell *sh, int timeout_ms, int want_tty)
{
    struct pollfd p[2];
    int n = 0;
    if (want_tty) {
        p[n].fd = STDIN_FILENO;
        p[n].events = POLLIN;
        p[n].revents = 0;
        n++;
    }
    int afd = ami_async_fd(sh->a);
    unsigned ev = ami_async_events(sh->a);
    int ai = -1;
    if (afd >= 0 && ev) {
        ai = n;
        p[n].fd = afd;
        p[n].events =
            (short)(((ev & AMI_ASYNC_READ) ? POLLIN : 0) | ((ev & AMI_ASYNC_WRITE) ? POLLOUT : 0));
        p[n].revents = 0;
        n++;
    }
    int t = ami_async_timeout(sh->a);
    if (t < 0 || (timeout_ms >= 0 && timeout_ms < t))
        t = timeout_ms;
    int r = poll(p, (nfds_t)n, t);
    if (r < 0)
        return errno == EINTR ? -1 : 0;
    unsigned got = 0;
    if (ai >= 0) {
        if (p[ai].revents & (POLLIN | POLLHUP | POLLERR))
            got |= AMI_ASYNC_READ;
        if (p[ai].revents & (POLLOUT | POLLERR))
            got |= AMI_ASYNC_WRITE;
    }
    ami_async_process(sh->a, got);
    return want_tty && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

/* libedit's reader: one character, with the connection served while the
 * user thinks. Ctrl-C (SIGINT) ends the read with an error, which
 * shell_readline turns into "discard the line". */
static int getc_fn(EditLine *el, wchar_t *wc)
{
    shell *sh = NULL;
    el_get(el, EL_CLIENTDATA, &sh);
    for (;;) {
        flush_pending(sh);
        if (shell_sigint) {
            errno = EINTR;
            return -1;
        }
        int r = shell_poll(sh, -1, 1);
        if (r < 0)
            continue; /* a signal: checked at the top */
        if (r == 0)
            continue;
        char c;
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        wchar_t w;
        size_t k = mbrtowc(&w, &c, 1, &sh->mbs);
        if (k == (size_t)-2)
            continue; /* more bytes of this character to come */
        if (k == (size_t)-1) {
            memset(&sh->mbs, 0, sizeof sh->mbs);
            w = (wchar_t)(unsigned char)c;
        }
        *wc = w;
        return 1;
    }
}

static const char *const shell_words[] = {"help",      "events", "filter", "cli",
                                          "reconnect", "quit",   "exit"};

/* Candidates for the word [ws, we) of the line, given the first word. */
typedef struct cands {
    const char **v;
    size_t n, cap;
    int header; /* a header name: complete with '=' */
} cands;

static void cand_add(cands *c, const char *s)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = tool_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = s;
}

static void list_candidates(const cands *c)
{
    fputs("\n", stdout);
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->v[i]) > w)
            w = strlen(c->v[i]);
    size_t cols = 80 / (w + 2);
    if (cols < 1)
        cols = 1;
    for (size_t i = 0; i < c->n; i++)
        printf("%-*s%s", (int)(w + 2), c->v[i], (i + 1) % cols == 0 || i + 1 == c->n ? "\n" : "");
    fflush(stdout);
}

static unsigned char complete_fn(EditLine *el, int ch)
{
    (void)ch;
    shell *sh = NULL;
    el_get(el, EL_CLIENTDATA, &sh);
    const LineInfo *li = el_line(el);
    size_t upto = (size_t)(li->cursor - li->buffer);
    char line[1024];
    if (upto >= sizeof line)
        return CC_ERROR;
    memcpy(line, li->buffer, upto);
    line[upto] = '\0';
    /* The word under the cursor and the words before it. */
    char *ws = line + upto;
    while (ws > line && ws[-1] != ' ' && ws[-1] != '\t')
        ws--;
    char first[128] = "";
    int nwords = 0;
    for (char *p = line; p < ws;) {
        while (p < ws && (*p == ' ' || *p == '\t'))
            p++;
        char *e = p;
        while (e < ws && *e != ' ' && *e != '\t')
            e++;
        if (e > p) {
            if (nwords == 0)
                snprintf(first, sizeof first, "%.*s", (int)(e - p), p);
            nwords++;
        }
        p = e;
    }
    cands c = {0};
    const char *word = ws;
    size_t wl = strlen(word);
    int actions_ctx = nwords == 0 || (nwords == 1 && strcmp(first, "help") == 0);
    const tool_doc *doc = NULL;
    if (actions_ctx) {
        shell_actions_load(sh);
        for (size_t i = 0; i < sh->nactions; i++)
            cand_add(&c, sh->actions[i]);
        if (nwords == 0)
            for (size_t i = 0; i < sizeof shell_words / sizeof shell_words[0]; i++)
                cand_add(&c, shell_words[i]);
        else
            cand_add(&c, "event");
    } else if (nwords >= 1 && tool_docs_valid_name(first) && strcasecmp(first, "help") != 0 &&
               strcasecmp(first, "cli") != 0 && strcasecmp(first, "events") != 0 &&
               strcasecmp(first, "filter") != 0 && !memchr(word, '=', wl)) {
        int st;
        doc = shell_doc(sh, 0, first, &st);
        if (doc) {
            c.header = 1;
            for (size_t i = 0; i < doc->nparams; i++)
                cand_add(&c, doc->params[i].name);
        }
    } else if (nwords == 1 && strcmp(first, "events") == 0) {
        cand_add(&c, "on");
        cand_add(&c, "off");
    }
    /* Keep those that start with the word (any case). */
    size_t k = 0;
    for (size_t i = 0; i < c.n; i++)
        if (strncasecmp(c.v[i], word, wl) == 0)
            c.v[k++] = c.v[i];
    c.n = k;
    unsigned char ret = CC_REFRESH;
    if (c.n == 0) {
        ret = CC_ERROR;
    } else {
        /* Longest common prefix (case-insensitive, the first's spelling). */
        size_t common = strlen(c.v[0]);
        for (size_t i = 1; i < c.n; i++) {
            size_t j = 0;
            while (j < common && c.v[i][j] && (c.v[i][j] | 0x20) == (c.v[0][j] | 0x20))
                j++;
            common = j;
        }
        char ins[256];
        if (c.n == 1) {
            /* The server's spelling replaces what was typed. */
            el_deletestr(el, (int)wl);
            snprintf(ins, sizeof ins, "%s%s", c.v[0], c.header ? "=" : " ");
            el_insertstr(el, ins);
        } else if (common > wl) {
            el_deletestr(el, (int)wl);
            snprintf(ins, sizeof ins, "%.*s", (int)common, c.v[0]);
            el_insertstr(el, ins);
        } else {
            list_candidates(&c);
            ret = CC_REDISPLAY;
        }
    }
    free(c.v);
    return ret;
}

static void history_file(shell *sh)
{
    const char *env = getenv("AMI_HISTORY");
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    sh->history_path[0] = '\0';
    if (env && *env) {
        snprintf(sh->history_path, sizeof sh->history_path, "%s", env);
        return;
    }
    char dir[2048];
    if (state && *state == '/')
        snprintf(dir, sizeof dir, "%s/ami", state);
    else if (home && *home == '/')
        snprintf(dir, sizeof dir, "%s/.local/state/ami", home);
    else
        return;
    /* mkdir -p with mode 700: the history may hold channel names and
     * numbers (lines naming a secret are never kept). */
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
    mkdir(dir, 0700);
    snprintf(sh->history_path, sizeof sh->history_path, "%s/shell_history", dir);
}

int shell_io_init(shell *sh)
{
    sh->el = el_init("ami", stdin, stdout, stderr);
    sh->hist = history_init();
    sh->tok = tok_init(NULL);
    if (!sh->el || !sh->hist || !sh->tok)
        tool_oom();
    HistEvent ev;
    history(sh->hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(sh->hist, &ev, H_SETUNIQUE, 1);
    history_file(sh);
    if (sh->history_path[0])
        history(sh->hist, &ev, H_LOAD, sh->history_path); /* absent at first: fine */
    el_set(sh->el, EL_EDITOR, "emacs");
    el_set(sh->el, EL_HIST, history, sh->hist);
    el_set(sh->el, EL_PROMPT, prompt_fn);
    el_set(sh->el, EL_CLIENTDATA, sh);
    el_set(sh->el, EL_GETCFN, getc_fn);
    el_set(sh->el, EL_SIGNAL, 1);
    el_set(sh->el, EL_ADDFN, "ami-complete", "complete an action or header name", complete_fn);
    el_set(sh->el, EL_BIND, "^I", "ami-complete", NULL);
    el_source(sh->el, NULL); /* ~/.editrc, as every libedit program */
    return 0;
}

void shell_io_free(shell *sh)
{
    if (sh->el)
        el_end(sh->el);
    if (sh->hist)
        history_end(sh->hist);
    if (sh->tok)
        tok_end(sh->tok);
    tool_buf_free(&sh->pending);
}

const char *shell_readline(shell *sh, const char *prompt, int *interrupted)
{
    *interrupted = 0;
    prompt_text = prompt;
    int count = 0;
    sh->in_prompt = 1;
    shell_sigint = 0;
    const char *line = el_gets(sh->el, &count);
    sh->in_prompt = 0;
    if (!line && count < 0 && shell_sigint) {
        shell_sigint = 0;
        *interrupted = 1;
        fputs("^C\n", stdout);
        fflush(stdout);
        el_reset(sh->el);
        return "";
    }
    if (!line || count <= 0)
        return NULL;
    flush_pending(sh);
    return line;
}

void shell_history_add(shell *sh, const char *line)
{
    /* A line that names a secret is never written to the history file. */
    for (const char *p = line; *p; p++)
        if (strncasecmp(p, "secret", 6) == 0)
            return;
    HistEvent ev;
    history(sh->hist, &ev, H_ENTER, line);
    if (sh->history_path[0])
        history(sh->hist, &ev, H_SAVE, sh->history_path);
}

void shell_print(shell *sh, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    if (sh->in_prompt) {
        tool_buf_add(&sh->pending, msg, len);
        return;
    }
    fwrite(msg, 1, len, stdout);
    fflush(stdout);
}

FILE *shell_out_file(shell *sh)
{
    if (!sh->in_prompt)
        return stdout;
    sh->mem = NULL;
    sh->nmem = 0;
    sh->mem_f = open_memstream(&sh->mem, &sh->nmem);
    if (!sh->mem_f)
        tool_oom();
    return sh->mem_f;
}

void shell_out_done(shell *sh)
{
    if (!sh->mem_f) {
        fflush(stdout);
        return;
    }
    fclose(sh->mem_f);
    sh->mem_f = NULL;
    tool_buf_add(&sh->pending, sh->mem, sh->nmem);
    free(sh->mem);
    sh->mem = NULL;
    if (sh->pending.len > SHELL_PENDING_MAX && !sh->held) {
        /* The screen is behind: let libami's queue hold the rest (and
         * the server's socket, once that is full). Nothing is dropped. */
        sh->held = 1;
        ami_async_hold_events(sh->a, 1);
    }
}
