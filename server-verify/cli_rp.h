/*
 * ownerbind-verify's relying-party verbs (cli_rp.c): wit checks a WIT and
 * its WPT, wic a WIC, as a service in another organisation would
 * (docs/relying-party.md).  Exit statuses as the envelope check: 0
 * accepted, 1 rejected, 2 usage or configuration.
 */
#ifndef OB_SERVER_VERIFY_CLI_RP_H
#define OB_SERVER_VERIFY_CLI_RP_H

int cli_wit(int argc, char **argv);
int cli_wic(int argc, char **argv);

#include <stdio.h>

/*
 * --json is among the arguments (ownerbind-verify.c looks before any
 * option is parsed): usage and configuration errors are then one JSON
 * object on stdout (ob_print_error_json), as rejections are.
 */
extern int	cli_json;
/* A configuration or usage error, printed for cli_json; returns 2. */
int cli_error(int code);
/* A usage error: what (NULL: generic) and usage; returns 2. */
int cli_usage(void (*usage)(FILE *), const char *what);
/* getopt refused an option: cli_usage naming it. */
int cli_badopt(void (*usage)(FILE *), int argc, char **argv);

#endif
