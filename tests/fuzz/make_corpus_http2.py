#!/usr/bin/env python3
"""Seeds for tests/fuzz/corpus/fuzz_http2 seeds (format: see fuzz_http2.cpp)."""
import struct, os, sys
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_http2")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

def frame(t, flags, sid, payload=b""):
    n = len(payload)
    return bytes([n >> 16 & 255, n >> 8 & 255, n & 255, t, flags]) + struct.pack(">I", sid) + payload

def settings(entries=(), ack=False):
    return frame(4, 1 if ack else 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in entries))

def hint(v, prefix_bits, first):
    mx = (1 << prefix_bits) - 1
    if v < mx: return bytes([first | v])
    b = [first | mx]; v -= mx
    while v >= 128: b.append(v % 128 + 128); v //= 128
    b.append(v); return bytes(b)

def lit(s): return hint(len(s), 7, 0) + s
def idx(i): return hint(i, 7, 0x80)
def new_indexed(name, value): return b"\x40" + lit(name) + lit(value)      # literal, incremental indexing
def name_indexed(i, value): return hint(i, 6, 0x40) + lit(value)
def no_index(i, value): return hint(i, 4, 0x00) + lit(value)
def size_update(n): return hint(n, 5, 0x20)

REQ = (idx(3) + idx(7) + name_indexed(1, b"api.openai.com") + no_index(4, b"/v1/chat/completions")
       + name_indexed(31, b"application/json") + no_index(23, b"Bearer sk-not-a-key"))
REQ_AGAIN = idx(3) + idx(7) + idx(63) + no_index(4, b"/v1/chat/completions") + idx(62) + no_index(23, b"Bearer sk-x")
RESP = idx(8) + name_indexed(31, b"text/event-stream") + new_indexed(b"x-request-id", b"req_1")
BODY = b'{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}'
SSE = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: {"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\ndata: [DONE]\n\n'

def rec(side, data):
    recs = b""
    while True:
        chunk, data = data[:2047], data[2047:]
        n = len(chunk)
        recs += bytes([side | ((n >> 8) << 1), n & 255]) + chunk
        if not data: return recs

def gap(side): return bytes([0xf0 | side])

def seed(name, setup, piece, records):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([setup, piece]) + b"".join(records))

C, S = 0, 1
client = PREFACE + settings([(3, 100), (4, 1 << 20)]) + frame(8, 0, 0, struct.pack(">I", 1 << 24)) \
    + frame(1, 4, 1, REQ) + frame(0, 0, 1, BODY[:30]) + frame(0, 1, 1, BODY[30:]) + settings(ack=True)
server = settings([(3, 128)]) + settings(ack=True) + frame(1, 4, 1, RESP) + frame(0, 0, 1, SSE[:40]) \
    + frame(6, 0, 0, b"12345678") + frame(0, 0, 1, SSE[40:]) + frame(1, 5, 1, new_indexed(b"x-trailer", b"done") + idx(62))
seed("openai_stream", 0x00, 7, [rec(C, client[:50]), rec(S, server[:20]), rec(C, client[50:]), rec(S, server[20:])])

# Two streams, dynamic table reuse, padding, priority, CONTINUATION.
client = PREFACE + settings() + frame(1, 0x20 | 0x8 | 0x1, 1, bytes([3]) + struct.pack(">IB", 0, 15) + REQ[:9] + b"\0\0\0") \
    + frame(9, 0, 1, REQ[9:20]) + frame(9, 4, 1, REQ[20:]) \
    + frame(1, 5, 3, REQ_AGAIN)
server = settings() + frame(1, 4, 3, RESP) + frame(0, 8, 3, bytes([5]) + b"hello" + b"\0" * 5) \
    + frame(1, 4, 1, idx(8) + idx(62)) + frame(0, 8 | 1, 1, bytes([0])) + frame(0, 1, 3, b"")
seed("streams_padding_continuation", 0x00, 3, [rec(C, client), rec(S, server)])

# Header table size: the client allows 8192, the server announces it; push, RST, GOAWAY.
client = PREFACE + settings([(1, 8192)]) + frame(1, 5, 1, REQ) + frame(3, 0, 1, struct.pack(">I", 8))
server = settings([(1, 0)]) + frame(5, 4, 1, struct.pack(">I", 2) + size_update(8192) + new_indexed(b"x-big", b"v" * 5000)) \
    + frame(1, 4, 1, idx(8) + idx(62)) + frame(2, 0, 3, struct.pack(">IB", 1, 16)) \
    + frame(0x42, 0xff, 5, b"ext") + frame(7, 0, 0, struct.pack(">II", 3, 0) + b"bye")
seed("table_size_push_rst_goaway", 0x00, 0x83, [rec(C, client), rec(S, server)])

# Start-up records by the harness, small limits, a gap on the server.
seed("small_limits", 0x31, 1, [rec(C, frame(1, 4, 1, REQ)), rec(S, frame(1, 4, 1, RESP) + frame(0, 0, 1, SSE)),
                               gap(S), rec(S, frame(0, 1, 1, b"x"))])
seed("bad_preface", 0x00, 5, [rec(C, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n")])
seed("frame_errors", 0x30, 2, [rec(C, frame(1, 0, 1, REQ[:4]) + frame(0, 0, 1, b"x"))])
seed("hpack_error", 0x30, 9, [rec(S, frame(1, 4, 1, b"\x82\xbe"))])
