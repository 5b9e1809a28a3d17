/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_emu_functions.cc: gunyah backend through the emulator - vCPU, irqfd and ioeventfd functions and their removal. */
#include "emu_fixture.h"

#include <atomic>
#include <cstring>

namespace gy {
namespace {

class FunctionTest : public EmuTest {
protected:
	void SetUp() override
	{
		EmuTest::SetUp();
		create_ok();
		add_ram();
	}
};

TEST_F(FunctionTest, DuplicateVcpuIsEEXISTAndLeavesNothing)
{
	add_vcpu(0);
	hvabs_vcpu *v = nullptr;
	GY_EXPECT_CODE(HVABS_EEXIST, hvabs_vm_vcpu_add(&v, vm_, 0));
	EXPECT_EQ(1u, stats().functions);
	EXPECT_EQ(1u, stats().vcpus);
}

TEST_F(FunctionTest, VcpuRemovalReachesTheKernelAndTheIdCanReturn)
{
	add_vcpu(0);
	add_vcpu(1);
	EXPECT_EQ(2u, stats().functions);
	hvabs_fn_vcpu_arg a = { 1 };
	hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };
	GY_ASSERT_OK(hvabs_vm_function_remove(vm_, &d));
	struct hvabs_gunyah_emu_stats s = stats();
	EXPECT_EQ(1u, s.functions) << "GH_VM_REMOVE_FUNCTION matched the vCPU";
	EXPECT_EQ(1u, s.vcpus) << "fd closed and run page unmapped";
	hvabs_vcpu *v = add_vcpu(1);
	EXPECT_NE(nullptr, v) << "id 1 is free again in the kernel";
	guest(1, [](hvabs_gunyah_emu_guest *g) { hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 1, 7); });
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	const hvabs_exit &e = run_exit(v);
	EXPECT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason) << "the re-added vCPU runs";
}

TEST_F(FunctionTest, VcpuRemovedWhileRunningAcrossStart)
{
	hvabs_vcpu *v = add_vcpu(0);
	guest(0, [](hvabs_gunyah_emu_guest *g) {
		for (;;)
			hvabs_gunyah_emu_guest_yield(g);
	});
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	ASSERT_NE(nullptr, v);
	hvabs_fn_vcpu_arg a = { 0 };
	hvabs_fn_desc d = { HVABS_FN_VCPU, sizeof(a), &a };
	GY_ASSERT_OK(hvabs_vm_function_remove(vm_, &d));
	EXPECT_EQ(0u, stats().functions);
}

TEST_F(FunctionTest, IrqfdRingsTheGuestDoorbell)
{
	EventFd edge, level;
	hvabs_vcpu *v = add_vcpu(0);
	guest(0, [](hvabs_gunyah_emu_guest *g) {
		for (;;) {
			uint32_t label = hvabs_gunyah_emu_guest_wait_irq(g);
			hvabs_gunyah_emu_guest_eoi(g, label);
			hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, label);
		}
	});
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, edge.fd(), 5, 0, -1));
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, level.fd(), 6, HVABS_IRQFD_LEVEL, -1));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	EXPECT_EQ(3u, stats().functions);
	edge.signal();
	const hvabs_exit &e1 = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e1.reason);
	EXPECT_EQ(5u, mmio_value(e1));
	level.signal();
	const hvabs_exit &e2 = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e2.reason);
	EXPECT_EQ(6u, mmio_value(e2));
}

TEST_F(FunctionTest, IrqfdRemovalByLabelReachesTheKernel)
{
	EventFd e, other;
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 5, HVABS_IRQFD_LEVEL, -1));
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 6, 0, -1));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	EXPECT_EQ(3u, stats().functions);
	/*
	 * The key names the label only (another fd, no flags). v10 compares
	 * raw bytes and answers 0 even when nothing matched, so only the
	 * kernel's function count shows that the backend sent the bytes it
	 * added.
	 */
	hvabs_fn_irqfd_arg key = { other.fd(), 5, 0, -1 };
	hvabs_fn_desc d = { HVABS_FN_IRQFD, sizeof(key), &key };
	GY_ASSERT_OK(hvabs_vm_function_remove(vm_, &d));
	EXPECT_EQ(2u, stats().functions);
	GY_EXPECT_CODE(HVABS_ENOTFOUND, hvabs_vm_function_remove(vm_, &d));
	key.label = 6;
	GY_ASSERT_OK(hvabs_vm_function_remove(vm_, &d));
	EXPECT_EQ(1u, stats().functions);
}

TEST_F(FunctionTest, IrqfdOutsideTheDevicetreeNeverReachesTheKernel)
{
	EventFd e;
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	hvabs_function *fn = nullptr;
	GY_ASSERT_OK(hvabs_vm_irqfd_add(&fn, vm_, e.fd(), 9, 0, -1));
	EXPECT_EQ(1u, stats().functions) << "no doorbell 9: the ticket stays unpopulated";
	GY_ASSERT_OK(hvabs_function_remove(fn));
	EXPECT_EQ(1u, stats().functions);
}

TEST_F(FunctionTest, IrqfdResampleIsENOTSUP)
{
	EventFd e, r;
	GY_EXPECT_CODE(HVABS_ENOTSUP,
		       hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 5,
					  HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, r.fd()));
	EXPECT_EQ(0u, stats().functions);
}

TEST_F(FunctionTest, IoeventfdSignalsWithoutAnExit)
{
	EventFd e;
	hvabs_vcpu *v = add_vcpu(0);
	guest(0, [](hvabs_gunyah_emu_guest *g) {
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 1);     /* ioeventfd */
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 4, 4, 2); /* exit */
	});
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio, 4, e.fd(), 0, 0));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	const uint64_t hits = stats().ioeventfd_hits;
	const hvabs_exit &x = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, x.reason);
	EXPECT_EQ(kMmio + 4, x.mmio.addr) << "the first write never left the kernel";
	EXPECT_EQ(1u, e.wait());
	EXPECT_EQ(hits + 1, stats().ioeventfd_hits);
}

TEST_F(FunctionTest, IoeventfdDatamatchAndAnyLength)
{
	EventFd dm, any;
	hvabs_vcpu *v = add_vcpu(0);
	guest(0, [](hvabs_gunyah_emu_guest *g) {
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 0x54);       /* no match: exit */
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 0x55);       /* dm */
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x100, 1, 1);  /* any */
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x100, 8, 2);  /* any */
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x200, 4, 3);  /* exit */
	});
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio, 4, dm.fd(),
					    HVABS_IOEVENTFD_DATAMATCH, 0x55));
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio + 0x100, 0,
					    any.fd(), 0, 0));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	const hvabs_exit &x1 = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, x1.reason);
	EXPECT_EQ(kMmio, x1.mmio.addr);
	EXPECT_EQ(0x54u, mmio_value(x1));
	const hvabs_exit &x2 = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, x2.reason);
	EXPECT_EQ(kMmio + 0x200, x2.mmio.addr);
	EXPECT_EQ(1u, dm.wait());
	EXPECT_EQ(2u, any.wait());
}

TEST_F(FunctionTest, PortIoeventfdIsENOTSUP)
{
	EventFd e;
	GY_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_PIO, 0x3f8, 1,
							     e.fd(), 0, 0));
	EXPECT_EQ(0u, stats().functions);
}

TEST_F(FunctionTest, IoeventfdRemovalReachesTheKernel)
{
	EventFd e, other;
	hvabs_vcpu *v = add_vcpu(0);
	guest(0, [](hvabs_gunyah_emu_guest *g) {
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 0x55);
	});
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio, 4, e.fd(),
					    HVABS_IOEVENTFD_DATAMATCH, 0x55));
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio + 8, 2, e.fd(), 0,
					    0x99));
	EXPECT_EQ(3u, stats().functions);
	/* Keys with another fd; the second ignores datamatch without the flag. */
	hvabs_fn_ioeventfd_arg k1 = { 0x55, kMmio, 4, other.fd(), HVABS_IOEVENTFD_DATAMATCH,
				      HVABS_SPACE_MMIO };
	hvabs_fn_ioeventfd_arg k2 = { 0, kMmio + 8, 2, other.fd(), 0, HVABS_SPACE_MMIO };
	hvabs_fn_desc d1 = { HVABS_FN_IOEVENTFD, sizeof(k1), &k1 };
	hvabs_fn_desc d2 = { HVABS_FN_IOEVENTFD, sizeof(k2), &k2 };
	GY_ASSERT_OK(hvabs_vm_function_remove(vm_, &d1));
	GY_ASSERT_OK(hvabs_vm_function_remove(vm_, &d2));
	EXPECT_EQ(1u, stats().functions) << "both left the kernel";
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	const hvabs_exit &x = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, x.reason) << "no ioeventfd serves the write any more";
	EXPECT_EQ(0u, e.wait(0));
}

TEST_F(FunctionTest, TwoDatamatchIoeventfdsOnOneAddress)
{
	EventFd a, b;
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio, 4, a.fd(),
					    HVABS_IOEVENTFD_DATAMATCH, 1));
	/* v10's IO-handler tree compares the datamatch flag, never the data (gunyah-abi.md 4). */
	GY_EXPECT_CODE(v10() ? HVABS_EEXIST : 0,
		       hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio, 4, b.fd(),
					      HVABS_IOEVENTFD_DATAMATCH, 2));
	EXPECT_EQ(v10() ? 1u : 2u, stats().functions);
}

} // namespace
} // namespace gy
