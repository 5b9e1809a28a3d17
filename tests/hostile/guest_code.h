/* SPDX-License-Identifier: MIT */
/* tests/hostile/guest_code.h: guest machine layouts and a small x86 (real/prot32/long64) and arm64 code emitter. */
#ifndef HVABS_TESTS_HOSTILE_GUEST_CODE_H
#define HVABS_TESTS_HOSTILE_GUEST_CODE_H

#include <hvabs.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hvt {
namespace hostile {

/* The CPU mode guest code is emitted for. */
enum class Mode { REAL, PROT32, LONG64, ARM64 };

const char *mode_name(Mode m);
hvabs_arch mode_arch(Mode m);
hvabs_cpu_mode mode_cpu(Mode m);
inline bool is_x86(Mode m) { return m != Mode::ARM64; }

/*
 * Guest-physical layout, the same for every test (tests/guests' layout plus
 * a read-only region):
 *   x86:   RAM [0, 0xa0000) RWX, code at 0x1000, flat stack 0x8f000 (real
 *          mode 0x1000), boot scratch 0x90000 (64 KiB); ROM [0xc0000,
 *          0xd0000) R|X; everything else is MMIO (sim) / unbacked (KVM).
 *   arm64: RAM [0x40000000, +2 MiB) RWX, code at 0x40080000, stack below;
 *          ROM [0x40200000, +64 KiB) R|X.
 */
struct Layout {
	uint64_t ram_base, ram_size;
	uint64_t rom_base, rom_size;
	uint64_t code, stack, scratch;
};
const Layout &layout(Mode m);
constexpr uint32_t kRamLabel = 0x100;
constexpr uint32_t kRomLabel = 0x101;

/*
 * Machine code placed at @base. x86 encodings follow @mode's default
 * operand and address size. Helpers clobber the registers named in their
 * comments (x86 eax/ebx/edx, in real mode also ds; arm64 x0, x1, x16, x17).
 */
class Code {
public:
	Code(Mode mode, uint64_t base) : mode_(mode), base_(base) {}

	Mode mode() const { return mode_; }
	uint64_t base() const { return base_; }
	uint64_t here() const { return base_ + bytes_.size(); }
	const std::vector<uint8_t> &bytes() const { return bytes_; }
	void raw(const std::vector<uint8_t> &b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
	void u8(uint8_t v) { bytes_.push_back(v); }
	void u16(uint16_t v) { le(v, 2); }
	void u32(uint32_t v) { le(v, 4); }
	void u64(uint64_t v) { le(v, 8); }
	void insn(uint32_t w) { le(w, 4); } /* one arm64 instruction */

	/*
	 * One guest access of @len bytes (x86: 1/2/4, and 8 in LONG64; arm64:
	 * 1/2/4/8). Writes store @val. Real mode reaches addresses below
	 * 0x10ffef through DS:BX; higher ones use a 32-bit offset with DS = 0
	 * (beyond the segment limit: a #GP on a real CPU).
	 */
	void mem_write(uint64_t addr, unsigned len, uint64_t val);
	void mem_read(uint64_t addr, unsigned len);
	/* x86 port I/O (len 1/2/4). */
	void pio_write(uint16_t port, unsigned len, uint32_t val);
	void pio_read(uint16_t port, unsigned len);

	/* A loop without accesses: x86 "jmp ." / arm64 "b .". */
	void spin();
	/* x86 "cli; hlt" / arm64 "msr daifset, #0xf; wfi", then jump back to it. */
	void halt_forever();
	/* x86 "sti; hlt" / arm64 "msr daifclr, #2; wfi" in a loop. */
	void wait_forever();
	/* x86 ud2 / arm64 udf #0. */
	void undefined();
	/* x86 int @n / arm64 svc #@n. */
	void soft_int(uint8_t n);
	/* arm64 brk #@n. */
	void brk(uint16_t n);
	/* Jump to guest-physical @addr (real mode: far jump to addr >> 4 : addr & 0xf). */
	void jump_abs(uint64_t addr);
	/* A jump to @addr, relative (x86 rel16 in real mode, rel32 otherwise; arm64 b). */
	void jump_to(uint64_t addr);
	/* x86: lidt of a 6-byte (real/prot32) or 10-byte (long64) image placed inline (limit, base). */
	void lidt(uint16_t limit, uint64_t base);
	/* arm64: msr vbar_el1, x0 after loading @addr. */
	void set_vbar(uint64_t addr);
	/* arm64 HVC with W0 = @fn (PSCI). */
	void hvc(uint32_t fn);
	/* x86 load of an immediate into eax/rax (arm64: x0). */
	void load_acc(uint64_t v);

	/* Copy into guest memory (false when the range is not RAM of @vm). */
	bool install(hvabs_vm *vm) const;

private:
	void le(uint64_t v, unsigned n)
	{
		for (unsigned i = 0; i < n; i++)
			bytes_.push_back((uint8_t)(v >> (8 * i)));
	}
	void x86_access(uint64_t addr, unsigned len, bool write, uint64_t val);
	void x86_mov_edx(uint32_t v);
	void a64_mov(unsigned reg, uint64_t v);
	void a64_access(uint64_t addr, unsigned len, bool write, uint64_t val);

	Mode mode_;
	uint64_t base_;
	std::vector<uint8_t> bytes_;
};

/* "x86-real", ... for test names. */
std::string mode_ident(Mode m);

/* Boot setup for code at layout(m).code (arg0 = @arg0). */
hvabs_boot_config boot_config(Mode m, uint64_t arg0 = 0);

/*
 * Add the layout's RAM (and ROM when @rom) to @vm (state LOAD), and the
 * boot setup. @ram_host/@rom_host: caller-owned memory (or nullptr for
 * library memory), e.g. to read guest RAM after the VM is destroyed.
 */
int add_memory(hvabs_vm *vm, Mode m, bool rom, void *ram_host = nullptr, void *rom_host = nullptr);

} /* namespace hostile */
} /* namespace hvt */

#endif
