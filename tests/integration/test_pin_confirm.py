#!/usr/bin/python3
"""A new key's passphrase typed by a person is asked twice (issue #19,
point 5): on a real terminal (a pty is the child's controlling tty, so
/dev/tty is it) and through askpass.  Two different entries create
nothing; two equal ones create an encrypted key that opens with that
passphrase.  Usage: test_pin_confirm.py OWNERBIND"""
import os
import pty
import subprocess
import sys
import tempfile
import time

OB = os.path.abspath(sys.argv[1])
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


def on_tty(args, lines):
    """Run args with a pty as controlling terminal, answer each prompt."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(args[0], args)
    out = b""
    for line in lines:
        deadline = time.time() + 10
        while b": " not in out.split(b"\n")[-1] and time.time() < deadline:
            try:
                out += os.read(fd, 1024)
            except OSError:
                break
        os.write(fd, line + b"\n")
        out += b"\n"
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


d = tempfile.mkdtemp()
k1 = os.path.join(d, "k1.pem")
rc, out = on_tty([OB, "keygen", "--key", "file:" + k1, "--pin-source", "tty"],
                 [b"first-Passphrase-1", b"other-Passphrase-2"])
check(rc == 1 and "the two entries differ" in out,
      "tty: two different entries are refused (%d)" % rc)
check(out.count("Passphrase for the new key: ") == 1 and "Again, to confirm: " in out,
      "tty: asked for it, then again to confirm")
check(not os.path.exists(k1), "tty: nothing was created")
rc, out = on_tty([OB, "keygen", "--key", "file:" + k1, "--pin-source", "tty"],
                 [b"same-Passphrase-3", b"same-Passphrase-3"])
check(rc == 0 and os.path.exists(k1), "tty: the same entry twice creates the key")
check(b"ENCRYPTED PRIVATE KEY" in open(k1, "rb").read(), "tty: the key is encrypted")
env = dict(os.environ, PW="same-Passphrase-3")
r = subprocess.run([OB, "enroll", "--key", "file:" + k1, "--owner", "o",
                    "--may-bind", "wimse://td.example/*", "--trust",
                    os.path.join(d, "t.json"), "--pin-source", "env:PW"],
                   capture_output=True, text=True, env=env)
check(r.returncode == 0, "the key opens with that passphrase: " + r.stderr.strip())

# askpass: a program asked once per prompt
ask = os.path.join(d, "ask.sh")
with open(ask, "w") as f:
    f.write('#!/bin/sh\nn=$(cat "%s/n" 2>/dev/null || echo 0)\n'
            'echo $((n + 1)) > "%s/n"\nprintf "pass-%%s\\n" "${ASK_SAME:-$n}"\n' % (d, d))
os.chmod(ask, 0o700)
k2 = os.path.join(d, "k2.pem")
r = subprocess.run([OB, "keygen", "--key", "file:" + k2, "--pin-source",
                    "askpass:" + ask], capture_output=True, text=True)
check(r.returncode == 1 and "differ" in r.stderr and not os.path.exists(k2),
      "askpass: two different answers create nothing")
r = subprocess.run([OB, "keygen", "--key", "file:" + k2, "--pin-source",
                    "askpass:" + ask], capture_output=True, text=True,
                   env=dict(os.environ, ASK_SAME="x"))
check(r.returncode == 0 and os.path.exists(k2), "askpass: the same answer twice creates the key")
# a file or fd source is read once: nothing to confirm
pf = os.path.join(d, "pw")
with open(pf, "w") as f:
    f.write("file-Passphrase\n")
os.chmod(pf, 0o600)
r = subprocess.run([OB, "keygen", "--key", "file:" + os.path.join(d, "k3.pem"),
                    "--pin-source", "file:" + pf], capture_output=True, text=True)
check(r.returncode == 0, "file: read once, the key is created")
print("pin confirm: %d failed" % fails)
sys.exit(1 if fails else 0)
