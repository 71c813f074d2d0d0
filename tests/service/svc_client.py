#!/usr/bin/python3
"""Clients curl cannot be for tests/service/test_service.sh.

  svc_client.py raw PORT DIR HEX         send bytes (hex) over mTLS, print the status line
  svc_client.py slowloris PORT DIR SECS  headers a byte every 0.5 s; print seconds until cut
  svc_client.py stall PORT DIR SECS      send the ClientHello, never the rest of the
                                         handshake; print seconds until cut and the
                                         bytes the server sent
  svc_client.py abandon PORT DIR         start /work?ms=800 and close at once
  svc_client.py conns PORT DIR N         hold N idle TLS connections, try one more
  svc_client.py notify PATH OUT SECS     receive sd_notify datagrams into OUT
  svc_client.py silent PORTFILE SECS     accept TCP and never answer
  svc_client.py freeport                 print a port nothing listens on
  svc_client.py behind PORT DIR N PID SECS
                                         N connections accepted, PID stopped, N
                                         ClientHellos sent, SECS slept, PID
                                         continued: print how many got answers
All connections go to 127.0.0.1 with DIR/proxy.pem as the client certificate.
"""
import socket, ssl, sys, time


def tls(port, d, cert="proxy"):
    ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")
    ctx.check_hostname = False
    ctx.load_cert_chain(f"{d}/{cert}.pem", f"{d}/{cert}.key")
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    return ctx.wrap_socket(s, server_hostname="localhost")


def read_all(s):
    out = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
    except (ssl.SSLError, OSError):
        pass
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "raw":
        s = tls(int(sys.argv[2]), sys.argv[3])
        s.sendall(bytes.fromhex(sys.argv[4]))
        out = read_all(s)
        print(out.split(b"\r\n", 1)[0].decode("latin-1") if out else "CLOSED")
    elif cmd == "slowloris":
        s = tls(int(sys.argv[2]), sys.argv[3])
        s.settimeout(1)
        req = b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
        t0 = time.monotonic()
        limit = float(sys.argv[4])
        for c in req:
            if time.monotonic() - t0 > limit:
                print("NOT CUT")
                return 1
            try:
                s.sendall(bytes([c]))
                b = s.recv(1)
                if b == b"":
                    break
            except socket.timeout:
                pass
            except (ssl.SSLError, OSError):
                break
            time.sleep(0.5)
        print(f"{time.monotonic() - t0:.1f}")
    elif cmd == "stall":
        # The ClientHello comes from an SSL object over memory BIOs that is
        # never given the server's answer, so the handshake stays on the
        # client's turn.  (One non-blocking do_handshake on the socket
        # finished the client's side whenever the server's flight was
        # already there when it read: the server preempted it on its
        # wakeup; then the deadline cut an idle connection, not a
        # handshake.)
        ctx = ssl.create_default_context(cafile=f"{sys.argv[3]}/ca.pem")
        ctx.check_hostname = False
        ctx.load_cert_chain(f"{sys.argv[3]}/proxy.pem", f"{sys.argv[3]}/proxy.key")
        inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
        o = ctx.wrap_bio(inb, outb, server_hostname="localhost")
        try:
            o.do_handshake()
        except ssl.SSLWantReadError:
            pass
        r = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=20)
        r.settimeout(1)
        t0 = time.monotonic()
        r.sendall(outb.read())
        # Read the server's flight, then its close.
        got = 0
        while time.monotonic() - t0 < float(sys.argv[4]):
            try:
                b = r.recv(4096)
                if b == b"":
                    print(f"{time.monotonic() - t0:.1f} flight={got}")
                    return 0
                got += len(b)
            except socket.timeout:
                pass
            except OSError as e:
                print(f"{time.monotonic() - t0:.1f} flight={got} {e}")
                return 0
        print("NOT CUT")
        return 1
    elif cmd == "abandon":
        s = tls(int(sys.argv[2]), sys.argv[3])
        s.sendall(b"POST /work?ms=800 HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        time.sleep(0.1)
        s.close()
        print("closed")
    elif cmd == "conns":
        n = int(sys.argv[4])
        held = [tls(int(sys.argv[2]), sys.argv[3]) for _ in range(n)]
        try:
            extra = tls(int(sys.argv[2]), sys.argv[3])
            # TLS 1.3: the refusal may only show on the first read.
            extra.sendall(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n")
            out = read_all(extra)
            print("REFUSED" if not out.startswith(b"HTTP/1.1 200") else "ACCEPTED")
        except (ssl.SSLError, OSError):
            print("REFUSED")
        for s in held:
            s.close()
    elif cmd == "behind":
        # The daemon is behind, not the clients: every request is sent
        # while it is stopped, past its deadline; after SIGCONT more
        # connections are ready than one epoll_wait returns.
        import os, signal
        port, d, n, pid = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        ctx = ssl.create_default_context(cafile=f"{d}/ca.pem")
        ctx.check_hostname = False
        ctx.load_cert_chain(f"{d}/proxy.pem", f"{d}/proxy.key")
        raw = [socket.create_connection(("127.0.0.1", port), timeout=30)
               for _ in range(n)]
        time.sleep(1.0)             # all accepted, their deadlines armed
        os.kill(pid, signal.SIGSTOP)
        conns = []
        try:
            for r in raw:
                r.setblocking(False)
                s = ctx.wrap_socket(r, server_hostname="localhost",
                                    do_handshake_on_connect=False)
                try:
                    s.do_handshake()        # sends the ClientHello
                except ssl.SSLWantReadError:
                    pass
                conns.append(s)
            time.sleep(float(sys.argv[6]))
        finally:
            os.kill(pid, signal.SIGCONT)
        answered = 0
        for s in conns:
            s.settimeout(30)
            try:
                s.do_handshake()
                s.sendall(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n"
                          b"Connection: close\r\n\r\n")
                if read_all(s).startswith(b"HTTP/1.1 200"):
                    answered += 1
            except (ssl.SSLError, OSError) as e:
                print(f"connection: {e}", file=sys.stderr)
            s.close()
        print(f"answered {answered} of {n}")
    elif cmd == "notify":
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        u.bind(sys.argv[2])
        u.settimeout(float(sys.argv[4]))
        with open(sys.argv[3], "a") as f:
            try:
                while True:
                    m = u.recv(4096).decode()
                    f.write(m.replace("\n", " ") + "\n")
                    f.flush()
                    if m.startswith("STOPPING=1"):
                        break
            except socket.timeout:
                pass
    elif cmd == "silent":
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(8)
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(f"{ls.getsockname()[1]}\n")
        import os
        os.rename(sys.argv[2] + ".tmp", sys.argv[2])
        ls.settimeout(float(sys.argv[3]))
        held = []
        try:
            while True:
                held.append(ls.accept()[0])
        except socket.timeout:
            pass
    elif cmd == "freeport":
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        print(ls.getsockname()[1])
        ls.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
