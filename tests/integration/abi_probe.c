/* The ABI test's control: a program that (wrongly, for an external one)
 * reads the verdict's members through the library's internal layout.  Run
 * against the library whose structures have grown, it must print
 * something else: that shows the grown library really moved the members,
 * so the consumer's unchanged output means something. */
#include <stdio.h>
#include <stdlib.h>

#include "server-verify/verify_int.h"

int
main(int argc, char **argv)
{
	struct ob_verify_opts	*o = NULL;
	struct ob_trust		*t = NULL;
	struct ob_state		*s = NULL;
	struct ob_verdict	*v = NULL;
	char			 buf[65536];
	size_t			 n;
	FILE			*f;

	if (argc != 5 || (f = fopen(argv[3], "r")) == NULL)
		return 2;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (ob_verify_opts_new(&o) != OB_OK ||
	    ob_verify_opts_set_aud(o, argv[2]) != OB_OK ||
	    ob_verify_opts_set_now(o, strtoll(argv[4], NULL, 10)) != OB_OK ||
	    ob_trust_load_file(argv[1], &t) != OB_OK ||
	    ob_state_open_memory(&s) != OB_OK ||
	    ob_verify(t, s, o, buf, n, &v) != OB_OK)
		return 1;
	/* iat sits among pointers; a moved layout reads another member */
	printf("iat=%lld exp=%lld\n", v->iat, v->exp);
	ob_verdict_free(&v);
	ob_state_free(&s);
	ob_trust_free(&t);
	ob_verify_opts_free(&o);
	return 0;
}
