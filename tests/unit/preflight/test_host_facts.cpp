// The preflight's host facts, from the texts /proc and /sys give (no privilege needed).
#include "preflight/host_facts.h"

#include <catch2/catch.hpp>

using namespace shadowmeter::preflight;

namespace {
const Capability& cap(std::string_view name) {
  for (const auto& c : required_capabilities())
    if (c.name == name) return c;
  FAIL("no capability " << name);
  return required_capabilities().front();
}
}  // namespace

TEST_CASE("kernel release") {
  auto v = parse_kernel_release("6.18.44-fc-v769");
  REQUIRE(v);
  CHECK(v->major == 6);
  CHECK(v->minor == 18);
  v = parse_kernel_release("5.17");
  REQUIRE(v);
  CHECK((v->major == 5 && v->minor == 17));
  CHECK_FALSE(parse_kernel_release(""));
  CHECK_FALSE(parse_kernel_release("6"));
  CHECK_FALSE(parse_kernel_release("x.y"));
  CHECK_FALSE(parse_kernel_release("6.x"));
}

TEST_CASE("CapEff from /proc/self/status") {
  const std::string status =
      "Name:\tshadowmeter-agent\nUmask:\t0022\nCapInh:\t0000000000000000\nCapPrm:\t000000c001080004\n"
      "CapEff:\t000000c001080004\nCapBnd:\t000000c001080004\nCapAmb:\t000000c001080004\nNoNewPrivs:\t1\n";
  const auto eff = parse_cap_eff(status);
  REQUIRE(eff);
  CHECK(*eff == 0xc001080004ull);
  // The five capabilities the unit grants, and only those: bits 2, 19, 24, 38, 39.
  for (const auto& c : required_capabilities()) CHECK(holds(*eff, c));
  CHECK(*eff == ((1ull << 2) | (1ull << 19) | (1ull << 24) | (1ull << 38) | (1ull << 39)));

  CHECK_FALSE(parse_cap_eff("Name:\tx\nCapPrm:\t0000000000000000\n"));  // no CapEff line
  CHECK_FALSE(parse_cap_eff("CapEff:\t\n"));
  CHECK_FALSE(parse_cap_eff("CapEff:\t00000zz0\n"));
  CHECK_FALSE(parse_cap_eff("CapEff:\t11112222333344445\n"));  // more than 64 bits
  CHECK(parse_cap_eff("CapEff:\t0000000000000000") == 0u);        // last line without newline
}

TEST_CASE("required capabilities: which block, and CAP_SYS_ADMIN standing in") {
  REQUIRE(required_capabilities().size() == 5);
  CHECK(cap("CAP_BPF").number == 39);
  CHECK(cap("CAP_PERFMON").number == 38);
  CHECK(cap("CAP_SYS_PTRACE").number == 19);
  CHECK(cap("CAP_DAC_READ_SEARCH").number == 2);
  CHECK(cap("CAP_SYS_RESOURCE").number == 24);
  CHECK(cap("CAP_BPF").blocking);
  CHECK_FALSE(cap("CAP_SYS_RESOURCE").blocking);

  const std::uint64_t sys_admin = 1ull << 21;
  CHECK(holds(sys_admin, cap("CAP_BPF")));
  CHECK(holds(sys_admin, cap("CAP_PERFMON")));
  CHECK_FALSE(holds(sys_admin, cap("CAP_SYS_PTRACE")));
  CHECK_FALSE(holds(0, cap("CAP_BPF")));
  const std::uint64_t all_but_resource = 0x1fffeffffffull;  // root in a sandbox without CAP_SYS_RESOURCE
  CHECK_FALSE(holds(all_but_resource, cap("CAP_SYS_RESOURCE")));
  CHECK(holds(all_but_resource, cap("CAP_DAC_READ_SEARCH")));
}

TEST_CASE("cgroup mounts from mountinfo") {
  SECTION("unified (v2)") {
    const auto m = parse_cgroup_mounts(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n");
    CHECK(m.version() == "v2");
    CHECK(m.v2 == "/sys/fs/cgroup");
    CHECK(m.v1.empty());
  }
  SECTION("hybrid") {
    const auto m = parse_cgroup_mounts(
        "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "32 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    CHECK(m.version() == "hybrid");
    CHECK(m.v2 == "/sys/fs/cgroup/unified");
    CHECK(m.v1 == std::vector<std::string>{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory"});
  }
  SECTION("v1 only, with optional fields before the separator") {
    const auto m = parse_cgroup_mounts(
        "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 master:2 - cgroup cgroup rw,cpu,cpuacct\n");
    CHECK(m.version() == "v1");
    CHECK(m.v1 == std::vector<std::string>{"/sys/fs/cgroup/cpu,cpuacct"});
  }
  SECTION("escaped mount point") {
    const auto m = parse_cgroup_mounts("35 24 0:30 / /host\\040root/cgroup rw - cgroup2 cgroup2 rw\n");
    CHECK(m.v2 == "/host root/cgroup");
  }
  SECTION("none, and malformed lines skipped") {
    const auto m = parse_cgroup_mounts(
        "garbage\n"
        "1 2 3 4 5 6 -\n"                               // no type after the separator
        "31 30 0:28 / /sys/fs/cgroup rw cgroup2 x\n"  // no separator
        "\n"
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw");
    CHECK(m.version() == "none");
  }
}

TEST_CASE("tracefs mount point from mountinfo") {
  const std::string mi =
      "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "50 23 0:12 / /sys/kernel/tracing rw,relatime - tracefs tracefs rw\n"
      "51 23 0:7 / /sys/kernel/debug rw,relatime - debugfs debugfs rw\n";
  CHECK(find_mount(mi, "tracefs") == "/sys/kernel/tracing");
  CHECK(find_mount(mi, "debugfs") == "/sys/kernel/debug");
  CHECK(find_mount(mi, "bpf").empty());
}

TEST_CASE("PID namespace: host or container") {
  const std::string host_ns = "pid:[4026531836]";
  SECTION("host namespace by its fixed inode") {
    const auto v = judge_pid_namespace(host_ns, host_ns, "kthreadd\n", "systemd\n");
    CHECK(v.host);
    CHECK(v.detail.find("pid 1 is systemd") != std::string::npos);
  }
  SECTION("host namespace while pid 1's link is unreadable (as in some sandboxes)") {
    CHECK(judge_pid_namespace(host_ns, "", "kthreadd", "process_api").host);
  }
  SECTION("container without hostPID") {
    const auto v = judge_pid_namespace("pid:[4026532301]", "pid:[4026532301]", "", "pause");
    CHECK_FALSE(v.host);
    CHECK(v.detail.find("own PID namespace pid:[4026532301]") != std::string::npos);
    CHECK(v.detail.find("pause") != std::string::npos);
  }
  SECTION("host /proc mounted but the agent in its own namespace: ids would not match") {
    const auto v = judge_pid_namespace("pid:[4026532301]", host_ns, "kthreadd", "systemd");
    CHECK_FALSE(v.host);
    CHECK(v.detail.find("would not match") != std::string::npos);
  }
  SECTION("own namespace unreadable: kthreadd decides") {
    CHECK(judge_pid_namespace("", "", "kthreadd", "systemd").host);
    CHECK_FALSE(judge_pid_namespace("", "", "sh", "sh").host);
  }
}

TEST_CASE("tracefs events of BPF program sections") {
  CHECK(tracefs_event_of_section("tracepoint/syscalls/sys_enter_write") == "syscalls/sys_enter_write");
  CHECK(tracefs_event_of_section("tp/sched/sched_process_exec") == "sched/sched_process_exec");
  CHECK_FALSE(tracefs_event_of_section("tp_btf/sched_process_exec"));  // BTF tracepoint: no tracefs entry
  CHECK_FALSE(tracefs_event_of_section("raw_tp/sys_enter"));
  CHECK_FALSE(tracefs_event_of_section("uprobe"));
  CHECK_FALSE(tracefs_event_of_section("uretprobe"));
  CHECK_FALSE(tracefs_event_of_section("tracepoint/syscalls"));
  CHECK_FALSE(tracefs_event_of_section("tracepoint//x"));
  CHECK_FALSE(tracefs_event_of_section("tracepoint/a/b/c"));
}
