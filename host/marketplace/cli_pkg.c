/*
 * `simplix-hub marketplace keygen|trust|pack|sign|index|verify`: thin shells over
 * marketplace/package.h, so the CLI, the build script and the tests share one code path.
 */
#include "marketplace/cli_pkg.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "marketplace/package.h"

const char hub_cli_marketplace_usage[] =
    "Usage: simplix-hub marketplace COMMAND [OPTIONS]\n"
    "\n"
    "Build, sign, index and verify connector packages, and install them into the running hubs\n"
    "(docs/MARKETPLACE.md).\n"
    "\n"
    "Commands:\n"
    "  keygen    create a publisher's Ed25519 signing key and print its trust entry\n"
    "  trust     add a publisher's public key to a trust file\n"
    "  pack      make an unsigned package from a connector .so\n"
    "  sign      sign a package with a publisher key\n"
    "  index     write a marketplace folder's index.json from its packages\n"
    "  verify    check a package the way a hub does before installing it\n"
    "  list      the directory, what is installed, what this hub's ABI serves\n"
    "  install   ID [--version V]: verify, copy and activate (the hubs switch, no restart)\n"
    "  upgrade   ID [--version V]: the same, refusing a version not newer than the active\n"
    "  rollback  ID: the version active before\n"
    "  remove    ID [--force]: every version (--force even while integrations use it)\n"
    "\n"
    "Run `simplix-hub marketplace COMMAND --help` for a command's options.\n";

static const char usage_keygen[] =
    "Usage: simplix-hub marketplace keygen --out KEY.pem --publisher P --key-id K [--trust FILE]\n"
    "\n"
    "Create an Ed25519 signing key for publisher P: the private key as PKCS#8 PEM in KEY.pem\n"
    "(mode 0600; an existing file is never overwritten), and print the key's trust entry, one\n"
    "line of JSON for the hubs' trust files. With --trust the entry is also added to FILE\n"
    "(created when absent).\n"
    "\n"
    "  -o, --out FILE       where to write the private key (must not exist)\n"
    "  -p, --publisher P    publisher name: 1 to 64 characters of [a-z0-9_.-]\n"
    "  -k, --key-id K       key id: 1 to 64 characters of [A-Za-z0-9_.-], e.g. acme-2025\n"
    "  -t, --trust FILE     trust file to add the public key to\n"
    "  -h, --help           this text\n";

static const char usage_trust[] =
    "Usage: simplix-hub marketplace trust --trust FILE --publisher P --key-id K --public-key B64\n"
    "\n"
    "Add a publisher's public key (the \"public_key\" of the entry `keygen` printed: base64 of\n"
    "the raw 32-byte Ed25519 key) to a hub's trust file, created when absent. Adding an entry\n"
    "that is already there is a no-op; the same publisher and key id with another key is refused.\n"
    "\n"
    "  -t, --trust FILE       the trust file, e.g. <marketplace>/trusted-keys.json\n"
    "  -p, --publisher P      publisher name\n"
    "  -k, --key-id K         key id\n"
    "  -P, --public-key B64   the public key\n"
    "  -h, --help             this text\n";

static const char usage_pack[] =
    "Usage: simplix-hub marketplace pack FILE.so --dir MARKETPLACE_DIR [--description TEXT]\n"
    "                                   [--icon FILE] [--topics a,b]\n"
    "\n"
    "Load the connector the way the hub does, write its manifest (id, version, SDK ABI, auth\n"
    "kind, entities, config, SHA-256 and size of the .so) and a copy of the .so into\n"
    "MARKETPLACE_DIR/packages/<id>/<version>/, and print that folder. The package is unsigned:\n"
    "sign it with `simplix-hub marketplace sign`. Packing a version again replaces it and drops\n"
    "its signature.\n"
    "\n"
    "  -d, --dir DIR            the marketplace folder (created when absent)\n"
    "  -D, --description TEXT   at most 2000 bytes; the first line is the summary in the index\n"
    "                           (default: the connector's display name)\n"
    "  -i, --icon FILE          a .svg or .png of at most 256 KiB\n"
    "  -T, --topics a,b         the webhook topics the connector handles (the SDK descriptor\n"
    "                           does not list them)\n"
    "  -h, --help               this text\n";

static const char usage_sign[] =
    "Usage: simplix-hub marketplace sign PKG_DIR --key KEY.pem --publisher P --key-id K\n"
    "\n"
    "Set publisher and key_id in PKG_DIR/manifest.json and write PKG_DIR/manifest.sig, the\n"
    "Ed25519 signature of the manifest's exact bytes (base64, one line). The manifest covers the\n"
    "connector and the icon through their SHA-256, which must match the files.\n"
    "\n"
    "  -K, --key FILE       the publisher's private key (PEM, mode 0600)\n"
    "  -p, --publisher P    publisher name, as in the hubs' trust files\n"
    "  -k, --key-id K       key id, as in the hubs' trust files\n"
    "  -h, --help           this text\n";

static const char usage_index[] =
    "Usage: simplix-hub marketplace index MARKETPLACE_DIR\n"
    "\n"
    "Write MARKETPLACE_DIR/index.json from every packages/<id>/<version>/manifest.json: the\n"
    "packages by id, each with its display name, a summary (the description's first line) and\n"
    "its versions in semantic-version order with their SDK ABI, publisher and folder. A manifest\n"
    "that is invalid or in the wrong folder is refused. An unchanged index is not rewritten.\n";

static const char usage_verify[] =
    "Usage: simplix-hub marketplace verify PKG_DIR [--trust FILE] [--no-load]\n"
    "\n"
    "Check a package the way a hub does before installing it: the manifest, the signature by a\n"
    "trusted publisher key, the file names, the .so's SHA-256 and size, the SDK ABI, then the\n"
    "manifest against the connector's own descriptor (the .so is loaded, then unloaded).\n"
    "Prints \"ok <id> <version> signed by <publisher>/<key_id>\", or the refusal sentence on\n"
    "stderr and exits 1.\n"
    "\n"
    "  -t, --trust FILE   the trust file (default: trusted-keys.json of the marketplace holding\n"
    "                     PKG_DIR, that is PKG_DIR/../../../trusted-keys.json)\n"
    "  -n, --no-load      do not load the .so (skip the descriptor comparison)\n"
    "  -h, --help         this text\n";

static int
usage_error(const char *usage)
{
    fputs(usage, stderr);
    return 1;
}

static int
failed(const struct hub_error *err)
{
    fprintf(stderr, "simplix-hub: %s\n", err->msg);
    return 1;
}

static int
cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "publisher", required_argument, NULL, 'p' },
        { "key-id", required_argument, NULL, 'k' },
        { "trust", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_error err;
    const char      *out = NULL, *publisher = NULL, *key_id = NULL, *trust = NULL;
    char             entry[512];
    int              c;

    while ((c = getopt_long(argc, argv, "o:p:k:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': publisher = optarg; break;
        case 'k': key_id = optarg; break;
        case 't': trust = optarg; break;
        case 'h': fputs(usage_keygen, stdout); return 0;
        default:  return usage_error(usage_keygen);
        }
    }
    if (optind != argc || out == NULL || publisher == NULL || key_id == NULL)
        return usage_error(usage_keygen);
    if (hub_pkg_keygen(out, publisher, key_id, trust, &err) < 0)
        return failed(&err);
    if (hub_pkg_public_entry(out, publisher, key_id, entry, sizeof(entry), &err) < 0)
        return failed(&err);
    fprintf(stderr, "signing key %s/%s written to %s (mode 0600)%s%s\n", publisher, key_id, out,
            trust != NULL ? "; trusted in " : "", trust != NULL ? trust : "");
    printf("%s\n", entry);
    return 0;
}

static int
cmd_trust(int argc, char **argv)
{
    static const struct option opts[] = {
        { "trust", required_argument, NULL, 't' },
        { "publisher", required_argument, NULL, 'p' },
        { "key-id", required_argument, NULL, 'k' },
        { "public-key", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_error err;
    const char      *trust = NULL, *publisher = NULL, *key_id = NULL, *pub = NULL;
    int              c;

    while ((c = getopt_long(argc, argv, "t:p:k:P:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': trust = optarg; break;
        case 'p': publisher = optarg; break;
        case 'k': key_id = optarg; break;
        case 'P': pub = optarg; break;
        case 'h': fputs(usage_trust, stdout); return 0;
        default:  return usage_error(usage_trust);
        }
    }
    if (optind != argc || trust == NULL || publisher == NULL || key_id == NULL || pub == NULL)
        return usage_error(usage_trust);
    if (hub_pkg_trust_add(trust, publisher, key_id, pub, &err) < 0)
        return failed(&err);
    printf("%s/%s trusted in %s\n", publisher, key_id, trust);
    return 0;
}

static int
cmd_pack(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "description", required_argument, NULL, 'D' },
        { "icon", required_argument, NULL, 'i' },
        { "topics", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_error err;
    const char      *dir = NULL, *desc = NULL, *icon = NULL, *topics = NULL;
    char             pkg[PATH_MAX];
    int              c;

    while ((c = getopt_long(argc, argv, "d:D:i:T:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'D': desc = optarg; break;
        case 'i': icon = optarg; break;
        case 'T': topics = optarg; break;
        case 'h': fputs(usage_pack, stdout); return 0;
        default:  return usage_error(usage_pack);
        }
    }
    if (optind != argc - 1 || dir == NULL)
        return usage_error(usage_pack);
    if (hub_pkg_pack(argv[optind], dir, desc, icon, topics, pkg, sizeof(pkg), &err) < 0)
        return failed(&err);
    printf("%s\n", pkg);
    return 0;
}

static int
cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'K' },
        { "publisher", required_argument, NULL, 'p' },
        { "key-id", required_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_error err;
    const char      *key = NULL, *publisher = NULL, *key_id = NULL;
    int              c;

    while ((c = getopt_long(argc, argv, "K:p:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'K': key = optarg; break;
        case 'p': publisher = optarg; break;
        case 'k': key_id = optarg; break;
        case 'h': fputs(usage_sign, stdout); return 0;
        default:  return usage_error(usage_sign);
        }
    }
    if (optind != argc - 1 || key == NULL || publisher == NULL || key_id == NULL)
        return usage_error(usage_sign);
    if (hub_pkg_sign(argv[optind], key, publisher, key_id, &err) < 0)
        return failed(&err);
    printf("signed %s by %s/%s\n", argv[optind], publisher, key_id);
    return 0;
}

static int
cmd_index(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_error    err;
    struct json_object *root, *pkgs, *vers;
    size_t              n_pkgs, n_vers = 0, i;
    int                 c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage_index, stdout);
            return 0;
        }
        return usage_error(usage_index);
    }
    if (optind != argc - 1)
        return usage_error(usage_index);
    if (hub_pkg_index_write(argv[optind], &err) < 0)
        return failed(&err);
    if (hub_pkg_index_load(argv[optind], &root, &err) < 0)
        return failed(&err);
    json_object_object_get_ex(root, "packages", &pkgs);
    n_pkgs = json_object_array_length(pkgs);
    for (i = 0; i < n_pkgs; i++) {
        if (json_object_object_get_ex(json_object_array_get_idx(pkgs, i), "versions", &vers))
            n_vers += json_object_array_length(vers);
    }
    json_object_put(root);
    printf("%s/index.json: %zu packages, %zu versions\n", argv[optind], n_pkgs, n_vers);
    return 0;
}

static int
cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "trust", required_argument, NULL, 't' },
        { "no-load", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct hub_pkg_manifest m;
    struct hub_pkg_trust   *trust = NULL;
    struct hub_error        err;
    const char             *trust_path = NULL;
    char                    def[PATH_MAX];
    int                     c, load = 1, rc, n;

    while ((c = getopt_long(argc, argv, "t:nh", opts, NULL)) != -1) {
        switch (c) {
        case 't': trust_path = optarg; break;
        case 'n': load = 0; break;
        case 'h': fputs(usage_verify, stdout); return 0;
        default:  return usage_error(usage_verify);
        }
    }
    if (optind != argc - 1)
        return usage_error(usage_verify);
    if (trust_path == NULL) {
        /* <marketplace>/packages/<id>/<version> -> <marketplace>/trusted-keys.json */
        n = snprintf(def, sizeof(def), "%s/../../../trusted-keys.json", argv[optind]);
        if (n < 0 || (size_t)n >= sizeof(def)) {
            fprintf(stderr, "simplix-hub: the package folder name is too long\n");
            return 1;
        }
        trust_path = def;
    }
    if (hub_pkg_trust_load(trust_path, &trust, &err) < 0)
        return failed(&err);
    rc = hub_pkg_verify_dir(argv[optind], trust, load, &m, &err);
    hub_pkg_trust_free(trust);
    if (rc < 0) {
        fprintf(stderr, "simplix-hub: refused: %s\n", err.msg);
        return 1;
    }
    printf("ok %s %s signed by %s/%s\n", m.id, m.version, m.publisher, m.key_id);
    hub_pkg_manifest_free(&m);
    return 0;
}

int
hub_cli_marketplace_tools(int argc, char **argv)
{
    static const struct {
        const char *name;
        int       (*fn)(int, char **);
    } cmds[] = {
        { "keygen", cmd_keygen }, { "trust", cmd_trust }, { "pack", cmd_pack },
        { "sign", cmd_sign }, { "index", cmd_index }, { "verify", cmd_verify },
    };
    size_t i;

    if (argc < 2)
        return HUB_CLI_NOT_MINE;
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            optind = 1;
            return cmds[i].fn(argc - 1, argv + 1);
        }
    }
    return HUB_CLI_NOT_MINE;
}
