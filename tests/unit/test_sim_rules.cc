/* SPDX-License-Identifier: MIT */
/* tests/unit/test_sim_rules.cc: sim-specific rules - callback guests, interrupt controller view, fault injection. */
#include "unit.h"

#include <atomic>

using namespace hvt;

namespace {

constexpr uint64_t kDev = kMmioBase + 0x1000;

void write_once(hvabs_sim_guest *g, void *)
{
	hvabs_sim_guest_mmio_write(g, kDev, 4, 1);
}

/* Writes to read-only RAM and reports whether the access faulted. */
void write_ro_ram(hvabs_sim_guest *g, void *)
{
	uint32_t v = 0x11223344;
	int rc = hvabs_sim_guest_mem_write(g, 0x40000000, &v, sizeof(v));
	hvabs_sim_guest_mmio_write(g, kResultAddr, 8, rc == 0 ? 0 : 1);
	uint32_t back = 0;
	rc = hvabs_sim_guest_mem_read(g, 0x40000000, &back, sizeof(back));
	hvabs_sim_guest_mmio_write(g, kResultAddr, 8, rc == 0 ? back : 0xdead);
}

/* A 16-byte RAM read outside RAM becomes MMIO reads of at most 8 bytes. */
void read_outside_ram(hvabs_sim_guest *g, void *)
{
	uint8_t buf[16];
	hvabs_sim_guest_mem_read(g, kDev, buf, sizeof(buf));
	uint64_t lo = 0, hi = 0;
	for (int i = 0; i < 8; i++) {
		lo |= (uint64_t)buf[i] << (8 * i);
		hi |= (uint64_t)buf[8 + i] << (8 * i);
	}
	hvabs_sim_guest_mmio_write(g, kResultAddr, 8, lo);
	hvabs_sim_guest_mmio_write(g, kResultAddr, 8, hi);
}

void crash(hvabs_sim_guest *g, void *)
{
	const uint8_t reason[2] = { 0xaa, 0xbb };
	hvabs_sim_guest_exit(g, true, HVABS_EXIT_TYPE_WDT_BITE, reason, sizeof(reason));
}

void system_event(hvabs_sim_guest *g, void *)
{
	hvabs_sim_guest_system_event(g, HVABS_EXIT_SHUTDOWN, 0);
	hvabs_sim_guest_mmio_write(g, kDev, 4, 2);
}

void poll_then_wait(hvabs_sim_guest *g, void *)
{
	uint32_t line = 0;
	int got = hvabs_sim_guest_poll_irq(g, &line);
	hvabs_sim_guest_mmio_write(g, kResultAddr, 8, (uint64_t)got);
	line = hvabs_sim_guest_wait_irq(g);
	hvabs_sim_guest_mmio_write(g, kResultAddr, 8, line);
	hvabs_sim_guest_eoi(g, line);
	hvabs_sim_guest_mmio_write(g, kDev, 4, 0);
	hvabs_sim_guest_mmio_write(g, kDev, 4, 0);
}

class SimRules : public RuleTest {
protected:
	hvabs_exit run(hvabs_vcpu *vcpu)
	{
		bool timed_out = false;
		int ret = run_bounded(vcpu, &timed_out);
		EXPECT_FALSE(timed_out);
		EXPECT_EQ(0, ret) << describe(ret);
		return *hvabs_vcpu_exit(vcpu);
	}
	uint32_t irq_state(uint32_t line)
	{
		uint32_t st = 0xffffffffu;
		EXPECT_EQ(0, hvabs_sim_irq_state(vm(), line, &st)) << last_error_text();
		return st;
	}
};

} /* namespace */

TEST_F(SimRules, SetGuestWithNullFunctionIsEINVAL)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(hvabs_vm_vcpu_add(&v, vm(), 0));
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_sim_vcpu_set_guest(v, nullptr, nullptr));
	HV_EXPECT_OK(hvabs_sim_vcpu_set_guest(v, write_once, nullptr));
}

TEST_F(SimRules, SetGuestAfterFirstRunIsEBUSY)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, write_once, nullptr));
	HV_ASSERT_OK(sim_.start());
	hvabs_exit e = run(v);
	EXPECT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_REJECTED(HVABS_EBUSY, hvabs_sim_vcpu_set_guest(v, write_once, nullptr));
}

TEST_F(SimRules, FaultSetOfUnknownOpIsENOTFOUND)
{
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_sim_fault_set("no_such_op", 1, HVABS_EIO));
	HV_EXPECT_OK(hvabs_sim_fault_set("vm_create", 5, HVABS_EIO));
	hvabs_sim_fault_clear();
}

TEST_F(SimRules, FaultSetWithNonNegativeCodeIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_sim_fault_set("vm_create", 1, 0));
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_sim_fault_set("vm_create", 1, 5));
	HV_EXPECT_OK(hvabs_sim_fault_set("vm_create", 5, HVABS_EIO));
	hvabs_sim_fault_clear();
}

TEST_F(SimRules, FaultSetWithNthZeroIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, hvabs_sim_fault_set("vm_create", 0, HVABS_EIO));
	HV_EXPECT_OK(hvabs_sim_fault_set("vm_create", 5, HVABS_EIO));
	hvabs_sim_fault_clear();
}

TEST_F(SimRules, ArmedFaultFiresOnNthCallAndClearCancelsIt)
{
	hvabs_vm *a = nullptr, *b = nullptr, *c = nullptr;
	hvabs_vm_options o = vm_options("sim");
	uint64_t calls = hvabs_sim_op_count("vm_create");
	HV_ASSERT_OK(hvabs_sim_fault_set("vm_create", 2, HVABS_EPERM));
	HV_ASSERT_OK(hvabs_vm_create(&a, &o));
	EXPECT_REJECTED(HVABS_EPERM, hvabs_vm_create(&b, &o));
	HV_EXPECT_OK(hvabs_vm_create(&b, &o)) << "a fault fires once";
	HV_ASSERT_OK(hvabs_sim_fault_set("vm_create", 1, HVABS_EPERM));
	hvabs_sim_fault_clear();
	HV_EXPECT_OK(hvabs_vm_create(&c, &o));
	EXPECT_EQ(calls + 4, hvabs_sim_op_count("vm_create"));
	EXPECT_EQ(0u, hvabs_sim_op_count("no_such_op"));
	hvabs_vm_destroy(a);
	hvabs_vm_destroy(b);
	hvabs_vm_destroy(c);
}

TEST_F(SimRules, IrqStateOfUnknownLineIsENOTFOUND)
{
	uint32_t st = 0;
	EXPECT_REJECTED(HVABS_ENOTFOUND, hvabs_sim_irq_state(vm(), 4242, &st));
}

TEST_F(SimRules, EdgeIrqfdMakesLinePendingUntilGuestAcknowledges)
{
	EventFd &irq = pool_.eventfd();
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, poll_then_wait, nullptr));
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm(), irq.fd(), 5, 0, -1));
	HV_ASSERT_OK(sim_.start());
	EXPECT_EQ(0u, irq_state(5) & (HVABS_SIM_IRQ_PENDING | HVABS_SIM_IRQ_LEVEL));
	hvabs_exit e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(0u, le_load(e.mmio.data, 8)) << "nothing pending yet";
	irq.signal();
	EXPECT_TRUE(wait_until([&] { return (irq_state(5) & HVABS_SIM_IRQ_PENDING) != 0; }));
	e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(5u, le_load(e.mmio.data, 8));
	EXPECT_EQ(0u, irq_state(5) & HVABS_SIM_IRQ_PENDING) << "acknowledged";
	EXPECT_NE(0u, irq_state(5) & HVABS_SIM_IRQ_ACTIVE) << "until EOI";
	e = run(v);
	EXPECT_EQ(0u, irq_state(5) & HVABS_SIM_IRQ_ACTIVE) << "after EOI";
	struct hvabs_vcpu_stats s {};
	hvabs_vcpu_stats_get(v, &s);
	EXPECT_EQ(1u, s.irqs);
}

TEST_F(SimRules, LevelIrqfdStaysAssertedUntilEoiResamples)
{
	EventFd &irq = pool_.eventfd(), &resample = pool_.eventfd();
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, poll_then_wait, nullptr));
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm(), irq.fd(), 6,
					HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, resample.fd()));
	HV_ASSERT_OK(sim_.start());
	EXPECT_NE(0u, irq_state(6) & HVABS_SIM_IRQ_LEVEL);
	EXPECT_EQ(0u, irq_state(6) & HVABS_SIM_IRQ_ASSERTED);
	hvabs_exit e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(0u, le_load(e.mmio.data, 8)) << "nothing pending yet";
	irq.signal();
	EXPECT_TRUE(wait_until([&] { return (irq_state(6) & HVABS_SIM_IRQ_ASSERTED) != 0; }));
	e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(6u, le_load(e.mmio.data, 8));
	EXPECT_NE(0u, irq_state(6) & HVABS_SIM_IRQ_ASSERTED) << "level stays up until EOI";
	EXPECT_FALSE(resample.readable_now());
	run(v); /* EOI happened before this write */
	EXPECT_TRUE(resample.wait_readable(std::chrono::seconds(5)));
	EXPECT_EQ(0u, irq_state(6) & HVABS_SIM_IRQ_ASSERTED) << "EOI deasserts, VMM re-raises";
}

TEST_F(SimRules, CrashedGuestGivesCrashedStatus)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, crash, nullptr));
	HV_ASSERT_OK(sim_.start());
	hvabs_exit e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason);
	EXPECT_EQ(HVABS_STATUS_CRASHED, e.status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_WDT_BITE, e.status.exit_type);
	ASSERT_EQ(2u, e.status.reason_size);
	EXPECT_EQ(0xbb, e.status.reason[1]);
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm(), &st);
	EXPECT_EQ(HVABS_VM_CRASHED, st.state);
}

TEST_F(SimRules, SystemEventExitContinuesOnNextRun)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, system_event, nullptr));
	HV_ASSERT_OK(sim_.start());
	hvabs_exit e = run(v);
	EXPECT_EQ((uint32_t)HVABS_EXIT_SHUTDOWN, e.reason) << hvabs_exit_reason_name(e.reason);
	e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(2u, le_load(e.mmio.data, 4));
}

TEST_F(SimRules, GuestRamAccessHonoursRegionPermissions)
{
	hvabs_mem_region r = region(2, 0x40000000, 0x1000, HVABS_MEM_READ);
	HV_ASSERT_OK(hvabs_vm_mem_add(vm(), &r));
	uint8_t *host = static_cast<uint8_t *>(hvabs_vm_mem_host(vm(), 0x40000000, 4));
	ASSERT_NE(nullptr, host);
	host[0] = 0x78;
	host[1] = 0x56;
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, write_ro_ram, nullptr));
	HV_ASSERT_OK(sim_.start());
	hvabs_exit e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(1u, le_load(e.mmio.data, 8)) << "write to read-only RAM faults";
	e = run(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(0x5678u, le_load(e.mmio.data, 8)) << "reads see host memory, write did not land";
}

TEST_F(SimRules, RamReadOutsideRamBecomesMmioReadsOfAtMostEightBytes)
{
	hvabs_vcpu *v;
	HV_ASSERT_OK(sim_.add_vcpu_fn(&v, 0, read_outside_ram, nullptr));
	HV_ASSERT_OK(sim_.start());
	for (uint64_t i = 0; i < 2; i++) {
		hvabs_exit e = run(v);
		ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
		EXPECT_EQ(kDev + 8 * i, e.mmio.addr);
		EXPECT_EQ(8u, e.mmio.len);
		EXPECT_EQ(0, e.mmio.is_write);
		le_store(hvabs_vcpu_exit(v)->mmio.data, 8, 0x1111111111111111ull * (i + 1));
	}
	hvabs_exit e = run(v);
	EXPECT_EQ(0x1111111111111111ull, le_load(e.mmio.data, 8));
	e = run(v);
	EXPECT_EQ(0x2222222222222222ull, le_load(e.mmio.data, 8));
}
