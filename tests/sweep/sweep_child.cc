/* SPDX-License-Identifier: MIT */
/* tests/sweep/sweep_child.cc: sweep mode of hvabs_conformance_tests - arms one injected fault per test and records what happened. */
#include "sweep_child.h"

#include "conformance.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>

/* The real entry points behind the wrapped ones (ld --wrap=NAME: __real_NAME is NAME). */
#define HVT_WRAP_INT(name, params, args) extern "C" int __real_##name params;
#define HVT_WRAP_VOID(name, params, args) extern "C" void __real_##name params;
#ifdef HVT_SWEEP_SIM
#define HVT_WRAP_SIM_INT HVT_WRAP_INT
#else
#define HVT_WRAP_SIM_INT(name, params, args)
#endif
#define HVT_WRAP_CUSTOM(name)
#include "wrapped.def"
#undef HVT_WRAP_CUSTOM
extern "C" int __real_hvabs_vm_create(struct hvabs_vm **out, const struct hvabs_vm_options *opts);
extern "C" void __real_hvabs_vm_destroy(struct hvabs_vm *vm);
extern "C" void __real_hvabs_vm_get(struct hvabs_vm *vm);
extern "C" void __real_hvabs_vm_put(struct hvabs_vm *vm);
extern "C" int __real_hvabs_function_type_register(const struct hvabs_function_type *type);
extern "C" int __real_hvabs_function_type_unregister(uint32_t type);

namespace hvt {
namespace sweep {

std::map<std::string, InjectorFactory> &injectors()
{
	static std::map<std::string, InjectorFactory> m;
	return m;
}

std::map<std::string, BackendObserver> &observers()
{
	static std::map<std::string, BackendObserver> m;
	return m;
}

namespace {

/* Addresses the usability probe uses: outside every range the suite's tests use. */
constexpr uint64_t kProbeHandler = 0x3f000000;
constexpr uint64_t kProbeIoeventfd = 0x3f001000;

std::string clean(std::string s)
{
	for (char &c : s)
		if (c == '\t' || c == '\n' || c == '\r')
			c = ' ';
	return s;
}

/*
 * "module+0xoffset" frames (addr2line-able) of the stack where the fault hit:
 * from the first frame outside this executable (the injector's own frames
 * are skipped) to two frames after the last library frame.
 */
std::string format_stack(void *const *frames, int n)
{
	std::ostringstream os;
	std::vector<std::string> f;
	Dl_info self{};
	int first = -1, last = -1;

	dladdr((void *)&format_stack, &self);
	for (int i = 0; i < n; i++) {
		Dl_info info{};
		std::ostringstream one;
		bool in_self = dladdr(frames[i], &info) && info.dli_fbase == self.dli_fbase;
		if (!info.dli_fname) {
			one << frames[i];
		} else {
			const char *base = strrchr(info.dli_fname, '/');
			one << (base ? base + 1 : info.dli_fname) << "+0x" << std::hex
			    << (uintptr_t)frames[i] - (uintptr_t)info.dli_fbase;
		}
		f.push_back(one.str());
		if (!in_self) {
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (first < 0)
		first = 0;
	for (int i = first; i < n && i <= last + 2; i++)
		os << (i > first ? "," : "") << f[i];
	return os.str();
}

thread_local int t_depth = 0;      /* wrapped calls active on this thread */
thread_local int t_hit_depth = -1; /* depth at which the fault hit this thread */

struct Tracked {
	bool destroyed = false;
	int extra_refs = 0; /* hvabs_vm_get() without a put yet */
};

class Runtime : public SweepHooks {
public:
	void init(const char *spec, const char *out)
	{
		spec_ = spec;
		out_path_ = out ? out : "";
	}

	/*
	 * Parse $HVABS_SWEEP at first use (the kinds register themselves before
	 * main()): "count:<kind>[,<kind>...]" counts the points of every kind
	 * that applies to the test's backend; "<kind>:<op>:<nth>" fails one.
	 */
	void parse()
	{
		if (parsed_)
			return;
		parsed_ = true;
		const std::string &s = spec_;
		size_t c1 = s.find(':');
		if (c1 == std::string::npos) {
			error_ = "HVABS_SWEEP needs count:<kind>[,<kind>] or <kind>:<op>:<nth>";
			return;
		}
		std::string head = s.substr(0, c1), rest = s.substr(c1 + 1);
		std::vector<std::string> kinds;
		if (head == "count") {
			size_t b = 0;
			while (b <= rest.size()) {
				size_t e = rest.find(',', b);
				if (e == std::string::npos)
					e = rest.size();
				if (e > b)
					kinds.push_back(rest.substr(b, e - b));
				b = e + 1;
			}
		} else {
			kinds.push_back(head);
			size_t c2 = rest.rfind(':');
			if (c2 == std::string::npos) {
				error_ = "bad point '" + rest + "'";
				return;
			}
			op_ = rest.substr(0, c2);
			nth_ = strtoull(rest.c_str() + c2 + 1, nullptr, 10);
		}
		for (const std::string &k : kinds) {
			auto it = injectors().find(k);
			if (it == injectors().end()) {
				error_ = "unknown sweep kind '" + k + "' (or not built into this binary)";
				return;
			}
			injs_.push_back(it->second());
		}
		if (injs_.empty()) {
			error_ = "no sweep kind named";
			return;
		}
		if (nth_ == 0 && !op_.empty())
			error_ = "nth 0 in '" + rest + "'";
		if (!op_.empty()) {
			bool known = false;
			for (const std::string &o : injs_[0]->ops())
				known |= o == op_;
			if (!known)
				error_ = "unknown op '" + op_ + "' of kind " + head;
			target_ = head + "." + op_;
		}
	}

	/* ---- SweepHooks ---- */

	void arm(const std::string &backend, size_t alloc_base) override
	{
		parse();
		backend_ = backend;
		alloc_base_ = alloc_base;
		started_ = true;
		if (!error_.empty())
			return;
		for (auto &inj : injs_) {
			std::string why;
			if (!inj->applies(backend, &why)) {
				skip_ += (skip_.empty() ? "" : "; ") + why;
				continue;
			}
			if (!inj->prepare(&error_))
				return;
			for (const std::string &o : inj->ops())
				slots_.push_back(Slot{ inj.get(), o, std::string(inj->kind()) + "." + o });
			kinds_ += (kinds_.empty() ? "" : ",") + std::string(inj->kind());
		}
		if (slots_.empty() || (nth_ && kinds_.empty()))
			return; /* skipped: no kind applies */
		fd_base_ = hvt::open_fd_count();
		for (const Slot &sl : slots_) {
			consumed_[sl.key] = 0;
			base_[sl.key] = sl.inj->count(sl.op);
		}
		if (nth_)
			injs_[0]->set(op_, nth_);
		armed_.store(true);
	}

	void before_destroy(const std::vector<hvabs_vm *> &vms) override
	{
		if (!armed_)
			return;
		pause();
		std::vector<hvabs_vm *> live = vms;
		{
			std::lock_guard<std::mutex> l(mu_);
			for (auto &kv : tracked_)
				if (!kv.second.destroyed &&
				    std::find(live.begin(), live.end(), kv.first) == live.end())
					live.push_back(kv.first);
		}
		for (hvabs_vm *vm : live)
			probe(vm);
		resume();
	}

	void destroy_leftovers() override
	{
		if (!armed_)
			return;
		std::map<hvabs_vm *, Tracked> left;
		{
			std::lock_guard<std::mutex> l(mu_);
			left.swap(tracked_);
		}
		for (auto &kv : left) {
			if (!kv.second.destroyed) {
				vms_left_++;
				__real_hvabs_vm_destroy(kv.first);
			}
			for (int i = 0; i < kv.second.extra_refs; i++)
				__real_hvabs_vm_put(kv.first);
		}
	}

	void after_destroy() override
	{
		if (!armed_)
			return;
		std::vector<uint32_t> types;
		{
			std::lock_guard<std::mutex> l(mu_);
			types.assign(types_.begin(), types_.end());
			types_.clear();
		}
		for (uint32_t t : types)
			if (__real_hvabs_function_type_unregister(t) == 0)
				types_left_++;
		stop();
	}

	void finish() override
	{
		if (armed_)
			stop();
	}

	/*
	 * After the test object is gone (GoogleTest's OnTestEnd: the fixture's
	 * pool of eventfds, types and the kit are released by then): the leak
	 * checks and the record for the driver.
	 */
	void record(const ::testing::TestInfo &ti)
	{
		std::ostringstream r;

		parse();
		r << "test=" << std::string(ti.test_suite_name()) + "." + ti.name();
		r << "\tspec=" << spec_;
		if (!error_.empty()) {
			r << "\tstate=error\terror=" << clean(error_);
		} else if (!started_ || !armed_) {
			r << "\tstate=skipped";
			if (!skip_.empty())
				r << "\treason=" << clean(skip_);
		} else {
			stop();
			for (auto &kv : observers())
				if (kv.first == backend_ && kv.second.quiesce)
					kv.second.quiesce();
			r << "\tstate=ran\tbackend=" << backend_ << "\tkinds=" << kinds_ << "\tcounts=";
			bool first = true;
			for (auto &kv : consumed_) {
				r << (first ? "" : ",") << kv.first << "=" << kv.second;
				first = false;
			}
			r << "\tfired=" << (fired() ? 1 : 0);
			r << "\texpect=" << (nth_ ? injs_[0]->expected_code(op_) : 0);
			if (claimed_) {
				r << "\tcall=" << claim_call_ << "\tvoid=" << (claim_void_ ? 1 : 0)
				  << "\tret=" << claim_ret_ << "\tcode=" << claim_code_
				  << "\tebackend=" << clean(claim_backend_) << "\temsg=" << clean(claim_msg_)
				  << "\tambiguous=" << (claim_ambiguous_ ? 1 : 0)
				  << "\tretried=" << (claim_retried_ ? 1 : 0);
			} else if (fired()) {
				r << "\tcall=-"; /* on a library thread, or outside any caller-visible call */
			}
			r << "\tusable=" << (usable_.empty() ? "ok" : clean(usable_));
			r << "\tprobed=" << (probed_.empty() ? "-" : probed_);
			r << "\talloc_base=" << alloc_base_ << "\talloc_end=" << hvabs_alloc_count();
			r << "\tfd_base=" << fd_base_ << "\tfd_end=" << hvt::open_fd_count();
			std::string left;
			for (auto &kv : observers())
				if (kv.first == backend_ && kv.second.leftovers)
					left += kv.second.leftovers();
			r << "\tbackend_left=" << (left.empty() ? "-" : clean(left));
			r << "\tvms_left=" << vms_left_ << "\ttypes_left=" << types_left_;
			if (!hit_stack_.empty())
				r << "\tstack=" << hit_stack_;
		}
		r << "\n";
		write_record(r.str());
		/* Ready for another test in the same process (the driver runs one). */
		started_ = false;
		armed_ = false;
		stopped_ = false;
		fired_ = false;
		claimed_ = false;
		claim_retried_ = false;
		paused_ = false;
		usable_.clear();
		probed_.clear();
		skip_.clear();
		kinds_.clear();
		slots_.clear();
		base_.clear();
		consumed_.clear();
		hit_stack_.clear();
		vms_left_ = types_left_ = 0;
	}

	std::chrono::milliseconds run_timeout() const override { return std::chrono::milliseconds(3000); }

	/* ---- called by the wrappers ---- */

	bool active() const { return armed_.load(std::memory_order_relaxed); }

	/* Events of the armed op so far (0 when this run only counts). */
	uint64_t events() const
	{
		if (!nth_ || !armed_)
			return 0;
		std::lock_guard<std::mutex> l(ev_mu_);
		return events_locked(target_);
	}

	bool fired()
	{
		if (fired_)
			return true;
		if (!nth_ || !armed_ || injs_[0]->thread_exact())
			return false;
		if (events() >= nth_)
			fired_ = true;
		return fired_;
	}

	void call_returned(const char *name, bool is_void, int ret, uint64_t ev0, int active_calls)
	{
		if (!nth_ || claimed_)
			return;
		if (injs_[0]->thread_exact()) {
			if (t_hit_depth != t_depth)
				return;
			t_hit_depth = -1;
		} else if (!(ev0 < nth_ && events() >= nth_)) {
			return;
		}
		bool expected = false;
		if (!claimed_.compare_exchange_strong(expected, true))
			return;
		fired_ = true;
		const hvabs_error *e = hvabs_error_last();
		claim_call_ = name;
		claim_void_ = is_void;
		claim_ret_ = ret;
		claim_code_ = e->code;
		claim_backend_ = e->backend ? e->backend : "";
		claim_msg_ = e->message;
		claim_ambiguous_ = !injs_[0]->thread_exact() && active_calls > 1;
		/* The call issued the failed operation again after the failure (a retry). */
		claim_retried_ = !injs_[0]->thread_exact() && events() > nth_;
	}

	void hit_here()
	{
		void *frames[24];
		int n = backtrace(frames, 24);

		fired_ = true;
		hit_stack_ = format_stack(frames, n);
		t_hit_depth = t_depth > 0 ? t_depth : -1;
	}

	void vm_created(hvabs_vm *vm)
	{
		std::lock_guard<std::mutex> l(mu_);
		tracked_[vm] = Tracked{};
	}

	void vm_destroyed(hvabs_vm *vm)
	{
		std::lock_guard<std::mutex> l(mu_);
		auto it = tracked_.find(vm);
		if (it == tracked_.end())
			return;
		it->second.destroyed = true;
		if (it->second.extra_refs == 0)
			tracked_.erase(it); /* the creator's reference was the last */
	}

	void vm_got(hvabs_vm *vm)
	{
		std::lock_guard<std::mutex> l(mu_);
		auto it = tracked_.find(vm);
		if (it != tracked_.end())
			it->second.extra_refs++;
	}

	/* Before the real put: forget @vm when this put frees it. */
	void vm_putting(hvabs_vm *vm)
	{
		std::lock_guard<std::mutex> l(mu_);
		auto it = tracked_.find(vm);
		if (it == tracked_.end())
			return;
		if (it->second.extra_refs > 0) {
			if (--it->second.extra_refs == 0 && it->second.destroyed)
				tracked_.erase(it);
			return;
		}
		tracked_.erase(it); /* the creator's reference: the put destroys and frees it */
	}

	void type_registered(uint32_t t)
	{
		std::lock_guard<std::mutex> l(mu_);
		types_.insert(t);
	}

	void type_unregistered(uint32_t t)
	{
		std::lock_guard<std::mutex> l(mu_);
		types_.erase(t);
	}

private:
	struct Slot {
		Injector *inj;
		std::string op, key; /* key: "<kind>.<op>" */
	};

	uint64_t events_locked(const std::string &key) const
	{
		auto c = consumed_.find(key);
		uint64_t n = c == consumed_.end() ? 0 : c->second;
		if (paused_ || stopped_)
			return n;
		for (const Slot &sl : slots_)
			if (sl.key == key)
				n += sl.inj->count(sl.op) - base_.at(key);
		return n;
	}

	void clear_all()
	{
		for (auto &inj : injs_)
			inj->clear();
	}

	void pause()
	{
		std::lock_guard<std::mutex> l(ev_mu_);
		if (paused_ || stopped_)
			return;
		for (const Slot &sl : slots_)
			consumed_[sl.key] = events_locked(sl.key);
		paused_ = true;
		clear_all();
	}

	void resume()
	{
		std::lock_guard<std::mutex> l(ev_mu_);
		if (!paused_ || stopped_)
			return;
		for (const Slot &sl : slots_)
			base_[sl.key] = sl.inj->count(sl.op);
		paused_ = false;
		if (nth_ && consumed_[target_] < nth_)
			injs_[0]->set(op_, nth_ - consumed_[target_]);
	}

	void stop()
	{
		std::lock_guard<std::mutex> l(ev_mu_);
		if (stopped_ || slots_.empty())
			return;
		if (!paused_)
			for (const Slot &sl : slots_)
				consumed_[sl.key] = events_locked(sl.key);
		stopped_ = true;
		clear_all();
		if (nth_ && consumed_[target_] >= nth_)
			fired_ = true;
	}

	void note(const std::string &what)
	{
		if (!usable_.empty())
			usable_ += ";";
		usable_ += what;
	}

	/*
	 * After the injected failure (injector paused): the VM answers its state,
	 * and a call that touches the backend works or is refused cleanly by
	 * state: add and remove an IO handler and an ioeventfd.
	 */
	void probe(hvabs_vm *vm)
	{
		hvabs_vm_status st{};
		hvabs_vm_status_get(vm, &st);
		probed_ += (probed_.empty() ? "" : ",") + std::string(hvabs_vm_state_name(st.state));
		if (st.state < HVABS_VM_LOAD || st.state >= HVABS_VM_DESTROYED) {
			note("state " + std::to_string((int)st.state));
			return;
		}
		size_t handlers = hvabs_vm_io_handler_count(vm);
		hvabs_io_desc d = io_desc(HVABS_SPACE_MMIO, kProbeHandler, 8, 0, nullptr,
					  [](hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *) { return 0; });
		hvabs_io_handler *h = nullptr;
		int ret = __real_hvabs_vm_io_handler_add(&h, vm, &d);
		if (ret == 0)
			__real_hvabs_io_handler_remove(h);
		else if (ret != HVABS_ESTATE)
			note(std::string("io_handler_add in ") + hvabs_vm_state_name(st.state) + ": " +
			     hvabs_err_name(ret) + " " + hvabs_error_last()->message);
		if (hvabs_vm_io_handler_count(vm) != handlers)
			note("io handler count changed");

		hvabs_caps caps{};
		caps.version = HVABS_CAPS_VERSION;
		ret = __real_hvabs_vm_caps(vm, &caps);
		if (ret) {
			note(std::string("vm_caps: ") + hvabs_err_name(ret));
			return;
		}
		if (!(caps.fn_types & (1u << HVABS_FN_IOEVENTFD)) ||
		    !(caps.ioeventfd_spaces & (1u << HVABS_SPACE_MMIO)) || !(caps.ioeventfd_lens & (1u << 4)))
			return;
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		hvabs_function *fn = nullptr;
		ret = __real_hvabs_vm_ioeventfd_add(&fn, vm, HVABS_SPACE_MMIO, kProbeIoeventfd, 4, efd, 0, 0);
		if (ret == 0) {
			ret = __real_hvabs_function_remove(fn);
			if (ret)
				note(std::string("ioeventfd remove: ") + hvabs_err_name(ret) + " " +
				     hvabs_error_last()->message);
		} else if (ret != HVABS_ESTATE) {
			note(std::string("ioeventfd_add in ") + hvabs_vm_state_name(st.state) + ": " +
			     hvabs_err_name(ret) + " " + hvabs_error_last()->message);
		}
		close(efd);
	}

	void write_record(const std::string &line)
	{
		if (out_path_.empty()) {
			fputs(line.c_str(), stderr);
			return;
		}
		int fd = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return;
		ssize_t n = write(fd, line.data(), line.size());
		(void)n;
		close(fd);
	}

	std::vector<std::unique_ptr<Injector>> injs_; /* the point's kind, or the kinds counted */
	std::vector<Slot> slots_;                     /* (kind, op) pairs counted in this test */
	std::string spec_, op_, target_, kinds_, out_path_, error_, skip_, backend_;
	bool parsed_ = false;
	uint64_t nth_ = 0;
	size_t alloc_base_ = 0;
	int fd_base_ = 0;
	bool started_ = false;
	std::atomic<bool> armed_{ false };
	mutable std::mutex ev_mu_;
	bool paused_ = false, stopped_ = false;
	std::map<std::string, uint64_t> base_, consumed_;
	std::atomic<bool> fired_{ false };
	std::atomic<bool> claimed_{ false };
	std::string claim_call_, claim_backend_, claim_msg_, hit_stack_;
	bool claim_void_ = false, claim_ambiguous_ = false, claim_retried_ = false;
	int claim_ret_ = 0, claim_code_ = 0;
	std::string usable_, probed_; /* probe failures; states of the VMs probed */
	std::mutex mu_;
	std::map<hvabs_vm *, Tracked> tracked_;
	std::set<uint32_t> types_;
	int vms_left_ = 0, types_left_ = 0;
};

class RecordListener : public ::testing::EmptyTestEventListener {
public:
	explicit RecordListener(Runtime *rt) : rt_(rt) {}
	void OnTestEnd(const ::testing::TestInfo &ti) override { rt_->record(ti); }

private:
	Runtime *rt_;
};

Runtime *g_rt = nullptr;
std::atomic<int> g_active_calls{ 0 };

/* Installed before main() when $HVABS_SWEEP is set. */
const bool g_installed = [] {
	const char *spec = getenv("HVABS_SWEEP");
	if (!spec || !*spec)
		return false;
	static Runtime rt;
	rt.init(spec, getenv("HVABS_SWEEP_OUT"));
	g_rt = &rt;
	sweep_hooks() = &rt;
	::testing::UnitTest::GetInstance()->listeners().Append(new RecordListener(&rt));
	return true;
}();

/* Bookkeeping around one wrapped call. */
class CallScope {
public:
	explicit CallScope(const char *name) : name_(name), rt_(g_rt && g_rt->active() ? g_rt : nullptr)
	{
		if (!rt_)
			return;
		t_depth++;
		active_ = ++g_active_calls;
		ev0_ = rt_->events();
	}
	~CallScope()
	{
		if (!rt_)
			return;
		g_active_calls--;
		t_depth--;
	}
	void returned(int ret, bool is_void = false)
	{
		if (rt_)
			rt_->call_returned(name_, is_void, ret, ev0_, std::max(active_, g_active_calls.load()));
	}
	Runtime *rt() const { return rt_; }

private:
	const char *name_;
	Runtime *rt_;
	uint64_t ev0_ = 0;
	int active_ = 0;
};

} /* namespace */

void note_hit()
{
	if (g_rt)
		g_rt->hit_here();
}

} /* namespace sweep */
} /* namespace hvt */

using hvt::sweep::CallScope;
using hvt::sweep::g_rt;

/* The wrappers: every call from this binary to a listed function lands here first. */
#undef HVT_WRAP_INT
#undef HVT_WRAP_VOID
#undef HVT_WRAP_SIM_INT
#define HVT_WRAP_INT(name, params, args)                                       \
	extern "C" int __wrap_##name params;                                   \
	extern "C" int __wrap_##name params                                    \
	{                                                                      \
		CallScope s(#name);                                            \
		int ret = __real_##name args;                                  \
		s.returned(ret);                                               \
		return ret;                                                    \
	}
#define HVT_WRAP_VOID(name, params, args)                                      \
	extern "C" void __wrap_##name params;                                  \
	extern "C" void __wrap_##name params                                   \
	{                                                                      \
		CallScope s(#name);                                            \
		__real_##name args;                                            \
		s.returned(0, true);                                           \
	}
#ifdef HVT_SWEEP_SIM
#define HVT_WRAP_SIM_INT HVT_WRAP_INT
#else
#define HVT_WRAP_SIM_INT(name, params, args)
#endif
#define HVT_WRAP_CUSTOM(name)
#include "wrapped.def"

extern "C" int __wrap_hvabs_vm_create(struct hvabs_vm **out, const struct hvabs_vm_options *opts);
extern "C" int __wrap_hvabs_vm_create(struct hvabs_vm **out, const struct hvabs_vm_options *opts)
{
	CallScope s("hvabs_vm_create");
	int ret = __real_hvabs_vm_create(out, opts);
	s.returned(ret);
	if (ret == 0 && g_rt && out)
		g_rt->vm_created(*out);
	return ret;
}

extern "C" void __wrap_hvabs_vm_destroy(struct hvabs_vm *vm);
extern "C" void __wrap_hvabs_vm_destroy(struct hvabs_vm *vm)
{
	CallScope s("hvabs_vm_destroy");
	if (g_rt && vm)
		g_rt->vm_destroyed(vm);
	__real_hvabs_vm_destroy(vm);
	s.returned(0, true);
}

extern "C" void __wrap_hvabs_vm_get(struct hvabs_vm *vm);
extern "C" void __wrap_hvabs_vm_get(struct hvabs_vm *vm)
{
	if (g_rt && vm)
		g_rt->vm_got(vm);
	__real_hvabs_vm_get(vm);
}

extern "C" void __wrap_hvabs_vm_put(struct hvabs_vm *vm);
extern "C" void __wrap_hvabs_vm_put(struct hvabs_vm *vm)
{
	CallScope s("hvabs_vm_put");
	if (g_rt && vm)
		g_rt->vm_putting(vm);
	__real_hvabs_vm_put(vm);
	s.returned(0, true);
}

extern "C" int __wrap_hvabs_function_type_register(const struct hvabs_function_type *type);
extern "C" int __wrap_hvabs_function_type_register(const struct hvabs_function_type *type)
{
	CallScope s("hvabs_function_type_register");
	int ret = __real_hvabs_function_type_register(type);
	s.returned(ret);
	if (ret == 0 && g_rt && type)
		g_rt->type_registered(type->type);
	return ret;
}

extern "C" int __wrap_hvabs_function_type_unregister(uint32_t type);
extern "C" int __wrap_hvabs_function_type_unregister(uint32_t type)
{
	CallScope s("hvabs_function_type_unregister");
	int ret = __real_hvabs_function_type_unregister(type);
	s.returned(ret);
	if (ret == 0 && g_rt)
		g_rt->type_unregistered(type);
	return ret;
}
