/*
 * Internal to the admin API (host/api): the request every handler gets, the helpers they
 * share (replies, request bodies, pagination, credentials) and the handlers the route table
 * (api.c) names. api_integrations.c holds the integrations, their syncs and health;
 * api_resources.c the webhook events, the Simplix records, the connectors, the organizations
 * and the marketplace.
 */
#ifndef HUB_API_INTERNAL_H
#define HUB_API_INTERNAL_H

#include "api/api.h"
#include "core/buf.h"
#include "oauth/oauth.h"

#include <json-c/json.h>
#include <libpq-fe.h>
#include <stdint.h>

#define REPLY_CAP        (1024 * 1024)
#define IDEM_KEY_MAX     200
#define CRED_MAX         32
#define CRED_VALUE_MAX   (64 * 1024)

struct api_req {
    struct hub_http_job *job;
    struct hub_api_ctx  *ctx;
    struct hub_db       *db;
    int                  method;
    int64_t              org_id;          /* 0: operator token */
    char                 org[24];         /* org_id as text, for statement parameters */
    char                 role[16];
    struct hub_error     err;
    int                  status;
    struct hub_buf       body;
    char                 location[256];
};

typedef void (*api_fn)(struct api_req *r);

/* ?limit=&cursor= of a list (api_page_parse), and the other query parameters for filters. */
struct api_page {
    int     limit;
    char    limit1[16];       /* limit + 1, text */
    char    after[24];        /* cursor id, text */
    struct hub_oauth_params qp;
};

/* ---- replies (api.c) ---- */
void api_reply_raw(struct api_req *r, int status, const char *json, size_t len);
/* {"error":{"code","message","details"}}; `details` is JSON text or NULL. */
void api_error(struct api_req *r, int status, const char *code, const char *details,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void api_internal(struct api_req *r, const char *what);     /* 500, logged with r->err */
void api_not_found(struct api_req *r, const char *what);    /* 404 "no such <what>" */
/* Run a statement; on failure answer 500 and return < 0. */
int  api_q(struct api_req *r, const char *sql, int n, const char *const *p, PGresult **res);

/* ---- request helpers (api.c) ---- */
int  api_param_id(struct api_req *r, const char *name, int64_t *out, char text[24]);
int  api_body_object(struct api_req *r, json_object **out);
int  api_member_str(struct api_req *r, json_object *o, const char *key, size_t max,
                    const char **out);
int  api_member_obj(struct api_req *r, json_object *o, const char *key, const char **out);
int  api_check_credentials(struct api_req *r, json_object *o, json_object **out);
int  api_store_credentials(struct api_req *r, int64_t id, json_object *creds);
int  api_page_parse(struct api_req *r, struct api_page *pg, int desc);
void api_page_reply(struct api_req *r, struct api_page *pg, PGresult *res);
void api_page_free(struct api_page *pg);

/* ---- integrations (api_integrations.c) ---- */
/* The route's {id}, an integration of the token's organization: 0 with *id, ids and its row
 * (platform, config, status) in *out_res, or -1 after answering 404 (or 500). */
int  api_own_integration(struct api_req *r, int64_t *id, char ids[24], PGresult **out_res);
/* The same, and the route's child id `param` (a sync run, an event): 0 with ids and cids set,
 * or -1 after answering 404 ("no such <what>") or 500. */
int  api_own_child(struct api_req *r, const char *param, const char *what, char ids[24],
                   char cids[24]);

/* ---- handlers (api_integrations.c, api_resources.c) ---- */
void api_h_companies(struct api_req *r);
void api_h_connectors(struct api_req *r);
void api_h_event_get(struct api_req *r);
void api_h_events_list(struct api_req *r);
void api_h_events_replay(struct api_req *r);
void api_h_health(struct api_req *r);
void api_h_integration_delete(struct api_req *r);
void api_h_integration_get(struct api_req *r);
void api_h_integration_patch(struct api_req *r);
void api_h_integrations_create(struct api_req *r);
void api_h_integrations_list(struct api_req *r);
void api_h_invoices(struct api_req *r);
void api_h_mappings(struct api_req *r);
void api_h_market_install(struct api_req *r);
void api_h_market_list(struct api_req *r);
void api_h_market_remove(struct api_req *r);
void api_h_market_rollback(struct api_req *r);
void api_h_oauth_start(struct api_req *r);
void api_h_org_get(struct api_req *r);
void api_h_orgs_create(struct api_req *r);
void api_h_orgs_list(struct api_req *r);
void api_h_pause(struct api_req *r);
void api_h_products(struct api_req *r);
void api_h_resume(struct api_req *r);
void api_h_sync_get(struct api_req *r);
void api_h_syncs_create(struct api_req *r);
void api_h_syncs_list(struct api_req *r);
void api_h_test(struct api_req *r);

#endif /* HUB_API_INTERNAL_H */
