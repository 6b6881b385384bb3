#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ (small, realistic inputs).

The generated files are committed; rerun this only to change them. Brotli and zstd come from the
system libraries through ctypes, so nothing beyond python3, libbrotlienc and libzstd is needed.
"""
import ctypes
import ctypes.util
import gzip
import os
import shutil
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def _lib(name, soname):
    path = ctypes.util.find_library(name) or soname
    return ctypes.CDLL(path)


def brotli(data: bytes) -> bytes:
    lib = _lib("brotlienc", "libbrotlienc.so.1")
    out_size = ctypes.c_size_t(len(data) + 1024)
    out = ctypes.create_string_buffer(out_size.value)
    ok = lib.BrotliEncoderCompress(ctypes.c_int(9), ctypes.c_int(22), ctypes.c_int(0), ctypes.c_size_t(len(data)),
                                   data, ctypes.byref(out_size), out)
    assert ok, "brotli"
    return out.raw[: out_size.value]


def zstd(data: bytes) -> bytes:
    lib = _lib("zstd", "libzstd.so.1")
    lib.ZSTD_compressBound.restype = ctypes.c_size_t
    lib.ZSTD_compress.restype = ctypes.c_size_t
    lib.ZSTD_isError.restype = ctypes.c_uint
    bound = lib.ZSTD_compressBound(ctypes.c_size_t(len(data)))
    out = ctypes.create_string_buffer(bound)
    n = lib.ZSTD_compress(out, ctypes.c_size_t(bound), data, ctypes.c_size_t(len(data)), ctypes.c_int(3))
    assert not lib.ZSTD_isError(ctypes.c_size_t(n)), "zstd"
    return out.raw[:n]


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def chunked(data: bytes, piece: int, ext: bytes = b"", trailers: bytes = b"") -> bytes:
    out = b""
    for i in range(0, len(data), piece):
        part = data[i : i + piece]
        out += b"%x%s\r\n%s\r\n" % (len(part), ext, part)
    return out + b"0\r\n" + trailers + b"\r\n"


CHAT_REQ = (b'{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},'
            b'"messages":[{"role":"user","content":"Say hi"}]}')
CHAT_RESP = (b'{"id":"chatcmpl-9","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",'
             b'"choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],'
             b'"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,'
             b'"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}')
ANTHROPIC_RESP = (b'{"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",'
                  b'"content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn",'
                  b'"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":5,'
                  b'"output_tokens":4}}')
SSE_OPENAI = (b'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini",'
              b'"choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n'
              b': keep-alive\n\n'
              b'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],'
              b'"usage":{"prompt_tokens":17,"completion_tokens":29,"total_tokens":46}}\n\n'
              b'data: [DONE]\n\n')
SSE_ANTHROPIC = (b'event: message_start\r\ndata: {"type":"message_start","message":{"usage":{"input_tokens":25,'
                 b'"output_tokens":1}}}\r\n\r\n'
                 b'event: content_block_delta\r\ndata: {"type":"content_block_delta","delta":{"text":"Hi"}}\r\n\r\n'
                 b'event: message_delta\r\ndata: {"type":"message_delta","usage":{"output_tokens":15}}\r\n\r\n'
                 b'event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n')


def request(method: bytes, target: bytes, body: bytes = b"", extra: bytes = b"") -> bytes:
    head = b"%s %s HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer sk-test\r\n%s" % (method, target, extra)
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


def response(status: int, body: bytes, extra: bytes = b"", reason: bytes = b"OK") -> bytes:
    return (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
            % (status, reason, extra, len(body)) + body)


# HTTP/1 harness prefix: limits byte, plan byte (low 4 bits: plan length), plan.
GENEROUS = 0x3F
PLANS = [b"", b"\x00", b"\x03\x3f\xf4\x10", b"\x81\x00\x07"]


def http_seed(stream: bytes, variant: int, limits: int = GENEROUS) -> bytes:
    plan = PLANS[variant % len(PLANS)]
    return bytes([limits, len(plan)]) + plan + stream


def write(target: str, name: str, data: bytes) -> None:
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main() -> None:
    # Only the targets generated here: fuzz_http2 and fuzz_eventstream have their own scripts.
    for t in ("fuzz_http1_request", "fuzz_http1_response", "fuzz_chunked", "fuzz_sse", "fuzz_decompress"):
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)

    requests = {
        "openai_chat": request(b"POST", b"/v1/chat/completions", CHAT_REQ, b"Content-Type: application/json\r\n")
        + request(b"GET", b"/v1/models"),
        "chunked_trailers": b"POST /v1/embeddings HTTP/1.1\r\nHost: api.openai.com\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(CHAT_REQ, 40, b";n=v", b"X-Checksum: abc\r\n"),
        "anthropic": request(b"POST", b"/v1/messages", b'{"model":"claude-3-5-sonnet","max_tokens":64}',
                             b"x-api-key: sk-ant\r\nanthropic-version: 2023-06-01\r\n"),
        "malformed_then_valid": b"POST /a HTTP/1.1\r\n folded: x\r\n\r\n{}" + request(b"POST", b"/v1/x", b"{}"),
        "connect": b"CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n\x16\x03\x01\x00",
        "bare_lf_gzip": b"POST /v1/chat/completions HTTP/1.1\nHost: x\nContent-Encoding: gzip\nContent-Length: %d\n\n"
        % len(gz(CHAT_REQ)) + gz(CHAT_REQ),
    }
    for i, (name, stream) in enumerate(requests.items()):
        write("fuzz_http1_request", name, http_seed(stream, i))
    write("fuzz_http1_request", "tiny_limits", http_seed(requests["openai_chat"], 1, 0x00))

    sse_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    responses = {
        "continue_then_json": b"HTTP/1.1 100 Continue\r\n\r\n" + response(200, CHAT_RESP),
        "sse_chunked": sse_head + chunked(SSE_OPENAI, 37),
        "gzip_length": response(200, gz(CHAT_RESP), b"Content-Encoding: gzip\r\n"),
        "br_chunked": b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(brotli(ANTHROPIC_RESP), 50),
        "zstd_and_deflate": response(200, zstd(CHAT_RESP), b"Content-Encoding: zstd\r\n")
        + response(200, raw_deflate(CHAT_RESP), b"Content-Encoding: deflate\r\n"),
        "no_body_then_close": b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"
        + b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + ANTHROPIC_RESP,
        "upgrade": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        "error_429": response(429, b'{"error":{"type":"rate_limit_error"}}', b"Retry-After: 1\r\n", b"Too Many Requests"),
        "gzip_bomb": response(200, gz(b"\0" * (1 << 20)), b"Content-Encoding: gzip\r\n"),
    }
    for i, (name, stream) in enumerate(responses.items()):
        write("fuzz_http1_response", name, http_seed(stream, i))
    write("fuzz_http1_response", "tiny_limits", http_seed(responses["sse_chunked"], 2, 0x00))

    write("fuzz_chunked", "sse", b"\x05" + chunked(SSE_OPENAI, 64))
    write("fuzz_chunked", "extensions_trailers", b"\x00" + chunked(CHAT_RESP, 100, b';name="v"', b"Trailer-A: 1\r\n"))
    write("fuzz_chunked", "bare_lf", b"\x80" + b"4\nWiki\n5\npedia\n0\n\n")
    write("fuzz_chunked", "uppercase_hex", b"\x02" + b"1A\r\n" + b"x" * 26 + b"\r\n0\r\n\r\nGET / HTTP/1.1\r\n")

    write("fuzz_sse", "openai_usage", b"\x07\x03" + SSE_OPENAI)
    write("fuzz_sse", "anthropic_crlf", b"\x00\x03" + SSE_ANTHROPIC)
    write("fuzz_sse", "bom_cr_multiline", b"\x02\x01" + b"\xef\xbb\xbfid: 1\revent: e\rdata: a\rdata: b\r\rretry: 5\r\n\r\n")
    write("fuzz_sse", "gap_marker", b"\x10\x02" + SSE_OPENAI[:60] + b"\xff" + SSE_OPENAI[60:])
    write("fuzz_sse", "oversize", b"\x20\x00" + b"data: " + b"x" * 40 + b"\n\ndata: ok\n\n")

    blobs = {
        "gzip_json": (0, gz(CHAT_RESP)),
        "deflate_zlib": (1, zlib.compress(CHAT_RESP, 9)),
        "deflate_raw": (1, raw_deflate(ANTHROPIC_RESP)),
        "br_json": (2, brotli(CHAT_RESP)),
        "zstd_json": (3, zstd(ANTHROPIC_RESP)),
        "gzip_bomb": (0, gz(b"\0" * (4 << 20))),
        "br_bomb": (2, brotli(b"\0" * (4 << 20))),
        "zstd_bomb": (3, zstd(b"\0" * (4 << 20))),
        "gzip_two_members": (0, gz(b"first ") + gz(b"second")),
    }
    for i, (name, (coding, blob)) in enumerate(blobs.items()):
        write("fuzz_decompress", name, bytes([coding, [0, 3, 0x81, 0x10][i % 4]]) + blob)


if __name__ == "__main__":
    main()
