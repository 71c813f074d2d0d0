#!/usr/bin/env python3
"""Run the command blocks of README.md and docs/*.md against the built tree.

Usage: doctest.py SOURCE_DIR BIN_DIR...      (the real docs)
       doctest.py --self-test SOURCE_DIR BIN_DIR...

Every fenced block whose info string is empty, sh, bash, shell or console
is a block a user might paste, so it must say what is done with it, on
the line just before its fence:

  <!-- doctest: run [swtpm] [softhsm] [tty] [continue] [setup: CMDS] -->
  <!-- doctest: skip (why it cannot run here) -->

A run block runs with bash (set -euo pipefail) in a fresh temporary
directory with HOME inside it and BIN_DIRs first on PATH; swtpm and
softhsm start the fixtures of tests/tpm2 and tests/pkcs11 for it (the
environment they print is exported); devserver starts ownerbind-server
--dev on loopback with an owner enrolled, links its files (tls-ca.pem,
client.pem, client.key, issuer-ca.pem, issuer-jwks.json) into the
directory, writes envelope.json (signed, with its proof of possession)
and exports URL and AUD; tty runs it on a pseudo-terminal
that answers every prompt with a fixed secret; continue runs it in the
directory (and with the fixtures) of the previous run block of the same
file; setup: runs CMDS first (the values a reader would fill in).  A
console block runs its "$ " lines.  Blocks labelled anything else (text,
json, c, asn1 ...) are not commands.  An unmarked command block, a skip
without a reason, a marker without a block and a failing block each
fail the run; a block whose fixture is not installed makes it exit 77
(skipped) when nothing failed.  Blocks that are not commands are better
labelled text.
"""
import glob
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CMD_LANGS = {"", "sh", "bash", "shell", "console"}
MARK = re.compile(r"^\s*<!--\s*doctest:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^\s`]*)")
SECRET = "doctest-secret-1"
TIMEOUT = 180


def blocks(path):
    """(line, info, marker or None, body lines) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i, pending = [], 0, None
    while i < len(lines):
        m = MARK.match(lines[i])
        if m:
            if pending is not None:
                raise ValueError("%s:%d: doctest marker without a block"
                                 % (path, pending[0]))
            pending = (i + 1, m.group(1))
            i += 1
            continue
        f = FENCE.match(lines[i])
        if not f:
            if pending is not None and lines[i].strip() != "":
                raise ValueError("%s:%d: doctest marker without a block"
                                 % (path, pending[0]))
            i += 1
            continue
        indent, fence, info = f.group(1), f.group(2), f.group(3)
        j = i + 1
        while j < len(lines) and not re.match(
                r"^\s*" + re.escape(fence[0]) + "{%d,}\\s*$" % len(fence),
                lines[j]):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln
                for ln in lines[i + 1:j]]
        # the marker must be on the line just before the fence
        mk = pending[1] if pending is not None and pending[0] == i else None
        if pending is not None and mk is None:
            raise ValueError("%s:%d: doctest marker not just before a "
                             "block" % (path, pending[0]))
        out.append((i + 1, info.lower(), mk, body))
        pending = None
        i = j + 1
    if pending is not None:
        raise ValueError("%s:%d: doctest marker without a block"
                         % (path, pending[0]))
    return out


def parse_marker(mk):
    """('skip', reason) or ('run', set of flags, setup)."""
    if mk.startswith("skip"):
        m = re.match(r"^skip\s*\((.+)\)$", mk)
        if not m or not m.group(1).strip():
            raise ValueError("skip needs a reason: skip (why)")
        return ("skip", m.group(1).strip(), None)
    if not mk.startswith("run"):
        raise ValueError("marker is run ... or skip (why): %r" % mk)
    rest, setup = mk[3:], None
    if "setup:" in rest:
        rest, setup = rest.split("setup:", 1)
    flags = set(rest.split())
    bad = flags - {"swtpm", "softhsm", "tty", "continue", "devserver"}
    if bad:
        raise ValueError("unknown doctest flags %s" % sorted(bad))
    return ("run", flags, setup.strip() if setup else None)


def script_of(info, body):
    if info != "console":
        return "\n".join(body)
    cmds, cont = [], False
    for ln in body:
        if ln.startswith("$ ") or cont:
            c = ln[2:] if ln.startswith("$ ") and not cont else ln
            cmds.append(c)
            cont = c.rstrip().endswith("\\")
    return "\n".join(cmds)


class Missing(Exception):
    """A fixture's software is not installed (the test is skipped)."""


class Chain:
    """A temporary directory and the fixtures started in it."""

    def __init__(self, src, flags, env):
        self.src = src
        self.dir = tempfile.mkdtemp(prefix="ob-doctest.")
        self.env = dict(env)
        self.env["HOME"] = os.path.join(self.dir, "home")
        os.makedirs(self.env["HOME"])
        self.env.pop("XDG_CONFIG_HOME", None)
        self.env.pop("OWNERBIND_PIN_SOURCE", None)
        self.swtpm = None
        self.server = None
        try:
            self._start(src, flags)
        except BaseException:
            self.close()	# what was started before the failure
            raise

    def _start(self, src, flags):
        if "swtpm" in flags:
            swtpm = os.path.join(self.dir, "swtpm")
            os.makedirs(swtpm)
            p = subprocess.run(
                ["sh", os.path.join(src, "tests/tpm2/swtpm-fixture.sh"),
                 "start", swtpm], capture_output=True, text=True,
                env=self.env, check=False)
            if p.returncode == 77:
                raise Missing("swtpm or tpm2-tools is not installed")
            self.swtpm = swtpm
            if p.returncode != 0:
                raise RuntimeError("swtpm fixture: " + p.stderr)
            self._export(p.stdout)
            self.env["TPM2OPENSSL_TCTI"] = self.env["TPM2TOOLS_TCTI"]
        if "softhsm" in flags:
            self._export(subprocess.run(
                ["sh", os.path.join(src, "tests/pkcs11/softhsm-fixture.sh"),
                 os.path.join(self.dir, "hsm"), "1234", "123456"],
                capture_output=True, text=True, env=self.env,
                check=True).stdout)
        if "devserver" in flags:
            self._devserver()

    def _run(self, *argv):
        subprocess.run(list(argv), cwd=self.dir, env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_for(self, what, test):
        """Wait (bounded, not asserted on) for the server to get there."""
        end = time.monotonic() + 60
        while not test():
            if self.server.poll() is not None or time.monotonic() > end:
                raise RuntimeError("ownerbind-server --dev: no " + what +
                                   "\n" + self._log())
            time.sleep(0.05)

    def _log(self):
        with open(os.path.join(self.dir, ".server.log"),
                  encoding="utf-8", errors="replace") as f:
            return f.read()[-2000:]

    def _devserver(self):
        dev = os.path.join(self.dir, ".dev")
        log = open(os.path.join(self.dir, ".server.log"), "w")
        self.server = subprocess.Popen(
            ["ownerbind-server", "--dev", dev, "--listen", "127.0.0.1:0"],
            cwd=self.dir, env=self.env, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
        log.close()
        info = os.path.join(dev, "dev.json")
        self._wait_for("dev.json", lambda: os.path.exists(info))
        with open(info, encoding="utf-8") as f:
            d = json.load(f)
        self.env["URL"], self.env["AUD"] = d["url"], d["aud"]
        for name in ("tls-ca.pem", "client.pem", "client.key",
                     "issuer-ca.pem", "issuer-jwks.json"):
            os.symlink(os.path.join(dev, name), os.path.join(self.dir, name))
        self._run("ownerbind", "keygen", "--key", "file:.owner.pem")
        self._run("ownerbind", "enroll", "--key", "file:.owner.pem",
                  "--owner", "alice@example.org", "--may-bind",
                  "wimse://example.org/agents/*", "--trust", d["trust"])
        reloads = self._log().count('"trust store reloaded"')
        self.server.send_signal(signal.SIGHUP)
        self._wait_for("reload", lambda: self._log().count(
            '"trust store reloaded"') > reloads)
        self._run("ownerbind", "request", "--sub",
                  "wimse://example.org/agents/a1", "--aud", d["aud"],
                  "--owner", "alice@example.org", "--agent-key", "agent.pem",
                  "--new-agent-key", "-o", ".req.json")
        self._run("ownerbind", "sign", "--quiet", "--key", "file:.owner.pem",
                  "-o", ".signed.json", ".req.json")
        self._run("ownerbind", "pop", "--agent-key", "agent.pem", "-o",
                  "envelope.json", ".signed.json")

    def _export(self, out):
        for k, v in re.findall(r"([A-Z0-9_]+)='([^']*)'", out):
            self.env[k] = v

    def close(self):
        if self.server is not None:
            self.server.terminate()	# the one process started here
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.swtpm is not None:
            subprocess.run(["sh", os.path.join(
                self.src, "tests/tpm2/swtpm-fixture.sh"), "stop",
                self.swtpm], env=self.env, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_tty(argv, cwd, env):
    """argv on a pseudo-terminal; every prompt gets SECRET."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    out, tail, end = b"", b"", time.monotonic() + TIMEOUT
    while True:
        r, _, _ = select.select([fd], [], [], 1)
        if time.monotonic() > end:
            os.kill(pid, 9)
            break
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        tail = (tail + data)[-64:]
        if tail.rstrip().endswith(b":"):
            os.write(fd, (SECRET + "\n").encode())
            tail = b""
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st), out.decode(errors="replace")


def run_block(chain, flags, setup, script):
    text = "set -euo pipefail\n%s\n%s\n" % (setup or "", script)
    path = os.path.join(chain.dir, ".block.sh")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    argv = [shutil.which("bash"), path]
    if "tty" in flags:
        return run_tty(argv, chain.dir, chain.env)
    p = subprocess.run(argv, cwd=chain.dir, env=chain.env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                       check=False)
    return p.returncode, p.stdout


def check(src, files, bins):
    env = dict(os.environ)
    env["PATH"] = ":".join(os.path.abspath(b) for b in bins) + ":" + \
        env.get("PATH", "")
    ran = skipped = 0
    errors, missing = [], []
    for path in files:
        rel = os.path.relpath(path, src)
        try:
            bl = blocks(path)
        except ValueError as e:
            errors.append(str(e))
            continue
        chain = None
        for line, info, mk, body in bl:
            if info not in CMD_LANGS:
                continue
            where = "%s:%d" % (rel, line)
            if mk is None:
                errors.append("%s: a command block without a doctest "
                              "marker (run ... or skip (why); label a "
                              "block that is not commands text)" % where)
                continue
            try:
                kind, arg, setup = parse_marker(mk)
            except ValueError as e:
                errors.append("%s: %s" % (where, e))
                continue
            if kind == "skip":
                skipped += 1
                print("skip %s (%s)" % (where, arg))
                continue
            if "continue" not in arg or chain is None:
                if chain is not None:
                    chain.close()
                    chain = None
                try:
                    chain = Chain(src, arg, env)
                except Missing as e:
                    missing.append("%s: %s" % (where, e))
                    print("NOT RUN %s (%s)" % (where, e))
                    continue
                except (RuntimeError, OSError,
                        subprocess.CalledProcessError) as e:
                    errors.append("%s: fixture: %s" % (where, e))
                    print("FAIL %s" % where)
                    continue
            rc, out = run_block(chain, arg, setup, script_of(info, body))
            ran += 1
            if rc != 0:
                errors.append("%s: exit %d\n%s" % (where, rc, "\n".join(
                    "    " + ln for ln in out.rstrip().split("\n")[-25:])))
                print("FAIL %s" % where)
            else:
                print("ok   %s" % where)
        if chain is not None:
            chain.close()
    print("%d blocks run, %d skipped, %d problems" % (ran, skipped,
                                                       len(errors)))
    for e in errors:
        print("FAIL " + e)
    if not errors and missing:
        print("%d blocks not run for want of a fixture: skipped (77)"
              % len(missing))
        return 77
    return 1 if errors else 0


def self_test(src, bins):
    """The runner refuses what it must refuse."""
    cases = {
        "unmarked": ("```sh\ntrue\n```\n", 1),
        "no-reason": ("<!-- doctest: skip -->\n```sh\ntrue\n```\n", 1),
        "failing": ("<!-- doctest: run -->\n```sh\nfalse\n```\n", 1),
        "orphan": ("<!-- doctest: run -->\n\ntext\n", 1),
        "console": ("<!-- doctest: run -->\n```console\n$ echo x >f\n"
                    "output line\n$ test -s f\n```\n", 0),
        "chain": ("<!-- doctest: run -->\n```sh\necho x >f\n```\n\n"
                  "<!-- doctest: run continue -->\n```sh\ntest -s f\n```\n",
                  0),
        "fresh": ("<!-- doctest: run -->\n```sh\necho x >f\n```\n\n"
                  "<!-- doctest: run -->\n```sh\ntest ! -e f\n```\n", 0),
        "setup": ("<!-- doctest: run setup: N=7 -->\n```sh\n"
                  "test \"$N\" = 7\n```\n", 0),
        "text": ("```text\nnot a command\n```\n", 0),
        "tty": ("<!-- doctest: run tty -->\n```sh\n"
                "read -r -p 'secret: ' s </dev/tty\n"
                "test \"$s\" = %s\n```\n" % SECRET, 0),
    }
    bad = 0
    d = tempfile.mkdtemp(prefix="ob-doctest-self.")
    try:
        for name, (text, want) in sorted(cases.items()):
            p = os.path.join(d, name + ".md")
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
            got = check(d, [p], bins)
            ok = got == want
            bad += not ok
            print("%s self-test %s (exit %d, want %d)"
                  % ("ok  " if ok else "FAIL", name, got, want))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    selftest = bool(args) and args[0] == "--self-test"
    if selftest:
        args = args[1:]
    if len(args) < 1:
        sys.exit(__doc__)
    src, bins = os.path.abspath(args[0]), args[1:]
    if selftest:
        return self_test(src, bins)
    files = [os.path.join(src, "README.md")] + \
        sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    return check(src, files, bins)


if __name__ == "__main__":
    sys.exit(main())
