#include "core/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Upper bounds in microseconds: 1 ms .. 30 s. */
static const long long bucket_us[HUB_METRIC_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
    5000000, 10000000, 30000000
};

static pthread_mutex_t   metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hub_metric metrics[HUB_METRICS_MAX];
static atomic_int        metrics_n;

struct hub_metric *
hub_metric_get(int type, const char *name, const char *labels, const char *help)
{
    struct hub_metric *m = NULL;
    int                i, n;

    if (labels == NULL)
        labels = "";
    n = atomic_load(&metrics_n);
    for (i = 0; i < n; i++) {
        if (strcmp(metrics[i].name, name) == 0 && strcmp(metrics[i].labels, labels) == 0)
            return &metrics[i];
    }
    pthread_mutex_lock(&metrics_lock);
    n = atomic_load(&metrics_n);
    for (i = 0; i < n; i++) {
        if (strcmp(metrics[i].name, name) == 0 && strcmp(metrics[i].labels, labels) == 0) {
            m = &metrics[i];
            goto out;
        }
    }
    if (n < HUB_METRICS_MAX) {
        m = &metrics[n];
        memset(m, 0, sizeof(*m));
        snprintf(m->name, sizeof(m->name), "%s", name);
        snprintf(m->labels, sizeof(m->labels), "%s", labels);
        snprintf(m->help, sizeof(m->help), "%s", help != NULL ? help : "");
        m->type = type;
        atomic_store(&metrics_n, n + 1);
    }
out:
    pthread_mutex_unlock(&metrics_lock);
    return m;
}

void
hub_metric_add(struct hub_metric *m, long long n)
{
    if (m != NULL)
        atomic_fetch_add(&m->value, n);
}

void
hub_metric_set(struct hub_metric *m, long long v)
{
    if (m != NULL)
        atomic_store(&m->value, v);
}

void
hub_metric_observe_us(struct hub_metric *m, long long us)
{
    int i;

    if (m == NULL)
        return;
    atomic_fetch_add(&m->value, 1);
    atomic_fetch_add(&m->sum_us, us);
    for (i = 0; i < HUB_METRIC_BUCKETS; i++) {
        if (us <= bucket_us[i]) {
            atomic_fetch_add(&m->buckets[i], 1);
            break;
        }
    }
}

void
hub_metric_inc(const char *name, const char *labels, const char *help)
{
    hub_metric_add(hub_metric_get(HUB_METRIC_COUNTER, name, labels, help), 1);
}

static const char *
type_name(int t)
{
    return t == HUB_METRIC_COUNTER ? "counter" : t == HUB_METRIC_GAUGE ? "gauge" : "histogram";
}

static int
render_one(struct hub_buf *out, struct hub_metric *m)
{
    const char *sep = m->labels[0] ? "," : "";
    const char *lb = m->labels[0] ? "{" : "", *rb = m->labels[0] ? "}" : "";
    long long   cum = 0;
    int         j, rc = 0;

    if (m->type != HUB_METRIC_HISTOGRAM)
        return hub_buf_printf(out, "%s%s%s%s %lld\n", m->name, lb, m->labels, rb,
                              atomic_load(&m->value));
    for (j = 0; j < HUB_METRIC_BUCKETS; j++) {
        cum += atomic_load(&m->buckets[j]);
        rc |= hub_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %lld\n", m->name, m->labels, sep,
                             (double)bucket_us[j] / 1e6, cum);
    }
    rc |= hub_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %lld\n", m->name, m->labels, sep,
                         atomic_load(&m->value));
    rc |= hub_buf_printf(out, "%s_sum%s%s%s %.6f\n", m->name, lb, m->labels, rb,
                         (double)atomic_load(&m->sum_us) / 1e6);
    rc |= hub_buf_printf(out, "%s_count%s%s%s %lld\n", m->name, lb, m->labels, rb,
                         atomic_load(&m->value));
    return rc;
}

/* Families are rendered together (the text format requires it), in order of first use. */
int
hub_metrics_render(struct hub_buf *out)
{
    int i, j, k, n = atomic_load(&metrics_n), rc = 0;

    for (i = 0; i < n; i++) {
        struct hub_metric *m = &metrics[i];
        int                seen = 0;

        for (j = 0; j < i && !seen; j++)
            seen = strcmp(metrics[j].name, m->name) == 0;
        if (seen)
            continue;
        rc |= hub_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                             type_name(m->type));
        for (k = i; k < n; k++) {
            if (strcmp(metrics[k].name, m->name) == 0)
                rc |= render_one(out, &metrics[k]);
        }
    }
    return rc != 0 ? -1 : 0;
}

void
hub_metrics_reset(void)
{
    pthread_mutex_lock(&metrics_lock);
    atomic_store(&metrics_n, 0);
    pthread_mutex_unlock(&metrics_lock);
}
