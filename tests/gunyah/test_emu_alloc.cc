/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_emu_alloc.cc: every library allocation of a gunyah VM's life failing in turn - a code, no leak, nothing left in the kernel. */
#include "emu_fixture.h"

#include <atomic>
#include <cstdlib>

namespace gy {
namespace {

struct Budget {
	std::atomic<long> left{ -1 }; /* allocations that still succeed; < 0: unlimited */
};

void *fail_malloc(size_t size, void *p)
{
	Budget *b = static_cast<Budget *>(p);

	if (b->left.load() >= 0 && b->left-- <= 0)
		return nullptr;
	return malloc(size);
}

void *fail_realloc(void *ptr, size_t size, void *p)
{
	Budget *b = static_cast<Budget *>(p);

	if (b->left.load() >= 0 && b->left-- <= 0)
		return nullptr;
	return realloc(ptr, size);
}

void fail_free(void *ptr, void *)
{
	free(ptr);
}

using AllocTest = EmuTest;

/* Create, memory, two vCPUs, irqfd, ioeventfd, start (generated devicetree), one run. */
int scenario(hvabs_vm **vm, EventFd &e)
{
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	std::string cfg = config();
	hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 0, HVABS_MEM_RWX, kRamBase, kRamSize,
			       nullptr };
	hvabs_vcpu *v = nullptr;
	int ret;

	o.backend = "gunyah";
	o.backend_config = cfg.c_str();
	if ((ret = hvabs_vm_create(vm, &o)) || (ret = hvabs_vm_mem_add(*vm, &r)) ||
	    (ret = hvabs_vm_vcpu_add(&v, *vm, 0)) || (ret = hvabs_vm_vcpu_add(nullptr, *vm, 1)) ||
	    (ret = hvabs_vm_irqfd_add(nullptr, *vm, e.fd(), 3, HVABS_IRQFD_LEVEL, -1)) ||
	    (ret = hvabs_vm_ioeventfd_add(nullptr, *vm, HVABS_SPACE_MMIO, kMmio, 4, e.fd(), 0, 0)) ||
	    (ret = hvabs_vm_start(*vm)) || (ret = hvabs_vcpu_run(v)))
		return ret;
	return hvabs_vcpu_exit(v)->reason == HVABS_EXIT_MMIO ? 0 : HVABS_ERROR;
}

/* dlmopen of a private libhvabs fails under sanitizers: the emulator then shares ours. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GY_EMU_SHARES_LIBHVABS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GY_EMU_SHARES_LIBHVABS 1
#endif
#endif
#ifndef GY_EMU_SHARES_LIBHVABS
#define GY_EMU_SHARES_LIBHVABS 0
#endif

TEST_F(AllocTest, EveryFailurePointUnwinds)
{
	if (GY_EMU_SHARES_LIBHVABS)
		GTEST_SKIP() << "the emulator's sim VMs would use the failing allocator too";

	Budget budget;
	hvabs_allocator a = { HVABS_ALLOCATOR_VERSION, fail_malloc, fail_realloc, fail_free,
			      &budget };
	long n;

	guest(0, [](hvabs_gunyah_emu_guest *g) { hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 8, 4, 1); });
	for (n = 0; n < 500; n++) {
		EventFd e;
		hvabs_vm *vm = nullptr;

		GY_ASSERT_OK(hvabs_set_allocator(&a));
		budget.left = n;
		int ret = scenario(&vm, e);
		budget.left = -1;
		hvabs_vm_destroy(vm);
		GY_ASSERT_OK(hvabs_set_allocator(nullptr)) << "objects left after failure point " << n;
		EXPECT_EQ(0u, hvabs_alloc_count()) << "leak at failure point " << n;
		struct hvabs_gunyah_emu_stats s = stats();
		EXPECT_EQ(0u, s.vms + s.vcpus + s.functions + s.regions) << "kernel objects left at " << n;
		if (ret == 0)
			break;
		EXPECT_EQ(HVABS_ENOMEM, ret) << "failure point " << n << ": " << why(ret);
	}
	EXPECT_LT(n, 500) << "the scenario never succeeded";
	EXPECT_GT(n, 5) << "the scenario allocates";
	RecordProperty("failure_points", (int)n);
}

} // namespace
} // namespace gy
