/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/test_start.cc: GH_VM_START - DTB range, devicetree contents, state rules. */
#include "emu_test.h"

#include <cstring>
#include <unistd.h>

namespace gemu {
namespace {

class Start : public EmuTest {};

TEST_P(Start, AValidDevicetreeStartsTheVm)
{
	in_child([] {
		Vm vm;

		ASSERT_EQ(0, vm.place_dtb());
		EXPECT_EQ(0, vm.start());
		EXPECT_EQ(1u, emu_stats().sim_vms);
	});
}

TEST_P(Start, StartingTwiceWhileRunningIsZero)
{
	in_child([] {
		Vm vm;

		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		EXPECT_EQ(0, vm.start());
		EXPECT_EQ(1u, emu_stats().sim_vms);
	});
}

/* A failed start leaves the VM INIT_FAILED: a second START is -ENODEV, RUN too. */
void expect_init_failed(Vm &vm, Abi abi)
{
	long fd = vm.add_vcpu(abi, 0);

	EXPECT_EQ(-ENODEV, vm.start());
	ASSERT_GE(fd, 0);
	EXPECT_EQ(-ENODEV, sys_ioctl((int)fd, kVcpuRun, (uint64_t)0));
	EXPECT_EQ(0u, emu_stats().sim_vms);
	close((int)fd);
}

TEST_P(Start, ADtbOutsideMemoryIsEinvalAndInitFailed)
{
	in_child([this] {
		Vm vm;

		ASSERT_EQ(0, vm.set_dtb(0x1000, 4096));
		EXPECT_EQ(-EINVAL, vm.start());
		expect_init_failed(vm, abi());
	});
}

TEST_P(Start, ADtbCrossingTheEndOfItsRegionIsEinval)
{
	in_child([this] {
		Vm vm;

		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.set_dtb(Vm::kMemGpa + Vm::kMemSize - 64, 128));
		EXPECT_EQ(-EINVAL, vm.start());
		expect_init_failed(vm, abi());
	});
}

TEST_P(Start, NoDtbConfigIsEinval)
{
	in_child([this] {
		Vm vm;

		EXPECT_EQ(-EINVAL, vm.start());
		expect_init_failed(vm, abi());
	});
}

TEST_P(Start, GarbageIsNotADevicetree)
{
	in_child([this] {
		Vm vm;

		memset(vm.mem + Vm::kDtbOffset, 0x5a, 4096);
		ASSERT_EQ(0, vm.set_dtb(Vm::kMemGpa + Vm::kDtbOffset, 4096));
		EXPECT_EQ(-EINVAL, vm.start());
		expect_init_failed(vm, abi());
	});
}

TEST_P(Start, ADtbConfigSmallerThanTheBlobIsEinval)
{
	in_child([] {
		Vm vm;
		int size = build_dtb(vm.mem + Vm::kDtbOffset, 65536, DtSpec());

		ASSERT_GT(size, 64);
		ASSERT_EQ(0, vm.set_dtb(Vm::kMemGpa + Vm::kDtbOffset, (uint64_t)size - 8));
		EXPECT_EQ(-EINVAL, vm.start());
	});
}

/* Each devicetree defect alone makes START fail with -EINVAL. */
TEST_P(Start, TheResourceManagerRejectsIncompleteDevicetrees)
{
	struct Case {
		const char *what;
		DtSpec spec;
	};
	std::vector<Case> cases(6);
	cases[0] = { "no gunyah-vm-config", DtSpec() };
	cases[0].spec.config_node = false;
	cases[1] = { "no image-name/os-type", DtSpec() };
	cases[1].spec.names = false;
	cases[2] = { "no memory node", DtSpec() };
	cases[2].spec.memory_node = false;
	cases[3] = { "affinity not proxy", DtSpec() };
	cases[3].spec.affinity = "static";
	cases[4] = { "no cpus", DtSpec() };
	cases[4].spec.vcpus.clear();
	cases[5] = { "memory outside the regions", DtSpec() };
	cases[5].spec.mem_base = 0x40000000;
	cases[5].spec.mem_size = 0x100000;
	for (const Case &c : cases) {
		in_child([&c] {
			Vm vm;

			ASSERT_EQ(0, vm.place_dtb(c.spec)) << c.what;
			EXPECT_EQ(-EINVAL, vm.start()) << c.what;
			EXPECT_EQ(-ENODEV, vm.start()) << c.what;
		});
	}
}

TEST_P(Start, DuplicateVcpuIdsOrDoorbellLabelsAreRejected)
{
	in_child([] {
		Vm vm;
		DtSpec s;

		s.bells = { 4, 4 };
		ASSERT_EQ(0, vm.place_dtb(s));
		EXPECT_EQ(-EINVAL, vm.start());
	});
	in_child([] {
		Vm vm;
		DtSpec s;

		s.vcpus = { 0, 200 };
		ASSERT_EQ(0, vm.place_dtb(s));
		EXPECT_EQ(-EINVAL, vm.start()) << "ids are limited to 0..63";
	});
}

TEST_P(Start, AStartAfterTheGuestExitedIsEnodev)
{
	in_child([this] {
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, [](hvabs_gunyah_emu_guest *, void *) {},
							nullptr));
		Vm vm;
		long fd = vm.add_vcpu(abi(), 0);

		ASSERT_GE(fd, 0);
		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		Vcpu v((int)fd);
		ASSERT_EQ(0, v.run_once());
		ASSERT_EQ(kExitStatus, v.run->exit_reason);
		EXPECT_EQ(kStatusExited, v.run->status.status);
		EXPECT_EQ(-ENODEV, vm.start());
	});
}

TEST_P(Start, VcpusAddedAfterStartAreBoundAtOnce)
{
	in_child([this] {
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(1, [](hvabs_gunyah_emu_guest *g, void *) {
				hvabs_gunyah_emu_guest_mmio_write(g, 0x9000000, 4, 0xabcd);
			}, nullptr));
		Vm vm;
		DtSpec s;

		s.vcpus = { 0, 1 };
		ASSERT_EQ(0, vm.place_dtb(s));
		ASSERT_EQ(0, vm.start());
		long fd = vm.add_vcpu(abi(), 1);
		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitMmio, v.run->exit_reason);
		EXPECT_EQ(0xabcdu, le_load(v.run->mmio.data, 4));
	});
}

GEMU_INSTANTIATE(Start);

} /* namespace */
} /* namespace gemu */
