/*
 * Development mode (`ownerbind-gateway --dev DIR --server-dev SERVER_DIR`,
 * docs/gateway.md): next to a development identity server, a gateway
 * whose key is in a fresh SoftHSM2 token (made by ownerbind-dev-token),
 * an organisation CA and the gateway's signing certificate under it, a
 * TLS CA of its own issuing the gateway's server and client certificates
 * and one proxy's client certificate, a policy allowing the dev trust
 * domain, an ownerbind-signer configuration, and the gateway registered
 * in the dev server's trust store, client list and client CA.
 */
#ifndef OB_GATEWAY_DEVMODE_H
#define OB_GATEWAY_DEVMODE_H

#include <stddef.h>

#include "ownerbind/ob_err.h"

#define OB_GW_DEV_ID		"gw.dev.ownerbind.test"
#define OB_GW_DEV_ORG		"org.dev.ownerbind.test"
#define OB_GW_DEV_PROXY		"dev-proxy"

/*
 * Make DIR (new or empty: OB_ERR_DEVMODE_DIR otherwise), register with
 * SERVER_DIR (OB_ERR_GW_DEV_SERVER unless it holds a dev server's
 * dev.json and server.json), set SOFTHSM2_CONF for the signer, and write
 * DIR/gateway.json's absolute path to cfg.
 */
int ob_gw_devmode_create(const char *dir, const char *server_dir, char *cfg,
    size_t cfgsz) OB_WUR;
/* DIR/dev.json: url, tls_ca, client_cert, client_key, policy, config. */
int ob_gw_devmode_write_info(const char *dir, const char *url) OB_WUR;

#endif
