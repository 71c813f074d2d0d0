/*
 * ownerbind doctor: why can't this user reach the security key, TPM or
 * smart-card reader, and what to do about it.  Reads sysfs, /dev, the udev
 * database and rules directories; changes nothing.  --root inspects a
 * system image instead of / (tests, chroots).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cliutil.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "owner/ownerbind.h"

#define HID_MAX_DESCRIPTOR	4096	/* the kernel's HID_MAX_DESCRIPTOR_SIZE */
#define FIDO_USAGE_PAGE		0xF1D0	/* FIDO Alliance, CTAP HID section 11.2.8.1 */

struct doc {
	const char	*root;
	json_t		*checks;
	int		 problems, warnings;
};

static const char *const rules_dirs[] = {
	"/etc/udev/rules.d", "/run/udev/rules.d", "/usr/lib/udev/rules.d",
	"/lib/udev/rules.d", NULL
};

static void
doctor_usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " doctor [--json] [--root DIR]\n"
"\n"
"Explains device-permission problems: FIDO security keys (hidraw nodes\n"
"whose HID report descriptor has the FIDO usage page 0xF1D0, their mode,\n"
"group and ACLs, udev's ID_FIDO_TOKEN and uaccess tag), the TPM resource\n"
"manager /dev/tpmrm0 and the tss group, the pcscd socket, and whether\n"
"udev rules for them are installed; each problem comes with what to do.\n"
"  --json      the checks as JSON\n"
"  --root DIR  inspect a system image under DIR instead of /\n"
"Exit status: 0 no problems found, 1 problems found, 2 usage.\n");
}

static void __attribute__((format(printf, 4, 5)))
check(struct doc *d, const char *area, const char *status, const char *fmt,
    ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(status, "problem") == 0)
		d->problems++;
	else if (strcmp(status, "warn") == 0)
		d->warnings++;
	(void)json_array_append_new(d->checks, json_pack("{s:s,s:s,s:s}",
	    "area", area, "status", status, "what", msg));
}

/* Attach the remedy to the last check. */
static void
fix(struct doc *d, const char *text)
{
	json_t *c = json_array_get(d->checks, json_array_size(d->checks) - 1);

	if (c != NULL)
		(void)json_object_set_new(c, "fix", json_string(text));
}

static void
rpath(const struct doc *d, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
rpath(const struct doc *d, char *buf, size_t len, const char *fmt, ...)
{
	char	p[1024];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	(void)snprintf(buf, len, "%s%s", d->root, p);
}

/* Small whole-file read (sysfs attributes, udev db entries). */
static ssize_t
slurp(const char *path, unsigned char *buf, size_t max)
{
	ssize_t	k;
	size_t	n = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (n < max && (k = read(fd, buf + n, max - n)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			close(fd);
			return -1;
		}
		n += (size_t)k;
	}
	close(fd);
	return (ssize_t)n;
}

/*
 * Does a HID report descriptor declare the FIDO usage page?  Short items
 * (HID 1.11 section 6.2.2.2): prefix = tag(4) type(2) size(2), size 3
 * meaning 4 bytes; Usage Page is global item tag 0 (prefix 0x04..0x07).
 * Long items (0xFE) are skipped by their own length.
 */
static int
hid_is_fido(const unsigned char *p, size_t len)
{
	struct ob_rd	rd;
	uint32_t	v, v32;
	uint16_t	v16;
	uint8_t		prefix, n, v8;
	int		r;

	ob_rd_init(&rd, p, len);
	while (ob_rd_left(&rd) > 0) {
		if (ob_rd_u8(&rd, &prefix) != OB_OK)
			return 0;
		if (prefix == 0xFE) {
			/* bDataSize, bLongItemTag, then the data */
			if (ob_rd_u8(&rd, &n) != OB_OK ||
			    ob_rd_skip(&rd, 1 + (size_t)n) != OB_OK)
				return 0;
			continue;
		}
		/* A short item's data is little-endian. */
		switch (prefix & 3) {
		case 0:
			v = 0;
			r = OB_OK;
			break;
		case 1:
			if ((r = ob_rd_u8(&rd, &v8)) == OB_OK)
				v = v8;
			break;
		case 2:
			if ((r = ob_rd_u16_le(&rd, &v16)) == OB_OK)
				v = v16;
			break;
		default:
			if ((r = ob_rd_u32_le(&rd, &v32)) == OB_OK)
				v = v32;
			break;
		}
		if (r != OB_OK)
			return 0;
		if ((prefix & 0xFC) == 0x04 && v == FIDO_USAGE_PAGE)
			return 1;
	}
	return 0;
}

static const char *
group_name(gid_t g)
{
	struct group *gr = getgrgid(g);

	return gr != NULL ? gr->gr_name : "?";
}

static int
in_group(const char *name)
{
	struct group	*gr;
	gid_t		 gs[256];
	int		 n, i;

	if ((gr = getgrnam(name)) == NULL)
		return 0;
	if (getegid() == gr->gr_gid)
		return 1;
	if ((n = getgroups(256, gs)) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (gs[i] == gr->gr_gid)
			return 1;
	return 0;
}

static int
rules_have(const struct doc *d, const char *file)
{
	char	p[2048];
	size_t	i;

	for (i = 0; rules_dirs[i] != NULL; i++) {
		rpath(d, p, sizeof(p), "%s/%s", rules_dirs[i], file);
		if (access(p, F_OK) == 0)
			return 1;
	}
	return 0;
}

static const char fido_fix[] =
	"install udev/70-ownerbind-fido.rules into /etc/udev/rules.d, run "
	"`udevadm control --reload && udevadm trigger`, and replug the key; "
	"without a logind seat (ssh, containers) add a group rule instead: "
	"SUBSYSTEM==\"hidraw\", ENV{ID_FIDO_TOKEN}==\"1\", GROUP=\"plugdev\", "
	"MODE=\"0660\" and join plugdev";

static void
doctor_hidraw_node(struct doc *d, const char *name)
{
	struct stat	 st;
	unsigned char	 db[8192];
	char		 p[2048], node[2048], devnum[32];
	ssize_t		 n;
	unsigned int	 maj, min;
	int		 acl, fido_tag = -1, uaccess = -1;

	rpath(d, node, sizeof(node), "/dev/%s", name);
	if (stat(node, &st) != 0) {
		check(d, "fido2", "problem", "/dev/%s: %s (the key is in sysfs "
		    "but has no device node)", name, strerror(errno));
		fix(d, "udev does not run or did not create the node; start "
		    "systemd-udevd or create it by hand (mknod)");
		return;
	}
	rpath(d, p, sizeof(p), "/sys/class/hidraw/%s/dev", name);
	if ((n = slurp(p, (unsigned char *)devnum, sizeof(devnum) - 1)) > 0) {
		devnum[n] = '\0';
		if (sscanf(devnum, "%u:%u", &maj, &min) == 2) {
			rpath(d, p, sizeof(p), "/run/udev/data/c%u:%u", maj, min);
			if ((n = slurp(p, db, sizeof(db) - 1)) >= 0) {
				db[n] = '\0';
				fido_tag = strstr((char *)db,
				    "E:ID_FIDO_TOKEN=1") != NULL;
				uaccess = strstr((char *)db, "G:uaccess") !=
				    NULL || strstr((char *)db, "Q:uaccess") !=
				    NULL;
			}
		}
	}
	acl = getxattr(node, "system.posix_acl_access", NULL, 0) > 0;
	check(d, "fido2", "info", "/dev/%s is a FIDO key: mode %04o, owner "
	    "%u, group %s%s; udev %s%s", name, (unsigned int)(st.st_mode &
	    07777), (unsigned int)st.st_uid, group_name(st.st_gid), acl ?
	    ", has an ACL" : ", no ACL", fido_tag < 0 ? "has no record of it" :
	    fido_tag ? "set ID_FIDO_TOKEN" : "did not set ID_FIDO_TOKEN",
	    uaccess > 0 ? " and the uaccess tag" : "");
	if (access(node, R_OK | W_OK) == 0) {
		if (geteuid() == 0)
			check(d, "fido2", "warn", "/dev/%s: root can open it; "
			    "run doctor as the user who signs to check theirs",
			    name);
		else
			check(d, "fido2", "ok", "/dev/%s: this user can open it",
			    name);
		return;
	}
	check(d, "fido2", "problem", "/dev/%s: this user cannot open it (%s)",
	    name, strerror(errno));
	if (uaccess > 0 && !acl)
		fix(d, "udev tagged the key uaccess, but logind gave no ACL: "
		    "this user is not on the active local seat (ssh, su, "
		    "containers); log in locally, or add a group rule: "
		    "SUBSYSTEM==\"hidraw\", ENV{ID_FIDO_TOKEN}==\"1\", "
		    "GROUP=\"plugdev\", MODE=\"0660\" and join plugdev");
	else
		fix(d, fido_fix);
}

static void
doctor_hidraw(struct doc *d)
{
	DIR		*dir;
	struct dirent	*de;
	unsigned char	 desc[HID_MAX_DESCRIPTOR];
	char		 p[2048];
	ssize_t		 n;
	int		 nhid = 0, nfido = 0;

	rpath(d, p, sizeof(p), "/sys/class/hidraw");
	if ((dir = opendir(p)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (strncmp(de->d_name, "hidraw", 6) != 0)
				continue;
			nhid++;
			rpath(d, p, sizeof(p), "/sys/class/hidraw/%s/device/"
			    "report_descriptor", de->d_name);
			if ((n = slurp(p, desc, sizeof(desc))) <= 0 ||
			    !hid_is_fido(desc, (size_t)n))
				continue;
			nfido++;
			doctor_hidraw_node(d, de->d_name);
		}
		closedir(dir);
	}
	if (nfido == 0)
		check(d, "fido2", "info", "no FIDO security key found among %d "
		    "hidraw device%s%s", nhid, nhid == 1 ? "" : "s", nhid == 0 ?
		    " (no USB HID devices, or no hidraw in this system or "
		    "container)" : "");
	if (nfido == 0 && nhid == 0)
		fix(d, "connect the key; in a VM or container pass the USB "
		    "device (or /dev/hidrawN) through");
	if (rules_have(d, "70-ownerbind-fido.rules"))
		check(d, "udev", "ok", "70-ownerbind-fido.rules is installed");
	else if (rules_have(d, "60-fido-id.rules") &&
	    rules_have(d, "70-uaccess.rules"))
		check(d, "udev", "ok", "systemd's 60-fido-id.rules and "
		    "70-uaccess.rules give FIDO keys to the seat's user");
	else if (rules_have(d, "70-u2f.rules"))
		check(d, "udev", "ok", "70-u2f.rules (a vendor list) is "
		    "installed");
	else {
		check(d, "udev", "warn", "no udev rule gives FIDO keys to "
		    "users");
		fix(d, fido_fix);
	}
	rpath(d, p, sizeof(p), "/run/udev/control");
	if (access(p, F_OK) != 0)
		check(d, "udev", "warn", "the udev daemon is not running: device "
		    "nodes keep the kernel's root-only permissions");
	rpath(d, p, sizeof(p), "/run/systemd/seats");
	if (access(p, F_OK) != 0) {
		check(d, "udev", "info", "no logind seats: uaccess rules grant "
		    "nothing here");
		fix(d, "use a group rule (GROUP=\"plugdev\", MODE=\"0660\") "
		    "and add the user to that group");
	}
}

static void
doctor_tpm(struct doc *d)
{
	struct stat	st;
	char		p[2048];
	int		e;

	rpath(d, p, sizeof(p), "/dev/tpmrm0");
	if (stat(p, &st) != 0) {
		check(d, "tpm2", "info", "no /dev/tpmrm0: no TPM 2.0 resource "
		    "manager (tpm2: keys need a TPM, or tcti= for swtpm)");
		return;
	}
	check(d, "tpm2", "info", "/dev/tpmrm0: mode %04o, group %s",
	    (unsigned int)(st.st_mode & 07777), group_name(st.st_gid));
	if (access(p, R_OK | W_OK) == 0)
		check(d, "tpm2", geteuid() == 0 ? "warn" : "ok", "/dev/tpmrm0: "
		    "%s can open it", geteuid() == 0 ? "root" : "this user");
	else {
		e = errno;
		check(d, "tpm2", "problem", "/dev/tpmrm0: this user cannot "
		    "open it (%s)%s", strerror(e), in_group("tss") ? "" :
		    "; not in group tss");
		fix(d, "add the user to group tss (usermod -aG tss USER, then "
		    "log in again) and install udev/60-ownerbind-tpm.rules or "
		    "Debian's tpm-udev");
	}
	if (!rules_have(d, "60-ownerbind-tpm.rules") &&
	    !rules_have(d, "60-tpm-udev.rules")) {
		check(d, "udev", "warn", "no udev rule gives /dev/tpmrm0 to "
		    "group tss");
		fix(d, "install udev/60-ownerbind-tpm.rules");
	}
}

static void
doctor_pcscd(struct doc *d)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	const char		*env = getenv("PCSCLITE_CSOCK_NAME");
	char			 p[2048];
	int			 fd;

	if (env != NULL && *d->root == '\0')
		(void)snprintf(p, sizeof(p), "%s", env);
	else
		rpath(d, p, sizeof(p), "/run/pcscd/pcscd.comm");
	if (stat(p, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		check(d, "piv", "info", "no pcscd socket at %s: piv: keys need "
		    "pcscd", p);
		fix(d, "start pcscd (systemctl start pcscd.socket)");
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(p) >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	memcpy(sa.sun_path, p, strlen(p) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		check(d, "piv", "ok", "pcscd answers at %s", p);
	else {
		check(d, "piv", errno == EACCES ? "problem" : "warn",
		    "pcscd socket %s: %s", p, strerror(errno));
		fix(d, errno == EACCES ? "polkit denies this user PC/SC access; "
		    "see pcscd's polkit rules" : "restart pcscd");
	}
	close(fd);
}

static void
doctor_print(const struct doc *d)
{
	const json_t	*c, *f;
	size_t		 i;

	json_array_foreach(d->checks, i, c) {
		printf("%-9s %-6s %s\n", json_string_value(json_object_get(c,
		    "status")), json_string_value(json_object_get(c, "area")),
		    json_string_value(json_object_get(c, "what")));
		if ((f = json_object_get(c, "fix")) != NULL)
			printf("          fix:   %s\n", json_string_value(f));
	}
	printf("%d problem%s, %d warning%s\n", d->problems, d->problems == 1 ?
	    "" : "s", d->warnings, d->warnings == 1 ? "" : "s");
}

int
cmd_doctor(int argc, char **argv)
{
	enum { O_JSON = 256, O_ROOT };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "root", required_argument, NULL, O_ROOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct doc	 d;
	json_t		*o;
	char		*s = NULL;
	size_t		 n;
	int		 ch, json = owner_json, r;

	memset(&d, 0, sizeof(d));
	d.root = "";
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_JSON: json = 1; break;
		case O_ROOT: d.root = optarg; break;
		case 'h':
			doctor_usage(stdout);
			return 0;
		default:
			return owner_badopt(doctor_usage, argc, argv);
		}
	}
	if (optind != argc || strlen(d.root) > 512)
		return owner_usage(doctor_usage, NULL);
	if ((d.checks = json_array()) == NULL)
		return fail(OB_ERR_ALLOC);
	doctor_hidraw(&d);
	doctor_tpm(&d);
	doctor_pcscd(&d);
	if (json) {
		o = json_pack("{s:O,s:i,s:i}", "checks", d.checks, "problems",
		    d.problems, "warnings", d.warnings);
		if (o == NULL || (r = ob_json_dump(o, &s, &n)) != OB_OK) {
			json_decref(o);
			json_decref(d.checks);
			return fail(OB_ERR_ALLOC);
		}
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else
		doctor_print(&d);
	json_decref(d.checks);
	return d.problems > 0 ? EXIT_FAIL : 0;
}
