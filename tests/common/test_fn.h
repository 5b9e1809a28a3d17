/* SPDX-License-Identifier: MIT */
/* tests/common/test_fn.h: a user-defined function type that records its callbacks. */
#ifndef HVABS_TESTS_COMMON_TEST_FN_H
#define HVABS_TESTS_COMMON_TEST_FN_H

#include <hvabs.h>

#include "hvabs_test.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace hvt {

/* Ordered, thread-safe record of callback events ("bind:1", "unpopulate:7"). */
class EventLog {
public:
	void add(const std::string &e);
	std::vector<std::string> events() const;
	void clear();
	size_t count(const std::string &e) const;

private:
	mutable std::mutex m_;
	std::vector<std::string> ev_;
};

constexpr uint32_t kNoTicket = 0xffffffffu;

/*
 * Argument of the recording type. bind claims a ticket (ticket_type !=
 * kNoTicket) and an MMIO write handler at handler_addr (!= 0) and fails with
 * bind_result (before claiming anything) when it is non-zero.
 */
struct RecFnArg {
	uint32_t key;
	uint32_t ticket_type;
	uint32_t ticket_label;
	int32_t bind_result;
	uint64_t handler_addr;
};

inline RecFnArg rec_arg(uint32_t key, uint32_t ticket_type = kNoTicket, uint32_t ticket_label = 0,
			uint64_t handler_addr = 0, int32_t bind_result = 0)
{
	RecFnArg a{};
	a.key = key;
	a.ticket_type = ticket_type;
	a.ticket_label = ticket_label;
	a.bind_result = bind_result;
	a.handler_addr = handler_addr;
	return a;
}

/*
 * The type's ops and counters. Events logged: "bind:K", "unbind:K h=N"
 * (N = IO handlers on the VM when unbind starts), "populate:K",
 * "unpopulate:K", "write:K". Compare matches on key alone.
 */
class RecordingType {
public:
	RecordingType(uint32_t type, EventLog *log, bool with_compare = true);
	~RecordingType();
	RecordingType(const RecordingType &) = delete;
	RecordingType &operator=(const RecordingType &) = delete;

	int register_type();
	int unregister_type();
	bool registered() const { return registered_; }
	uint32_t type() const { return t_.type; }
	const struct hvabs_function_type *ops() const { return &t_; }

	/* Descriptor for @arg (kept by reference: @arg must outlive the call). */
	hvabs_fn_desc desc(const RecFnArg &arg) const;

	EventLog *log;
	std::atomic<int> binds{ 0 };
	std::atomic<int> unbinds{ 0 };
	std::atomic<int> live{ 0 };
	std::atomic<uint64_t> writes{ 0 };

private:
	struct hvabs_function_type t_;
	bool registered_ = false;
};

/* A standalone ticket whose callbacks log "populate:T<label>" / "unpopulate:T<label> h=N". */
struct LoggedTicket {
	LoggedTicket(EventLog *l, hvabs_vm *v, uint32_t lbl) : log(l), vm(v), label(lbl) {}

	EventLog *log;
	hvabs_vm *vm;
	uint32_t label;
	std::atomic<int> populates{ 0 };
	std::atomic<int> unpopulates{ 0 };
	int refuse = 0; /* populate's return value */
};

hvabs_ticket_desc logged_ticket_desc(LoggedTicket *t, enum hvabs_resource_type type);

/*
 * Objects a VM refers to (eventfds, ticket and type callbacks) must outlive
 * it, and fixtures destroy VMs in TearDown, after the test body's locals are
 * gone: tests take such objects from a fixture-owned Pool instead.
 */
class Pool {
public:
	EventFd &eventfd() { return efds_.emplace_back(); }
	LoggedTicket &ticket(EventLog *log, uint32_t label, hvabs_vm *vm = nullptr)
	{
		return tickets_.emplace_back(log, vm, label);
	}
	RecordingType &type(uint32_t type, EventLog *log, bool with_compare = true)
	{
		return types_.emplace_back(type, log, with_compare);
	}
	/* Unregister the pool's types (their registry entries are library allocations). */
	void unregister_types()
	{
		for (RecordingType &t : types_)
			if (t.registered())
				t.unregister_type();
	}

private:
	std::deque<EventFd> efds_;
	std::deque<LoggedTicket> tickets_;
	std::deque<RecordingType> types_;
};

} /* namespace hvt */

#endif
