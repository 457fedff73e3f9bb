/*
 * `ami shell`: an interactive AMI console. One event-loop connection
 * (libami's ami_async: it reconnects with the same options by itself), a
 * libedit line editor whose character reader polls the terminal and the
 * connection together, so events are printed between prompts while a line
 * is being typed, and documentation fetched from the server itself for
 * completion, help and the missing-header check.
 *
 * Files: cmd_shell.c (the command loop and the shell's own commands),
 * shell_io.c (libedit: reading, history, printing around the line being
 * typed, Tab completion), shell_conn.c (the connection and waiting for a
 * result), shell_docs.c (action names, the documentation and its cache).
 */
#ifndef AMI_TOOL_SHELL_H
#define AMI_TOOL_SHELL_H

#include "buf.h"
#include "docs_parse.h"
#include "record.h"
#include "tool.h"

#include <ami/async.h>

#include <histedit.h>
#include <signal.h>
#include <stdio.h>
#include <wchar.h>

/* Output (events and notices) held while a line is on screen, printed
 * above it at the next chance. Beyond this many bytes events are held in
 * libami's queue instead (back-pressure, nothing dropped). */
#define SHELL_PENDING_MAX (1u << 20)

typedef struct shell_doc_entry {
    char *name;
    int status; /* TOOL_DOC_* status of the last fetch */
    tool_doc doc;
} shell_doc_entry;

typedef struct shell_request shell_request;

typedef struct shell {
    tool_opts *o;
    ami_async *a;
    tool_record *rec;
    int up;             /* logged in now */
    int was_up;         /* logged in at least once */
    int stopped;        /* the connection will not come back */
    int stop_code;      /* exit status of a stop (auth, ...) */
    int events_on;      /* print events */
    tool_filter filter; /* `filter Key=GLOB` */
    int quit;
    int loop_started; /* the first wait for the connection is over */

    /* libedit */
    EditLine *el;
    History *hist;
    Tokenizer *tok;
    char history_path[4096];
    int in_prompt;    /* el_gets is running: print through `pending` */
    tool_buf pending; /* bytes to print above the prompt */
    char *mem;        /* shell_out_file's memstream while in_prompt */
    size_t nmem;
    FILE *mem_f;
    int held; /* events held: pending is full */
    mbstate_t mbs;

    /* the action being waited for */
    shell_request *waiting;

    /* documentation */
    char **actions; /* from ListCommands, sorted */
    size_t nactions;
    int actions_tried;
    shell_doc_entry *docs;
    size_t ndocs;
    char cache_dir[4096]; /* "" when caching is off */
    int cache_tried;
    int docs_stale;    /* reconnected: names and docs are looked up again */
    char version[128]; /* AMI and Asterisk versions of the server */
} shell;

/* shell_io.c */
int shell_io_init(shell *sh);
void shell_io_free(shell *sh);
/* The next line (without the newline, owned by libedit until the next
 * call), NULL at Ctrl-D; *interrupted set when Ctrl-C discarded the line. */
const char *shell_readline(shell *sh, const char *prompt, int *interrupted);
void shell_history_add(shell *sh, const char *line);
/* Print: straight to stdout, or above the line being typed. */
void shell_print(shell *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
FILE *shell_out_file(shell *sh);
void shell_out_done(shell *sh);
/* Wait for the terminal or the connection (one poll) up to timeout_ms. 1
 * when the terminal has input, 0 otherwise, -1 on EINTR. */
int shell_poll(shell *sh, int timeout_ms, int want_tty);

/* shell_conn.c */
int shell_conn_start(shell *sh, const char *secret, const ami_tls_config *tls);
/* Send and wait for the result (Ctrl-C gives up waiting). Returns the
 * libami status; *out the result (owned by the caller) or NULL. A
 * cancelled wait returns AMI_ERR_CANCELLED. */
int shell_call(shell *sh, const ami_action *a, int timeout_ms, ami_result **out);
/* Run the connection until it is up or has stopped, at most timeout_ms. */
int shell_wait_up(shell *sh, int timeout_ms);
void shell_conn_stop(shell *sh);
void shell_events_set(shell *sh, int on);

/* shell_docs.c */
/* Documentation of an action (is_event 0) or event: cached per server and
 * version, fetched on first use. NULL when unavailable (a warning is
 * printed once for a hostile or broken answer). */
const tool_doc *shell_doc(shell *sh, int is_event, const char *name, int *status);
/* Action names the user may run (ListCommands), fetched on first use. */
void shell_actions_load(shell *sh);
void shell_docs_free(shell *sh);

/* cmd_shell.c: SIGINT arrived (Ctrl-C). */
extern volatile sig_atomic_t shell_sigint;

#endif
