/*
 * ownerbind error codes.
 *
 * Every fallible function in ownerbind returns an int: OB_OK (0) on success
 * or one of the negative codes below.  Codes, names and sentences are stable:
 * they are part of the interface (docs/errors.md is generated from this
 * table and tests/unit/test_err.c checks that every code has text).  A code's
 * number never changes and is never reused; new codes are appended.
 *
 * Each row: X(name, number, sentence, next step).  The sentence says what
 * went wrong; the next step says what the user can do about it.  Neither
 * ever contains secret material; the per-call detail (ob_err_detail) never
 * does either.
 */
#ifndef OWNERBIND_OB_ERR_H
#define OWNERBIND_OB_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define OB_WUR __attribute__((warn_unused_result))
#define OB_EXPORT __attribute__((visibility("default")))
#else
#define OB_WUR
#define OB_EXPORT
#endif

#define OB_ERR_TABLE(X) \
	/* general */ \
	X(OB_ERR_INTERNAL, -1, "internal error", \
	  "report a bug with the detail line") \
	X(OB_ERR_ALLOC, -2, "out of memory", \
	  "free memory or lower limits and retry") \
	X(OB_ERR_INVALID_ARG, -3, "invalid argument", \
	  "check the call against the header documentation") \
	X(OB_ERR_IO, -4, "file or stream could not be read or written", \
	  "check the path, its permissions and free space") \
	X(OB_ERR_USAGE, -5, "invalid command line", \
	  "run the command with --help") \
	X(OB_ERR_RANDOM, -6, "the system random generator failed", \
	  "check that getrandom(2) works on this system") \
	X(OB_ERR_CRYPTO, -7, "a cryptographic library call failed", \
	  "check the OpenSSL installation; the detail names the call") \
	X(OB_ERR_TRUNCATED, -8, "the input ends before a field it declares", \
	  "the bytes are cut short or corrupt: obtain them again") \
	X(OB_ERR_TRAILING, -9, "bytes follow the end of a structure", \
	  "the bytes are corrupt or not of the expected kind") \
	X(OB_ERR_FIELD_TOO_LONG, -10, "a length-prefixed field exceeds its maximum", \
	  "the bytes are corrupt or not of the expected kind") \
	X(OB_ERR_BUF_FULL, -11, "the output does not fit its buffer", \
	  "report a bug with the detail line") \
	/* envelope syntax */ \
	X(OB_ERR_JSON_SYNTAX, -100, "input is not valid JSON", \
	  "a file you edited: fix it at the line and column given; an envelope: pass it unmodified as produced by ownerbind") \
	X(OB_ERR_JSON_DUPLICATE, -101, "a JSON object has a duplicate member", \
	  "remove the repeated member; duplicates are never accepted") \
	X(OB_ERR_JSON_TRAILING, -102, "data follows the JSON value", \
	  "send exactly one JSON value with nothing after it") \
	X(OB_ERR_ENV_TOO_LARGE, -103, "the envelope or one of its parts exceeds a size limit", \
	  "see docs/envelope.md for the limits") \
	X(OB_ERR_ENV_NOT_GENERAL, -104, "not a JWS JSON General Serialization", \
	  "use the General form: {\"payload\":...,\"signatures\":[...]}") \
	X(OB_ERR_ENV_MEMBER, -105, "an envelope member is missing, unknown or of the wrong type", \
	  "see docs/envelope.md for the allowed members") \
	X(OB_ERR_ENV_TOO_MANY_SIGS, -106, "the envelope has too many signature entries", \
	  "an envelope carries at most 8 entries") \
	X(OB_ERR_ENV_NO_SIGS, -107, "the envelope has no signature entries", \
	  "have the owner sign (ownerbind sign) and the agent add its entry (ownerbind pop)") \
	X(OB_ERR_B64_INVALID, -108, "invalid base64url (wrong alphabet, padding or length)", \
	  "encode with unpadded base64url (RFC 7515 section 2)") \
	X(OB_ERR_B64_NONCANONICAL, -109, "non-canonical base64url (unused bits set)", \
	  "re-encode; the last character must leave its unused bits zero") \
	X(OB_ERR_HDR_INVALID, -110, "a signature header is malformed", \
	  "see docs/envelope.md for the header parameters and their types") \
	X(OB_ERR_HDR_B64_FALSE, -111, "the b64 header parameter is not supported", \
	  "do not use RFC 7797 unencoded payloads") \
	X(OB_ERR_HDR_CRIT, -112, "crit names a parameter this verifier does not understand", \
	  "remove the unknown critical extension") \
	X(OB_ERR_HDR_DUP_PARAM, -113, "a parameter appears in both the protected and unprotected header", \
	  "the two headers must be disjoint (RFC 7515 section 7.2.1)") \
	X(OB_ERR_HDR_TYP, -114, "wrong or missing typ", \
	  "ownerbind entries carry typ \"ownerbind+jws\"") \
	X(OB_ERR_HDR_UNPROTECTED, -115, "a parameter is not allowed in the unprotected header", \
	  "only authenticatorData and clientDataJSON of a FIDO2 entry go there") \
	X(OB_ERR_PAYLOAD_INVALID, -116, "the payload is not a valid credential request", \
	  "the detail names the claim; see docs/envelope.md") \
	X(OB_ERR_CLAIM_MISSING, -117, "a required claim is missing", \
	  "the detail names the claim; rebuild the request with ownerbind request") \
	X(OB_ERR_SUB_INVALID, -118, "sub is not a wimse:// or spiffe:// workload identifier", \
	  "use a URI such as wimse://td.example/agents/a1") \
	/* algorithms, keys, signatures */ \
	X(OB_ERR_ALG_UNSUPPORTED, -200, "the signature algorithm is not supported", \
	  "use ES256, ES384, EdDSA, PS256 or a webauthn-* algorithm") \
	X(OB_ERR_ALG_FORBIDDEN, -201, "the algorithm is forbidden (none or a MAC)", \
	  "owner bindings need an asymmetric signature") \
	X(OB_ERR_ALG_MISMATCH, -202, "the algorithm is not the one registered for this key", \
	  "sign with the algorithm enrolled in the trust store") \
	X(OB_ERR_JWK_INVALID, -203, "a JWK is malformed or its point is not on the curve", \
	  "regenerate the key; see RFC 7517/7518") \
	X(OB_ERR_JWK_PRIVATE, -204, "a JWK carries private key members", \
	  "publish only the public members of the key") \
	X(OB_ERR_KEY_TYPE, -205, "the key type does not fit the algorithm", \
	  "use an EC key for ES*, Ed25519 for EdDSA, RSA (>= 2048 bits) for PS256") \
	X(OB_ERR_SIG_INVALID, -206, "a signature does not verify", \
	  "the envelope was altered or signed by another key") \
	X(OB_ERR_SIG_FORMAT, -207, "a signature has the wrong size or encoding", \
	  "ECDSA JWS signatures are fixed-length R||S (RFC 7518 section 3.4)") \
	X(OB_ERR_THUMBPRINT_MISMATCH, -208, "the agent entry's kid is not the thumbprint of cnf.jwk", \
	  "sign the agent entry with the key named in cnf.jwk") \
	X(OB_ERR_KEY_WEAK, -209, "the public key is a weak or non-canonical point", \
	  "an Ed25519 key of small order or with y >= p; use a key made by a conforming implementation") \
	X(OB_ERR_KEY_SIZE, -210, "the key size or exponent is outside the allowed range", \
	  "RSA keys need a 2048..4096-bit odd modulus and an odd exponent 3 <= e < 2^32 (65537)") \
	X(OB_ERR_JWK_MEMBER, -211, "a JWK's use, alg or kid member is not allowed for this key", \
	  "omit them, or use \"use\":\"sig\", the key's own alg (ES256, ES384, EdDSA, PS256) and a string kid") \
	/* roles and models */ \
	X(OB_ERR_ROLE_INVALID, -300, "unknown or missing signer role", \
	  "ob_role is one of agent, owner, gateway") \
	X(OB_ERR_ROLE_DUPLICATE, -301, "the same role signs more than once", \
	  "an envelope carries one entry per role") \
	X(OB_ERR_AGENT_MISSING, -302, "the agent's proof-of-possession entry is missing", \
	  "add it with ownerbind pop") \
	X(OB_ERR_OWNER_MISSING, -303, "the owner or gateway signature the model requires is missing", \
	  "have the owner (or gateway) sign with ownerbind sign") \
	X(OB_ERR_MODEL_INVALID, -304, "unknown or missing issuance model", \
	  "ob_model is agent-mediated, owner-mediated or server-mediated") \
	X(OB_ERR_MODEL_MISMATCH, -305, "the entries disagree on the issuance model", \
	  "every entry of one envelope names the same model") \
	X(OB_ERR_CHANNEL_MISMATCH, -306, "the issuance model does not match the channel the request came on", \
	  "send agent-mediated requests directly, owner-mediated ones through the gateway") \
	X(OB_ERR_ROLE_FORBIDDEN, -307, "this role may not sign under this model", \
	  "gateway entries belong to owner-mediated envelopes only") \
	/* trust */ \
	X(OB_ERR_OWNER_UNKNOWN, -400, "the owner named in the request is not in the trust store", \
	  "enrol the owner with ownerbind enroll") \
	X(OB_ERR_OWNER_KEY_UNKNOWN, -401, "the signing key is not enrolled for this owner", \
	  "enrol the key for this owner, or sign with an enrolled key") \
	X(OB_ERR_OWNER_NOT_AUTHORIZED, -402, "the owner may not bind this agent identifier", \
	  "extend the owner's may_bind patterns in the trust store") \
	X(OB_ERR_GATEWAY_UNKNOWN, -403, "the gateway is not in the trust store", \
	  "add the gateway and its organisation CA to the trust store") \
	X(OB_ERR_GATEWAY_CHAIN, -404, "the gateway certificate does not chain to its organisation CA", \
	  "attach the full chain in x5c and check validity dates") \
	X(OB_ERR_GATEWAY_NOT_AUTHORIZED, -405, "the gateway may not serve this proxy, trust domain or agent", \
	  "extend the gateway's proxies, trust_domains or may_bind in the trust store") \
	X(OB_ERR_X5C_INVALID, -406, "x5c is malformed", \
	  "x5c is an array of standard base64 DER certificates, leaf first") \
	X(OB_ERR_TRUST_INVALID, -407, "the trust store is malformed", \
	  "the detail names the entry; see docs/trust-store.md") \
	X(OB_ERR_GATEWAY_CERT, -408, "the certificate is not a signing certificate for this gateway", \
	  "issue the gateway an end-entity certificate whose DNS name is its id") \
	X(OB_ERR_X5C_NONCANONICAL, -409, "an x5c certificate is not canonical standard base64", \
	  "encode each DER certificate in padded standard base64, '=' only at the end, unused bits zero") \
	X(OB_ERR_GATEWAY_EKU, -410, "the gateway certificate is not issued for signing approvals (extendedKeyUsage)", \
	  "issue the gateway a certificate with extendedKeyUsage id-kp-documentSigning (see docs/trust-store.md)") \
	X(OB_ERR_OWNER_KEY_REVOKED, -411, "the owner's signing key is revoked in the trust store", \
	  "the owner enrols a new key; the detail gives the reason and time") \
	X(OB_ERR_OWNER_REVOKED, -412, "the owner is revoked in the trust store", \
	  "ask the trust store's operator; the detail gives the reason and time") \
	X(OB_ERR_OWNER_KEY_VALIDITY, -413, "the owner's signing key is outside its validity window", \
	  "use a key valid now, or have its not_before/not_after changed") \
	/* claims and freshness */ \
	X(OB_ERR_AUD_MISMATCH, -500, "the request is addressed to another server", \
	  "set --aud to this server's URI when building the request") \
	X(OB_ERR_IAT_FUTURE, -501, "the request was issued in the future", \
	  "check the clocks of the agent and server") \
	X(OB_ERR_IAT_STALE, -502, "the request is too old", \
	  "build and sign a fresh request") \
	X(OB_ERR_EXPIRED, -503, "the request has expired", \
	  "build and sign a fresh request") \
	X(OB_ERR_LIFETIME, -504, "the request's lifetime is too long or negative", \
	  "use a --ttl within the server's limit") \
	X(OB_ERR_JTI_INVALID, -505, "jti is missing or malformed", \
	  "jti is 16 to 64 base64url characters of fresh randomness") \
	X(OB_ERR_REPLAY, -506, "this request was already accepted", \
	  "build and sign a fresh request") \
	X(OB_ERR_NONCE_MISSING, -507, "the server nonce is missing", \
	  "sign with --nonce set to the nonce the server issued") \
	X(OB_ERR_NONCE_UNKNOWN, -508, "the server nonce was not issued by this server", \
	  "request a fresh nonce") \
	X(OB_ERR_NONCE_USED, -509, "the server nonce was already used", \
	  "request a fresh nonce") \
	X(OB_ERR_NONCE_EXPIRED, -510, "the server nonce has expired", \
	  "request a fresh nonce and sign promptly") \
	X(OB_ERR_NONCE_MISMATCH, -511, "the entries carry different nonces, or the nonce belongs to another request", \
	  "every entry carries the one nonce issued for this request") \
	X(OB_ERR_SIGNING_TIME, -512, "an entry's signing time is outside the acceptance window", \
	  "check the signer's clock and sign a fresh request") \
	X(OB_ERR_NONCE_SKIPPED, -513, "a nonce was issued for this request, and the envelope carries another", \
	  "sign with --nonce set to the nonce the server issued for this jti") \
	/* FIDO2 / WebAuthn entries */ \
	X(OB_ERR_FIDO_AUTHDATA, -600, "authenticatorData is malformed", \
	  "pass the authenticator's output unmodified") \
	X(OB_ERR_FIDO_RPID, -601, "authenticatorData is for another relying party", \
	  "sign with the credential enrolled for this rpId") \
	X(OB_ERR_FIDO_UP, -602, "user presence was not asserted", \
	  "touch the security key when asked") \
	X(OB_ERR_FIDO_UV, -603, "user verification was required but not performed", \
	  "sign with the key's PIN or built-in user verification") \
	X(OB_ERR_FIDO_AT, -604, "an assertion must not carry attested credential data", \
	  "pass a getAssertion result, not a makeCredential result") \
	X(OB_ERR_FIDO_ED, -605, "unexpected authenticator extension data", \
	  "ownerbind requests no extensions in assertions") \
	X(OB_ERR_FIDO_BACKUP, -606, "backup flags are inconsistent or differ from enrolment", \
	  "re-enrol the credential") \
	X(OB_ERR_FIDO_CLIENTDATA, -607, "clientDataJSON is malformed or not in canonical form", \
	  "build clientDataJSON exactly as docs/envelope.md says") \
	X(OB_ERR_FIDO_TYPE, -608, "clientDataJSON type is not webauthn.get", \
	  "pass a getAssertion result") \
	X(OB_ERR_FIDO_CHALLENGE, -609, "clientDataJSON challenge does not match this entry", \
	  "the challenge is the hash of the entry's JWS signing input") \
	X(OB_ERR_FIDO_ORIGIN, -610, "clientDataJSON origin is not ownerbind:", \
	  "ownerbind entries use the origin \"ownerbind:\"") \
	X(OB_ERR_FIDO_COUNTER, -611, "the signature counter did not increase", \
	  "the credential may be cloned; investigate before re-enrolling") \
	X(OB_ERR_FIDO_HEADER, -612, "the FIDO2 entry lacks authenticatorData or clientDataJSON", \
	  "put both in the entry's unprotected header") \
	/* replay state */ \
	X(OB_ERR_STATE, -700, "the replay-state store failed", \
	  "check the --state path and its permissions; the detail has the cause") \
	X(OB_ERR_STATE_BUSY, -701, "the replay-state store stayed locked", \
	  "another verifier holds the lock for too long; retry") \
	X(OB_ERR_STATE_SCHEMA, -702, "the replay-state file has a schema this verifier does not know", \
	  "a newer ownerbind-verify made it: use that version, or a new --state file") \
	X(OB_ERR_STATE_UNAVAILABLE, -703, "the shared replay-state store (Redis) cannot be reached or did not answer in time", \
	  "check that Redis runs and answers at the state URI; requests get 503 until it does (docs/redis.md)") \
	X(OB_ERR_STATE_REPLY, -704, "the shared replay-state store gave an error or an unexpected answer", \
	  "the detail has the reply; check that nothing else writes the store's keys (docs/redis.md)") \
	X(OB_ERR_STATE_URI, -705, "the replay-state URI is malformed", \
	  "use a file path, redis://HOST[:PORT][/DB] or unix:/PATH[?db=N]; passwords go in redis.password_source") \
	X(OB_ERR_STATE_AUTH, -706, "Redis refused the store's user, password or a command (ACL)", \
	  "check redis.user, redis.password_source and the ACL in docs/redis.md") \
	X(OB_ERR_STATE_REPLICAS, -707, "fewer Redis replicas than required confirmed the acceptance (WAIT)", \
	  "check the replicas' links; the request is spent: the client builds a fresh one") \
	/* owner side: keys, tokens, devices */ \
	X(OB_ERR_KEY_URI, -800, "the key URI is malformed", \
	  "see docs/key-uris.md for the forms") \
	X(OB_ERR_KEY_SCHEME, -801, "this kind of key is not supported by this build", \
	  "rebuild with the backend's CMake option, or use file:, pkcs11:, tpm2:, fido2:, piv:") \
	X(OB_ERR_KEY_NOT_FOUND, -802, "no key matches the URI", \
	  "list the keys with ownerbind keys and check the URI") \
	X(OB_ERR_KEY_EXISTS, -803, "a key already exists there", \
	  "choose another URI; keys are never overwritten") \
	X(OB_ERR_KEY_LOAD, -804, "the key could not be loaded", \
	  "check that the file is a PEM private key and the passphrase is right") \
	X(OB_ERR_KEY_MISMATCH, -805, "the agent key does not match cnf.jwk in the request", \
	  "pass the agent key the request was built with") \
	X(OB_ERR_PIN_SOURCE, -806, "the PIN could not be read from its source", \
	  "use --pin-source tty, file:PATH, fd:N, env:VAR or askpass:PROGRAM") \
	X(OB_ERR_PIN_INCORRECT, -807, "wrong PIN", \
	  "the detail says how many tries are left; a blocked PIN needs the unblock procedure") \
	X(OB_ERR_PIN_BLOCKED, -808, "the PIN is blocked", \
	  "unblock it with the PUK/SO PIN or reset the device") \
	X(OB_ERR_DEVICE_MISSING, -809, "the device is not connected", \
	  "connect it, then run ownerbind doctor") \
	X(OB_ERR_DEVICE_PERMISSION, -810, "permission denied on the device", \
	  "install the udev rules or join the group; run ownerbind doctor") \
	X(OB_ERR_TOUCH_TIMEOUT, -811, "the security key was not touched in time", \
	  "run the command again and touch the key when it blinks") \
	X(OB_ERR_CANCELLED, -812, "the operation was cancelled", \
	  "run the command again") \
	X(OB_ERR_MODULE_LOAD, -813, "the PKCS#11 module could not be loaded", \
	  "check module-path or the p11-kit module configuration") \
	X(OB_ERR_TOKEN_ABSENT, -814, "the token is not present", \
	  "insert the token, or check the token/serial in the URI") \
	X(OB_ERR_MECH_UNSUPPORTED, -815, "the token does not support the mechanism", \
	  "use an algorithm the token supports") \
	X(OB_ERR_KEY_AMBIGUOUS, -816, "the URI matches more than one key or device", \
	  "add token, serial, id or credential to the URI; the detail lists candidates") \
	X(OB_ERR_KEY_NO_SIGN, -817, "the key may not sign", \
	  "use a key generated for signing (CKA_SIGN / sign attribute)") \
	X(OB_ERR_TPM_LOCKOUT, -818, "the TPM is in dictionary-attack lockout", \
	  "wait for the lockout to expire or clear it with the lockout authorization") \
	X(OB_ERR_TPM_UNREACHABLE, -819, "the TPM could not be reached", \
	  "check tcti= in the URI, TPM2TOOLS_TCTI/TSS2_TCTI, or /dev/tpmrm0") \
	X(OB_ERR_TPM_MEMORY, -820, "the TPM is out of object memory", \
	  "flush transient objects (tpm2_flushcontext -t) or use a resource manager") \
	X(OB_ERR_CARD_REMOVED, -821, "the card was removed or reset during the operation", \
	  "reinsert the card and run the command again") \
	X(OB_ERR_NO_READER, -822, "no smart-card reader found", \
	  "connect a reader and check that pcscd runs") \
	X(OB_ERR_SECURITY_STATUS, -823, "the device refused: security status not satisfied", \
	  "verify the PIN or management key first") \
	X(OB_ERR_SLOT_EMPTY, -824, "the slot holds no key", \
	  "generate or import a key into the slot") \
	X(OB_ERR_TOKEN_SIG_BAD, -825, "the token returned a signature that does not verify", \
	  "the token or its driver is faulty; nothing was written") \
	X(OB_ERR_DEVICE, -826, "the device reported an error", \
	  "the detail has the device's own code") \
	X(OB_ERR_ATTEST_INVALID, -900, "the key attestation does not verify", \
	  "re-run attestation with a fresh nonce against a trusted attestation key") \
	X(OB_ERR_ATTEST_NONCE, -901, "the attestation is for another nonce", \
	  "attest with the nonce the server issued") \
	X(OB_ERR_ATTEST_UNTRUSTED, -902, "the attestation key or root is not trusted", \
	  "add the attestation key or root to the trust store") \
	X(OB_ERR_ATTEST_KEY_MISMATCH, -903, "the attestation is for another key", \
	  "attest the key that is being enrolled") \
	/* service: the daemons' HTTP layer and ownerbind submit */ \
	X(OB_ERR_REJECTED, -1000, "the request was refused", \
	  "the server's log has the reason under the request id") \
	X(OB_ERR_SVC_BAD_REQUEST, -1001, "the request is malformed", \
	  "send well-formed HTTP/1.1 with a JSON body") \
	X(OB_ERR_SVC_TOO_LARGE, -1002, "the request or a part of it exceeds a size limit", \
	  "send a smaller body or fewer and shorter headers") \
	X(OB_ERR_SVC_RATE_LIMITED, -1003, "too many requests from this client", \
	  "retry after the number of seconds in Retry-After") \
	X(OB_ERR_SVC_UNAVAILABLE, -1004, "the service is busy or shutting down", \
	  "retry after the number of seconds in Retry-After") \
	X(OB_ERR_SVC_NOT_FOUND, -1005, "no such endpoint", \
	  "check the URL path against docs/api.md") \
	X(OB_ERR_SVC_METHOD, -1006, "the endpoint does not allow this method", \
	  "use a method listed in the Allow header") \
	X(OB_ERR_SVC_MEDIA_TYPE, -1007, "the request body has the wrong Content-Type", \
	  "send the Content-Type the endpoint documents") \
	X(OB_ERR_SVC_PEER_UNKNOWN, -1008, "the client certificate is valid but names no configured client", \
	  "add the certificate's URI SAN or SHA-256 to the service's peers") \
	X(OB_ERR_SVC_CONFIG, -1009, "the service configuration is invalid", \
	  "the detail names the setting") \
	X(OB_ERR_SVC_LISTEN, -1010, "the service could not listen on the address", \
	  "check that the address is free and local to this machine") \
	X(OB_ERR_SVC_TLS, -1011, "the TLS certificate, key or CA could not be loaded", \
	  "check the PEM files and that the key matches the certificate") \
	X(OB_ERR_SVC_PEERS, -1012, "the peer list is malformed", \
	  "the detail names the entry; see docs/service.md") \
	X(OB_ERR_SVC_PRIVDROP, -1013, "could not switch to the unprivileged user", \
	  "check that the user exists; switching needs root") \
	X(OB_ERR_SVC_HANDSHAKE, -1014, "the TLS handshake with the client failed", \
	  "present a client certificate issued by a CA the service trusts") \
	X(OB_ERR_SVC_TIMEOUT, -1015, "the request was not received within the timeout", \
	  "send the whole request at once; the deadline is limits.timeout_s") \
	X(OB_ERR_SUBMIT_CONNECT, -1020, "could not connect to the server", \
	  "check the URL and that the server is running") \
	X(OB_ERR_SUBMIT_TIMEOUT, -1021, "the server did not answer in time", \
	  "retry, or raise --timeout") \
	X(OB_ERR_SUBMIT_UNKNOWN_CA, -1022, "the server's certificate is not issued by the CA given with --ca", \
	  "pass the CA that issued the server's TLS certificate (dev.json: tls_ca)") \
	X(OB_ERR_SUBMIT_EXPIRED, -1023, "a TLS certificate is expired or not yet valid", \
	  "the detail says whose; renew it or check the clock") \
	X(OB_ERR_SUBMIT_HOSTNAME, -1024, "the server's certificate is for another host name", \
	  "use the host name the server's certificate names in --server") \
	X(OB_ERR_SUBMIT_TLS, -1025, "the TLS handshake failed", \
	  "check --cert and --key: the server may not accept this client certificate") \
	X(OB_ERR_SUBMIT_REFUSED, -1026, "the server refused the request", \
	  "the detail has the server's code, title and request id; its log has the reason") \
	X(OB_ERR_SUBMIT_RESPONSE, -1027, "the server's answer is not a credential", \
	  "check that --server names an ownerbind identity server") \
	/* credentials (the issuer, docs/credentials.md) */ \
	X(OB_ERR_ISSUER_CONFIG, -1050, "the credential issuer configuration is invalid", \
	  "check the issuer's key URI, certificate chain, iss, OID and lifetime") \
	X(OB_ERR_ISSUER_CHAIN, -1051, "the issuer certificate does not belong to the issuer key", \
	  "configure the CA certificate issued for this key first in the chain") \
	X(OB_ERR_ISSUER_KEY, -1052, "the issuer key cannot sign credentials", \
	  "use an ES256, ES384 or EdDSA issuer key") \
	X(OB_ERR_ISSUER_VALIDITY, -1053, "the issuer certificate is not valid for the whole credential lifetime", \
	  "renew the issuer CA certificate or shorten the lifetime") \
	X(OB_ERR_VERDICT_INCOMPLETE, -1054, "the verdict lacks what a credential needs", \
	  "issue only from a verdict that ob_verify returned") \
	X(OB_ERR_ISSUER_SIG, -1055, "the issuer's fresh signature does not verify", \
	  "the issuer key or its token is faulty; nothing was issued") \
	X(OB_ERR_CRED_BUILD, -1056, "the credential could not be built", \
	  "the detail names the field; nothing was issued") \
	/* server */ \
	X(OB_ERR_AUDIT_TAIL, -1080, "the issuance record's last line is corrupt or truncated", \
	  "run ownerbind-server audit verify FILE, keep the file as evidence and start a new record") \
	X(OB_ERR_AUDIT_BROKEN, -1081, "the issuance record's hash chain is broken", \
	  "the detail names the first bad line; keep the file as evidence") \
	X(OB_ERR_AUDIT_LOCKED, -1082, "another process is writing the issuance record", \
	  "stop the other server or give this one its own record file") \
	X(OB_ERR_AUDIT_FAILED, -1083, "a write to the issuance record failed earlier; it takes no more lines", \
	  "check the disk, then restart the server") \
	X(OB_ERR_CONFIG_INVALID, -1084, "the server configuration is invalid", \
	  "the detail names the line; run ownerbind-server --check-config FILE") \
	X(OB_ERR_CONFIG_UNKNOWN, -1085, "the server configuration has an unknown member", \
	  "remove or correct the member the detail names (docs/server.md lists them)") \
	X(OB_ERR_CONFIG_TYPE, -1086, "a member of the server configuration has the wrong type", \
	  "give the member the type the detail names (docs/server.md)") \
	X(OB_ERR_DEVMODE_DIR, -1087, "the development-mode directory is not new and empty", \
	  "name a new directory or an empty one of yours; dev mode never reuses keys") \
	/* signer: ownerbind-signer and its protocol (docs/signer-protocol.md) */ \
	X(OB_ERR_SIGNER_UNAVAILABLE, -1100, "the signer helper is not available", \
	  "retry after the number of seconds in Retry-After; the daemon restarts the helper and logs why it failed") \
	X(OB_ERR_SIGNER_PROTOCOL, -1101, "a signer protocol message is malformed", \
	  "the detail names the field; daemon and helper must be the same ownerbind version") \
	X(OB_ERR_SIGNER_VERSION, -1102, "the signer protocol version is not supported", \
	  "install ownerbind-signer from the same ownerbind release as the daemon") \
	X(OB_ERR_SIGNER_KEY, -1103, "the signer has no key of this name", \
	  "name a key of the signer's configuration (its keys[].name)") \
	X(OB_ERR_SIGNER_PURPOSE, -1104, "the key may not sign for this purpose", \
	  "an issuer key signs WITs and WIC TBSCertificates, a gateway key gateway entries") \
	X(OB_ERR_SIGNER_SHAPE, -1105, "the bytes to sign are not of the shape the purpose allows", \
	  "the signer's log has the detail; the daemon built a malformed credential or entry") \
	X(OB_ERR_SIGNER_LIFETIME, -1106, "the credential's lifetime or time is outside the signer's limits", \
	  "raise the key's max_lifetime or max_skew in the signer's configuration, or check the clocks") \
	X(OB_ERR_SIGNER_RATE, -1107, "the signer's rate limit for the key is spent", \
	  "retry later, or raise the key's rate in the signer's configuration") \
	X(OB_ERR_SIGNER_CONFIG, -1108, "the signer configuration is invalid", \
	  "the detail names the member; run ownerbind-signer --check-config FILE") \
	X(OB_ERR_SIGNER_PEER, -1109, "the signer refused the connecting process", \
	  "run the daemon as a user in the signer's allow_users, or give the daemon its own helper") \
	/* relying parties: WIT + WPT and WIC (docs/relying-party.md) */ \
	X(OB_ERR_RP_CONFIG, -1120, "the relying party's issuer keys, CA or options are invalid", \
	  "configure the issuer's JWKS or CA certificate file; the detail names the entry") \
	X(OB_ERR_RP_POLICY, -1121, "the relying party's policy does not allow this agent or owner", \
	  "ask the service's operator to allow this owner, assurance and path") \
	X(OB_ERR_JWT_FORM, -1122, "a WIT or WPT is not a well-formed JWT", \
	  "send each token as one compact JWS: three base64url parts, JSON header and claims") \
	X(OB_ERR_JWT_TYP, -1123, "a WIT or WPT has the wrong typ", \
	  "send the WIT (typ wit+jwt) in Workload-Identity-Token, the WPT (typ wpt+jwt) in Workload-Proof-Token") \
	X(OB_ERR_WIT_ALG, -1124, "the WIT's alg is not allowed or is not its issuer key's", \
	  "the issuer signs with the alg of its key; check the configured JWKS") \
	X(OB_ERR_WIT_ISSUER, -1125, "the WIT is not from a configured issuer", \
	  "configure this issuer's keys (JWKS or CA), or get a credential from an issuer this service trusts") \
	X(OB_ERR_WIT_CLAIMS, -1126, "a WIT claim is missing or malformed", \
	  "the detail names the claim (sub, exp, cnf.jwk with alg, the owner claim)") \
	X(OB_ERR_WIT_EXPIRED, -1127, "the WIT has expired or is not valid yet", \
	  "get a fresh credential from the identity server (ownerbind submit); check the clocks") \
	X(OB_ERR_WPT_ALG, -1128, "the WPT's alg is not the alg of the WIT's cnf.jwk", \
	  "sign the WPT with the agent key and the alg named in the WIT's cnf.jwk") \
	X(OB_ERR_WPT_SIG, -1129, "the WPT is not signed by the key the WIT names", \
	  "sign the WPT with the agent key the WIT was issued for (ownerbind wpt --agent-key)") \
	X(OB_ERR_WPT_CLAIMS, -1130, "a WPT claim is missing or malformed", \
	  "the detail names the claim (aud, exp, jti, wth)") \
	X(OB_ERR_WPT_AUD, -1131, "the WPT is for another audience", \
	  "make the WPT for this request's target URI, without query or fragment") \
	X(OB_ERR_WPT_EXPIRED, -1132, "the WPT has expired or lives too long", \
	  "make a fresh WPT for each request with a short lifetime; check the clocks") \
	X(OB_ERR_WPT_REPLAY, -1133, "this WPT was already used", \
	  "make a new WPT (a fresh jti) for every request") \
	X(OB_ERR_WPT_WTH, -1134, "the WPT is for another WIT (wth)", \
	  "make the WPT for the WIT sent with it, byte for byte") \
	X(OB_ERR_WPT_TOKEN_HASH, -1135, "the WPT does not bind the access, transaction or other token the request carries", \
	  "put ath, tth and oth for exactly the tokens sent (ownerbind wpt --ath, --tth, --oth)") \
	X(OB_ERR_WPT_OTH, -1136, "the WPT's oth names a token this service does not understand", \
	  "send oth entries only for the header fields the service documents") \
	X(OB_ERR_WIC_CHAIN, -1137, "the WIC does not chain to a configured issuer CA at this time", \
	  "present the WIC issued by an issuer this service trusts, before it expires") \
	X(OB_ERR_WIC_PROFILE, -1138, "the WIC is malformed or breaks the X509-SVID rules", \
	  "the detail names the rule (one URI SAN, CA:FALSE, digitalSignature, extendedKeyUsage)") \
	X(OB_ERR_WIC_OWNER, -1139, "the WIC's owner binding is missing or malformed", \
	  "present a WIC from an ownerbind issuer; configure its owner_oid if it uses one") \
	X(OB_ERR_CLI_CONFIG, -1350, "the defaults file has a line this program cannot use", \
	  "fix or remove the named line of the named file (ownerbind(1), FILES: names are key, trust, aud, state, pin-source)") \
	X(OB_ERR_TPM_PARENT, -1351, "the TPM key file was made on another TPM or under another storage key", \
	  "make the key with ownerbind keygen, or with tpm2-tools under the storage key docs/tpm2.md gives (tpm2_createprimary with noda); key files do not survive tpm2_clear") \
	X(OB_ERR_PUBLIC_KEY_FORM, -1352, "the public key file is not a JWK, a key entry or a PEM public key", \
	  "give the output of ownerbind keygen --json, a JWK, or a PEM public key (openssl pkey -in KEY -pubout); never the private key") \
	X(OB_ERR_PROXY_PEER_DENIED, -1300, "this process may not obtain credentials for that agent id", \
	  "run the agent as a uid and executable that the proxy's agents entry for the id lists (docs/proxy.md)") \
	X(OB_ERR_PROXY_PEER_UNKNOWN, -1301, "the proxy could not identify the calling process", \
	  "call the Agent API from a local process over the proxy's unix socket; the proxy reads SO_PEERCRED and /proc/PID/exe") \
	X(OB_ERR_PROXY_BAD_REQUEST, -1302, "the Agent API request is malformed", \
	  "send the members docs/proxy.md lists for the endpoint, as JSON") \
	X(OB_ERR_PROXY_UPSTREAM_DOWN, -1303, "the identity server or gateway cannot be reached", \
	  "retry later (the proxy retries with backoff within the deadline); check that the upstream runs") \
	X(OB_ERR_PROXY_UPSTREAM_REFUSED, -1304, "the identity server or gateway refused the request", \
	  "the detail carries the upstream's public code and request id; look the request id up in its log") \
	X(OB_ERR_PROXY_UPSTREAM_RESPONSE, -1305, "the upstream's answer is not a credential", \
	  "check that the proxy's upstream URL names an ownerbind server or gateway") \
	X(OB_ERR_PROXY_DEADLINE, -1306, "the upstream did not answer within the request's deadline", \
	  "retry later; raise deadline_ms in the proxy's configuration if the upstream is slow") \
	X(OB_ERR_PROXY_NO_CREDENTIAL, -1307, "the proxy holds no valid credential for this agent", \
	  "post an envelope (or a renewal) to the Agent API first") \
	X(OB_ERR_PROXY_BUSY, -1308, "the proxy has too many requests in flight", \
	  "retry after a moment") \
	X(OB_ERR_PROXY_ROUTE, -1309, "the request does not fit the agent entry's model", \
	  "agent-mediated entries take an owner-signed envelope, owner- and server-mediated ones an agent-only envelope (docs/proxy.md)") \
	X(OB_ERR_PROXY_PENDING, -1310, "the owner has not answered the request yet", \
	  "poll again after the interval the proxy returned") \
	X(OB_ERR_PROXY_DENIED, -1311, "the owner denied the request", \
	  "ask the owner; a new request needs a new envelope") \
	X(OB_ERR_PROXY_EXPIRED, -1312, "the request expired before the owner answered", \
	  "send a new request") \
	X(OB_ERR_PROXY_TLS, -1313, "the TLS connection to the upstream failed", \
	  "check the proxy's tls ca, cert and key against the upstream's certificates") \
	X(OB_ERR_PROXY_RENEW, -1314, "the renewal does not fit an approval the proxy holds, or its window has closed", \
	  "send a renewal envelope that names the approval's jti, for the same agent key, inside the window; otherwise ask the owner again") \
	X(OB_ERR_AGENT_CONNECT, -1315, "cannot reach the identity proxy's Agent API", \
	  "start ownerbind-proxy, or name its socket with --socket or OWNERBIND_PROXY_SOCKET") \
	X(OB_ERR_AGENT_RESPONSE, -1316, "the identity proxy's answer is malformed", \
	  "check that the socket belongs to ownerbind-proxy") \
	X(OB_ERR_APPROVAL_WINDOW, -1317, "the envelope's approval window is malformed, or this renewal is outside it", \
	  "an owner signs ob_renew_until after iat and at most the trust store's limit; renew before it passes, or ask the owner again") \
	X(OB_ERR_RENEWAL_SHAPE, -1400, "a renewal must be one agent entry with renews and without renew_until", \
	  "make the renewal with ownerbind request --renews JTI and sign it with ownerbind pop alone") \
	X(OB_ERR_RENEWAL_UNKNOWN, -1401, "the issuer holds no record of the approval this renewal names", \
	  "renew only an approval issued with renew_until, with the same agent key; otherwise ask the owner again") \
	X(OB_ERR_RENEWAL_MISMATCH, -1402, "the renewal's sub, owner, aud or model differs from its approval's", \
	  "copy sub, aud, owner and the model from the approval into the renewal") \
	X(OB_ERR_APPROVAL_RECORD, -1403, "an approval record cannot be stored or read back", \
	  "check the replay state store (SQLite file or Redis); the record is refused rather than trusted") \
	X(OB_ERR_UPSTREAM_UNAVAILABLE, -1200, "the identity server could not be reached", \
	  "check that the server runs and that the gateway's server.url and TLS files are right; retry") \
	X(OB_ERR_UPSTREAM_TIMEOUT, -1201, "the identity server did not answer in time", \
	  "retry later; raise server.timeout_ms if the server is slow under load") \
	X(OB_ERR_UPSTREAM_REPLY, -1202, "the identity server's answer was not understood", \
	  "check that server.url names an ownerbind identity server (POST /v1/credentials)") \
	X(OB_ERR_POLICY_DENIED, -1210, "the gateway's policy does not allow this request", \
	  "the gateway's log and audit record name the rule; ask its operator to change the policy") \
	X(OB_ERR_POLICY_INVALID, -1211, "the gateway policy file is invalid", \
	  "fix the member the detail names (docs/gateway-policy.md); the old policy stays in force") \
	X(OB_ERR_APPROVAL_TIMEOUT, -1220, "the request was not approved by enough owners in time", \
	  "ask the named owners to run ownerbind approve while the request is pending") \
	X(OB_ERR_APPROVAL_INVALID, -1221, "the approval is not a valid owner signature over this pending request", \
	  "sign the pending request shown by ownerbind approve --list with a key enrolled for a named owner") \
	X(OB_ERR_APPROVAL_UNKNOWN, -1222, "no such pending request", \
	  "list the pending requests with ownerbind approve --list; it may have expired or been decided") \
	X(OB_ERR_GATEWAY_CONFIG, -1230, "the gateway configuration is invalid", \
	  "fix the member the detail names (docs/gateway.md)") \
	X(OB_ERR_GATEWAY_QUEUE_FULL, -1231, "the gateway's signing queue for this HSM is full", \
	  "retry after the Retry-After seconds; raise hsm_queue.depth if this persists") \
	X(OB_ERR_GATEWAY_DEADLINE, -1232, "the request waited longer than its deadline in the gateway", \
	  "retry; raise hsm_queue.deadline_ms if the HSM is slow") \
	X(OB_ERR_CHAL_SHAPE, -1250, "a server-mediated start is not one agent entry without ob_nonce", \
	  "sign the request with ownerbind pop --model server-mediated only; the server issues the nonce") \
	X(OB_ERR_CHAL_UNKNOWN, -1251, "no such pending request for this client", \
	  "poll or answer only handles this client started or was shown") \
	X(OB_ERR_CHAL_EXPIRED, -1252, "the request's deadline passed, or its credential was already delivered", \
	  "start a new request; the owner must answer before the deadline") \
	X(OB_ERR_CHAL_DENIED, -1253, "the owner refused the request", \
	  "ask the owner; start a new request only if they agree") \
	X(OB_ERR_CHAL_SLOW_DOWN, -1254, "polled faster than the request's interval", \
	  "wait the interval in the answer (and Retry-After) between polls") \
	X(OB_ERR_CHAL_OUTSTANDING, -1255, "this agent key already has a request waiting for its owner", \
	  "poll the pending request to its end, or wait until its deadline") \
	X(OB_ERR_CHAL_ANSWER, -1256, "the owner's answer is malformed", \
	  "send protected and signature (and header for FIDO2), or decision deny, as docs/api.md shows") \
	X(OB_ERR_CHAL_OWNER, -1257, "the answering device belongs to another owner", \
	  "answer from a device the server maps to the request's owner") \
	X(OB_ERR_CHAL_ANSWERED, -1258, "the request was already answered", \
	  "nothing to do: an answer counts once") \
	X(OB_ERR_CHAL_FULL, -1259, "too many requests are waiting for owners", \
	  "retry later, or raise challenge.max_pending") \
	X(OB_ERR_CHAL_FAILED, -1263, "the owner approved, but the server could not issue the credential", \
	  "start a new request (a new envelope: this one's jti is spent); the detail of the answer's refusal says why") \
	X(OB_ERR_RESPOND_PIN, -1260, "the server's certificate is not the pinned one", \
	  "check --server-pin against the server's certificate (SHA-256 of its DER, hex)") \
	X(OB_ERR_RESPOND_NONE, -1261, "no challenge arrived before --wait ran out", \
	  "start the request first, or wait longer") \
	X(OB_ERR_RESPOND_CODE, -1262, "the server's binding code is not the one computed from the request and nonce", \
	  "do not approve: the server or the channel is not the one you trust") \
	/* the gateway's development mode (ownerbind-gateway --dev) */ \
	X(OB_ERR_GW_DEV_SERVER, -1380, "the --server-dev directory is not a development server's", \
	  "name the DIR an `ownerbind-server --dev DIR` made (it holds dev.json and server.json)") \
	X(OB_ERR_GW_DEV_TOKEN, -1381, "the development SoftHSM2 token could not be made", \
	  "install softhsm2 (libsofthsm2.so) and read the detail line printed before this one") \
	X(OB_ERR_ENROL_UNKNOWN, -1430, "no such enrolment invite", \
	  "open the exact URL ownerbind-server invite printed; ask the operator for a new invite") \
	X(OB_ERR_ENROL_USED, -1431, "the enrolment invite was already used", \
	  "an invite enrols once; if you did not use it, tell the operator: someone else may have") \
	X(OB_ERR_ENROL_EXPIRED, -1432, "the enrolment invite has expired", \
	  "ask the operator for a new invite (ownerbind-server invite --ttl)") \
	X(OB_ERR_ENROL_REQUEST, -1433, "the registration is malformed", \
	  "post clientDataJSON and attestationObject as base64url, as navigator.credentials.create returns them (docs/api.md)") \
	X(OB_ERR_ENROL_TYPE, -1434, "clientDataJSON type is not webauthn.create", \
	  "post the response of navigator.credentials.create, not of get") \
	X(OB_ERR_ENROL_CHALLENGE, -1435, "clientDataJSON challenge is not the invite's", \
	  "create the credential with the options GET /v1/enrol/INVITE returned") \
	X(OB_ERR_ENROL_ORIGIN, -1436, "clientDataJSON origin is not one the invite allows", \
	  "enrol from the server's own page (enrol.origins); a look-alike site is refused") \
	X(OB_ERR_ENROL_RPID, -1437, "the credential is for another relying party id", \
	  "create the credential with the rp id of enrol.rp_id") \
	X(OB_ERR_ENROL_FLAGS, -1438, "the authenticator did not report user presence, user verification or credential data", \
	  "touch the authenticator and verify (PIN, biometric) when it asks") \
	X(OB_ERR_ENROL_KEY, -1439, "the credential's public key is not an ES256 P-256 COSE key", \
	  "use an authenticator that supports ES256 (alg -7)") \
	X(OB_ERR_ENROL_ATTESTATION, -1440, "the attestation statement is not of format none", \
	  "create the credential with attestation \"none\", as the server's options ask") \
	X(OB_ERR_ENROL_DUPLICATE, -1441, "this credential is already enrolled", \
	  "nothing to do: the passkey is in the trust store already") \
	X(OB_ERR_ENROL_STORE, -1442, "the enrolled key could not be written", \
	  "check that enrol.dir is writable by the server and the trust store loads; the invite is spent: make a new one") \
	X(OB_ERR_NOTIFY_UNCONFIGURED, -1450, "this client has no callback configured for ping notifications", \
	  "add clients[].callback (url, ca) for this client in the server's configuration, or start the request without Ownerbind-Notification-Token and poll") \
	X(OB_ERR_NOTIFY_TOKEN, -1451, "the notification token is empty, too long or not visible ASCII", \
	  "send 1 to 1024 characters from 0x21 to 0x7e in Ownerbind-Notification-Token") \
	X(OB_ERR_NOTIFY_DROPPED, -1452, "a ping notification was dropped after its tries", \
	  "check that the client's callback URL answers 2xx over TLS with the configured CA; the client still gets the result by polling") \
	X(OB_ERR_PROXY_RELOAD, -1470, "the proxy's configuration was not reloaded: it changes a member that is fixed at start or names a file the proxy cannot read", \
	  "restart the proxy to change socket, socket_mode, user or sandbox, or make the TLS files readable; the proxy keeps serving with the configuration it had") \
	X(OB_ERR_SERVER_RELOAD, -1480, "the server's configuration was not reloaded: it changes a member that is fixed at start", \
	  "restart the server to change the member the log names (docs/server.md lists which members SIGHUP reloads); the server keeps serving with the configuration it had") \
	X(OB_ERR_GW_RELOAD, -1481, "the gateway's configuration was not reloaded: it changes a member that is fixed at start", \
	  "restart the gateway to change the member the log names (docs/gateway.md lists which members SIGHUP reloads); the gateway keeps serving with the configuration it had")

enum ob_err {
	OB_OK = 0,
#define OB_ERR_ENUM_(name, num, text, hint) name = (num),
	OB_ERR_TABLE(OB_ERR_ENUM_)
#undef OB_ERR_ENUM_
};

/*
 * ob_err_name: the stable name of a code ("OB_ERR_REPLAY"), "OB_OK" for 0,
 * or "OB_ERR_UNKNOWN" for a number that is not in the table.  Never NULL;
 * the string is static.
 */
OB_EXPORT const char *ob_err_name(int code);

/*
 * ob_err_public: the one code a remote client may see for an internal code
 * (the network edge's answer; the internal name goes to the log only).
 * Every verification failure maps to OB_ERR_REJECTED, so the reply is no
 * oracle; distinct codes remain only where the client can act: a body that
 * is not JSON (OB_ERR_SVC_BAD_REQUEST), too large, rate limited,
 * unavailable (including replay-state trouble: retry), the signer helper
 * unavailable (OB_ERR_SIGNER_UNAVAILABLE, also for its rate limit), the
 * HTTP-level codes (not found, method, media type, unknown peer) and
 * OB_ERR_INTERNAL.
 * OB_OK maps to OB_OK.  Never fails.
 */
OB_EXPORT int ob_err_public(int code);

/* ob_err_text: the sentence for a code; static, never NULL. */
OB_EXPORT const char *ob_err_text(int code);

/* ob_err_hint: the next step for a code; static, never NULL ("" for OB_OK). */
OB_EXPORT const char *ob_err_hint(int code);

/*
 * ob_err_detail: the detail of the last error recorded by this thread (for
 * example "entry 1: protected header: duplicate member \"alg\"" or "2 tries
 * left"), or "" if none.  The string belongs to the library and stays valid
 * until this thread's next ownerbind call.  It never contains secrets.
 */
OB_EXPORT const char *ob_err_detail(void);

/* ob_err_clear: forget this thread's detail. */
OB_EXPORT void ob_err_clear(void);

#ifdef __cplusplus
}
#endif

#endif /* OWNERBIND_OB_ERR_H */
