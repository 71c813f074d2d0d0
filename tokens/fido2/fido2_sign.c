/*
 * sign for fido2: keys: getAssertion over SHA-256 of the entry's
 * clientDataJSON (core/webauthn.c), user presence always, user
 * verification when the credential's policy says so.  What is being
 * approved is printed before the PIN and the touch; Ctrl-C while the key
 * blinks cancels the request on the key (CTAPHID_CANCEL).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <openssl/sha.h>

#include "core/alg.h"
#include "core/b64url.h"
#include "core/err.h"
#include "tokens/fido2/fido2_int.h"
#include "core/webauthn.h"

int
fido2_pin(const struct ob_pin_source *src, const char *prompt, char **pin)
{
	if (src == NULL)
		return ob_errf(OB_ERR_PIN_SOURCE, "the security key needs its "
		    "PIN; give --pin-source");
	return ob_pin_read(src, prompt, pin);
}

/*
 * libfido2 returns authenticatorData as a CBOR byte string (1.12 has no
 * raw accessor for assertions): unwrap exactly one definite bstr.
 */
static int
sign_authdata(const fido_assert_t *a, unsigned char **out, size_t *outlen)
{
	const unsigned char	*p = fido_assert_authdata_ptr(a, 0);
	size_t			 len = fido_assert_authdata_len(a, 0);
	struct cbor_load_result	 res;
	cbor_item_t		*item;
	unsigned char		*ad;
	size_t			 n;
	int			 r = OB_OK;

	if (p == NULL || len == 0 || len > OB_MAX_AUTHDATA + 8)
		return ob_errf(OB_ERR_FIDO_AUTHDATA, "no authenticatorData");
	if ((item = cbor_load(p, len, &res)) == NULL)
		return ob_errf(OB_ERR_FIDO_AUTHDATA, "not CBOR");
	if (res.read != len || !cbor_isa_bytestring(item) ||
	    !cbor_bytestring_is_definite(item) ||
	    (n = cbor_bytestring_length(item)) < OB_AUTHDATA_MINLEN ||
	    n > OB_MAX_AUTHDATA)
		r = ob_errf(OB_ERR_FIDO_AUTHDATA, "not one byte string of a "
		    "sane length");
	else if ((ad = malloc(n)) == NULL)
		r = OB_ERR_ALLOC;
	else {
		memcpy(ad, cbor_bytestring_handle(item), n);
		*out = ad;
		*outlen = n;
	}
	cbor_decref(&item);
	return r;
}

/* Check the assertion the way the verifier will, before it leaves. */
static int
sign_check(const struct fido2_be *be, const unsigned char *ad, size_t adlen,
    int want_uv)
{
	struct ob_authdata	pa;
	unsigned char		h[32];
	int			r;

	if ((r = ob_authdata_head(ad, adlen, &pa)) != OB_OK)
		return r;
	if ((r = ob_rpid_hash(be->cred.rp_id, h)) != OB_OK)
		return r;
	if (memcmp(pa.rpid_hash, h, 32) != 0)
		return ob_errf(OB_ERR_FIDO_RPID, "the key answered for another "
		    "relying party");
	if ((pa.flags & OB_AD_UP) == 0)
		return ob_errf(OB_ERR_FIDO_UP, "the key did not assert presence");
	if (want_uv && (pa.flags & OB_AD_UV) == 0)
		return ob_errf(OB_ERR_FIDO_UV, "the key did not verify the user");
	if ((pa.flags & (OB_AD_AT | OB_AD_ED)) != 0)
		return ob_errf(OB_ERR_FIDO_AUTHDATA, "unexpected attested or "
		    "extension data");
	/* With AT and ED clear, nothing may follow the head. */
	return ob_authdata_parse(ad, adlen, &pa);
}

/*
 * The tool has already shown the whole request (owner/cmd_sign.c); right
 * before the touch, repeat what the touch approves in one line, naming the
 * device that will blink.
 */
static void
sign_prompt(const struct ob_approval *w, const char *path)
{
	if (w == NULL)
		return;
	fprintf(stderr, "ownerbind: FIDO2 key %s: approving %s for %s at %s "
	    "(%s)\n", path, w->sub != NULL ? w->sub : "?",
	    w->owner != NULL ? w->owner : "?", w->aud != NULL ? w->aud : "?",
	    w->model != NULL ? w->model : "?");
}

/*
 * Ctrl-C during the touch: the handler only writes to a pipe; a thread
 * turns that into fido_dev_cancel, so the key stops blinking and
 * getAssertion returns FIDO_ERR_KEEPALIVE_CANCEL (OB_ERR_CANCELLED).
 */
static int cancel_pipe[2] = { -1, -1 };

static void
cancel_handler(int sig)
{
	int	e = errno;
	char	c = (char)sig;

	(void)!write(cancel_pipe[1], &c, 1);
	errno = e;
}

struct canceller {
	fido_dev_t		*dev;
	int			 stop[2];
	pthread_t		 thr;
	struct sigaction	 oint, oterm;
	int			 active;
};

static void *
cancel_thread(void *v)
{
	struct canceller	*c = v;
	struct pollfd		 pf[2];
	char			 b;

	pf[0].fd = cancel_pipe[0];
	pf[0].events = POLLIN;
	pf[1].fd = c->stop[0];
	pf[1].events = POLLIN;
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pf[1].revents != 0)
			return NULL;
		if (pf[0].revents != 0) {
			(void)!read(cancel_pipe[0], &b, 1);
			(void)fido_dev_cancel(c->dev);
		}
	}
}

static void
cancel_arm(struct canceller *c, fido_dev_t *dev)
{
	struct sigaction sa;

	memset(c, 0, sizeof(*c));
	c->dev = dev;
	if ((cancel_pipe[0] < 0 && pipe2(cancel_pipe, O_CLOEXEC |
	    O_NONBLOCK) != 0) || pipe2(c->stop, O_CLOEXEC) != 0)
		return;		/* no Ctrl-C cancel; the key still times out */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cancel_handler;
	sigemptyset(&sa.sa_mask);
	if (pthread_create(&c->thr, NULL, cancel_thread, c) != 0) {
		close(c->stop[0]);
		close(c->stop[1]);
		return;
	}
	(void)sigaction(SIGINT, &sa, &c->oint);
	(void)sigaction(SIGTERM, &sa, &c->oterm);
	c->active = 1;
}

static void
cancel_disarm(struct canceller *c)
{
	char b = 0;

	if (!c->active)
		return;
	(void)sigaction(SIGINT, &c->oint, NULL);
	(void)sigaction(SIGTERM, &c->oterm, NULL);
	(void)!write(c->stop[1], &b, 1);
	(void)pthread_join(c->thr, NULL);
	close(c->stop[0]);
	close(c->stop[1]);
	while (read(cancel_pipe[0], &b, 1) == 1)
		;
	c->active = 0;
}

int
fido2_sign(struct fido2_be *be, const struct ob_sign_req *req,
    struct ob_sign_res *res)
{
	struct canceller	 cc;
	fido_dev_t		*dev = NULL;
	fido_assert_t		*a = NULL;
	unsigned char		 cdh[SHA256_DIGEST_LENGTH];
	unsigned char		*ad = NULL, *sig = NULL;
	char			*cdj = NULL, *path = NULL, *pin = NULL;
	char			*adb64 = NULL, *cdb64 = NULL;
	size_t			 cdjlen, adlen = 0, siglen;
	json_t			*hdr = NULL;
	int			 fr, r, want_uv, builtin_uv = 0;

	memset(&cc, 0, sizeof(cc));
	if (req->alg != be->cred.alg) {
		r = ob_errf(OB_ERR_ALG_MISMATCH, "the credential signs %s",
		    ob_alg_name(be->cred.alg));
		goto out;
	}
	want_uv = be->cred.uv_required || be->uri.uv == FIDO2_UV_REQUIRED;
	OB_TRY(ob_webauthn_clientdata(req->tbs, req->tbslen, &cdj, &cdjlen));
	OB_TRY(ob_sha256(cdj, cdjlen, cdh));
	if (be->uri.dev != NULL) {
		OB_TRY(fido2_dev_open(be->uri.dev, &dev));
		if ((path = strdup(be->uri.dev)) == NULL) {
			r = OB_ERR_ALLOC;
			goto out;
		}
	} else
		OB_TRY(fido2_dev_find(be->cred.rp_id, be->cred.id,
		    be->cred.id_len, &dev, &path));
	if (!be->quiet)
		sign_prompt(req->what, path);
	if (want_uv) {
		if (fido_dev_has_pin(dev))
			OB_TRY(fido2_pin(be->pin, "FIDO2 PIN: ", &pin));
		else if (fido_dev_has_uv(dev))
			builtin_uv = 1;
		else {
			r = ob_errf(OB_ERR_FIDO_UV, "the credential requires user "
			    "verification, but %s has no PIN set and no built-in "
			    "verification", path);
			goto out;
		}
	}
	if ((a = fido_assert_new()) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	if ((fr = fido_assert_set_clientdata_hash(a, cdh, sizeof(cdh))) ||
	    (fr = fido_assert_set_rp(a, be->cred.rp_id)) ||
	    (fr = fido_assert_allow_cred(a, be->cred.id, be->cred.id_len)) ||
	    (fr = fido_assert_set_up(a, FIDO_OPT_TRUE)) ||
	    (fr = fido_assert_set_uv(a, builtin_uv ? FIDO_OPT_TRUE :
	    FIDO_OPT_OMIT))) {
		r = fido2_err(fr, "getAssertion setup", NULL);
		goto out;
	}
	if (!be->quiet)
		fprintf(stderr, "ownerbind: touch your security key "
		    "(Ctrl-C cancels)\n");
	cancel_arm(&cc, dev);
	fr = fido_dev_get_assert(dev, a, pin);
	cancel_disarm(&cc);
	ob_pin_free(&pin);
	if (fr != FIDO_OK) {
		r = fido2_err(fr, "getAssertion", dev);
		goto out;
	}
	if (fido_assert_count(a) != 1) {
		r = ob_errf(OB_ERR_DEVICE, "%zu assertions for one credential",
		    fido_assert_count(a));
		goto out;
	}
	OB_TRY(sign_authdata(a, &ad, &adlen));
	OB_TRY(sign_check(be, ad, adlen, want_uv));
	siglen = fido_assert_sig_len(a, 0);
	if (siglen == 0 || siglen > OB_MAX_SIGNATURE ||
	    (sig = malloc(siglen)) == NULL) {
		r = ob_errf(OB_ERR_DEVICE, "no usable signature");
		goto out;
	}
	memcpy(sig, fido_assert_sig_ptr(a, 0), siglen);
	OB_TRY(ob_b64url_encode(ad, adlen, &adb64));
	OB_TRY(ob_b64url_encode((const unsigned char *)cdj, cdjlen, &cdb64));
	if ((hdr = json_pack("{s:s,s:s}", "authenticatorData", adb64,
	    "clientDataJSON", cdb64)) == NULL) {
		r = OB_ERR_ALLOC;
		goto out;
	}
	res->sig = sig;
	res->siglen = siglen;
	res->header = hdr;
	sig = NULL;
	hdr = NULL;
	r = OB_OK;
out:
	cancel_disarm(&cc);
	ob_pin_free(&pin);
	fido_assert_free(&a);
	fido2_dev_close(&dev);
	json_decref(hdr);
	free(path);
	free(cdj);
	free(ad);
	free(sig);
	free(adb64);
	free(cdb64);
	return r;
}
