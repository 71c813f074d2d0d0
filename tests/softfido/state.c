/*
 * Persistent state: one canonical CBOR map per file, written atomically
 * (mkstemp in the same directory, fsync, rename; mode 0600).
 *
 *	1  version		uint, 1
 *	2  master secret	bytes(32)
 *	3  AAGUID		bytes(16)
 *	4  signature counter	uint <= 2^32-1
 *	5  PIN hash		bytes(16), absent when no PIN is set
 *	6  PIN retries		uint <= 8
 *	7  attestation key	bytes(32), P-256 scalar
 *	8  attestation cert	bytes(DER, <= 4096), must match key 7
 *	9  resident creds	array (<= 32) of maps:
 *	     1 rpId text(<=255)   2 user id bytes(1..64)
 *	     3 user name text(<=64)  4 display name text(<=64)
 *	     5 credential id bytes(62)  6 creation serial uint
 *	10 last serial		uint
 *
 * Test material only: the secrets are in the clear.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "tests/softfido/sf_int.h"

#define STATE_VERSION	1
#define STATE_MAX	(64 * 1024)
#define CERT_MAX	4096

#define K_VERSION	1
#define K_MASTER	2
#define K_AAGUID	3
#define K_COUNTER	4
#define K_PIN_HASH	5
#define K_PIN_RETRIES	6
#define K_ATT_KEY	7
#define K_ATT_CERT	8
#define K_RK		9
#define K_RK_SERIAL	10
#define K_MAX		11

#define RK_RP_ID	1
#define RK_USER_ID	2
#define RK_USER_NAME	3
#define RK_DISPLAY	4
#define RK_CRED_ID	5
#define RK_SERIAL	6
#define RK_MAX		7

/* Everything softfido_load() replaces, staged before the swap. */
struct staged {
	uint8_t		 master[SF_MASTER_LEN];
	uint8_t		 aaguid[SF_AAGUID_LEN];
	uint32_t	 counter;
	bool		 pin_set;
	uint8_t		 pin_hash[SF_PIN_HASH_LEN];
	uint8_t		 pin_retries;
	uint8_t		 att_priv[32];
	EVP_PKEY	*att_key;
	unsigned char	*att_cert;
	size_t		 att_cert_len;
	struct sf_rk	 rk[SF_MAX_RK];
	size_t		 rk_len;
	uint64_t	 rk_serial;
};

static void
staged_free(struct staged *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->att_key);
	free(s->att_cert);
	sf_wipe(s, sizeof(*s));
	free(s);
}

static cbor_item_t *
encode_rk(const struct sf_rk *rk)
{
	cbor_item_t *m;

	if ((m = cbor_new_definite_map(6)) == NULL ||
	    sf_cbor_put_uint(m, RK_RP_ID, cbor_build_string(rk->rp_id)) ||
	    sf_cbor_put_uint(m, RK_USER_ID, cbor_build_bytestring(rk->user_id,
	    rk->user_id_len)) ||
	    sf_cbor_put_uint(m, RK_USER_NAME,
	    cbor_build_string(rk->user_name)) ||
	    sf_cbor_put_uint(m, RK_DISPLAY,
	    cbor_build_string(rk->display_name)) ||
	    sf_cbor_put_uint(m, RK_CRED_ID, cbor_build_bytestring(rk->cred_id,
	    SF_CRED_ID_LEN)) ||
	    sf_cbor_put_uint(m, RK_SERIAL,
	    sf_cbor_build_int((int64_t)rk->serial))) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

static cbor_item_t *
encode_state(const struct softfido *sf)
{
	cbor_item_t	*m = NULL, *rks = NULL;
	int		 r;

	if ((rks = cbor_new_definite_array(sf->rk_len)) == NULL)
		return NULL;
	for (size_t i = 0; i < sf->rk_len; i++)
		if (sf_cbor_push(rks, encode_rk(&sf->rk[i])) != 0)
			goto fail;
	if ((m = cbor_new_definite_map(sf->pin_set ? 10 : 9)) == NULL ||
	    sf_cbor_put_uint(m, K_VERSION, sf_cbor_build_int(STATE_VERSION)) ||
	    sf_cbor_put_uint(m, K_MASTER, cbor_build_bytestring(sf->master,
	    sizeof(sf->master))) ||
	    sf_cbor_put_uint(m, K_AAGUID, cbor_build_bytestring(sf->aaguid,
	    sizeof(sf->aaguid))) ||
	    sf_cbor_put_uint(m, K_COUNTER, sf_cbor_build_int(sf->counter)) ||
	    (sf->pin_set && sf_cbor_put_uint(m, K_PIN_HASH,
	    cbor_build_bytestring(sf->pin_hash, sizeof(sf->pin_hash)))) ||
	    sf_cbor_put_uint(m, K_PIN_RETRIES,
	    sf_cbor_build_int(sf->pin_retries)) ||
	    sf_cbor_put_uint(m, K_ATT_KEY, cbor_build_bytestring(sf->att_priv,
	    sizeof(sf->att_priv))) ||
	    sf_cbor_put_uint(m, K_ATT_CERT, cbor_build_bytestring(sf->att_cert,
	    sf->att_cert_len)))
		goto fail;
	r = sf_cbor_put_uint(m, K_RK, rks);
	rks = NULL;
	if (r != 0 || sf_cbor_put_uint(m, K_RK_SERIAL,
	    sf_cbor_build_int((int64_t)sf->rk_serial)))
		goto fail;
	return m;
fail:
	if (rks != NULL)
		cbor_decref(&rks);
	if (m != NULL)
		cbor_decref(&m);
	return NULL;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
save_locked(const struct softfido *sf, const char *path)
{
	cbor_item_t	*state = NULL;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*tmp = NULL;
	size_t		 tmp_len;
	int		 fd = -1, r = SOFTFIDO_ERR_NO_MEMORY;

	tmp_len = strlen(path) + sizeof(".XXXXXX");
	if ((state = encode_state(sf)) == NULL ||
	    sf_cbor_serialize(state, &buf, &len) != 0 ||
	    (tmp = malloc(tmp_len)) == NULL)
		goto out;
	(void)snprintf(tmp, tmp_len, "%s.XXXXXX", path);
	r = SOFTFIDO_ERR_IO;
	if ((fd = mkstemp(tmp)) < 0) {
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, buf, len) != 0 ||
	    fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	free(tmp);
	tmp = NULL;
	r = SOFTFIDO_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	if (buf != NULL) {
		sf_wipe(buf, len);
		free(buf);
	}
	if (state != NULL)
		cbor_decref(&state);
	return r;
}

int
softfido_save(struct softfido *sf, const char *path)
{
	int r;

	if (sf == NULL || path == NULL)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	sf_lock(sf);
	r = save_locked(sf, path);
	sf_unlock(sf);
	return r;
}

int
sf_state_autosave(struct softfido *sf)
{
	int r = SOFTFIDO_OK;

	if (sf->autosave != NULL)
		r = save_locked(sf, sf->autosave);
	if (r == SOFTFIDO_OK)
		sf->dirty = false;
	return r;
}

int
softfido_set_autosave(struct softfido *sf, const char *path)
{
	char	*copy = NULL;
	int	 r = SOFTFIDO_OK;

	if (sf == NULL)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	if (path != NULL && (copy = strdup(path)) == NULL)
		return SOFTFIDO_ERR_NO_MEMORY;
	sf_lock(sf);
	free(sf->autosave);
	sf->autosave = copy;
	if (copy != NULL)
		r = save_locked(sf, copy);	/* the file exists from now on */
	sf_unlock(sf);
	return r;
}

static int
read_file(const char *path, uint8_t **out, size_t *out_len)
{
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 off = 0, len;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return SOFTFIDO_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		(void)close(fd);
		return SOFTFIDO_ERR_IO;
	}
	if (st.st_size > STATE_MAX) {
		(void)close(fd);
		return SOFTFIDO_ERR_STATE_FORMAT;
	}
	len = (size_t)st.st_size;
	if ((buf = malloc(len)) == NULL) {
		(void)close(fd);
		return SOFTFIDO_ERR_NO_MEMORY;
	}
	while (off < len) {
		ssize_t n = read(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	(void)close(fd);
	if (off != len) {
		sf_wipe(buf, len);
		free(buf);
		return SOFTFIDO_ERR_IO;
	}
	*out = buf;
	*out_len = len;
	return SOFTFIDO_OK;
}

/* Fixed-length byte field. */
static int
get_fixed(const cbor_item_t *item, uint8_t *dst, size_t len)
{
	const uint8_t	*p;
	size_t		 n;

	if (item == NULL || sf_cbor_bytes(item, &p, &n, len, len) != CTAP2_OK)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

static int
get_uint(const cbor_item_t *item, uint64_t max, uint64_t *v)
{
	if (item == NULL || sf_cbor_uint(item, v) != CTAP2_OK || *v > max)
		return -1;
	return 0;
}

static int
decode_rk(const cbor_item_t *item, struct sf_rk *rk)
{
	const cbor_item_t	*f[RK_MAX];
	const uint8_t		*p;

	if (sf_cbor_uint_map(item, f, RK_MAX) != CTAP2_OK ||
	    f[RK_RP_ID] == NULL || f[RK_USER_ID] == NULL ||
	    f[RK_USER_NAME] == NULL || f[RK_DISPLAY] == NULL ||
	    sf_cbor_text(f[RK_RP_ID], rk->rp_id, sizeof(rk->rp_id),
	    false) != CTAP2_OK ||
	    sf_cbor_bytes(f[RK_USER_ID], &p, &rk->user_id_len, 1,
	    SF_MAX_USER_ID) != CTAP2_OK)
		return -1;
	memcpy(rk->user_id, p, rk->user_id_len);
	if (sf_cbor_text(f[RK_USER_NAME], rk->user_name,
	    sizeof(rk->user_name), false) != CTAP2_OK ||
	    sf_cbor_text(f[RK_DISPLAY], rk->display_name,
	    sizeof(rk->display_name), false) != CTAP2_OK ||
	    get_fixed(f[RK_CRED_ID], rk->cred_id, SF_CRED_ID_LEN) != 0 ||
	    get_uint(f[RK_SERIAL], UINT64_MAX, &rk->serial) != 0 ||
	    sf_sha256(rk->rp_id, strlen(rk->rp_id), rk->rp_id_hash) != 0)
		return -1;
	return 0;
}

static int
decode_cert(struct staged *s, const cbor_item_t *item)
{
	const uint8_t	*p, *q;
	size_t		 n;
	X509		*cert = NULL;
	int		 r = -1;

	if (item == NULL || sf_cbor_bytes(item, &p, &n, 1, CERT_MAX) !=
	    CTAP2_OK)
		return -1;
	q = p;
	/* whole DER, nothing after it, and for this very key */
	if ((cert = d2i_X509(NULL, &q, (long)n)) == NULL ||
	    q != p + n ||
	    EVP_PKEY_eq(X509_get0_pubkey(cert), s->att_key) != 1 ||
	    (s->att_cert = malloc(n)) == NULL)
		goto out;
	memcpy(s->att_cert, p, n);
	s->att_cert_len = n;
	r = 0;
out:
	X509_free(cert);
	return r;
}

static int
decode_state(const cbor_item_t *root, struct staged *s)
{
	const cbor_item_t	*f[K_MAX];
	cbor_item_t		**rks;
	uint64_t		 v;

	if (sf_cbor_uint_map(root, f, K_MAX) != CTAP2_OK ||
	    get_uint(f[K_VERSION], UINT64_MAX, &v) != 0 ||
	    v != STATE_VERSION ||
	    get_fixed(f[K_MASTER], s->master, sizeof(s->master)) != 0 ||
	    get_fixed(f[K_AAGUID], s->aaguid, sizeof(s->aaguid)) != 0 ||
	    get_uint(f[K_COUNTER], UINT32_MAX, &v) != 0)
		return -1;
	s->counter = (uint32_t)v;
	if (f[K_PIN_HASH] != NULL) {
		if (get_fixed(f[K_PIN_HASH], s->pin_hash,
		    sizeof(s->pin_hash)) != 0)
			return -1;
		s->pin_set = true;
	}
	if (get_uint(f[K_PIN_RETRIES], SF_PIN_RETRIES, &v) != 0)
		return -1;
	s->pin_retries = (uint8_t)v;
	if (get_fixed(f[K_ATT_KEY], s->att_priv, sizeof(s->att_priv)) != 0 ||
	    (s->att_key = sf_p256_from_scalar(s->att_priv)) == NULL ||
	    decode_cert(s, f[K_ATT_CERT]) != 0 ||
	    f[K_RK] == NULL ||
	    sf_cbor_array(f[K_RK], &rks, &s->rk_len, SF_MAX_RK) != CTAP2_OK)
		return -1;
	for (size_t i = 0; i < s->rk_len; i++)
		if (decode_rk(rks[i], &s->rk[i]) != 0 ||
		    s->rk[i].serial == 0)
			return -1;
	if (get_uint(f[K_RK_SERIAL], UINT64_MAX, &s->rk_serial) != 0)
		return -1;
	for (size_t i = 0; i < s->rk_len; i++)
		if (s->rk[i].serial > s->rk_serial)
			return -1;
	return 0;
}

int
softfido_load(struct softfido *sf, const char *path)
{
	struct staged	*s = NULL;
	cbor_item_t	*root = NULL;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	int		 r;

	if (sf == NULL || path == NULL)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	if ((r = read_file(path, &buf, &len)) != SOFTFIDO_OK)
		return r;
	r = SOFTFIDO_ERR_NO_MEMORY;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	r = SOFTFIDO_ERR_STATE_FORMAT;
	if (sf_cbor_load(buf, len, &root) != CTAP2_OK ||
	    decode_state(root, s) != 0)
		goto out;

	sf_lock(sf);
	memcpy(sf->master, s->master, sizeof(sf->master));
	memcpy(sf->aaguid, s->aaguid, sizeof(sf->aaguid));
	sf->counter = s->counter;
	sf->pin_set = s->pin_set;
	memcpy(sf->pin_hash, s->pin_hash, sizeof(sf->pin_hash));
	sf->pin_retries = s->pin_retries;
	memcpy(sf->att_priv, s->att_priv, sizeof(sf->att_priv));
	EVP_PKEY_free(sf->att_key);
	sf->att_key = s->att_key;
	s->att_key = NULL;
	free(sf->att_cert);
	sf->att_cert = s->att_cert;
	sf->att_cert_len = s->att_cert_len;
	s->att_cert = NULL;
	memcpy(sf->rk, s->rk, sizeof(sf->rk));
	sf->rk_len = s->rk_len;
	sf->rk_serial = s->rk_serial;
	sf->dirty = false;
	sf_power_cycle_locked(sf);	/* a new process is a new power-up */
	sf_unlock(sf);
	r = SOFTFIDO_OK;
out:
	if (root != NULL)
		cbor_decref(&root);
	staged_free(s);
	sf_wipe(buf, len);
	free(buf);
	return r;
}
