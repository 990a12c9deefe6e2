/*
 * `simplix-hub marketplace keygen|trust|pack|sign|index|verify`: the package tooling on the
 * command line (docs/MARKETPLACE.md "Building packages").
 */
#ifndef HUB_MARKETPLACE_CLI_PKG_H
#define HUB_MARKETPLACE_CLI_PKG_H

/* Returned by hub_cli_marketplace_tools for a sub-command it does not handle. */
#define HUB_CLI_NOT_MINE 2

/* The usage text of `simplix-hub marketplace` for the sub-commands above. */
extern const char hub_cli_marketplace_usage[];

/*
 * argv[0] is "marketplace", argv[1] the sub-command. Runs keygen, trust, pack, sign, index or
 * verify and returns the exit code: 0 done (or --help), 1 failed or refused (one sentence on
 * stderr), or a usage error (the sub-command's usage on stderr). Returns HUB_CLI_NOT_MINE (2),
 * printing nothing, when argv[1] is missing or is another sub-command, so that the caller can
 * try its other handlers and then print the usage.
 */
int hub_cli_marketplace_tools(int argc, char **argv);

#endif
