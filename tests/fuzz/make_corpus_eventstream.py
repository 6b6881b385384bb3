#!/usr/bin/env python3
"""Seeds for tests/fuzz/corpus/fuzz_eventstream (format: see fuzz_eventstream.cpp). Rerun only to change them."""
import base64, json, os, struct, zlib
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_eventstream")

def hdr_str(name, value, t=7):
    n = name.encode(); v = value.encode() if isinstance(value, str) else value
    return bytes([len(n)]) + n + bytes([t]) + struct.pack(">H", len(v)) + v

def hdr(name, t, raw=b""):
    n = name.encode()
    return bytes([len(n)]) + n + bytes([t]) + raw

def msg(headers, payload, bad_crc=False):
    p = payload.encode() if isinstance(payload, str) else payload
    pre = struct.pack(">II", 16 + len(headers) + len(p), len(headers))
    pre += struct.pack(">I", zlib.crc32(pre))
    m = pre + headers + p
    c = zlib.crc32(m) ^ (1 if bad_crc else 0)
    return m + struct.pack(">I", c)

def event(etype, payload, bad_crc=False):
    return msg(hdr_str(":event-type", etype) + hdr_str(":content-type", "application/json") +
               hdr_str(":message-type", "event"), payload, bad_crc)

def exception(etype, payload):
    return msg(hdr_str(":exception-type", etype) + hdr_str(":content-type", "application/json") +
               hdr_str(":message-type", "exception"), payload)

def chunk(obj):
    b = base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode()
    return event("chunk", json.dumps({"bytes": b}, separators=(",", ":")))

converse = (event("messageStart", '{"p":"abcd","role":"assistant"}') +
            event("contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghij"}') +
            event("contentBlockStop", '{"contentBlockIndex":0,"p":"ab"}') +
            event("messageStop", '{"p":"abcdef","stopReason":"end_turn"}') +
            event("metadata", '{"metrics":{"latencyMs":412},"p":"abc","usage":{"inputTokens":25,"outputTokens":9,"totalTokens":34}}'))
invoke = (chunk({"type": "message_start", "message": {"id": "msg_bdrk_01", "model": "claude-3-5-sonnet-20240620",
                                                      "usage": {"input_tokens": 20, "output_tokens": 1}}}) +
          chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}) +
          chunk({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}) +
          chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 20, "outputTokenCount": 7,
                                                                              "invocationLatency": 500, "firstByteLatency": 300}}))
all_types = msg(hdr(":t", 0) + hdr(":f", 1) + hdr("b", 2, b"\xfe") + hdr("s", 3, b"\xfe\xd4") +
                hdr("i", 4, struct.pack(">i", -70000)) + hdr("l", 5, struct.pack(">q", -5000000000)) +
                hdr_str("raw", b"\x00\xff", 6) + hdr_str(":event-type", "chunk") +
                hdr("ts", 8, struct.pack(">q", 1700000000123)) + hdr("id", 9, bytes(range(16))), "{}")
seeds = {
    "converse_stream": (0x07, 0x0B, converse),
    "invoke_stream_claude": (0x02, 0x1B, invoke),
    "exception": (0x00, 0x0B, event("messageStart", '{"role":"assistant"}') +
                  exception("throttlingException", '{"message":"Too many tokens, please wait before trying again."}')),
    "bad_message_crc": (0x05, 0x0B, event("messageStart", '{"role":"assistant"}') +
                        event("contentBlockDelta", '{"delta":{"text":"x"}}', bad_crc=True) + converse),
    "all_header_types": (0x00, 0x1A, all_types + msg(b"", "") + all_types),
    "truncated": (0x03, 0x0B, converse[: len(converse) - 20]),
    "too_long_small_limit": (0x81, 0x10, event("contentBlockDelta", '{"delta":{"text":"' + "x" * 80 + '"}}')),
    "header_limit": (0x01, 0x10, all_types),
}
os.makedirs(OUT, exist_ok=True)
for name, (piece, mode, stream) in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([piece, mode]) + stream)
