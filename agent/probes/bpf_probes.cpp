#include "probes/bpf_probes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/log.h"
#include "shadowmeter.h"
#include "shadowmeter.skel.h"

namespace shadowmeter::probes {
namespace {

struct SkelDeleter {
  void operator()(shadowmeter_bpf* s) const { shadowmeter_bpf__destroy(s); }
};
struct RingDeleter {
  void operator()(ring_buffer* r) const { ring_buffer__free(r); }
};

std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

struct SslProbe {
  const char* symbol;
  bpf_program* (*entry)(shadowmeter_bpf*);
  bool ret;  // also a return probe (data or byte count only known on return)
};

const SslProbe kSslProbes[] = {
    {"SSL_write", [](shadowmeter_bpf* s) { return s->progs.ssl_write_entry; }, true},
    {"SSL_write_ex", [](shadowmeter_bpf* s) { return s->progs.ssl_write_ex_entry; }, true},
    {"SSL_read", [](shadowmeter_bpf* s) { return s->progs.ssl_read_entry; }, true},
    {"SSL_read_ex", [](shadowmeter_bpf* s) { return s->progs.ssl_read_ex_entry; }, true},
    {"SSL_free", [](shadowmeter_bpf* s) { return s->progs.ssl_free_entry; }, false},
    {"SSL_shutdown", [](shadowmeter_bpf* s) { return s->progs.ssl_shutdown_entry; }, false},
};

}  // namespace

void LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

const std::vector<std::string>& ssl_symbol_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& p : kSslProbes) v.emplace_back(p.symbol);
    return v;
  }();
  return names;
}

struct BpfProbes::Impl {
  std::unique_ptr<shadowmeter_bpf, SkelDeleter> skel;
  std::unique_ptr<ring_buffer, RingDeleter> ring;
  std::vector<Link> tracepoints;
  RecordHandler handler;
  bool multi = false;  // SSL programs loaded for uprobe-multi links

  std::unique_ptr<UprobeSet> attach_perf(const std::string& path, const SymbolOffsets& syms);
  std::unique_ptr<UprobeSet> attach_multi(const std::string& path, const SymbolOffsets& syms);

  static int on_record(void* ctx, void* data, std::size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    self->handler(std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(data), size));
    return 0;
  }
};

std::string ensure_tracefs() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists("/sys/kernel/tracing/events", ec) || fs::exists("/sys/kernel/debug/tracing/events", ec)) return {};
  if (::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
    return "cannot mount tracefs at /sys/kernel/tracing: " + errno_text(errno);
  return {};
}

BpfProbes::BpfProbes(const ProbeOptions& opts, RecordHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  if (auto err = ensure_tracefs(); !err.empty()) throw std::runtime_error(err);

  impl_->skel.reset(shadowmeter_bpf__open());
  if (!impl_->skel) throw std::runtime_error("cannot open the BPF object: " + errno_text(errno));
  auto* s = impl_->skel.get();
  s->rodata->agent_tgid = static_cast<__u32>(opts.agent_tgid);
  s->rodata->wakeup_bytes = opts.wakeup_bytes ? opts.wakeup_bytes : opts.ringbuf_bytes / 8;
  if (int err = bpf_map__set_max_entries(s->maps.events, opts.ringbuf_bytes))
    throw std::runtime_error("bad ring buffer size: " + errno_text(err));

  // The attach type is fixed at load: a program loaded for uprobe-multi links cannot attach through
  // perf events, nor the reverse.
  const std::string multi_error = opts.uprobe_multi ? uprobe_multi_unavailable() : "disabled";
  impl_->multi = multi_error.empty();
  if (impl_->multi) {
    for (const auto& p : kSslProbes)
      bpf_program__set_expected_attach_type(p.entry(s), static_cast<bpf_attach_type>(kTraceUprobeMulti));
    for (auto* prog : {s->progs.ssl_ret, s->progs.go_tls_write_entry, s->progs.go_tls_read_entry, s->progs.go_tls_ret})
      bpf_program__set_expected_attach_type(prog, static_cast<bpf_attach_type>(kTraceUprobeMulti));
    log::info("TLS uprobes: attaching with BPF uprobe-multi links");
  } else {
    log::info("TLS uprobes: attaching through perf events (uprobe-multi links: " + multi_error + ")");
  }

  if (int err = shadowmeter_bpf__load(s))
    throw std::runtime_error("cannot load the BPF programs (need root or CAP_BPF+CAP_PERFMON, kernel BTF): " +
                             errno_text(err));

  // Tracepoints are attached now; uprobes later, per file, by the attach manager.
  bpf_program* tps[] = {s->progs.tp_enter_write,   s->progs.tp_enter_writev,  s->progs.tp_enter_sendto,
                        s->progs.tp_enter_sendmsg, s->progs.tp_enter_read,    s->progs.tp_enter_readv,
                        s->progs.tp_enter_recvfrom, s->progs.tp_enter_recvmsg, s->progs.tp_exit_write,
                        s->progs.tp_exit_writev,   s->progs.tp_exit_sendto,   s->progs.tp_exit_sendmsg,
                        s->progs.tp_exit_read,     s->progs.tp_exit_readv,    s->progs.tp_exit_recvfrom,
                        s->progs.tp_exit_recvmsg,  s->progs.tp_enter_close,   s->progs.tp_enter_connect,
                        s->progs.tp_enter_mmap,    s->progs.on_exec,          s->progs.on_exit};
  for (auto* prog : tps) {
    bpf_link* l = bpf_program__attach(prog);
    if (!l)
      throw std::runtime_error(std::string("cannot attach ") + bpf_program__name(prog) + ": " +
                               errno_text(errno));
    impl_->tracepoints.emplace_back(l);
  }

  impl_->ring.reset(ring_buffer__new(bpf_map__fd(s->maps.events), &Impl::on_record, impl_.get(), nullptr));
  if (!impl_->ring) throw std::runtime_error("cannot set up the ring buffer: " + errno_text(errno));
}

BpfProbes::~BpfProbes() = default;

int BpfProbes::ring_fd() const { return ring_buffer__epoll_fd(impl_->ring.get()); }

int BpfProbes::consume() { return ring_buffer__consume(impl_->ring.get()); }

std::unique_ptr<UprobeSet> BpfProbes::attach_ssl(const std::string& path, const SymbolOffsets& syms) {
  return impl_->multi ? impl_->attach_multi(path, syms) : impl_->attach_perf(path, syms);
}

bool BpfProbes::uses_uprobe_multi() const { return impl_->multi; }

std::unique_ptr<UprobeSet> BpfProbes::Impl::attach_perf(const std::string& path, const SymbolOffsets& syms) {
  std::vector<Link> links;
  std::string last_error;
  for (const auto& p : kSslProbes) {
    auto it = syms.offsets.find(p.symbol);
    if (it == syms.offsets.end()) continue;
    auto offset = static_cast<std::size_t>(it->second);
    LIBBPF_OPTS(bpf_uprobe_opts, entry_opts, .retprobe = false);
    bpf_link* l = bpf_program__attach_uprobe_opts(p.entry(skel.get()), -1, path.c_str(), offset, &entry_opts);
    if (!l) {
      last_error = std::string(p.symbol) + ": " + errno_text(errno);
      continue;
    }
    links.emplace_back(l);
    if (!p.ret) continue;
    LIBBPF_OPTS(bpf_uprobe_opts, ret_opts, .retprobe = true);
    bpf_link* r = bpf_program__attach_uprobe_opts(skel->progs.ssl_ret, -1, path.c_str(), offset, &ret_opts);
    if (!r) {
      last_error = std::string(p.symbol) + " (return): " + errno_text(errno);
      continue;
    }
    links.emplace_back(r);
  }
  if (links.empty()) throw std::runtime_error("no uprobe attached to " + path + ": " + last_error);
  return std::make_unique<UprobeSet>(std::move(links));
}

// One link per entry program (each knows its function) and one for the shared return program
// with the offsets of every function whose entry probe is in place.
std::unique_ptr<UprobeSet> BpfProbes::Impl::attach_multi(const std::string& path, const SymbolOffsets& syms) {
  std::vector<LinkFd> links;
  std::vector<std::uint64_t> ret_offsets;
  std::size_t probes = 0;
  std::string last_error;
  for (const auto& p : kSslProbes) {
    auto it = syms.offsets.find(p.symbol);
    if (it == syms.offsets.end()) continue;
    const std::uint64_t offset[] = {it->second};
    LinkFd l = attach_uprobe_multi(bpf_program__fd(p.entry(skel.get())), path, offset, false);
    if (!l.valid()) {
      last_error = std::string(p.symbol) + ": " + errno_text(errno);
      continue;
    }
    links.push_back(std::move(l));
    ++probes;
    if (p.ret) ret_offsets.push_back(it->second);
  }
  if (!ret_offsets.empty()) {
    LinkFd r = attach_uprobe_multi(bpf_program__fd(skel->progs.ssl_ret), path, ret_offsets, true);
    if (r.valid()) {
      links.push_back(std::move(r));
      probes += ret_offsets.size();
    } else {
      last_error = "return probes: " + errno_text(errno);
    }
  }
  if (links.empty()) throw std::runtime_error("no uprobe attached to " + path + ": " + last_error);
  return std::make_unique<UprobeSet>(std::move(links), probes);
}

std::unique_ptr<UprobeSet> BpfProbes::attach_go(const std::string& path, const gotls::GoInspection& go) {
  auto* s = impl_->skel.get();
  struct Site {
    bpf_program* prog;
    std::vector<std::uint64_t> offsets;
    const char* what;
  };
  std::vector<std::uint64_t> rets = go.write.rets;
  rets.insert(rets.end(), go.read.rets.begin(), go.read.rets.end());
  const Site sites[] = {{s->progs.go_tls_write_entry, {go.write.entry}, gotls::kGoWrite},
                        {s->progs.go_tls_read_entry, {go.read.entry}, gotls::kGoRead},
                        {s->progs.go_tls_ret, rets, "RET sites"}};
  std::size_t probes = 0;
  if (impl_->multi) {
    std::vector<LinkFd> links;
    for (const auto& site : sites) {
      LinkFd l = attach_uprobe_multi(bpf_program__fd(site.prog), path, site.offsets, false);
      if (!l.valid()) throw std::runtime_error(std::string(site.what) + " of " + path + ": " + errno_text(errno));
      links.push_back(std::move(l));
      probes += site.offsets.size();
    }
    return std::make_unique<UprobeSet>(std::move(links), probes);
  }
  std::vector<Link> links;
  for (const auto& site : sites) {
    for (auto off : site.offsets) {
      LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = false);
      bpf_link* l = bpf_program__attach_uprobe_opts(site.prog, -1, path.c_str(), static_cast<std::size_t>(off), &opts);
      if (!l) throw std::runtime_error(std::string(site.what) + " of " + path + ": " + errno_text(errno));
      links.emplace_back(l);
    }
  }
  return std::make_unique<UprobeSet>(std::move(links));
}

void BpfProbes::mark_ignored(std::uint32_t tgid, std::uint64_t ssl, std::uint64_t conn_id) {
  sm_conn_key key{tgid, 0, ssl};
  bpf_map__update_elem(impl_->skel->maps.ignored, &key, sizeof(key), &conn_id, sizeof(conn_id), BPF_ANY);
}

BpfCounters BpfProbes::read_counters() const {
  const int ncpu = libbpf_num_possible_cpus();
  BpfCounters out;
  if (ncpu <= 0) return out;
  std::vector<std::uint64_t> values(static_cast<std::size_t>(ncpu));
  auto sum = [&](std::uint32_t idx) -> std::uint64_t {
    if (bpf_map__lookup_elem(impl_->skel->maps.counters, &idx, sizeof(idx), values.data(),
                             values.size() * sizeof(std::uint64_t), 0) != 0)
      return 0;
    std::uint64_t total = 0;
    for (auto v : values) total += v;
    return total;
  };
  out.ringbuf_drops = sum(SM_CNT_RINGBUF_DROPS);
  out.ringbuf_drop_bytes = sum(SM_CNT_RINGBUF_DROP_BYTES);
  out.oversize_bytes = sum(SM_CNT_OVERSIZE_BYTES);
  out.ssl_calls = sum(SM_CNT_SSL_CALLS);
  out.ignored_calls = sum(SM_CNT_IGNORED_CALLS);
  out.read_fault_bytes = sum(SM_CNT_READ_FAULT_BYTES);
  out.socks_tracked = sum(SM_CNT_SOCKS_TRACKED);
  out.plain_iov_lost = sum(SM_CNT_PLAIN_IOV_LOST);
  out.go_calls = sum(SM_CNT_GO_CALLS);
  out.go_unmatched_rets = sum(SM_CNT_GO_UNMATCHED_RETS);
  return out;
}

bool PlainDest::operator==(const PlainDest& o) const {
  return prefix_bits == o.prefix_bits && port == o.port && std::memcmp(addr, o.addr, sizeof(addr)) == 0;
}

namespace {
sm_dest_key dest_key(const PlainDest& d) {
  sm_dest_key k{};
  k.prefixlen = 16u + std::min<std::uint32_t>(d.prefix_bits, 128);
  k.port[0] = static_cast<std::uint8_t>(d.port >> 8);
  k.port[1] = static_cast<std::uint8_t>(d.port & 0xff);
  std::memcpy(k.addr, d.addr, sizeof(k.addr));
  return k;
}
}  // namespace

std::size_t BpfProbes::set_plain_dests(const std::vector<PlainDest>& dests) {
  auto* map = impl_->skel->maps.plain_dests;
  for (const auto& old : plain_dests_) {
    if (std::find(dests.begin(), dests.end(), old) != dests.end()) continue;
    sm_dest_key k = dest_key(old);
    bpf_map__delete_elem(map, &k, sizeof(k), 0);
  }
  std::size_t failed = 0;
  plain_dests_.clear();
  for (const auto& d : dests) {
    sm_dest_key k = dest_key(d);
    std::uint32_t v = 1;
    if (bpf_map__update_elem(map, &k, sizeof(k), &v, sizeof(v), BPF_ANY) != 0) {
      ++failed;
      continue;
    }
    plain_dests_.push_back(d);
  }
  return failed;
}

void BpfProbes::stop_plaintext(std::uint32_t tgid, std::int32_t fd, std::uint64_t id) {
  auto* map = impl_->skel->maps.socks;
  sm_fd_key k{tgid, fd};
  sm_sock_state st{};
  if (bpf_map__lookup_elem(map, &k, sizeof(k), &st, sizeof(st), 0) != 0 || st.id != id) return;
  // Racy against the kernel's own updates of this entry (byte counts): acceptable, the flag is
  // what matters and the socket has been classified already.
  st.flags &= ~static_cast<std::uint32_t>(SM_SOCK_PLAINTEXT);
  bpf_map__update_elem(map, &k, sizeof(k), &st, sizeof(st), BPF_EXIST);
}

std::optional<SockSnapshot> BpfProbes::take_socket(std::uint32_t tgid, std::int32_t fd, std::uint64_t id) {
  auto* map = impl_->skel->maps.socks;
  sm_fd_key k{tgid, fd};
  sm_sock_state st{};
  if (bpf_map__lookup_elem(map, &k, sizeof(k), &st, sizeof(st), 0) != 0 || st.id != id) return std::nullopt;
  bpf_map__delete_elem(map, &k, sizeof(k), 0);
  return SockSnapshot{st.id, st.start_ns, st.bytes[SM_DIR_EGRESS], st.bytes[SM_DIR_INGRESS], st.flags};
}

}  // namespace shadowmeter::probes
