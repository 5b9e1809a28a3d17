/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_emu_run.cc: gunyah backend through the emulator - GH_VCPU_RUN, MMIO exits, IO handlers, status exits and kicks. */
#include "emu_fixture.h"

#include <atomic>
#include <cstring>
#include <thread>

namespace gy {
namespace {

class RunTest : public EmuTest {
protected:
	/* RAM, vCPU 0 played by @body, started. */
	hvabs_vcpu *start_with(GuestBody body)
	{
		create_ok();
		add_ram();
		guest(0, std::move(body));
		hvabs_vcpu *v = add_vcpu(0);
		int ret = hvabs_vm_start(vm_);
		EXPECT_EQ(0, ret) << why(ret);
		return v;
	}

	void expect_status(hvabs_vcpu *v, uint32_t status, uint16_t type)
	{
		const hvabs_exit &e = run_exit(v);
		ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason);
		EXPECT_EQ(status, e.status.status);
		EXPECT_EQ(type, e.status.exit_type);
	}
};

TEST_F(RunTest, RunBeforeStartIsESTATE)
{
	create_ok();
	add_ram();
	hvabs_vcpu *v = add_vcpu(0);
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(v));
}

TEST_F(RunTest, MmioWriteExitsToTheCallerThenTheGuestPowersOff)
{
	hvabs_vcpu *v = start_with([](hvabs_gunyah_emu_guest *g) {
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 8, 4, 0xdeadbeef);
	});
	const hvabs_exit &e = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason);
	EXPECT_EQ(kMmio + 8, e.mmio.addr);
	EXPECT_EQ(4u, e.mmio.len);
	EXPECT_EQ(1, e.mmio.is_write);
	EXPECT_EQ(0xdeadbeefu, mmio_value(e));
	EXPECT_EQ(0u, e.vcpu_id);
	expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
	struct hvabs_vm_status st;
	hvabs_vm_status_get(vm_, &st);
	EXPECT_EQ(HVABS_VM_EXITED, st.state);
	expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
	struct hvabs_vcpu_stats s;
	hvabs_vcpu_stats_get(v, &s);
	EXPECT_EQ(1u, s.returned);
	EXPECT_EQ(1u, s.exits[HVABS_EXIT_MMIO]);
}

TEST_F(RunTest, MmioReadIsCompletedByTheCaller)
{
	for (uint32_t len : { 1u, 2u, 4u, 8u }) {
		hvabs_vcpu *v = start_with([len](hvabs_gunyah_emu_guest *g) {
			uint64_t val = 0;
			hvabs_gunyah_emu_guest_mmio_read(g, kMmio, len, &val);
			hvabs_gunyah_emu_guest_mem_write(g, kRamBase + 0x100, &val, sizeof(val));
		});
		hvabs_exit *e = hvabs_vcpu_exit(v);
		run_exit(v);
		ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e->reason);
		EXPECT_EQ(0, e->mmio.is_write);
		EXPECT_EQ(len, e->mmio.len);
		mmio_complete(e, 0x1122334455667788ull);
		expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
		uint64_t got = 0;
		std::memcpy(&got, static_cast<char *>(ram()) + 0x100, sizeof(got));
		uint64_t mask = len == 8 ? ~0ull : (1ull << (8 * len)) - 1;
		EXPECT_EQ(0x1122334455667788ull & mask, got) << "len " << len;
		hvabs_vm_destroy(vm_);
		vm_ = nullptr;
	}
}

struct Device {
	std::atomic<uint64_t> last_write{ 0 };
	std::atomic<int> reads{ 0 };
};

int dev_read(hvabs_vcpu *, uint64_t addr, uint32_t, uint64_t *data, void *p)
{
	static_cast<Device *>(p)->reads++;
	*data = addr - kMmio + 0x40;
	return 0;
}

int dev_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t data, void *p)
{
	static_cast<Device *>(p)->last_write = data;
	return 0;
}

TEST_F(RunTest, IoHandlersServeInsideRun)
{
	Device dev;
	hvabs_io_desc d = { HVABS_IO_DESC_VERSION, HVABS_SPACE_MMIO, kMmio, 0x100, 0, 0, 0,
			    dev_read, dev_write, &dev };

	hvabs_vcpu *v = start_with([](hvabs_gunyah_emu_guest *g) {
		uint64_t val = 0;
		hvabs_gunyah_emu_guest_mmio_read(g, kMmio + 4, 4, &val);
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 8, 8, val * 2);
	});
	GY_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
	EXPECT_EQ(1, dev.reads.load());
	EXPECT_EQ(0x88u, dev.last_write.load()) << "the handler's read data reached the guest";
	struct hvabs_vcpu_stats s;
	hvabs_vcpu_stats_get(v, &s);
	EXPECT_EQ(2u, s.dispatched);
	EXPECT_EQ(0u, s.returned);
	EXPECT_EQ(0u, s.exits[HVABS_EXIT_MMIO]);
}

TEST_F(RunTest, PortIoIsENOTSUP)
{
	Device dev;
	hvabs_io_desc d = { HVABS_IO_DESC_VERSION, HVABS_SPACE_PIO, 0x3f8, 8, 0, 0, 0,
			    dev_read, dev_write, &dev };

	create_ok();
	GY_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vm_io_handler_add(nullptr, vm_, &d));
}

TEST_F(RunTest, OnlyHandledResumeIsHonoured)
{
	hvabs_vcpu *v = start_with([](hvabs_gunyah_emu_guest *g) {
		uint64_t val = 0;
		hvabs_gunyah_emu_guest_mmio_read(g, kMmio, 4, &val);
		hvabs_gunyah_emu_guest_mem_write(g, kRamBase, &val, 4);
	});
	hvabs_exit *e = hvabs_vcpu_exit(v);
	run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, e->reason);
	EXPECT_EQ(HVABS_RESUME_HANDLED, e->mmio.resume) << "preset";
	e->mmio.resume = HVABS_RESUME_FAULT;
	GY_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vcpu_run(v));
	e->mmio.resume = HVABS_RESUME_RETRY;
	GY_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vcpu_run(v));
	e->mmio.resume = 7;
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vcpu_run(v));
	e->mmio.resume = HVABS_RESUME_HANDLED;
	mmio_complete(e, 0xabcd);
	expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
	uint32_t got = 0;
	std::memcpy(&got, ram(), 4);
	EXPECT_EQ(0xabcdu, got) << "the refused resumes left the access pending";
}

TEST_F(RunTest, GuestCrashIsReportedWithTypeAndReason)
{
	hvabs_vcpu *v = start_with([](hvabs_gunyah_emu_guest *g) {
		hvabs_gunyah_emu_guest_exit(g, true, HVABS_EXIT_TYPE_HYP_ERROR, "boom", 4);
	});
	const hvabs_exit &e = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason);
	EXPECT_EQ(HVABS_STATUS_CRASHED, e.status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_HYP_ERROR, e.status.exit_type);
	ASSERT_EQ(4u, e.status.reason_size);
	EXPECT_EQ(0, std::memcmp("boom", e.status.reason, 4));
	struct hvabs_vm_status st;
	hvabs_vm_status_get(vm_, &st);
	EXPECT_EQ(HVABS_VM_CRASHED, st.state);
	EXPECT_EQ(HVABS_EXIT_TYPE_HYP_ERROR, st.exit_type);
	EXPECT_EQ(0, std::memcmp("boom", st.reason, 4));
}

TEST_F(RunTest, GuestPowerOffKeepsItsExitType)
{
	const uint8_t reason[2] = { 0x12, 0x34 };
	hvabs_vcpu *v = start_with([&reason](hvabs_gunyah_emu_guest *g) {
		hvabs_gunyah_emu_guest_exit(g, false, HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, reason, 2);
	});
	const hvabs_exit &e = run_exit(v);
	ASSERT_EQ((uint32_t)HVABS_EXIT_STATUS, e.reason);
	EXPECT_EQ(HVABS_STATUS_EXITED, e.status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET, e.status.exit_type);
	EXPECT_EQ(2u, e.status.reason_size);
	EXPECT_EQ(0, std::memcmp(reason, e.status.reason, 2));
}

TEST_F(RunTest, KickBeforeRunReturnsIntrAtOnce)
{
	std::atomic<bool> go{ false };
	hvabs_vcpu *v = start_with([&go](hvabs_gunyah_emu_guest *g) {
		while (!go)
			hvabs_gunyah_emu_guest_yield(g);
	});
	hvabs_vcpu_kick(v);
	GY_ASSERT_OK(hvabs_vcpu_run(v));
	EXPECT_EQ((uint32_t)HVABS_EXIT_INTR, hvabs_vcpu_exit(v)->reason);
	go = true;
	expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
}

TEST_F(RunTest, KickStopsARunInProgress)
{
	std::atomic<bool> go{ false }, in_guest{ false };
	hvabs_vcpu *v = start_with([&](hvabs_gunyah_emu_guest *g) {
		in_guest = true;
		while (!go)
			hvabs_gunyah_emu_guest_yield(g);
	});
	for (int round = 0; round < 3; round++) {
		std::atomic<int> ret{ 1 };
		std::thread t([&] { ret = hvabs_vcpu_run(v); });
		while (!in_guest)
			std::this_thread::yield();
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		EXPECT_EQ(1, ret.load()) << "still running before the kick";
		hvabs_vcpu_kick(v);
		t.join();
		EXPECT_EQ(0, ret.load());
		EXPECT_EQ((uint32_t)HVABS_EXIT_INTR, hvabs_vcpu_exit(v)->reason) << round;
	}
	go = true;
	expect_status(v, HVABS_STATUS_EXITED, HVABS_EXIT_TYPE_VM_EXIT);
}

TEST_F(RunTest, TwoVcpusRunInParallel)
{
	create_ok();
	add_ram();
	std::atomic<int> arrived{ 0 };
	GuestBody body = [&arrived](hvabs_gunyah_emu_guest *g) {
		arrived++;
		while (arrived < 2) /* both must be inside their runs at once */
			hvabs_gunyah_emu_guest_yield(g);
		uint32_t id = hvabs_gunyah_emu_guest_vcpu_id(g);
		hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x10 * id, 4, 0x100 + id);
		for (;;)
			hvabs_gunyah_emu_guest_yield(g);
	};
	guest(0, body);
	guest(1, body);
	hvabs_vcpu *v[2] = { add_vcpu(0), add_vcpu(1) };
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	hvabs_exit got[2];
	std::thread t[2];
	for (int i = 0; i < 2; i++)
		t[i] = std::thread([&, i] {
			run(v[i]);
			got[i] = *hvabs_vcpu_exit(v[i]);
		});
	for (auto &th : t)
		th.join();
	for (uint32_t i = 0; i < 2; i++) {
		ASSERT_EQ((uint32_t)HVABS_EXIT_MMIO, got[i].reason) << i;
		EXPECT_EQ(i, got[i].vcpu_id);
		EXPECT_EQ(kMmio + 0x10 * i, got[i].mmio.addr);
		EXPECT_EQ(0x100u + i, mmio_value(got[i]));
	}
	/* TearDown destroys the VM with both guests still looping. */
}

TEST_F(RunTest, DestroyStopsARunningVcpu)
{
	std::atomic<bool> in_guest{ false };
	hvabs_vcpu *v = start_with([&](hvabs_gunyah_emu_guest *g) {
		in_guest = true;
		for (;;)
			hvabs_gunyah_emu_guest_yield(g);
	});
	std::atomic<int> ret{ 1 };
	std::thread t([&] { ret = hvabs_vcpu_run(v); });
	while (!in_guest)
		std::this_thread::yield();
	hvabs_vm_destroy(vm_);
	vm_ = nullptr;
	t.join();
	EXPECT_EQ(0, ret.load()) << "the run left with an exit";
}

} // namespace
} // namespace gy
