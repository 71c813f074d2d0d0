/*
 * Development mode (gateway/devmode.h).  Not finished: the SoftHSM2
 * token has to be made by an HSM tool (softhsm2-util, then ownerbind
 * keygen), which this process must not link; until that part lands,
 * --dev says so and tests/gateway/gw-setup.sh builds the same
 * layout with those tools.
 */
#include <stdio.h>

#include "core/err.h"
#include "gateway/devmode.h"

int
ob_gw_devmode_create(const char *dir, const char *server_dir, char *cfg,
    size_t cfgsz)
{
	(void)server_dir;
	if (cfgsz != 0)
		cfg[0] = '\0';
	return ob_errf(OB_ERR_GATEWAY_CONFIG, "%s: --dev is not implemented "
	    "yet; tests/gateway/gw-setup.sh makes a development "
	    "gateway", dir);
}

int
ob_gw_devmode_write_info(const char *dir, const char *url)
{
	(void)url;
	return ob_errf(OB_ERR_GATEWAY_CONFIG, "%s: --dev is not implemented",
	    dir);
}
