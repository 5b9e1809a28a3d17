/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/test_memory.cc: GH_VM_SET_USER_MEM_REGION and GH_VM_SET_DTB_CONFIG rules for both ABIs. */
#include "emu_test.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

namespace gemu {
namespace {

class Memory : public EmuTest {};

constexpr uint64_t kPage = 4096;

uint64_t ua(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

TEST_P(Memory, AValidRegionIsAccepted)
{
	in_child([] {
		Vm vm(false);

		EXPECT_EQ(0, vm.set_region(7, kMemR | kMemW, Vm::kMemGpa, Vm::kMemSize, ua(vm.mem)));
		EXPECT_EQ(1u, emu_stats().regions);
		/* No access bit at all is still a valid region for the kernel. */
		EXPECT_EQ(0, vm.set_region(8, 0, 0x1000, kPage, ua(vm.mem)));
		EXPECT_EQ(2u, emu_stats().regions);
	});
}

TEST_P(Memory, EveryAddressAndTheSizeMustBePageAligned)
{
	in_child([] {
		Vm vm(false);
		uint64_t m = ua(vm.mem);

		EXPECT_EQ(-EINVAL, vm.set_region(1, kMemRWX, Vm::kMemGpa + 1, kPage, m));
		EXPECT_EQ(-EINVAL, vm.set_region(1, kMemRWX, Vm::kMemGpa, kPage + 8, m));
		EXPECT_EQ(-EINVAL, vm.set_region(1, kMemRWX, Vm::kMemGpa, kPage, m + 16));
		EXPECT_EQ(0u, emu_stats().regions);
	});
}

TEST_P(Memory, UnknownFlagBitsAreEinval)
{
	in_child([] {
		Vm vm(false);

		EXPECT_EQ(-EINVAL, vm.set_region(1, kMemRWX | (1u << 4), Vm::kMemGpa, kPage,
						 ua(vm.mem)));
		EXPECT_EQ(-EINVAL, vm.set_region(1, 1u << 31, Vm::kMemGpa, kPage, ua(vm.mem)));
	});
}

TEST_P(Memory, TheLentFlagExistsOnlyInV10)
{
	in_child([this] {
		Vm vm(false);

		EXPECT_EQ(per_abi(0, -EINVAL),
			  vm.set_region(1, kMemRWX | kMemLent, Vm::kMemGpa, kPage, ua(vm.mem)));
	});
}

TEST_P(Memory, ALabelIsUniquePerVm)
{
	in_child([] {
		Vm vm;
		Vm other;

		EXPECT_EQ(-EEXIST, vm.set_region(0, kMemRWX, 0x10000000, kPage, ua(vm.mem)));
		EXPECT_EQ(0, vm.set_region(1, kMemRWX, 0x10000000, kPage, ua(vm.mem)));
		/* Labels are per VM. */
		EXPECT_EQ(0, other.set_region(1, kMemRWX, 0x10000000, kPage, ua(other.mem)));
	});
}

TEST_P(Memory, OverlappingGuestRangesAreEexist)
{
	in_child([] {
		Vm vm;
		uint64_t m = ua(vm.mem);

		EXPECT_EQ(-EEXIST, vm.set_region(1, kMemRWX, Vm::kMemGpa + Vm::kMemSize - kPage,
						 2 * kPage, m));
		EXPECT_EQ(-EEXIST, vm.set_region(1, kMemRWX, Vm::kMemGpa - kPage, 2 * kPage, m));
		EXPECT_EQ(-EEXIST, vm.set_region(1, kMemRWX, Vm::kMemGpa + kPage, kPage, m));
		/* Touching ends do not overlap. */
		EXPECT_EQ(0, vm.set_region(1, kMemRWX, Vm::kMemGpa - kPage, kPage, m));
		EXPECT_EQ(0, vm.set_region(2, kMemRWX, Vm::kMemGpa + Vm::kMemSize, kPage, m));
	});
}

TEST_P(Memory, AGuestRangePast2To64IsEoverflow)
{
	in_child([] {
		Vm vm(false);

		EXPECT_EQ(-EOVERFLOW, vm.set_region(1, kMemRWX, ~0ull - kPage + 1, 2 * kPage,
						    ua(vm.mem)));
	});
}

TEST_P(Memory, HostMemoryMustBeMappedAndWritable)
{
	in_child([] {
		Vm vm(false);
		void *ro = mmap(nullptr, 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *hole = mmap(nullptr, 2 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(ro, MAP_FAILED);
		ASSERT_NE(hole, MAP_FAILED);
		munmap(hole, 2 * kPage);
		EXPECT_EQ(-EFAULT, vm.set_region(1, kMemR, Vm::kMemGpa, 2 * kPage, ua(ro)));
		EXPECT_EQ(-EFAULT, vm.set_region(1, kMemRWX, Vm::kMemGpa, 2 * kPage, ua(hole)));
		/* A writable start does not make up for an unmapped tail. */
		void *rw = mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(rw, MAP_FAILED);
		munmap((uint8_t *)rw + 2 * kPage, kPage);
		EXPECT_EQ(-EFAULT, vm.set_region(1, kMemRWX, Vm::kMemGpa, 3 * kPage, ua(rw)));
		EXPECT_EQ(0, vm.set_region(1, kMemRWX, Vm::kMemGpa, 2 * kPage, ua(rw)));
		EXPECT_EQ(1u, emu_stats().regions);
	});
}

/*
 * fuzz/gunyah_emu finding: a SET_USER_MEM_REGION whose caller a signal took
 * away (EINTR here; SA_RESTART would re-issue it) was still committed, so
 * the retry failed with EEXIST. Many mappings listed before the region's
 * memory make the emulator's pin check (a /proc/self/maps scan) slow enough
 * for the signal to land during it.
 */
TEST_P(Memory, AnInterruptedRegionCallChangesNothing)
{
	in_child([] {
		Vm vm(false);
		void *rw = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(rw, MAP_FAILED);
		/* Top-down: later mappings sit below rw, earlier in /proc/self/maps. */
		for (int i = 0; i < 20000; i++) {
			void *p = mmap(nullptr, kPage, (i & 1) ? PROT_READ : PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			ASSERT_NE(p, MAP_FAILED);
		}
		struct sigaction sa = {};
		sa.sa_handler = [](int) {};
		sigemptyset(&sa.sa_mask);
		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, nullptr)); /* no SA_RESTART: EINTR */
		struct Shot {
			pthread_t target;
			useconds_t delay;
		};
		/* Until a signal lands inside the call: each try a new label and guest range. */
		for (uint32_t label = 0; label < 8; label++) {
			Shot shot = { pthread_self(), 500 + 500 * label };
			pthread_t killer;
			uint64_t gpa = Vm::kMemGpa + label * 2 * kPage;

			ASSERT_EQ(0, pthread_create(
					     &killer, nullptr,
					     [](void *arg) -> void * {
						     Shot *s = (Shot *)arg;
						     usleep(s->delay);
						     pthread_kill(s->target, SIGUSR1);
						     return nullptr;
					     },
					     &shot));
			long r = vm.set_region(label, kMemRWX, gpa, 2 * kPage, ua(rw));
			pthread_join(killer, nullptr);
			if (r == 0)
				continue; /* the pin check ended before the signal came */
			ASSERT_EQ(-EINTR, r);
			EXPECT_EQ(label, emu_stats().regions)
				<< "the interrupted call must not have added the region";
			EXPECT_EQ(0, vm.set_region(label, kMemRWX, gpa, 2 * kPage, ua(rw)))
				<< "the retry must not find its label in use";
			return;
		}
		child_skip("no signal landed inside the call");
	});
}

TEST_P(Memory, ABadArgumentPointerIsEfault)
{
	in_child([] {
		Vm vm(false);

		EXPECT_EQ(-EFAULT, sys_ioctl(vm.fd, kSetUserMemRegion, (uint64_t)8));
		EXPECT_EQ(-EFAULT, sys_ioctl(vm.fd, kSetDtbConfig, (uint64_t)8));
		EXPECT_EQ(-EFAULT, sys_ioctl(vm.fd, kAddFunction, (uint64_t)8));
		EXPECT_EQ(-EFAULT, sys_ioctl(vm.fd, kRemoveFunction, (uint64_t)8));
	});
}

TEST_P(Memory, SizeZeroDeletesInV10AndIsEinvalInV14)
{
	in_child([this] {
		Vm vm;

		ASSERT_EQ(0, vm.set_region(1, kMemRWX, 0x10000000, kPage, ua(vm.mem)));
		ASSERT_EQ(2u, emu_stats().regions);
		EXPECT_EQ(per_abi(0, -EINVAL), vm.set_region(1, kMemRWX, 0, 0, 0));
		EXPECT_EQ(per_abi(1, 2), emu_stats().regions);
		/* v10: deleting a label nobody uses is not an error. */
		EXPECT_EQ(per_abi(0, -EINVAL), vm.set_region(99, 0, 0, 0, 0));
		/* v10: the label and the range are free again. */
		EXPECT_EQ(per_abi(0, -EEXIST),
			  vm.set_region(1, kMemRWX, 0x10000000, kPage, ua(vm.mem)));
		/* Flags are checked before the deletion. */
		EXPECT_EQ(-EINVAL, vm.set_region(1, 1u << 7, 0, 0, 0));
	});
}

TEST_P(Memory, DtbConfigOverflowIsEinvalInV14AndFailsStartInV10)
{
	in_child([this] {
		Vm vm;

		EXPECT_EQ(per_abi(0, -EINVAL), vm.set_dtb(~0ull - 8, 64));
		if (v10()) {
			EXPECT_EQ(-EINVAL, vm.start());
			EXPECT_EQ(-ENODEV, vm.start()) << "INIT_FAILED";
		}
	});
}

TEST_P(Memory, DtbConfigIsOnlyCheckedAtStart)
{
	in_child([] {
		Vm vm;

		EXPECT_EQ(0, vm.set_dtb(0x1000, 4096)) << "outside memory, but not checked yet";
		EXPECT_EQ(0, vm.set_dtb(Vm::kMemGpa, 0));
		EXPECT_EQ(0, vm.place_dtb());
	});
}

TEST_P(Memory, RegionsAfterStartAreAcceptedButNotGivenToTheGuest)
{
	in_child([] {
		Vm vm;

		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		EXPECT_EQ(0, vm.set_region(5, kMemRWX, 0x10000000, kPage, ua(vm.mem)));
		EXPECT_EQ(2u, emu_stats().regions);
	});
}

GEMU_INSTANTIATE(Memory);

} /* namespace */
} /* namespace gemu */
