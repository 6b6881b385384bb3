#!/usr/bin/env python3
"""Python urllib client (the ssl module: SSL_write_ex / SSL_read_ex).

Resolves the fake hosts to 127.0.0.1 by patching socket.getaddrinfo. Prints a LIBSSL line (the libssl
file this process mapped, with its inode) and then one JSON line per call. Several --usage values make
several calls, each on its own connection, one after the other or at once with --parallel.
"""
import gzip
import json
import socket
import sys
import threading
import time

import common  # ssl and urllib.request are imported in main(), so --import-delay can put off libssl

FAKE_HOSTS = ("api.openai.com", "static.example.test")
_getaddrinfo = socket.getaddrinfo


def _fake_getaddrinfo(host, *rest, **kw):
    return _getaddrinfo("127.0.0.1" if host in FAKE_HOSTS else host, *rest, **kw)


def mapped_libssl():
    """(device, inode, path) of the libssl mapped into this process, as /proc/self/maps says."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and "/libssl" in parts[5]:
                return parts[3], int(parts[4]), parts[5]
    return None


def call(args, ctx, usage):
    import urllib.error
    import urllib.request
    method = "GET" if args.static is not None else "POST"
    data = None if args.static is not None else common.request_body(args)
    req = urllib.request.Request(common.url(args), data=data, method=method,
                                 headers={} if data is None else common.request_headers(args, usage))
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            status, raw, enc = resp.status, resp.read(), resp.headers.get("Content-Encoding")
    except urllib.error.HTTPError as e:
        status, raw, enc = e.code, e.read(), e.headers.get("Content-Encoding")
    body = gzip.decompress(raw) if enc == "gzip" else raw
    out = {"status": status, "usage": usage, "wire_bytes": len(raw), "body_bytes": len(body)}
    if not args.quiet:
        out["body"] = body.decode(errors="replace")
    return out


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--parallel", action="store_true", help="make the calls at the same time")
    ap.add_argument("--import-delay", type=float, default=0.0,
                    help="seconds to wait after start before importing ssl (loading libssl)")
    args = ap.parse_args()
    socket.getaddrinfo = _fake_getaddrinfo
    if mapped_libssl():
        sys.exit("libssl is mapped before importing ssl")
    time.sleep(args.import_delay)
    import ssl
    import urllib.request  # noqa: F401
    ctx = ssl.create_default_context(cafile=args.ca)
    print("LIBSSL %s %d %s" % mapped_libssl(), flush=True)
    common.wait_before_call(args)
    results, lock = [], threading.Lock()

    def run(usage):
        try:
            r = call(args, ctx, usage)
        except Exception as e:  # reported, and the exit status says so
            r = {"status": 0, "usage": usage, "error": repr(e)}
        with lock:
            results.append(r)
            print(json.dumps(r), flush=True)

    usages = args.usage or [None]
    if args.parallel:
        threads = [threading.Thread(target=run, args=(u,)) for u in usages]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for u in usages:
            run(u)
    sys.exit(0 if all(200 <= r["status"] < 300 for r in results) else 1)


if __name__ == "__main__":
    main()
