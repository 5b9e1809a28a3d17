/* SPDX-License-Identifier: MIT */
/* tests/conformance/guest_kit.cc: guest program builder and the kit registry. */
#include "guest_kit.h"

#include <algorithm>
#include <mutex>

namespace hvt {

const char *op_name(Op op)
{
	switch (op) {
	case Op::MMIO_WRITE: return "MMIO_WRITE";
	case Op::MMIO_READ: return "MMIO_READ";
	case Op::PIO_WRITE: return "PIO_WRITE";
	case Op::PIO_READ: return "PIO_READ";
	case Op::WAIT_IRQ: return "WAIT_IRQ";
	case Op::EOI: return "EOI";
	case Op::HALT: return "HALT";
	case Op::LOOP_FOREVER: return "LOOP_FOREVER";
	case Op::EXIT: return "EXIT";
	}
	return "?";
}

GuestProgram &GuestProgram::mmio_write(uint64_t addr, uint32_t len, uint64_t val)
{
	ops.push_back({ Op::MMIO_WRITE, addr, len, val });
	return *this;
}

GuestProgram &GuestProgram::mmio_read(uint64_t addr, uint32_t len)
{
	ops.push_back({ Op::MMIO_READ, addr, len, 0 });
	return *this;
}

GuestProgram &GuestProgram::pio_write(uint16_t port, uint32_t len, uint32_t val)
{
	ops.push_back({ Op::PIO_WRITE, port, len, val });
	return *this;
}

GuestProgram &GuestProgram::pio_read(uint16_t port, uint32_t len)
{
	ops.push_back({ Op::PIO_READ, port, len, 0 });
	return *this;
}

GuestProgram &GuestProgram::wait_irq()
{
	ops.push_back({ Op::WAIT_IRQ, 0, 0, 0 });
	return *this;
}

GuestProgram &GuestProgram::eoi(uint32_t line)
{
	ops.push_back({ Op::EOI, 0, 0, line });
	return *this;
}

GuestProgram &GuestProgram::halt()
{
	ops.push_back({ Op::HALT, 0, 0, 0 });
	return *this;
}

GuestProgram &GuestProgram::loop_forever()
{
	ops.push_back({ Op::LOOP_FOREVER, 0, 0, 0 });
	return *this;
}

GuestProgram &GuestProgram::exit(uint16_t exit_type, uint64_t reason, uint32_t reason_size)
{
	ops.push_back({ Op::EXIT, exit_type, reason_size, reason });
	return *this;
}

bool GuestProgram::uses(Op op) const
{
	return std::any_of(ops.begin(), ops.end(), [op](const GuestOp &o) { return o.op == op; });
}

bool GuestKit::supports_all(const GuestProgram &prog) const
{
	return std::all_of(prog.ops.begin(), prog.ops.end(),
			   [this](const GuestOp &o) { return supports_op(o); });
}

namespace {

std::mutex &registry_lock()
{
	static std::mutex m;
	return m;
}

std::vector<GuestKitEntry> &registry()
{
	static std::vector<GuestKitEntry> r;
	return r;
}

} /* namespace */

void register_guest_kit(const std::string &backend, const std::string &kit, GuestKitFactory f)
{
	std::lock_guard<std::mutex> lk(registry_lock());
	registry().push_back({ backend, kit, std::move(f) });
}

std::vector<GuestKitEntry> guest_kits_for(const std::string &backend)
{
	std::lock_guard<std::mutex> lk(registry_lock());
	std::vector<GuestKitEntry> out;

	for (const GuestKitEntry &e : registry())
		if (e.backend == backend)
			out.push_back(e);
	return out;
}

std::unique_ptr<GuestKit> make_guest_kit(const std::string &backend, const std::string &kit)
{
	for (const GuestKitEntry &e : guest_kits_for(backend))
		if (e.kit == kit)
			return e.factory();
	return nullptr;
}

} /* namespace hvt */
