// SPDX-License-Identifier: GPL-2.0
/* TLS plaintext capture: uprobes on OpenSSL's SSL_read/SSL_write (and _ex), the socket fd taken from
 * the read/write syscall the library makes inside the call, payload streamed to user space in
 * bounded chunks through one ring buffer. Connections user space has classified as not-AI are
 * skipped at the first map lookup of the entry probe. The Go tap (go_tls.bpf.h) shares this path. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "shadowmeter.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Set by user space before load. */
const volatile __u32 agent_tgid = 0; /* never observe the agent itself */
/* Payload records do not wake the agent (it drains the ring on a short timer) until this many
 * bytes wait: one wakeup per record would cost more than the parsing. The first record of a
 * connection is the exception. */
const volatile __u64 wakeup_bytes = 1 << 20;

/* One in-flight SSL call per thread (the Go tap: per goroutine, plus a per-thread note). */
struct active_call {
  __u64 ssl;
  __u64 buf;
  __u64 len_ptr; /* _ex variants: size_t* that receives the byte count; 0 otherwise (Go: see go_tls.bpf.h) */
  __s32 fd;      /* from the nested syscall, -1 until seen */
  __u8 direction;
  __u8 is_ex;    /* 1: an _ex call; SM_ACTIVE_GO_NOTE: the Go tap's per-thread note */
  __u16 pad;
};
#define SM_ACTIVE_GO_NOTE 2

/* Per connection: stream offsets (so user space can detect lost records) and the socket. */
struct conn_state {
  __u64 id; /* unique: (ktime << 6) | cpu at creation */
  __u64 offset[2];
  __s32 fd;
  __u8 family;
  __u8 late; /* its first call seen was a read: the probes came after its first request */
  __u16 dport;
  __u8 daddr[16];
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20); /* resized by user space before load */
} events SEC(".maps");

/* LRU: a thread that dies inside an SSL call never reaches the return probe; its entry must not
 * pin a slot for ever (thread exit also removes it). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64); /* pid_tgid */
  __type(value, struct active_call);
} active SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct sm_conn_key);
  __type(value, struct conn_state);
} conns SEC(".maps");

/* Written by user space: connections classified as not-AI, value the connection id. A mark whose
 * id is not the current connection's is stale (the SSL* was freed and reused) and is dropped. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct sm_conn_key);
  __type(value, __u64);
} ignored SEC(".maps");

/* (tgid, fd) -> SSL*, so close(fd) ends the connection. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct sm_fd_key);
  __type(value, __u64);
} fd_conns SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SM_CNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

/* Connection level, for every TLS library: TCP sockets that connect()ed (and UDP ones to port 53),
 * keyed by (tgid, fd). Only these sockets cost more than one map lookup per read/write. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct sm_fd_key);
  __type(value, struct sm_sock_state);
} socks SEC(".maps");

/* A read/write syscall on a tracked socket between its entry and exit, per thread. */
struct sock_call {
  __u64 sock_id;
  __u64 buf; /* the (first) buffer */
  __u64 buflen;
  __s32 fd;
  __u8 direction;
  __u8 pad[3];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64); /* pid_tgid */
  __type(value, struct sock_call);
} sock_calls SEC(".maps");

/* Written by user space: destinations whose plaintext HTTP is captured (catalog/config host:port
 * and CIDRs). */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 4096);
  __type(key, struct sm_dest_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} plain_dests SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sm_hello_event);
} hello_scratch SEC(".maps");

/* Large records are built here, not on the 512-byte stack. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sm_data_event);
} scratch SEC(".maps");

static __always_inline __u64 data_wakeup_flags(void) {
  return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void count(__u32 idx, __u64 n) {
  __u64* v = bpf_map_lookup_elem(&counters, &idx);
  if (v) *v += n;
}

/* Whether user space marked this connection not-AI (counted); a stale mark is dropped. */
static __always_inline bool conn_ignored(__u32 tgid, __u64 ssl) {
  struct sm_conn_key key = {.tgid = tgid, .ssl = ssl};
  __u64* ignored_id = bpf_map_lookup_elem(&ignored, &key);
  if (!ignored_id) return false;
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  if (st && st->id == *ignored_id) {
    count(SM_CNT_IGNORED_CALLS, 1);
    return true;
  }
  bpf_map_delete_elem(&ignored, &key);
  return false;
}

static __always_inline int on_ssl_entry(void* ssl, void* buf, void* len_ptr, __u8 direction, __u8 is_ex) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (tgid == agent_tgid) return 0;
  if (conn_ignored(tgid, (__u64)ssl)) return 0;
  /* OpenSSL's public read/write calls do not nest, so an entry left here is stale (the thread
   * left the call without returning through it): the new call replaces it. */
  struct active_call call = {
      .ssl = (__u64)ssl, .buf = (__u64)buf, .len_ptr = (__u64)len_ptr, .fd = -1,
      .direction = direction, .is_ex = is_ex};
  bpf_map_update_elem(&active, &id, &call, BPF_ANY);
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_entry, void* ssl, void* buf, int num) {
  return on_ssl_entry(ssl, buf, 0, SM_DIR_EGRESS, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_entry, void* ssl, void* buf, __u64 num, void* written) {
  return on_ssl_entry(ssl, buf, written, SM_DIR_EGRESS, 1);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_entry, void* ssl, void* buf, int num) {
  return on_ssl_entry(ssl, buf, 0, SM_DIR_INGRESS, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_entry, void* ssl, void* buf, __u64 num, void* readbytes) {
  return on_ssl_entry(ssl, buf, readbytes, SM_DIR_INGRESS, 1);
}

/* The struct file behind an fd of the current task, NULL if there is none. */
static __always_inline struct file* fd_file(__s32 fd) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct files_struct* files = BPF_CORE_READ(task, files);
  if (!files) return NULL;
  struct fdtable* fdt = BPF_CORE_READ(files, fdt);
  if (!fdt) return NULL;
  unsigned int max_fds = BPF_CORE_READ(fdt, max_fds);
  if (fd < 0 || (unsigned int)fd >= max_fds) return NULL;
  struct file** fds = BPF_CORE_READ(fdt, fd);
  struct file* f = NULL;
  if (bpf_core_read(&f, sizeof(f), &fds[fd])) return NULL;
  return f;
}

/* The peer of a socket fd of the current task, read through CO-RE; false if fd is not a socket. */
static __always_inline bool read_peer(__s32 fd, struct conn_state* st) {
  struct file* f = fd_file(fd);
  if (!f) return false;
  umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
  if ((mode & S_IFMT) != S_IFSOCK) return false;
  struct socket* sock = BPF_CORE_READ(f, private_data);
  if (!sock) return false;
  struct sock* sk = BPF_CORE_READ(sock, sk);
  if (!sk) return false;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
  st->dport = (__u16)((dport >> 8) | (dport << 8));
  if (family == AF_INET) {
    st->family = AF_INET;
    __u32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
    __builtin_memcpy(st->daddr, &daddr, 4);
  } else if (family == AF_INET6) {
    st->family = AF_INET6;
    BPF_CORE_READ_INTO(&st->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
  }
  return true;
}

struct emit_ctx {
  struct sm_data_event* ev;
  __u64 src;
  __u64 total;
  bool first_of_conn; /* wake the agent for it: classification and /proc attribution need it now */
};

static long emit_chunk(__u32 i, struct emit_ctx* c) {
  /* 64-bit arithmetic throughout: the verifier must see the clamp on the register it checks. */
  __u64 done = (__u64)i * SM_CHUNK_BYTES;
  if (done >= c->total) return 1;
  __u64 n = c->total - done;
  if (n > SM_CHUNK_BYTES) n = SM_CHUNK_BYTES;
  struct sm_data_event* ev = c->ev;
  ev->lost = 0;
  if (bpf_probe_read_user(ev->data, n, (void*)(c->src + done))) {
    count(SM_CNT_READ_FAULT_BYTES, n);
    ev->lost = (__u32)n; /* still emit the record, so user space sees the gap where it is */
    n = 0;
  }
  ev->len = (__u32)n;
  __u64 size = offsetof(struct sm_data_event, data) + n;
  if (size > sizeof(*ev)) return 1;
  __u64 flags = (i == 0 && c->first_of_conn) ? BPF_RB_FORCE_WAKEUP : data_wakeup_flags();
  if (bpf_ringbuf_output(&events, ev, size, flags)) {
    count(SM_CNT_RINGBUF_DROPS, 1);
    count(SM_CNT_RINGBUF_DROP_BYTES, n);
  }
  ev->stream_offset += SM_CHUNK_BYTES;
  return 0;
}

/* One returned read/write call of any tap: ties the connection to the socket the nested syscall
 * named, then streams `bytes` from the call's buffer as SM_EV_DATA records. */
static __always_inline int emit_call(__u64 id, struct active_call* c, __u64 bytes, __u32 tap) {
  __u32 tgid = id >> 32;
  struct sm_conn_key key = {.tgid = tgid, .ssl = c->ssl};
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  bool first_of_conn = !st;
  if (!st) {
    /* A client writes first in HTTP: a connection whose first call seen is a read had its request
     * written before the probes were in place (or its state was evicted), so no whole exchange. */
    struct conn_state fresh = {.id = (bpf_ktime_get_ns() << 6) | (bpf_get_smp_processor_id() & 63),
                               .fd = -1,
                               .late = (c->direction & 1) == SM_DIR_INGRESS};
    bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST);
    st = bpf_map_lookup_elem(&conns, &key);
    if (!st) return 0;
  }
  if (st->fd < 0 && c->fd >= 0 && read_peer(c->fd, st)) {
    st->fd = c->fd;
    struct sm_fd_key fk = {.tgid = tgid, .fd = c->fd};
    bpf_map_update_elem(&fd_conns, &fk, &c->ssl, BPF_ANY);
    /* This socket's plaintext is visible from its first request: never reported as blind. Joined
     * late, it is left to user space, which reports it blind unless an exchange was read on it. */
    struct sm_sock_state* ss = bpf_map_lookup_elem(&socks, &fk);
    if (ss) ss->flags |= st->late ? SM_SOCK_SSL_LATE : SM_SOCK_SSL_SEEN;
  }

  __u32 zero = 0;
  struct sm_data_event* ev = bpf_map_lookup_elem(&scratch, &zero);
  if (!ev) return 0;
  __u8 dir = c->direction & 1;
  ev->hdr.type = SM_EV_DATA;
  ev->hdr.tgid = tgid;
  ev->hdr.tid = (__u32)id;
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->ssl = c->ssl;
  ev->conn_id = st->id;
  ev->stream_offset = st->offset[dir];
  ev->fd = st->fd;
  ev->tap = tap;
  ev->direction = dir;
  ev->family = st->family;
  ev->dport = st->dport;
  __builtin_memcpy(ev->daddr, st->daddr, sizeof(ev->daddr));
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));

  __u64 max = (__u64)SM_CHUNK_BYTES * SM_MAX_CHUNKS;
  __u64 copy = bytes > max ? max : bytes;
  if (bytes > max) count(SM_CNT_OVERSIZE_BYTES, bytes - max);
  st->offset[dir] += bytes;

  struct emit_ctx ectx = {.ev = ev, .src = c->buf, .total = copy, .first_of_conn = first_of_conn};
  bpf_loop(SM_MAX_CHUNKS, emit_chunk, &ectx, 0);
  return 0;
}

/* All four functions return int: only the low 32 bits of the return register are defined (node's
 * static OpenSSL leaves garbage in the upper half). */
SEC("uretprobe")
int BPF_KRETPROBE(ssl_ret, int rc) {
  __u64 id = bpf_get_current_pid_tgid();
  struct active_call* call = bpf_map_lookup_elem(&active, &id);
  if (!call) return 0;
  struct active_call c = *call;
  if (c.is_ex == SM_ACTIVE_GO_NOTE) return 0; /* the Go tap's thread note, not an OpenSSL call */
  bpf_map_delete_elem(&active, &id);

  __u64 bytes = 0;
  if (c.is_ex) {
    if (rc != 1 || !c.len_ptr) return 0;
    if (bpf_probe_read_user(&bytes, sizeof(bytes), (void*)c.len_ptr)) return 0;
  } else {
    if (rc <= 0) return 0;
    bytes = (__u64)rc;
  }
  if (bytes == 0) return 0;
  count(SM_CNT_SSL_CALLS, 1);
  return emit_call(id, &c, bytes, SM_TAP_OPENSSL);
}

static __always_inline void end_conn(__u32 tgid, __u64 ssl, __s32 fd, __u32 reason) {
  struct sm_conn_key key = {.tgid = tgid, .ssl = ssl};
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  bool tracked = st != NULL;
  bool was_ignored = bpf_map_lookup_elem(&ignored, &key) != NULL;
  __u64 conn_id = st ? st->id : 0;
  if (st && fd < 0) fd = st->fd;
  if (st) bpf_map_delete_elem(&conns, &key);
  if (was_ignored) bpf_map_delete_elem(&ignored, &key);
  if (fd >= 0) {
    struct sm_fd_key fk = {.tgid = tgid, .fd = fd};
    bpf_map_delete_elem(&fd_conns, &fk);
  }
  /* Ignored connections were already dropped by user space; only tracked ones need the news. */
  if (!tracked) return;
  struct sm_conn_end_event* ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
  if (!ev) {
    count(SM_CNT_RINGBUF_DROPS, 1);
    return;
  }
  ev->hdr.type = SM_EV_CONN_END;
  ev->hdr.tgid = tgid;
  ev->hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->ssl = ssl;
  ev->conn_id = conn_id;
  ev->fd = fd;
  ev->reason = reason;
  bpf_ringbuf_submit(ev, data_wakeup_flags());
}

SEC("uprobe")
int BPF_KPROBE(ssl_free_entry, void* ssl) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid == agent_tgid) return 0;
  end_conn(tgid, (__u64)ssl, -1, SM_END_SSL_FREE);
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_shutdown_entry, void* ssl) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid == agent_tgid) return 0;
  end_conn(tgid, (__u64)ssl, -1, SM_END_SSL_SHUTDOWN);
  return 0;
}

#include "go_tls.bpf.h"

/* The nested syscall: the first socket read/write made inside an SSL call names its fd. */
static __always_inline int note_fd(long fd) {
  __u64 id = bpf_get_current_pid_tgid();
  struct active_call* call = bpf_map_lookup_elem(&active, &id);
  if (call && call->fd < 0) call->fd = (__s32)fd;
  return 0;
}

enum buf_kind { BUF_PLAIN = 0, BUF_IOV = 1, BUF_MSG = 2 };

/* The first buffer of a read/write-family call: the buffer itself, iov[0], or msg->msg_iov[0]. */
static __always_inline bool first_buffer(__u64 arg1, __u64 arg2, int kind, __u64* buf, __u64* len) {
  if (kind == BUF_PLAIN) {
    *buf = arg1;
    *len = arg2;
    return true;
  }
  __u64 iov = arg1;
  if (kind == BUF_MSG) {
    /* struct user_msghdr: msg_name, msg_namelen (+pad), msg_iov at 16, msg_iovlen at 24. */
    __u64 iovlen = 0;
    if (bpf_probe_read_user(&iov, sizeof(iov), (void*)(arg1 + 16))) return false;
    if (bpf_probe_read_user(&iovlen, sizeof(iovlen), (void*)(arg1 + 24))) return false;
    if (iovlen == 0) return false;
  } else if (arg2 == 0) {
    return false;
  }
  __u64 pair[2];
  if (bpf_probe_read_user(pair, sizeof(pair), (void*)iov)) return false;
  *buf = pair[0];
  *len = pair[1];
  return true;
}

/* The first write of a tracked TCP socket: a TLS handshake record goes to user space (SNI, ALPN);
 * a socket that is neither TLS nor a plaintext/DNS destination stops being tracked. */
static __always_inline bool first_write(struct sm_fd_key* fk, struct sm_sock_state* st, __u64 buf, __u64 len) {
  st->flags |= SM_SOCK_WROTE;
  __u8 b0 = 0;
  if (len == 0 || bpf_probe_read_user(&b0, 1, (void*)buf)) return true;
  if (b0 != 0x16 || !(st->flags & SM_SOCK_STREAM)) {
    if (!(st->flags & (SM_SOCK_PLAINTEXT | SM_SOCK_DNS))) {
      bpf_map_delete_elem(&socks, fk);
      return false;
    }
    return true;
  }
  st->flags |= SM_SOCK_TLS_HELLO;
  __u32 zero = 0;
  struct sm_hello_event* ev = bpf_map_lookup_elem(&hello_scratch, &zero);
  if (!ev) return true;
  __u64 n = len > SM_HELLO_BYTES ? SM_HELLO_BYTES : len;
  ev->hdr.type = SM_EV_TLS_HELLO;
  ev->hdr.tgid = fk->tgid;
  ev->hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->sock_id = st->id;
  ev->start_ns = st->start_ns;
  ev->fd = fk->fd;
  ev->total = (__u32)len;
  ev->family = st->family;
  ev->pad = 0;
  ev->dport = st->dport;
  __builtin_memcpy(ev->daddr, st->daddr, sizeof(ev->daddr));
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));
  if (bpf_probe_read_user(ev->data, n, (void*)buf)) n = 0;
  ev->len = (__u32)n;
  __u64 size = offsetof(struct sm_hello_event, data) + n;
  if (size > sizeof(*ev)) return true;
  /* Wake the agent: the process should still be alive when /proc is read for its TLS library. */
  if (bpf_ringbuf_output(&events, ev, size, BPF_RB_FORCE_WAKEUP)) count(SM_CNT_RINGBUF_DROPS, 1);
  return true;
}

/* Entry of a read/write-family syscall: the SSL nested-fd note, then, for tracked sockets only,
 * the first-write check and the per-thread note the exit needs. Every other fd costs one lookup. */
static __always_inline int sock_enter(long fd, __u64 arg1, __u64 arg2, int kind, __u8 direction) {
  note_fd(fd);
  __u64 id = bpf_get_current_pid_tgid();
  struct sm_fd_key fk = {.tgid = id >> 32, .fd = (__s32)fd};
  struct sm_sock_state* st = bpf_map_lookup_elem(&socks, &fk);
  if (!st) return 0;
  __u64 buf = 0, len = 0;
  if (!first_buffer(arg1, arg2, kind, &buf, &len)) buf = 0, len = 0;
  if (direction == SM_DIR_EGRESS && !(st->flags & SM_SOCK_WROTE) && !first_write(&fk, st, buf, len)) return 0;
  struct sock_call call = {.sock_id = st->id, .buf = buf, .buflen = len, .fd = fk.fd, .direction = direction};
  bpf_map_update_elem(&sock_calls, &id, &call, BPF_ANY);
  return 0;
}

/* A resolver's answer (UDP/TCP port 53): user space maps the addresses in it to the name asked. */
static __always_inline void emit_dns(struct sm_fd_key* fk, struct sm_sock_state* st, __u64 buf, __u64 len) {
  __u32 zero = 0;
  struct sm_hello_event* ev = bpf_map_lookup_elem(&hello_scratch, &zero);
  if (!ev) return;
  __u64 n = len > SM_HELLO_BYTES ? SM_HELLO_BYTES : len;
  ev->hdr.type = SM_EV_DNS_ANSWER;
  ev->hdr.tgid = fk->tgid;
  ev->hdr.tid = (__u32)bpf_get_current_pid_tgid();
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->sock_id = st->id;
  ev->start_ns = st->start_ns;
  ev->fd = fk->fd;
  ev->total = (__u32)len;
  ev->family = st->family;
  ev->pad = (st->flags & SM_SOCK_STREAM) ? 1 : 0;
  ev->dport = st->dport;
  __builtin_memcpy(ev->daddr, st->daddr, sizeof(ev->daddr));
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));
  if (bpf_probe_read_user(ev->data, n, (void*)buf)) n = 0;
  ev->len = (__u32)n;
  __u64 size = offsetof(struct sm_hello_event, data) + n;
  if (size > sizeof(*ev)) return;
  /* Wake the agent: the client connects right after it has the answer. */
  if (bpf_ringbuf_output(&events, ev, size, BPF_RB_FORCE_WAKEUP)) count(SM_CNT_RINGBUF_DROPS, 1);
}

/* Exit: count the bytes; for plaintext destinations copy them into the SSL data path. */
static __always_inline int sock_exit(long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  struct sock_call* cp = bpf_map_lookup_elem(&sock_calls, &id);
  if (!cp) return 0;
  struct sock_call c = *cp;
  bpf_map_delete_elem(&sock_calls, &id);
  if (ret <= 0) return 0;
  __u32 tgid = id >> 32;
  struct sm_fd_key fk = {.tgid = tgid, .fd = c.fd};
  struct sm_sock_state* st = bpf_map_lookup_elem(&socks, &fk);
  if (!st || st->id != c.sock_id) return 0;
  __u8 dir = c.direction & 1;
  __u64 bytes = (__u64)ret;
  st->bytes[dir] += bytes;
  if ((st->flags & SM_SOCK_DNS) && dir == SM_DIR_INGRESS) emit_dns(&fk, st, c.buf, bytes < c.buflen ? bytes : c.buflen);
  if (!(st->flags & SM_SOCK_PLAINTEXT)) return 0;

  __u32 zero = 0;
  struct sm_data_event* ev = bpf_map_lookup_elem(&scratch, &zero);
  if (!ev) return 0;
  bool first_of_conn = st->offset[0] == 0 && st->offset[1] == 0;
  ev->hdr.type = SM_EV_DATA;
  ev->hdr.tgid = tgid;
  ev->hdr.tid = (__u32)id;
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->ssl = SM_PLAIN_KEY_BIT | (__u32)c.fd;
  ev->conn_id = st->id;
  ev->stream_offset = st->offset[dir];
  ev->fd = c.fd;
  ev->tap = SM_TAP_OPENSSL;
  ev->direction = dir;
  ev->family = st->family;
  ev->dport = st->dport;
  __builtin_memcpy(ev->daddr, st->daddr, sizeof(ev->daddr));
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));
  st->offset[dir] += bytes;
  /* Only the first buffer of a vectored call is copied; the rest shows up as a counted gap. */
  __u64 copy = bytes > c.buflen ? c.buflen : bytes;
  if (bytes > copy) count(SM_CNT_PLAIN_IOV_LOST, bytes - copy);
  __u64 max = (__u64)SM_CHUNK_BYTES * SM_MAX_CHUNKS;
  if (copy > max) {
    count(SM_CNT_OVERSIZE_BYTES, copy - max);
    copy = max;
  }
  struct emit_ctx ectx = {.ev = ev, .src = c.buf, .total = copy, .first_of_conn = first_of_conn};
  bpf_loop(SM_MAX_CHUNKS, emit_chunk, &ectx, 0);
  return 0;
}

#define SOCK_TRACEPOINTS(name, kind, dir)                                              \
  SEC("tracepoint/syscalls/sys_enter_" #name)                                           \
  int tp_enter_##name(struct trace_event_raw_sys_enter* ctx) {                          \
    return sock_enter((long)ctx->args[0], ctx->args[1], ctx->args[2], kind, dir);       \
  }                                                                                     \
  SEC("tracepoint/syscalls/sys_exit_" #name)                                            \
  int tp_exit_##name(struct trace_event_raw_sys_exit* ctx) { return sock_exit(ctx->ret); }

SOCK_TRACEPOINTS(write, BUF_PLAIN, SM_DIR_EGRESS)
SOCK_TRACEPOINTS(writev, BUF_IOV, SM_DIR_EGRESS)
SOCK_TRACEPOINTS(sendto, BUF_PLAIN, SM_DIR_EGRESS)
SOCK_TRACEPOINTS(sendmsg, BUF_MSG, SM_DIR_EGRESS)
SOCK_TRACEPOINTS(read, BUF_PLAIN, SM_DIR_INGRESS)
SOCK_TRACEPOINTS(readv, BUF_IOV, SM_DIR_INGRESS)
SOCK_TRACEPOINTS(recvfrom, BUF_PLAIN, SM_DIR_INGRESS)
SOCK_TRACEPOINTS(recvmsg, BUF_MSG, SM_DIR_INGRESS)

/* A tracked socket ends (close, reconnect): report it if user space cares, forget it. */
static __always_inline void sock_end(__u32 tgid, __s32 fd) {
  struct sm_fd_key fk = {.tgid = tgid, .fd = fd};
  struct sm_sock_state* st = bpf_map_lookup_elem(&socks, &fk);
  if (!st) return;
  if (st->flags & (SM_SOCK_TLS_HELLO | SM_SOCK_PLAINTEXT)) {
    struct sm_sock_close_event* ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
    if (ev) {
      ev->hdr.type = SM_EV_SOCK_CLOSE;
      ev->hdr.tgid = tgid;
      ev->hdr.tid = (__u32)bpf_get_current_pid_tgid();
      ev->hdr.pad = 0;
      ev->hdr.ts_ns = bpf_ktime_get_ns();
      ev->sock_id = st->id;
      ev->start_ns = st->start_ns;
      ev->bytes_sent = st->bytes[SM_DIR_EGRESS];
      ev->bytes_received = st->bytes[SM_DIR_INGRESS];
      ev->fd = fd;
      ev->flags = st->flags;
      ev->family = st->family;
      ev->pad = 0;
      ev->dport = st->dport;
      __builtin_memcpy(ev->daddr, st->daddr, sizeof(ev->daddr));
      bpf_ringbuf_submit(ev, data_wakeup_flags());
    } else {
      count(SM_CNT_RINGBUF_DROPS, 1);
    }
  }
  bpf_map_delete_elem(&socks, &fk);
}

#define SOCK_STREAM 1
#define SOCK_DGRAM 2

/* connect(): start tracking an outbound TCP socket (or a UDP one to port 53). The address comes
 * from the caller's sockaddr, so a non-blocking connect is tracked the same way. */
static __always_inline void sock_connect(__u32 tgid, __s32 fd, __u64 uaddr) {
  struct file* f = fd_file(fd);
  if (!f) return;
  umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
  if ((mode & S_IFMT) != S_IFSOCK) return;
  struct socket* sock = BPF_CORE_READ(f, private_data);
  if (!sock) return;
  short type = BPF_CORE_READ(sock, type);
  if (type != SOCK_STREAM && type != SOCK_DGRAM) return;
  __u8 sa[24] = {};
  if (bpf_probe_read_user(sa, sizeof(sa), (void*)uaddr)) return;
  __u16 family = sa[0] | (sa[1] << 8);
  struct sm_sock_state st = {};
  struct sm_dest_key dk = {};
  dk.port[0] = sa[2];
  dk.port[1] = sa[3];
  st.dport = ((__u16)sa[2] << 8) | sa[3];
  if (family == AF_INET) {
    st.family = AF_INET;
    __builtin_memcpy(st.daddr, &sa[4], 4);
    dk.addr[10] = 0xff;
    dk.addr[11] = 0xff;
    __builtin_memcpy(&dk.addr[12], &sa[4], 4);
  } else if (family == AF_INET6) {
    st.family = AF_INET6;
    __builtin_memcpy(st.daddr, &sa[8], 16);
    __builtin_memcpy(dk.addr, &sa[8], 16);
  } else {
    return;
  }
  if (type == SOCK_STREAM) st.flags |= SM_SOCK_STREAM;
  if (st.dport == 53) st.flags |= SM_SOCK_DNS;
  else if (type != SOCK_STREAM) return;
  dk.prefixlen = 16 + 128;
  if (bpf_map_lookup_elem(&plain_dests, &dk)) st.flags |= SM_SOCK_PLAINTEXT;
  st.id = (bpf_ktime_get_ns() << 6) | (bpf_get_smp_processor_id() & 63);
  st.start_ns = bpf_ktime_get_ns();
  struct sm_fd_key fk = {.tgid = tgid, .fd = fd};
  bpf_map_update_elem(&socks, &fk, &st, BPF_ANY);
  count(SM_CNT_SOCKS_TRACKED, 1);
}

static __always_inline int fd_lifecycle(long fd_arg) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  struct sm_fd_key fk = {.tgid = tgid, .fd = (__s32)fd_arg};
  __u64* ssl = bpf_map_lookup_elem(&fd_conns, &fk);
  if (!ssl) return 0;
  end_conn(tgid, *ssl, fk.fd, SM_END_CLOSE);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter* ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  sock_end(tgid, (__s32)ctx->args[0]);
  return fd_lifecycle((long)ctx->args[0]);
}

/* connect() on an fd we still map to an SSL* means the old connection ended without our seeing it. */
SEC("tracepoint/syscalls/sys_enter_connect")
int tp_enter_connect(struct trace_event_raw_sys_enter* ctx) {
  fd_lifecycle((long)ctx->args[0]);
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid == agent_tgid) return 0;
  sock_end(tgid, (__s32)ctx->args[0]);
  sock_connect(tgid, (__s32)ctx->args[0], ctx->args[1]);
  return 0;
}

#define PROT_EXEC 0x4

/* The loader maps a library's text with PROT_EXEC from its fd. Only libssl* files are reported, so
 * a library loaded late (dlopen, a container's own copy) is attached within milliseconds instead of
 * at the next periodic rescan; every other mmap costs one name comparison. */
SEC("tracepoint/syscalls/sys_enter_mmap")
int tp_enter_mmap(struct trace_event_raw_sys_enter* ctx) {
  if (!(ctx->args[2] & PROT_EXEC)) return 0;
  long fd = (long)ctx->args[4];
  if (fd < 0) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (tgid == agent_tgid) return 0;
  struct file* f = fd_file((__s32)fd);
  if (!f) return 0;
  const unsigned char* name = BPF_CORE_READ(f, f_path.dentry, d_name.name);
  char buf[10] = {};
  if (bpf_probe_read_kernel(buf, sizeof(buf) - 1, name)) return 0;
  if (buf[0] != 'l' || buf[1] != 'i' || buf[2] != 'b' || buf[3] != 's' || buf[4] != 's' || buf[5] != 'l' ||
      buf[6] != '.' || buf[7] != 's' || buf[8] != 'o')
    return 0;
  struct sm_event_header* ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
  if (!ev) {
    count(SM_CNT_RINGBUF_DROPS, 1);
    return 0;
  }
  ev->type = SM_EV_LIB_MAPPED;
  ev->tgid = tgid;
  ev->tid = (__u32)bpf_get_current_pid_tgid();
  ev->pad = 0;
  ev->ts_ns = bpf_ktime_get_ns();
  bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct* p, pid_t old_pid, struct linux_binprm* bprm) {
  struct sm_exec_event* ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
  if (!ev) {
    count(SM_CNT_RINGBUF_DROPS, 1);
    return 0;
  }
  ev->hdr.type = SM_EV_EXEC;
  ev->hdr.tgid = BPF_CORE_READ(p, tgid);
  ev->hdr.tid = BPF_CORE_READ(p, pid);
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->ppid = BPF_CORE_READ(p, real_parent, tgid);
  ev->uid = BPF_CORE_READ(p, real_cred, uid.val);
  ev->start_boottime = BPF_CORE_READ(p, start_boottime);
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));
  /* interp is the file actually run: the interpreter for a script, else the same as filename. */
  const char* fname = BPF_CORE_READ(bprm, interp);
  if (bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), fname) < 0) ev->filename[0] = 0;
  /* The new image's argv, already in place at this tracepoint (current is p). */
  unsigned long arg_start = BPF_CORE_READ(p, mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(p, mm, arg_end);
  __u64 n = arg_end > arg_start ? arg_end - arg_start : 0;
  ev->args_total = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
  if (n > SM_ARGS_LEN) n = SM_ARGS_LEN;
  if (n && bpf_probe_read_user(ev->args, n, (void*)arg_start)) n = 0;
  ev->args_len = (__u32)n;
  bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP); /* attach and attribution need it promptly */
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct* p) {
  __u32 pid = BPF_CORE_READ(p, pid);
  __u32 tgid = BPF_CORE_READ(p, tgid);
  __u64 id = ((__u64)tgid << 32) | pid;
  bpf_map_delete_elem(&active, &id);
  if (pid != tgid) return 0; /* threads: only the leader's exit ends the process for us */
  struct sm_event_header* ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
  if (!ev) {
    count(SM_CNT_RINGBUF_DROPS, 1);
    return 0;
  }
  ev->type = SM_EV_EXIT;
  ev->tgid = tgid;
  ev->tid = pid;
  ev->pad = 0;
  ev->ts_ns = bpf_ktime_get_ns();
  bpf_ringbuf_submit(ev, data_wakeup_flags());
  return 0;
}
