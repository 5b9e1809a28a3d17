// SPDX-License-Identifier: MIT
// tests/tools/test_run.cc: end-to-end runs of the hvabs-run binary - exit codes, console, devices, errors.
#include <hvabs.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#ifndef HVABS_RUN_GUEST_DIR
#define HVABS_RUN_GUEST_DIR ""
#endif

namespace
{

struct RunResult {
	int status = -1; // exit status, or -1 when killed by a signal
	int signal = 0;
	std::string out, err;
	bool timed_out = false;
};

struct RunSpec {
	std::vector<std::string> args;
	std::string input; // written to stdin, which is then closed
	int signal_after_ms = -1; // send @signal this long after start
	int signal = SIGINT;
	std::vector<std::string> env; // "NAME=value" added to the environment
	int timeout_ms = 30000;
};

void set_cloexec_pipe(int fds[2])
{
	ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
}

[[noreturn]] void child_exec(const RunSpec &spec, int in, int out, int err)
{
	std::vector<char *> argv;

	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	for (const std::string &e : spec.env)
		putenv(const_cast<char *>(e.c_str()));
	argv.push_back(const_cast<char *>(HVABS_RUN_PATH));
	for (const std::string &a : spec.args)
		argv.push_back(const_cast<char *>(a.c_str()));
	argv.push_back(nullptr);
	execv(argv[0], argv.data());
	_exit(127);
}

// Pump stdin/stdout/stderr until both outputs close; deliver the signal; enforce the timeout.
void pump(const RunSpec &spec, pid_t pid, int in, int out, int err, RunResult &r)
{
	auto start = std::chrono::steady_clock::now();
	size_t written = 0;
	bool signalled = false;
	int open_fds = 2;

	if (spec.input.empty()) {
		close(in);
		in = -1;
	}
	while (open_fds > 0) {
		pollfd pfd[3] = { { out, POLLIN, 0 }, { err, POLLIN, 0 }, { in, POLLOUT, 0 } };
		int ms = (int)std::chrono::duration_cast<std::chrono::milliseconds>(
				 std::chrono::steady_clock::now() - start)
				 .count();

		if (!signalled && spec.signal_after_ms >= 0 && ms >= spec.signal_after_ms) {
			kill(pid, spec.signal);
			signalled = true;
		}
		if (ms > spec.timeout_ms) {
			kill(pid, SIGKILL);
			r.timed_out = true;
			break;
		}
		if (poll(pfd, in >= 0 ? 3 : 2, 20) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			char buf[4096];
			ssize_t n;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n > 0) {
				(i == 0 ? r.out : r.err).append(buf, (size_t)n);
			} else {
				close(pfd[i].fd);
				(i == 0 ? out : err) = -1;
				open_fds--;
			}
		}
		if (in >= 0 && (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n =
				write(in, spec.input.data() + written, spec.input.size() - written);
			if (n > 0)
				written += (size_t)n;
			if (n < 0 || written == spec.input.size()) {
				close(in);
				in = -1;
			}
		}
	}
	for (int fd : { in, out, err })
		if (fd >= 0)
			close(fd);
}

RunResult run_tool(const RunSpec &spec)
{
	RunResult r;
	int in[2], out[2], err[2], status = 0;

	set_cloexec_pipe(in);
	set_cloexec_pipe(out);
	set_cloexec_pipe(err);
	signal(SIGPIPE, SIG_IGN);
	pid_t pid = fork();
	if (pid == 0)
		child_exec(spec, in[0], out[1], err[1]);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	pump(spec, pid, in[1], out[0], err[0], r);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		r.status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		r.signal = WTERMSIG(status);
	return r;
}

RunResult run_args(std::vector<std::string> args, std::string input = "")
{
	RunSpec spec;

	spec.args = std::move(args);
	spec.input = std::move(input);
	return run_tool(spec);
}

std::string guest(const std::string &name)
{
	return std::string(HVABS_RUN_GUEST_DIR) + "/" + name;
}

bool contains(const std::string &hay, const std::string &needle)
{
	return hay.find(needle) != std::string::npos;
}

size_t lines(const std::string &s)
{
	return (size_t)std::count(s.begin(), s.end(), '\n');
}

// A temporary file holding @bytes; removed with the object.
struct TempFile {
	std::string path;

	explicit TempFile(const std::vector<uint8_t> &bytes)
	{
		char tmpl[] = "/tmp/hvabs-run-test-XXXXXX";
		int fd = mkstemp(tmpl);

		path = tmpl;
		if (fd >= 0) {
			if (!bytes.empty() && write(fd, bytes.data(), bytes.size()) < 0)
				path.clear();
			close(fd);
		}
	}
	~TempFile()
	{
		unlink(path.c_str());
	}
};

// ---- without a backend: command line and image errors ----

TEST(RunCli, HelpListsOptionsDevicesAndExitCodes)
{
	RunResult r = run_args({ "--help" });

	EXPECT_EQ(0, r.status);
	for (const char *s :
	     { "--backend", "--mem", "--vcpus", "--entry", "--mode", "--trace", "0x3f8", "0x501",
	       "0x502", "0x09000000", "0x09010000", "0x09020000", "130", "HVABS_BACKEND" })
		EXPECT_TRUE(contains(r.out, s)) << s;
}

TEST(RunCli, UsageErrorsExitTwo)
{
	TempFile img({ 0xf4 });

	EXPECT_EQ(2, run_args({}).status);
	EXPECT_EQ(2, run_args({ "--no-such-option", img.path }).status);
	EXPECT_EQ(2, run_args({ "--vcpus", "0", img.path }).status);
	EXPECT_EQ(2, run_args({ "--vcpus", "65", img.path }).status);
	EXPECT_EQ(2, run_args({ "--arch", "mips", img.path }).status);
	EXPECT_EQ(2, run_args({ "--mode", "el1", img.path }).status);
	EXPECT_EQ(2, run_args({ "--arch", "arm64", "--mode", "real", img.path }).status);
	RunResult r = run_args({ "--mem", "4095", img.path });
	EXPECT_EQ(2, r.status);
	EXPECT_TRUE(contains(r.err, "multiple of 4K")) << r.err;
	EXPECT_EQ(2, run_args({ img.path, img.path }).status);
}

TEST(RunCli, MissingImageFile)
{
	RunResult r = run_args({ "/nonexistent/hvabs-run-image" });

	EXPECT_EQ(2, r.status);
	EXPECT_EQ(1u, lines(r.err)) << r.err;
}

// Each malformed image: exit 2 and exactly one line naming the problem.
TEST(RunCli, MalformedImagesGiveOneLineAndExitTwo)
{
	std::vector<uint8_t> elf_head = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0,
					  0,	0,   0,	  0,   0, 0, 0, 2, 0 };
	std::vector<uint8_t> bad_class = elf_head;
	bad_class[4] = 9;
	bad_class.resize(64, 0);
	struct {
		std::vector<uint8_t> bytes;
		const char *message;
	} cases[] = {
		{ {}, "empty image" },
		{ elf_head, "truncated ELF header" },
		{ bad_class, "bad ELF class" },
	};

	for (const auto &c : cases) {
		TempFile img(c.bytes);
		RunResult r = run_args({ "--backend", "sim", img.path });

		EXPECT_EQ(2, r.status) << c.message;
		EXPECT_EQ(1u, lines(r.err)) << r.err;
		EXPECT_TRUE(contains(r.err, c.message)) << r.err;
		EXPECT_TRUE(r.out.empty());
	}
}

TEST(RunCli, FlatImageMustFitInRam)
{
	TempFile img(std::vector<uint8_t>(8192, 0x90));
	RunResult r = run_args({ "--mem", "8K", img.path }); // loaded at 0x1000: one page short

	EXPECT_EQ(2, r.status);
	EXPECT_TRUE(contains(r.err, "does not fit in guest RAM")) << r.err;
	r = run_args({ "--entry", "0x4000000", img.path }); // entry = load address = top of 64M
	EXPECT_EQ(2, r.status);
}

TEST(RunCli, LayoutConstraints)
{
	TempFile img({ 0xf4 });
	RunResult r = run_args({ "--entry", "0x200000", img.path });

	EXPECT_EQ(2, r.status);
	EXPECT_TRUE(contains(r.err, "real mode")) << r.err;
	r = run_args({ "--mode", "prot32", "--entry", "0x90000", img.path });
	EXPECT_EQ(2, r.status);
	EXPECT_TRUE(contains(r.err, "page-table area")) << r.err;
	r = run_args({ "--mode", "long64", "--mem", "512K", img.path });
	EXPECT_EQ(2, r.status);
}

TEST(RunCli, UnknownBackendIsAFailure)
{
	TempFile img({ 0xf4 });
	RunResult r = run_args({ "--backend", "nosuch", img.path });

	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(contains(r.err, "not compiled")) << r.err;
}

TEST(RunCli, AutoFallsBackToSimWithANotice)
{
#ifndef HVABS_RUN_X86_GUESTS
	GTEST_SKIP() << "no x86 assembler";
#else
	RunSpec spec;

	spec.args = { guest("x86_hello.bin") };
	spec.env = { "HVABS_BACKEND=gunyah" }; // not usable here: auto must fall back
	RunResult r = run_tool(spec);
	EXPECT_TRUE(contains(r.err, "no hardware backend available (")) << r.err;
	EXPECT_TRUE(contains(r.err, "); using sim")) << r.err;
#endif
}

// ---- guests, on every backend that can run them ----

bool backend_runs(const char *backend, enum hvabs_arch arch)
{
	struct hvabs_caps caps = {};

	caps.version = HVABS_CAPS_VERSION;
	if (hvabs_backend_probe(backend) || hvabs_backend_caps(backend, &caps))
		return false;
	return (caps.features & HVABS_FEAT_REAL_GUESTS) && (caps.archs & (1u << arch));
}

// Skip the test unless the backend under test runs @arch guest code here.
#define REQUIRE_GUESTS(arch)                          \
	do {                                          \
		std::string why_ = skip_reason(arch); \
		if (!why_.empty())                    \
			GTEST_SKIP() << why_;         \
	} while (0)

class RunGuest : public ::testing::TestWithParam<const char *> {
protected:
	// Why this backend cannot run @arch guests here, or "" when it can.
	std::string skip_reason(enum hvabs_arch arch) const
	{
		const char *name = arch == HVABS_ARCH_ARM64 ? "arm64" : "x86_64";

#ifndef HVABS_RUN_X86_GUESTS
		if (arch == HVABS_ARCH_X86_64)
			return "x86 guests were not built (no GNU as/ld for x86)";
#endif
#ifndef HVABS_RUN_ARM64_GUESTS
		if (arch == HVABS_ARCH_ARM64)
			return "arm64 guests were not built (no aarch64 binutils)";
#endif
		if (!backend_runs(GetParam(), arch))
			return std::string(GetParam()) + " cannot run " + name + " guests here";
		return "";
	}

	RunResult run(std::vector<std::string> args, std::string input = "")
	{
		args.insert(args.begin(), { "--backend", GetParam() });
		return run_args(std::move(args), std::move(input));
	}
};

TEST_P(RunGuest, HelloPrintsAndExitsWithItsStatus)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ guest("x86_hello.bin") });

	EXPECT_EQ(3, r.status) << r.err;
	EXPECT_EQ("hi\n", r.out);
	EXPECT_TRUE(contains(r.err, std::string("backend ") + GetParam())) << r.err;
	EXPECT_TRUE(contains(r.err, "exits:")) << r.err;
	EXPECT_TRUE(contains(r.err, "dispatched to handlers")) << r.err;
}

TEST_P(RunGuest, QuietPrintsNothingOnStderr)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "--quiet", guest("x86_hello.bin") });

	EXPECT_EQ(3, r.status);
	EXPECT_EQ("hi\n", r.out);
	EXPECT_EQ("", r.err);
}

TEST_P(RunGuest, HaltWithoutExitDevice)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "-q", guest("x86_halt.bin") });

	EXPECT_EQ(131, r.status);
	EXPECT_EQ("H", r.out);
	EXPECT_TRUE(contains(r.err, "halted")) << r.err;
}

TEST_P(RunGuest, UnservedAccessesReadAllOnesAndAreTraced)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "--trace", "--mem", "512K", guest("x86_unserved.bin") });

	EXPECT_EQ(0x3f, r.status) << r.err;
	EXPECT_TRUE(contains(r.err, "PIO out port 0x80 size 1 count 1 data 0x55")) << r.err;
	EXPECT_TRUE(contains(r.err, "PIO in port 0x80 size 1 count 1 data 0xff")) << r.err;
	EXPECT_TRUE(contains(r.err, "MMIO write addr 0xd0000 len 1 data 0x12")) << r.err;
	EXPECT_TRUE(contains(r.err, "MMIO read addr 0xd0000 len 1 data 0xff")) << r.err;
	EXPECT_TRUE(contains(r.err, "(4 unserved)")) << r.err;
}

TEST_P(RunGuest, ConsoleEchoesStdin)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "-q", guest("x86_echo.bin") }, "abc\nxyz q");

	EXPECT_EQ(42, r.status) << "99 means a 16550 register check failed";
	EXPECT_EQ("abc\nxyz ", r.out);
}

TEST_P(RunGuest, EveryVcpuReadsItsOwnId)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "-q", "--vcpus", "3", guest("x86_vcpuid.bin") });

	EXPECT_EQ(16 + 3, r.status) << r.err;
	ASSERT_EQ(4u, r.out.size()) << r.out;
	std::string ids = r.out.substr(0, 3);
	std::sort(ids.begin(), ids.end());
	EXPECT_EQ("012", ids);
	EXPECT_EQ('\n', r.out[3]);
}

TEST_P(RunGuest, Elf32StartsInProtectedMode)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "-q", guest("x86_prot32.elf") });

	EXPECT_EQ(32, r.status) << r.err;
	EXPECT_EQ("prot32\n", r.out);
}

TEST_P(RunGuest, Elf64StartsInLongMode)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "-q", guest("x86_long64.elf") });

	EXPECT_EQ(64, r.status) << r.err;
	EXPECT_EQ("long64\n", r.out);
}

// An unhandled #UD: the sim engine crashes the VM (133), KVM reports a triple-fault shutdown (132).
TEST_P(RunGuest, GuestFaultEndsWithOneLineReason)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunResult r = run({ "-q", "--mode", "prot32", "--entry", "0x100000", guest("x86_ud.bin") });
	bool sim = std::string(GetParam()) == "sim";

	EXPECT_EQ(sim ? 133 : 132, r.status) << r.err;
	EXPECT_EQ(1u, lines(r.err)) << r.err;
	EXPECT_TRUE(contains(
		r.err, sim ? "VM crashed (vcpu 0): exit type GUEST_FAULT (0x100), reason 02 06" :
			     "shut down"))
		<< r.err;
}

TEST_P(RunGuest, SigintStopsASpinningGuest)
{
	REQUIRE_GUESTS(HVABS_ARCH_X86_64);
	RunSpec spec;

	spec.args = { "--backend", GetParam(), "--vcpus", "2", guest("x86_spin.bin") };
	spec.signal_after_ms = 300;
	RunResult r = run_tool(spec);
	EXPECT_FALSE(r.timed_out);
	EXPECT_EQ(130, r.status) << "signal " << r.signal;
	EXPECT_TRUE(contains(r.err, "interrupted by SIGINT")) << r.err;
}

TEST_P(RunGuest, Arm64FlatHello)
{
	REQUIRE_GUESTS(HVABS_ARCH_ARM64);
	RunResult r = run({ "-q", "--arch", "arm64", guest("arm64_hello.bin") });

	EXPECT_EQ(5, r.status) << r.err;
	EXPECT_EQ("hi arm64\n", r.out);
}

TEST_P(RunGuest, Arm64ElfPicksItsArchitecture)
{
	REQUIRE_GUESTS(HVABS_ARCH_ARM64);
	RunResult r = run({ "-q", guest("arm64_hello.elf") });

	EXPECT_EQ(5, r.status) << r.err;
	EXPECT_EQ("hi arm64\n", r.out);
}

INSTANTIATE_TEST_SUITE_P(Backends, RunGuest, ::testing::Values("sim", "kvm"),
			 [](const ::testing::TestParamInfo<const char *> &info) {
				 return std::string(info.param);
			 });

} // namespace
