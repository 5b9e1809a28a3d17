/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/test_emulator.cc: the emulator's own controls - start options, errno injection, preload mode, costs. */
#include "emu_test.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

extern char **environ;

namespace gemu {
namespace {

class Emulator : public EmuTest {};

TEST_P(Emulator, StartValidatesItsConfiguration)
{
	in_child(
		[this] {
			hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;

			EXPECT_FALSE(hvabs_gunyah_emu_active());
			cfg.version = 0;
			EXPECT_EQ(HVABS_EVERSION, hvabs_gunyah_emu_start(&cfg));
			cfg.version = HVABS_GUNYAH_EMU_CONFIG_VERSION;
			cfg.abi = "v12";
			EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_emu_start(&cfg));
			cfg.abi = abi_name(abi());
			cfg.device = "dev/gunyah";
			EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_emu_start(&cfg));
			cfg.device = "/tmp/hvabs-emu-test-device";
			cfg.faults = "bogus:1:EIO";
			EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_emu_start(&cfg));
			cfg.faults = "open:0:EIO";
			EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_emu_start(&cfg));
			cfg.faults = "create_vm:1:ENOSPC";
			ASSERT_EQ(0, hvabs_gunyah_emu_start(&cfg));
			EXPECT_TRUE(hvabs_gunyah_emu_active());
			EXPECT_EQ(HVABS_EBUSY, hvabs_gunyah_emu_start(&cfg));

			errno = 0;
			EXPECT_EQ(-1, open("/dev/gunyah", O_RDWR)) << "another path was chosen";
			int dev = open("/tmp/hvabs-emu-test-device", O_RDWR | O_CLOEXEC);
			ASSERT_GE(dev, 0);
			EXPECT_EQ(-ENOSPC, sys_ioctl(dev, kCreateVm, (uint64_t)0));
			long vm = sys_ioctl(dev, kCreateVm, (uint64_t)0);
			EXPECT_GE(vm, 0);
		},
		nullptr, false);
}

TEST_P(Emulator, AFaultSpecFailsTheNthCallOfItsKindOnce)
{
	in_child(
		[this] {
			Vm vm;
			long a = vm.add_vcpu(abi(), 0);

			EXPECT_GE(a, 0);
			EXPECT_EQ(-ENOMEM, vm.add_vcpu(abi(), 1));
			EXPECT_EQ(1u, emu_stats().vcpus) << "an injected failure has no side effect";
			long b = vm.add_vcpu(abi(), 1);
			EXPECT_GE(b, 0);
			EXPECT_EQ(3u, hvabs_gunyah_emu_op_count("add_function"));
			EXPECT_EQ(0u, hvabs_gunyah_emu_op_count("no_such_op"));
		},
		"add_function:2:ENOMEM");
}

TEST_P(Emulator, FaultsCanBeArmedAtRunTime)
{
	in_child([this] {
		EXPECT_EQ(HVABS_ENOTFOUND, hvabs_gunyah_emu_fault_set("bogus", 1, EIO));
		EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_emu_fault_set("open", 0, EIO));
		EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_emu_fault_set("open", 1, 0));
		ASSERT_EQ(0, hvabs_gunyah_emu_fault_set("open", 1, EACCES));
		errno = 0;
		EXPECT_EQ(-1, open("/dev/gunyah", O_RDWR));
		EXPECT_EQ(EACCES, errno);

		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, [](hvabs_gunyah_emu_guest *g, void *) {
				hvabs_gunyah_emu_guest_mmio_write(g, 0x9000000, 4, 3);
			}, nullptr));
		Vm vm;
		long fd = vm.add_vcpu(abi(), 0);
		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		ASSERT_EQ(0, hvabs_gunyah_emu_fault_set("vcpu_run", 2, EAGAIN));
		ASSERT_EQ(0, hvabs_gunyah_emu_fault_set("vcpu_mmap_size", 1, EPERM));
		EXPECT_EQ(-EPERM, sys_ioctl(v.fd, kVcpuMmapSize, (uint64_t)0));
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitMmio, v.run->exit_reason);
		EXPECT_EQ(-EAGAIN, v.run_once());
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitStatus, v.run->exit_reason);
		ASSERT_EQ(0, hvabs_gunyah_emu_fault_set("remove_function", 1, EBUSY));
		hvabs_gunyah_emu_fault_clear();
		EXPECT_EQ(0, vm.remove_vcpu(abi(), 0)) << "cleared";
	});
}

/* ---- preload mode ---- */

struct Spawned {
	int status = -1;
	std::string out;
};

Spawned spawn_vmm(const std::vector<std::string> &env_add)
{
	std::vector<std::string> env;
	std::vector<char *> envp;
	std::vector<char *> argv = { (char *)GEMU_PRELOAD_VMM, nullptr };
	posix_spawn_file_actions_t fa;
	Spawned r;
	int p[2];
	pid_t pid;

	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "HVABS_GUNYAH_EMU_", 17))
			env.push_back(*e);
	env.insert(env.end(), env_add.begin(), env_add.end());
	for (std::string &s : env)
		envp.push_back(&s[0]);
	envp.push_back(nullptr);
	if (pipe(p))
		return r;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	if (posix_spawn(&pid, GEMU_PRELOAD_VMM, &fa, nullptr, argv.data(), envp.data()) == 0) {
		char buf[256];
		ssize_t n;

		close(p[1]);
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			r.out.append(buf, (size_t)n);
		waitpid(pid, &r.status, 0);
	} else {
		close(p[1]);
	}
	close(p[0]);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

TEST_P(Emulator, PreloadedIntoAnUnmodifiedProgram)
{
	if (under_asan())
		GTEST_SKIP() << "an ASan library cannot be preloaded ahead of the ASan runtime";
	std::string abi_env = std::string("HVABS_GUNYAH_EMU_ABI=") + abi_name(abi());
	Spawned plain = spawn_vmm({ abi_env });

	ASSERT_TRUE(WIFEXITED(plain.status)) << plain.out;
	EXPECT_EQ(10, WEXITSTATUS(plain.status)) << "without the emulator there is no device";

	Spawned pre = spawn_vmm({ abi_env, "LD_PRELOAD=" GEMU_EMU_LIB });
	ASSERT_TRUE(WIFEXITED(pre.status)) << pre.out;
	EXPECT_EQ(0, WEXITSTATUS(pre.status)) << pre.out;
	/* The LENT flag tells the ABIs apart. */
	EXPECT_NE(std::string::npos, pre.out.find(v10() ? "lent=0" : "lent=-22")) << pre.out;
	EXPECT_NE(std::string::npos, pre.out.find("exit=mmio:0x9000000")) << pre.out;

	Spawned bad = spawn_vmm({ "HVABS_GUNYAH_EMU_ABI=v99", "LD_PRELOAD=" GEMU_EMU_LIB });
	ASSERT_TRUE(WIFEXITED(bad.status));
	EXPECT_EQ(10, WEXITSTATUS(bad.status)) << "a bad setting leaves no device";
}

/* ---- costs (printed, never asserted: timing is not a unit test) ---- */

TEST_P(Emulator, RoundTripCost)
{
	in_child([this] {
		Vm vm;
		long fd = vm.add_vcpu(abi(), 0);
		const int n = 20000;

		ASSERT_GE(fd, 0);
		uint64_t t0 = now_us();
		for (int i = 0; i < n; i++)
			ASSERT_EQ(4096, sys_ioctl((int)fd, kVcpuMmapSize, (uint64_t)0));
		uint64_t t1 = now_us();
		for (int i = 0; i < n; i++)
			ASSERT_EQ(-ENOTTY, sys_ioctl(0, 0x5401ul + 0x1000, (uint64_t)0));
		uint64_t t2 = now_us();
		printf("[ metric ] trapped ioctl round trip %.2f us; untrapped ioctl %.3f us\n",
		       (double)(t1 - t0) / n, (double)(t2 - t1) / n);
		close((int)fd);
	});
}

/* The guest makes @n MMIO writes, then @n more, each after a write to an ioeventfd. */
void guest_mmio_loop(hvabs_gunyah_emu_guest *g, void *payload)
{
	int n = *(int *)payload;

	for (int i = 0; i < n; i++)
		hvabs_gunyah_emu_guest_mmio_write(g, 0x9000000, 4, (uint64_t)i);
	for (int i = 0; i < n; i++) {
		hvabs_gunyah_emu_guest_mmio_write(g, 0x9001000, 4, (uint64_t)i);
		hvabs_gunyah_emu_guest_mmio_write(g, 0x9000000, 4, (uint64_t)i);
	}
}

TEST_P(Emulator, RunExitCost)
{
	in_child([this] {
		static int n = 3000;
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, guest_mmio_loop, &n));
		Vm vm;
		int efd = new_eventfd();
		ASSERT_EQ(0, vm.add_ioeventfd(efd, 0x9001000, 4));
		long fd = vm.add_vcpu(abi(), 0);
		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		uint64_t t[3];
		for (int phase = 0; phase < 2; phase++) {
			t[phase] = now_us();
			for (int i = 0; i < n; i++) {
				ASSERT_EQ(0, v.run_once());
				ASSERT_EQ(kExitMmio, v.run->exit_reason);
				ASSERT_EQ(0x9000000u, v.run->mmio.phys_addr);
				ASSERT_EQ((uint64_t)i, le_load(v.run->mmio.data, 4));
			}
		}
		t[2] = now_us();
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitStatus, v.run->exit_reason);
		EXPECT_EQ((uint64_t)n, eventfd_take(efd));
		printf("[ metric ] MMIO exit + GH_VCPU_RUN: %.2f us; with an ioeventfd write in "
		       "between: %.2f us\n",
		       (double)(t[1] - t[0]) / n, (double)(t[2] - t[1]) / n);
	});
}

GEMU_INSTANTIATE(Emulator);

} /* namespace */
} /* namespace gemu */
