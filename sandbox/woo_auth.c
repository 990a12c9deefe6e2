/*
 * WooCommerce imitation: authentication (platforms.md 2.1) and the /wc-auth/v1/authorize key
 * generation flow.
 *
 * The sandbox speaks plain HTTP but serves both of WooCommerce's paths: Basic ck_:cs_ (or the
 * consumer_key/consumer_secret query parameters, which take precedence) is treated as the
 * HTTPS path; otherwise OAuth 1.0a one-legged is checked exactly as
 * WC_REST_Authentication::check_oauth_signature builds it: params = GET + POST(form) +
 * Authorization: OAuth header, PHP's last-wins for duplicated keys, oauth_signature removed,
 * keys sorted with strcmp, every key and value rawurlencoded, each "k=v" rawurlencoded again,
 * joined with %26; base = METHOD&rawurlencode(home_url(path))&params; key = secret + "&";
 * HMAC-SHA1 or HMAC-SHA256, base64. Then the +-15 min timestamp window and nonce replay.
 */
#include "woo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define AUTH_GROUP_BASE (1ULL << 40)    /* outbox groups of /wc-auth callbacks */

/* PHP rawurlencode: everything but [A-Za-z0-9._~-] as %XX (uppercase). */
static void
rawurlencode(struct evbuffer *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t            i;
    unsigned char     c;

    for (i = 0; i < len; i++) {
        c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            evbuffer_add(out, &s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};

            evbuffer_add(out, e, 3);
        }
    }
}

static int
kv_cmp(const void *a, const void *b)
{
    const struct sbx_kv *x = a;
    const struct sbx_kv *y = b;

    return strcmp(x->key, y->key);
}

int
woo_oauth_signature(struct woo_state *st, const char *method, const char *url,
                    const struct sbx_kv *params, size_t n, const char *secret,
                    const char *sig_method, char *out, size_t cap, struct sbx_arena *arena)
{
    struct sbx_kv   *v;
    struct evbuffer *base;
    struct evbuffer *pair;
    size_t           i;
    size_t           j;
    size_t           m = 0;
    unsigned char    mac[EVP_MAX_MD_SIZE];
    unsigned int     maclen = 0;
    const EVP_MD    *md;
    char            *key;
    int              rc = -1;

    (void)st;
    if (strcmp(sig_method, "HMAC-SHA256") == 0)
        md = EVP_sha256();
    else if (strcmp(sig_method, "HMAC-SHA1") == 0)
        md = EVP_sha1();
    else
        return -1;
    v = sbx_arena_alloc(arena, (n + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    /* PHP arrays: a later duplicate replaces the earlier value. */
    for (i = 0; i < n; i++) {
        if (strcmp(params[i].key, "oauth_signature") == 0)
            continue;
        for (j = 0; j < m; j++) {
            if (strcmp(v[j].key, params[i].key) == 0)
                break;
        }
        if (j < m)
            v[j].value = params[i].value;
        else
            v[m++] = params[i];
    }
    qsort(v, m, sizeof(*v), kv_cmp);
    base = evbuffer_new();
    pair = evbuffer_new();
    if (base == NULL || pair == NULL)
        goto out;
    evbuffer_add_printf(base, "%s&", method);
    rawurlencode(base, url, strlen(url));
    evbuffer_add(base, "&", 1);
    for (i = 0; i < m; i++) {
        size_t plen;

        evbuffer_drain(pair, evbuffer_get_length(pair));
        rawurlencode(pair, v[i].key, strlen(v[i].key));
        evbuffer_add(pair, "=", 1);
        rawurlencode(pair, v[i].value, strlen(v[i].value));
        plen = evbuffer_get_length(pair);
        if (i > 0)
            evbuffer_add(base, "%26", 3);
        rawurlencode(base, (const char *)evbuffer_pullup(pair, -1), plen);
    }
    key = sbx_arena_printf(arena, "%s&", secret);
    if (key == NULL)
        goto out;
    if (HMAC(md, key, (int)strlen(key), evbuffer_pullup(base, -1), evbuffer_get_length(base),
             mac, &maclen) == NULL)
        goto out;
    if (sbx_b64_encode(mac, maclen, out, cap) == 0)
        goto out;
    rc = 0;
out:
    if (base != NULL)
        evbuffer_free(base);
    if (pair != NULL)
        evbuffer_free(pair);
    return rc;
}

struct woo_key *
woo_add_key(struct woo_state *st, const char *ck, const char *cs, const char *perm,
            const char *app)
{
    struct woo_key *k;

    if (st->nkeys >= WOO_MAX_KEYS)
        return NULL;
    k = &st->keys[st->nkeys++];
    memset(k, 0, sizeof(*k));
    k->id = ++st->next_key_id;
    snprintf(k->ck, sizeof(k->ck), "%s", ck);
    snprintf(k->cs, sizeof(k->cs), "%s", cs);
    k->permissions = perm;
    snprintf(k->app, sizeof(k->app), "%s", app);
    return k;
}

static struct woo_key *
key_by_ck(struct woo_state *st, const char *ck)
{
    size_t i;

    for (i = 0; i < st->nkeys; i++) {
        if (st->keys[i].ck[0] != '\0' && strcmp(st->keys[i].ck, ck) == 0)
            return &st->keys[i];
    }
    return NULL;
}

static int
auth_fail(struct sbx_resp *resp, const char *code, const char *message)
{
    woo_error(resp, 401, code, message);
    return -1;
}

/* Parses `Authorization: OAuth k="v", ...` into the list (values percent-decoded). */
static size_t
parse_oauth_header(struct sbx_req *req, const char *h, struct sbx_kv *out, size_t cap)
{
    size_t      n = 0;
    const char *s = h + 6;

    while (*s != '\0' && n < cap) {
        const char *k;
        const char *ve;
        size_t      klen;
        char       *val;
        char       *dec;
        bool        quoted;

        while (*s == ' ' || *s == ',')
            s++;
        k = s;
        while (*s != '\0' && *s != '=' && *s != ',')
            s++;
        if (*s != '=')
            break;
        klen = (size_t)(s - k);
        s++;
        quoted = *s == '"';
        if (quoted)
            s++;
        ve = s;
        while (*s != '\0' && (quoted ? *s != '"' : *s != ','))
            s++;
        val = sbx_arena_strndup(req->arena, ve, (size_t)(s - ve));
        if (quoted && *s == '"')
            s++;
        if (val == NULL || klen < 6 || strncmp(k, "oauth_", 6) != 0)
            continue;
        dec = evhttp_uridecode(val, 1, NULL);
        out[n].key = sbx_arena_strndup(req->arena, k, klen);
        out[n].value = sbx_arena_strdup(req->arena, dec != NULL ? dec : val);
        free(dec);
        n++;
    }
    return n;
}

static int
check_permissions(const struct woo_key *k, struct sbx_req *req, struct sbx_resp *resp,
                  bool *can_write)
{
    bool read = strcmp(k->permissions, "read") == 0 || strcmp(k->permissions, "read_write") == 0;
    bool write = strcmp(k->permissions, "write") == 0 ||
                 strcmp(k->permissions, "read_write") == 0;

    *can_write = write;
    if ((req->method == SBX_GET || req->method == SBX_HEAD) && !read)
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "The API key provided does not have read permissions.");
    if ((req->method == SBX_POST || req->method == SBX_PUT || req->method == SBX_PATCH ||
         req->method == SBX_DELETE) && !write)
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "The API key provided does not have write permissions.");
    return 0;
}

static int
check_nonce(struct woo_key *k, const char *nonce, int64_t ts, int64_t now,
            struct sbx_resp *resp)
{
    size_t i;
    size_t keep = 0;

    if (ts < now - WOO_OAUTH_WINDOW_S || ts > now + WOO_OAUTH_WINDOW_S)
        return auth_fail(resp, "woocommerce_rest_authentication_error", "Invalid timestamp.");
    if (strlen(nonce) >= sizeof(k->nonces[0]))
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "Invalid nonce - nonce has already been used.");
    for (i = 0; i < k->nnonces; i++) {
        if (strcmp(k->nonces[i], nonce) == 0)
            return auth_fail(resp, "woocommerce_rest_authentication_error",
                             "Invalid nonce - nonce has already been used.");
    }
    /* $used_nonces[$timestamp] = $nonce, then expired ones dropped: one nonce per second. */
    for (i = 0; i < k->nnonces; i++) {
        if (k->nonce_ts[i] == ts || k->nonce_ts[i] < now - WOO_OAUTH_WINDOW_S)
            continue;
        if (keep != i) {
            memcpy(k->nonces[keep], k->nonces[i], sizeof(k->nonces[0]));
            k->nonce_ts[keep] = k->nonce_ts[i];
        }
        keep++;
    }
    k->nnonces = keep;
    if (k->nonces == NULL) {
        k->nonces = calloc(WOO_MAX_NONCES, sizeof(*k->nonces));
        k->nonce_ts = calloc(WOO_MAX_NONCES, sizeof(*k->nonce_ts));
        if (k->nonces == NULL || k->nonce_ts == NULL)
            return auth_fail(resp, "woocommerce_rest_authentication_error", "Out of memory.");
    }
    if (k->nnonces >= WOO_MAX_NONCES) {
        /* Bounded store: forget the oldest half (a real store keeps one per second). */
        memmove(k->nonces, k->nonces + WOO_MAX_NONCES / 2,
                (WOO_MAX_NONCES / 2) * sizeof(k->nonces[0]));
        memmove(k->nonce_ts, k->nonce_ts + WOO_MAX_NONCES / 2,
                (WOO_MAX_NONCES / 2) * sizeof(k->nonce_ts[0]));
        k->nnonces = WOO_MAX_NONCES / 2;
    }
    snprintf(k->nonces[k->nnonces], sizeof(k->nonces[0]), "%s", nonce);
    k->nonce_ts[k->nnonces] = ts;
    k->nnonces++;
    return 0;
}

int
woo_authenticate(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                 struct sbx_resp *resp, bool *can_write)
{
    const char      *qck = woo_q(req, "consumer_key");
    const char      *qcs = woo_q(req, "consumer_secret");
    const char      *hdr = sbx_req_header(req, "Authorization");
    const char      *ctype = sbx_req_header(req, "Content-Type");
    struct woo_key  *k;
    struct sbx_kv   *params;
    size_t           n = 0;
    size_t           cap;
    size_t           i;
    const char      *need[] = {"oauth_consumer_key", "oauth_timestamp", "oauth_nonce",
                               "oauth_signature", "oauth_signature_method"};
    const char      *got[5] = {NULL, NULL, NULL, NULL, NULL};
    char             missing[160] = "";
    bool             have_one = false;
    int              nmissing = 0;
    char            *url;
    const char      *q;
    char             sig[128];
    char            *given;
    int64_t          ts;

    *can_write = false;
    /* Basic path (HTTPS in WooCommerce): GET parameters take precedence over the header. */
    if (qck != NULL && qck[0] != '\0' && qcs != NULL && qcs[0] != '\0') {
        k = key_by_ck(st, qck);
        if (k == NULL)
            return auth_fail(resp, "woocommerce_rest_cannot_view",
                             "Sorry, you cannot list resources.");
        if (!sbx_str_eq_ct(k->cs, qcs))
            return auth_fail(resp, "woocommerce_rest_authentication_error",
                             "Consumer secret is invalid.");
        return check_permissions(k, req, resp, can_write);
    }
    if (hdr != NULL && strncasecmp(hdr, "Basic ", 6) == 0) {
        unsigned char dec[256];
        long          len = sbx_b64_decode(hdr + 6, strlen(hdr + 6), dec, sizeof(dec) - 1);
        char         *colon;

        if (len > 0) {
            dec[len] = '\0';
            colon = strchr((char *)dec, ':');
            if (colon != NULL && colon != (char *)dec && colon[1] != '\0') {
                *colon = '\0';
                k = key_by_ck(st, (char *)dec);
                if (k == NULL)
                    return auth_fail(resp, "woocommerce_rest_cannot_view",
                                     "Sorry, you cannot list resources.");
                if (!sbx_str_eq_ct(k->cs, colon + 1))
                    return auth_fail(resp, "woocommerce_rest_authentication_error",
                                     "Consumer secret is invalid.");
                return check_permissions(k, req, resp, can_write);
            }
        }
    }

    /* OAuth 1.0a path: GET + POST (form) + Authorization: OAuth parameters. */
    cap = req->nquery + 16;
    if (ctype != NULL && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0)
        cap += 256;
    params = sbx_arena_alloc(req->arena, cap * sizeof(*params));
    if (params == NULL)
        return auth_fail(resp, "woocommerce_rest_authentication_error", "Out of memory.");
    for (i = 0; i < req->nquery; i++)
        params[n++] = req->query[i];
    if (cap > req->nquery + 16 && req->body_len > 0) {
        struct evkeyvalq form;
        struct evkeyval *kv;

        TAILQ_INIT(&form);
        if (evhttp_parse_query_str(req->body, &form) == 0) {
            TAILQ_FOREACH(kv, &form, next) {
                if (n >= cap - 16)
                    break;
                params[n].key = sbx_arena_strdup(req->arena, kv->key);
                params[n].value = sbx_arena_strdup(req->arena, kv->value);
                if (params[n].key != NULL && params[n].value != NULL)
                    n++;
            }
        }
        evhttp_clear_headers(&form);
    }
    if (hdr != NULL && strncmp(hdr, "OAuth ", 6) == 0)
        n += parse_oauth_header(req, hdr, params + n, 16);
    for (i = 0; i < 5; i++) {
        size_t j;

        for (j = 0; j < n; j++) {
            if (strcmp(params[j].key, need[i]) == 0)
                got[i] = params[j].value;    /* last wins, as PHP */
        }
        if (got[i] == NULL || got[i][0] == '\0') {
            size_t l = strlen(missing);

            snprintf(missing + l, sizeof(missing) - l, "%s%s", nmissing ? ", " : "", need[i]);
            nmissing++;
        } else {
            have_one = true;
        }
    }
    if (!have_one)
        return auth_fail(resp, "woocommerce_rest_cannot_view",
                         "Sorry, you cannot list resources.");
    if (nmissing > 0) {
        char msg[200];

        snprintf(msg, sizeof(msg), "Missing OAuth parameter%s %s", nmissing > 1 ? "s" : "",
                 missing);
        return auth_fail(resp, "woocommerce_rest_authentication_missing_parameter", msg);
    }
    k = key_by_ck(st, got[0]);
    if (k == NULL)
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "Consumer key is invalid.");
    /* home_url(path): the raw request path on the advertised origin. */
    q = strchr(req->uri, '?');
    url = sbx_arena_printf(req->arena, "%s%.*s", st->base_url,
                           (int)(q != NULL ? (size_t)(q - req->uri) : strlen(req->uri)),
                           req->uri);
    if (url == NULL)
        return auth_fail(resp, "woocommerce_rest_authentication_error", "Out of memory.");
    if (strcmp(got[4], "HMAC-SHA1") != 0 && strcmp(got[4], "HMAC-SHA256") != 0)
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "Invalid signature - signature method is invalid.");
    if (woo_oauth_signature(st, req->method_name, url, params, n, k->cs, got[4], sig,
                            sizeof(sig), req->arena) < 0)
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "Invalid signature - failed to sort parameters.");
    /* WooCommerce turns spaces back into '+' (an unencoded '+' in the query). */
    given = sbx_arena_strdup(req->arena, got[3]);
    if (given == NULL)
        return auth_fail(resp, "woocommerce_rest_authentication_error", "Out of memory.");
    for (i = 0; given[i] != '\0'; i++) {
        if (given[i] == ' ')
            given[i] = '+';
    }
    if (!sbx_str_eq_ct(sig, given))
        return auth_fail(resp, "woocommerce_rest_authentication_error",
                         "Invalid signature - provided signature does not match.");
    if (sbx_parse_i64(got[1], 0, INT64_MAX / 2, &ts) < 0)
        return auth_fail(resp, "woocommerce_rest_authentication_error", "Invalid timestamp.");
    if (check_nonce(k, got[2], ts, sbx_now(p->sbx), resp) < 0)
        return -1;
    return check_permissions(k, req, resp, can_write);
}

/* ------------------------------------------------------------------ /wc-auth/v1 */

static void
html_error(struct sbx_resp *resp, int status, const char *msg)
{
    resp->status = status;
    sbx_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
    sbx_resp_printf(resp, "<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title>"
                    "</head><body id=\"error-page\"><div class=\"wp-die-message\">%s</div>"
                    "</body></html>", msg);
}

static struct woo_auth_ticket *
ticket_find(struct woo_state *st, int64_t id)
{
    size_t i;

    for (i = 0; i < st->ntickets; i++) {
        if (st->tickets[i].id == id)
            return &st->tickets[i];
    }
    return NULL;
}

static bool
callback_done(void *arg, const struct sbx_delivery *d, int attempt, bool ok, int status,
              bool final)
{
    struct sbx_platform    *p = arg;
    struct woo_state       *st = p->state;
    struct woo_auth_ticket *t = ticket_find(st, (int64_t)(sbx_delivery_group(d) -
                                                          AUTH_GROUP_BASE));

    (void)attempt;
    (void)ok;
    (void)final;
    if (t != NULL) {
        t->callback_status = status == 0 ? -1 : status;
        t->done = true;
    }
    return true;
}

static bool
scope_ok(const char *s)
{
    return s != NULL && (strcmp(s, "read") == 0 || strcmp(s, "write") == 0 ||
                         strcmp(s, "read_write") == 0);
}

static void
hex_token(struct sbx_rng *r, const char *prefix, char *out, size_t cap)
{
    unsigned char b[20];
    char          hex[41];
    size_t        i;

    for (i = 0; i < sizeof(b); i++)
        b[i] = (unsigned char)sbx_rng_below(r, 256);
    sbx_hex_encode(b, sizeof(b), hex);
    snprintf(out, cap, "%s%s", prefix, hex);
}

static void
authorize(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
          struct sbx_resp *resp)
{
    const char *names[] = {"app_name", "scope", "user_id", "return_url", "callback_url"};
    const char *v[5];
    char        msg[256];
    char        ck[48];
    char        cs[48];
    size_t      i;
    struct woo_key         *k;
    struct woo_auth_ticket *t;
    struct sbx_jw           w;
    struct evbuffer        *body;
    struct sbx_delivery_spec spec;
    char                    loc[160];

    for (i = 0; i < 5; i++) {
        v[i] = woo_q(req, names[i]);
        if (v[i] == NULL || v[i][0] == '\0') {
            snprintf(msg, sizeof(msg), "Error: Missing parameter %s", names[i]);
            html_error(resp, 400, msg);
            return;
        }
    }
    if (!scope_ok(v[1])) {
        html_error(resp, 400, "Error: Invalid scope");
        return;
    }
    if (strlen(v[3]) >= sizeof(t->return_url) || strlen(v[2]) >= sizeof(t->user_id)) {
        html_error(resp, 400, "Error: parameter too long");
        return;
    }
    /* Real WooCommerce demands an https callback_url; the sandbox delivers to loopback http://
     * only (the outbox refuses anything else and the callback then fails). */
    if (st->ntickets >= sizeof(st->tickets) / sizeof(st->tickets[0])) {
        memmove(st->tickets, st->tickets + 1, (st->ntickets - 1) * sizeof(st->tickets[0]));
        st->ntickets--;
    }
    hex_token(&st->rng, "ck_", ck, sizeof(ck));
    hex_token(&st->rng, "cs_", cs, sizeof(cs));
    k = woo_add_key(st, ck, cs, strcmp(v[1], "read") == 0    ? "read"
                                : strcmp(v[1], "write") == 0 ? "write"
                                                             : "read_write", v[0]);
    if (k == NULL) {
        html_error(resp, 500, "Error: too many keys");
        return;
    }
    t = &st->tickets[st->ntickets++];
    memset(t, 0, sizeof(*t));
    t->id = k->id;
    snprintf(t->return_url, sizeof(t->return_url), "%s", v[3]);
    snprintf(t->user_id, sizeof(t->user_id), "%s", v[2]);

    body = evbuffer_new();
    if (body == NULL) {
        html_error(resp, 500, "Error: out of memory");
        return;
    }
    sbx_jw_init(&w, body);
    sbx_jw_obj(&w);
    sbx_jw_ki64(&w, "key_id", k->id);
    sbx_jw_kstr(&w, "user_id", v[2]);
    sbx_jw_kstr(&w, "consumer_key", k->ck);
    sbx_jw_kstr(&w, "consumer_secret", k->cs);
    sbx_jw_kstr(&w, "key_permissions", k->permissions);
    sbx_jw_obj_end(&w);
    sbx_jw_flush(&w);
    memset(&spec, 0, sizeof(spec));
    spec.url = v[4];
    spec.body = evbuffer_pullup(body, -1);
    spec.body_len = evbuffer_get_length(body);
    spec.content_type = "application/json;charset=UTF-8";
    spec.label = "wc-auth callback";
    spec.timeout_ms = 60000;
    spec.cb = callback_done;
    spec.arg = p;
    spec.group = AUTH_GROUP_BASE + (uint64_t)k->id;
    if (sbx_outbox_post(p, &spec) < 0) {
        t->done = true;
        t->callback_status = -1;
    }
    evbuffer_free(body);
    /* Auto-approved: the browser goes on to the grant step, which waits for the callback. */
    snprintf(loc, sizeof(loc), "%s/wc-auth/v1/access_granted/?ticket=%" PRId64, st->base_url,
             t->id);
    resp->status = 302;
    sbx_resp_header(resp, "Location", loc);
}

static void
access_granted(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp)
{
    const char             *ts = woo_q(req, "ticket");
    int64_t                 id;
    struct woo_auth_ticket *t;
    struct evbuffer        *loc;
    size_t                  i;
    char                    self[160];

    if (ts == NULL || sbx_parse_i64(ts, 1, INT64_MAX, &id) < 0 ||
        (t = ticket_find(st, id)) == NULL) {
        html_error(resp, 400, "Error: Invalid request");
        return;
    }
    if (!t->done) {
        if (++t->polls > 15) {
            sbx_resp_header(resp, "Retry-After", "1");
            html_error(resp, 503, "Waiting for the callback_url to answer.");
            return;
        }
        snprintf(self, sizeof(self), "%s/wc-auth/v1/access_granted/?ticket=%" PRId64,
                 st->base_url, t->id);
        resp->status = 302;
        sbx_resp_header(resp, "Location", self);
        return;
    }
    if (t->callback_status != 200) {
        /* platforms.md 2.1: anything but exactly 200 and the key is not kept. */
        for (i = 0; i < st->nkeys; i++) {
            if (st->keys[i].id == t->id)
                st->keys[i].ck[0] = '\0';
        }
        html_error(resp, 401, "Error: An error occurred in the request and at the time were "
                              "unable to send the consumer data");
        return;
    }
    loc = evbuffer_new();
    if (loc == NULL) {
        html_error(resp, 500, "Error: out of memory");
        return;
    }
    evbuffer_add_printf(loc, "%s%ssuccess=1&user_id=", t->return_url,
                        strchr(t->return_url, '?') != NULL ? "&" : "?");
    /* add_query_arg() does not encode: only what cannot appear in a header is escaped. */
    for (i = 0; t->user_id[i] != '\0'; i++) {
        unsigned char c = (unsigned char)t->user_id[i];

        if (c <= 0x20 || c >= 0x7f)
            evbuffer_add_printf(loc, "%%%02X", c);
        else
            evbuffer_add(loc, &t->user_id[i], 1);
    }
    evbuffer_add(loc, "", 1);
    resp->status = 302;
    sbx_resp_header(resp, "Location", (const char *)evbuffer_pullup(loc, -1));
    evbuffer_free(loc);
}

void
woo_handle_wc_auth(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                   struct sbx_resp *resp, const char *what)
{
    if (strcmp(what, "authorize") == 0 || strcmp(what, "authorize/") == 0) {
        authorize(p, st, req, resp);
        return;
    }
    if (strcmp(what, "access_granted") == 0 || strcmp(what, "access_granted/") == 0) {
        access_granted(st, req, resp);
        return;
    }
    html_error(resp, 404, "Error: Invalid request");
}
