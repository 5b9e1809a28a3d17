/* SPDX-License-Identifier: MIT */
/* tests/common/test_fn.cc: recording user-defined function type and logged tickets. */
#include "test_fn.h"

#include <algorithm>
#include <cstring>

namespace hvt {

void EventLog::add(const std::string &e)
{
	std::lock_guard<std::mutex> lk(m_);
	ev_.push_back(e);
}

std::vector<std::string> EventLog::events() const
{
	std::lock_guard<std::mutex> lk(m_);
	return ev_;
}

void EventLog::clear()
{
	std::lock_guard<std::mutex> lk(m_);
	ev_.clear();
}

size_t EventLog::count(const std::string &e) const
{
	std::lock_guard<std::mutex> lk(m_);
	return (size_t)std::count(ev_.begin(), ev_.end(), e);
}

namespace {

/* Per-instance state, kept in hvabs_function_data(). */
struct Instance {
	RecordingType *owner;
	uint32_t key;
	hvabs_ticket *ticket;
	hvabs_io_handler *handler;
};

RecordingType *owner_of(const hvabs_function *fn)
{
	return static_cast<RecordingType *>(hvabs_function_type_payload(fn));
}

int inst_populate(hvabs_ticket *, const hvabs_resource *, void *payload)
{
	Instance *in = static_cast<Instance *>(payload);
	in->owner->log->add("populate:" + std::to_string(in->key));
	return 0;
}

void inst_unpopulate(hvabs_ticket *, const hvabs_resource *, void *payload)
{
	Instance *in = static_cast<Instance *>(payload);
	in->owner->log->add("unpopulate:" + std::to_string(in->key));
}

int inst_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *payload)
{
	Instance *in = static_cast<Instance *>(payload);
	in->owner->writes++;
	return 0;
}

int claim_ticket(Instance *in, hvabs_vm *vm, const RecFnArg *a)
{
	hvabs_ticket_desc d{};

	d.version = HVABS_TICKET_DESC_VERSION;
	d.type = (enum hvabs_resource_type)a->ticket_type;
	d.label = a->ticket_label;
	d.populate = inst_populate;
	d.unpopulate = inst_unpopulate;
	d.payload = in;
	return hvabs_vm_ticket_add(&in->ticket, vm, &d);
}

int claim_handler(Instance *in, hvabs_vm *vm, const RecFnArg *a)
{
	hvabs_io_desc d{};

	d.version = HVABS_IO_DESC_VERSION;
	d.space = HVABS_SPACE_MMIO;
	d.addr = a->handler_addr;
	d.size = 8;
	d.len = 0;
	d.write = inst_write;
	d.payload = in;
	return hvabs_vm_io_handler_add(&in->handler, vm, &d);
}

int rec_bind(hvabs_function *fn)
{
	RecordingType *t = owner_of(fn);
	uint32_t size = 0;
	const RecFnArg *a = static_cast<const RecFnArg *>(hvabs_function_arg(fn, &size));
	hvabs_vm *vm = hvabs_function_vm(fn);
	int ret;

	if (size < sizeof(RecFnArg))
		return HVABS_EINVAL;
	t->log->add("bind:" + std::to_string(a->key));
	t->binds++;
	if (a->bind_result)
		return a->bind_result;
	Instance *in = new Instance{ t, a->key, nullptr, nullptr };
	if (a->ticket_type != kNoTicket) {
		ret = claim_ticket(in, vm, a);
		if (ret)
			goto out_free;
	}
	if (a->handler_addr) {
		ret = claim_handler(in, vm, a);
		if (ret)
			goto out_ticket;
	}
	hvabs_function_set_data(fn, in);
	t->live++;
	return 0;

out_ticket:
	hvabs_ticket_remove(in->ticket);
out_free:
	delete in;
	return ret;
}

void rec_unbind(hvabs_function *fn)
{
	RecordingType *t = owner_of(fn);
	Instance *in = static_cast<Instance *>(hvabs_function_data(fn));
	size_t handlers = hvabs_vm_io_handler_count(hvabs_function_vm(fn));

	t->log->add("unbind:" + std::to_string(in->key) + " h=" + std::to_string(handlers));
	t->unbinds++;
	hvabs_io_handler_remove(in->handler);
	hvabs_ticket_remove(in->ticket);
	delete in;
	t->live--;
}

bool rec_compare(const hvabs_function *fn, const void *arg, uint32_t size)
{
	const RecFnArg *mine = static_cast<const RecFnArg *>(hvabs_function_arg(fn, nullptr));
	uint32_t key;

	if (size < sizeof(key))
		return false;
	std::memcpy(&key, arg, sizeof(key));
	return mine->key == key;
}

int ticket_populate(hvabs_ticket *, const hvabs_resource *res, void *payload)
{
	LoggedTicket *t = static_cast<LoggedTicket *>(payload);

	if (t->refuse)
		return t->refuse;
	if (hvabs_resource_label(res) != t->label)
		t->log->add("populate-wrong-label:T" + std::to_string(t->label));
	t->populates++;
	t->log->add("populate:T" + std::to_string(t->label));
	return 0;
}

void ticket_unpopulate(hvabs_ticket *, const hvabs_resource *, void *payload)
{
	LoggedTicket *t = static_cast<LoggedTicket *>(payload);

	t->unpopulates++;
	t->log->add("unpopulate:T" + std::to_string(t->label) +
		    " h=" + std::to_string(hvabs_vm_io_handler_count(t->vm)));
}

} /* namespace */

RecordingType::RecordingType(uint32_t type, EventLog *l, bool with_compare) : log(l), t_{}
{
	t_.version = HVABS_FUNCTION_TYPE_VERSION;
	t_.type = type;
	t_.name = "recording";
	t_.bind = rec_bind;
	t_.unbind = rec_unbind;
	t_.compare = with_compare ? rec_compare : nullptr;
	t_.payload = this;
}

RecordingType::~RecordingType()
{
	if (registered_)
		hvabs_function_type_unregister(t_.type);
}

int RecordingType::register_type()
{
	int ret = hvabs_function_type_register(&t_);

	if (ret == 0)
		registered_ = true;
	return ret;
}

int RecordingType::unregister_type()
{
	int ret = hvabs_function_type_unregister(t_.type);

	if (ret == 0)
		registered_ = false;
	return ret;
}

hvabs_fn_desc RecordingType::desc(const RecFnArg &arg) const
{
	hvabs_fn_desc d{};

	d.type = t_.type;
	d.arg_size = sizeof(arg);
	d.arg = &arg;
	return d;
}

hvabs_ticket_desc logged_ticket_desc(LoggedTicket *t, enum hvabs_resource_type type)
{
	hvabs_ticket_desc d{};

	d.version = HVABS_TICKET_DESC_VERSION;
	d.type = type;
	d.label = t->label;
	d.populate = ticket_populate;
	d.unpopulate = ticket_unpopulate;
	d.payload = t;
	return d;
}

} /* namespace hvt */
