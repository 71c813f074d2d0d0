/*
 * The service layer's parsers of untrusted or configured text, kept apart
 * from the event loop so that fuzz/fuzz_svc.c can drive them alone.
 */
#ifndef OB_SERVICE_SVC_PARSE_H
#define OB_SERVICE_SVC_PARSE_H

#include <stddef.h>

#include "service/svc.h"

#define OB_SVC_MAX_PEERS	1024
#define OB_SVC_MAX_PEERS_FILE	(1024 * 1024)

/*
 * ob_svc_media_type_is: 1 when the Content-Type value hdr (RFC 9110
 * section 8.3: type "/" subtype *( OWS ";" OWS [ parameter ] )) is
 * well-formed and its type/subtype equals want, ignoring ASCII case and
 * parameters; 0 otherwise (also for NULL).
 */
int ob_svc_media_type_is(const char *hdr, const char *want);

/*
 * A peer list read from JSON: {"peers": [{"id", "role", "san_uri",
 * "cert_sha256"}, ...]} (docs/service.md).  Unknown members, duplicate
 * ids, an entry with neither san_uri nor cert_sha256, or a hash that is
 * not 64 hex digits are OB_ERR_SVC_PEERS with the entry in the detail.
 * Hashes are stored lower-case.
 */
struct ob_svc_peers;

int ob_svc_peers_parse(const char *buf, size_t len,
    struct ob_svc_peers **out) OB_WUR;
size_t ob_svc_peers_count(const struct ob_svc_peers *p);
/* The entries, valid as long as p. */
const struct ob_svc_peer *ob_svc_peers_get(const struct ob_svc_peers *p);
void ob_svc_peers_free(struct ob_svc_peers **p);

#endif
