"""The notifier's queue bounds (decisions 161, 163), driven directly: the
real ownerbind-notifier on one end of a SOCK_SEQPACKET pair, as the server
starts it, with the server's configuration plus four more proxies whose
callbacks hang (tests/server/callback_receiver.py's /hang).  One client's
pile of pings is cut at its share of the queue (64) while another client's
ping still goes out; four clients' piles fill the whole queue (256), and
then every further message is answered "dropped" at once.  Prints one
"ok ..." or "FAIL ..." line per check; exits 1 on any FAIL.
Usage: notifier_queue.py NOTIFIER SERVER_CONFIG HANG_URL CA"""
import json
import os
import socket
import subprocess
import sys
import time

NOTIFIER, CONFIG, HANG_URL, CA = sys.argv[1:5]
SHARE, QUEUE = 64, 256
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        fails += 1


c = json.load(open(CONFIG))
fast = c["clients"][0]["id"]            # its callback answers at once
hangs = ["proxy-hang"] + ["hang%d" % i for i in range(2, 6)]
for h in hangs[1:]:
    c["clients"].append({"id": h, "role": "proxy",
                         "san_uri": "spiffe://test.example/proxy/" + h,
                         "callback": {"url": HANG_URL, "ca": CA}})
cfg = os.path.join(os.path.dirname(CONFIG), "notifier.json")
json.dump(c, open(cfg, "w"))

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen(["sh", "-c", 'exec "$0" --config "$1" 3<&%d' % b.fileno(),
                      NOTIFIER, cfg], pass_fds=(b.fileno(),))
b.close()
seq = 0


def send(client, n):
    global seq
    for _ in range(n):
        seq += 1
        a.send(json.dumps({"client": client, "handle": "h%05d" % seq,
                           "status": "issued", "token": "t"}).encode())


def answers(within):
    """Every answer that arrives within `within` seconds of quiet."""
    got = []
    a.settimeout(within)
    try:
        while True:
            got.append(json.loads(a.recv(65536)))
    except socket.timeout:
        pass
    return got


def dropped(got, client, why):
    return [g for g in got if g["client"] == client and not g["ok"] and
            g["tries"] == 0 and why in g["why"]]


# 1. One client's pile: two in progress, 64 waiting, the rest dropped.
send("proxy-hang", 2)
time.sleep(0.5)                 # both taken by workers (they hang)
send("proxy-hang", SHARE + 5)
got = answers(1.0)
share = dropped(got, "proxy-hang", "the client's share of the notifier's queue is full")
check(len(share) == 5 and len(got) == 5,
      "one client's 71 hanging pings: 2 in progress, 64 wait, 5 dropped at once for its share "
      "(%d answers, %d for the share)" % (len(got), len(share)))

# 2. Another client's ping is not behind that pile.
send(fast, 1)
got = answers(3.0)
ok = [g for g in got if g["client"] == fast and g["ok"]]
check(len(ok) == 1 and len(got) == 1,
      "another client's ping is delivered while the pile waits")

# 3. Four clients' piles fill the queue: then everything is dropped.  The
# two free workers take two of the second client's first (they hang too),
# so that no worker takes from the queue while it fills.
send(hangs[1], 2)
time.sleep(0.5)
for h in hangs[1:4]:
    send(h, SHARE)
send(hangs[4], 8)
got = answers(1.0)
full = dropped(got, hangs[4], "the notifier's queue is full")
check(len(full) == 8 and len(got) == 8,
      "four piles of 64 fill the queue of 256: the fifth client's 8 dropped at once "
      "(%d of %d answers)" % (len(full), len(got)))
send(fast, 1)
got = answers(1.0)
check(len(dropped(got, fast, "the notifier's queue is full")) == 1,
      "then another client's ping is dropped at once too, as queue-full")

# 4. The server's end closed: the notifier ends, hanging pings or not.
a.close()
try:
    rc = p.wait(timeout=5)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "still running"
check(rc == 0, "the notifier ends when the pair is closed (exit %s)" % rc)
sys.exit(1 if fails else 0)
