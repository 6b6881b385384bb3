#!/usr/bin/env python3
"""Fake DNS server (UDP) for the connection-level tests: every A question for a name in --name gets
a CNAME to edge.fake-cdn.test and an A record with --address (compression pointers as real servers
write them); other questions get an empty NOERROR answer."""
import argparse
import os
import socket
import struct
import sys


def qname(msg, pos):
    labels = []
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode().lower())
        pos += 1 + n
    return ".".join(labels), pos + 1


def encode(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def answer(msg, names, address):
    qid, _flags, qd = struct.unpack("!HHH", msg[:6])
    name, end = qname(msg, 12)
    qtype, = struct.unpack("!H", msg[end:end + 2])
    question = msg[12:end + 4]
    records = b""
    count = 0
    if qd == 1 and qtype == 1 and name in names:
        target = encode("edge.fake-cdn.test")
        # CNAME owned by the question name (pointer to offset 12), then A owned by the CNAME target.
        records += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, len(target)) + target
        target_off = 12 + len(question) + 12
        records += struct.pack("!H", 0xc000 | target_off) + struct.pack("!HHIH", 1, 1, 300, 4) + \
            socket.inet_aton(address)
        count = 2
    return struct.pack("!HHHHHH", qid, 0x8180, 1, count, 0, 0) + question + records


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", default="127.0.0.77")
    ap.add_argument("--name", action="append", required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--ready-file", required=True)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.listen, 53))
    with open(args.ready_file, "w") as f:
        f.write("ready")
    names = {n.lower() for n in args.name}
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            sock.sendto(answer(msg, names, args.address), peer)
        except (IndexError, struct.error, UnicodeDecodeError) as e:
            sys.stderr.write("fakedns: bad query from %s: %s\n" % (peer, e))


if __name__ == "__main__":
    main()
