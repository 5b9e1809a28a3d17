/* SPDX-License-Identifier: MIT */
/* tests/common/hvabs_test.cc: shared helpers for the GoogleTest suites. */
#include "hvabs_test.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

namespace hvt {

std::string last_error_text()
{
	const hvabs_error *e = hvabs_error_last();
	std::string s = hvabs_err_name(e->code);
	s += " [";
	s += e->backend ? e->backend : "(null)";
	s += "] ";
	s += e->message ? e->message : "(null)";
	if (e->sys_errno)
		s += std::string(" (errno ") + std::to_string(e->sys_errno) + ")";
	return s;
}

std::string describe_code(int code)
{
	if (code == 0)
		return "0";
	return std::string(hvabs_err_name(code)) + "(" + std::to_string(code) + ")";
}

std::string describe(int code)
{
	if (code == 0)
		return "0";
	return describe_code(code) + " detail: " + last_error_text();
}

::testing::AssertionResult code_is(int want, int got, const char *expr)
{
	if (want == got)
		return ::testing::AssertionSuccess();
	return ::testing::AssertionFailure() << expr << " returned " << describe(got) << ", wanted "
					     << describe_code(want);
}

EventFd::EventFd(unsigned int initval) : fd_(eventfd(initval, EFD_NONBLOCK | EFD_CLOEXEC))
{
	if (fd_ < 0)
		ADD_FAILURE() << "eventfd: " << strerror(errno);
}

EventFd::~EventFd()
{
	if (fd_ >= 0)
		close(fd_);
}

void EventFd::signal(uint64_t value)
{
	ssize_t n = write(fd_, &value, sizeof(value));
	if (n != (ssize_t)sizeof(value))
		ADD_FAILURE() << "eventfd write: " << strerror(errno);
}

bool EventFd::wait_readable(std::chrono::milliseconds timeout)
{
	struct pollfd p = { fd_, POLLIN, 0 };
	int n;

	do
		n = poll(&p, 1, (int)timeout.count());
	while (n < 0 && errno == EINTR);
	return n == 1 && (p.revents & POLLIN);
}

uint64_t EventFd::drain()
{
	uint64_t v = 0;

	if (read(fd_, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

bool wait_until(const std::function<bool()> &pred, std::chrono::milliseconds timeout)
{
	auto deadline = std::chrono::steady_clock::now() + timeout;

	while (!pred()) {
		if (std::chrono::steady_clock::now() >= deadline)
			return pred();
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return true;
}

hvabs_mem_region region(uint32_t label, uint64_t gpa, uint64_t size, uint32_t flags, void *host)
{
	hvabs_mem_region r{};

	r.version = HVABS_MEM_REGION_VERSION;
	r.label = label;
	r.flags = flags;
	r.guest_addr = gpa;
	r.size = size;
	r.host_addr = host;
	return r;
}

hvabs_vm_options vm_options(const char *backend)
{
	hvabs_vm_options o{};

	hvabs_vm_options_init(&o, HVABS_VM_OPTIONS_VERSION);
	o.backend = backend;
	return o;
}

hvabs_io_desc io_desc(hvabs_space space, uint64_t addr, uint64_t size, uint32_t len,
		      hvabs_io_read_fn rd, hvabs_io_write_fn wr, void *payload, uint32_t flags,
		      uint64_t data)
{
	hvabs_io_desc d{};

	d.version = HVABS_IO_DESC_VERSION;
	d.space = space;
	d.addr = addr;
	d.size = size;
	d.len = len;
	d.flags = flags;
	d.data = data;
	d.read = rd;
	d.write = wr;
	d.payload = payload;
	return d;
}

uint64_t le_load(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void le_store(uint8_t *p, uint32_t len, uint64_t v)
{
	for (uint32_t i = 0; i < len && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int run_bounded(hvabs_vcpu *vcpu, bool *timed_out, std::chrono::milliseconds timeout)
{
	std::mutex m;
	std::condition_variable cv;
	bool done = false;
	std::atomic<bool> fired{ false };
	std::thread watchdog([&] {
		std::unique_lock<std::mutex> lk(m);
		if (cv.wait_for(lk, timeout, [&] { return done; }))
			return;
		fired = true;
		while (!done) {
			lk.unlock();
			hvabs_vcpu_kick(vcpu);
			lk.lock();
			cv.wait_for(lk, std::chrono::milliseconds(20), [&] { return done; });
		}
	});
	int rc = hvabs_vcpu_run(vcpu);
	{
		std::lock_guard<std::mutex> lk(m);
		done = true;
	}
	cv.notify_all();
	watchdog.join();
	if (timed_out)
		*timed_out = fired;
	return rc;
}

bool backend_compiled(const char *name)
{
	for (unsigned int i = 0; i < hvabs_backend_count(); i++)
		if (std::strcmp(hvabs_backend_name(i), name) == 0)
			return true;
	return false;
}

bool backend_caps(const char *name, hvabs_caps *caps)
{
	*caps = hvabs_caps{};
	caps->version = HVABS_CAPS_VERSION;
	return hvabs_backend_caps(name, caps) == 0;
}

int open_fd_count()
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while (struct dirent *e = readdir(d))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

} /* namespace hvt */
