/*
 * What the shell knows of the server: the action names (ListCommands) and
 * each action's or event's documentation (`manager show command|event`),
 * fetched on first use and cached on disk per server and version, under
 * $XDG_CACHE_HOME/ami (or ~/.cache/ami)/HOST_PORT/AMIVERSION_ASTVERSION/.
 *
 * A cache file is the server's answer as it came (the Output lines), so
 * reading it goes through the same parser as a fresh answer: a file that
 * is too big, not a regular file, or does not parse is removed and fetched
 * again. Files are written to a temporary name and renamed, mode 600.
 */
#include "shell.h"

#include "docs_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest real answer is about 5 KB; this leaves room and bounds what
 * a tampered cache file can make the shell read. */
#define CACHE_FILE_MAX (256u * 1024u)
#define NAMES_MAX      4096

static int ci_cmp(const void *x, const void *y)
{
    return strcasecmp(*(char *const *)x, *(char *const *)y);
}

static void reset_if_stale(shell *sh)
{
    if (!sh->docs_stale)
        return;
    sh->docs_stale = 0;
    shell_docs_free(sh);
}

void shell_actions_load(shell *sh)
{
    reset_if_stale(sh);
    if (sh->actions_tried || !sh->up)
        return;
    sh->actions_tried = 1;
    ami_action *a = NULL;
    if (ami_action_create(&a, "ListCommands") != 0)
        tool_oom();
    ami_result *r = NULL;
    int rc = shell_call(sh, a, sh->o->timeout_ms, &r);
    ami_action_free(a);
    const ami_packet *p = r ? ami_result_response(r) : NULL;
    if (rc || !p) {
        shell_print(sh, "\nami: warning: ListCommands failed (%s): no action names to complete\n",
                    rc ? ami_strerror(rc) : "no response");
        ami_result_free(r);
        return;
    }
    size_t n = ami_packet_count(p);
    for (size_t i = 0; i < n && sh->nactions < NAMES_MAX; i++) {
        const char *k;
        size_t kl;
        ami_packet_header(p, i, &k, &kl, NULL, NULL);
        char name[TOOL_DOC_MAX_NAME + 1];
        if (kl == 0 || kl > TOOL_DOC_MAX_NAME)
            continue;
        memcpy(name, k, kl);
        name[kl] = '\0';
        if (!tool_docs_valid_name(name) || strcasecmp(name, "Response") == 0 ||
            strcasecmp(name, "ActionID") == 0 || strcasecmp(name, "Message") == 0)
            continue;
        sh->actions = tool_xrealloc(sh->actions, (sh->nactions + 1) * sizeof *sh->actions);
        sh->actions[sh->nactions] = tool_xrealloc(NULL, kl + 1);
        memcpy(sh->actions[sh->nactions++], name, kl + 1);
    }
    ami_result_free(r);
    qsort(sh->actions, sh->nactions, sizeof *sh->actions, ci_cmp);
}

/* Directory names from server values: nothing but [A-Za-z0-9._-]. */
static void safe_part(char *dst, size_t n, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < n; i++) {
        char c = s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        dst[i] = ok ? c : '_';
    }
    dst[i] = '\0';
    if (i == 0 || strcmp(dst, ".") == 0 || strcmp(dst, "..") == 0)
        snprintf(dst, n, "unknown");
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* The cache directory of this server and version, once per connection. */
static void cache_setup(shell *sh)
{
    if (sh->cache_tried)
        return;
    sh->cache_tried = 1;
    sh->cache_dir[0] = '\0';
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char base[2048];
    if (xdg && *xdg == '/')
        snprintf(base, sizeof base, "%s/ami", xdg);
    else if (home && *home == '/')
        snprintf(base, sizeof base, "%s/.cache/ami", home);
    else
        return;
    /* The version decides whether a cached answer still holds. */
    ami_action *a = NULL;
    if (ami_action_create(&a, "CoreSettings") != 0)
        tool_oom();
    ami_result *r = NULL;
    int rc = shell_call(sh, a, sh->o->timeout_ms, &r);
    ami_action_free(a);
    const ami_packet *p = r ? ami_result_response(r) : NULL;
    if (rc || !p) {
        ami_result_free(r);
        return; /* no version, no cache: fetched every time */
    }
    char host[300], amiv[64], astv[64];
    char hp[320];
    snprintf(hp, sizeof hp, "%s_%u", sh->o->host, sh->o->port);
    safe_part(host, sizeof host, hp);
    safe_part(amiv, sizeof amiv, ami_packet_get(p, "AMIversion"));
    safe_part(astv, sizeof astv, ami_packet_get(p, "AsteriskVersion"));
    ami_result_free(r);
    snprintf(sh->version, sizeof sh->version, "%s_%s", amiv, astv);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s/%s", base, host, sh->version);
    if (mkdirs(dir) != 0)
        return;
    snprintf(sh->cache_dir, sizeof sh->cache_dir, "%s", dir);
}

static void cache_path(const shell *sh, int is_event, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s.%s", sh->cache_dir, is_event ? "event" : "command", name);
}

/* The cached answer, or NULL (absent, too big, not a regular file). */
static char *cache_read(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CACHE_FILE_MAX) {
        close(fd);
        unlink(path);
        return NULL;
    }
    size_t want = (size_t)st.st_size;
    char *buf = tool_xrealloc(NULL, want + 1);
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    return buf;
}

static void cache_write(const char *path, const ami_result *r)
{
    char tmp[4300];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (w < 0 || (size_t)w >= sizeof tmp)
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    size_t n = ami_result_output_count(r);
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *line = ami_result_output_line(r, i, &l);
        fwrite(line, 1, l, f);
        fputc('\n', f);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        unlink(tmp);
}

static shell_doc_entry *find(shell *sh, int is_event, const char *name)
{
    for (size_t i = 0; i < sh->ndocs; i++)
        if (sh->docs[i].name[0] == (is_event ? 'e' : 'c') &&
            strcasecmp(sh->docs[i].name + 1, name) == 0)
            return &sh->docs[i];
    return NULL;
}

static shell_doc_entry *add(shell *sh, int is_event, const char *name)
{
    sh->docs = tool_xrealloc(sh->docs, (sh->ndocs + 1) * sizeof *sh->docs);
    shell_doc_entry *e = &sh->docs[sh->ndocs++];
    memset(e, 0, sizeof *e);
    size_t n = strlen(name) + 2;
    e->name = tool_xrealloc(NULL, n);
    snprintf(e->name, n, "%c%s", is_event ? 'e' : 'c', name);
    return e;
}

/* Fetch from the server; 0 with e filled, or -1 when the call failed
 * (not remembered: a later try may work). */
static int fetch(shell *sh, shell_doc_entry *e, int is_event, const char *name)
{
    char cmd[160];
    tool_docs_command(is_event, name, cmd, sizeof cmd);
    ami_action *a = NULL;
    if (ami_action_create(&a, "Command") != 0 || ami_action_add(a, "Command", cmd) != 0)
        tool_oom();
    ami_result *r = NULL;
    int rc = shell_call(sh, a, sh->o->timeout_ms, &r);
    ami_action_free(a);
    if (rc) {
        if (rc != AMI_ERR_CANCELLED)
            shell_print(sh, "\nami: warning: '%s' failed (%s): no completion or check for %s\n",
                        cmd, r ? ami_result_message(r) : ami_strerror(rc), name);
        ami_result_free(r);
        return -1;
    }
    size_t n = ami_result_output_count(r);
    const char *why = NULL;
    if (n > TOOL_DOC_MAX_LINES) {
        e->status = TOOL_DOC_BAD;
        why = "the answer has too many lines";
    } else {
        const char **lines = tool_xrealloc(NULL, (n ? n : 1) * sizeof *lines);
        size_t *lens = tool_xrealloc(NULL, (n ? n : 1) * sizeof *lens);
        for (size_t i = 0; i < n; i++)
            lines[i] = ami_result_output_line(r, i, &lens[i]);
        e->status = tool_doc_parse(lines, lens, n, is_event, &e->doc, &why);
        free(lines);
        free(lens);
    }
    if (e->status == TOOL_DOC_NOMEM)
        tool_oom();
    if (e->status == TOOL_DOC_BAD)
        shell_print(sh,
                    "\nami: warning: the server's answer to '%s' is not documentation in the "
                    "known layout (%s): no completion or check for %s, it is sent as typed\n",
                    cmd, why ? why : "?", name);
    if (e->status == TOOL_DOC_OK && sh->cache_dir[0]) {
        char path[4200];
        cache_path(sh, is_event, name, path, sizeof path);
        cache_write(path, r);
    }
    ami_result_free(r);
    return 0;
}

const tool_doc *shell_doc(shell *sh, int is_event, const char *name, int *status)
{
    reset_if_stale(sh);
    *status = TOOL_DOCS_BAD_NAME;
    if (!tool_docs_valid_name(name))
        return NULL;
    shell_doc_entry *e = find(sh, is_event, name);
    if (e) {
        *status = e->status;
        return e->status == TOOL_DOC_OK ? &e->doc : NULL;
    }
    *status = TOOL_DOCS_CALL_FAILED;
    if (!sh->up)
        return NULL;
    cache_setup(sh);
    shell_doc_entry tmp;
    memset(&tmp, 0, sizeof tmp);
    int have = 0;
    if (sh->cache_dir[0]) {
        char path[4200];
        cache_path(sh, is_event, name, path, sizeof path);
        size_t len = 0;
        char *text = cache_read(path, &len);
        if (text) {
            const char *why;
            tmp.status = tool_docs_parse_text(text, len, is_event, &tmp.doc, &why);
            free(text);
            if (tmp.status == TOOL_DOC_OK)
                have = 1;
            else
                unlink(path); /* not what this shell wrote: fetch again */
        }
    }
    if (!have && fetch(sh, &tmp, is_event, name) != 0)
        return NULL;
    e = add(sh, is_event, name);
    e->status = tmp.status;
    e->doc = tmp.doc;
    *status = e->status;
    return e->status == TOOL_DOC_OK ? &e->doc : NULL;
}

void shell_docs_free(shell *sh)
{
    for (size_t i = 0; i < sh->nactions; i++)
        free(sh->actions[i]);
    free(sh->actions);
    sh->actions = NULL;
    sh->nactions = 0;
    sh->actions_tried = 0;
    for (size_t i = 0; i < sh->ndocs; i++) {
        free(sh->docs[i].name);
        tool_doc_free(&sh->docs[i].doc);
    }
    free(sh->docs);
    sh->docs = NULL;
    sh->ndocs = 0;
    sh->cache_tried = 0;
    sh->cache_dir[0] = '\0';
}
