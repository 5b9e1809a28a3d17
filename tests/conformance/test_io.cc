/* SPDX-License-Identifier: MIT */
/* tests/conformance/test_io.cc: conformance - IO handlers, ioeventfd, irqfd and doorbells with guests. */
#include "conformance.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

using namespace hvt;

namespace {

constexpr uint64_t kDev = kMmioBase + 0x1000;
constexpr uint64_t kMarker = kMmioBase + 0x2000;

/* Records the accesses a handler served; returns @verdict from callbacks. */
struct Recorder {
	std::mutex m;
	struct Access {
		uint64_t addr;
		uint32_t len;
		uint64_t data;
		bool write;
	};
	std::vector<Access> seen;
	uint64_t read_value = 0;
	int verdict = 0;
	hvabs_io_handler *self = nullptr; /* set: remove on first access */

	size_t count()
	{
		std::lock_guard<std::mutex> lk(m);
		return seen.size();
	}

	static int on_write(hvabs_vcpu *, uint64_t addr, uint32_t len, uint64_t data, void *payload)
	{
		Recorder *r = static_cast<Recorder *>(payload);
		{
			std::lock_guard<std::mutex> lk(r->m);
			r->seen.push_back({ addr, len, data, true });
		}
		if (r->self) {
			hvabs_io_handler *h = r->self;
			r->self = nullptr;
			hvabs_io_handler_remove(h);
		}
		return r->verdict;
	}

	static int on_read(hvabs_vcpu *, uint64_t addr, uint32_t len, uint64_t *data, void *payload)
	{
		Recorder *r = static_cast<Recorder *>(payload);
		std::lock_guard<std::mutex> lk(r->m);
		r->seen.push_back({ addr, len, 0, false });
		*data = r->read_value;
		return r->verdict;
	}
};

hvabs_io_desc rec_desc(Recorder *r, uint64_t addr, uint64_t size = 8, uint32_t len = 0,
		       hvabs_space space = HVABS_SPACE_MMIO, uint32_t flags = 0, uint64_t data = 0)
{
	/* A DATAMATCH handler serves writes only, so it has no read callback. */
	hvabs_io_read_fn rd = (flags & HVABS_IO_DATAMATCH) ? nullptr : Recorder::on_read;
	return io_desc(space, addr, size, len, rd, Recorder::on_write, r, flags, data);
}

} /* namespace */

TEST_P(GuestTest, HandledWriteIsServedInsideRunAndNotReturned)
{
	Recorder r;
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 0x1234).mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev);
	hvabs_io_handler *h = nullptr;
	HV_ASSERT_OK(hvabs_vm_io_handler_add(&h, vm_, &d));
	ASSERT_NE(nullptr, h);
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(vm_));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 1));
	ASSERT_EQ(1u, r.count());
	EXPECT_EQ(kDev, r.seen[0].addr);
	EXPECT_EQ(4u, r.seen[0].len);
	EXPECT_EQ(0x1234u, r.seen[0].data);
	struct hvabs_vcpu_stats s = stats(vcpu);
	EXPECT_EQ(1u, s.dispatched);
	EXPECT_EQ(1u, s.returned);
	EXPECT_EQ(1u, s.exits[HVABS_EXIT_MMIO]);
}

TEST_P(GuestTest, ReadHandlerValueReachesGuestTruncatedToAccessWidth)
{
	Recorder r;
	r.read_value = 0xcafebabe12345678ull;
	GuestProgram p = GuestProgram().mmio_read(kDev, 4).mmio_read(kDev, 8);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 0x12345678));
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 0xcafebabe12345678ull));
	EXPECT_EQ(2u, stats(vcpu).dispatched);
	EXPECT_EQ(2u, r.count());
}

TEST_P(GuestTest, HandlerRangeCoversSizeBytesFromAddr)
{
	Recorder r;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 1, 1)
				 .mmio_write(kDev + 0xfc, 4, 2)
				 .mmio_write(kDev + 0x100, 1, 3);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev, 0x100);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev + 0x100, 1, 3));
	EXPECT_EQ(2u, r.count());
}

TEST_P(GuestTest, HandlerWithWidthServesOnlyThatWidth)
{
	Recorder r;
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 1).mmio_write(kDev, 2, 2);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev, 8, 4);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 2, 2));
	EXPECT_EQ(1u, r.count());
}

TEST_P(GuestTest, HandlersForDifferentWidthsOnOneRangeEachServeTheirWidth)
{
	Recorder r4, r2;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 4, 1)
				 .mmio_write(kDev, 2, 2)
				 .mmio_write(kDev, 1, 3);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d4 = rec_desc(&r4, kDev, 8, 4), d2 = rec_desc(&r2, kDev, 8, 2);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d4));
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d2));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 1, 3));
	EXPECT_EQ(1u, r4.count());
	EXPECT_EQ(1u, r2.count());
}

TEST_P(GuestTest, DatamatchHandlerServesOnlyWritesOfItsValue)
{
	Recorder r7, r9;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 4, 7)
				 .mmio_write(kDev, 4, 9)
				 .mmio_write(kDev, 4, 8)
				 .mmio_read(kDev, 4);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d7 = rec_desc(&r7, kDev, 0, 4, HVABS_SPACE_MMIO, HVABS_IO_DATAMATCH, 7);
	hvabs_io_desc d9 = rec_desc(&r9, kDev, 0, 4, HVABS_SPACE_MMIO, HVABS_IO_DATAMATCH, 9);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d7));
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d9));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 8));
	ASSERT_NO_FATAL_FAILURE(complete_mmio_read(vcpu, kDev, 4, 5)) << "datamatch never serves reads";
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 5));
	EXPECT_EQ(1u, r7.count());
	EXPECT_EQ(1u, r9.count());
}

/*
 * Fuzzing finding (fuzz/io): datamatch compared only the low @len bytes of
 * the handler's data, so data 0x101 on a 1-byte handler matched a write of
 * 1 and, sorted after the exact handler, took its writes. The written value
 * zero-extended must equal all of @data (KVM's rule).
 */
TEST_P(GuestTest, DatamatchDataAboveTheWidthNeverMatches)
{
	Recorder exact, high;
	GuestProgram p = GuestProgram().mmio_write(kDev, 1, 0x01).mmio_write(kDev, 1, 0x02);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc dx = rec_desc(&exact, kDev, 0, 1, HVABS_SPACE_MMIO, HVABS_IO_DATAMATCH, 0x01);
	hvabs_io_desc dh = rec_desc(&high, kDev, 0, 1, HVABS_SPACE_MMIO, HVABS_IO_DATAMATCH, 0x101);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &dx));
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &dh));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 1, 0x02));
	EXPECT_EQ(1u, exact.count()) << "the write of 1 goes to the handler whose data is 1";
	EXPECT_EQ(0u, high.count()) << "data 0x101 can never equal a 1-byte value";
}

TEST_P(GuestTest, AnyWidthHandlerServesEveryWidth)
{
	Recorder r;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 1, 1)
				 .mmio_write(kDev, 2, 2)
				 .mmio_write(kDev, 4, 3)
				 .mmio_write(kDev, 8, 4)
				 .mmio_write(kMarker, 4, 0);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev, 8, 0);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	ASSERT_EQ(4u, r.count());
	EXPECT_EQ(8u, r.seen[3].len);
	EXPECT_EQ(4u, r.seen[3].data);
}

TEST_P(GuestTest, DecliningHandlerTurnsAccessIntoOrdinaryExit)
{
	Recorder r;
	r.verdict = 1;
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 0x77).mmio_read(kDev, 2);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 0x77));
	ASSERT_NO_FATAL_FAILURE(complete_mmio_read(vcpu, kDev, 2, 0x4242));
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 0x4242)) << "the caller's data wins";
	EXPECT_EQ(2u, r.count());
	struct hvabs_vcpu_stats s = stats(vcpu);
	EXPECT_EQ(0u, s.dispatched);
	EXPECT_EQ(3u, s.returned);
}

TEST_P(GuestTest, RemovedHandlerStopsServing)
{
	Recorder r;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 4, 1)
				 .mmio_write(kMarker, 4, 0)
				 .mmio_write(kDev, 4, 2);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev);
	hvabs_io_handler *h;
	HV_ASSERT_OK(hvabs_vm_io_handler_add(&h, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	hvabs_io_handler_remove(h);
	EXPECT_EQ(0u, hvabs_vm_io_handler_count(vm_));
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 2));
	EXPECT_EQ(1u, r.count());
	hvabs_io_handler_remove(nullptr); /* ignored */
}

/* A vCPU remembers its last hit: replacing the handler must still reach the new one. */
TEST_P(GuestTest, HandlerReplacedAtARepeatedAddressServesTheNextAccess)
{
	Recorder a, b;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 4, 1)
				 .mmio_write(kDev, 4, 2)
				 .mmio_write(kMarker, 4, 0)
				 .mmio_write(kDev, 4, 3)
				 .mmio_write(kDev, 4, 4)
				 .mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc da = rec_desc(&a, kDev);
	hvabs_io_desc db = rec_desc(&b, kDev);
	hvabs_io_handler *h;
	HV_ASSERT_OK(hvabs_vm_io_handler_add(&h, vm_, &da));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	hvabs_io_handler_remove(h);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &db));
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 1));
	ASSERT_EQ(2u, a.count());
	ASSERT_EQ(2u, b.count());
	EXPECT_EQ(3u, b.seen[0].data);
	EXPECT_EQ(4u, b.seen[1].data);
}

TEST_P(GuestTest, HandlerAddedWhileRunningServesTheNextAccess)
{
	Recorder r;
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 4, 1)
				 .mmio_write(kDev, 4, 2)
				 .mmio_write(kMarker, 4, 3);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 1));
	hvabs_io_desc d = rec_desc(&r, kDev);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 3));
	ASSERT_EQ(1u, r.count());
	EXPECT_EQ(2u, r.seen[0].data);
}

TEST_P(GuestTest, HandlerCanRemoveItselfFromItsCallback)
{
	Recorder r;
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 1).mmio_write(kDev, 4, 2);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, kDev);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(&r.self, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 2));
	EXPECT_EQ(1u, r.count());
	EXPECT_EQ(0u, hvabs_vm_io_handler_count(vm_));
}

TEST_P(GuestTest, PortHandlerServesPioReadsAndWrites)
{
	REQUIRE(has_space(HVABS_SPACE_PIO), "no port I/O");
	Recorder r;
	r.read_value = 0x5a;
	GuestProgram p = GuestProgram().pio_write(0x70, 1, 0x8f).pio_read(0x71, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, 0x70, 2, 1, HVABS_SPACE_PIO);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 0x5a));
	ASSERT_EQ(2u, r.count());
	EXPECT_EQ(0x70u, r.seen[0].addr);
	EXPECT_EQ(0x8fu, r.seen[0].data);
	EXPECT_EQ(0x71u, r.seen[1].addr);
}

TEST_P(GuestTest, MmioHandlerDoesNotServePortWithSameNumber)
{
	REQUIRE(has_space(HVABS_SPACE_PIO), "no port I/O");
	Recorder r;
	GuestProgram p = GuestProgram().pio_write(0x80, 1, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_io_desc d = rec_desc(&r, 0x80, 1, 0, HVABS_SPACE_MMIO);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &d));
	HV_ASSERT_OK(start());
	hvabs_exit e = run(vcpu);
	ASSERT_EXIT_REASON(HVABS_EXIT_PIO, e);
	EXPECT_EQ(0u, r.count());
}

/* ---- ioeventfd ---- */

TEST_P(GuestTest, IoeventfdWriteSignalsEventfdWithoutExit)
{
	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	EventFd &e = pool_.eventfd();
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 1).mmio_write(kMarker, 4, 0);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kDev, 4, e.fd(), 0, 0));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	EXPECT_TRUE(e.wait_readable(std::chrono::seconds(5)));
	EXPECT_EQ(1u, e.drain());
	EXPECT_EQ(1u, stats(vcpu).exits[HVABS_EXIT_MMIO]);
}

TEST_P(GuestTest, IoeventfdDatamatchSignalsOnlyForItsValue)
{
	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	EventFd &e = pool_.eventfd();
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 0x54).mmio_write(kDev, 4, 0x55).mmio_write(kMarker, 4, 0);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kDev, 4, e.fd(),
					    HVABS_IOEVENTFD_DATAMATCH, 0x55));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 0x54));
	EXPECT_FALSE(e.readable_now());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	EXPECT_TRUE(e.wait_readable(std::chrono::seconds(5)));
	EXPECT_EQ(1u, e.drain());
}

TEST_P(GuestTest, IoeventfdWithAnyLengthMatchesEveryWidth)
{
	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	REQUIRE(caps_.ioeventfd_lens & 1u, "no any-length ioeventfd");
	EventFd &e = pool_.eventfd();
	GuestProgram p = GuestProgram()
				 .mmio_write(kDev, 1, 1)
				 .mmio_write(kDev, 2, 1)
				 .mmio_write(kDev, 4, 1)
				 .mmio_write(kMarker, 4, 0);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kDev, 0, e.fd(), 0, 0));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	EXPECT_TRUE(e.wait_readable(std::chrono::seconds(5)));
	EXPECT_EQ(3u, e.drain());
}

TEST_P(GuestTest, RemovedIoeventfdLetsWritesExitAgain)
{
	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	EventFd &e = pool_.eventfd();
	GuestProgram p = GuestProgram().mmio_write(kDev, 4, 1).mmio_write(kMarker, 4, 0).mmio_write(kDev, 4, 2);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_function *fn;
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(&fn, vm_, HVABS_SPACE_MMIO, kDev, 4, e.fd(), 0, 0));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	HV_ASSERT_OK(hvabs_function_remove(fn));
	EXPECT_EQ(1u, e.drain());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kDev, 4, 2));
	EXPECT_FALSE(e.readable_now());
}

TEST_P(GuestTest, PortIoeventfdSignalsWithoutExit)
{
	REQUIRE(has_fn(HVABS_FN_IOEVENTFD), "no ioeventfd");
	REQUIRE(caps_.ioeventfd_spaces & (1u << HVABS_SPACE_PIO), "no port ioeventfd");
	EventFd &e = pool_.eventfd();
	GuestProgram p = GuestProgram().pio_write(0xf4, 1, 0).mmio_write(kMarker, 4, 0);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_PIO, 0xf4, 1, e.fd(), 0, 0));
	HV_ASSERT_OK(start());
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 0));
	EXPECT_TRUE(e.wait_readable(std::chrono::seconds(5)));
}

/* ---- irqfd and doorbells ---- */

TEST_P(GuestTest, IrqfdWriteWakesGuestWaitingOnItsLine)
{
	REQUIRE(has_fn(HVABS_FN_IRQFD), "no irqfd");
	EventFd &irq = pool_.eventfd();
	GuestProgram p = GuestProgram().wait_irq().wait_irq();
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, irq.fd(), 5, 0, -1));
	HV_ASSERT_OK(start());
	irq.signal(); /* pending before the guest waits */
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 5));
	std::thread later([&] {
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		irq.signal(); /* while the guest sleeps */
	});
	expect_result(vcpu, 5);
	later.join();
}

TEST_P(GuestTest, IrqfdLinesAreDeliveredToTheirOwnLabel)
{
	REQUIRE(has_fn(HVABS_FN_IRQFD), "no irqfd");
	EventFd &a = pool_.eventfd(), &b = pool_.eventfd();
	GuestProgram p = GuestProgram().wait_irq();
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, a.fd(), 5, 0, -1));
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, b.fd(), 6, 0, -1));
	HV_ASSERT_OK(start());
	b.signal();
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 6));
}

TEST_P(GuestTest, LevelIrqfdSignalsResampleFdWhenGuestEois)
{
	REQUIRE(has_fn(HVABS_FN_IRQFD), "no irqfd");
	REQUIRE((caps_.irqfd_flags & (HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE)) ==
			(HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE),
		"no level irqfd with resample");
	EventFd &irq = pool_.eventfd(), &resample = pool_.eventfd();
	GuestProgram p = GuestProgram().wait_irq().eoi(6).mmio_write(kMarker, 4, 1);
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, irq.fd(), 6,
					HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE, resample.fd()));
	HV_ASSERT_OK(start());
	irq.signal();
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 6));
	EXPECT_FALSE(resample.readable_now()) << "no EOI yet";
	ASSERT_NO_FATAL_FAILURE(expect_mmio_write(vcpu, kMarker, 4, 1));
	EXPECT_TRUE(resample.wait_readable(std::chrono::seconds(5))) << "EOI resamples";
}

TEST_P(GuestTest, RemovedIrqfdNoLongerInterruptsGuest)
{
	REQUIRE(has_fn(HVABS_FN_IRQFD), "no irqfd");
	EventFd &gone = pool_.eventfd(), &kept = pool_.eventfd();
	GuestProgram p = GuestProgram().wait_irq();
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_function *fn;
	HV_ASSERT_OK(hvabs_vm_irqfd_add(&fn, vm_, gone.fd(), 5, 0, -1));
	HV_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, kept.fd(), 6, 0, -1));
	HV_ASSERT_OK(start());
	HV_ASSERT_OK(hvabs_function_remove(fn));
	gone.signal();
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	kept.signal();
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 6)) << "line 5 must not fire after removal";
}

TEST_P(GuestTest, RaisingBellTxTicketInterruptsGuest)
{
	LoggedTicket &t = pool_.ticket(&log_, 7, vm_);
	GuestProgram p = GuestProgram().wait_irq();
	REQUIRE_PROGRAM(p);
	hvabs_vcpu *vcpu = add_vcpu(0, p);
	hvabs_ticket *tk;
	hvabs_ticket_desc d = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);
	HV_ASSERT_OK(hvabs_vm_ticket_add(&tk, vm_, &d));
	HV_ASSERT_OK(start());
	const hvabs_resource *res = hvabs_ticket_resource(tk);
	REQUIRE(res != nullptr, "no BELL_TX resources");
	if (!has_feat(HVABS_FEAT_RESOURCE_RAISE)) {
		EXPECT_EQ(HVABS_ENOTSUP, hvabs_resource_raise(res)) << "caps deny raising";
		GTEST_SKIP() << backend_ << " cannot raise doorbells (caps)";
	}
	HV_ASSERT_OK(hvabs_resource_raise(res));
	ASSERT_NO_FATAL_FAILURE(expect_result(vcpu, 7));
}
