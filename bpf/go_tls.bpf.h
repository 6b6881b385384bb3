/* SPDX-License-Identifier: GPL-2.0 */
/* The Go tap: uprobes on crypto/tls.(*Conn).Write and .Read in Go executables (Go 1.18+ function
 * table, register ABI). Included by shadowmeter.bpf.c after the OpenSSL tap, whose maps and record
 * path (emit_call) it shares, so Go calls come out as the same SM_EV_DATA records, keyed by the
 * *tls.Conn as OpenSSL's are by the SSL*.
 *
 * Go moves goroutine stacks (a uretprobe's rewritten return address would be copied with them), and
 * a goroutine may resume on another thread, so:
 * - entry probes record the call per goroutine (the g pointer in its fixed register), not per thread;
 * - user space puts plain uprobes on every RET instruction of both functions (found by
 *   disassembly); there the results are in registers (n in the first result register);
 * - the socket fd comes from the nested read/write syscall as for OpenSSL: the entry leaves a
 *   per-thread note in `active` that note_fd() fills; it is used when the RET probe runs on the
 *   same thread (a goroutine parked in netpoll and resumed elsewhere leaves it for a later call).
 * The first syscall of a Read is made on the entry thread before any parking, so the fd is
 * normally learned on the first call of a connection. */
#ifndef SHADOWMETER_GO_TLS_BPF_H
#define SHADOWMETER_GO_TLS_BPF_H

/* Go's internal ABI registers, per architecture: receiver and the []byte's pointer and length at
 * entry, the int result at return, and the current goroutine. */
#if defined(__TARGET_ARCH_x86)
#define GO_ARG_RECV(r) ((r)->ax)
#define GO_ARG_BUF(r) ((r)->bx)
#define GO_ARG_LEN(r) ((r)->cx)
#define GO_RESULT_N(r) ((r)->ax)
#define GO_G(r) ((r)->r14)
#elif defined(__TARGET_ARCH_arm64)
#define GO_ARG_RECV(r) ((r)->regs[0])
#define GO_ARG_BUF(r) ((r)->regs[1])
#define GO_ARG_LEN(r) ((r)->regs[2])
#define GO_RESULT_N(r) ((r)->regs[0])
#define GO_G(r) ((r)->regs[28])
#else
#error "Go tap: no register ABI table for this architecture"
#endif

#define GO_CALL_IGNORED 1 /* active_call.is_ex in go_calls: a call on a connection marked not-AI */

struct go_call_key {
  __u32 tgid;
  __u32 pad;
  __u64 g; /* the goroutine (runtime.g address): stable while it lives, whatever thread runs it */
};

/* LRU: a goroutine that never returns from Read (blocked until exit) must not pin a slot. Sized like
 * `conns`: a Go server keeps one goroutine blocked in Read per connection (not-AI calls are recorded
 * too), and an AI call evicted from here loses its bytes (counted as an unmatched return). */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct go_call_key);
  __type(value, struct active_call);
} go_calls SEC(".maps");

static __always_inline int go_entry(struct pt_regs* regs, __u8 direction) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (tgid == agent_tgid) return 0;
  __u64 conn = GO_ARG_RECV(regs);
  __u64 g = GO_G(regs);
  struct go_call_key k = {.tgid = tgid, .g = g};
  /* Every call is recorded, a not-AI one too (marked, nothing copied at its return): the RET
   * probe cannot check which call it ends, so it must never find an older call's record there.
   * The stack-growth path re-enters the function from its first instruction with the same
   * arguments: the second record overwrites the first with the same values. */
  __u8 ignored = conn_ignored(tgid, conn) ? GO_CALL_IGNORED : 0;
  struct active_call call = {.ssl = conn, .buf = GO_ARG_BUF(regs), .len_ptr = GO_ARG_LEN(regs), .fd = -1,
                             .direction = direction, .is_ex = ignored};
  bpf_map_update_elem(&go_calls, &k, &call, BPF_ANY);
  if (ignored) return 0;
  struct active_call note = {.ssl = conn, .len_ptr = g, .fd = -1, .is_ex = SM_ACTIVE_GO_NOTE};
  bpf_map_update_elem(&active, &id, &note, BPF_ANY);
  return 0;
}

SEC("uprobe")
int go_tls_write_entry(struct pt_regs* ctx) { return go_entry(ctx, SM_DIR_EGRESS); }

SEC("uprobe")
int go_tls_read_entry(struct pt_regs* ctx) { return go_entry(ctx, SM_DIR_INGRESS); }

/* At each RET of Write and Read. */
SEC("uprobe")
int go_tls_ret(struct pt_regs* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (tgid == agent_tgid) return 0;
  __u64 g = GO_G(ctx);
  struct go_call_key k = {.tgid = tgid, .g = g};
  struct active_call* call = bpf_map_lookup_elem(&go_calls, &k);
  if (!call) {
    count(SM_CNT_GO_UNMATCHED_RETS, 1); /* attached while the call was in flight */
    return 0;
  }
  struct active_call c = *call;
  bpf_map_delete_elem(&go_calls, &k);
  if (c.is_ex == GO_CALL_IGNORED) return 0;
  struct active_call* note = bpf_map_lookup_elem(&active, &id);
  if (note && note->is_ex == SM_ACTIVE_GO_NOTE && note->len_ptr == g) {
    c.fd = note->fd;
    bpf_map_delete_elem(&active, &id);
  }
  long n = (long)GO_RESULT_N(ctx);
  if (n <= 0) return 0;
  __u64 bytes = (__u64)n;
  if (bytes > c.len_ptr) bytes = c.len_ptr; /* never more than the caller's buffer */
  count(SM_CNT_GO_CALLS, 1);
  return emit_call(id, &c, bytes, SM_TAP_GO);
}

#endif
