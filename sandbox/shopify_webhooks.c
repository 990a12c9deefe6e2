/*
 * Shopify imitation: webhook subscriptions (REST webhooks.json) and deliveries
 * (platforms.md 1.7): every header Shopify sends, base64 HMAC-SHA256 of the raw body with the
 * app secret, the same X-Shopify-Event-Id across retries, 8 tries over about 4 h (scaled by
 * --time-scale), 5 s per attempt, only 2xx counts, and the subscription deleted after 8
 * consecutive failures.
 */
#include "shopify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* Delay before tries 2..8: 1 min, 3 min, 7 min, 15 min, 30 min, 1 h, 2 h = 3 h 56 min. */
static const double retry_delays[SHP_WEBHOOK_TRIES - 1] = {60, 180, 420, 900, 1800, 3600, 7200};

static const char *const topics[] = {
    "app/uninstalled", "customers/create", "customers/update", "customers/delete",
    "customers/data_request", "customers/redact", "shop/redact",
    "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
    "orders/delete", "refunds/create", "products/create", "products/update", "products/delete",
    "inventory_levels/update", NULL
};

bool
shp_topic_valid(const char *topic)
{
    size_t i;

    for (i = 0; topics[i] != NULL; i++) {
        if (strcmp(topics[i], topic) == 0)
            return true;
    }
    return false;
}

static void
sub_free_fields(struct shp_sub *s)
{
    free(s->topic);
    free(s->address);
    free(s->fields);
    free(s->api_version);
}

void
shp_free_subs(struct shp_state *st)
{
    size_t i;

    for (i = 0; i < st->nsubs; i++)
        sub_free_fields(&st->subs[i]);
    free(st->subs);
    st->subs = NULL;
    st->nsubs = 0;
    st->cap_subs = 0;
}

static struct shp_sub *
sub_find(struct shp_state *st, int64_t id)
{
    size_t i;

    for (i = 0; i < st->nsubs; i++) {
        if (st->subs[i].id == id)
            return &st->subs[i];
    }
    return NULL;
}

static void
sub_delete(struct shp_state *st, struct shp_sub *s)
{
    size_t i = (size_t)(s - st->subs);

    sub_free_fields(s);
    memmove(&st->subs[i], &st->subs[i + 1], (st->nsubs - i - 1) * sizeof(*s));
    st->nsubs--;
}

void
shp_render_sub(struct sbx_jw *w, struct shp_state *st, const struct shp_sub *s, bool extras)
{
    char  buf[96];
    char *f;
    char *save;
    char *copy;

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", s->id);
    sbx_jw_kstr(w, "address", s->address);
    sbx_jw_kstr(w, "topic", s->topic);
    sbx_jw_ktime(w, "created_at", s->created_at, st->utc_offset_min);
    sbx_jw_ktime(w, "updated_at", s->updated_at, st->utc_offset_min);
    sbx_jw_kstr(w, "format", "json");
    sbx_jw_key(w, "fields");
    sbx_jw_arr(w);
    copy = s->fields != NULL ? strdup(s->fields) : NULL;
    for (f = copy != NULL ? strtok_r(copy, ",", &save) : NULL; f != NULL;
         f = strtok_r(NULL, ",", &save))
        sbx_jw_str(w, f);
    free(copy);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "metafield_namespaces");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    sbx_jw_kstr(w, "api_version", s->api_version);
    sbx_jw_key(w, "private_metafield_namespaces");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    snprintf(buf, sizeof(buf), "gid://shopify/WebhookSubscription/%" PRId64, s->id);
    sbx_jw_kstr(w, "admin_graphql_api_id", buf);
    /* Sandbox extras (not in Shopify's representation) only through the control API. */
    if (extras) {
        sbx_jw_ki64(w, "_consecutive_failures", s->consecutive_failures);
        sbx_jw_ki64(w, "_deliveries_ok", s->deliveries_ok);
        sbx_jw_ki64(w, "_deliveries_failed", s->deliveries_failed);
    }
    sbx_jw_obj_end(w);
}

/* ------------------------------------------------------------------ deliveries */

static bool
delivery_cb(void *arg, const struct sbx_delivery *d, int attempt, bool ok, int status,
            bool final)
{
    struct sbx_platform *p = arg;
    struct shp_state    *st = p->state;
    struct shp_sub      *s = sub_find(st, (int64_t)sbx_delivery_group(d));

    (void)attempt;
    (void)status;
    (void)final;
    if (s == NULL)
        return true;        /* subscription gone: stop retrying */
    if (ok) {
        s->consecutive_failures = 0;
        s->deliveries_ok++;
        return false;
    }
    s->deliveries_failed++;
    if (++s->consecutive_failures >= SHP_WEBHOOK_TRIES) {
        /* platforms.md 1.7: an API-created subscription is deleted after 8 failures. */
        int64_t id = s->id;

        sub_delete(st, s);
        sbx_outbox_cancel_group(p, (uint64_t)id);
        return true;
    }
    return false;
}

static void
uuid_from(struct sbx_rng *r, char out[37])
{
    unsigned char b[16];
    char          hex[33];
    size_t        i;
    uint64_t      x;

    for (i = 0; i < 16; i += 8) {
        x = sbx_rng_next(r);
        memcpy(b + i, &x, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    sbx_hex_encode(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static void
render_payload(struct sbx_jw *w, struct shp_state *st, enum shp_kind kind, const void *record,
               const void *extra)
{
    switch (kind) {
    case SHP_CUSTOMER:
        shp_render_customer(w, st, record);
        break;
    case SHP_PRODUCT:
        shp_render_product(w, st, record);
        break;
    case SHP_ORDER:
        shp_render_order(w, st, record);
        break;
    case SHP_REFUND:
        shp_render_refund(w, st, record, extra);
        break;
    case SHP_INVENTORY: {
        const struct shp_variant *v = record;
        char                      buf[96];

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "inventory_item_id", v->inventory_item_id);
        sbx_jw_ki64(w, "location_id", 655441491);
        sbx_jw_ki64(w, "available", v->inventory_quantity);
        sbx_jw_ktime(w, "updated_at", v->inventory_updated_at, st->utc_offset_min);
        snprintf(buf, sizeof(buf), "gid://shopify/InventoryLevel/655441491?inventory_item_id=%"
                 PRId64, v->inventory_item_id);
        sbx_jw_kstr(w, "admin_graphql_api_id", buf);
        sbx_jw_obj_end(w);
        break;
    }
    case SHP_SHOP:
        shp_render_shop(w, st);
        break;
    case SHP_DELETED:
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", *(const int64_t *)record);
        sbx_jw_obj_end(w);
        break;
    }
}

void
shp_emit(struct sbx_platform *p, struct shp_state *st, const char *topic, enum shp_kind kind,
         const void *record, const void *extra)
{
    struct sbx_delivery_spec spec;
    struct sbx_kv            h[7];
    struct sbx_jw            w;
    struct evbuffer         *body;
    unsigned char            mac[32];
    char                     sig[64];
    char                     event_id[37];
    char                     webhook_id[37];
    char                     triggered[48];
    char                     ms[8];
    size_t                   i;
    size_t                   len;
    int64_t                  now_ms = sbx_now_ms(p->sbx);

    /* One event id per event, shared by every subscription and every retry. */
    uuid_from(&st->rng, event_id);
    sbx_time_format(now_ms / 1000, 0, false, triggered, sizeof(triggered));
    len = strlen(triggered);
    if (len > 6) {
        /* "...T10:00:00+00:00" -> "...T10:00:00.123Z" */
        triggered[len - 6] = '\0';
        snprintf(ms, sizeof(ms), ".%03d", (int)(now_ms % 1000));
        snprintf(triggered + strlen(triggered), sizeof(triggered) - strlen(triggered), "%sZ", ms);
    }
    for (i = 0; i < st->nsubs; i++) {
        struct shp_sub *s = &st->subs[i];

        if (strcmp(s->topic, topic) != 0)
            continue;
        body = evbuffer_new();
        if (body == NULL)
            return;
        sbx_jw_init(&w, body);
        sbx_jw_set_filter(&w, s->fields, 1);
        render_payload(&w, st, kind, record, extra);
        /* Signed over the exact bytes sent (platforms.md 9.1). */
        sbx_hmac_sha256(st->api_secret, strlen(st->api_secret), evbuffer_pullup(body, -1),
                        evbuffer_get_length(body), mac);
        sbx_b64_encode(mac, 32, sig, sizeof(sig));
        uuid_from(&st->rng, webhook_id);
        h[0] = (struct sbx_kv){"X-Shopify-Topic", topic};
        h[1] = (struct sbx_kv){"X-Shopify-Hmac-Sha256", sig};
        h[2] = (struct sbx_kv){"X-Shopify-Shop-Domain", st->shop_domain};
        h[3] = (struct sbx_kv){"X-Shopify-API-Version", s->api_version};
        h[4] = (struct sbx_kv){"X-Shopify-Webhook-Id", webhook_id};
        h[5] = (struct sbx_kv){"X-Shopify-Event-Id", event_id};
        h[6] = (struct sbx_kv){"X-Shopify-Triggered-At", triggered};
        memset(&spec, 0, sizeof(spec));
        spec.url = s->address;
        spec.headers = h;
        spec.nheaders = 7;
        spec.body = evbuffer_pullup(body, -1);
        spec.body_len = evbuffer_get_length(body);
        spec.content_type = "application/json";
        spec.label = topic;
        spec.retry_delays_s = retry_delays;
        spec.nretries = SHP_WEBHOOK_TRIES - 1;
        spec.timeout_ms = 5000;
        spec.cb = delivery_cb;
        spec.arg = p;
        spec.group = (uint64_t)s->id;
        if (sbx_outbox_post(p, &spec) < 0)
            fprintf(stderr, "shopify: cannot queue %s delivery\n", topic);
        evbuffer_free(body);
        /* The outbox callback may have deleted subscriptions (refused URL): re-check. */
        if (i >= st->nsubs || &st->subs[i] != s || st->subs[i].id != (int64_t)spec.group)
            i = i > 0 ? i - 1 : 0;
    }
}

/* ------------------------------------------------------------------ REST webhooks.json */

static int
sub_from_json(struct shp_state *st, struct json_object *o, struct shp_sub *s, bool create,
              struct sbx_resp *resp)
{
    struct json_object *v;
    size_t              i;

    if (json_object_object_get_ex(o, "topic", &v)) {
        const char *t = json_object_get_string(v);
        char        msg[256];

        if (!create) {
            shp_error(resp, 422, "{\"topic\":[\"cannot be changed\"]}");
            return -1;
        }
        if (!shp_topic_valid(t)) {
            snprintf(msg, sizeof(msg), "{\"topic\":[\"Invalid topic specified: %.64s\"]}", t);
            shp_error(resp, 422, msg);
            return -1;
        }
        s->topic = strdup(t);
    } else if (create) {
        shp_error(resp, 422, "{\"topic\":[\"can't be blank\"]}");
        return -1;
    }
    if (json_object_object_get_ex(o, "address", &v)) {
        const char *a = json_object_get_string(v);

        if (strncmp(a, "http://", 7) != 0 && strncmp(a, "https://", 8) != 0) {
            shp_error(resp, 422, "{\"address\":[\"is invalid\"]}");
            return -1;
        }
        free(s->address);
        s->address = strdup(a);
    } else if (create) {
        shp_error(resp, 422, "{\"address\":[\"can't be blank\"]}");
        return -1;
    }
    if (json_object_object_get_ex(o, "format", &v) &&
        strcmp(json_object_get_string(v), "json") != 0) {
        shp_error(resp, 422, "{\"format\":[\"only json is served by the sandbox\"]}");
        return -1;
    }
    if (json_object_object_get_ex(o, "fields", &v) && json_object_is_type(v, json_type_array)) {
        struct evbuffer *b = evbuffer_new();

        for (i = 0; b != NULL && i < json_object_array_length(v) && i < 100; i++) {
            if (i > 0)
                evbuffer_add(b, ",", 1);
            evbuffer_add_printf(b, "%s",
                                json_object_get_string(json_object_array_get_idx(v, i)));
        }
        if (b != NULL) {
            evbuffer_add(b, "", 1);
            free(s->fields);
            s->fields = evbuffer_get_length(b) > 1 ? strdup((char *)evbuffer_pullup(b, -1))
                                                   : NULL;
            evbuffer_free(b);
        }
    }
    if (create) {
        for (i = 0; i < st->nsubs; i++) {
            if (strcmp(st->subs[i].topic, s->topic) == 0 &&
                strcmp(st->subs[i].address, s->address) == 0) {
                shp_error(resp, 422, "{\"address\":[\"for this topic has already been "
                                     "taken\"]}");
                return -1;
            }
        }
    }
    return 0;
}

void
shp_handle_webhooks_api(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
                        struct sbx_resp *resp, const char *version, const char *rest)
{
    struct sbx_jw       w;
    struct json_object *whole;
    struct json_object *o;
    struct shp_sub      ns;
    struct shp_sub     *s;
    int64_t             id = 0;
    size_t              i;
    size_t              n;
    char                num[32];
    const char         *topic = sbx_req_query(req, "topic");
    const char         *address = sbx_req_query(req, "address");

    if (strcmp(rest, "webhooks/count.json") == 0 && req->method == SBX_GET) {
        for (i = 0, n = 0; i < st->nsubs; i++)
            n += topic == NULL || strcmp(st->subs[i].topic, topic) == 0;
        shp_json_headers(resp);
        sbx_resp_printf(resp, "{\"count\":%zu}", n);
        return;
    }
    if (strcmp(rest, "webhooks.json") == 0 && req->method == SBX_GET) {
        shp_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "webhooks");
        sbx_jw_arr(&w);
        for (i = 0; i < st->nsubs; i++) {
            if (topic != NULL && strcmp(st->subs[i].topic, topic) != 0)
                continue;
            if (address != NULL && strcmp(st->subs[i].address, address) != 0)
                continue;
            sbx_jw_set_filter(&w, NULL, -1);
            shp_render_sub(&w, st, &st->subs[i], false);
        }
        sbx_jw_arr_end(&w);
        sbx_jw_obj_end(&w);
        return;
    }
    if (strcmp(rest, "webhooks.json") == 0 && req->method == SBX_POST) {
        whole = sbx_req_json(req);
        if (whole == NULL || !json_object_object_get_ex(whole, "webhook", &o)) {
            json_object_put(whole);
            shp_error(resp, 400, "{\"webhook\":\"Required parameter missing or invalid\"}");
            return;
        }
        memset(&ns, 0, sizeof(ns));
        if (sub_from_json(st, o, &ns, true, resp) < 0) {
            sub_free_fields(&ns);
            json_object_put(whole);
            return;
        }
        json_object_put(whole);
        if (st->nsubs == st->cap_subs) {
            size_t          cap = st->cap_subs ? st->cap_subs * 2 : 16;
            struct shp_sub *g = realloc(st->subs, cap * sizeof(*g));

            if (g == NULL) {
                sub_free_fields(&ns);
                shp_error(resp, 500, "\"out of memory\"");
                return;
            }
            st->subs = g;
            st->cap_subs = cap;
        }
        ns.id = st->next_sub_id;
        st->next_sub_id += 1 + (int64_t)sbx_rng_below(&st->rng, 997);
        ns.api_version = strdup(version);
        ns.created_at = ns.updated_at = sbx_now(p->sbx);
        st->subs[st->nsubs++] = ns;
        resp->status = 201;
        shp_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "webhook");
        shp_render_sub(&w, st, &st->subs[st->nsubs - 1], false);
        sbx_jw_obj_end(&w);
        return;
    }
    /* webhooks/{id}.json */
    if (strncmp(rest, "webhooks/", 9) == 0) {
        const char *dot = strstr(rest + 9, ".json");
        size_t      len = dot != NULL ? (size_t)(dot - (rest + 9)) : 0;

        if (dot != NULL && dot[5] == '\0' && len > 0 && len < sizeof(num)) {
            memcpy(num, rest + 9, len);
            num[len] = '\0';
            if (sbx_parse_i64(num, 1, INT64_MAX, &id) < 0)
                id = 0;
        }
    }
    s = id != 0 ? sub_find(st, id) : NULL;
    if (s == NULL) {
        shp_error(resp, 404, "\"Not Found\"");
        return;
    }
    if (req->method == SBX_GET) {
        shp_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "webhook");
        shp_render_sub(&w, st, s, false);
        sbx_jw_obj_end(&w);
    } else if (req->method == SBX_PUT) {
        whole = sbx_req_json(req);
        if (whole == NULL || !json_object_object_get_ex(whole, "webhook", &o)) {
            json_object_put(whole);
            shp_error(resp, 400, "{\"webhook\":\"Required parameter missing or invalid\"}");
            return;
        }
        if (sub_from_json(st, o, s, false, resp) < 0) {
            json_object_put(whole);
            return;
        }
        json_object_put(whole);
        s->updated_at = sbx_now(p->sbx);
        shp_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "webhook");
        shp_render_sub(&w, st, s, false);
        sbx_jw_obj_end(&w);
    } else if (req->method == SBX_DELETE) {
        sbx_outbox_cancel_group(p, (uint64_t)s->id);
        sub_delete(st, s);
        shp_json_headers(resp);
        sbx_resp_printf(resp, "{}");
    } else {
        shp_error(resp, 406, "\"Not Acceptable\"");
    }
}
