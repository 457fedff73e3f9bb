/*
 * The screens of `ami top` as lines of text, built from the live stores
 * (no terminal code here): the ncurses front end draws them, --once prints
 * them. Three views — calls, queues, parked — each with a filter (a
 * case-insensitive substring any column may contain) and a sort key.
 */
#ifndef AMI_TOOL_TOP_VIEW_H
#define AMI_TOOL_TOP_VIEW_H

#include "live.h"

#include <stddef.h>
#include <stdint.h>

typedef enum top_view_id { TOP_CALLS = 0, TOP_QUEUES, TOP_PARKED, TOP_NVIEWS } top_view_id;

typedef enum top_style {
    TOP_STYLE_NORMAL = 0,
    TOP_STYLE_TITLE,   /* the first line */
    TOP_STYLE_HEADING, /* column names, queue names */
    TOP_STYLE_ALERT,   /* a server down, just resynced */
    TOP_STYLE_HELP     /* the key help */
} top_style;

typedef struct top_line {
    char *text;
    top_style style;
} top_line;

typedef struct top_screen {
    top_line *v;
    size_t n, cap;
    size_t head; /* lines before the scrolling body (title, marks, headings) */
    int timed;   /* some line shows a duration: redraw every second */
} top_screen;

typedef struct top_ui {
    top_view_id view;
    unsigned sort[TOP_NVIEWS]; /* index into the view's sort keys */
    char filter[128];
} top_ui;

/* The name of the view's current sort key ("duration", "caller", ...). */
const char *top_sort_name(const top_ui *ui);
/* Next sort key of the current view. */
void top_sort_next(top_ui *ui);

/* Build the screen for `ui` over the live servers at `now_ms`
 * (ami_async_now()). The lines replace what `scr` held. */
void top_build(top_screen *scr, const tool_live *l, const top_ui *ui, uint64_t now_ms);
void top_screen_free(top_screen *scr);

#endif
