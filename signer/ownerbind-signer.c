/*
 * ownerbind-signer: the one ownerbind program that holds private keys for
 * the daemons.  It links the token backends (tokens/, pkcs11/, TPM, PIV)
 * and answers the signer protocol (docs/signer-protocol.md) on a
 * socketpair its daemon passed or on a unix socket of its own; it signs
 * only whole inputs of the shapes its keys allow, and logs every
 * signature.  ownerbind-signer(8).
 *
 *   ownerbind-signer --config FILE --fd N
 *   ownerbind-signer --config FILE --listen PATH
 *   ownerbind-signer --check-config FILE
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cliutil.h"
#include "common/process.h"
#include "core/err.h"
#include "signer/config.h"
#include "signer/signer.h"
#include "tokens/pin.h"

#define PROG	"ownerbind-signer"

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s --config FILE --fd N\n"
	    "       %s --config FILE --listen PATH\n"
	    "       %s --check-config FILE\n"
	    "Holds the daemons' keys and signs WITs, WIC TBSCertificates and\n"
	    "gateway entries of the allowed shapes.  See ownerbind-signer(8)\n"
	    "and docs/signer-protocol.md.\n", PROG, PROG, PROG);
}

static int
check_config(const char *path)
{
	struct ob_signer_config	*cfg = NULL;
	int			 r;

	ob_err_clear();
	if ((r = ob_signer_config_load(path, &cfg)) != OB_OK) {
		fprintf(stderr, "%s (%s)\n", ob_err_detail(), ob_err_name(r));
		return 1;
	}
	printf("%s: ok, %zu key%s\n", path, cfg->nkeys, cfg->nkeys == 1 ? "" :
	    "s");
	ob_signer_config_free(&cfg);
	return 0;
}

/* The descriptor the daemon passed: a connected stream socket. */
static int
passed_fd(const char *s, int *out)
{
	struct stat	st;
	long long	n;
	int		type;
	socklen_t	len = sizeof(type);

	if (ob_parse_ll(s, 0, INT_MAX, &n) != OB_OK)
		return ob_errf(OB_ERR_USAGE, "--fd %.16s: not a descriptor", s);
	if (fstat((int)n, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt((int)n, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM)
		return ob_errf(OB_ERR_USAGE, "--fd %lld is not a stream socket",
		    n);
	(void)fcntl((int)n, F_SETFD, FD_CLOEXEC);
	*out = (int)n;
	return OB_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "fd", required_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ob_signer_config	*cfg = NULL;
	struct ob_signerd	*sd = NULL;
	const char		*config = NULL, *fdarg = NULL, *listen = NULL;
	int			 ch, fd = -1, r, rc = 1;

	ob_process_harden();
	/* A daemon that went away must not kill the helper mid-reply. */
	(void)signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'C': return check_config(optarg) == 0 ? 0 : 2;
		case 'f': fdarg = optarg; break;
		case 'l': listen = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("%s %s\n", PROG, OB_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || config == NULL ||
	    (fdarg == NULL) == (listen == NULL)) {
		usage(stderr);
		return 2;
	}
	if (fdarg != NULL && (r = passed_fd(fdarg, &fd)) != OB_OK)
		goto out;
	/* Started by a daemon: its environment and descriptors are the
	 * daemon's, so no PIN may come from them. */
	if (fdarg != NULL)
		ob_pin_refuse_inherited();
	if ((r = ob_signer_config_load(config, &cfg)) != OB_OK) {
		rc = 2;		/* as --check-config would say */
		goto out;
	}
	if ((r = ob_signerd_new(cfg, stderr, &sd)) != OB_OK)
		goto out;
	if (fd >= 0)
		r = ob_signerd_serve(sd, fd, "fd");
	else
		r = ob_signerd_listen(sd, cfg, listen);
	if (r == OB_OK)
		rc = 0;
out:
	if (rc != 0)
		ob_print_error(PROG, r);
	ob_signerd_free(&sd);
	ob_signer_config_free(&cfg);
	return rc;
}
