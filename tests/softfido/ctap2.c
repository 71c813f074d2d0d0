/*
 * CTAP2 command layer: authenticatorMakeCredential, GetAssertion,
 * GetNextAssertion, GetInfo, ClientPIN (clientpin.c) and Reset.
 *
 * Handlers that need the user's touch ask for it through presence(); the
 * first time round they get SF_UP_ASK and return SF_NEED_UP before changing
 * anything, and ctaphid.c runs them again once the simulated user has
 * decided. Every request is parsed through sfcbor.c's bounded accessors.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/softfido/sf_int.h"

#define CMD_MAKE_CREDENTIAL	0x01
#define CMD_GET_ASSERTION	0x02
#define CMD_GET_INFO		0x04
#define CMD_CLIENT_PIN		0x06
#define CMD_RESET		0x07
#define CMD_GET_NEXT_ASSERTION	0x08

#define MAX_PUBKEY_PARAMS	16
#define MAX_EXCLUDE_LIST	64
#define AUTHDATA_MIN		(SF_HASH_LEN + 1 + 4)
#define AUTHDATA_MAX		(AUTHDATA_MIN + SF_AAGUID_LEN + 2 + \
				 SF_CRED_ID_LEN + 128)

/* authenticatorMakeCredential parameters */
#define MC_CDH		1
#define MC_RP		2
#define MC_USER		3
#define MC_PARAMS	4
#define MC_EXCLUDE	5
#define MC_EXT		6
#define MC_OPTIONS	7
#define MC_AUTH		8
#define MC_PROTOCOL	9
#define MC_ENTERPRISE	10
#define MC_MAX		11

/* authenticatorGetAssertion parameters */
#define GA_RPID		1
#define GA_CDH		2
#define GA_ALLOW	3
#define GA_EXT		4
#define GA_OPTIONS	5
#define GA_AUTH		6
#define GA_PROTOCOL	7
#define GA_MAX		8

struct options {
	bool	rk, up, uv;
	bool	has_rk, has_up, has_uv;
};

/* A byte buffer with a fixed capacity; writes past it fail. */
struct wbuf {
	uint8_t	*p;
	size_t	 len, cap;
	bool	 overflow;
};

static void
put(struct wbuf *w, const void *data, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void
put_be(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(w, b, n);
}

static int
presence(enum sf_up up)
{
	switch (up) {
	case SF_UP_ASK:
		return SF_NEED_UP;
	case SF_UP_GRANTED:
		return CTAP2_OK;
	case SF_UP_CANCELLED:
		return CTAP2_ERR_KEEPALIVE_CANCEL;
	case SF_UP_DENIED:
	default:
		return CTAP2_ERR_USER_ACTION_TIMEOUT;
	}
}

static void
bump_counter(struct softfido *sf)
{
	if (sf->counter < UINT32_MAX)
		sf->counter++;
	sf->dirty = true;
}

static int
parse_options(const cbor_item_t *item, struct options *o)
{
	static const char *const names[] = { "rk", "up", "uv" };
	const cbor_item_t	*v[3];
	int			 r;

	memset(o, 0, sizeof(*o));
	o->up = true;	/* default */
	if (item == NULL)
		return CTAP2_OK;
	if ((r = sf_cbor_text_map(item, names, v, 3)) != CTAP2_OK)
		return r;
	if ((v[0] != NULL && (r = sf_cbor_bool(v[0], &o->rk)) != CTAP2_OK) ||
	    (v[1] != NULL && (r = sf_cbor_bool(v[1], &o->up)) != CTAP2_OK) ||
	    (v[2] != NULL && (r = sf_cbor_bool(v[2], &o->uv)) != CTAP2_OK))
		return r;
	o->has_rk = v[0] != NULL;
	o->has_up = v[1] != NULL;
	o->has_uv = v[2] != NULL;
	return CTAP2_OK;
}

/*
 * PublicKeyCredentialDescriptor {"id": bytes, "type": text}. *id is NULL
 * for descriptors of another type or too long to be ours: skip those.
 */
static int
parse_descriptor(const cbor_item_t *item, const uint8_t **id, size_t *len)
{
	static const char *const names[] = { "id", "type" };
	const cbor_item_t	*v[2];
	bool			 pk = false;
	int			 r;

	*id = NULL;
	*len = 0;
	if ((r = sf_cbor_text_map(item, names, v, 2)) != CTAP2_OK)
		return r;
	if (v[0] == NULL || v[1] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (!cbor_isa_bytestring(v[0]))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((r = sf_cbor_text_eq(v[1], "public-key", &pk)) != CTAP2_OK)
		return r;
	if (!pk || cbor_bytestring_length(v[0]) > SF_MAX_CRED_ID)
		return CTAP2_OK;
	return sf_cbor_bytes(v[0], id, len, 0, SF_MAX_CRED_ID);
}

/* pinUvAuthParam + pinUvAuthProtocol; *uv true once verified. */
static int
check_uv(struct softfido *sf, const cbor_item_t *auth_item,
    const cbor_item_t *proto_item, const uint8_t cdh[SF_HASH_LEN],
    uint8_t perm, const uint8_t rp_hash[SF_HASH_LEN], enum sf_up up,
    bool *uv)
{
	const uint8_t	*auth;
	size_t		 auth_len;
	uint64_t	 proto;
	int		 r;

	*uv = false;
	if (auth_item == NULL)
		return CTAP2_OK;
	if ((r = sf_cbor_bytes(auth_item, &auth, &auth_len, 0, 64)) !=
	    CTAP2_OK)
		return r;
	if (auth_len == 0) {
		/* "touch to select this authenticator" probe */
		if ((r = presence(up)) != CTAP2_OK)
			return r;
		return sf->pin_set ? CTAP2_ERR_PIN_INVALID :
		    CTAP2_ERR_PIN_NOT_SET;
	}
	if (proto_item == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_uint(proto_item, &proto)) != CTAP2_OK)
		return r;
	if (!sf_pin_protocol_ok(sf, proto))
		return CTAP1_ERR_INVALID_PARAMETER;
	if ((r = sf_pin_check_auth(sf, (uint8_t)proto, cdh, SF_HASH_LEN,
	    auth, auth_len, perm, rp_hash)) != CTAP2_OK)
		return r;
	*uv = true;
	return CTAP2_OK;
}

static int
parse_rp(const cbor_item_t *item, char rp_id[SF_MAX_RPID + 1],
    uint8_t rp_hash[SF_HASH_LEN])
{
	static const char *const names[] = { "id", "name" };
	const cbor_item_t	*v[2];
	char			 name[SF_MAX_USER_NAME + 1];
	int			 r;

	if ((r = sf_cbor_text_map(item, names, v, 2)) != CTAP2_OK)
		return r;
	if (v[0] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_text(v[0], rp_id, SF_MAX_RPID + 1, false)) !=
	    CTAP2_OK ||
	    (v[1] != NULL && (r = sf_cbor_text(v[1], name, sizeof(name),
	    true)) != CTAP2_OK))
		return r;
	if (sf_sha256(rp_id, strlen(rp_id), rp_hash) != 0)
		return CTAP1_ERR_OTHER;
	return CTAP2_OK;
}

static int
parse_user(const cbor_item_t *item, struct sf_rk *rk)
{
	static const char *const names[] = { "id", "name", "displayName" };
	const cbor_item_t	*v[3];
	const uint8_t		*id;
	int			 r;

	if ((r = sf_cbor_text_map(item, names, v, 3)) != CTAP2_OK)
		return r;
	if (v[0] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_bytes(v[0], &id, &rk->user_id_len, 1,
	    SF_MAX_USER_ID)) != CTAP2_OK ||
	    (v[1] != NULL && (r = sf_cbor_text(v[1], rk->user_name,
	    sizeof(rk->user_name), true)) != CTAP2_OK) ||
	    (v[2] != NULL && (r = sf_cbor_text(v[2], rk->display_name,
	    sizeof(rk->display_name), true)) != CTAP2_OK))
		return r;
	memcpy(rk->user_id, id, rk->user_id_len);
	return CTAP2_OK;
}

/* First supported entry of pubKeyCredParams, in the client's order. */
static int
pick_alg(const cbor_item_t *item, int *alg)
{
	static const char *const names[] = { "alg", "type" };
	cbor_item_t		**list;
	const cbor_item_t	*v[2];
	size_t			 n;
	int			 r;

	*alg = 0;
	if ((r = sf_cbor_array(item, &list, &n, MAX_PUBKEY_PARAMS)) !=
	    CTAP2_OK)
		return r;
	for (size_t i = 0; i < n; i++) {
		int64_t	a;
		bool	pk;

		if ((r = sf_cbor_text_map(list[i], names, v, 2)) != CTAP2_OK)
			return r;
		if (v[0] == NULL || v[1] == NULL)
			return CTAP2_ERR_MISSING_PARAMETER;
		if ((r = sf_cbor_int(v[0], &a)) != CTAP2_OK ||
		    (r = sf_cbor_text_eq(v[1], "public-key", &pk)) != CTAP2_OK)
			return r;
		if (*alg == 0 && pk &&
		    (a == SF_COSE_ES256 || a == SF_COSE_EDDSA))
			*alg = (int)a;
	}
	return *alg != 0 ? CTAP2_OK : CTAP2_ERR_UNSUPPORTED_ALGORITHM;
}

static int
check_exclude_list(struct softfido *sf, const cbor_item_t *item,
    const uint8_t rp_hash[SF_HASH_LEN], enum sf_up up)
{
	cbor_item_t	**list;
	size_t		  n;
	int		  r;

	if (item == NULL)
		return CTAP2_OK;
	if ((r = sf_cbor_array(item, &list, &n, MAX_EXCLUDE_LIST)) !=
	    CTAP2_OK)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct sf_credkey	 k;
		const uint8_t		*id;
		size_t			 len;

		if ((r = parse_descriptor(list[i], &id, &len)) != CTAP2_OK)
			return r;
		if (id == NULL || sf_credkey_unwrap(sf, rp_hash, id, len,
		    &k) != 0)
			continue;
		sf_credkey_clear(&k);
		if ((r = presence(up)) != CTAP2_OK)
			return r;
		return CTAP2_ERR_CREDENTIAL_EXCLUDED;
	}
	return CTAP2_OK;
}

/* Slot for a discoverable credential: same RP and user id, or a free one. */
static struct sf_rk *
rk_slot(struct softfido *sf, const struct sf_rk *want)
{
	for (size_t i = 0; i < sf->rk_len; i++) {
		struct sf_rk *rk = &sf->rk[i];

		if (memcmp(rk->rp_id_hash, want->rp_id_hash, SF_HASH_LEN) ==
		    0 && rk->user_id_len == want->user_id_len &&
		    memcmp(rk->user_id, want->user_id, rk->user_id_len) == 0)
			return rk;
	}
	if (sf->rk_len < SF_MAX_RK)
		return &sf->rk[sf->rk_len];
	return NULL;
}

static int
make_credential(struct softfido *sf, const cbor_item_t *params,
    enum sf_up up, cbor_item_t **out)
{
	const cbor_item_t	*p[MC_MAX];
	struct options		 o;
	struct sf_rk		 rk;
	struct sf_rk		*slot = NULL;
	struct sf_credkey	 k;
	struct wbuf		 ad;
	cbor_item_t		*cose = NULL, *fmt = NULL, *stmt = NULL;
	cbor_item_t		*map = NULL;
	uint8_t			 authdata[AUTHDATA_MAX + SF_HASH_LEN];
	uint8_t			*cose_buf = NULL;
	const uint8_t		*cdh;
	size_t			 cdh_len, cose_len = 0;
	bool			 uv = false;
	int			 alg, r;

	memset(&k, 0, sizeof(k));
	memset(&rk, 0, sizeof(rk));
	if ((r = sf_cbor_uint_map(params, p, MC_MAX)) != CTAP2_OK)
		return r;
	if (p[MC_CDH] == NULL || p[MC_RP] == NULL || p[MC_USER] == NULL ||
	    p[MC_PARAMS] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_bytes(p[MC_CDH], &cdh, &cdh_len, SF_HASH_LEN,
	    SF_HASH_LEN)) != CTAP2_OK ||
	    (r = parse_rp(p[MC_RP], rk.rp_id, rk.rp_id_hash)) != CTAP2_OK ||
	    (r = parse_user(p[MC_USER], &rk)) != CTAP2_OK ||
	    (r = pick_alg(p[MC_PARAMS], &alg)) != CTAP2_OK ||
	    (r = parse_options(p[MC_OPTIONS], &o)) != CTAP2_OK)
		return r;
	if (p[MC_EXT] != NULL && !cbor_isa_map(p[MC_EXT]))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;	/* ignored otherwise */
	if (p[MC_ENTERPRISE] != NULL)
		return CTAP1_ERR_INVALID_PARAMETER;
	if (o.has_up && !o.up)
		return CTAP2_ERR_INVALID_OPTION;
	if (o.uv && p[MC_AUTH] == NULL)
		return CTAP2_ERR_INVALID_OPTION;	/* no built-in UV */

	if ((r = check_uv(sf, p[MC_AUTH], p[MC_PROTOCOL], cdh, SF_PERM_MC,
	    rk.rp_id_hash, up, &uv)) != CTAP2_OK)
		return r;
	if (!uv && sf->pin_set)
		return CTAP2_ERR_PUAT_REQUIRED;
	if ((r = check_exclude_list(sf, p[MC_EXCLUDE], rk.rp_id_hash,
	    up)) != CTAP2_OK)
		return r;
	if ((r = presence(up)) != CTAP2_OK)
		return r;
	if (o.rk && (slot = rk_slot(sf, &rk)) == NULL)
		return CTAP2_ERR_KEY_STORE_FULL;

	/* from here on the authenticator changes state */
	r = CTAP1_ERR_OTHER;
	if (sf_credkey_generate(alg, &k) != 0 ||
	    sf_credkey_wrap(sf, rk.rp_id_hash, &k, rk.cred_id) != 0 ||
	    (cose = sf_credkey_cose(&k)) == NULL ||
	    sf_cbor_serialize(cose, &cose_buf, &cose_len) != 0)
		goto out;
	bump_counter(sf);

	ad = (struct wbuf){ .p = authdata, .cap = AUTHDATA_MAX };
	put(&ad, rk.rp_id_hash, SF_HASH_LEN);
	put_be(&ad, (uint8_t)(SF_FLAG_UP | SF_FLAG_AT | (uv ? SF_FLAG_UV : 0)),
	    1);
	put_be(&ad, sf->counter, 4);
	put(&ad, sf->aaguid, SF_AAGUID_LEN);
	put_be(&ad, SF_CRED_ID_LEN, 2);
	put(&ad, rk.cred_id, SF_CRED_ID_LEN);
	put(&ad, cose_buf, cose_len);
	if (ad.overflow)
		goto out;
	/* the attestation signs authData || clientDataHash */
	memcpy(authdata + ad.len, cdh, SF_HASH_LEN);
	if (sf_attest_statement(sf, &k, authdata, ad.len + SF_HASH_LEN, &fmt,
	    &stmt) != 0)
		goto out;

	if ((map = cbor_new_definite_map(3)) == NULL ||
	    sf_cbor_put_uint(map, 1, fmt) != 0 ||
	    sf_cbor_put_uint(map, 2, cbor_build_bytestring(authdata,
	    ad.len)) != 0 ||
	    sf_cbor_put_uint(map, 3, stmt) != 0) {
		fmt = stmt = NULL;
		goto out;
	}
	fmt = stmt = NULL;

	if (slot != NULL) {
		rk.serial = ++sf->rk_serial;
		if (slot == &sf->rk[sf->rk_len])
			sf->rk_len++;
		*slot = rk;
	}
	*out = map;
	map = NULL;
	r = CTAP2_OK;
out:
	if (map != NULL)
		cbor_decref(&map);
	if (fmt != NULL)
		cbor_decref(&fmt);
	if (stmt != NULL)
		cbor_decref(&stmt);
	if (cose != NULL)
		cbor_decref(&cose);
	free(cose_buf);
	sf_credkey_clear(&k);
	sf_wipe(&rk, sizeof(rk));
	return r;
}

static const struct sf_rk *
rk_by_id(const struct softfido *sf, const uint8_t *id, size_t len)
{
	if (len != SF_CRED_ID_LEN)
		return NULL;
	for (size_t i = 0; i < sf->rk_len; i++)
		if (memcmp(sf->rk[i].cred_id, id, SF_CRED_ID_LEN) == 0)
			return &sf->rk[i];
	return NULL;
}

static cbor_item_t *
user_map(const struct sf_rk *rk, bool details)
{
	cbor_item_t	*m;
	size_t		 n = 1;
	bool		 name = details && rk->user_name[0] != '\0';
	bool		 disp = details && rk->display_name[0] != '\0';

	n += name ? 1 : 0;
	n += disp ? 1 : 0;
	/* canonical order: "id", "name", "displayName" */
	if ((m = cbor_new_definite_map(n)) == NULL ||
	    sf_cbor_put_str(m, "id", cbor_build_bytestring(rk->user_id,
	    rk->user_id_len)) != 0 ||
	    (name && sf_cbor_put_str(m, "name",
	    cbor_build_string(rk->user_name)) != 0) ||
	    (disp && sf_cbor_put_str(m, "displayName",
	    cbor_build_string(rk->display_name)) != 0)) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

/* One assertion: bumps the counter and signs authData || clientDataHash. */
static int
assertion(struct softfido *sf, const uint8_t *id, size_t id_len,
    const struct sf_credkey *k, const uint8_t rp_hash[SF_HASH_LEN],
    const uint8_t cdh[SF_HASH_LEN], uint8_t flags, size_t count,
    cbor_item_t **out)
{
	const struct sf_rk	*rk = rk_by_id(sf, id, id_len);
	cbor_item_t		*map = NULL, *desc = NULL;
	uint8_t			 msg[AUTHDATA_MIN + SF_HASH_LEN];
	uint8_t			 sig[80];
	size_t			 sig_len = sizeof(sig), n = 3;
	struct wbuf		 ad;
	int			 r = CTAP1_ERR_OTHER;

	bump_counter(sf);
	ad = (struct wbuf){ .p = msg, .cap = AUTHDATA_MIN };
	put(&ad, rp_hash, SF_HASH_LEN);
	put_be(&ad, flags, 1);
	put_be(&ad, sf->counter, 4);
	if (ad.overflow)
		goto out;
	memcpy(msg + AUTHDATA_MIN, cdh, SF_HASH_LEN);
	if (sf_sign(k->pkey, msg, sizeof(msg), sig, &sig_len) != 0)
		goto out;

	n += rk != NULL ? 1 : 0;
	n += count > 1 ? 1 : 0;
	if ((desc = cbor_new_definite_map(2)) == NULL ||
	    sf_cbor_put_str(desc, "id", cbor_build_bytestring(id,
	    id_len)) != 0 ||
	    sf_cbor_put_str(desc, "type",
	    cbor_build_string("public-key")) != 0 ||
	    (map = cbor_new_definite_map(n)) == NULL)
		goto out;
	r = sf_cbor_put_uint(map, 1, desc);
	desc = NULL;
	if (r != 0 ||
	    sf_cbor_put_uint(map, 2, cbor_build_bytestring(msg,
	    AUTHDATA_MIN)) != 0 ||
	    sf_cbor_put_uint(map, 3, cbor_build_bytestring(sig,
	    sig_len)) != 0 ||
	    (rk != NULL && sf_cbor_put_uint(map, 4,
	    user_map(rk, (flags & SF_FLAG_UV) != 0)) != 0) ||
	    (count > 1 && sf_cbor_put_uint(map, 5,
	    sf_cbor_build_int((int64_t)count)) != 0)) {
		r = CTAP1_ERR_OTHER;
		goto out;
	}
	*out = map;
	map = NULL;
	r = CTAP2_OK;
out:
	if (desc != NULL)
		cbor_decref(&desc);
	if (map != NULL)
		cbor_decref(&map);
	return r;
}

/* Discoverable credentials of one RP, newest first (n <= SF_MAX_RK). */
static void
rk_collect(const struct softfido *sf, const uint8_t rp_hash[SF_HASH_LEN],
    struct sf_next *next)
{
	next->count = 0;
	for (size_t i = 0; i < sf->rk_len; i++) {
		size_t j;

		if (memcmp(sf->rk[i].rp_id_hash, rp_hash, SF_HASH_LEN) != 0)
			continue;
		j = next->count++;
		while (j > 0 &&
		    sf->rk[next->idx[j - 1]].serial < sf->rk[i].serial) {
			next->idx[j] = next->idx[j - 1];
			j--;
		}
		next->idx[j] = i;
	}
}

static int
get_assertion(struct softfido *sf, const cbor_item_t *params, enum sf_up up,
    cbor_item_t **out)
{
	const cbor_item_t	*p[GA_MAX];
	struct options		 o;
	struct sf_credkey	 k;
	struct sf_next		 next;
	cbor_item_t		**list;
	char			 rp_id[SF_MAX_RPID + 1];
	uint8_t			 rp_hash[SF_HASH_LEN];
	const uint8_t		*cdh, *id = NULL;
	size_t			 cdh_len, n, id_len = 0;
	bool			 uv = false, found = false;
	uint8_t			 flags;
	int			 r;

	memset(&k, 0, sizeof(k));
	memset(&next, 0, sizeof(next));
	if ((r = sf_cbor_uint_map(params, p, GA_MAX)) != CTAP2_OK)
		return r;
	if (p[GA_RPID] == NULL || p[GA_CDH] == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if ((r = sf_cbor_text(p[GA_RPID], rp_id, sizeof(rp_id), false)) !=
	    CTAP2_OK ||
	    (r = sf_cbor_bytes(p[GA_CDH], &cdh, &cdh_len, SF_HASH_LEN,
	    SF_HASH_LEN)) != CTAP2_OK ||
	    (r = parse_options(p[GA_OPTIONS], &o)) != CTAP2_OK)
		return r;
	if (p[GA_EXT] != NULL && !cbor_isa_map(p[GA_EXT]))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;	/* ignored otherwise */
	if (o.has_rk)
		return CTAP2_ERR_UNSUPPORTED_OPTION;
	if (o.uv && p[GA_AUTH] == NULL)
		return CTAP2_ERR_INVALID_OPTION;	/* no built-in UV */
	if (sf_sha256(rp_id, strlen(rp_id), rp_hash) != 0)
		return CTAP1_ERR_OTHER;
	if ((r = check_uv(sf, p[GA_AUTH], p[GA_PROTOCOL], cdh, SF_PERM_GA,
	    rp_hash, up, &uv)) != CTAP2_OK)
		return r;

	if (p[GA_ALLOW] != NULL) {
		if ((r = sf_cbor_array(p[GA_ALLOW], &list, &n,
		    SF_MAX_ALLOW_LIST)) != CTAP2_OK)
			return r;
		for (size_t i = 0; i < n && !found; i++) {
			if ((r = parse_descriptor(list[i], &id, &id_len)) !=
			    CTAP2_OK)
				return r;
			if (id != NULL && sf_credkey_unwrap(sf, rp_hash, id,
			    id_len, &k) == 0)
				found = true;
		}
	} else {
		rk_collect(sf, rp_hash, &next);
		if (next.count > 0) {
			const struct sf_rk *rk = &sf->rk[next.idx[0]];

			id = rk->cred_id;
			id_len = SF_CRED_ID_LEN;
			found = sf_credkey_unwrap(sf, rp_hash, id, id_len,
			    &k) == 0;
		}
	}
	if (!found)
		return CTAP2_ERR_NO_CREDENTIALS;

	if (o.up && (r = presence(up)) != CTAP2_OK)
		goto out;
	flags = (uint8_t)((o.up ? SF_FLAG_UP : 0) | (uv ? SF_FLAG_UV : 0));
	if ((r = assertion(sf, id, id_len, &k, rp_hash, cdh, flags,
	    next.count, out)) != CTAP2_OK)
		goto out;
	if (next.count > 1) {
		next.active = true;
		next.pos = 1;
		next.flags = flags;
		memcpy(next.rp_id_hash, rp_hash, SF_HASH_LEN);
		memcpy(next.cdh, cdh, SF_HASH_LEN);
		sf->next = next;
	}
out:
	sf_credkey_clear(&k);
	return r;
}

static int
get_next_assertion(struct softfido *sf, cbor_item_t **out)
{
	struct sf_next		*next = &sf->next;
	struct sf_credkey	 k;
	const struct sf_rk	*rk;
	int			 r;

	if (!next->active || next->pos >= next->count ||
	    next->idx[next->pos] >= sf->rk_len) {
		memset(next, 0, sizeof(*next));
		return CTAP2_ERR_NOT_ALLOWED;
	}
	rk = &sf->rk[next->idx[next->pos++]];
	if (sf_credkey_unwrap(sf, next->rp_id_hash, rk->cred_id,
	    SF_CRED_ID_LEN, &k) != 0)
		return CTAP1_ERR_OTHER;
	r = assertion(sf, rk->cred_id, SF_CRED_ID_LEN, &k, next->rp_id_hash,
	    next->cdh, next->flags, 0, out);
	sf_credkey_clear(&k);
	if (next->pos >= next->count)
		memset(next, 0, sizeof(*next));
	return r;
}

static cbor_item_t *
string_array(const char *const *s, size_t n)
{
	cbor_item_t *a;

	if ((a = cbor_new_definite_array(n)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (sf_cbor_push(a, cbor_build_string(s[i])) != 0) {
			cbor_decref(&a);
			return NULL;
		}
	return a;
}

static cbor_item_t *
algorithm(int alg)
{
	cbor_item_t *m;

	if ((m = cbor_new_definite_map(2)) == NULL ||
	    sf_cbor_put_str(m, "alg", sf_cbor_build_int(alg)) != 0 ||
	    sf_cbor_put_str(m, "type", cbor_build_string("public-key")) != 0) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

static int
get_info(struct softfido *sf, cbor_item_t **out)
{
	static const char *const v21[] = { "FIDO_2_0", "FIDO_2_1" };
	static const char *const transports[] = { "usb" };
	const bool	 ctap21 = sf->profile == SOFTFIDO_PROFILE_CTAP21;
	cbor_item_t	*map = NULL, *opt = NULL, *proto = NULL, *algs = NULL;
	int		 r = CTAP1_ERR_OTHER;

	/* option names in canonical order */
	if ((opt = cbor_new_definite_map(ctap21 ? 4 : 3)) == NULL ||
	    sf_cbor_put_str(opt, "rk", cbor_build_bool(true)) != 0 ||
	    sf_cbor_put_str(opt, "up", cbor_build_bool(true)) != 0 ||
	    sf_cbor_put_str(opt, "clientPin",
	    cbor_build_bool(sf->pin_set)) != 0 ||
	    (ctap21 && sf_cbor_put_str(opt, "pinUvAuthToken",
	    cbor_build_bool(true)) != 0))
		goto out;
	if ((proto = cbor_new_definite_array(ctap21 ? 2 : 1)) == NULL ||
	    (ctap21 && sf_cbor_push(proto, sf_cbor_build_int(2)) != 0) ||
	    sf_cbor_push(proto, sf_cbor_build_int(1)) != 0)
		goto out;
	if ((algs = cbor_new_definite_array(2)) == NULL ||
	    sf_cbor_push(algs, algorithm(SF_COSE_ES256)) != 0 ||
	    sf_cbor_push(algs, algorithm(SF_COSE_EDDSA)) != 0)
		goto out;

	if ((map = cbor_new_definite_map(ctap21 ? 10 : 9)) == NULL ||
	    sf_cbor_put_uint(map, 1, string_array(v21, ctap21 ? 2 : 1)) != 0 ||
	    sf_cbor_put_uint(map, 3, cbor_build_bytestring(sf->aaguid,
	    SF_AAGUID_LEN)) != 0)
		goto out;
	r = sf_cbor_put_uint(map, 4, opt);
	opt = NULL;
	if (r != 0 ||
	    sf_cbor_put_uint(map, 5, sf_cbor_build_int(SF_MAX_MSG)) != 0)
		goto fail;
	r = sf_cbor_put_uint(map, 6, proto);
	proto = NULL;
	if (r != 0 ||
	    sf_cbor_put_uint(map, 7, sf_cbor_build_int(SF_MAX_ALLOW_LIST)) ||
	    sf_cbor_put_uint(map, 8, sf_cbor_build_int(SF_CRED_ID_LEN)) ||
	    sf_cbor_put_uint(map, 9, string_array(transports, 1)) != 0)
		goto fail;
	r = sf_cbor_put_uint(map, 10, algs);
	algs = NULL;
	if (r != 0 || (ctap21 && sf_cbor_put_uint(map, 13,
	    sf_cbor_build_int(SF_PIN_MIN_CP)) != 0))
		goto fail;
	*out = map;
	map = NULL;
	r = CTAP2_OK;
	goto out;
fail:
	r = CTAP1_ERR_OTHER;
out:
	if (map != NULL)
		cbor_decref(&map);
	if (opt != NULL)
		cbor_decref(&opt);
	if (proto != NULL)
		cbor_decref(&proto);
	if (algs != NULL)
		cbor_decref(&algs);
	return r;
}

/* Forget every credential and the PIN; keep AAGUID and attestation. */
static int
reset(struct softfido *sf, enum sf_up up)
{
	int r;

	if ((r = presence(up)) != CTAP2_OK)
		return r;
	if (sf_random(sf->master, sizeof(sf->master)) != 0 ||
	    sf_pin_new_volatile(sf) != 0)
		return CTAP1_ERR_OTHER;
	sf_wipe(sf->rk, sizeof(sf->rk));
	sf->rk_len = 0;
	sf->pin_set = false;
	sf_wipe(sf->pin_hash, sizeof(sf->pin_hash));
	sf->pin_retries = SF_PIN_RETRIES;
	sf->dirty = true;
	return CTAP2_OK;
}

static int
dispatch(struct softfido *sf, uint8_t cmd, const cbor_item_t *params,
    enum sf_up up, cbor_item_t **out)
{
	switch (cmd) {
	case CMD_GET_INFO:
		return get_info(sf, out);
	case CMD_GET_NEXT_ASSERTION:
		return get_next_assertion(sf, out);
	case CMD_RESET:
		return reset(sf, up);
	case CMD_MAKE_CREDENTIAL:
	case CMD_GET_ASSERTION:
	case CMD_CLIENT_PIN:
		break;
	default:
		return CTAP1_ERR_INVALID_COMMAND;
	}
	if (params == NULL)
		return CTAP2_ERR_MISSING_PARAMETER;
	if (!cbor_isa_map(params))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	switch (cmd) {
	case CMD_MAKE_CREDENTIAL:
		return make_credential(sf, params, up, out);
	case CMD_GET_ASSERTION:
		return get_assertion(sf, params, up, out);
	default:
		return sf_clientpin(sf, params, out);
	}
}

int
sf_ctap2(struct softfido *sf, const uint8_t *req, size_t req_len,
    enum sf_up up, uint8_t *reply, size_t *reply_len)
{
	cbor_item_t	*params = NULL, *out = NULL;
	uint8_t		*body = NULL;
	size_t		 body_len = 0, cap = *reply_len;
	int		 status;

	if (cap < 1)
		return -1;
	if (req_len < 1) {
		status = CTAP1_ERR_INVALID_LENGTH;
		goto done;
	}
	if (req[0] != CMD_GET_NEXT_ASSERTION)
		memset(&sf->next, 0, sizeof(sf->next));
	if (req_len > 1 && (status = sf_cbor_load(req + 1, req_len - 1,
	    &params)) != CTAP2_OK)
		goto done;

	status = dispatch(sf, req[0], params, up, &out);
	if (status == SF_NEED_UP)
		goto out;
	/* state changes stick even when the command fails (PIN retries) */
	if (sf->dirty && sf_state_autosave(sf) != 0)
		status = CTAP1_ERR_OTHER;
	if (status == CTAP2_OK && out != NULL &&
	    (sf_cbor_serialize(out, &body, &body_len) != 0 ||
	    body_len > cap - 1))
		status = CTAP1_ERR_OTHER;
done:
	reply[0] = (uint8_t)status;
	*reply_len = 1;
	if (status == CTAP2_OK && body != NULL) {
		memcpy(reply + 1, body, body_len);
		*reply_len += body_len;
	}
out:
	if (body != NULL) {
		sf_wipe(body, body_len);
		free(body);
	}
	if (out != NULL)
		cbor_decref(&out);
	if (params != NULL)
		cbor_decref(&params);
	return status == SF_NEED_UP ? SF_NEED_UP : 0;
}
