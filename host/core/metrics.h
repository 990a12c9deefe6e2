/*
 * Metrics in the Prometheus text format (GET /metrics). A fixed registry of named series;
 * counters and gauges are atomics, histograms have fixed buckets in seconds. Thread-safe:
 * registration takes a lock, updates are lock-free.
 */
#ifndef HUB_CORE_METRICS_H
#define HUB_CORE_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"

#define HUB_METRICS_MAX      512
#define HUB_METRIC_BUCKETS   14

enum { HUB_METRIC_COUNTER = 1, HUB_METRIC_GAUGE = 2, HUB_METRIC_HISTOGRAM = 3 };

struct hub_metric {
    char           name[96];
    char           labels[160];    /* 'platform="shopify",outcome="ok"' or "" */
    char           help[160];
    int            type;
    atomic_llong   value;          /* counter/gauge; histogram: count */
    atomic_llong   sum_us;         /* histogram: sum in microseconds */
    atomic_llong   buckets[HUB_METRIC_BUCKETS];
};

/* Find or create a series. Returns NULL when the registry is full (updates then do nothing). */
struct hub_metric *hub_metric_get(int type, const char *name, const char *labels,
                                  const char *help);
void hub_metric_add(struct hub_metric *m, long long n);
void hub_metric_set(struct hub_metric *m, long long v);
void hub_metric_observe_us(struct hub_metric *m, long long us);
/* Shorthands that look the series up each time (for rare events). */
void hub_metric_inc(const char *name, const char *labels, const char *help);
/* Render every series. */
int  hub_metrics_render(struct hub_buf *out);
/* Forget everything (tests). */
void hub_metrics_reset(void);

#endif
