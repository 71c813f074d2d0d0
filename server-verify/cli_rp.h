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

/* The rejection as the JSON object --json prints (ownerbind-verify.c). */
void cli_print_rejection_json(int code);

#endif
