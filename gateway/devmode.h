/*
 * Development mode (`ownerbind-gateway --dev DIR --server-dev SERVER_DIR`,
 * docs/gateway.md): next to a development identity server, a gateway
 * whose key is in a fresh SoftHSM2 token, an organisation CA and the
 * gateway's signing certificate under it, TLS certificates (the server's
 * dev CA issues the gateway's server and client certificates), one
 * proxy's client certificate, a policy allowing the dev trust domain, an
 * ownerbind-signer configuration, and the gateway registered in the dev
 * server's trust store and client list.
 */
#ifndef OB_GATEWAY_DEVMODE_H
#define OB_GATEWAY_DEVMODE_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_GW_DEV_ID		"gw.dev.ownerbind.test"
#define OB_GW_DEV_ORG		"org.dev.ownerbind.test"
#define OB_GW_DEV_PROXY		"dev-proxy"

/* Make DIR (new or empty) and write DIR/gateway.json's path to cfg. */
int ob_gw_devmode_create(const char *dir, const char *server_dir, char *cfg,
    size_t cfgsz) OB_WUR;
/* DIR/dev.json: url, tls_ca, client_cert, client_key, policy, config. */
int ob_gw_devmode_write_info(const char *dir, const char *url) OB_WUR;

#endif
