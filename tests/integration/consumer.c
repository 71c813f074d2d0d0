/* A program an identity-server operator would write against the installed
 * library: load a trust store, verify one envelope, print the verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ownerbind/ob_verify.h>

int
main(int argc, char **argv)
{
	struct ob_verify_opts	 o;
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
	memset(&o, 0, sizeof(o));
	o.aud = argv[2];
	o.now = strtoll(argv[4], NULL, 10);
	if ((r = ob_trust_load_file(argv[1], &t)) != OB_OK ||
	    (r = ob_state_open_memory(&s)) != OB_OK ||
	    (r = ob_verify(t, s, &o, buf, n, &v)) != OB_OK ||
	    (r = ob_verdict_json(v, &js)) != OB_OK) {
		printf("%s\n", ob_err_name(r));
		return 1;
	}
	printf("%s\n", js);
	free(js);
	ob_verdict_free(&v);
	ob_state_free(&s);
	ob_trust_free(&t);
	return 0;
}
