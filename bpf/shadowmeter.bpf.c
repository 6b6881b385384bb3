// SPDX-License-Identifier: GPL-2.0
/* TLS plaintext capture: uprobes on OpenSSL's SSL_read/SSL_write (and _ex), the socket fd taken from
 * the read/write syscall the library makes inside the call, payload streamed to user space in
 * bounded chunks through one ring buffer. Connections user space has classified as not-AI are
 * skipped at the first map lookup of the entry probe. */
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

/* One in-flight SSL call per thread. */
struct active_call {
  __u64 ssl;
  __u64 buf;
  __u64 len_ptr; /* _ex variants: size_t* that receives the byte count; 0 otherwise */
  __s32 fd;      /* from the nested syscall, -1 until seen */
  __u8 direction;
  __u8 is_ex;
  __u16 pad;
};

/* Per connection: stream offsets (so user space can detect lost records) and the socket. */
struct conn_state {
  __u64 id; /* unique: (ktime << 6) | cpu at creation */
  __u64 offset[2];
  __s32 fd;
  __u8 family;
  __u8 pad;
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

static __always_inline int on_ssl_entry(void* ssl, void* buf, void* len_ptr, __u8 direction, __u8 is_ex) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (tgid == agent_tgid) return 0;
  struct sm_conn_key key = {.tgid = tgid, .ssl = (__u64)ssl};
  __u64* ignored_id = bpf_map_lookup_elem(&ignored, &key);
  if (ignored_id) {
    struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
    if (st && st->id == *ignored_id) {
      count(SM_CNT_IGNORED_CALLS, 1);
      return 0;
    }
    bpf_map_delete_elem(&ignored, &key);
  }
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

/* All four functions return int: only the low 32 bits of the return register are defined (node's
 * static OpenSSL leaves garbage in the upper half). */
SEC("uretprobe")
int BPF_KRETPROBE(ssl_ret, int rc) {
  __u64 id = bpf_get_current_pid_tgid();
  struct active_call* call = bpf_map_lookup_elem(&active, &id);
  if (!call) return 0;
  struct active_call c = *call;
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

  __u32 tgid = id >> 32;
  struct sm_conn_key key = {.tgid = tgid, .ssl = c.ssl};
  struct conn_state* st = bpf_map_lookup_elem(&conns, &key);
  bool first_of_conn = !st;
  if (!st) {
    struct conn_state fresh = {.id = (bpf_ktime_get_ns() << 6) | (bpf_get_smp_processor_id() & 63), .fd = -1};
    bpf_map_update_elem(&conns, &key, &fresh, BPF_NOEXIST);
    st = bpf_map_lookup_elem(&conns, &key);
    if (!st) return 0;
  }
  if (st->fd < 0 && c.fd >= 0 && read_peer(c.fd, st)) {
    st->fd = c.fd;
    struct sm_fd_key fk = {.tgid = tgid, .fd = c.fd};
    bpf_map_update_elem(&fd_conns, &fk, &c.ssl, BPF_ANY);
  }

  __u32 zero = 0;
  struct sm_data_event* ev = bpf_map_lookup_elem(&scratch, &zero);
  if (!ev) return 0;
  __u8 dir = c.direction & 1;
  ev->hdr.type = SM_EV_DATA;
  ev->hdr.tgid = tgid;
  ev->hdr.tid = (__u32)id;
  ev->hdr.pad = 0;
  ev->hdr.ts_ns = bpf_ktime_get_ns();
  ev->ssl = c.ssl;
  ev->conn_id = st->id;
  ev->stream_offset = st->offset[dir];
  ev->fd = st->fd;
  ev->pad2 = 0;
  ev->direction = dir;
  ev->family = st->family;
  ev->dport = st->dport;
  __builtin_memcpy(ev->daddr, st->daddr, sizeof(ev->daddr));
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));

  __u64 max = (__u64)SM_CHUNK_BYTES * SM_MAX_CHUNKS;
  __u64 copy = bytes > max ? max : bytes;
  if (bytes > max) count(SM_CNT_OVERSIZE_BYTES, bytes - max);
  st->offset[dir] += bytes;

  struct emit_ctx ectx = {.ev = ev, .src = c.buf, .total = copy, .first_of_conn = first_of_conn};
  bpf_loop(SM_MAX_CHUNKS, emit_chunk, &ectx, 0);
  return 0;
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

/* The nested syscall: the first socket read/write made inside an SSL call names its fd. */
static __always_inline int note_fd(long fd) {
  __u64 id = bpf_get_current_pid_tgid();
  struct active_call* call = bpf_map_lookup_elem(&active, &id);
  if (call && call->fd < 0) call->fd = (__s32)fd;
  return 0;
}

#define NESTED_FD_TRACEPOINT(name)                                          \
  SEC("tracepoint/syscalls/sys_enter_" #name)                               \
  int tp_enter_##name(struct trace_event_raw_sys_enter* ctx) {              \
    return note_fd((long)ctx->args[0]);                                     \
  }

NESTED_FD_TRACEPOINT(write)
NESTED_FD_TRACEPOINT(writev)
NESTED_FD_TRACEPOINT(sendto)
NESTED_FD_TRACEPOINT(sendmsg)
NESTED_FD_TRACEPOINT(read)
NESTED_FD_TRACEPOINT(readv)
NESTED_FD_TRACEPOINT(recvfrom)
NESTED_FD_TRACEPOINT(recvmsg)

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
  return fd_lifecycle((long)ctx->args[0]);
}

/* connect() on an fd we still map to an SSL* means the old connection ended without our seeing it. */
SEC("tracepoint/syscalls/sys_enter_connect")
int tp_enter_connect(struct trace_event_raw_sys_enter* ctx) {
  return fd_lifecycle((long)ctx->args[0]);
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
  ev->pad = 0;
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));
  /* interp is the file actually run: the interpreter for a script, else the same as filename. */
  const char* fname = BPF_CORE_READ(bprm, interp);
  if (bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), fname) < 0) ev->filename[0] = 0;
  /* The new image's argv, already in place at this tracepoint (current is p). */
  unsigned long arg_start = BPF_CORE_READ(p, mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(p, mm, arg_end);
  __u64 n = arg_end > arg_start ? arg_end - arg_start : 0;
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
