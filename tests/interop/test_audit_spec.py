#!/usr/bin/python3
"""docs/audit.md, read by someone who did not write server/audit.c.

Checks the test vector in the document against the document's own rules
(genesis, per-line hash, prev, seq, members), so that the spec and the
record the server writes (tests/unit/test_audit.c verifies the same
vector with the C checker) cannot drift apart unnoticed.
"""
import base64
import hashlib
import json
import re
import sys


def b64(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(
        b"=").decode()


def main(path):
    doc = open(path, encoding="utf-8").read()
    genesis = re.search(r"SHA-256 of the 28 ASCII\s+bytes `([^`]+)`", doc)
    assert genesis and len(genesis.group(1)) == 28, "genesis string"
    gen_hash = re.search(r"`ownerbind issuance record v1`:\s+`([^`]+)`", doc)
    assert gen_hash.group(1) == b64(genesis.group(1).encode()), "genesis"
    block = re.search(r"## Example \(test vector\).*?```\n(.*?)```", doc,
                      re.S).group(1)
    lines = block.encode().split(b"\n")[:-1]
    assert len(lines) == 2, "two lines in the vector"
    members = re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)*", doc, re.M)
    prev = gen_hash.group(1)
    for n, line in enumerate(lines, 1):
        assert len(line) + 1 <= 32768
        cut = line.rindex(b',"hash":"')
        body, tail = line[:cut], line[cut:]
        assert tail == b',"hash":"' + b64(body).encode() + b'"}', n
        obj = json.loads(line)
        assert list(obj)[-1] == "hash"
        assert obj["seq"] == n, n
        assert obj["prev"] == prev, n
        assert obj["decision"] in ("accepted", "rejected")
        assert isinstance(obj["ts"], str)
        prev = b64(line)
    assert ("buiCg2X7cB1GBVe5fbfKOpOdJGPRS27WJePbQXBHw5k" in doc and
            b64(lines[0]) == "buiCg2X7cB1GBVe5fbfKOpOdJGPRS27WJePbQXBHw5k")
    print("docs/audit.md: vector follows the spec")


if __name__ == "__main__":
    main(sys.argv[1])
