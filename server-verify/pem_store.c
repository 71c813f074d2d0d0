#include <stddef.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/envelope.h"
#include "core/err.h"
#include "server-verify/pem_store.h"
#include "core/pkey.h"

#define PEM_MAX		(4 * OB_MAX_CERT)

int
ob_pem_store_load(const json_t *arr, size_t max, const char *what,
    X509_STORE **out)
{
	X509_STORE	*st = NULL;
	X509		*x = NULL;
	BIO		*bio = NULL;
	const json_t	*v;
	size_t		 i;
	int		 r;

	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > max)
		return ob_errf(OB_ERR_TRUST_INVALID, "%s: an array of 1..%zu "
		    "PEM certificates", what, max);
	if ((st = X509_STORE_new()) == NULL)
		return OB_ERR_ALLOC;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) > PEM_MAX ||
		    (bio = BIO_new_mem_buf(json_string_value(v),
		    (int)json_string_length(v))) == NULL ||
		    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "%s[%zu]: not "
			    "a PEM certificate", what, i);
			goto out;
		}
		/* One certificate per string: nothing may follow it. */
		if (BIO_pending(bio) > 0) {
			char c;

			while (BIO_read(bio, &c, 1) == 1)
				if (c != '\n' && c != '\r' && c != ' ' &&
				    c != '\t') {
					r = ob_errf(OB_ERR_TRUST_INVALID,
					    "%s[%zu]: data after the "
					    "certificate", what, i);
					goto out;
				}
		}
		/* A CA's key signs what we trust: the decoder's rules. */
		if ((r = ob_pkey_check(X509_get0_pubkey(x))) != OB_OK) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "%s[%zu]: key: %s: %s",
			    what, i, ob_err_name(r), ob_err_detail());
			goto out;
		}
		if (X509_STORE_add_cert(st, x) != 1) {
			r = ob_errf(OB_ERR_TRUST_INVALID, "%s[%zu]: "
			    "duplicate or unusable", what, i);
			goto out;
		}
		X509_free(x);
		x = NULL;
		BIO_free(bio);
		bio = NULL;
	}
	*out = st;
	st = NULL;
	r = OB_OK;
out:
	X509_free(x);
	BIO_free(bio);
	X509_STORE_free(st);
	return r;
}
