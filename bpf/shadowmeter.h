/* Types and constants shared by the BPF programs (shadowmeter.bpf.c) and the agent (agent/probes/).
 * Fixed-width types only; this is the one header both sides include. */
#ifndef SHADOWMETER_BPF_SHARED_H
#define SHADOWMETER_BPF_SHARED_H

#ifdef __cplusplus
#include <cstdint>
typedef std::uint8_t sm_u8;
typedef std::uint16_t sm_u16;
typedef std::uint32_t sm_u32;
typedef std::int32_t sm_s32;
typedef std::uint64_t sm_u64;
#else
typedef __u8 sm_u8;
typedef __u16 sm_u16;
typedef __u32 sm_u32;
typedef __s32 sm_s32;
typedef __u64 sm_u64;
#endif

/* Payload bytes per ring-buffer record. A larger SSL call is split into several records. */
#define SM_CHUNK_BYTES 16384
/* Records per SSL call; bytes beyond SM_CHUNK_BYTES * SM_MAX_CHUNKS are not copied, but the stream
 * offset still advances, so user space sees (and counts) the gap instead of a silent cut. */
#define SM_MAX_CHUNKS 64
#define SM_COMM_LEN 16
#define SM_PATH_LEN 256
#define SM_ARGS_LEN 1024 /* argv bytes carried by an exec record (NUL-separated, maybe cut) */

enum sm_event_type {
  SM_EV_DATA = 1,     /* plaintext chunk of one SSL_read/SSL_write */
  SM_EV_CONN_END = 2, /* SSL_free / SSL_shutdown / close(fd) of a tracked connection */
  SM_EV_EXEC = 3,     /* a process image was replaced (attach manager rescans it) */
  SM_EV_EXIT = 4,     /* a thread-group leader exited */
  SM_EV_LIB_MAPPED = 5, /* a process mapped a libssl* file executable (dlopen, a late load) */
  SM_EV_TLS_HELLO = 6,  /* first bytes a tracked TCP socket wrote, when they start a TLS handshake */
  SM_EV_SOCK_CLOSE = 7, /* a tracked socket (TLS hello seen, plaintext destination) was closed */
  SM_EV_DNS_ANSWER = 8, /* bytes a socket connected to port 53 received (sm_hello_event layout) */
};

/* Bytes of a TLS ClientHello carried by an SM_EV_TLS_HELLO record (with a post-quantum key share a
 * hello is ~1.8 KB and the SNI may come after it). */
#define SM_HELLO_BYTES 2048

/* sock_state.flags (and sm_sock_close_event.flags) */
enum sm_sock_flags {
  SM_SOCK_TLS_HELLO = 1,  /* its first write was a TLS handshake record */
  SM_SOCK_SSL_SEEN = 2,   /* an SSL uprobe read this socket's plaintext: never a blind call */
  SM_SOCK_PLAINTEXT = 4,  /* destination in plain_dests: payload copied as SM_EV_DATA */
  SM_SOCK_DNS = 8,        /* UDP/TCP to port 53: responses reported (DNS names for addresses) */
  SM_SOCK_WROTE = 16,     /* first write handled */
  SM_SOCK_STREAM = 32,    /* TCP (a DNS answer then starts with a 2-byte length) */
  SM_SOCK_SSL_LATE = 64,  /* an SSL uprobe read this socket, but its first call seen was a read */
};

/* SM_EV_DATA records of plaintext sockets carry this in `ssl` (| fd), so their connection keys
 * never collide with an SSL* (user-space addresses are below 2^63). */
#define SM_PLAIN_KEY_BIT (1ull << 63)

/* The taps: probe sets on one TLS library's API, each producing SM_EV_DATA / SM_EV_CONN_END records
 * of the same form (`ssl` is that library's connection object). */
enum sm_tap {
  SM_TAP_OPENSSL = 0, /* SSL_read/SSL_write (+ _ex): the SSL* */
  SM_TAP_GO = 1,      /* Go crypto/tls (*Conn).Read/Write: the *tls.Conn */
};

enum sm_direction {
  SM_DIR_EGRESS = 0,  /* SSL_write: bytes the process sends */
  SM_DIR_INGRESS = 1, /* SSL_read: bytes the process receives */
};

enum sm_conn_end_reason {
  SM_END_SSL_FREE = 1,
  SM_END_SSL_SHUTDOWN = 2,
  SM_END_CLOSE = 3,
};

/* Per-CPU counters (index into the `counters` array map). */
enum sm_counter {
  SM_CNT_RINGBUF_DROPS = 0,      /* failed ring-buffer writes (records lost) */
  SM_CNT_RINGBUF_DROP_BYTES = 1, /* payload bytes in those records */
  SM_CNT_OVERSIZE_BYTES = 2,     /* bytes beyond SM_MAX_CHUNKS records of one call */
  SM_CNT_SSL_CALLS = 3,          /* SSL read/write calls seen (returned) */
  SM_CNT_IGNORED_CALLS = 4,      /* calls on connections marked not-AI (no copy made) */
  SM_CNT_READ_FAULT_BYTES = 5,   /* bytes bpf_probe_read_user could not copy (page not resident) */
  SM_CNT_SOCKS_TRACKED = 6,      /* TCP connects tracked (and UDP to port 53) */
  SM_CNT_PLAIN_IOV_LOST = 7,     /* plaintext bytes beyond the first iovec of readv/writev/msg calls */
  SM_CNT_GO_CALLS = 8,           /* Go crypto/tls Read/Write calls seen (returned with bytes) */
  SM_CNT_GO_UNMATCHED_RETS = 9,  /* Go RET probes with no entry recorded for the goroutine */
  SM_CNT_MAX = 10,
};

struct sm_conn_key {
  sm_u32 tgid;
  sm_u32 pad;
  sm_u64 ssl; /* SSL* in the process's address space */
};

struct sm_fd_key {
  sm_u32 tgid;
  sm_s32 fd;
};

/* Common prefix of every ring-buffer record. */
struct sm_event_header {
  sm_u32 type;
  sm_u32 tgid;
  sm_u32 tid;
  sm_u32 pad;
  sm_u64 ts_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
};

struct sm_data_event {
  struct sm_event_header hdr;
  sm_u64 ssl;
  sm_u64 conn_id;       /* unique per connection: an SSL* address is reused after SSL_free */
  sm_u64 stream_offset; /* offset of data[0] within this direction's byte stream */
  sm_u32 len;           /* bytes in data[] */
  sm_u32 lost;          /* bytes of this record that could not be read (then len is 0) */
  sm_s32 fd;            /* socket fd, -1 when not (yet) known */
  sm_u32 tap;           /* enum sm_tap: which TLS library's probes read it */
  sm_u8 direction;      /* enum sm_direction */
  sm_u8 family;         /* AF_INET / AF_INET6 / 0 when unknown */
  sm_u16 dport;         /* peer port, host byte order, 0 when unknown */
  sm_u8 daddr[16];      /* peer address (IPv4 in the first 4 bytes) */
  char comm[SM_COMM_LEN];
  sm_u8 data[SM_CHUNK_BYTES];
};

struct sm_conn_end_event {
  struct sm_event_header hdr;
  sm_u64 ssl;
  sm_u64 conn_id;
  sm_s32 fd;
  sm_u32 reason; /* enum sm_conn_end_reason */
};

/* Key of the plain_dests LPM trie: destination port (network order) then the address, IPv4 as
 * ::ffff:a.b.c.d; prefixlen counts the 16 port bits plus the address prefix bits. */
struct sm_dest_key {
  sm_u32 prefixlen;
  sm_u8 port[2];
  sm_u8 addr[16];
};

struct sm_hello_event {
  struct sm_event_header hdr;
  sm_u64 sock_id;  /* unique per tracked socket */
  sm_u64 start_ns; /* connect() */
  sm_s32 fd;
  sm_u32 len;      /* bytes in data[] */
  sm_u32 total;    /* bytes the write carried */
  sm_u8 family;
  sm_u8 pad;
  sm_u16 dport;
  sm_u8 daddr[16];
  char comm[SM_COMM_LEN];
  sm_u8 data[SM_HELLO_BYTES];
};

struct sm_sock_close_event {
  struct sm_event_header hdr;
  sm_u64 sock_id;
  sm_u64 start_ns;
  sm_u64 bytes_sent;
  sm_u64 bytes_received;
  sm_s32 fd;
  sm_u32 flags; /* enum sm_sock_flags */
  sm_u8 family;
  sm_u8 pad;
  sm_u16 dport;
  sm_u8 daddr[16];
};

/* The BPF socks map's value; user space reads it for sockets still open when their process exits. */
struct sm_sock_state {
  sm_u64 id;
  sm_u64 start_ns;
  sm_u64 bytes[2];  /* by enum sm_direction */
  sm_u64 offset[2]; /* plaintext stream offsets */
  sm_u32 flags;
  sm_u8 family;
  sm_u8 pad;
  sm_u16 dport;
  sm_u8 daddr[16];
};

/* What user space needs to attribute a process, taken at exec: a short-lived client may be gone
 * from /proc before its first response is parsed. */
struct sm_exec_event {
  struct sm_event_header hdr;
  sm_u32 ppid;
  sm_u32 uid;              /* real uid */
  sm_u64 start_boottime;   /* ns since boot, as /proc/PID/stat's start time */
  sm_u32 args_len;         /* bytes in args[] */
  sm_u32 args_total;       /* bytes of the whole argv (more than args_len: args[] was cut) */
  char comm[SM_COMM_LEN];
  char filename[SM_PATH_LEN]; /* the executable (the interpreter for a script) */
  char args[SM_ARGS_LEN];
};

#endif
