/* A program an identity-server operator would write against the installed
 * library: load a trust store, verify one envelope, print the verdict (as
 * JSON, then a few members through the getters).  test_abi.sh runs one
 * binary of it against a library whose structures have grown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ownerbind/ob_verify.h>

int
main(int argc, char **argv)
{
	struct ob_verify_opts	*o = NULL;
	struct ob_trust		*t = NULL;
	struct ob_state		*s = NULL;
	struct ob_verdict	*v = NULL;
	char			 buf[65536], *js = NULL;
	size_t			 n;
	FILE			*f;
	int			 r;

	if (argc != 5 || (f = fopen(argv[3], "r")) == NULL)
		return 2;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if ((r = ob_verify_opts_new(&o)) != OB_OK ||
	    (r = ob_verify_opts_set_aud(o, argv[2])) != OB_OK ||
	    (r = ob_verify_opts_set_now(o, strtoll(argv[4], NULL, 10))) !=
	    OB_OK ||
	    (r = ob_trust_load_file(argv[1], &t)) != OB_OK ||
	    (r = ob_state_open_memory(&s)) != OB_OK ||
	    (r = ob_verify(t, s, o, buf, n, &v)) != OB_OK ||
	    (r = ob_verdict_json(v, &js)) != OB_OK) {
		printf("%s\n", ob_err_name(r));
		return 1;
	}
	printf("%s\n", js);
	printf("agent=%s owner=%s model=%s exp=%lld up=%d\n",
	    ob_verdict_agent(v), ob_verdict_owner(v), ob_verdict_model(v),
	    ob_verdict_exp(v), ob_verdict_up(v));
	free(js);
	ob_verify_opts_free(&o);
	ob_verdict_free(&v);
	ob_state_free(&s);
	ob_trust_free(&t);
	return 0;
}
