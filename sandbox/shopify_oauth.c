/*
 * Shopify imitation: OAuth app install (platforms.md 1.2). /admin/oauth/authorize approves at
 * once and redirects with code, hmac, host, shop, state, timestamp; /admin/oauth/access_token
 * exchanges the code and, for expiring offline tokens, refreshes with a rotating refresh token
 * (the previous one stays valid until the new one is first used).
 */
#include "shopify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <json-c/json.h>

static int
kv_cmp(const void *a, const void *b)
{
    const struct sbx_kv *x = a;
    const struct sbx_kv *y = b;

    return strcmp(x->key, y->key);
}

void
shp_oauth_hmac(const char *secret, const struct sbx_kv *params, size_t n, char out[65])
{
    struct sbx_kv   sorted[32];
    struct evbuffer *b = evbuffer_new();
    unsigned char    mac[32];
    size_t           i;
    size_t           m = 0;

    /* Every parameter but hmac and signature, sorted by key, form-encoded, joined by '&'. */
    for (i = 0; i < n && m < 32; i++) {
        if (strcmp(params[i].key, "hmac") == 0 || strcmp(params[i].key, "signature") == 0)
            continue;
        sorted[m++] = params[i];
    }
    qsort(sorted, m, sizeof(sorted[0]), kv_cmp);
    for (i = 0; b != NULL && i < m; i++) {
        if (i > 0)
            evbuffer_add(b, "&", 1);
        sbx_form_encode(b, sorted[i].key);
        evbuffer_add(b, "=", 1);
        sbx_form_encode(b, sorted[i].value);
    }
    if (b == NULL) {
        out[0] = '\0';
        return;
    }
    sbx_hmac_sha256(secret, strlen(secret), evbuffer_pullup(b, -1), evbuffer_get_length(b), mac);
    sbx_hex_encode(mac, 32, out);
    evbuffer_free(b);
}

/* ------------------------------------------------------------------ tokens */

struct shp_token *
shp_token_lookup(struct shp_state *st, const char *value, int64_t now)
{
    size_t i;

    if (st->static_tok.value[0] != '\0' && sbx_str_eq_ct(value, st->static_tok.value))
        return &st->static_tok;
    for (i = 0; i < st->ntokens; i++) {
        struct shp_token *t = &st->tokens[i];

        if (t->revoked || !sbx_str_eq_ct(value, t->value))
            continue;
        if (t->expires_at != 0 && now >= t->expires_at)
            return NULL;
        return t;
    }
    return NULL;
}

void
shp_free_auth(struct shp_state *st)
{
    free(st->tokens);
    free(st->codes);
    free(st->refresh);
    st->tokens = NULL;
    st->codes = NULL;
    st->refresh = NULL;
    st->ntokens = st->ncodes = st->nrefresh = 0;
}

void
shp_expire_tokens(struct shp_state *st, int64_t now)
{
    size_t i;

    for (i = 0; i < st->ntokens; i++) {
        if (st->tokens[i].expires_at != 0)
            st->tokens[i].expires_at = now - 1;
    }
}

void
shp_revoke_tokens(struct shp_state *st)
{
    size_t i;

    for (i = 0; i < st->ntokens; i++)
        st->tokens[i].revoked = true;
    st->nrefresh = 0;
}

static struct shp_token *
token_new(struct shp_state *st, const char *scope, int64_t expires_at, bool online)
{
    struct shp_token *t;
    struct shp_token *nt;

    if (st->ntokens >= SHP_MAX_TOKENS)
        return NULL;
    nt = realloc(st->tokens, (st->ntokens + 1) * sizeof(*nt));
    if (nt == NULL)
        return NULL;
    st->tokens = nt;
    t = &st->tokens[st->ntokens++];
    memset(t, 0, sizeof(*t));
    sbx_rng_token(&st->rng, online ? "shpua_" : "shpat_", 32, t->value, sizeof(t->value));
    snprintf(t->scope, sizeof(t->scope), "%s", scope);
    t->expires_at = expires_at;
    t->online = online;
    return t;
}

/* ------------------------------------------------------------------ authorize */

static void
authorize(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
          struct sbx_resp *resp)
{
    const char      *client_id = sbx_req_query(req, "client_id");
    const char      *scope = sbx_req_query(req, "scope");
    const char      *redirect = sbx_req_query(req, "redirect_uri");
    const char      *state = sbx_req_query(req, "state");
    const char      *grant = sbx_req_query(req, "grant_options[]");
    struct shp_code *c;
    struct shp_code *nc;
    struct sbx_kv    params[6];
    size_t           n = 0;
    char             ts[24];
    char             host[256];
    char             hostraw[200];
    char             hmac[65];
    struct evbuffer *loc;
    size_t           i;

    if (client_id == NULL || strcmp(client_id, st->api_key) != 0) {
        resp->status = 400;
        sbx_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
        sbx_resp_printf(resp, "<h1>Oauth error invalid_request: The client_id is missing or "
                              "invalid</h1>");
        return;
    }
    if (redirect == NULL || (strncmp(redirect, "http://", 7) != 0 &&
                             strncmp(redirect, "https://", 8) != 0)) {
        resp->status = 400;
        sbx_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
        sbx_resp_printf(resp, "<h1>Oauth error invalid_request: The redirect_uri is missing or "
                              "not whitelisted</h1>");
        return;
    }
    nc = realloc(st->codes, (st->ncodes + 1) * sizeof(*nc));
    if (nc == NULL) {
        shp_error(resp, 500, "\"out of memory\"");
        return;
    }
    st->codes = nc;
    c = &st->codes[st->ncodes++];
    memset(c, 0, sizeof(*c));
    sbx_rng_token(&st->rng, "", 32, c->code, sizeof(c->code));
    snprintf(c->scope, sizeof(c->scope), "%s", scope != NULL ? scope : "");
    c->issued_at = sbx_now(p->sbx);
    c->online = grant != NULL && strcmp(grant, "per-user") == 0;

    /* The merchant approves at once: redirect with the signed parameters. */
    snprintf(ts, sizeof(ts), "%" PRId64, c->issued_at);
    snprintf(hostraw, sizeof(hostraw), "%s/admin", st->shop_domain);
    sbx_b64_encode(hostraw, strlen(hostraw), host, sizeof(host));
    params[n++] = (struct sbx_kv){"code", c->code};
    params[n++] = (struct sbx_kv){"host", host};
    params[n++] = (struct sbx_kv){"shop", st->shop_domain};
    if (state != NULL)
        params[n++] = (struct sbx_kv){"state", state};
    params[n++] = (struct sbx_kv){"timestamp", ts};
    shp_oauth_hmac(st->api_secret, params, n, hmac);

    loc = evbuffer_new();
    if (loc == NULL) {
        shp_error(resp, 500, "\"out of memory\"");
        return;
    }
    evbuffer_add(loc, redirect, strlen(redirect));
    evbuffer_add(loc, strchr(redirect, '?') != NULL ? "&" : "?", 1);
    /* Order as Shopify sends it: code, hmac, host, shop, state, timestamp. */
    for (i = 0; i < n; i++) {
        if (i > 0)
            evbuffer_add(loc, "&", 1);
        if (i == 1) {
            evbuffer_add_printf(loc, "hmac=%s&", hmac);
        }
        evbuffer_add_printf(loc, "%s=", params[i].key);
        sbx_form_encode(loc, params[i].value);
    }
    evbuffer_add(loc, "", 1);
    resp->status = 302;
    sbx_resp_header(resp, "Location", (const char *)evbuffer_pullup(loc, -1));
    sbx_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
    sbx_resp_printf(resp, "<html><body>You are being redirected.</body></html>");
    evbuffer_free(loc);
}

/* ------------------------------------------------------------------ access_token */

struct token_params {
    char client_id[256];
    char client_secret[256];
    char code[64];
    char grant_type[64];
    char refresh_token[64];
    bool expiring;
};

static void
copy_param(char *dst, size_t cap, const char *v)
{
    if (v != NULL && strlen(v) < cap)
        snprintf(dst, cap, "%s", v);
}

static int
read_token_params(struct sbx_req *req, struct token_params *tp)
{
    const char *ct = sbx_req_header(req, "Content-Type");

    memset(tp, 0, sizeof(*tp));
    if (ct != NULL && strstr(ct, "application/x-www-form-urlencoded") != NULL) {
        struct evkeyvalq q;

        TAILQ_INIT(&q);
        if (evhttp_parse_query_str(req->body, &q) < 0) {
            evhttp_clear_headers(&q);
            return -1;
        }
        copy_param(tp->client_id, sizeof(tp->client_id), evhttp_find_header(&q, "client_id"));
        copy_param(tp->client_secret, sizeof(tp->client_secret),
                   evhttp_find_header(&q, "client_secret"));
        copy_param(tp->code, sizeof(tp->code), evhttp_find_header(&q, "code"));
        copy_param(tp->grant_type, sizeof(tp->grant_type), evhttp_find_header(&q, "grant_type"));
        copy_param(tp->refresh_token, sizeof(tp->refresh_token),
                   evhttp_find_header(&q, "refresh_token"));
        tp->expiring = evhttp_find_header(&q, "expiring") != NULL &&
                       strcmp(evhttp_find_header(&q, "expiring"), "0") != 0;
        evhttp_clear_headers(&q);
    } else {
        struct json_object *o = sbx_req_json(req);
        struct json_object *v;

        if (o == NULL || !json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            /* Parameters may also come in the query string. */
            copy_param(tp->client_id, sizeof(tp->client_id), sbx_req_query(req, "client_id"));
            copy_param(tp->client_secret, sizeof(tp->client_secret),
                       sbx_req_query(req, "client_secret"));
            copy_param(tp->code, sizeof(tp->code), sbx_req_query(req, "code"));
            copy_param(tp->grant_type, sizeof(tp->grant_type), sbx_req_query(req, "grant_type"));
            copy_param(tp->refresh_token, sizeof(tp->refresh_token),
                       sbx_req_query(req, "refresh_token"));
            return 0;
        }
#define GETS(field)                                                                 \
        if (json_object_object_get_ex(o, #field, &v))                              \
            copy_param(tp->field, sizeof(tp->field), json_object_get_string(v))
        GETS(client_id);
        GETS(client_secret);
        GETS(code);
        GETS(grant_type);
        GETS(refresh_token);
#undef GETS
        if (json_object_object_get_ex(o, "expiring", &v))
            tp->expiring = json_object_get_boolean(v) ||
                           (json_object_is_type(v, json_type_string) &&
                            strcmp(json_object_get_string(v), "1") == 0);
        json_object_put(o);
    }
    return 0;
}

static void
oauth_error(struct sbx_resp *resp, const char *error, const char *desc)
{
    resp->status = 400;
    shp_json_headers(resp);
    evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
    evbuffer_add_printf(resp->body, "{\"error\":\"%s\",\"error_description\":\"%s\"}", error,
                        desc);
}

static void
token_reply(struct sbx_platform *p, struct shp_state *st, struct sbx_resp *resp,
            const struct shp_token *t, const struct shp_refresh *rf)
{
    struct sbx_jw w;
    int64_t       now = sbx_now(p->sbx);

    shp_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "access_token", t->value);
    sbx_jw_kstr(&w, "scope", t->scope);
    if (t->expires_at != 0)
        sbx_jw_ki64(&w, "expires_in", t->expires_at - now);
    if (rf != NULL) {
        sbx_jw_kstr(&w, "refresh_token", rf->current);
        sbx_jw_ki64(&w, "refresh_token_expires_in", rf->expires_at - now);
    }
    if (t->online) {
        sbx_jw_kstr(&w, "associated_user_scope", t->scope);
        sbx_jw_key(&w, "associated_user");
        sbx_jw_obj(&w);
        sbx_jw_ki64(&w, "id", 902541635);
        sbx_jw_kstr(&w, "first_name", "Zoë");
        sbx_jw_kstr(&w, "last_name", "Merchant");
        sbx_jw_kstr(&w, "email", "merchant@example.com");
        sbx_jw_kbool(&w, "email_verified", true);
        sbx_jw_kbool(&w, "account_owner", true);
        sbx_jw_kstr(&w, "locale", "en");
        sbx_jw_kbool(&w, "collaborator", false);
        sbx_jw_obj_end(&w);
    }
    sbx_jw_obj_end(&w);
    (void)st;
}

static void
access_token(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
             struct sbx_resp *resp)
{
    struct token_params tp;
    int64_t             now = sbx_now(p->sbx);
    struct shp_token   *t;
    struct shp_refresh *rf = NULL;
    size_t              i;

    if (req->method != SBX_POST) {
        shp_error(resp, 405, "\"Method Not Allowed\"");
        return;
    }
    if (read_token_params(req, &tp) < 0) {
        oauth_error(resp, "invalid_request", "Malformed request body");
        return;
    }
    if (strcmp(tp.client_id, st->api_key) != 0 ||
        !sbx_str_eq_ct(tp.client_secret, st->api_secret)) {
        oauth_error(resp, "invalid_client", "Client authentication failed");
        return;
    }

    if (strcmp(tp.grant_type, "refresh_token") == 0) {
        /* platforms.md 1.2: rotating refresh tokens, previous valid until the new one's use */
        for (i = 0; i < st->nrefresh; i++) {
            if (tp.refresh_token[0] != '\0' &&
                (strcmp(st->refresh[i].current, tp.refresh_token) == 0 ||
                 (st->refresh[i].previous[0] != '\0' &&
                  strcmp(st->refresh[i].previous, tp.refresh_token) == 0))) {
                rf = &st->refresh[i];
                break;
            }
        }
        if (rf == NULL || now >= rf->expires_at) {
            oauth_error(resp, "invalid_grant", "The refresh token is invalid, expired or "
                                               "revoked");
            return;
        }
        if (strcmp(rf->current, tp.refresh_token) == 0) {
            /* First use of the newest token: the one before it dies now. */
            snprintf(rf->previous, sizeof(rf->previous), "%s", rf->current);
        }
        sbx_rng_token(&st->rng, "shprt_", 32, rf->current, sizeof(rf->current));
        rf->expires_at = now + st->refresh_ttl_s;
        t = token_new(st, rf->scope, now + st->token_ttl_s, false);
        if (t == NULL) {
            shp_error(resp, 500, "\"too many tokens\"");
            return;
        }
        token_reply(p, st, resp, t, rf);
        return;
    }
    if (tp.grant_type[0] != '\0' && strcmp(tp.grant_type, "authorization_code") != 0) {
        oauth_error(resp, "unsupported_grant_type", "The grant type is not supported");
        return;
    }
    for (i = 0; i < st->ncodes; i++) {
        struct shp_code *c = &st->codes[i];

        if (strcmp(c->code, tp.code) != 0)
            continue;
        if (c->used || now - c->issued_at > 600)
            break;
        c->used = true;
        if (c->online) {
            t = token_new(st, c->scope, now + 86399, true);
        } else if (st->expiring_tokens || tp.expiring) {
            struct shp_refresh *nr = realloc(st->refresh, (st->nrefresh + 1) * sizeof(*nr));

            if (nr == NULL) {
                shp_error(resp, 500, "\"out of memory\"");
                return;
            }
            st->refresh = nr;
            rf = &st->refresh[st->nrefresh++];
            memset(rf, 0, sizeof(*rf));
            sbx_rng_token(&st->rng, "shprt_", 32, rf->current, sizeof(rf->current));
            snprintf(rf->scope, sizeof(rf->scope), "%s", c->scope);
            rf->expires_at = now + st->refresh_ttl_s;
            t = token_new(st, c->scope, now + st->token_ttl_s, false);
        } else {
            t = token_new(st, c->scope, 0, false);
        }
        if (t == NULL) {
            shp_error(resp, 500, "\"too many tokens\"");
            return;
        }
        token_reply(p, st, resp, t, rf);
        return;
    }
    oauth_error(resp, "invalid_request", "The authorization code was not found or was already "
                                         "used");
}

void
shp_handle_oauth(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
                 struct sbx_resp *resp, const char *what)
{
    if (strcmp(what, "authorize") == 0 && req->method == SBX_GET) {
        authorize(p, st, req, resp);
        return;
    }
    if (strcmp(what, "access_token") == 0 || strcmp(what, "access_token.json") == 0) {
        access_token(p, st, req, resp);
        return;
    }
    shp_error(resp, 404, "\"Not Found\"");
}
