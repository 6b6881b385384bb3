#!/usr/bin/env python3
"""Steady load for the delivery tests: chat completion calls one after another on a keep-alive
connection (re-made when it breaks), until --count calls were made or --stop-file exists.

Every call is a real TLS exchange the agent captures (Python's ssl module: libssl). Prints a READY
line, then at the end one JSON line {"calls": N, "errors": M}.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import sys
import time

BODY = json.dumps({"model": "gpt-4o-mini",
                   "messages": [{"role": "user", "content": "Say hello (shadowmeter e2e)."}]}).encode()
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-test-fake-key-0000",
           "Host": "api.openai.com", "x-fake-usage": "prompt=11,completion=7,cached=0,reasoning=0"}


class Connection(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 while verifying the certificate for api.openai.com."""

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname="api.openai.com")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--count", type=int, default=0, help="stop after N calls (0: until --stop-file)")
    ap.add_argument("--stop-file")
    ap.add_argument("--interval", type=float, default=0.02, help="seconds between calls")
    args = ap.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca)
    print("READY pid=%d" % os.getpid(), flush=True)
    conn, calls, errors = None, 0, 0
    while True:
        if args.count and calls + errors >= args.count:
            break
        if args.stop_file and os.path.exists(args.stop_file):
            break
        try:
            if conn is None:
                conn = Connection("api.openai.com", args.port, context=ctx, timeout=10)
            conn.request("POST", "/v1/chat/completions", body=BODY, headers=HEADERS)
            resp = conn.getresponse()
            resp.read()
            calls += 1 if resp.status == 200 else 0
            errors += 0 if resp.status == 200 else 1
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(args.interval)
    if conn is not None:
        conn.close()
    print(json.dumps({"calls": calls, "errors": errors}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
