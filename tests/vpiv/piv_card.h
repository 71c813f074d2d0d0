/*
 * piv_card.h - an in-memory PIV card (NIST SP 800-73-4 card edge plus the
 * YubiKey PIV extensions used by yubico-piv-tool and OpenSC).
 *
 * Test stand-in only: private keys live in process memory and, with a
 * state file, on disk in clear.  Never link this into a product binary.
 *
 * Ownership: piv_card_new() returns a card that the caller releases with
 * piv_card_free(), which wipes every secret.  The card does no I/O except
 * piv_card_save(), piv_card_write_root() and the load in piv_card_new().
 */
#ifndef VPIV_PIV_CARD_H
#define VPIV_PIV_CARD_H

#include <stddef.h>
#include <stdint.h>

#define PIV_WUR __attribute__((warn_unused_result))

/* Function results (negative = error), see piv_strerror(). */
#define PIV_OK			0
#define PIV_ERR_ARG		(-1)
#define PIV_ERR_MEM		(-2)
#define PIV_ERR_CRYPTO		(-3)
#define PIV_ERR_IO		(-4)
#define PIV_ERR_STATE_FORMAT	(-5)
#define PIV_ERR_CA		(-6)

/* Largest command or response APDU the card handles (extended length). */
#define PIV_APDU_MAX		(65535 + 9)

struct piv_card;

struct piv_card_config {
	int		 serial_set;	/* override the stored serial */
	uint32_t	 serial;
	uint8_t		 version[3];	/* answered to GET VERSION */
	/* Optional test root CA (PEM) used when a fresh card is created. */
	const char	*ca_key_path;
	const char	*ca_cert_path;
};

/*
 * Create a card.  If state_path names an existing file the card is loaded
 * from it; otherwise a factory-fresh card is made (default PIN 123456, PUK
 * 12345678, 3DES management key 0102..08 x3, an attestation key in f9 with
 * a certificate signed by the given or a freshly made test root CA).
 */
int	piv_card_new(struct piv_card **, const struct piv_card_config *,
	    const char *state_path) PIV_WUR;
void	piv_card_free(struct piv_card **);

/* Atomically write the persistent state (mode 0600). */
int	piv_card_save(struct piv_card *, const char *path) PIV_WUR;
/* True when persistent state changed since the last save. */
int	piv_card_dirty(const struct piv_card *);

/* Write the test root CA certificate (PEM) that anchors attestation. */
int	piv_card_write_root(const struct piv_card *, const char *path) PIV_WUR;

/* Power on/off/warm reset: drop all session state (PIN, mgmt auth...). */
void	piv_card_reset_session(struct piv_card *);

/*
 * Process one command APDU and write the response APDU (data + SW1 SW2)
 * into rsp.  Malformed commands get an error status word, never a failure
 * of this function; PIV_ERR_ARG only when rsp_cap < 2.
 */
int	piv_card_transmit(struct piv_card *, const uint8_t *cmd, size_t cmd_len,
	    uint8_t *rsp, size_t rsp_cap, size_t *rsp_len) PIV_WUR;

const char *piv_strerror(int);

#endif /* VPIV_PIV_CARD_H */
