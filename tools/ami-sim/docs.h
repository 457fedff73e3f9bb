/*
 * The documentation commands of Asterisk's manager (`manager show
 * commands`, `manager show command NAME...`, `manager show events`,
 * `manager show event NAME`), answered through the Command action.
 */
#ifndef AMI_SIM_DOCS_H
#define AMI_SIM_DOCS_H

#include "sim.h"

/* One captured answer: the CLI command and the text it printed. */
typedef struct sim_doc_text {
    const char *command;
    const char *text;
} sim_doc_text;

/* docs_capture.c (generated from docs_manager_show.raw). */
extern const sim_doc_text sim_doc_capture[];
extern const size_t sim_doc_capture_count;

/* CLI handlers (the words after "manager show"); return 0 (CLI_OK) or 2
 * (CLI_USAGE), as cli.c's table entries do. */
int sim_cli_show_commands(sim *s, sim_buf *out, char **args, int nargs);
int sim_cli_show_command(sim *s, sim_buf *out, char **args, int nargs);
int sim_cli_show_events(sim *s, sim_buf *out, char **args, int nargs);
int sim_cli_show_event(sim *s, sim_buf *out, char **args, int nargs);

#endif
