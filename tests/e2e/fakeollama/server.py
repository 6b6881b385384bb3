#!/usr/bin/env python3
"""Fake Ollama over plain HTTP/1.1 on loopback: native /api/chat and /api/generate, streamed (NDJSON,
the default) or not ("stream": false), with the usage counts the request asks for.

The request body may carry "shadowmeter_usage": {"prompt": P, "completion": C}; the final object
then reports prompt_eval_count P and eval_count C. Anything else answers 404.
"""
import argparse
import http.server
import json
import os
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fakeollama: " + (fmt % args) + "\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            req = {}
        if self.path not in ("/api/chat", "/api/generate"):
            self._send(404, "application/json", b'{"error":"not found"}')
            return
        usage = req.get("shadowmeter_usage") or {}
        prompt, completion = int(usage.get("prompt", 26)), int(usage.get("completion", 9))
        model = req.get("model", "llama3.2")
        words = ["Hello", " from", " the", " fake", " Ollama", "."]
        chat = self.path == "/api/chat"

        def piece(text, done):
            obj = {"model": model, "created_at": "2026-11-23T12:00:00Z", "done": done}
            if chat:
                obj["message"] = {"role": "assistant", "content": text}
            else:
                obj["response"] = text
            if done:
                obj.update({"done_reason": "stop", "total_duration": 1234567, "load_duration": 1000,
                            "prompt_eval_count": prompt, "prompt_eval_duration": 1000,
                            "eval_count": completion, "eval_duration": 2000})
            return obj

        if req.get("stream", True):
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, w in enumerate(words + [""]):
                line = json.dumps(piece(w, i == len(words))).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(200, "application/json", json.dumps(piece("".join(words), True)).encode())

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
