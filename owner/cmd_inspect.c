/* ownerbind inspect: what an envelope says (no trust decisions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/envelope.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"

int
cmd_inspect(int argc, char **argv)
{
	struct ob_envelope	*env = NULL;
	char			*s = NULL;
	size_t			 i, n;
	int			 r;

	if (argc != 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fprintf(argc == 2 ? stdout : stderr, "usage: " PROG
		    " inspect IN\n\nChecks an envelope's form and prints its "
		    "payload and entries.\nIt does not verify signatures or "
		    "trust: use ownerbind-verify.\n");
		return argc == 2 ? 0 : EXIT_USAGE;
	}
	if ((r = owner_load(argv[1], &env)) != OB_OK)
		return fail(r);
	if ((r = ob_json_dump(env->payload_json, &s, &n)) != OB_OK) {
		ob_envelope_free(&env);
		return fail(r);
	}
	printf("payload  %s\nagent key thumbprint  %s\n", s, env->claims.jkt);
	free(s);
	for (i = 0; i < env->n; i++) {
		const struct ob_entry *e = &env->entries[i];

		printf("entry %zu  role=%s model=%s alg=%s kid=%s ob_iat=%lld%s%s\n",
		    i, ob_role_name(e->role), ob_model_name(e->model),
		    ob_alg_name(e->alg), e->kid, e->sat,
		    e->nonce != NULL ? " nonce=" : "",
		    e->nonce != NULL ? e->nonce : "");
	}
	if (env->n == 0)
		printf("no signatures yet\n");
	ob_envelope_free(&env);
	return 0;
}
