/* SPDX-License-Identifier: MIT */
/* tests/hostile/guest_code.cc: x86 (real/prot32/long64) and arm64 machine code for hostile and stress guests. */
#include "guest_code.h"

#include <cstring>

namespace hvt {
namespace hostile {

namespace {

const Layout kX86 = { 0x0, 0xa0000, 0xc0000, 0x10000, 0x1000, 0x8f000, 0x90000 };
const Layout kArm64 = { 0x40000000, 0x200000, 0x40200000, 0x10000, 0x40080000, 0x40080000, 0 };
constexpr uint64_t kRealStack = 0x1000;

/* arm64 encodings used below. */
constexpr uint32_t A64_MOVZ = 0xd2800000u;
constexpr uint32_t A64_MOVK = 0xf2800000u;
constexpr uint32_t A64_WFI = 0xd503207fu;
constexpr uint32_t A64_DAIFSET_ALL = 0xd5034fdfu; /* msr daifset, #0xf */
constexpr uint32_t A64_DAIFCLR_I = 0xd50342ffu;   /* msr daifclr, #2 */
constexpr uint32_t A64_BR_X16 = 0xd61f0200u;
constexpr uint32_t A64_MSR_VBAR_X0 = 0xd518c000u;
constexpr uint32_t A64_HVC0 = 0xd4000002u;
constexpr unsigned kX16 = 16, kX17 = 17;

uint32_t a64_b(int64_t words)
{
	return 0x14000000u | ((uint32_t)words & 0x3ffffffu);
}

} /* namespace */

const char *mode_name(Mode m)
{
	switch (m) {
	case Mode::REAL: return "real";
	case Mode::PROT32: return "prot32";
	case Mode::LONG64: return "long64";
	case Mode::ARM64: return "arm64";
	}
	return "?";
}

std::string mode_ident(Mode m)
{
	return m == Mode::ARM64 ? "arm64" : std::string("x86_") + mode_name(m);
}

hvabs_arch mode_arch(Mode m)
{
	return m == Mode::ARM64 ? HVABS_ARCH_ARM64 : HVABS_ARCH_X86_64;
}

hvabs_cpu_mode mode_cpu(Mode m)
{
	switch (m) {
	case Mode::REAL: return HVABS_CPU_MODE_X86_REAL;
	case Mode::PROT32: return HVABS_CPU_MODE_X86_PROT32;
	case Mode::LONG64: return HVABS_CPU_MODE_X86_LONG64;
	case Mode::ARM64: return HVABS_CPU_MODE_ARM64_EL1;
	}
	return HVABS_CPU_MODE_DEFAULT;
}

const Layout &layout(Mode m)
{
	return m == Mode::ARM64 ? kArm64 : kX86;
}

hvabs_boot_config boot_config(Mode m, uint64_t arg0)
{
	const Layout &l = layout(m);
	hvabs_boot_config b{};

	b.version = HVABS_BOOT_CONFIG_VERSION;
	b.entry = l.code;
	b.cpu_mode = mode_cpu(m);
	b.scratch_addr = (m == Mode::PROT32 || m == Mode::LONG64) ? l.scratch : 0;
	b.stack = m == Mode::REAL ? kRealStack : l.stack;
	b.arg0 = arg0;
	return b;
}

int add_memory(hvabs_vm *vm, Mode m, bool rom, void *ram_host, void *rom_host)
{
	const Layout &l = layout(m);
	hvabs_mem_region r{};
	int ret;

	r.version = HVABS_MEM_REGION_VERSION;
	r.label = kRamLabel;
	r.flags = HVABS_MEM_RWX;
	r.guest_addr = l.ram_base;
	r.size = l.ram_size;
	r.host_addr = ram_host;
	ret = hvabs_vm_mem_add(vm, &r);
	if (ret)
		return ret;
	if (rom) {
		r.label = kRomLabel;
		r.flags = HVABS_MEM_READ | HVABS_MEM_EXEC;
		r.guest_addr = l.rom_base;
		r.size = l.rom_size;
		r.host_addr = rom_host;
		ret = hvabs_vm_mem_add(vm, &r);
		if (ret)
			return ret;
	}
	hvabs_boot_config b = boot_config(m);
	return hvabs_vm_boot_set(vm, &b);
}

bool Code::install(hvabs_vm *vm) const
{
	void *dst = hvabs_vm_mem_host(vm, base_, bytes_.size());

	if (!dst)
		return false;
	memcpy(dst, bytes_.data(), bytes_.size());
	return true;
}

/* ---- x86 ---- */

void Code::load_acc(uint64_t v)
{
	switch (mode_) {
	case Mode::LONG64:
		raw({ 0x48, 0xb8 }), u64(v); /* movabs $v, %rax */
		break;
	case Mode::PROT32:
		u8(0xb8), u32((uint32_t)v); /* mov $v, %eax */
		break;
	case Mode::REAL:
		raw({ 0x66, 0xb8 }), u32((uint32_t)v); /* mov $v, %eax */
		break;
	case Mode::ARM64:
		a64_mov(0, v);
		break;
	}
}

void Code::x86_mov_edx(uint32_t v)
{
	u8(0xba); /* mov $v, %edx (%dx in real mode) */
	if (mode_ == Mode::REAL)
		u16((uint16_t)v);
	else
		u32(v);
}

void Code::x86_access(uint64_t addr, unsigned len, bool write, uint64_t val)
{
	if (len == 8 && mode_ != Mode::LONG64)
		len = 4;
	if (write && mode_ != Mode::REAL)
		load_acc(val);
	if (mode_ == Mode::LONG64) {
		raw({ 0x48, 0xbb }), u64(addr); /* movabs $addr, %rbx */
		if (len == 2)
			u8(0x66);
		if (len == 8)
			u8(0x48);
		/* mov %al/%ax/%eax/%rax, (%rbx) or the load back */
		raw({ (uint8_t)(len == 1 ? (write ? 0x88 : 0x8a) : (write ? 0x89 : 0x8b)), 0x03 });
		return;
	}
	if (mode_ == Mode::PROT32) {
		u8(0xbb), u32((uint32_t)addr); /* mov $addr, %ebx */
		if (len == 2)
			u8(0x66);
		raw({ (uint8_t)(len == 1 ? (write ? 0x88 : 0x8a) : (write ? 0x89 : 0x8b)), 0x03 });
		return;
	}
	/* Real mode: DS:BX where the address allows it, else a 32-bit offset from DS = 0. */
	uint64_t seg = addr >> 4 > 0xffff ? 0xffff : addr >> 4;
	uint64_t off = addr - seg * 16;
	uint8_t op = (uint8_t)(len == 1 ? (write ? 0x88 : 0x8a) : (write ? 0x89 : 0x8b));
	if (off + len - 1 <= 0xffff) {
		u8(0xb8), u16((uint16_t)seg);    /* mov $seg, %ax */
		raw({ 0x8e, 0xd8 });             /* mov %ax, %ds */
		u8(0xbb), u16((uint16_t)off);    /* mov $off, %bx */
		if (write)
			load_acc(val);           /* the segment load clobbered %ax */
		if (len == 4)
			u8(0x66);
		raw({ op, 0x07 });               /* (%bx) */
		return;
	}
	raw({ 0x31, 0xc0, 0x8e, 0xd8 });         /* xor %ax, %ax; mov %ax, %ds */
	raw({ 0x66, 0xbb }), u32((uint32_t)addr); /* mov $addr, %ebx */
	if (write)
		load_acc(val);
	if (len == 4)
		u8(0x66);
	raw({ 0x67, op, 0x03 });                 /* (%ebx) */
}

void Code::mem_write(uint64_t addr, unsigned len, uint64_t val)
{
	if (mode_ == Mode::ARM64)
		a64_access(addr, len, true, val);
	else
		x86_access(addr, len, true, val);
}

void Code::mem_read(uint64_t addr, unsigned len)
{
	if (mode_ == Mode::ARM64)
		a64_access(addr, len, false, 0);
	else
		x86_access(addr, len, false, 0);
}

void Code::pio_write(uint16_t port, unsigned len, uint32_t val)
{
	load_acc(val);
	x86_mov_edx(port);
	if (len == 1)
		u8(0xee); /* out %al, %dx */
	else if ((len == 2) != (mode_ == Mode::REAL))
		raw({ 0x66, 0xef });
	else
		u8(0xef);
}

void Code::pio_read(uint16_t port, unsigned len)
{
	x86_mov_edx(port);
	if (len == 1)
		u8(0xec); /* in %dx, %al */
	else if ((len == 2) != (mode_ == Mode::REAL))
		raw({ 0x66, 0xed });
	else
		u8(0xed);
}

void Code::spin()
{
	if (mode_ == Mode::ARM64)
		insn(a64_b(0));
	else
		raw({ 0xeb, 0xfe }); /* jmp . */
}

void Code::halt_forever()
{
	if (mode_ == Mode::ARM64)
		insn(A64_DAIFSET_ALL), insn(A64_WFI), insn(a64_b(-2));
	else
		raw({ 0xfa, 0xf4, 0xeb, 0xfc }); /* 1: cli; hlt; jmp 1b */
}

void Code::wait_forever()
{
	if (mode_ == Mode::ARM64)
		insn(A64_DAIFCLR_I), insn(A64_WFI), insn(a64_b(-2));
	else
		raw({ 0xfb, 0xf4, 0xeb, 0xfc }); /* 1: sti; hlt; jmp 1b */
}

void Code::undefined()
{
	if (mode_ == Mode::ARM64)
		insn(0x00000000u); /* udf #0 */
	else
		raw({ 0x0f, 0x0b }); /* ud2 */
}

void Code::soft_int(uint8_t n)
{
	if (mode_ == Mode::ARM64)
		insn(0xd4000001u | (uint32_t)n << 5); /* svc #n */
	else
		raw({ 0xcd, n });
}

void Code::brk(uint16_t n)
{
	insn(0xd4200000u | (uint32_t)n << 5);
}

void Code::jump_abs(uint64_t addr)
{
	switch (mode_) {
	case Mode::LONG64:
		raw({ 0x48, 0xb8 }), u64(addr), raw({ 0xff, 0xe0 }); /* movabs; jmp *%rax */
		break;
	case Mode::PROT32:
		u8(0xb8), u32((uint32_t)addr), raw({ 0xff, 0xe0 }); /* mov; jmp *%eax */
		break;
	case Mode::REAL:
		u8(0xea), u16((uint16_t)(addr & 0xf)), u16((uint16_t)(addr >> 4)); /* ljmp */
		break;
	case Mode::ARM64:
		a64_mov(kX16, addr), insn(A64_BR_X16);
		break;
	}
}

void Code::jump_to(uint64_t addr)
{
	if (mode_ == Mode::ARM64) {
		insn(0x14000000u | ((uint32_t)((int64_t)(addr - here()) / 4) & 0x3ffffffu));
		return;
	}
	u8(0xe9);
	if (mode_ == Mode::REAL)
		u16((uint16_t)(addr - (here() + 2)));
	else
		u32((uint32_t)(addr - (here() + 4)));
}

void Code::lidt(uint16_t limit, uint64_t base)
{
	unsigned size = mode_ == Mode::LONG64 ? 10 : 6;
	uint64_t image = here() + 2;

	raw({ 0xeb, (uint8_t)size }); /* jmp over the image */
	u16(limit);
	if (mode_ == Mode::LONG64)
		u64(base);
	else
		u32((uint32_t)base);
	switch (mode_) {
	case Mode::LONG64:
		raw({ 0x48, 0xb8 }), u64(image), raw({ 0x0f, 0x01, 0x18 }); /* lidt (%rax) */
		break;
	case Mode::PROT32:
		u8(0xb8), u32((uint32_t)image), raw({ 0x0f, 0x01, 0x18 });
		break;
	default:
		raw({ 0x31, 0xc0, 0x8e, 0xd8 });                           /* ds = 0 */
		u8(0xbb), u16((uint16_t)image), raw({ 0x0f, 0x01, 0x1f }); /* lidt (%bx) */
		break;
	}
}

/* ---- arm64 ---- */

void Code::a64_mov(unsigned reg, uint64_t v)
{
	insn(A64_MOVZ | (uint32_t)(v & 0xffff) << 5 | reg);
	for (unsigned hw = 1; hw < 4; hw++) {
		uint32_t part = (uint32_t)(v >> (16 * hw)) & 0xffff;
		if (part)
			insn(A64_MOVK | hw << 21 | part << 5 | reg);
	}
}

void Code::a64_access(uint64_t addr, unsigned len, bool write, uint64_t val)
{
	static const uint32_t store[] = { 0x39000000u, 0x79000000u, 0xb9000000u, 0xf9000000u };
	static const uint32_t load[] = { 0x39400000u, 0x79400000u, 0xb9400000u, 0xf9400000u };
	unsigned size = len == 1 ? 0 : len == 2 ? 1 : len == 4 ? 2 : 3;

	a64_mov(kX17, addr);
	if (write)
		a64_mov(kX16, val);
	insn((write ? store[size] : load[size]) | kX17 << 5 | kX16); /* str/ldr x16, [x17] */
}

void Code::set_vbar(uint64_t addr)
{
	a64_mov(0, addr);
	insn(A64_MSR_VBAR_X0);
}

void Code::hvc(uint32_t fn)
{
	a64_mov(0, fn);
	insn(A64_HVC0);
}

} /* namespace hostile */
} /* namespace hvt */
