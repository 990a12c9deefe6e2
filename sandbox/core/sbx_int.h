/*
 * Core-private structures of simplix-sandbox. Platform modules use sbx.h only.
 */
#ifndef SBX_INT_H
#define SBX_INT_H

#include "sbx.h"

#define SBX_MAX_PLATFORMS 16
#define SBX_MAX_FAULTS    64
#define SBX_LOG_BODY_CAP  4096

struct fault_rule {
    char    kind[16];       /* 5xx 429 slow drop truncate malformed */
    double  rate;           /* probability per matching request, 0..1 */
    int64_t every;          /* or: every Nth matching request (0 = use rate) */
    int64_t remaining;      /* -1 = unlimited */
    char   *path;           /* fnmatch glob on the path, NULL = any */
    char    method[12];     /* "" = any */
    int     status;         /* for 5xx, default 503 */
    int     delay_ms;       /* for slow, default 3000 */
    uint64_t matched;
    uint64_t fired;
};

struct sbx_fault_rules {
    struct fault_rule rules[SBX_MAX_FAULTS];
    size_t            n;
    struct sbx_rng    rng;
    uint64_t          generation;
};

struct log_entry {
    uint64_t    seq;
    int64_t     t_ms;
    const char *platform;
    char        method[12];
    char       *uri;
    char       *body;       /* first SBX_LOG_BODY_CAP bytes */
    size_t      body_len;   /* full length */
    int         status;
    const char *fault;
    int64_t     dur_us;
};

struct dlog_entry {
    uint64_t    seq;
    int64_t     t_ms;
    const char *platform;
    char       *label;
    char       *url;
    int         attempt;
    int         status;
    bool        ok;
    bool        final;
    char        error[48];
};

struct ring {
    void  *items;       /* array of cap entries of item_size */
    size_t item_size;
    size_t cap;
    size_t count;       /* total ever pushed (seq of the last + 1 - first seq) */
};

struct pending_reply;
struct sbx_delivery;

struct sbx {
    struct event_base   *base;
    struct sbx_config    cfg;
    int64_t              clock_offset_ms;   /* added to real time */
    bool                 clock_frozen;
    int64_t              clock_frozen_ms;
    struct sbx_platform  platforms[SBX_MAX_PLATFORMS];
    size_t               nplatforms;
    const char          *ready_file;
    uint64_t             next_seq;
    uint64_t             next_dseq;
    struct log_entry    *log;
    size_t               log_cap;
    struct dlog_entry   *dlog;
    size_t               dlog_cap;
    struct pending_reply *pending;
    struct sbx_delivery *deliveries;
    struct event        *sig_int;
    struct event        *sig_term;
};

/* server.c */
void sbx_http_cb(struct evhttp_request *ev, void *arg);
void sbx_server_free(struct sbx *s);
void sbx_log_delivery(struct sbx *s, struct sbx_platform *p, const char *label, const char *url,
                      int attempt, int status, bool ok, bool final, const char *error);
int  sbx_fault_parse_cli(struct sbx *s, const char *spec);
void sbx_faults_clear(struct sbx_platform *p);

/* outbox.c */
void sbx_outbox_free_all(struct sbx *s);
void sbx_outbox_drop_platform(struct sbx_platform *p);
void sbx_outbox_write_state(struct sbx *s, struct sbx_platform *p, struct sbx_jw *w);

/* registry (main.c) */
size_t                          sbx_registered_count(void);
const struct sbx_platform_ops  *sbx_registered(size_t i);

#endif /* SBX_INT_H */
