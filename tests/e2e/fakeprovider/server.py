#!/usr/bin/env python3
"""Fake AI provider on loopback TLS: OpenAI chat completions (plain, gzip, streamed) and non-AI /static/<n>.

  server.py --cert-dir DIR [--port 0] [--port-file FILE]

Test-only request headers steer the answer so tests can assert exact numbers:
  x-fake-usage: prompt=123,completion=45,cached=7,reasoning=3
  x-fake-gzip: 1        gzip the body (only if Accept-Encoding allows gzip; not for streams)
  x-fake-pad: 200000    that many characters of completion text, placed before the usage
  x-fake-status: 429    answer with an OpenAI-style error and this status
"""
import argparse
import base64
import gzip
import http.server
import json
import os
import re
import secrets
import socket
import socketserver
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import certs  # noqa: E402

DEFAULT_USAGE = {"prompt": 11, "completion": 7, "cached": 0, "reasoning": 0}
MODEL_VERSIONS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "o3-mini": "o3-mini-2025-01-31",
}
FINGERPRINT = "fp_0123456789"


def response_model(model):
    if model in MODEL_VERSIONS:
        return MODEL_VERSIONS[model]
    return model if re.search(r"-\d{4}-\d{2}-\d{2}$", model) else model + "-2025-01-01"


def parse_usage(header):
    usage = dict(DEFAULT_USAGE)
    for part in filter(None, (header or "").split(",")):
        k, _, v = part.partition("=")
        usage[k.strip()] = int(v)
    return usage


def usage_object(u):
    return {
        "prompt_tokens": u["prompt"],
        "completion_tokens": u["completion"],
        "total_tokens": u["prompt"] + u["completion"],
        "prompt_tokens_details": {"cached_tokens": u["cached"], "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u["reasoning"], "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def completion_text(pad):
    # Random letters, so a gzip body stays about as large as the padding asks for.
    filler = base64.b64encode(os.urandom(pad * 3 // 4 + 3)).decode()[:max(0, pad)]
    return "Hello from the fake provider." + filler


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeprovider/1"
    timeout = 30

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fakeprovider: " + (fmt % args) + "\n")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_body(self, status, body, content_type, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        m = re.fullmatch(r"/static/(\d+)(\?.*)?", self.path)
        if not m:
            return self.send_body(404, b"not found\n", "text/plain")
        self.send_body(200, b"s" * int(m.group(1)), "application/octet-stream")

    def do_POST(self):
        body = self.read_body()
        if self.path.split("?")[0] != "/v1/chat/completions":
            return self.send_body(404, b'{"error":{"message":"unknown path"}}', "application/json")
        try:
            req = json.loads(body or b"{}")
            usage = parse_usage(self.headers.get("x-fake-usage"))
        except ValueError as e:
            return self.send_body(400, json.dumps({"error": {"message": str(e)}}).encode(),
                                  "application/json")
        status = int(self.headers.get("x-fake-status") or 200)
        if status != 200:
            err = {"error": {"message": "fake error", "type": "requests", "param": None,
                             "code": "rate_limit_exceeded" if status == 429 else None}}
            return self.send_body(status, json.dumps(err).encode(), "application/json")
        model = req.get("model", "gpt-4o-mini")
        pad = int(self.headers.get("x-fake-pad") or 0)
        ids = {"id": "chatcmpl-" + secrets.token_hex(12), "created": int(time.time()),
               "model": response_model(model), "system_fingerprint": FINGERPRINT}
        if req.get("stream"):
            include = bool((req.get("stream_options") or {}).get("include_usage"))
            return self.stream(ids, usage if include else None, pad)
        out = {"id": ids["id"], "object": "chat.completion", "created": ids["created"],
               "model": ids["model"],
               "choices": [{"index": 0, "message": {"role": "assistant",
                                                    "content": completion_text(pad),
                                                    "refusal": None, "annotations": []},
                            "logprobs": None, "finish_reason": "stop"}],
               "usage": usage_object(usage), "service_tier": "default",
               "system_fingerprint": FINGERPRINT}
        data = json.dumps(out, indent=2).encode()  # OpenAI pretty-prints non-streamed bodies
        extra = [("x-request-id", "req_" + secrets.token_hex(8)), ("openai-processing-ms", "12")]
        if (self.headers.get("x-fake-gzip") == "1"
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            data = gzip.compress(data)
            extra.append(("Content-Encoding", "gzip"))
        self.send_body(200, data, "application/json", extra)

    def stream(self, ids, usage, pad):
        """SSE as OpenAI sends it; with include_usage every chunk carries "usage": null and a
        final chunk with empty choices carries the usage."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def chunk(choices, usage_value):
            obj = {"id": ids["id"], "object": "chat.completion.chunk", "created": ids["created"],
                   "model": ids["model"], "system_fingerprint": ids["system_fingerprint"],
                   "choices": choices}
            if usage is not None:
                obj["usage"] = usage_value
            return obj

        def delta(d, finish=None):
            return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

        text = completion_text(pad)
        pieces = [text[i:i + 8192] for i in range(0, len(text), 8192)] or [""]
        events = [chunk(delta({"role": "assistant", "content": "", "refusal": None}), None)]
        events += [chunk(delta({"content": p}), None) for p in pieces]
        events.append(chunk(delta({}, "stop"), None))
        if usage is not None:
            events.append(chunk([], usage_object(usage)))
        for ev in events:
            self.write_chunk(b"data: " + json.dumps(ev, separators=(",", ":")).encode() + b"\n\n")
            time.sleep(0.002)  # separate TLS records, as a real stream has
        self.write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, context, verbose):
        self.context, self.verbose = context, verbose
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake runs in the handler thread so a slow client cannot stall accept().
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request.do_handshake()
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def make_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cert-dir", required=True, help="where to find or create ca.pem, server.pem")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the listening port here once ready")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    _, cert, key = certs.ensure_certs(args.cert_dir)
    server = Server(("127.0.0.1", args.port), make_context(cert, key), args.verbose)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    print("PORT", port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
