/*
 * The table of actions awaiting an answer (pending.c). Never installed.
 */
#ifndef AMI_PENDING_INTERNAL_H
#define AMI_PENDING_INTERNAL_H

#include "internal.h"

typedef enum ami__pending_state { AMI__AWAIT_RESPONSE = 0, AMI__IN_LIST } ami__pending_state;

typedef struct ami__pending ami__pending;
struct ami__pending {
    ami_result *result; /* its action_id is the table key */
    size_t id_len;
    uint64_t hash;
    uint64_t seq; /* send order */
    uint64_t deadline;
    size_t heap_idx;             /* SIZE_MAX when there is no deadline */
    ami__pending *prev, *next;   /* every pending action, in send order */
    ami__pending *fprev, *fnext; /* those still awaiting their response */
    ami_result_cb cb;
    void *user_data;
    uint8_t state;       /* ami__pending_state */
    uint8_t legacy_list; /* list opened by "... will follow", no EventList */
};

/*
 * Hash map from ActionID to entry (open addressing, linear probing,
 * backward-shift deletion) plus a binary min-heap of deadlines and two
 * intrusive lists; every operation is O(1) or O(log n).
 */
typedef struct ami__pending_table {
    ami__pending **slots;
    size_t slot_cap; /* power of two, or 0 */
    size_t count;
    ami__pending **heap;
    size_t heap_len;
    size_t heap_cap;
    ami__pending *head, *tail;
    ami__pending *fhead, *ftail;
    size_t in_list;
} ami__pending_table;

/* Make room so that one ami__pending_insert() cannot fail. */
int ami__pending_reserve(ami__pending_table *t, int with_deadline);
/* Insert (after a successful reserve). Sets hash, id_len, heap_idx. */
void ami__pending_insert(ami__pending_table *t, ami__pending *e);
ami__pending *ami__pending_find(const ami__pending_table *t, const char *id, size_t id_len);
/* Unlink from everything; the entry itself is not freed. */
void ami__pending_remove(ami__pending_table *t, ami__pending *e);
/* The response arrived and opened a list. */
void ami__pending_enter_list(ami__pending_table *t, ami__pending *e);
/* Oldest entry still awaiting its response, or NULL. */
ami__pending *ami__pending_oldest_awaiting(const ami__pending_table *t);
/* Entry with the earliest deadline, or NULL. */
ami__pending *ami__pending_earliest(const ami__pending_table *t);
/* Release the table's arrays (entries must have been removed). */
void ami__pending_table_free(ami__pending_table *t);

#endif /* AMI_PENDING_INTERNAL_H */
