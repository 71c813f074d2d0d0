/*
 * The softfido object: lifetime (reference counted), test knobs, the
 * registry that maps "softfido:NAME" paths to instances, and the libfido2
 * io functions that reach an instance through that registry.
 *
 * Locking: sf->lock guards everything inside one authenticator, including
 * its open handles; reg_lock guards the registry. reg_lock is taken before
 * sf->lock, never the other way round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/softfido/sf_int.h"

#define REG_MAX		32
#define PATH_PREFIX	"softfido:"

struct io_handle {
	struct softfido	*sf;
	struct sf_hid	*hid;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char		*path;
	struct softfido	*sf;
} reg[REG_MAX];

void
sf_lock(struct softfido *sf)
{
	(void)pthread_mutex_lock(&sf->lock);
}

void
sf_unlock(struct softfido *sf)
{
	(void)pthread_mutex_unlock(&sf->lock);
}

void
sf_wait(struct softfido *sf, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	(void)pthread_cond_timedwait(&sf->cond, &sf->lock, &ts);
}

static void
destroy(struct softfido *sf)
{
	EVP_PKEY_free(sf->att_key);
	EVP_PKEY_free(sf->ka);
	free(sf->att_cert);
	free(sf->autosave);
	(void)pthread_cond_destroy(&sf->cond);
	(void)pthread_mutex_destroy(&sf->lock);
	sf_wipe(sf, sizeof(*sf));
	free(sf);
}

void
sf_ref(struct softfido *sf)
{
	sf_lock(sf);
	sf->refs++;
	sf_unlock(sf);
}

void
sf_unref(struct softfido *sf)
{
	bool last;

	sf_lock(sf);
	last = --sf->refs == 0;
	sf_unlock(sf);
	if (last)
		destroy(sf);
}

void
sf_power_cycle_locked(struct softfido *sf)
{
	/* on failure ka stays NULL and clientPIN answers CTAP1_ERR_OTHER */
	if (sf_pin_new_volatile(sf) != 0) {
		EVP_PKEY_free(sf->ka);
		sf->ka = NULL;
	}
	memset(&sf->next, 0, sizeof(sf->next));
}

struct softfido *
softfido_new(void)
{
	struct softfido		*sf;
	pthread_condattr_t	 attr;
	bool			 have_attr = false, have_cond = false;

	if ((sf = calloc(1, sizeof(*sf))) == NULL)
		return NULL;
	if (pthread_mutex_init(&sf->lock, NULL) != 0) {
		free(sf);
		return NULL;
	}
	if (pthread_condattr_init(&attr) == 0) {
		have_attr = true;
		if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
		    pthread_cond_init(&sf->cond, &attr) == 0)
			have_cond = true;
		(void)pthread_condattr_destroy(&attr);
	}
	if (!have_attr || !have_cond) {
		(void)pthread_mutex_destroy(&sf->lock);
		free(sf);
		return NULL;
	}
	sf->refs = 1;
	sf->pin_retries = SF_PIN_RETRIES;
	sf->next_cid = 1;
	sf->touch = SOFTFIDO_TOUCH_YES;
	sf->touch_timeout_ms = SF_DEFAULT_TOUCH_MS;
	sf->profile = SOFTFIDO_PROFILE_CTAP21;
	sf->attestation = SOFTFIDO_ATT_BATCH;
	if (sf_random(sf->master, sizeof(sf->master)) != 0 ||
	    sf_random(sf->aaguid, sizeof(sf->aaguid)) != 0 ||
	    sf_attest_create(sf) != 0 || sf_pin_new_volatile(sf) != 0) {
		destroy(sf);
		return NULL;
	}
	return sf;
}

void
softfido_free(struct softfido **sfp)
{
	if (sfp == NULL || *sfp == NULL)
		return;
	sf_unref(*sfp);
	*sfp = NULL;
}

void
softfido_set_touch(struct softfido *sf, enum softfido_touch mode)
{
	sf_lock(sf);
	sf->touch = mode;
	sf_unlock(sf);
}

void
softfido_set_touch_timeout(struct softfido *sf, unsigned int ms)
{
	sf_lock(sf);
	sf->touch_timeout_ms = ms;
	sf_unlock(sf);
}

void
softfido_touch(struct softfido *sf)
{
	sf_lock(sf);
	sf->touches++;
	(void)pthread_cond_broadcast(&sf->cond);
	sf_unlock(sf);
}

void
softfido_set_profile(struct softfido *sf, enum softfido_profile profile)
{
	sf_lock(sf);
	sf->profile = profile;
	memset(&sf->token, 0, sizeof(sf->token));
	sf_unlock(sf);
}

void
softfido_set_attestation(struct softfido *sf, enum softfido_attestation a)
{
	sf_lock(sf);
	sf->attestation = a;
	sf_unlock(sf);
}

int
softfido_set_pin(struct softfido *sf, const char *pin)
{
	uint8_t	hash[SF_PIN_HASH_LEN];
	size_t	len;
	int	r;

	if (sf == NULL || pin == NULL)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	len = strlen(pin);
	if (!sf_pin_policy_ok((const uint8_t *)pin, len))
		return SOFTFIDO_ERR_PIN_POLICY;
	if (sf_pin_hash(pin, len, hash) != 0)
		return SOFTFIDO_ERR_CRYPTO;
	sf_lock(sf);
	memcpy(sf->pin_hash, hash, sizeof(hash));
	sf->pin_set = true;
	sf->pin_retries = SF_PIN_RETRIES;
	sf->pin_fails = 0;
	memset(&sf->token, 0, sizeof(sf->token));
	sf->dirty = true;
	r = sf_state_autosave(sf);
	sf_unlock(sf);
	sf_wipe(hash, sizeof(hash));
	return r;
}

int
softfido_pin_retries(struct softfido *sf)
{
	int n;

	sf_lock(sf);
	n = sf->pin_retries;
	sf_unlock(sf);
	return n;
}

void
softfido_power_cycle(struct softfido *sf)
{
	sf_lock(sf);
	sf_power_cycle_locked(sf);
	sf_unlock(sf);
}

uint32_t
softfido_counter(struct softfido *sf)
{
	uint32_t n;

	sf_lock(sf);
	n = sf->counter;
	sf_unlock(sf);
	return n;
}

size_t
softfido_resident_count(struct softfido *sf)
{
	size_t n;

	sf_lock(sf);
	n = sf->rk_len;
	sf_unlock(sf);
	return n;
}

int
softfido_attestation_cert(struct softfido *sf, unsigned char **der,
    size_t *der_len)
{
	unsigned char	*p;
	int		 r = SOFTFIDO_ERR_NO_MEMORY;

	if (sf == NULL || der == NULL || der_len == NULL)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	sf_lock(sf);
	if (sf->att_cert == NULL || sf->att_cert_len == 0)
		r = SOFTFIDO_ERR_CRYPTO;
	else if ((p = malloc(sf->att_cert_len)) != NULL) {
		memcpy(p, sf->att_cert, sf->att_cert_len);
		*der = p;
		*der_len = sf->att_cert_len;
		r = SOFTFIDO_OK;
	}
	sf_unlock(sf);
	return r;
}

/* Registry. Called with reg_lock held. */
static size_t
reg_find(const char *path)
{
	for (size_t i = 0; i < REG_MAX; i++)
		if (reg[i].path != NULL && strcmp(reg[i].path, path) == 0)
			return i;
	return REG_MAX;
}

int
softfido_register(const char *path, struct softfido *sf)
{
	size_t	i;
	char	*copy;
	int	r = SOFTFIDO_ERR_NO_MEMORY;

	if (path == NULL || sf == NULL ||
	    strncmp(path, PATH_PREFIX, strlen(PATH_PREFIX)) != 0 ||
	    strlen(path) > 255)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	(void)pthread_mutex_lock(&reg_lock);
	if (reg_find(path) != REG_MAX) {
		r = SOFTFIDO_ERR_EXISTS;
		goto out;
	}
	for (i = 0; i < REG_MAX && reg[i].path != NULL; i++)
		continue;
	if (i == REG_MAX || (copy = strdup(path)) == NULL)
		goto out;
	sf_ref(sf);
	reg[i].path = copy;
	reg[i].sf = sf;
	r = SOFTFIDO_OK;
out:
	(void)pthread_mutex_unlock(&reg_lock);
	return r;
}

int
softfido_unregister(const char *path)
{
	struct softfido	*sf = NULL;
	size_t		 i;

	if (path == NULL)
		return SOFTFIDO_ERR_INVALID_ARGUMENT;
	(void)pthread_mutex_lock(&reg_lock);
	if ((i = reg_find(path)) != REG_MAX) {
		sf = reg[i].sf;
		free(reg[i].path);
		reg[i].path = NULL;
		reg[i].sf = NULL;
	}
	(void)pthread_mutex_unlock(&reg_lock);
	if (sf == NULL)
		return SOFTFIDO_ERR_NOT_FOUND;
	sf_unref(sf);
	return SOFTFIDO_OK;
}

/* libfido2 io functions */
static void *
io_open(const char *path)
{
	struct io_handle	*h;
	size_t			 i;

	if (path == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	(void)pthread_mutex_lock(&reg_lock);
	if ((i = reg_find(path)) != REG_MAX) {
		h->sf = reg[i].sf;
		sf_ref(h->sf);
	}
	(void)pthread_mutex_unlock(&reg_lock);
	if (h->sf == NULL) {
		free(h);
		errno = ENOENT;
		return NULL;
	}
	sf_lock(h->sf);
	h->hid = sf_hid_new(h->sf);
	sf_unlock(h->sf);
	if (h->hid == NULL) {
		sf_unref(h->sf);
		free(h);
		return NULL;
	}
	return h;
}

static void
io_close(void *handle)
{
	struct io_handle *h = handle;

	if (h == NULL)
		return;
	sf_lock(h->sf);
	sf_hid_free(&h->hid);
	sf_unlock(h->sf);
	sf_unref(h->sf);
	free(h);
}

static int
io_read(void *handle, unsigned char *buf, size_t len, int ms)
{
	struct io_handle	*h = handle;
	int			 r;

	if (h == NULL)
		return -1;
	sf_lock(h->sf);
	r = sf_hid_read(h->hid, buf, len, ms);
	sf_unlock(h->sf);
	return r;
}

static int
io_write(void *handle, const unsigned char *buf, size_t len)
{
	struct io_handle	*h = handle;
	int			 r;

	if (h == NULL)
		return -1;
	sf_lock(h->sf);
	r = sf_hid_write(h->hid, buf, len);
	sf_unlock(h->sf);
	return r;
}

const fido_dev_io_t *
softfido_io(void)
{
	static const fido_dev_io_t io = {
		.open = io_open,
		.close = io_close,
		.read = io_read,
		.write = io_write,
	};

	return &io;
}
