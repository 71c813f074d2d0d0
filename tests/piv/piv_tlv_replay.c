/*
 * Corpus replay for fuzz/fuzz_piv_tlv.c without libFuzzer: every regular
 * file in the directories (or files) named on the command line goes
 * through LLVMFuzzerTestOneInput once.  Exit 0 when all ran (the harness
 * aborts on a bug), 1 on an I/O error or an empty corpus.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INPUT_MAX	(1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	unsigned char	*buf;
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if ((buf = malloc(INPUT_MAX)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, INPUT_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "%s: read error or larger than %d bytes\n",
		    path, INPUT_MAX);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
replay(const char *path, int *count)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		 p[4096];
	int		 r = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, de->d_name) >=
		    sizeof(p) || stat(p, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		(*count)++;
		r = replay_file(p);
	}
	closedir(d);
	return r;
}

int
main(int argc, char **argv)
{
	int i, count = 0;

	for (i = 1; i < argc; i++)
		if (replay(argv[i], &count) != 0)
			return 1;
	printf("replayed %d inputs\n", count);
	return count > 0 ? 0 : 1;
}
