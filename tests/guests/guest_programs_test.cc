/* SPDX-License-Identifier: MIT */
/* tests/guests/guest_programs_test.cc: every guest program checked on sim, x86 ones also on KVM. */
#include <hvabs.h>
#include <hvabs/sim.h>

#include "hvabs_guests.h"
#include "hvabs_test.h"
#include "sim_engine_abi.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

/*
 * The checks of tools/guest_run.c (which stays, with its benchmarks) as
 * one GoogleTest case per (scenario, backend). x86 guests that need no
 * sim interrupt controller and no sim fault model also run on KVM, with
 * irqchip=off so that their final "cli; hlt" is an HLT exit there too.
 */

namespace {

using hvt::EventFd;

struct GuestInfo {
	const char *file;
	hvabs_arch arch;
	hvabs_cpu_mode mode;
	uint32_t nr_vcpus;
};

#define HVT_GUEST_ROW(id, file, arch, mode, nr) { file, arch, mode, nr },
const GuestInfo kGuests[] = { HVABS_GUEST_TABLE(HVT_GUEST_ROW) };
#undef HVT_GUEST_ROW

const GuestInfo *find_guest(const std::string &file)
{
	for (const GuestInfo &g : kGuests)
		if (file == g.file)
			return &g;
	return nullptr;
}

constexpr uint32_t kMaxVcpus = 2;
constexpr unsigned int kIrqBurst = 16; /* interrupts of the back-to-back irq checks */
constexpr auto kHang = std::chrono::seconds(20);

enum class Step { EXITED, STOPPED, HALTED, INTR, ERROR };

const char *step_name(Step s)
{
	switch (s) {
	case Step::EXITED: return "EXITED (exit device)";
	case Step::STOPPED: return "STOPPED (STATUS exit)";
	case Step::HALTED: return "HALTED";
	case Step::INTR: return "INTR";
	case Step::ERROR: return "ERROR";
	}
	return "?";
}

uint64_t le_get(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | p[len];
	return v;
}

/* Kicks every vCPU of a VM from @kHang on, so a hung guest fails instead of hanging the suite. */
class Watchdog {
public:
	explicit Watchdog(std::vector<hvabs_vcpu *> vcpus) : vcpus_(std::move(vcpus))
	{
		thread_ = std::thread([this] { watch(); });
	}
	~Watchdog()
	{
		{
			std::lock_guard<std::mutex> lk(m_);
			done_ = true;
		}
		cv_.notify_all();
		thread_.join();
	}
	bool expired() const { return expired_; }

private:
	void watch()
	{
		std::unique_lock<std::mutex> lk(m_);
		if (cv_.wait_for(lk, kHang, [this] { return done_; }))
			return;
		expired_ = true;
		while (!done_) {
			for (hvabs_vcpu *v : vcpus_)
				hvabs_vcpu_kick(v);
			cv_.wait_for(lk, std::chrono::milliseconds(20), [this] { return done_; });
		}
	}

	std::vector<hvabs_vcpu *> vcpus_;
	std::mutex m_;
	std::condition_variable cv_;
	bool done_ = false;
	std::atomic<bool> expired_{ false };
	std::thread thread_;
};

/* One VM running one guest program, with the VMM devices of sim_engine_abi.h. */
class GuestVm {
public:
	GuestVm(std::string backend, std::string file)
		: backend_(std::move(backend)), file_(std::move(file))
	{
	}
	~GuestVm()
	{
		watchdog_.reset();
		hvabs_vm_destroy(vm_);
	}

	uint64_t arg0 = 0;
	uint32_t ram_flags = HVABS_MEM_RWX;
	uint32_t nr_vcpus = 0; /* 0: the table's */
	uint32_t check_line = UINT32_MAX; /* sampled at each report: hvabs_sim_irq_state() */
	/* Edge irqfd raised by the report exit itself (after the guest's EOI, before it resumes). */
	EventFd *raise_fd = nullptr;
	uint32_t raise_line = 0;
	unsigned int raise_left = 0;

	/* Signal raise_fd and wait until its (edge) line is pending. */
	bool raise_pending();

	const GuestInfo *info() const { return info_; }
	hvabs_vm *vm() const { return vm_; }
	hvabs_vcpu *vcpu(uint32_t i) const { return vcpu_[i]; }
	bool arm() const { return info_->arch == HVABS_ARCH_ARM64; }

	/* Create the VM with RAM, the program and its vCPUs (not started). */
	void init();
	void start()
	{
		ASSERT_TRUE(hvt::code_is(0, hvabs_vm_start(vm_), "hvabs_vm_start"));
		std::vector<hvabs_vcpu *> v(vcpu_, vcpu_ + nr_vcpus);
		watchdog_.reset(new Watchdog(v));
	}
	/* Run vCPU @id until the guest exits, halts, stops or is kicked. */
	Step run(uint32_t id);

	std::vector<uint32_t> reports()
	{
		std::lock_guard<std::mutex> lk(m_);
		return reports_;
	}
	bool wait_reports(size_t n, std::chrono::milliseconds timeout)
	{
		std::unique_lock<std::mutex> lk(m_);
		return cv_.wait_for(lk, timeout, [&] { return reports_.size() >= n; });
	}
	uint32_t line_state_at_report()
	{
		std::lock_guard<std::mutex> lk(m_);
		return line_state_;
	}
	std::string console() const { return console_; }
	int exit_status(uint32_t id) const { return exit_status_[id]; }
	unsigned int faults_injected() const { return faults_injected_; }

private:
	bool on_mmio(uint32_t id, hvabs_exit *x);
	bool on_pio(uint32_t id, hvabs_exit *x);
	void report(uint32_t v);
	void load();

	std::string backend_;
	std::string file_;
	const GuestInfo *info_ = nullptr;
	hvabs_vm *vm_ = nullptr;
	hvabs_vcpu *vcpu_[kMaxVcpus] = {};
	std::unique_ptr<Watchdog> watchdog_;
	std::mutex m_;
	std::condition_variable cv_;
	std::vector<uint32_t> reports_;
	uint32_t line_state_ = 0;
	std::string console_;
	int exit_status_[kMaxVcpus] = { -1, -1 };
	uint32_t echo_ = 0;
	unsigned int faults_injected_ = 0;
};

void GuestVm::load()
{
	std::string path = std::string(HVABS_GUEST_DIR) + "/" + file_;
	FILE *f = fopen(path.c_str(), "rb");
	ASSERT_NE(nullptr, f) << "cannot open " << path;
	std::vector<uint8_t> bytes;
	int c;
	while ((c = fgetc(f)) != EOF)
		bytes.push_back((uint8_t)c);
	fclose(f);
	uint64_t at = arm() ? HVABS_GUEST_ARM64_LOAD : HVABS_GUEST_X86_LOAD;
	void *dst = hvabs_vm_mem_host(vm_, at, bytes.size());
	ASSERT_NE(nullptr, dst) << file_ << " does not fit in RAM";
	memcpy(dst, bytes.data(), bytes.size());
}

void GuestVm::init()
{
	info_ = find_guest(file_);
	ASSERT_NE(nullptr, info_) << file_ << " is not in HVABS_GUEST_TABLE";
	if (!nr_vcpus)
		nr_vcpus = info_->nr_vcpus;
	bool flat = info_->mode == HVABS_CPU_MODE_X86_PROT32 || info_->mode == HVABS_CPU_MODE_X86_LONG64;
	hvabs_vm_options opts = hvt::vm_options(backend_.c_str());
	opts.arch = info_->arch;
	opts.nr_vcpus = nr_vcpus;
	if (backend_ == "kvm")
		opts.backend_config = "irqchip=off"; /* HLT exits; these guests take no interrupts */
	ASSERT_TRUE(hvt::code_is(0, hvabs_vm_create(&vm_, &opts), "hvabs_vm_create"));
	hvabs_mem_region ram = hvt::region(HVABS_GUEST_RAM_LABEL,
					   arm() ? HVABS_GUEST_ARM64_RAM_BASE : HVABS_GUEST_X86_RAM_BASE,
					   arm() ? HVABS_GUEST_ARM64_RAM_SIZE : HVABS_GUEST_X86_RAM_SIZE,
					   ram_flags);
	ASSERT_TRUE(hvt::code_is(0, hvabs_vm_mem_add(vm_, &ram), "hvabs_vm_mem_add"));
	ASSERT_NO_FATAL_FAILURE(load());
	hvabs_boot_config boot{};
	boot.version = HVABS_BOOT_CONFIG_VERSION;
	boot.entry = arm() ? HVABS_GUEST_ARM64_LOAD : HVABS_GUEST_X86_LOAD;
	boot.cpu_mode = info_->mode;
	boot.scratch_addr = flat ? HVABS_GUEST_X86_SCRATCH : 0;
	boot.arg0 = arg0;
	boot.stack = arm() ? HVABS_GUEST_ARM64_STACK : flat ? HVABS_GUEST_X86_STACK_FLAT :
							      HVABS_GUEST_X86_STACK_REAL;
	ASSERT_TRUE(hvt::code_is(0, hvabs_vm_boot_set(vm_, &boot), "hvabs_vm_boot_set"));
	for (uint32_t i = 0; i < nr_vcpus; i++)
		ASSERT_TRUE(hvt::code_is(0, hvabs_vm_vcpu_add(&vcpu_[i], vm_, i), "hvabs_vm_vcpu_add"));
}

bool GuestVm::raise_pending()
{
	uint32_t st = 0;

	raise_fd->signal();
	for (int i = 0; i < 50000; i++) {
		if (hvabs_sim_irq_state(vm_, raise_line, &st) == 0 && (st & HVABS_SIM_IRQ_PENDING))
			return true;
		usleep(100);
	}
	return false;
}

void GuestVm::report(uint32_t v)
{
	{
		std::lock_guard<std::mutex> lk(m_);
		reports_.push_back(v);
		if (check_line != UINT32_MAX)
			(void)hvabs_sim_irq_state(vm_, check_line, &line_state_);
		if (raise_left) {
			raise_left--;
			EXPECT_TRUE(raise_pending()) << "irqfd did not make line " << raise_line << " pending";
		}
	}
	cv_.notify_all();
}

/* true: served, run on; false: the guest exited or the access is unexpected. */
bool GuestVm::on_mmio(uint32_t id, hvabs_exit *x)
{
	uint64_t v = le_get(x->mmio.data, x->mmio.len);

	switch (x->mmio.addr) {
	case HVABS_GUEST_ARM64_UART_BASE + HVABS_GUEST_PL011_DR:
		if (x->mmio.is_write)
			console_ += (char)v;
		return true;
	case HVABS_GUEST_ARM64_UART_BASE + HVABS_GUEST_PL011_FR:
		hvt::le_store(x->mmio.data, x->mmio.len, 0);
		return true;
	case HVABS_GUEST_ARM64_EXIT_MMIO:
		exit_status_[id] = (int)(v & 0xff);
		return false;
	case HVABS_GUEST_TEST_MMIO:
		report((uint32_t)v);
		return true;
	case HVABS_GUEST_ECHO_MMIO:
		if (x->mmio.is_write)
			echo_ = (uint32_t)v;
		else
			hvt::le_store(x->mmio.data, x->mmio.len, echo_);
		return true;
	case HVABS_GUEST_FAULT_MMIO:
		x->mmio.resume = HVABS_RESUME_FAULT;
		faults_injected_++;
		return true;
	}
	ADD_FAILURE() << file_ << ": unexpected MMIO " << (x->mmio.is_write ? "write" : "read")
		      << " 0x" << std::hex << x->mmio.addr << " len " << std::dec << x->mmio.len;
	return false;
}

bool GuestVm::on_pio(uint32_t id, hvabs_exit *x)
{
	uint64_t v = le_get(x->pio.data, x->pio.size);

	switch (x->pio.port) {
	case HVABS_GUEST_X86_UART_PORT:
		if (x->pio.is_write)
			console_ += (char)v;
		return true;
	case HVABS_GUEST_X86_UART_LSR_PORT:
		hvt::le_store(x->pio.data, x->pio.size, HVABS_GUEST_UART_LSR_THRE);
		return true;
	case HVABS_GUEST_X86_EXIT_PORT:
		exit_status_[id] = (int)(v & 0xff);
		return false;
	case HVABS_GUEST_X86_TEST_PORT:
		report((uint32_t)v);
		return true;
	}
	ADD_FAILURE() << file_ << ": unexpected PIO " << (x->pio.is_write ? "write" : "read")
		      << " port 0x" << std::hex << x->pio.port << " size " << std::dec
		      << (unsigned)x->pio.size;
	return false;
}

Step GuestVm::run(uint32_t id)
{
	hvabs_exit *x = hvabs_vcpu_exit(vcpu_[id]);

	for (;;) {
		int ret = hvabs_vcpu_run(vcpu_[id]);
		if (ret) {
			ADD_FAILURE() << file_ << ": hvabs_vcpu_run: " << hvt::describe(ret);
			return Step::ERROR;
		}
		switch (x->reason) {
		case HVABS_EXIT_MMIO:
			if (on_mmio(id, x))
				continue;
			return exit_status_[id] >= 0 ? Step::EXITED : Step::ERROR;
		case HVABS_EXIT_PIO:
			if (on_pio(id, x))
				continue;
			return exit_status_[id] >= 0 ? Step::EXITED : Step::ERROR;
		case HVABS_EXIT_STATUS:
			return Step::STOPPED;
		case HVABS_EXIT_HLT:
			return Step::HALTED;
		case HVABS_EXIT_INTR:
			if (watchdog_ && watchdog_->expired()) {
				ADD_FAILURE() << file_ << ": vCPU " << id << " hung";
				return Step::ERROR;
			}
			return Step::INTR;
		default:
			ADD_FAILURE() << file_ << ": unexpected exit " << hvabs_exit_reason_name(x->reason);
			return Step::ERROR;
		}
	}
}

/* Runs vCPU @id on its own thread. */
class VcpuThread {
public:
	VcpuThread(GuestVm *g, uint32_t id) : thread_([this, g, id] { step_ = g->run(id); }) {}
	Step join()
	{
		thread_.join();
		return step_;
	}

private:
	Step step_ = Step::ERROR;
	std::thread thread_;
};

/* vCPU @id ended by writing status 0 to the exit device. */
void expect_exit0(const GuestVm &g, Step step, uint32_t id)
{
	EXPECT_EQ(Step::EXITED, step) << "vCPU " << id << " got " << step_name(step);
	EXPECT_EQ(0, g.exit_status(id)) << "exit status of vCPU " << id;
}

/* ---- scenarios ---- */

struct Scenario;
using Body = std::function<void(const Scenario &s, const std::string &backend)>;

struct Scenario {
	std::string name;
	std::string file;
	bool on_kvm; /* x86, no sim interrupt controller, no sim fault model */
	Body body;
};

void hello(const Scenario &s, const std::string &backend, const std::string &want)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_exit0(g, g.run(0), 0);
	EXPECT_EQ(want, g.console());
	if (g.arm())
		return;
	/* x86 parks in "cli; hlt" after the exit write: an HLT exit, again and again. */
	EXPECT_EQ(Step::HALTED, g.run(0));
	EXPECT_EQ(Step::HALTED, g.run(0));
}

int echo_read(hvabs_vcpu *, uint64_t, uint32_t, uint64_t *data, void *p)
{
	*data = *static_cast<uint32_t *>(p);
	return 0;
}

int echo_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t data, void *p)
{
	*static_cast<uint32_t *>(p) = (uint32_t)data;
	return 0;
}

/* The echo register served by the runner (exits) or by an IO handler (dispatched). */
void echo(const Scenario &s, const std::string &backend, bool handler)
{
	GuestVm g(backend, s.file);
	uint32_t reg = 0;
	ASSERT_NO_FATAL_FAILURE(g.init());
	if (handler) {
		hvabs_io_desc d = hvt::io_desc(HVABS_SPACE_MMIO, HVABS_GUEST_ECHO_MMIO, 4, 4, echo_read,
					       echo_write, &reg);
		ASSERT_TRUE(hvt::code_is(0, hvabs_vm_io_handler_add(nullptr, g.vm(), &d), "io_handler_add"));
	}
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_exit0(g, g.run(0), 0);
	EXPECT_EQ(std::vector<uint32_t>{ HVABS_GUEST_ECHO_VALUE }, g.reports());
	struct hvabs_vcpu_stats st {};
	hvabs_vcpu_stats_get(g.vcpu(0), &st);
	/* arm64 reports and exits through MMIO devices too (x86: ports). */
	const uint64_t devices = g.arm() ? 2 : 0;
	if (handler) {
		EXPECT_EQ(2u, st.dispatched);
		EXPECT_EQ((uint32_t)HVABS_GUEST_ECHO_VALUE, reg);
		EXPECT_EQ(devices, st.exits[HVABS_EXIT_MMIO]);
	} else {
		EXPECT_EQ(devices + 2, st.exits[HVABS_EXIT_MMIO]) << "the echo write and read";
	}
}

/* 16 doorbell writes to an ioeventfd: none of them is an exit. */
void doorbell(const Scenario &s, const std::string &backend)
{
	GuestVm g(backend, s.file);
	EventFd fd;
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_TRUE(hvt::code_is(0,
				 hvabs_vm_ioeventfd_add(nullptr, g.vm(), HVABS_SPACE_MMIO,
							HVABS_GUEST_DOORBELL_MMIO, 4, fd.fd(),
							HVABS_IOEVENTFD_DATAMATCH,
							HVABS_GUEST_DOORBELL_VALUE),
				 "ioeventfd_add"));
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_exit0(g, g.run(0), 0);
	EXPECT_EQ(std::vector<uint32_t>{ HVABS_GUEST_DOORBELL_COUNT }, g.reports());
	EXPECT_EQ((uint64_t)HVABS_GUEST_DOORBELL_COUNT, fd.drain());
	struct hvabs_vcpu_stats st {};
	hvabs_vcpu_stats_get(g.vcpu(0), &st);
	/* Only arm64's report and exit writes (x86 uses ports for those). */
	EXPECT_EQ(g.arm() ? 2u : 0u, st.exits[HVABS_EXIT_MMIO])
		<< "doorbell writes must not reach the caller";
}

/*
 * irqfd on a line: raised @count times (the guest's arg0), one report
 * each, @gap_us after the previous report. A gap lets the guest reach
 * HLT/WFI first; no gap raises it while the guest is on its way back
 * there. @in_exit (edge only) raises the first before the guest starts
 * and each next one from the report exit, after the guest's EOI, before it
 * resumes: every interrupt then waits for the guest, wherever it unmasks.
 */
void irq(const Scenario &s, const std::string &backend, bool level, unsigned int count,
	 unsigned int gap_us, bool in_exit)
{
	const uint32_t line = level ? 7 : 5;
	GuestVm g(backend, s.file);
	EventFd fd, resample;
	g.arg0 = count;
	g.check_line = level ? line : UINT32_MAX;
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_TRUE(hvt::code_is(0,
				 hvabs_vm_irqfd_add(nullptr, g.vm(), fd.fd(), line,
						    level ? HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE : 0,
						    level ? resample.fd() : -1),
				 "irqfd_add"));
	ASSERT_NO_FATAL_FAILURE(g.start());
	if (in_exit) {
		g.raise_fd = &fd;
		g.raise_line = line;
		ASSERT_TRUE(g.raise_pending()) << "irqfd did not make line " << line << " pending";
		g.raise_left = count - 1;
	}
	VcpuThread t(&g, 0);
	for (unsigned int i = 0; i < count; i++) {
		if (gap_us)
			std::this_thread::sleep_for(std::chrono::microseconds(gap_us));
		if (!in_exit)
			fd.signal();
		if (!g.wait_reports(i + 1, std::chrono::seconds(5))) {
			ADD_FAILURE() << "no report for interrupt " << i;
			hvabs_vcpu_kick(g.vcpu(0));
			break;
		}
		if (level) {
			/* Reported before EOI: still active and asserted; EOI then resamples. */
			const uint32_t want = HVABS_SIM_IRQ_ACTIVE | HVABS_SIM_IRQ_ASSERTED;
			EXPECT_EQ(want, g.line_state_at_report() & want) << "interrupt " << i;
			EXPECT_TRUE(resample.wait_readable(std::chrono::seconds(5))) << "no resample after EOI " << i;
			resample.drain();
		}
	}
	/* The last interrupt was reported: the guest exits without another one. */
	expect_exit0(g, t.join(), 0);
	EXPECT_EQ(std::vector<uint32_t>(count, line), g.reports());
}

/* arm64 IRQ taken from EL1t: the handler runs on SP_EL1, ERET restores SP_EL0. */
void irq_sp0(const Scenario &s, const std::string &backend)
{
	GuestVm g(backend, s.file);
	EventFd fd;
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_TRUE(hvt::code_is(0, hvabs_vm_irqfd_add(nullptr, g.vm(), fd.fd(), 9, 0, -1), "irqfd_add"));
	ASSERT_NO_FATAL_FAILURE(g.start());
	VcpuThread t(&g, 0);
	std::this_thread::sleep_for(std::chrono::milliseconds(2));
	fd.signal();
	if (!g.wait_reports(3, std::chrono::seconds(5)))
		hvabs_vcpu_kick(g.vcpu(0));
	expect_exit0(g, t.join(), 0);
	std::vector<uint32_t> want = { 9, HVABS_GUEST_ARM64_STACK, HVABS_GUEST_ARM64_STACK - 0x10000 };
	EXPECT_EQ(want, g.reports());
}

void smp(const Scenario &s, const std::string &backend)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_EQ(2u, g.nr_vcpus);
	ASSERT_NO_FATAL_FAILURE(g.start());
	VcpuThread t0(&g, 0), t1(&g, 1);
	Step s0 = t0.join(), s1 = t1.join();
	expect_exit0(g, s0, 0);
	expect_exit0(g, s1, 1);
	EXPECT_EQ(std::vector<uint32_t>{ HVABS_GUEST_SMP_MESSAGE }, g.reports());
}

/* The VM ends CRASHED (exit type @type) with the reason bytes of sim_engine_abi.h. */
void expect_crash(GuestVm &g, Step step, uint16_t type, uint8_t kind, uint8_t detail, uint32_t pc)
{
	ASSERT_EQ(Step::STOPPED, step) << "got " << step_name(step);
	const hvabs_exit *x = hvabs_vcpu_exit(g.vcpu(0));
	EXPECT_EQ(HVABS_STATUS_CRASHED, x->status.status);
	EXPECT_EQ(type, x->status.exit_type);
	ASSERT_EQ((uint32_t)HVABS_GUEST_FAULT_REASON_SIZE, x->status.reason_size);
	EXPECT_EQ(kind, x->status.reason[0]) << "kind";
	EXPECT_EQ(detail, x->status.reason[1]) << "detail";
	EXPECT_EQ(0, x->status.reason[2]);
	EXPECT_EQ(0, x->status.reason[3]);
	EXPECT_EQ(pc, (uint32_t)le_get(x->status.reason + 4, 4)) << "pc";
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(g.vm(), &st);
	EXPECT_EQ(HVABS_VM_CRASHED, st.state);
	EXPECT_EQ(type, st.exit_type);
	EXPECT_EQ(0, memcmp(st.reason, x->status.reason, sizeof(st.reason)));
	EXPECT_EQ(Step::STOPPED, g.run(0)) << "every later run sees the status";
}

void fault(const Scenario &s, const std::string &backend, uint8_t kind, uint8_t detail, uint32_t pc)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_crash(g, g.run(0), HVABS_EXIT_TYPE_GUEST_FAULT, kind, detail, pc);
	if (kind == HVABS_GUEST_FAULT_DATA) {
		EXPECT_EQ(1u, g.faults_injected()) << "the read the VMM completed with FAULT";
	}
}

void fault_handled(const Scenario &s, const std::string &backend)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_exit0(g, g.run(0), 0);
	std::vector<uint32_t> want;
	if (g.arm())
		/* ESR: EC 0x25 (data abort, same EL), IL, DFSC 0x10; FAR; ELR - faulting insn. */
		want = { HVABS_GUEST_FAULT_MARKER, 0x96000010, HVABS_GUEST_FAULT_MMIO, 0 };
	else if (g.info()->mode == HVABS_CPU_MODE_X86_REAL)
		want = { HVABS_GUEST_FAULT_MARKER, 13, 0 };
	else
		want = { HVABS_GUEST_FAULT_MARKER, 13, 0, 0 }; /* plus the error code (0) */
	EXPECT_EQ(want, g.reports());
	EXPECT_EQ(1u, g.faults_injected());
}

/* A runaway loop (or a guest asleep in HLT/WFI) is stopped by kicks: each run returns INTR. */
void kick(const Scenario &s, const std::string &backend, int runs)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	for (int i = 0; i < runs; i++) {
		VcpuThread t(&g, 0);
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		hvabs_vcpu_kick(g.vcpu(0));
		Step st = t.join();
		EXPECT_EQ(Step::INTR, st) << "run " << i << " ended " << step_name(st);
	}
	struct hvabs_vcpu_stats st {};
	hvabs_vcpu_stats_get(g.vcpu(0), &st);
	EXPECT_EQ((uint64_t)runs, st.exits[HVABS_EXIT_INTR]);
}

/*
 * Kicks land anywhere in a running guest: every INTR exit must resume the
 * guest exactly where it stopped, so it still prints its greeting.
 */
void kick_storm(const Scenario &s, const std::string &backend, const std::string &want)
{
	GuestVm g(backend, s.file);
	std::atomic<bool> stop{ false };
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	unsigned int intr = 0;
	Step st;

	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	std::thread kicker([&] {
		while (!stop) {
			hvabs_vcpu_kick(g.vcpu(0));
			std::this_thread::sleep_for(std::chrono::microseconds(20));
		}
	});
	while ((st = g.run(0)) == Step::INTR && std::chrono::steady_clock::now() < deadline)
		intr++;
	stop = true;
	kicker.join();
	expect_exit0(g, st, 0);
	EXPECT_EQ(want, g.console()) << "after " << intr << " INTR exits";
}

/* RAM without write permission: the guest's first store is a data fault (no handler: crash). */
void readonly_ram(const Scenario &s, const std::string &backend, uint8_t detail, uint32_t pc)
{
	GuestVm g(backend, s.file);
	g.ram_flags = HVABS_MEM_READ | HVABS_MEM_EXEC;
	g.nr_vcpus = 1;
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_crash(g, g.run(0), HVABS_EXIT_TYPE_GUEST_FAULT, HVABS_GUEST_FAULT_DATA, detail, pc);
}

/* PSCI through HVC/SMC: version, an unknown call, SYSTEM_OFF powers the VM off. */
void psci(const Scenario &s, const std::string &backend)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	ASSERT_NO_FATAL_FAILURE(g.start());
	ASSERT_EQ(Step::STOPPED, g.run(0));
	const hvabs_exit *x = hvabs_vcpu_exit(g.vcpu(0));
	EXPECT_EQ(HVABS_STATUS_EXITED, x->status.status);
	EXPECT_EQ(HVABS_EXIT_TYPE_PSCI_POWER_OFF, x->status.exit_type);
	EXPECT_EQ(0u, x->status.reason_size);
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(g.vm(), &st);
	EXPECT_EQ(HVABS_VM_EXITED, st.state);
	EXPECT_EQ((std::vector<uint32_t>{ 0x10000, 0xffffffff }), g.reports());
}

/* vm_start refuses what the engine cannot boot: a real-mode entry above 1 MiB. */
void check_vm(const Scenario &s, const std::string &backend)
{
	GuestVm g(backend, s.file);
	ASSERT_NO_FATAL_FAILURE(g.init());
	hvabs_boot_config boot{};
	boot.version = HVABS_BOOT_CONFIG_VERSION;
	boot.entry = 0x200000;
	boot.cpu_mode = HVABS_CPU_MODE_X86_REAL;
	ASSERT_TRUE(hvt::code_is(0, hvabs_vm_boot_set(g.vm(), &boot), "boot_set"));
	EXPECT_TRUE(hvt::code_is(HVABS_EINVAL, hvabs_vm_start(g.vm()), "hvabs_vm_start"));
}

int count_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *p)
{
	++*static_cast<uint64_t *>(p);
	return 0;
}

/* The benchmark loop as a check: arg0 doorbell writes, all served by an IO handler. */
void mmio_loop(const Scenario &s, const std::string &backend)
{
	const uint64_t n = 1000;
	uint64_t count = 0;
	GuestVm g(backend, s.file);
	g.arg0 = n;
	ASSERT_NO_FATAL_FAILURE(g.init());
	hvabs_io_desc d = hvt::io_desc(HVABS_SPACE_MMIO, HVABS_GUEST_DOORBELL_MMIO, 4, 4, nullptr,
				       count_write, &count);
	ASSERT_TRUE(hvt::code_is(0, hvabs_vm_io_handler_add(nullptr, g.vm(), &d), "io_handler_add"));
	ASSERT_NO_FATAL_FAILURE(g.start());
	expect_exit0(g, g.run(0), 0);
	EXPECT_EQ(n, count);
	EXPECT_EQ(std::vector<uint32_t>{ (uint32_t)n }, g.reports());
	struct hvabs_vcpu_stats st {};
	hvabs_vcpu_stats_get(g.vcpu(0), &st);
	EXPECT_EQ(n, st.dispatched);
}

using namespace std::placeholders;

std::vector<Scenario> scenarios()
{
	const uint8_t GF = HVABS_GUEST_FAULT_FETCH, GI = HVABS_GUEST_FAULT_INVALID,
		      GT = HVABS_GUEST_FAULT_TRIPLE, GE = HVABS_GUEST_FAULT_EXCEPTION,
		      GD = HVABS_GUEST_FAULT_DATA;
	const uint32_t X = HVABS_GUEST_X86_LOAD, A = HVABS_GUEST_ARM64_LOAD;
	auto fault_of = [](uint8_t kind, uint8_t detail, uint32_t pc) {
		return Body([=](const Scenario &s, const std::string &b) { fault(s, b, kind, detail, pc); });
	};
	auto hello_of = [](const char *want) {
		return Body([=](const Scenario &s, const std::string &b) { hello(s, b, want); });
	};
	auto storm_of = [](const char *want) {
		return Body([=](const Scenario &s, const std::string &b) { kick_storm(s, b, want); });
	};
	const char *hello_real = "Hello from x86 real mode\n";
	const char *hello_prot32 = "Hello from x86 32-bit protected mode\n";
	const char *hello_arm64 = "Hello from arm64 EL1\n";
	std::vector<Scenario> v;

	/* Each irq guest: spaced and back-to-back interrupts, (edge) ones raised in the report exit. */
	struct IrqGuest {
		const char *name, *file;
		bool level;
	};
	const IrqGuest irq_guests[] = {
		{ "irq_edge_x86", "irq_edge-x86.bin", false },
		{ "irq_level_x86", "irq_level-x86.bin", true },
		{ "irq_edge_x86_long64", "irq_edge-x86-long64.bin", false },
		{ "irq_edge_arm64", "irq_edge-arm64.bin", false },
		{ "irq_level_arm64", "irq_level-arm64.bin", true },
	};
	for (const IrqGuest &i : irq_guests) {
		bool level = i.level;
		v.push_back({ i.name, i.file, false,
			      std::bind(irq, _1, _2, level, HVABS_GUEST_IRQ_COUNT, 2000, false) });
		v.push_back({ std::string(i.name) + "_back_to_back", i.file, false,
			      std::bind(irq, _1, _2, level, kIrqBurst, 0, false) });
		if (!level)
			v.push_back({ std::string(i.name) + "_raised_in_exit", i.file, false,
				      std::bind(irq, _1, _2, level, kIrqBurst, 0, true) });
	}

	std::vector<Scenario> rest = {
		{ "hello_x86", "hello-x86.bin", true, hello_of(hello_real) },
		{ "hello_x86_prot32", "hello-x86-prot32.bin", true, hello_of(hello_prot32) },
		{ "hello_x86_long64", "hello-x86-long64.bin", true,
		  hello_of("Hello from x86 64-bit long mode\n") },
		{ "hello_arm64", "hello-arm64.bin", false, hello_of(hello_arm64) },
		{ "kick_storm_x86", "hello-x86.bin", true, storm_of(hello_real) },
		{ "kick_storm_x86_prot32", "hello-x86-prot32.bin", true, storm_of(hello_prot32) },
		{ "kick_storm_arm64", "hello-arm64.bin", false, storm_of(hello_arm64) },
		{ "mmio_echo_x86_exits", "mmio_echo-x86.bin", true, std::bind(echo, _1, _2, false) },
		{ "mmio_echo_x86_handler", "mmio_echo-x86.bin", true, std::bind(echo, _1, _2, true) },
		{ "mmio_echo_arm64_exits", "mmio_echo-arm64.bin", false, std::bind(echo, _1, _2, false) },
		{ "mmio_echo_arm64_handler", "mmio_echo-arm64.bin", false, std::bind(echo, _1, _2, true) },
		{ "doorbell_x86", "doorbell-x86.bin", true, doorbell },
		{ "doorbell_arm64", "doorbell-arm64.bin", false, doorbell },
		{ "irq_sp0_arm64", "irq_sp0-arm64.bin", false, irq_sp0 },
		{ "smp_x86", "smp-x86.bin", true, smp },
		{ "smp_arm64", "smp-arm64.bin", false, smp },
		{ "fault_fetch_x86", "fault_fetch-x86.bin", false, fault_of(GF, 0, 0xe0000) },
		{ "fault_invalid_x86", "fault_invalid-x86.bin", false, fault_of(GI, 6, X + 1) },
		{ "fault_triple_x86", "fault_triple-x86.bin", false, fault_of(GT, 0x30, X + 5) },
		{ "fault_data_x86", "fault_data-x86.bin", false, fault_of(GD, 13, X + 5) },
		{ "fault_fetch_arm64", "fault_fetch-arm64.bin", false, fault_of(GF, 0, 0x20000000) },
		{ "fault_invalid_arm64", "fault_invalid-arm64.bin", false, fault_of(GI, 0x00, A + 4) },
		{ "fault_exception_arm64", "fault_exception-arm64.bin", false, fault_of(GE, 0x15, A + 8) },
		{ "fault_data_arm64", "fault_data-arm64.bin", false, fault_of(GD, 0x25, A + 4) },
		{ "fault_handled_x86", "fault_handled-x86.bin", false, fault_handled },
		{ "fault_handled_x86_prot32", "fault_handled-x86-prot32.bin", false, fault_handled },
		{ "fault_handled_x86_long64", "fault_handled-x86-long64.bin", false, fault_handled },
		{ "fault_handled_arm64", "fault_handled-arm64.bin", false, fault_handled },
		{ "psci_arm64", "psci-arm64.bin", false, psci },
		{ "spin_x86", "spin-x86.bin", true, std::bind(kick, _1, _2, 3) },
		{ "spin_arm64", "spin-arm64.bin", false, std::bind(kick, _1, _2, 3) },
		{ "halt_kick_x86", "irq_edge-x86.bin", false, std::bind(kick, _1, _2, 2) },
		{ "halt_kick_arm64", "irq_edge-arm64.bin", false, std::bind(kick, _1, _2, 2) },
		/* smp guests with one vCPU's view: vCPU 0's first store (to the mailbox). */
		{ "readonly_ram_x86", "smp-x86.bin", false, std::bind(readonly_ram, _1, _2, 13, X + 8) },
		{ "readonly_ram_arm64", "smp-arm64.bin", false,
		  std::bind(readonly_ram, _1, _2, 0x25, A + 20) },
		{ "check_vm_x86", "hello-x86.bin", false, check_vm },
		{ "mmio_loop_x86", "mmio_loop-x86.bin", true, mmio_loop },
		{ "mmio_loop_arm64", "mmio_loop-arm64.bin", false, mmio_loop },
	};
	v.insert(v.end(), rest.begin(), rest.end());
	return v;
}

struct Param {
	Scenario scenario;
	std::string backend;
};

void PrintTo(const Param &p, std::ostream *os)
{
	*os << p.scenario.name << " on " << p.backend;
}

std::vector<Param> params()
{
	std::vector<Param> v;

	for (const Scenario &s : scenarios()) {
		v.push_back({ s, "sim" });
		if (s.on_kvm)
			v.push_back({ s, "kvm" });
	}
	return v;
}

class GuestProgramTest : public ::testing::TestWithParam<Param> {
protected:
	void SetUp() override
	{
		const Param &p = GetParam();
		const GuestInfo *g = find_guest(p.scenario.file);
		hvabs_caps caps{};

		ASSERT_NE(nullptr, g) << p.scenario.file << " is not in HVABS_GUEST_TABLE";
		if (!hvt::backend_compiled(p.backend.c_str()))
			GTEST_SKIP() << p.backend << " is not compiled in";
		if (hvabs_backend_probe(p.backend.c_str()) != 0)
			GTEST_SKIP() << p.backend << " does not probe: " << hvt::last_error_text();
		if (!hvt::backend_caps(p.backend.c_str(), &caps) || !(caps.archs & (1u << g->arch)))
			GTEST_SKIP() << p.backend << " runs no guests of this architecture";
		base_ = hvabs_alloc_count();
	}
	void TearDown() override
	{
		if (!IsSkipped()) {
			EXPECT_EQ(base_, hvabs_alloc_count()) << "library allocations leaked";
		}
	}

	size_t base_ = 0;
};

TEST_P(GuestProgramTest, RunsAsDocumented)
{
	const Param &p = GetParam();
	p.scenario.body(p.scenario, p.backend);
}

INSTANTIATE_TEST_SUITE_P(Guests, GuestProgramTest, ::testing::ValuesIn(params()),
			 [](const ::testing::TestParamInfo<Param> &i) {
				 return i.param.scenario.name + "_" + i.param.backend;
			 });

/* A guest added to tests/guests without a scenario here fails this test. */
TEST(GuestPrograms, EveryGuestOfTheTableHasAScenario)
{
	std::set<std::string> covered;

	for (const Scenario &s : scenarios())
		covered.insert(s.file);
	for (const GuestInfo &g : kGuests)
		EXPECT_EQ(1u, covered.count(g.file)) << g.file << " is run by no scenario";
}

} /* namespace */
