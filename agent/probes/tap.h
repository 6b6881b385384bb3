// A tap is the set of probes on one TLS library's API that turns its calls into plaintext records.
// Every tap yields the same records, so capture, protocols and providers never know which one read
// the bytes:
//   - SM_EV_DATA (bpf/shadowmeter.h): one returned read/write call, split in SM_CHUNK_BYTES chunks;
//     `ssl` is the library's connection object in the process (OpenSSL's SSL*, Go's *tls.Conn),
//     `conn_id` the kernel's id for it, `stream_offset` per direction (gaps are visible), `fd` the
//     socket learnt from the nested read/write syscall made inside the call, `tap` its enum sm_tap;
//   - SM_EV_CONN_END when the connection ends: the library's own end (SSL_free, SSL_shutdown) or
//     close() of the socket tied to it (fd_conns), so a tap without an end function still ends clean.
// A tap brings:
//   1. discovery: which mapped files it claims and what it reads from them (AttachManager::consider:
//      exported symbols for OpenSSL; build info, pclntab and RET sites for Go), with a refusal code
//      and a logged reason for a file of its library it cannot serve;
//   2. attach: an Attacher method that places its programs at the file offsets found (BpfProbes);
//   3. BPF programs in their own bpf/<tap>.bpf.h, which record each call at entry and at return
//      hand it to emit_call() (shared: connection state, fd tie-in, ignored connections, chunks).
#pragma once

#include <cstdint>
#include <string_view>

#include "shadowmeter.h"

namespace shadowmeter::probes {

enum class Tap : std::uint8_t { openssl = SM_TAP_OPENSSL, go = SM_TAP_GO };

// shadowmeter.tls.library of the events a tap's records produce.
constexpr std::string_view tap_library(std::uint32_t tap) { return tap == SM_TAP_GO ? "go" : "openssl"; }

}  // namespace shadowmeter::probes
