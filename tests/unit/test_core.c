/*
 * host/core: configuration sources and refusals, log lines (JSON form, redaction, no
 * interleaving), arenas and bounded buffers, error messages.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"

static void
test_config_file_env_flags(void)
{
    struct hub_config cfg;
    struct hub_error  err;
    const char        text[] =
        "# comment\n"
        "database_url = \"postgresql://u@127.0.0.1:5/db\"\n"
        "listen = 0.0.0.0:9100\n"
        "  workers=8  \n"
        "\n"
        "log_format = text\n";

    hub_config_defaults(&cfg);
    CHECK_EQ(8080, cfg.listen_port);
    CHECK_EQ(0, hub_config_parse(&cfg, text, strlen(text), "hub.conf", &err));
    CHECK_STR_EQ("postgresql://u@127.0.0.1:5/db", cfg.database_url);
    CHECK_STR_EQ("0.0.0.0", cfg.listen_host);
    CHECK_EQ(9100, cfg.listen_port);
    CHECK_EQ(8, cfg.workers);
    CHECK_EQ(0, cfg.log_json);

    setenv("SX_WORKERS", "2", 1);
    setenv("SX_LISTEN", "127.0.0.1:0", 1);
    CHECK_EQ(0, hub_config_load_env(&cfg, &err));
    CHECK_EQ(2, cfg.workers);
    CHECK_EQ(0, cfg.listen_port);
    unsetenv("SX_WORKERS");
    unsetenv("SX_LISTEN");
    CHECK_EQ(0, hub_config_set(&cfg, "workers", "3", "command line", &err));
    CHECK_EQ(3, cfg.workers);
    CHECK_EQ(0, hub_config_finish(&cfg, &err));

    cfg.listen_port = 9000;
    cfg.public_url[0] = '\0';
    CHECK_EQ(0, hub_config_finish(&cfg, &err));
    CHECK_STR_EQ("http://127.0.0.1:9000", cfg.public_url);
}

static void
test_config_refusals(void)
{
    struct hub_config cfg;
    struct hub_error  err;

    hub_config_defaults(&cfg);
    CHECK_EQ(HUB_E_CONFIG, hub_config_parse(&cfg, "workers 4\n", 10, "a.conf", &err));
    CHECK_STR_EQ("a.conf:1: expected key = value", err.msg);
    CHECK_EQ(HUB_E_CONFIG, hub_config_parse(&cfg, "\nnope = 1\n", 10, "a.conf", &err));
    CHECK_STR_EQ("a.conf:2: unknown setting \"nope\"", err.msg);
    CHECK_EQ(HUB_E_CONFIG, hub_config_set(&cfg, "workers", "many", "SX_WORKERS", &err));
    CHECK_STR_EQ("SX_WORKERS: workers must be 0-64, got \"many\"", err.msg);
    CHECK_EQ(HUB_E_CONFIG, hub_config_set(&cfg, "listen", "localhost", "flag", &err));
    CHECK_STR_HAS(err.msg, "listen must be host:port");
    CHECK_EQ(HUB_E_CONFIG, hub_config_set(&cfg, "listen", "h:70000", "flag", &err));
    CHECK_EQ(HUB_E_CONFIG, hub_config_set(&cfg, "log_level", "loud", "flag", &err));
    CHECK_EQ(168, cfg.job_retention_h);          /* the default: a week */
    CHECK_EQ(HUB_E_CONFIG, hub_config_set(&cfg, "job_retention_h", "-1", "flag", &err));
    CHECK_STR_HAS(err.msg, "job_retention_h must be 0-87600");
    CHECK_EQ(0, hub_config_set(&cfg, "job_retention_h", "0", "flag", &err));
    CHECK_EQ(0, cfg.job_retention_h);
    CHECK_EQ(5000, cfg.webhook_yield_lag_ms);     /* processing yields to a burst up to 5 s */
    CHECK_EQ(HUB_E_CONFIG, hub_config_set(&cfg, "webhook_yield_lag_ms", "600001", "f", &err));
    CHECK_STR_HAS(err.msg, "webhook_yield_lag_ms must be 0-600000");
    CHECK_EQ(0, hub_config_set(&cfg, "webhook_yield_lag_ms", "0", "flag", &err));
    CHECK_EQ(0, cfg.webhook_yield_lag_ms);
    CHECK_EQ(HUB_E_CONFIG, hub_config_parse(&cfg, "a\0b", 3, "nul.conf", &err));
    CHECK_STR_HAS(err.msg, "NUL byte");
    CHECK_EQ(HUB_E_IO, hub_config_load_file(&cfg, "/nonexistent/hub.conf", &err));
    CHECK_STR_HAS(err.msg, "cannot open config file /nonexistent/hub.conf");
    strcpy(cfg.public_url, "ftp://x");
    CHECK_EQ(HUB_E_CONFIG, hub_config_finish(&cfg, &err));
}

static char *
capture_log(void (*fn)(void))
{
    char    path[] = "/tmp/sx_core_log_XXXXXX";
    int     fd = mkstemp(path);
    char   *buf = calloc(1, 1 << 20);
    size_t  got = 0;
    ssize_t n;

    REQUIRE(fd >= 0 && buf != NULL);
    hub_log_set_fd(fd);
    fn();
    hub_log_set_fd(2);
    lseek(fd, 0, SEEK_SET);
    while (got < (1 << 20) - 1 && (n = read(fd, buf + got, (1 << 20) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    unlink(path);
    return buf;
}

static void
log_some(void)
{
    hub_log_info("test", "token is shpat_0123456789abcdef and \"quoted\"\nnext");
    hub_log_debug("test", "not shown at info");
    hub_log_fields(HUB_LOG_WARN, "test", "\"job\":12", "with fields");
}

static void
test_log_json_and_redaction(void)
{
    char *out;

    hub_log_set_level(HUB_LOG_INFO);
    hub_log_set_json(1);
    CHECK_EQ(0, hub_log_redact_add("shpat_0123456789abcdef", 22));
    CHECK_EQ(0, hub_log_redact_add("abc", 3));           /* too short to redact: ignored */
    out = capture_log(log_some);
    CHECK_STR_HAS(out, "\"level\":\"info\",\"component\":\"test\",\"msg\":\"token is "
                  "[REDACTED] and \\\"quoted\\\"\\nnext\"}");
    CHECK(strstr(out, "shpat_0123456789abcdef") == NULL);
    CHECK(strstr(out, "not shown") == NULL);
    CHECK_STR_HAS(out, "\"msg\":\"with fields\",\"job\":12}");
    free(out);
    hub_log_redact_clear();
    CHECK_EQ(HUB_LOG_DEBUG, hub_log_level_parse("debug"));
    CHECK_EQ(-1, hub_log_level_parse("verbose"));
}

static void *
log_storm(void *arg)
{
    int i;

    (void)arg;
    for (i = 0; i < 200; i++)
        hub_log_info("storm", "line %d from a thread with some padding to make it longer", i);
    return NULL;
}

static void
storm(void)
{
    pthread_t t[4];
    int       i;

    for (i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, log_storm, NULL);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

/* Each line is whole: 800 lines, each one JSON object from "{" to "}\n". */
static void
test_log_lines_do_not_interleave(void)
{
    char *out = capture_log(storm), *line = out, *nl;
    int   n = 0, bad = 0;

    while ((nl = strchr(line, '\n')) != NULL) {
        n++;
        if (line[0] != '{' || nl[-1] != '}')
            bad++;
        line = nl + 1;
    }
    CHECK_EQ(800, n);
    CHECK_EQ(0, bad);
    free(out);
}

static void
test_arena_and_buf(void)
{
    struct hub_arena a;
    struct hub_buf   b;
    char            *p;
    int              i;

    hub_arena_init(&a, 64 * 1024);
    p = hub_arena_printf(&a, "%s-%d", "x", 42);
    CHECK_STR_EQ("x-42", p);
    CHECK(hub_arena_alloc(&a, 100 * 1024) == NULL);          /* over the cap */
    for (i = 0; i < 100; i++)
        CHECK(((uintptr_t)hub_arena_alloc(&a, 3) & 15) == 0);   /* aligned */
    hub_arena_destroy(&a);

    hub_buf_init(&b, 16);
    CHECK_EQ(0, hub_buf_puts(&b, "0123456789"));
    CHECK_EQ(HUB_E_LIMIT, hub_buf_puts(&b, "0123456789"));   /* refused whole, not cut */
    CHECK_EQ(10, b.len);
    hub_buf_reset(&b);
    CHECK_EQ(0, hub_buf_json_str(&b, "a\"\x01", 3));
    CHECK_STR_EQ("\"a\\\"\\u0001\"", b.data);
    hub_buf_free(&b);
}

static void
test_error_messages(void)
{
    struct hub_error err;
    char             longmsg[1000];

    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    CHECK_EQ(HUB_E_DB, hub_error_set(&err, HUB_E_DB, "%s", longmsg));
    CHECK_EQ(HUB_ERROR_MAX - 1, strlen(err.msg));
    CHECK_STR_HAS(err.msg, "xxx...");
    hub_error_set(&err, HUB_E_IO, "disk full");
    hub_error_prefix(&err, "writing %s", "f");
    CHECK_STR_EQ("writing f: disk full", err.msg);
    CHECK_STR_EQ("HUB_E_PLUGIN_ABI", hub_error_name(HUB_E_PLUGIN_ABI));
}

int
main(void)
{
    RUN_TEST(test_config_file_env_flags);
    RUN_TEST(test_config_refusals);
    RUN_TEST(test_log_json_and_redaction);
    RUN_TEST(test_log_lines_do_not_interleave);
    RUN_TEST(test_arena_and_buf);
    RUN_TEST(test_error_messages);
    return check_report();
}
