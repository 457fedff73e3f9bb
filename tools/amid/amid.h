/* amid: shared types of the daemon (one AMI connection per PBX, served
 * over REST and WebSocket). Each .c file owns one job; this header is the
 * glue between them. Everything runs on one libuv loop, one thread. */
#ifndef AMID_H
#define AMID_H

#include <ami/ami.h>
#include <ami/async.h>

#include <stddef.h>
#include <stdint.h>

#define AMID_VERSION        "0.1.0"
#define AMID_DEFAULT_CONFIG "/etc/amid/amid.conf"

/* ------------------------------------------------------------ log.c */
/* One line per record on stderr: `ts=... level=... msg=... key=value`.
 * Values are quoted and escaped; callers never pass secrets. */
void amid_log(const char *level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define amid_info(msg, ...)  amid_log("info", msg, __VA_ARGS__)
#define amid_warn(msg, ...)  amid_log("warn", msg, __VA_ARGS__)
#define amid_error(msg, ...) amid_log("error", msg, __VA_ARGS__)
/* A value fit for a log line: non-printable bytes, quotes and backslashes
 * replaced, at most `cap-1` bytes. Returns buf. */
const char *amid_log_clean(char *buf, size_t cap, const char *s);

/* ---------------------------------------------------------- config.c */
typedef struct amid_list {
    char **v;
    size_t n;
    int all; /* the list was "*" */
} amid_list;

typedef struct amid_token {
    char *name;
    unsigned char hash[32];
    int has_hash;
    amid_list servers, actions, events, contexts, channels;
    int has_contexts, has_channels;
    double rate;  /* requests per second, 0: unlimited */
    double burst; /* bucket size */
    /* token bucket (reset on reload) */
    double bucket;
    uint64_t bucket_ms;
} amid_token;

typedef struct amid_server_conf {
    char *name;
    char *host;
    unsigned port;
    char *username;
    char *secret_file;
    char *secret; /* read from secret_file; never logged */
    char *events; /* Events: mask at login (default "on") */
    int action_timeout_ms;
    int keepalive_ms;
} amid_server_conf;

/* [nats] (nats.c; only when amid is built with libnats). */
typedef struct amid_nats_conf {
    int enabled; /* a [nats] section was given */
    char *url;   /* "nats://h:p, nats://h2:p" */
    char *user;  /* with password_file */
    char *password_file;
    char *password;       /* read from password_file; never logged */
    char *creds_file;     /* NATS .creds (JWT + nkey seed) */
    char *stream;         /* default AMI */
    char *subject_prefix; /* default ami */
    int64_t max_age_s;    /* 0: unlimited */
    int64_t max_bytes;    /* 0: unlimited (-1 to the server) */
    int replicas;         /* 1..5 */
    int duplicate_window_s;
    int max_inflight; /* our own bound on unacknowledged publishes */
    int ack_timeout_ms;
    char *kv_bucket;         /* the state bucket (default ami_state); NULL: none */
    int kv_bucket_given;     /* kv_bucket was set (empty: no bucket) */
    size_t kv_max_pending;   /* dirty keys per server before a full reconcile instead */
    int kv_delete_markers_s; /* delete markers older than this are purged */
} amid_nats_conf;

typedef struct amid_config {
    char *path;
    amid_nats_conf nats;
    char *listen_host;
    unsigned listen_port;
    char *static_dir;
    char *tls_cert, *tls_key;
    char *tokens_file; /* optional extra file of [token] sections */
    size_t ring_events, ring_bytes;
    size_t client_queue_bytes;
    int slow_client_timeout_ms; /* closed after this long behind */
    int drain_timeout_ms;       /* SIGTERM: the most the drain may take */
    size_t max_body_bytes;
    int session_ttl_s;
    int max_clients;
    amid_list origins;
    amid_server_conf *servers;
    size_t n_servers;
    amid_token *tokens;
    size_t n_tokens;
} amid_config;

/* Reads and validates `path` (and its tokens_file and secret files).
 * Returns 0, or -1 with a human explanation in err. `check_secrets` == 0
 * skips reading secret files (token reload). */
int amid_config_load(amid_config *c, const char *path, int check_secrets, char *err, size_t errcap);
/* Loads only the [token] sections of the config (and its tokens_file)
 * into a fresh array. Returns 0 or -1 with err. */
int amid_config_load_tokens(const char *path, amid_token **out, size_t *n, char *err,
                            size_t errcap);
void amid_config_free(amid_config *c);
void amid_tokens_free(amid_token *t, size_t n);
int amid_list_has(const amid_list *l, const char *s);              /* case-insensitive */
int amid_list_glob(const amid_list *l, const char *s);             /* fnmatch globs */
int amid_file_private(const char *path, char *err, size_t errcap); /* 0: not world/group readable */

/* ---------------------------------------------------------- tokens.c */
#define AMID_TOKEN_PREFIX "amid_"
/* SHA-256 of a presented token. */
void amid_sha256(const void *data, size_t len, unsigned char out[32]);
/* Parse "sha256:HEX" (64 hex digits). 0 or -1. */
int amid_hash_parse(const char *s, unsigned char out[32]);
/* The token whose hash matches `presented` (compared in constant time
 * against every token), or NULL. */
amid_token *amid_token_find(amid_token *t, size_t n, const char *presented, size_t len);
/* Fills buf with a new random token (AMID_TOKEN_PREFIX + 43 chars). */
int amid_token_generate(char *buf, size_t cap);
int amid_cmd_token_new(const char *name);
/* Random hex string of 2*n chars (n bytes) into buf. */
int amid_random_hex(char *buf, size_t n);
/* Token bucket: 1 if the request may go, 0 if rate limited. */
int amid_token_rate_ok(amid_token *t, uint64_t now_ms);

/* ----------------------------------------------------------- perms.c */
/* Checks an action (already built from JSON) against a token for a
 * server. Returns 0 when allowed, else 403 with the rule named in why. */
int amid_perm_check(const amid_token *t, const char *server, const ami_action *a, char *why,
                    size_t whycap);
int amid_perm_server(const amid_token *t, const char *server);
/* Event class check on the Privilege value (e.g. "call,all"); events with
 * no Privilege pass only for events = *. */
int amid_perm_event(const amid_token *t, const char *privilege);

/* ---------------------------------------------------- rest_actions.c */
/* JSON text → action. Returns 0, or an HTTP status (400) with the reason
 * in why; *out is owned by the caller on success. */
struct json_t;
int amid_action_from_json(const struct json_t *obj, ami_action **out, char *why, size_t whycap);
/* Packet → JSON object (repeated keys become arrays, bytes made UTF-8). */
struct json_t *amid_packet_json(const ami_packet *p);
/* Result → {"response":{...},"events":[...]} */
struct json_t *amid_result_json(const ami_result *r);
/* Maps a failed result / send error to an HTTP status. */
int amid_status_of(int ami_err);

#endif
