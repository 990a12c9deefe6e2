/*
 * WooCommerce imitation: webhooks (platforms.md 2.6). CRUD under /wp-json/wc/v3/webhooks;
 * deliveries POST the resource's REST JSON with X-WC-Webhook-Source/Topic/Resource/Event/
 * Signature/ID/Delivery-ID, Signature = base64 HMAC-SHA256 of the raw body with the
 * webhook's secret; `*.deleted` sends {"id":N}. Success is HTTP 200-302; there are NO retries;
 * a failure when failure_count is already above the maximum (5) disables the webhook,
 * otherwise it increments failure_count, and a success resets it. Creating or activating a
 * webhook sends the unsigned form-encoded ping `webhook_id=<id>`.
 */
#include "woo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define WOO_HOOK_TIMEOUT_MS 60000       /* platforms.md 2.6: 60 s */

static const char *const resources[] = {"order", "product", "customer", "coupon"};
static const char *const events[] = {"created", "updated", "deleted", "restored"};

static bool
topic_valid(const char *t)
{
    const char *dot = strchr(t, '.');
    size_t      i;
    size_t      j;

    if (strncmp(t, "action.", 7) == 0 && t[7] != '\0')
        return true;
    if (dot == NULL)
        return false;
    for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        if (strlen(resources[i]) == (size_t)(dot - t) &&
            strncmp(resources[i], t, (size_t)(dot - t)) == 0)
            break;
    }
    if (i == sizeof(resources) / sizeof(resources[0]))
        return false;
    for (j = 0; j < sizeof(events) / sizeof(events[0]); j++) {
        if (strcmp(events[j], dot + 1) == 0)
            return true;
    }
    return false;
}

void
woo_hook_signature(const char *secret, const void *body, size_t len, char out[64])
{
    unsigned char mac[32];

    sbx_hmac_sha256(secret, strlen(secret), body, len, mac);
    sbx_b64_encode(mac, 32, out, 64);
}

static struct woo_hook *
hook_find(struct woo_state *st, int64_t id)
{
    size_t i;

    for (i = 0; i < st->nhooks; i++) {
        if (st->hooks[i].id == id && !st->hooks[i].deleted)
            return &st->hooks[i];
    }
    return NULL;
}

static void
hook_names(struct sbx_jw *w, const char *topic)
{
    static const struct {
        const char *topic;
        const char *hooks[3];
    } map[] = {
        {"order.created", {"woocommerce_new_order", NULL, NULL}},
        {"order.updated", {"woocommerce_update_order", "woocommerce_order_refunded", NULL}},
        {"order.deleted", {"wp_trash_post", "woocommerce_trash_order", NULL}},
        {"order.restored", {"untrashed_post", NULL, NULL}},
        {"product.created", {"woocommerce_new_product", "woocommerce_new_product_variation",
                             NULL}},
        {"product.updated", {"woocommerce_update_product",
                             "woocommerce_update_product_variation", NULL}},
        {"product.deleted", {"wp_trash_post", NULL, NULL}},
        {"product.restored", {"untrashed_post", NULL, NULL}},
        {"customer.created", {"user_register", "woocommerce_created_customer", NULL}},
        {"customer.updated", {"profile_update", "woocommerce_update_customer", NULL}},
        {"customer.deleted", {"delete_user", NULL, NULL}},
    };
    size_t i;
    size_t j;

    sbx_jw_key(w, "hooks");
    sbx_jw_arr(w);
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].topic, topic) != 0)
            continue;
        for (j = 0; j < 3 && map[i].hooks[j] != NULL; j++)
            sbx_jw_str(w, map[i].hooks[j]);
    }
    if (strncmp(topic, "action.", 7) == 0)
        sbx_jw_str(w, topic + 7);
    sbx_jw_arr_end(w);
}

void
woo_render_hook(struct sbx_jw *w, struct woo_state *st, const struct woo_hook *h, bool extras)
{
    const char *dot = strchr(h->topic, '.');
    char        self[64];

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", h->id);
    sbx_jw_kstr(w, "name", h->name);
    sbx_jw_kstr(w, "status", h->status);
    sbx_jw_kstr(w, "topic", h->topic);
    sbx_jw_key(w, "resource");
    sbx_jw_strn(w, h->topic, dot != NULL ? (size_t)(dot - h->topic) : strlen(h->topic));
    sbx_jw_kstr(w, "event", dot != NULL ? dot + 1 : "");
    hook_names(w, h->topic);
    sbx_jw_kstr(w, "delivery_url", h->url);
    woo_jw_dates(w, st, "date_created", h->created);
    woo_jw_dates(w, st, "date_modified", h->modified);
    if (extras) {
        /* Sandbox extras, only through the control API. */
        sbx_jw_ki64(w, "_failure_count", h->failures);
        sbx_jw_ki64(w, "_deliveries_ok", h->ok);
        sbx_jw_ki64(w, "_deliveries_failed", h->failed);
        sbx_jw_kstr(w, "_secret", h->secret);
    }
    snprintf(self, sizeof(self), "webhooks/%" PRId64, h->id);
    sbx_jw_key(w, "_links");
    sbx_jw_obj(w);
    sbx_jw_key(w, "self");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    {
        char buf[160];

        snprintf(buf, sizeof(buf), "%s/wp-json/wc/v3/%s", st->base_url, self);
        sbx_jw_kstr(w, "href", buf);
    }
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    sbx_jw_obj_end(w);
    sbx_jw_obj_end(w);
}

/* ------------------------------------------------------------------ deliveries */

static bool
delivery_cb(void *arg, const struct sbx_delivery *d, int attempt, bool ok, int status,
            bool final)
{
    struct sbx_platform *p = arg;
    struct woo_state    *st = p->state;
    struct woo_hook     *h = hook_find(st, (int64_t)sbx_delivery_group(d));

    (void)attempt;
    (void)ok;
    (void)final;
    if (h == NULL)
        return true;
    if (status >= 200 && status <= 302) {
        h->failures = 0;
        h->ok++;
        return true;
    }
    h->failed++;
    /* WC_Webhook::failed_delivery(): disable when the count is already above the maximum. */
    if (h->failures > st->max_failures)
        h->status = "disabled";
    else
        h->failures++;
    return true;
}

static bool
ping_cb(void *arg, const struct sbx_delivery *d, int attempt, bool ok, int status, bool final)
{
    (void)arg;
    (void)d;
    (void)attempt;
    (void)ok;
    (void)status;
    (void)final;
    return true;
}

static void
send_ping(struct sbx_platform *p, struct woo_hook *h)
{
    struct sbx_delivery_spec spec;
    char                     body[48];

    snprintf(body, sizeof(body), "webhook_id=%" PRId64, h->id);
    memset(&spec, 0, sizeof(spec));
    spec.url = h->url;
    spec.body = body;
    spec.body_len = strlen(body);
    spec.content_type = "application/x-www-form-urlencoded";
    spec.label = "ping";
    spec.timeout_ms = WOO_HOOK_TIMEOUT_MS;
    spec.cb = ping_cb;
    spec.arg = p;
    spec.group = (uint64_t)h->id;
    (void)sbx_outbox_post(p, &spec);
}

/*
 * PHP's json_encode() without flags, which wp_json_encode() uses for REST answers and webhook
 * bodies: '/' is written "\/" and every non-ASCII character as \uXXXX (surrogate pairs above
 * U+FFFF). Applied to a complete UTF-8 JSON text, byte-wise (both only occur inside strings).
 */
int
woo_php_json(const unsigned char *in, size_t len, struct evbuffer *out)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = in[i];
        uint32_t      cp;
        size_t        n;

        if (c == '/') {
            evbuffer_add(out, "\\/", 2);
            i++;
            continue;
        }
        if (c < 0x80) {
            size_t j = i;

            while (j < len && in[j] < 0x80 && in[j] != '/')
                j++;
            evbuffer_add(out, in + i, j - i);
            i = j;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            n = 1;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            n = 2;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            n = 3;
        } else {
            return -1;
        }
        {
            size_t k;

            for (k = 1; k <= n; k++) {
                if (i + k >= len || (in[i + k] & 0xc0) != 0x80)
                    return -1;
                cp = (cp << 6) | (in[i + k] & 0x3f);
            }
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            evbuffer_add_printf(out, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
                                0xdc00 + (cp & 0x3ff));
        } else {
            evbuffer_add_printf(out, "\\u%04x", cp);
        }
        i += n + 1;
    }
    return 0;
}

static void
render_record(struct sbx_jw *w, struct woo_state *st, enum woo_kind kind, const void *rec)
{
    if (kind == WOO_CUSTOMER)
        woo_render_customer(w, st, rec);
    else if (kind == WOO_PRODUCT)
        woo_render_product(w, st, rec);
    else
        woo_render_order(w, st, rec);
}

static int64_t
record_id(enum woo_kind kind, const void *rec)
{
    if (kind == WOO_CUSTOMER)
        return ((const struct woo_customer *)rec)->id;
    if (kind == WOO_PRODUCT)
        return ((const struct woo_product *)rec)->id;
    return ((const struct woo_order *)rec)->id;
}

void
woo_emit(struct sbx_platform *p, struct woo_state *st, enum woo_kind kind, const char *event,
         const void *record)
{
    const char      *res = kind == WOO_CUSTOMER ? "customer" : kind == WOO_PRODUCT ? "product"
                                                                                   : "order";
    char             topic[48];
    char             src[96];
    char             idbuf[24];
    char             sig[64];
    char             did[40];
    struct evbuffer *raw = NULL;
    struct evbuffer *body = NULL;
    struct sbx_jw    w;
    size_t           i;

    snprintf(topic, sizeof(topic), "%s.%s", res, event);
    for (i = 0; i < st->nhooks; i++) {
        struct woo_hook         *h = &st->hooks[i];
        struct sbx_kv            hdr[7];
        struct sbx_delivery_spec spec;
        unsigned char            mac[32];
        char                     msg[64];

        if (h->deleted || strcmp(h->status, "active") != 0 || strcmp(h->topic, topic) != 0)
            continue;
        if (body == NULL) {
            raw = evbuffer_new();
            body = evbuffer_new();
            if (raw == NULL || body == NULL)
                break;
            sbx_jw_init(&w, raw);
            if (strcmp(event, "deleted") == 0) {
                sbx_jw_obj(&w);
                sbx_jw_ki64(&w, "id", record_id(kind, record));
                sbx_jw_obj_end(&w);
            } else {
                render_record(&w, st, kind, record);
            }
            sbx_jw_flush(&w);
            if (woo_php_json(evbuffer_pullup(raw, -1), evbuffer_get_length(raw), body) < 0)
                break;
        }
        woo_hook_signature(h->secret, evbuffer_pullup(body, -1), evbuffer_get_length(body),
                           sig);
        /* wp_hash(webhook_id . time()): per delivery, not unique, not an idempotency key. */
        snprintf(msg, sizeof(msg), "%" PRId64 "%" PRId64, h->id, sbx_now(p->sbx));
        sbx_hmac_sha256("wp_hash", 7, msg, strlen(msg), mac);
        sbx_hex_encode(mac, 16, did);
        snprintf(src, sizeof(src), "%s/", st->base_url);
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, h->id);
        hdr[0] = (struct sbx_kv){"X-WC-Webhook-Source", src};
        hdr[1] = (struct sbx_kv){"X-WC-Webhook-Topic", topic};
        hdr[2] = (struct sbx_kv){"X-WC-Webhook-Resource", res};
        hdr[3] = (struct sbx_kv){"X-WC-Webhook-Event", event};
        hdr[4] = (struct sbx_kv){"X-WC-Webhook-Signature", sig};
        hdr[5] = (struct sbx_kv){"X-WC-Webhook-ID", idbuf};
        hdr[6] = (struct sbx_kv){"X-WC-Webhook-Delivery-ID", did};
        memset(&spec, 0, sizeof(spec));
        spec.url = h->url;
        spec.headers = hdr;
        spec.nheaders = 7;
        spec.body = evbuffer_pullup(body, -1);
        spec.body_len = evbuffer_get_length(body);
        spec.content_type = "application/json";
        spec.label = topic;
        spec.timeout_ms = WOO_HOOK_TIMEOUT_MS;
        spec.nretries = 0;              /* platforms.md 2.6: no automatic retries */
        spec.cb = delivery_cb;
        spec.arg = p;
        spec.group = (uint64_t)h->id;
        (void)sbx_outbox_post(p, &spec);
    }
    if (raw != NULL)
        evbuffer_free(raw);
    if (body != NULL)
        evbuffer_free(body);
}

/* ------------------------------------------------------------------ REST CRUD */

static const char *
jstr(struct json_object *o, const char *k)
{
    struct json_object *x;

    if (o == NULL || !json_object_object_get_ex(o, k, &x) || x == NULL)
        return NULL;
    return json_object_get_string(x);
}

static int
apply_hook(struct sbx_platform *p, struct woo_state *st, struct woo_hook *h,
           struct json_object *o, struct sbx_resp *resp, bool *activated)
{
    const char *v;
    const char *before = h->status;

    *activated = false;
    v = jstr(o, "topic");
    if (v != NULL) {
        if (!topic_valid(v)) {
            woo_error(resp, 400, "woocommerce_rest_webhook_invalid_topic",
                      "Webhook topic is required and must be valid.");
            return -1;
        }
        h->topic = woo_dup(st, v);
    }
    v = jstr(o, "delivery_url");
    if (v != NULL) {
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            woo_error(resp, 400, "woocommerce_rest_webhook_invalid_delivery_url",
                      "Webhook delivery URL must be a valid URL starting with http:// or "
                      "https://");
            return -1;
        }
        h->url = woo_dup(st, v);
    }
    v = jstr(o, "name");
    if (v != NULL)
        h->name = woo_dup(st, v);
    v = jstr(o, "secret");
    if (v != NULL)
        h->secret = woo_dup(st, v);
    v = jstr(o, "status");
    if (v != NULL) {
        if (strcmp(v, "active") == 0) {
            h->status = "active";
        } else if (strcmp(v, "paused") == 0) {
            h->status = "paused";
        } else if (strcmp(v, "disabled") == 0) {
            h->status = "disabled";
        } else {
            woo_error(resp, 400, "rest_invalid_param", "Invalid parameter(s): status");
            return -1;
        }
    }
    *activated = h->status != NULL && strcmp(h->status, "active") == 0 &&
                 (before == NULL || strcmp(before, "active") != 0);
    (void)p;
    return 0;
}

static void
reply_hook(struct sbx_resp *resp, struct woo_state *st, const struct woo_hook *h, int status)
{
    struct sbx_jw w;

    resp->status = status;
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    woo_render_hook(&w, st, h, false);
    sbx_jw_flush(&w);
}

void
woo_handle_hooks_api(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                     struct sbx_resp *resp, const char *rest, bool can_write)
{
    int64_t             now = sbx_now(p->sbx);
    struct woo_hook    *h;
    struct json_object *o;
    int64_t             id;
    bool                activated;
    struct sbx_jw       w;
    size_t              i;

    if (req->method != SBX_GET && !can_write) {
        woo_error(resp, 401, "woocommerce_rest_cannot_create",
                  "Sorry, you are not allowed to create resources.");
        return;
    }
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        if (req->method == SBX_GET) {
            const char *status = woo_q(req, "status");
            size_t      n = 0;
            char        buf[24];

            woo_json_headers(resp);
            sbx_jw_init(&w, resp->body);
            sbx_jw_arr(&w);
            for (i = st->nhooks; i > 0; i--) {
                h = &st->hooks[i - 1];
                if (h->deleted || (status != NULL && strcmp(status, "all") != 0 &&
                                   strcmp(status, h->status) != 0))
                    continue;
                woo_render_hook(&w, st, h, false);
                n++;
            }
            sbx_jw_arr_end(&w);
            snprintf(buf, sizeof(buf), "%zu", n);
            sbx_resp_header(resp, "X-WP-Total", buf);
            sbx_resp_header(resp, "X-WP-TotalPages", n > 0 ? "1" : "0");
            return;
        }
        if (req->method != SBX_POST) {
            woo_error(resp, 404, "rest_no_route",
                      "No route was found matching the URL and request method.");
            return;
        }
        o = sbx_req_json(req);
        if (o == NULL || jstr(o, "topic") == NULL || jstr(o, "delivery_url") == NULL) {
            json_object_put(o);
            woo_error(resp, 400, "rest_missing_callback_param",
                      "Missing parameter(s): topic, delivery_url");
            return;
        }
        if (st->nhooks >= st->cap_hooks) {
            size_t           ncap = st->cap_hooks ? st->cap_hooks * 2 : 16;
            struct woo_hook *nh = realloc(st->hooks, ncap * sizeof(*nh));

            if (nh == NULL) {
                json_object_put(o);
                woo_error(resp, 500, "internal_error", "Out of memory.");
                return;
            }
            st->hooks = nh;
            st->cap_hooks = ncap;
        }
        h = &st->hooks[st->nhooks];
        memset(h, 0, sizeof(*h));
        h->id = st->next_hook_id;
        h->created = h->modified = now;
        h->name = woo_dup(st, "");
        {
            char tok[48];

            /* The docs' default: a hash from the creating user; always send your own. */
            sbx_rng_token(&st->rng, "", 32, tok, sizeof(tok));
            h->secret = woo_dup(st, tok);
        }
        if (apply_hook(p, st, h, o, resp, &activated) < 0) {
            json_object_put(o);
            return;
        }
        json_object_put(o);
        if (h->status == NULL) {
            h->status = "active";
            activated = true;
        }
        if (h->name[0] == '\0') {
            char nm[96];

            snprintf(nm, sizeof(nm), "Webhook created on %" PRId64, now);
            h->name = woo_dup(st, nm);
        }
        st->nhooks++;
        st->next_hook_id++;
        reply_hook(resp, st, h, 201);
        if (activated)
            send_ping(p, h);
        return;
    }
    if (rest[0] != '/' || sbx_parse_i64(rest + 1, 1, INT64_MAX, &id) < 0) {
        woo_error(resp, 404, "rest_no_route",
                  "No route was found matching the URL and request method.");
        return;
    }
    h = hook_find(st, id);
    if (h == NULL) {
        woo_error(resp, 404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.");
        return;
    }
    if (req->method == SBX_GET) {
        reply_hook(resp, st, h, 200);
        return;
    }
    if (req->method == SBX_DELETE) {
        const char *f = woo_q(req, "force");

        if (f == NULL || (strcmp(f, "true") != 0 && strcmp(f, "1") != 0)) {
            woo_error(resp, 501, "woocommerce_rest_trash_not_supported",
                      "Webhooks do not support trashing.");
            return;
        }
        reply_hook(resp, st, h, 200);
        h->deleted = true;
        sbx_outbox_cancel_group(p, (uint64_t)h->id);
        return;
    }
    o = sbx_req_json(req);
    if (o == NULL) {
        woo_error(resp, 400, "rest_invalid_json", "Invalid JSON body passed.");
        return;
    }
    if (apply_hook(p, st, h, o, resp, &activated) < 0) {
        json_object_put(o);
        return;
    }
    json_object_put(o);
    h->modified = now;
    reply_hook(resp, st, h, 200);
    if (activated)
        send_ping(p, h);
}
