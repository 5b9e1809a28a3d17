/* SPDX-License-Identifier: MIT */
/* tests/hostile/hostile.cc: targets, VM setup, exit validation and the watchdog-guarded run loop. */
#include "hostile.h"


#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

namespace hvt {
namespace hostile {

std::vector<Target> all_targets()
{
	return { { "sim", Mode::REAL }, { "sim", Mode::PROT32 }, { "sim", Mode::LONG64 },
		 { "sim", Mode::ARM64 }, { "kvm", Mode::REAL }, { "kvm", Mode::PROT32 },
		 { "kvm", Mode::LONG64 } };
}

std::string target_ident(const Target &t)
{
	return std::string(t.backend) + "_" + mode_ident(t.mode);
}

bool target_usable(const Target &t, std::string *why)
{
	if (!backend_compiled(t.backend)) {
		*why = std::string(t.backend) + " not compiled in";
		return false;
	}
	if (hvabs_backend_probe(t.backend) != 0) {
		*why = std::string(t.backend) + " unusable: " + hvabs_error_last()->message;
		return false;
	}
	hvabs_caps caps{};
	if (!backend_caps(t.backend, &caps) || !(caps.archs & (1u << mode_arch(t.mode)))) {
		*why = std::string(t.backend) + " has no " + mode_ident(t.mode) + " guests here";
		return false;
	}
	if (t.sim() && !(caps.features & HVABS_FEAT_REAL_GUESTS)) {
		*why = "sim without Unicorn (HVABS_SIM_UNICORN=OFF)";
		return false;
	}
	return true;
}

void LeakCheck::expect_clean(const std::string &what) const
{
	EXPECT_EQ(allocs_, hvabs_alloc_count()) << what << ": library allocations leaked";
	EXPECT_EQ(fds_, open_fd_count()) << what << ": file descriptors leaked";
}

double hostile_seconds(double dflt)
{
	const char *s = getenv("HVABS_HOSTILE_SECONDS");
	double v = s ? atof(s) : dflt;
	return v > 0 ? v : dflt;
}

uint64_t hostile_seed(uint64_t dflt)
{
	const char *s = getenv("HVABS_HOSTILE_SEED");
	return s ? strtoull(s, nullptr, 0) : dflt;
}

int Vm::create(uint32_t nr_vcpus, bool rom, const char *kvm_config)
{
	hvabs_vm_options o = vm_options(t_.backend);
	int ret;

	o.arch = mode_arch(t_.mode);
	if (t_.kvm())
		o.backend_config = kvm_config;
	hlt_exits_ = t_.sim() ? is_x86(t_.mode) : (kvm_config && strstr(kvm_config, "irqchip=off"));
	ret = hvabs_vm_create(&vm, &o);
	if (ret) {
		vm = nullptr;
		return ret;
	}
	ret = add_memory(vm, t_.mode, rom);
	for (uint32_t i = 0; ret == 0 && i < nr_vcpus; i++) {
		hvabs_vcpu *v = nullptr;
		ret = hvabs_vm_vcpu_add(&v, vm, i);
		if (ret == 0)
			vcpus.push_back(v);
	}
	return ret;
}

namespace {

bool inside(uint64_t addr, uint64_t len, uint64_t base, uint64_t size)
{
	return addr >= base && len <= size && addr - base <= size - len;
}

} /* namespace */

unsigned fault_kind(const hvabs_exit &e)
{
	if (e.reason != HVABS_EXIT_STATUS || e.status.status != HVABS_STATUS_CRASHED ||
	    e.status.reason_size < 1)
		return 0;
	return e.status.reason[0];
}

std::string describe_exit(const hvabs_exit &e)
{
	std::ostringstream o;
	o << hvabs_exit_reason_name(e.reason);
	switch (e.reason) {
	case HVABS_EXIT_MMIO:
		o << (e.mmio.is_write ? " write" : " read") << " 0x" << std::hex << e.mmio.addr << std::dec
		  << " len " << e.mmio.len;
		break;
	case HVABS_EXIT_PIO:
		o << (e.pio.is_write ? " out" : " in") << " port 0x" << std::hex << e.pio.port << std::dec
		  << " size " << (unsigned)e.pio.size << " count " << e.pio.count;
		break;
	case HVABS_EXIT_STATUS:
		o << " status " << e.status.status << " type 0x" << std::hex << e.status.exit_type
		  << std::dec << " reason[" << e.status.reason_size << "]";
		for (uint32_t i = 0; i < e.status.reason_size && i < 8; i++)
			o << " " << (unsigned)e.status.reason[i];
		break;
	case HVABS_EXIT_INTERNAL:
	case HVABS_EXIT_UNKNOWN:
		o << " suberror 0x" << std::hex << e.internal.suberror;
		break;
	default:
		break;
	}
	return o.str();
}

std::string exit_problem(const Target &t, const hvabs_exit &e, bool hlt)
{
	const Layout &l = layout(t.mode);
	std::string what = describe_exit(e) + " on " + target_ident(t);

	switch (e.reason) {
	case HVABS_EXIT_MMIO: {
		uint32_t len = e.mmio.len;
		/* KVM: an access straddling RAM and MMIO exits with its MMIO part (e.g. 3 bytes). */
		if (t.kvm() ? len < 1 || len > 8 : len != 1 && len != 2 && len != 4 && len != 8)
			return "bad width: " + what;
		if (e.mmio.is_write > 1 || e.mmio.resume != HVABS_RESUME_HANDLED)
			return "bad fields: " + what;
		if (inside(e.mmio.addr, len, l.ram_base, l.ram_size))
			return "an access to RAM came out as MMIO: " + what;
		if (inside(e.mmio.addr, len, l.rom_base, l.rom_size) && (t.sim() || !e.mmio.is_write))
			return "a ROM access came out as MMIO: " + what;
		return "";
	}
	case HVABS_EXIT_PIO:
		if (!is_x86(t.mode))
			return "port I/O from an arm64 guest: " + what;
		if ((e.pio.size != 1 && e.pio.size != 2 && e.pio.size != 4) || e.pio.count < 1 ||
		    !e.pio.data || e.pio.is_write > 1 || e.pio.resume != HVABS_RESUME_HANDLED)
			return "bad fields: " + what;
		return "";
	case HVABS_EXIT_HLT:
		return hlt ? "" : "HLT exit where none is documented: " + what;
	case HVABS_EXIT_STATUS:
		if (t.kvm())
			return "kvm never stops a VM by itself: " + what;
		if (e.status.status == HVABS_STATUS_EXITED) {
			bool psci = e.status.exit_type == HVABS_EXIT_TYPE_PSCI_POWER_OFF ||
				    e.status.exit_type == HVABS_EXIT_TYPE_PSCI_SYSTEM_RESET;
			if (t.mode == Mode::ARM64 && psci && e.status.reason_size == 0)
				return "";
			return "undocumented power-off: " + what;
		}
		if (e.status.status != HVABS_STATUS_CRASHED || e.status.reason_size != 8 ||
		    e.status.reason[2] || e.status.reason[3])
			return "undocumented status: " + what;
		if (e.status.exit_type == HVABS_EXIT_TYPE_GUEST_FAULT && e.status.reason[0] >= 1 &&
		    e.status.reason[0] <= 5)
			return "";
		if (e.status.exit_type == HVABS_EXIT_TYPE_HYP_ERROR && e.status.reason[0] == 6)
			return "";
		return "undocumented crash: " + what;
	case HVABS_EXIT_SHUTDOWN:
		return t.kvm() ? "" : "SHUTDOWN from sim: " + what;
	case HVABS_EXIT_RESET:
	case HVABS_EXIT_SYSTEM_EVENT:
	case HVABS_EXIT_INTERNAL:
	case HVABS_EXIT_UNKNOWN:
		return t.kvm() ? "" : "undocumented exit from sim: " + what;
	case HVABS_EXIT_INTR:
		return "";
	default:
		return "undocumented exit reason " + std::to_string(e.reason) + " on " + target_ident(t);
	}
}

namespace {

/* Kicks @vcpu from @budget on, every 5 ms; aborts the process when the loop hangs. */
class Watchdog {
public:
	Watchdog(hvabs_vcpu *vcpu, std::chrono::milliseconds budget, std::string what)
		: vcpu_(vcpu), budget_(budget), what_(std::move(what))
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
	bool fired() const { return fired_; }

private:
	void watch()
	{
		std::unique_lock<std::mutex> lk(m_);
		if (cv_.wait_for(lk, budget_, [this] { return done_; }))
			return;
		fired_ = true;
		auto hang = std::chrono::steady_clock::now() + std::chrono::seconds(10);
		while (!done_) {
			hvabs_vcpu_kick(vcpu_);
			cv_.wait_for(lk, std::chrono::milliseconds(5), [this] { return done_; });
			if (!done_ && std::chrono::steady_clock::now() > hang) {
				fprintf(stderr, "hostile: %s: the vCPU ignores kicks for 10 s (hang)\n",
					what_.c_str());
				std::abort();
			}
		}
	}

	hvabs_vcpu *vcpu_;
	std::chrono::milliseconds budget_;
	std::string what_;
	std::mutex m_;
	std::condition_variable cv_;
	bool done_ = false;
	std::atomic<bool> fired_{ false };
	std::thread thread_;
};

} /* namespace */

DriveLog drive(Vm &vm, hvabs_vcpu *vcpu, const DrivePolicy &p)
{
	DriveLog log;
	std::mt19937_64 rng(p.seed);
	hvabs_exit *e = hvabs_vcpu_exit(vcpu);
	const Target &t = vm.target();
	unsigned retries = 0;
	Watchdog dog(vcpu, p.budget, target_ident(t));

	for (unsigned n = 0;; n++) {
		if (n >= p.max_exits) {
			log.end = "exit budget";
			break;
		}
		int ret = hvabs_vcpu_run(vcpu);
		if (ret) {
			log.ret = ret;
			log.end = "run returned " + describe(ret);
			break;
		}
		log.last = *e;
		log.reasons[e->reason]++;
		std::string pr = exit_problem(t, *e, vm.hlt_exits());
		if (!pr.empty() && log.problems.size() < 10)
			log.problems.push_back(pr);
		if (e->vcpu_id != hvabs_vcpu_id(vcpu) && log.problems.size() < 10)
			log.problems.push_back("exit record names vCPU " + std::to_string(e->vcpu_id));
		if (e->reason == HVABS_EXIT_MMIO || e->reason == HVABS_EXIT_PIO) {
			bool done = p.on_access && p.on_access(e);
			if (!done && p.random_completion) {
				bool is_mmio = e->reason == HVABS_EXIT_MMIO;
				bool wr = is_mmio ? e->mmio.is_write : e->pio.is_write;
				uint8_t *data = is_mmio ? e->mmio.data : e->pio.data;
				size_t size = is_mmio ? e->mmio.len : (size_t)e->pio.size * e->pio.count;
				if (!wr)
					for (size_t i = 0; i < size && data; i++)
						data[i] = (uint8_t)rng();
				uint8_t resume = HVABS_RESUME_HANDLED;
				if (t.sim()) {
					unsigned r = (unsigned)(rng() % 10);
					resume = r == 0 ? HVABS_RESUME_FAULT :
						 r == 1 && retries < 2 ? HVABS_RESUME_RETRY :
									 HVABS_RESUME_HANDLED;
				}
				retries = resume == HVABS_RESUME_RETRY ? retries + 1 : 0;
				(is_mmio ? e->mmio.resume : e->pio.resume) = resume;
			}
		}
		if (p.stop_after && p.stop_after(*e)) {
			log.end = "stopped by the test after " + describe_exit(*e);
			break;
		}
		if (e->reason == HVABS_EXIT_STATUS ||
		    (t.kvm() && (e->reason == HVABS_EXIT_SHUTDOWN || e->reason == HVABS_EXIT_INTERNAL ||
				 e->reason == HVABS_EXIT_UNKNOWN))) {
			log.stopped = true;
			log.end = describe_exit(*e);
			break;
		}
		if (e->reason == HVABS_EXIT_INTR && dog.fired()) {
			log.end = "watchdog kick";
			break;
		}
	}
	log.watchdog = dog.fired();
	return log;
}

} /* namespace hostile */
} /* namespace hvt */
