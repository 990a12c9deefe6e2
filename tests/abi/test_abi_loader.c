/*
 * The loader against real .so files: the template and a frozen-1.0 connector load; every broken
 * fixture is refused with its exact sentence, both through hub_plugin_load() and through
 * `simplix-hub plugin inspect` (non-zero exit, sentence on stderr). Also the registry's hot
 * swap: a replaced plugin stays loaded while a call holds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "plugin/loader.h"

struct refusal {
    const char *file;
    const char *sentence;
};

static const struct refusal refusals[] = {
    { "fx_wrong_major.so",
      "fx_wrong_major.so: the connector was built for SDK ABI 2.0; this hub serves 1.0 to 1.2" },
    { "fx_newer_minor.so",
      "fx_newer_minor.so: the connector was built for SDK ABI 1.7; this hub serves 1.0 to 1.2" },
    { "fx_oversized.so", "fx_oversized.so: the connector is 168 bytes, larger than the 104 bytes "
      "this hub knows for ABI 1.2; the plugin was built with newer or modified headers" },
    { "fx_undersized.so", "fx_undersized.so: the connector is 16 bytes, smaller than the 104 "
      "bytes of ABI 1.0; the plugin is corrupt or built with mismatched headers" },
    { "fx_no_entry.so", "fx_no_entry.so: not a Simplix connector (no sx_connector_entry)" },
    { "fx_null_entry.so", "fx_null_entry.so: sx_connector_entry returned NULL" },
    { "fx_no_test_connection.so",
      "fx_no_test_connection.so: required callback test_connection is NULL" },
    { "fx_no_list.so",
      "fx_no_list.so: entity customer declares import but its list callback is NULL" },
    { "fx_id_mismatch.so", "fx_id_mismatch.so: declares id \"someone_else\" but must be "
      "\"fx_id_mismatch\" (the file name and the package id must equal the connector id)" },
    { "fx_bad_version.so",
      "fx_bad_version.so: version is missing or not semver (MAJOR.MINOR.PATCH)" },
    { "fx_webhook_no_table.so",
      "fx_webhook_no_table.so: caps declare webhooks but the webhook table is NULL" },
    { "fx_entity_wrong_major.so", "fx_entity_wrong_major.so: entities[0] was built for SDK ABI "
      "2.0; this hub serves 1.0 to 1.2" },
};

/* Run `simplix-hub plugin inspect path`; capture stdout+stderr into out; return exit status. */
static int
run_inspect(const char *path, char *out, size_t cap)
{
    char   cmd[8192];
    FILE  *f;
    size_t n;
    int    st;

    snprintf(cmd, sizeof(cmd), "'%s' plugin inspect '%s' 2>&1", SX_HUB_BIN, path);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_refusals(void)
{
    size_t i;

    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        struct hub_plugin *p = NULL;
        struct hub_error   err;
        char               path[4096], out[8192];
        int                rc;

        snprintf(path, sizeof(path), "%s/%s", SX_FIXTURE_DIR, refusals[i].file);
        rc = hub_plugin_load(path, NULL, &p, &err);
        CHECK(rc < 0);
        CHECK(p == NULL);
        CHECK_STR_EQ(refusals[i].sentence, err.msg);

        rc = run_inspect(path, out, sizeof(out));
        CHECK_NE(0, rc);
        CHECK_STR_HAS(out, refusals[i].sentence);
    }
}

static void
test_not_a_shared_object(void)
{
    struct hub_plugin *p = NULL;
    struct hub_error   err;
    char               path[] = "/tmp/sx_abi_garbage_XXXXXX.so";
    int                fd = mkstemps(path, 3);

    REQUIRE(fd >= 0);
    CHECK_EQ(13, write(fd, "not an ELF\n\n\n", 13));
    close(fd);
    CHECK(hub_plugin_load(path, "garbage", &p, &err) < 0);
    CHECK_STR_HAS(err.msg, "cannot be loaded: ");
    unlink(path);
}

static void
test_good_and_frozen_load(void)
{
    const char *names[] = { "fx_good", "fx_frozen_1_0" };
    size_t      i;

    for (i = 0; i < 2; i++) {
        struct hub_plugin *p = NULL;
        struct hub_error   err;
        struct hub_buf     b;
        char               path[4096];

        snprintf(path, sizeof(path), "%s/%s.so", SX_FIXTURE_DIR, names[i]);
        CHECK_EQ(0, hub_plugin_load(path, NULL, &p, &err));
        if (p == NULL) {
            fprintf(stderr, "  %s\n", err.msg);
            continue;
        }
        CHECK_STR_EQ(names[i], p->id);
        CHECK_EQ(1, p->n_entities);
        CHECK(hub_plugin_entity(p, SX_ENTITY_CUSTOMER) != NULL);
        CHECK(hub_plugin_entity(p, SX_ENTITY_ORDER) == NULL);
        hub_buf_init(&b, 1 << 16);
        CHECK_EQ(0, hub_plugin_describe_json(p, &b));
        CHECK_STR_HAS(b.data, "\"auth_kind\":\"api_key\"");
        hub_buf_free(&b);
        hub_plugin_unload(p);
    }
}

static void
test_inspect_template(void)
{
    char path[4096], out[16384];

    snprintf(path, sizeof(path), "%s/template.so", SX_PLUGIN_DIR);
    CHECK_EQ(0, run_inspect(path, out, sizeof(out)));
    CHECK_STR_HAS(out, "\"id\":\"template\"");
    CHECK_STR_HAS(out, "\"abi\":\"1.2\"");
    CHECK_STR_HAS(out, "\"entity\":\"customer\",\"import\":true,\"export\":true");
    CHECK_STR_HAS(out, "\"key\":\"api_key\",\"kind\":\"secret\",\"required\":true");
}

/* Versioned file names: "<id>@<version>.so" must declare <id>; an explicit expect_id wins. */
static void
test_expected_id(void)
{
    struct hub_plugin *p = NULL;
    struct hub_error   err;
    char               path[4096];

    snprintf(path, sizeof(path), "%s/fx_good.so", SX_FIXTURE_DIR);
    CHECK(hub_plugin_load(path, "shopify", &p, &err) < 0);
    CHECK_STR_HAS(err.msg, "declares id \"fx_good\" but must be \"shopify\"");
}

static void
test_registry_hot_swap(void)
{
    struct hub_plugins reg;
    struct hub_plugin *a = NULL, *b = NULL, *held, *now;
    struct hub_error   err;
    char               path[4096];

    snprintf(path, sizeof(path), "%s/fx_good.so", SX_FIXTURE_DIR);
    hub_plugins_init(&reg);
    REQUIRE(hub_plugin_load(path, NULL, &a, &err) == 0);
    REQUIRE(hub_plugin_load(path, NULL, &b, &err) == 0);
    hub_plugins_replace(&reg, a);
    held = hub_plugins_acquire(&reg, "fx_good");
    CHECK(held == a);
    hub_plugins_replace(&reg, b);                 /* a is retired but a call holds it */
    CHECK(reg.retired == a);
    CHECK_EQ(1, atomic_load(&a->retired));
    now = hub_plugins_acquire(&reg, "fx_good");
    CHECK(now == b);                              /* new calls go to the new version */
    hub_plugins_release(&reg, now);
    hub_plugins_release(&reg, held);              /* last call returns: a is unloaded */
    CHECK(reg.retired == NULL);
    CHECK_EQ(0, hub_plugins_remove(&reg, "fx_good"));
    CHECK(hub_plugins_acquire(&reg, "fx_good") == NULL);
    CHECK_EQ(HUB_E_NOT_FOUND, hub_plugins_remove(&reg, "fx_good"));
    hub_plugins_destroy(&reg);
}

static void
test_load_dir(void)
{
    struct hub_plugins reg;
    struct hub_error   err;
    size_t             loaded = 0, refused = 0;

    hub_plugins_init(&reg);
    CHECK_EQ(0, hub_plugins_load_dir(&reg, SX_FIXTURE_DIR, &loaded, &refused, &err));
    CHECK_EQ(2, loaded);                          /* fx_good, fx_frozen_1_0 */
    CHECK_EQ(sizeof(refusals) / sizeof(refusals[0]), refused);
    CHECK(hub_plugins_acquire(&reg, "fx_wrong_major") == NULL);
    hub_plugins_destroy(&reg);
    hub_plugins_init(&reg);
    CHECK(hub_plugins_load_dir(&reg, "/nonexistent/plugins", &loaded, &refused, &err) < 0);
    CHECK_STR_HAS(err.msg, "plugin folder /nonexistent/plugins cannot be read");
    hub_plugins_destroy(&reg);
}

int
main(void)
{
    RUN_TEST(test_refusals);
    RUN_TEST(test_not_a_shared_object);
    RUN_TEST(test_good_and_frozen_load);
    RUN_TEST(test_inspect_template);
    RUN_TEST(test_expected_id);
    RUN_TEST(test_registry_hot_swap);
    RUN_TEST(test_load_dir);
    return check_report();
}
