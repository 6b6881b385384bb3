"""Options shared by the test clients (node_client.js takes the same flags).

A client makes one chat completion call (or GET /static/<n> with --static) against the fake provider,
waiting first if asked, and prints the response so the test sees the call succeeded.
"""
import argparse
import json
import os
import sys
import time


def parser(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True, help="CA certificate of the fake provider")
    ap.add_argument("--host", default="api.openai.com", help="resolved to 127.0.0.1")
    ap.add_argument("--model", default="gpt-4o-mini")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--include-usage", action="store_true", help="stream_options.include_usage")
    ap.add_argument("--usage", action="append", default=[],
                    help="x-fake-usage value, e.g. prompt=123,completion=45,cached=7,reasoning=3; "
                         "repeat for several calls")
    ap.add_argument("--gzip", action="store_true", help="ask the fake provider for a gzip body")
    ap.add_argument("--pad", type=int, default=0, help="characters of completion text")
    ap.add_argument("--static", type=int, metavar="N", help="GET /static/N instead of a chat call")
    ap.add_argument("--wait-file", help="wait until this file exists before calling")
    ap.add_argument("--wait-stdin", action="store_true", help="wait for a line on stdin before calling")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to sleep before calling")
    ap.add_argument("--quiet", action="store_true", help="print only the status and body size")
    ap.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                    help="an extra request header (python client only)")
    ap.add_argument("--body-json", help="a JSON object merged into the request body (python client only)")
    return ap


def url(args):
    path = "/static/%d" % args.static if args.static is not None else "/v1/chat/completions"
    return "https://%s:%d%s" % (args.host, args.port, path)


def request_body(args):
    body = {"model": args.model,
            "messages": [{"role": "user", "content": "Say hello (shadowmeter e2e)."}]}
    if getattr(args, "body_json", None):
        body.update(json.loads(args.body_json))
    if args.stream:
        body["stream"] = True
        if args.include_usage:
            body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def request_headers(args, usage):
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-test-fake-key-0000"}
    if usage:
        headers["x-fake-usage"] = usage
    if args.gzip:
        headers["x-fake-gzip"] = "1"
        headers["Accept-Encoding"] = "gzip"
    if args.pad:
        headers["x-fake-pad"] = str(args.pad)
    for h in getattr(args, "header", []):
        name, _, value = h.partition(":")
        headers[name.strip()] = value.strip()
    return headers


def wait_before_call(args):
    """Blocks as asked; by then the TLS library is already loaded (the tests rely on that)."""
    print("READY pid=%d" % os.getpid(), flush=True)
    if args.wait_stdin:
        sys.stdin.readline()
    if args.wait_file:
        while not os.path.exists(args.wait_file):
            time.sleep(0.05)
    if args.delay:
        time.sleep(args.delay)
