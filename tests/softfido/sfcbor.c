/*
 * Bounded CBOR access on top of libcbor.
 *
 * Everything a client sends goes through sf_cbor_load() first: one complete
 * item, no trailing bytes, nesting at most SF_CBOR_MAX_DEPTH, only definite
 * lengths, no tags or floats, and map keys in CTAP2 canonical order (which
 * also rules out duplicate keys). The typed getters below then bound every
 * variable-length field. Decoders return a CTAP status code.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/softfido/sf_int.h"

#define SF_CBOR_MAX_DEPTH	6

static bool
definite(const cbor_item_t *item)
{
	switch (cbor_typeof(item)) {
	case CBOR_TYPE_BYTESTRING:
		return cbor_bytestring_is_definite(item);
	case CBOR_TYPE_STRING:
		return cbor_string_is_definite(item);
	case CBOR_TYPE_ARRAY:
		return cbor_array_is_definite(item);
	case CBOR_TYPE_MAP:
		return cbor_map_is_definite(item);
	default:
		return true;
	}
}

/* CTAP2 canonical key order: major type, then length/value, then bytes. */
static int
key_cmp(const cbor_item_t *a, const cbor_item_t *b)
{
	cbor_type	ta = cbor_typeof(a), tb = cbor_typeof(b);
	size_t		la, lb;
	int		c;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	switch (ta) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		if (cbor_get_int(a) == cbor_get_int(b))
			return 0;
		return cbor_get_int(a) < cbor_get_int(b) ? -1 : 1;
	case CBOR_TYPE_STRING:
		la = cbor_string_length(a);
		lb = cbor_string_length(b);
		if (la != lb)
			return la < lb ? -1 : 1;
		c = memcmp(cbor_string_handle(a), cbor_string_handle(b), la);
		return c;
	case CBOR_TYPE_BYTESTRING:
		la = cbor_bytestring_length(a);
		lb = cbor_bytestring_length(b);
		if (la != lb)
			return la < lb ? -1 : 1;
		c = memcmp(cbor_bytestring_handle(a),
		    cbor_bytestring_handle(b), la);
		return c;
	default:
		return 0;	/* unreachable: check() rejects such keys */
	}
}

static int
check(const cbor_item_t *item, int depth)
{
	struct cbor_pair	*pairs;
	cbor_item_t		**items;
	size_t			 n;
	int			 r;

	if (depth > SF_CBOR_MAX_DEPTH || !definite(item))
		return CTAP2_ERR_INVALID_CBOR;

	switch (cbor_typeof(item)) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
	case CBOR_TYPE_BYTESTRING:
	case CBOR_TYPE_STRING:
		return CTAP2_OK;
	case CBOR_TYPE_FLOAT_CTRL:
		/* true, false, null, undefined; no floats */
		return cbor_float_ctrl_is_ctrl(item) ? CTAP2_OK :
		    CTAP2_ERR_INVALID_CBOR;
	case CBOR_TYPE_ARRAY:
		n = cbor_array_size(item);
		if (n > 0 && (items = cbor_array_handle(item)) == NULL)
			return CTAP2_ERR_INVALID_CBOR;
		for (size_t i = 0; i < n; i++)
			if ((r = check(items[i], depth + 1)) != CTAP2_OK)
				return r;
		return CTAP2_OK;
	case CBOR_TYPE_MAP:
		n = cbor_map_size(item);
		if (n > 0 && (pairs = cbor_map_handle(item)) == NULL)
			return CTAP2_ERR_INVALID_CBOR;
		for (size_t i = 0; i < n; i++) {
			cbor_type kt = cbor_typeof(pairs[i].key);

			if (kt != CBOR_TYPE_UINT && kt != CBOR_TYPE_NEGINT &&
			    kt != CBOR_TYPE_STRING &&
			    kt != CBOR_TYPE_BYTESTRING)
				return CTAP2_ERR_INVALID_CBOR;
			if ((r = check(pairs[i].key, depth + 1)) != CTAP2_OK ||
			    (r = check(pairs[i].value, depth + 1)) != CTAP2_OK)
				return r;
			if (i > 0 && key_cmp(pairs[i - 1].key,
			    pairs[i].key) >= 0)
				return CTAP2_ERR_INVALID_CBOR;
		}
		return CTAP2_OK;
	default:
		return CTAP2_ERR_INVALID_CBOR;	/* tags */
	}
}

int
sf_cbor_load(const uint8_t *buf, size_t len, cbor_item_t **out)
{
	struct cbor_load_result	 res;
	cbor_item_t		*item;
	int			 r;

	*out = NULL;
	if (len == 0)
		return CTAP2_ERR_INVALID_CBOR;
	memset(&res, 0, sizeof(res));
	if ((item = cbor_load(buf, len, &res)) == NULL)
		return CTAP2_ERR_INVALID_CBOR;
	if (res.read != len) {
		cbor_decref(&item);
		return CTAP2_ERR_INVALID_CBOR;	/* trailing bytes */
	}
	if ((r = check(item, 0)) != CTAP2_OK) {
		cbor_decref(&item);
		return r;
	}
	*out = item;
	return CTAP2_OK;
}

int
sf_cbor_uint_map(const cbor_item_t *map, const cbor_item_t **slots,
    size_t nslots)
{
	struct cbor_pair	*pairs;
	size_t			 n;

	for (size_t i = 0; i < nslots; i++)
		slots[i] = NULL;
	if (!cbor_isa_map(map))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((n = cbor_map_size(map)) == 0)
		return CTAP2_OK;
	if ((pairs = cbor_map_handle(map)) == NULL)
		return CTAP2_ERR_INVALID_CBOR;
	for (size_t i = 0; i < n; i++) {
		uint64_t k;

		if (!cbor_isa_uint(pairs[i].key))
			return CTAP2_ERR_INVALID_CBOR;
		k = cbor_get_int(pairs[i].key);
		if (k < nslots)
			slots[k] = pairs[i].value;	/* others: ignored */
	}
	return CTAP2_OK;
}

int
sf_cbor_text_map(const cbor_item_t *map, const char *const *names,
    const cbor_item_t **slots, size_t nnames)
{
	struct cbor_pair	*pairs;
	size_t			 n;

	for (size_t i = 0; i < nnames; i++)
		slots[i] = NULL;
	if (!cbor_isa_map(map))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((n = cbor_map_size(map)) == 0)
		return CTAP2_OK;
	if ((pairs = cbor_map_handle(map)) == NULL)
		return CTAP2_ERR_INVALID_CBOR;
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *k = pairs[i].key;

		if (!cbor_isa_string(k))
			return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
		for (size_t j = 0; j < nnames; j++) {
			size_t len = strlen(names[j]);

			if (cbor_string_length(k) == len &&
			    memcmp(cbor_string_handle(k), names[j], len) == 0)
				slots[j] = pairs[i].value;
		}
	}
	return CTAP2_OK;
}

int
sf_cbor_bytes(const cbor_item_t *item, const uint8_t **p, size_t *len,
    size_t min, size_t max)
{
	size_t n;

	if (!cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	n = cbor_bytestring_length(item);
	if (n < min || n > max)
		return CTAP1_ERR_INVALID_LENGTH;
	*p = n > 0 ? cbor_bytestring_handle(item) : NULL;
	*len = n;
	return CTAP2_OK;
}

int
sf_cbor_text(const cbor_item_t *item, char *buf, size_t cap, bool truncate)
{
	const uint8_t	*s;
	size_t		 n;

	if (cap == 0)
		return CTAP1_ERR_OTHER;
	if (!cbor_isa_string(item) || !cbor_string_is_definite(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	n = cbor_string_length(item);
	s = cbor_string_handle(item);
	if (n > 0 && s == NULL)
		return CTAP2_ERR_INVALID_CBOR;
	if (n > cap - 1) {
		if (!truncate)
			return CTAP1_ERR_INVALID_LENGTH;
		n = cap - 1;
		/* do not cut a UTF-8 sequence in half */
		while (n > 0 && (s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0 && memchr(s, '\0', n) != NULL)
		return CTAP1_ERR_INVALID_PARAMETER;
	if (n > 0)
		memcpy(buf, s, n);
	buf[n] = '\0';
	return CTAP2_OK;
}

int
sf_cbor_text_eq(const cbor_item_t *item, const char *want, bool *eq)
{
	size_t len = strlen(want);

	if (!cbor_isa_string(item) || !cbor_string_is_definite(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	*eq = cbor_string_length(item) == len && (len == 0 ||
	    memcmp(cbor_string_handle(item), want, len) == 0);
	return CTAP2_OK;
}

int
sf_cbor_uint(const cbor_item_t *item, uint64_t *v)
{
	if (!cbor_isa_uint(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	*v = cbor_get_int(item);
	return CTAP2_OK;
}

int
sf_cbor_int(const cbor_item_t *item, int64_t *v)
{
	uint64_t n;

	if (!cbor_isa_uint(item) && !cbor_isa_negint(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((n = cbor_get_int(item)) > INT64_MAX)
		return CTAP1_ERR_INVALID_PARAMETER;
	*v = cbor_isa_uint(item) ? (int64_t)n : -1 - (int64_t)n;
	return CTAP2_OK;
}

int
sf_cbor_bool(const cbor_item_t *item, bool *v)
{
	if (!cbor_is_bool(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	*v = cbor_get_bool(item);
	return CTAP2_OK;
}

int
sf_cbor_array(const cbor_item_t *item, cbor_item_t ***items, size_t *n,
    size_t max)
{
	size_t len;

	if (!cbor_isa_array(item) || !cbor_array_is_definite(item))
		return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
	if ((len = cbor_array_size(item)) > max)
		return CTAP2_ERR_LIMIT_EXCEEDED;
	*items = len > 0 ? cbor_array_handle(item) : NULL;
	if (len > 0 && *items == NULL)
		return CTAP2_ERR_INVALID_CBOR;
	*n = len;
	return CTAP2_OK;
}

static cbor_item_t *
build_uint(uint64_t v)
{
	if (v <= UINT8_MAX)
		return cbor_build_uint8((uint8_t)v);
	if (v <= UINT16_MAX)
		return cbor_build_uint16((uint16_t)v);
	if (v <= UINT32_MAX)
		return cbor_build_uint32((uint32_t)v);
	return cbor_build_uint64(v);
}

cbor_item_t *
sf_cbor_build_int(int64_t v)
{
	cbor_item_t	*item;
	uint64_t	 n;

	if (v >= 0)
		return build_uint((uint64_t)v);
	n = (uint64_t)(-1 - v);
	if ((item = build_uint(n)) != NULL)
		cbor_mark_negint(item);
	return item;
}

int
sf_cbor_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *val)
{
	int r = -1;

	if (map != NULL && key != NULL && val != NULL &&
	    cbor_map_add(map, (struct cbor_pair){ .key = key, .value = val }))
		r = 0;
	if (key != NULL)
		cbor_decref(&key);
	if (val != NULL)
		cbor_decref(&val);
	return r;
}

int
sf_cbor_put_uint(cbor_item_t *map, uint8_t key, cbor_item_t *val)
{
	return sf_cbor_put(map, cbor_build_uint8(key), val);
}

int
sf_cbor_put_str(cbor_item_t *map, const char *key, cbor_item_t *val)
{
	return sf_cbor_put(map, cbor_build_string(key), val);
}

int
sf_cbor_push(cbor_item_t *array, cbor_item_t *val)
{
	int r = -1;

	if (array != NULL && val != NULL && cbor_array_push(array, val))
		r = 0;
	if (val != NULL)
		cbor_decref(&val);
	return r;
}

int
sf_cbor_serialize(const cbor_item_t *item, uint8_t **buf, size_t *len)
{
	unsigned char	*p = NULL;
	size_t		 cap = 0, n;

	if ((n = cbor_serialize_alloc(item, &p, &cap)) == 0) {
		free(p);
		return -1;
	}
	*buf = p;
	*len = n;
	return 0;
}
