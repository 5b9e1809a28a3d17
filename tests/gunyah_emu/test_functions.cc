/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/test_functions.cc: GH_VM_ADD_FUNCTION / GH_VM_REMOVE_FUNCTION rules for both ABIs. */
#include "emu_test.h"

#include <fcntl.h>
#include <unistd.h>

namespace gemu {
namespace {

class Functions : public EmuTest {};

TEST_P(Functions, ArgSizeOver256IsEinval)
{
	in_child([] {
		Vm vm;
		static uint8_t big[512];

		EXPECT_EQ(-EINVAL, vm.add_fn(kFnIrqfd, 257, big));
		EXPECT_EQ(-EINVAL, vm.add_fn(99, 257, big));
		EXPECT_EQ(-EINVAL, vm.remove_fn(kFnIrqfd, 257, big));
		EXPECT_EQ(0u, emu_stats().functions);
	});
}

TEST_P(Functions, AnUnknownTypeIsEnoent)
{
	in_child([this] {
		Vm vm;
		uint32_t arg = 0;

		EXPECT_EQ(-ENOENT, vm.add_fn(99, sizeof(arg), &arg));
		EXPECT_EQ(-ENOENT, vm.add_fn(0, sizeof(arg), &arg));
		/* v10 removes nothing and says 0; v13+ say so. */
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_fn(99, sizeof(arg), &arg));
	});
}

TEST_P(Functions, VcpuArgumentFollowsTheAbi)
{
	in_child([this] {
		Vm vm;
		uint32_t id = 3;
		uint64_t id64 = 3;

		if (v10()) {
			/* v10: the id is the value of arg; any arg_size is EINVAL. */
			EXPECT_EQ(-EINVAL, vm.add_fn(kFnVcpu, sizeof(id), &id));
			long fd = vm.add_fn(kFnVcpu, 0, (uint64_t)3);
			EXPECT_GE(fd, 0);
			close((int)fd);
		} else {
			/* v14: gh_fn_vcpu_arg, exactly 4 bytes behind a pointer. */
			EXPECT_EQ(-EINVAL, vm.add_fn(kFnVcpu, 0, (uint64_t)3));
			EXPECT_EQ(-EINVAL, vm.add_fn(kFnVcpu, sizeof(id64), &id64));
			EXPECT_EQ(-EFAULT, vm.add_fn(kFnVcpu, sizeof(id), (uint64_t)16));
			long fd = vm.add_fn(kFnVcpu, sizeof(id), &id);
			EXPECT_GE(fd, 0);
			close((int)fd);
		}
	});
}

TEST_P(Functions, AddingAVcpuReturnsACloexecFdWithARunPage)
{
	in_child([this] {
		Vm vm;
		long fd = vm.add_vcpu(abi(), 0);

		ASSERT_GE(fd, 0);
		EXPECT_EQ(FD_CLOEXEC, fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
		Vcpu v((int)fd);
		ASSERT_NE(nullptr, v.run);
		EXPECT_EQ(0u, v.run->immediate_exit);
		EXPECT_EQ(0u, v.run->exit_reason);
		struct hvabs_gunyah_emu_stats st = emu_stats();
		EXPECT_EQ(1u, st.vcpus);
		EXPECT_EQ(1u, st.functions);
	});
}

TEST_P(Functions, AVcpuIdIsUniquePerVm)
{
	in_child([this] {
		Vm vm, other;
		long a = vm.add_vcpu(abi(), 1);

		ASSERT_GE(a, 0);
		EXPECT_EQ(-EEXIST, vm.add_vcpu(abi(), 1));
		long b = other.add_vcpu(abi(), 1);
		EXPECT_GE(b, 0);
		close((int)a);
		close((int)b);
	});
}

TEST_P(Functions, IrqfdRules)
{
	in_child([this] {
		Vm vm;
		int efd = new_eventfd();
		int p[2];
		IrqfdArg a = { (uint32_t)efd, 5, 0, 0 };

		ASSERT_EQ(0, pipe(p));
		EXPECT_EQ(-EINVAL, vm.add_fn(kFnIrqfd, 12, &a)) << "arg_size must be 16";
		EXPECT_EQ(-EINVAL, vm.add_fn(kFnIrqfd, 0, (uint64_t)0));
		EXPECT_EQ(-EBADF, vm.add_irqfd(4000, 5));
		EXPECT_EQ(-EINVAL, vm.add_irqfd(p[0], 5)) << "not an eventfd";
		EXPECT_EQ(per_abi(0, -EINVAL), vm.add_irqfd(efd, 6, 1u << 1)) << "unknown flag";
		EXPECT_EQ(0, vm.add_irqfd(efd, 5, 1 /* level */));
		EXPECT_EQ(-EEXIST, vm.add_irqfd(new_eventfd(), 5)) << "label in use";
		EXPECT_EQ(per_abi(2, 1), emu_stats().functions);
	});
}

TEST_P(Functions, IoeventfdRules)
{
	in_child([this] {
		Vm vm;
		int efd = new_eventfd();
		IoeventfdArg a = { 0, 0x9000, 4, efd, 0, 0 };

		EXPECT_EQ(-EINVAL, vm.add_fn(kFnIoeventfd, 16, &a)) << "arg_size must be 32";
		EXPECT_EQ(-EINVAL, vm.add_ioeventfd(efd, 0x9000, 3));
		EXPECT_EQ(-EINVAL, vm.add_ioeventfd(efd, 0x9000, 16));
		EXPECT_EQ(-EINVAL, vm.add_ioeventfd(efd, 0x9000, 0, 1 /* datamatch */));
		EXPECT_EQ(-EINVAL, vm.add_ioeventfd(efd, ~0ull - 1, 4)) << "addr + len overflows";
		EXPECT_EQ(-EBADF, vm.add_ioeventfd(4000, 0x9000, 4));
		EXPECT_EQ(per_abi(0, -EINVAL), vm.add_ioeventfd(efd, 0xa000, 4, 1u << 1))
			<< "crosvm's DATAMATCH=2: unknown flag";
		EXPECT_EQ(0u + (v10() ? 1 : 0), emu_stats().functions);
		for (uint32_t len : { 0u, 1u, 2u, 4u, 8u })
			EXPECT_EQ(0, vm.add_ioeventfd(efd, 0x10000 + len * 0x100, len)) << len;
	});
}

TEST_P(Functions, IoeventfdCollisionsFollowEachAbisComparator)
{
	in_child([this] {
		Vm vm;
		int efd = new_eventfd();

		ASSERT_EQ(0, vm.add_ioeventfd(efd, 0x1000, 4));
		EXPECT_EQ(-EEXIST, vm.add_ioeventfd(efd, 0x1000, 4));
		EXPECT_EQ(-EEXIST, vm.add_ioeventfd(efd, 0x1000, 0)) << "len 0 covers every len";
		EXPECT_EQ(0, vm.add_ioeventfd(efd, 0x1000, 2)) << "other len, other key";
		/* One datamatch handler beside a plain one on the same key. */
		EXPECT_EQ(per_abi(0, -EEXIST), vm.add_ioeventfd(efd, 0x1000, 4, 1, 7));

		ASSERT_EQ(0, vm.add_ioeventfd(efd, 0x2000, 4, 1, 1));
		/* v10 compares the datamatch flag, never the data (gunyah-abi.md section 4). */
		EXPECT_EQ(per_abi(-EEXIST, 0), vm.add_ioeventfd(efd, 0x2000, 4, 1, 2));
		EXPECT_EQ(-EEXIST, vm.add_ioeventfd(efd, 0x2000, 4, 1, 1));
	});
}

TEST_P(Functions, V10RemovesByRawBytesV14ByLabel)
{
	in_child([this] {
		Vm vm;
		int efd = new_eventfd(), other = new_eventfd();

		ASSERT_EQ(0, vm.add_irqfd(efd, 5));
		/* Same label, other fd: v10's memcmp misses it, v14 matches the label. */
		EXPECT_EQ(per_abi(0, 0), vm.remove_irqfd(other, 5));
		EXPECT_EQ(per_abi(1, 0), emu_stats().functions);
		if (v10()) {
			EXPECT_EQ(0, vm.remove_irqfd(efd, 5));
			EXPECT_EQ(0u, emu_stats().functions);
		}
		EXPECT_EQ(0, vm.add_irqfd(efd, 5)) << "label free again";
	});
}

TEST_P(Functions, RemovingNothingIsZeroInV10AndEnoentInV14)
{
	in_child([this] {
		Vm vm;
		int efd = new_eventfd();

		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_irqfd(efd, 9));
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_ioeventfd(efd, 0x1000, 4));
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_vcpu(abi(), 4));
		/* A wrong arg_size never matches. */
		ASSERT_EQ(0, vm.add_irqfd(efd, 9));
		IrqfdArg a = { (uint32_t)efd, 9, 0, 0 };
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_fn(kFnIrqfd, 8, &a));
		EXPECT_EQ(1u, emu_stats().functions);
	});
}

TEST_P(Functions, IoeventfdRemovalMatchesAddrLenFlagsAndDatamatch)
{
	in_child([this] {
		Vm vm;
		int efd = new_eventfd(), other = new_eventfd();

		ASSERT_EQ(0, vm.add_ioeventfd(efd, 0x3000, 4, 1, 0x55));
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_ioeventfd(efd, 0x3000, 4, 1, 0x56));
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_ioeventfd(efd, 0x3000, 2, 1, 0x55));
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_ioeventfd(efd, 0x3000, 4, 0, 0x55));
		EXPECT_EQ(1u, emu_stats().functions);
		/* v14 ignores the fd; v10 compares every byte. */
		EXPECT_EQ(0, vm.remove_ioeventfd(other, 0x3000, 4, 1, 0x55));
		EXPECT_EQ(per_abi(1, 0), emu_stats().functions);
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_ioeventfd(efd, 0x3000, 4, 1, 0x55));
		EXPECT_EQ(0u, emu_stats().functions);
	});
}

TEST_P(Functions, RemovingAVcpuFreesItsIdAndItsFileThenSaysEnodev)
{
	in_child([this] {
		Vm vm;
		long fd = vm.add_vcpu(abi(), 2);

		ASSERT_GE(fd, 0);
		EXPECT_EQ(0, vm.remove_vcpu(abi(), 2));
		EXPECT_EQ(0u, emu_stats().functions);
		EXPECT_EQ(-ENODEV, sys_ioctl((int)fd, kVcpuRun, (uint64_t)0));
		EXPECT_EQ(4096, sys_ioctl((int)fd, kVcpuMmapSize, (uint64_t)0));
		long again = vm.add_vcpu(abi(), 2);
		EXPECT_GE(again, 0) << "the id is free again";
		close((int)fd);
		close((int)again);
	});
}

TEST_P(Functions, ByValueVcpuArgumentsExistOnlyInV10)
{
	in_child([this] {
		Vm vm;
		uint32_t id = 6;
		long fd = vm.add_vcpu(abi(), 6);

		ASSERT_GE(fd, 0);
		/* v10 compares by value: a pointer never matches; v14 compares the id. */
		EXPECT_EQ(0, vm.remove_fn(kFnVcpu, sizeof(id), &id));
		EXPECT_EQ(per_abi(1, 0), emu_stats().functions);
		/* v10 removes by value; in v14 arg_size 0 matches nothing. */
		EXPECT_EQ(per_abi(0, -ENOENT), vm.remove_fn(kFnVcpu, 0, (uint64_t)6));
		EXPECT_EQ(0u, emu_stats().functions);
		close((int)fd);
	});
}

GEMU_INSTANTIATE(Functions);

} /* namespace */
} /* namespace gemu */
