/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/test_run.cc: GH_VCPU_RUN with test guests - MMIO and STATUS exits, irqfd, ioeventfd, signals, teardown. */
#include "emu_test.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

namespace gemu {
namespace {

class Run : public EmuTest {};

constexpr uint64_t kMmio = 0x9000000;

std::atomic<bool> g_release{ false };

/* Spin (with preemption points) until the test releases the guest, then write 0x42. */
void guest_spin_then_write(hvabs_gunyah_emu_guest *g, void *)
{
	while (!g_release.load())
		hvabs_gunyah_emu_guest_yield(g);
	hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 0x42);
}

/* A started VM with vCPU 0 (played by @guest) and the devicetree of @spec. */
struct Started {
	Vm vm;
	std::unique_ptr<Vcpu> vcpu;

	Started(Abi abi, hvabs_gunyah_emu_guest_fn guest, const DtSpec &spec = DtSpec(),
		void *payload = nullptr)
	{
		EXPECT_EQ(0, hvabs_gunyah_emu_set_guest(0, guest, payload));
		long fd = vm.add_vcpu(abi, 0);
		EXPECT_GE(fd, 0);
		vcpu.reset(new Vcpu((int)fd));
		EXPECT_EQ(0, vm.place_dtb(spec));
		EXPECT_EQ(0, vm.start());
	}
	VcpuRun *run() { return vcpu->run; }
};

void expect_mmio_write(const VcpuRun *r, uint64_t addr, uint32_t len, uint64_t val)
{
	EXPECT_EQ(kExitMmio, r->exit_reason);
	EXPECT_EQ(addr, r->mmio.phys_addr);
	EXPECT_EQ(len, r->mmio.len);
	EXPECT_EQ(1u, r->mmio.is_write);
	EXPECT_EQ(val, le_load(r->mmio.data, len));
}

TEST_P(Run, RunBeforeStartIsEnodev)
{
	in_child([this] {
		Vm vm;
		long fd = vm.add_vcpu(abi(), 0);

		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		EXPECT_EQ(-ENODEV, v.run_once());
		v.run->immediate_exit = 1;
		EXPECT_EQ(-ENODEV, v.run_once()) << "the binding is checked first";
	});
}

TEST_P(Run, AVcpuMissingFromTheDevicetreeIsEnodev)
{
	in_child([this] {
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, [](hvabs_gunyah_emu_guest *g, void *) {
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 1, 1);
			}, nullptr));
		Vm vm;
		long fd0 = vm.add_vcpu(abi(), 0), fd1 = vm.add_vcpu(abi(), 1);

		ASSERT_GE(fd0, 0);
		ASSERT_GE(fd1, 0);
		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		Vcpu v0((int)fd0), v1((int)fd1);
		EXPECT_EQ(-ENODEV, v1.run_once());
		EXPECT_EQ(0, v0.run_once());
		expect_mmio_write(v0.run, kMmio, 1, 1);
	});
}

TEST_P(Run, ImmediateExitIsEintrBeforeTheGuestRuns)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 2, 0x7);
		});

		s.run()->immediate_exit = 1;
		EXPECT_EQ(-EINTR, s.vcpu->run_once());
		EXPECT_EQ(-EINTR, s.vcpu->run_once());
		s.run()->immediate_exit = 0;
		EXPECT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio, 2, 0x7);
	});
}

TEST_P(Run, AnMmioWriteExitCarriesAddressLengthAndData)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x10, 8, 0x1122334455667788ull);
			hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x20, 1, 0xfe);
		});

		ASSERT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio + 0x10, 8, 0x1122334455667788ull);
		ASSERT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio + 0x20, 1, 0xfe);
		ASSERT_EQ(0, s.vcpu->run_once());
		EXPECT_EQ(kExitStatus, s.run()->exit_reason);
		EXPECT_EQ(3u, emu_stats().runs);
	});
}

TEST_P(Run, ReadDataIsDeliveredByTheNextRun)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			uint64_t v = 0;

			hvabs_gunyah_emu_guest_mmio_read(g, kMmio + 8, 4, &v);
			hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 12, 8, v + 1);
		});

		ASSERT_EQ(0, s.vcpu->run_once());
		EXPECT_EQ(kExitMmio, s.run()->exit_reason);
		EXPECT_EQ(kMmio + 8, s.run()->mmio.phys_addr);
		EXPECT_EQ(4u, s.run()->mmio.len);
		EXPECT_EQ(0u, s.run()->mmio.is_write);
		le_store(s.run()->mmio.data, 4, 0x11223344);
		/* immediate_exit does not consume the pending read. */
		s.run()->immediate_exit = 1;
		EXPECT_EQ(-EINTR, s.vcpu->run_once());
		s.run()->immediate_exit = 0;
		ASSERT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio + 12, 8, 0x11223345);
	});
}

TEST_P(Run, AStatusExitIsReturnedByEveryLaterRun)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *, void *) {});

		for (int i = 0; i < 3; i++) {
			ASSERT_EQ(0, s.vcpu->run_once());
			EXPECT_EQ(kExitStatus, s.run()->exit_reason);
			EXPECT_EQ(kStatusExited, s.run()->status.status);
			EXPECT_EQ(0u, s.run()->status.exit_info.type);
			EXPECT_EQ(0u, s.run()->status.exit_info.reason_size);
		}
	});
}

TEST_P(Run, ACrashCarriesTypeAndReason)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			hvabs_gunyah_emu_guest_exit(g, true, 5 /* HYP_ERROR */, "oops", 4);
		});

		ASSERT_EQ(0, s.vcpu->run_once());
		EXPECT_EQ(kExitStatus, s.run()->exit_reason);
		EXPECT_EQ(kStatusCrashed, s.run()->status.status);
		EXPECT_EQ(5u, s.run()->status.exit_info.type);
		ASSERT_EQ(4u, s.run()->status.exit_info.reason_size);
		EXPECT_EQ(0, memcmp("oops", s.run()->status.exit_info.reason, 4));
	});
}

TEST_P(Run, APowerOffCarriesEightReasonBytes)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			const uint8_t reason[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

			hvabs_gunyah_emu_guest_exit(g, false, 1 /* PSCI_POWER_OFF */, reason, 8);
		});

		ASSERT_EQ(0, s.vcpu->run_once());
		EXPECT_EQ(kStatusExited, s.run()->status.status);
		EXPECT_EQ(1u, s.run()->status.exit_info.type);
		ASSERT_EQ(8u, s.run()->status.exit_info.reason_size);
		EXPECT_EQ(8u, s.run()->status.exit_info.reason[7]);
	});
}

TEST_P(Run, AFailedStartAfterBindingReportsLoadFailed)
{
	in_child(
		[this] {
			ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, guest_spin_then_write, nullptr));
			Vm vm;
			long fd = vm.add_vcpu(abi(), 0);

			ASSERT_GE(fd, 0);
			Vcpu v((int)fd);
			ASSERT_EQ(0, vm.place_dtb());
			EXPECT_EQ(-EIO, vm.start());
			ASSERT_EQ(0, v.run_once());
			EXPECT_EQ(kExitStatus, v.run->exit_reason);
			EXPECT_EQ(kStatusLoadFailed, v.run->status.status);
			EXPECT_EQ(-ENODEV, vm.start());
		},
		"start:1:EIO");
}

TEST_P(Run, IoeventfdWritesNeverReachTheVmm)
{
	in_child([this] {
		Vm vm;
		int plain = new_eventfd(), dm = new_eventfd(), any = new_eventfd();

		ASSERT_EQ(0, vm.add_ioeventfd(plain, kMmio + 0x1000, 4));
		ASSERT_EQ(0, vm.add_ioeventfd(dm, kMmio + 0x2000, 4, 1, 7));
		ASSERT_EQ(0, vm.add_ioeventfd(any, kMmio + 0x4000, 0));
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, [](hvabs_gunyah_emu_guest *g, void *) {
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x1000, 4, 1);
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x1000, 2, 1); /* len 2: exit */
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x2000, 4, 8); /* no match */
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x2000, 4, 7);
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x4000, 1, 1);
				hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x4000, 8, 1);
				uint64_t v;
				hvabs_gunyah_emu_guest_mmio_read(g, kMmio + 0x1000, 4, &v); /* reads exit */
			}, nullptr));
		long fd = vm.add_vcpu(abi(), 0);
		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());

		ASSERT_EQ(0, v.run_once());
		expect_mmio_write(v.run, kMmio + 0x1000, 2, 1);
		ASSERT_EQ(0, v.run_once());
		expect_mmio_write(v.run, kMmio + 0x2000, 4, 8);
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitMmio, v.run->exit_reason);
		EXPECT_EQ(0u, v.run->mmio.is_write);
		EXPECT_EQ(kMmio + 0x1000, v.run->mmio.phys_addr);
		EXPECT_EQ(1u, eventfd_take(plain));
		EXPECT_EQ(1u, eventfd_take(dm));
		EXPECT_EQ(2u, eventfd_take(any));
		EXPECT_EQ(4u, emu_stats().ioeventfd_hits);
	});
}

/* The guest reports the first doorbell it receives, then whether another is pending. */
void guest_report_irqs(hvabs_gunyah_emu_guest *g, void *)
{
	uint32_t label = hvabs_gunyah_emu_guest_wait_irq(g), more = 0;

	hvabs_gunyah_emu_guest_eoi(g, label);
	hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, label);
	uint64_t v;
	hvabs_gunyah_emu_guest_mmio_read(g, kMmio + 4, 4, &v); /* a sync point */
	int got = hvabs_gunyah_emu_guest_poll_irq(g, &more);
	hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 8, 4, got ? more : 0xffffffffu);
}

TEST_P(Run, AnIrqfdRingsItsDoorbellOnlyIfTheDevicetreeHasIt)
{
	in_child([this] {
		DtSpec spec;
		int bell = new_eventfd(), stray = new_eventfd();

		spec.bells = { 7 };
		Vm vm;
		ASSERT_EQ(0, vm.add_irqfd(bell, 7));
		ASSERT_EQ(0, vm.add_irqfd(stray, 3)) << "label 3 is no doorbell of this VM";
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, guest_report_irqs, nullptr));
		long fd = vm.add_vcpu(abi(), 0);
		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		ASSERT_EQ(0, vm.place_dtb(spec));
		ASSERT_EQ(0, vm.start());

		std::thread ringer([&] {
			uint64_t one = 1;

			ASSERT_EQ(8, write(stray, &one, 8));
			usleep(50000);
			ASSERT_EQ(8, write(bell, &one, 8));
		});
		ASSERT_EQ(0, v.run_once());
		ringer.join();
		expect_mmio_write(v.run, kMmio, 4, 7);
		ASSERT_EQ(0, v.run_once()); /* the read */
		uint64_t one = 1;
		ASSERT_EQ(8, write(stray, &one, 8));
		usleep(20000);
		ASSERT_EQ(0, v.run_once());
		expect_mmio_write(v.run, kMmio + 8, 4, 0xffffffffu);
	});
}

TEST_P(Run, AnIrqfdAddedWhileRunningIsBoundAtOnce)
{
	in_child([this] {
		DtSpec spec;
		int bell = new_eventfd();

		spec.bells = { 2 };
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			uint32_t label = hvabs_gunyah_emu_guest_wait_irq(g);

			hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, label);
		}, spec);
		ASSERT_EQ(0, s.vm.add_irqfd(bell, 2));
		/* The DTB config may change after start: the running VM does not care. */
		EXPECT_EQ(0, s.vm.set_dtb(0x1000, 16));
		uint64_t one = 1;
		ASSERT_EQ(8, write(bell, &one, 8));
		ASSERT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio, 4, 2);
		/* Removable while running. */
		EXPECT_EQ(0, s.vm.remove_irqfd(bell, 2));
		EXPECT_EQ(1u, emu_stats().functions) << "only the vCPU is left";
	});
}

std::atomic<int> g_signals{ 0 };

void on_signal(int)
{
	g_signals++;
}

void install_handler(bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, nullptr);
}

TEST_P(Run, ASignalMakesTheBlockedRunReturnEintr)
{
	in_child([this] {
		install_handler(false);
		Started s(abi(), guest_spin_then_write);
		std::atomic<long> ret{ 1 };
		std::atomic<uint64_t> returned_at{ 0 };

		std::thread t([&] {
			ret = s.vcpu->run_once();
			returned_at = now_us();
		});
		usleep(50000);
		EXPECT_EQ(1, ret.load()) << "the guest spins: RUN must still be blocked";
		uint64_t sent = now_us();
		pthread_kill(t.native_handle(), SIGUSR1);
		t.join();
		EXPECT_EQ(-EINTR, ret.load());
		EXPECT_EQ(1, g_signals.load());
		printf("[ metric ] signal -> RUN returned EINTR after %llu us\n",
		       (unsigned long long)(returned_at - sent));
		/* The emulator notices the dead call and stops the sim vCPU behind it. */
		uint64_t deadline = now_us() + 5000000;
		while (emu_stats().runs_interrupted != 1 && now_us() < deadline)
			usleep(1000);
		EXPECT_EQ(1u, emu_stats().runs_interrupted);
		/* The guest was only interrupted: it goes on with the next RUN. */
		g_release = true;
		ASSERT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio, 4, 0x42);
	});
}

TEST_P(Run, UnderSaRestartASignalRestartsTheRunTransparently)
{
	in_child([this] {
		install_handler(true);
		Started s(abi(), guest_spin_then_write);
		std::atomic<long> ret{ 1 };

		std::thread t([&] { ret = s.vcpu->run_once(); });
		usleep(30000);
		for (int i = 0; i < 3; i++) {
			pthread_kill(t.native_handle(), SIGUSR1);
			usleep(20000);
		}
		EXPECT_EQ(1, ret.load()) << "restarted, still running the guest";
		g_release = true;
		t.join();
		EXPECT_GE(emu_stats().runs_interrupted, 1u) << "each restart is a new notification";
		EXPECT_EQ(0, ret.load());
		expect_mmio_write(s.run(), kMmio, 4, 0x42);
		/* Three signals; a sanitizer runtime may coalesce them while the call blocks. */
		EXPECT_GE(g_signals.load(), 1);
	});
}

TEST_P(Run, SettingImmediateExitStopsARunningVcpu)
{
	in_child([this] {
		Started s(abi(), guest_spin_then_write);
		std::atomic<long> ret{ 1 };
		std::atomic<uint64_t> returned_at{ 0 };

		std::thread t([&] {
			ret = s.vcpu->run_once();
			returned_at = now_us();
		});
		usleep(50000);
		uint64_t set = now_us();
		__atomic_store_n(&s.run()->immediate_exit, 1, __ATOMIC_SEQ_CST);
		t.join();
		EXPECT_EQ(-EINTR, ret.load());
		printf("[ metric ] immediate_exit set -> RUN returned EINTR after %llu us\n",
		       (unsigned long long)(returned_at - set));
		s.run()->immediate_exit = 0;
		g_release = true;
		ASSERT_EQ(0, s.vcpu->run_once());
		expect_mmio_write(s.run(), kMmio, 4, 0x42);
	});
}

TEST_P(Run, RemovingARunningVcpuEndsItsRun)
{
	in_child([this] {
		Started s(abi(), guest_spin_then_write);
		std::atomic<long> ret{ 1 };

		std::thread t([&] { ret = s.vcpu->run_once(); });
		usleep(50000);
		EXPECT_EQ(0, s.vm.remove_vcpu(abi(), 0));
		t.join();
		EXPECT_EQ(-EINTR, ret.load()) << "unpopulate sets immediate_exit";
		EXPECT_EQ(1u, s.run()->immediate_exit);
		EXPECT_EQ(-ENODEV, s.vcpu->run_once());
	});
}

TEST_P(Run, TwoVcpusRunInParallel)
{
	in_child([this] {
		auto guest = [](hvabs_gunyah_emu_guest *g, void *) {
			uint32_t id = hvabs_gunyah_emu_guest_vcpu_id(g);

			hvabs_gunyah_emu_guest_mmio_write(g, kMmio + 0x100 * id, 4, 0x1000 + id);
		};
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, guest, nullptr));
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(1, guest, nullptr));
		Vm vm;
		DtSpec spec;
		spec.vcpus = { 0, 1 };
		long f0 = vm.add_vcpu(abi(), 0), f1 = vm.add_vcpu(abi(), 1);
		ASSERT_GE(f0, 0);
		ASSERT_GE(f1, 0);
		Vcpu v0((int)f0), v1((int)f1);
		ASSERT_EQ(0, vm.place_dtb(spec));
		ASSERT_EQ(0, vm.start());
		long r1 = 1;
		std::thread t([&] { r1 = v1.run_once(); });
		EXPECT_EQ(0, v0.run_once());
		t.join();
		EXPECT_EQ(0, r1);
		expect_mmio_write(v0.run, kMmio, 4, 0x1000);
		expect_mmio_write(v1.run, kMmio + 0x100, 4, 0x1001);
	});
}

/*
 * No test guest: the sim engine runs arm64 code from the base of the DTB's
 * region (Gunyah's image offset 0), x0 = DTB. The image writes 0x1234, reads
 * a value, writes it + 1, then calls PSCI SYSTEM_OFF.
 */
TEST_P(Run, ARealArm64ImageRunsOnTheSimEngine)
{
	in_child([this] {
		static const uint32_t image[] = {
			0xd2a12001, /* mov  x1, #0x9000000 */
			0x52824682, /* mov  w2, #0x1234 */
			0xb9000022, /* str  w2, [x1] */
			0xb9400423, /* ldr  w3, [x1, #4] */
			0x11000463, /* add  w3, w3, #1 */
			0xb9000823, /* str  w3, [x1, #8] */
			0x52800100, /* mov  w0, #0x8 */
			0x72b08000, /* movk w0, #0x8400, lsl #16: PSCI SYSTEM_OFF */
			0xd4000002, /* hvc  #0 */
			0x14000000, /* b    . */
		};
		ASSERT_EQ(0, hvabs_gunyah_emu_set_guest(0, nullptr, nullptr));
		Vm vm;
		memcpy(vm.mem, image, sizeof(image));
		long fd = vm.add_vcpu(abi(), 0);
		ASSERT_GE(fd, 0);
		Vcpu v((int)fd);
		ASSERT_EQ(0, vm.place_dtb());
		ASSERT_EQ(0, vm.start());
		long r = v.run_once();
		if (r == -EINVAL)
			child_skip("the sim has no arm64 engine (HVABS_SIM_UNICORN)");
		ASSERT_EQ(0, r);
		expect_mmio_write(v.run, kMmio, 4, 0x1234);
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitMmio, v.run->exit_reason);
		EXPECT_EQ(0u, v.run->mmio.is_write);
		EXPECT_EQ(kMmio + 4, v.run->mmio.phys_addr);
		le_store(v.run->mmio.data, 4, 41);
		ASSERT_EQ(0, v.run_once());
		expect_mmio_write(v.run, kMmio + 8, 4, 42);
		ASSERT_EQ(0, v.run_once());
		EXPECT_EQ(kExitStatus, v.run->exit_reason);
		EXPECT_EQ(kStatusExited, v.run->status.status);
		EXPECT_EQ(1u, v.run->status.exit_info.type) << "PSCI_POWER_OFF";
	});
}

/* ---- teardown ---- */

TEST_P(Run, ClosingTheLastFileRemovesFunctionsAndMemory)
{
	in_child([this] {
		struct hvabs_gunyah_emu_stats st;
		{
			Started s(abi(), guest_spin_then_write);
			int efd = new_eventfd();

			ASSERT_EQ(0, s.vm.add_irqfd(efd, 1));
			ASSERT_EQ(0, s.vm.add_ioeventfd(efd, kMmio, 4));
			st = emu_stats();
			EXPECT_EQ(1u, st.vms);
			EXPECT_EQ(1u, st.vcpus);
			EXPECT_EQ(3u, st.functions);
			EXPECT_EQ(1u, st.regions);
			EXPECT_EQ(1u, st.sim_vms);
			close(efd);
		}
		st = emu_stats();
		EXPECT_EQ(0u, st.vms);
		EXPECT_EQ(0u, st.vcpus);
		EXPECT_EQ(0u, st.functions);
		EXPECT_EQ(0u, st.regions);
		EXPECT_EQ(0u, st.sim_vms);
	});
}

TEST_P(Run, AVcpuFileAndItsRunPageKeepTheVmAlive)
{
	in_child([this] {
		Started s(abi(), [](hvabs_gunyah_emu_guest *g, void *) {
			hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 9);
		});
		s.vm.close_fd();
		EXPECT_EQ(1u, emu_stats().vms);
		ASSERT_EQ(0, s.vcpu->run_once()) << "the VM still runs";
		expect_mmio_write(s.run(), kMmio, 4, 9);
		VcpuRun *page = s.vcpu->run;
		close(s.vcpu->fd);
		s.vcpu->fd = -1;
		EXPECT_EQ(1u, emu_stats().vms) << "the mapping holds the file";
		s.vcpu->run = nullptr;
		munmap(page, (size_t)sysconf(_SC_PAGESIZE));
		struct hvabs_gunyah_emu_stats st = emu_stats();
		EXPECT_EQ(0u, st.vms);
		EXPECT_EQ(0u, st.vcpus);
		EXPECT_EQ(0u, st.functions);
	});
}

GEMU_INSTANTIATE(Run);

} /* namespace */
} /* namespace gemu */
