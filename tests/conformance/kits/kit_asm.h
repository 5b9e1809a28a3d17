/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kit_asm.h: byte emitter with labels and fixups for machine-code kits. */
#ifndef HVABS_TESTS_CONFORMANCE_KITS_KIT_ASM_H
#define HVABS_TESTS_CONFORMANCE_KITS_KIT_ASM_H

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace hvt {
namespace kits {

/*
 * Code placed at a fixed guest-physical address. Instructions are emitted
 * as bytes (x86) or 32-bit words (arm64) by the code generators; forward
 * references are labels whose uses are patched by finish().
 */
class Asm {
public:
	using Label = size_t;

	/* How a use refers to its label. */
	enum class Fix {
		X86_REL8,  /* 1-byte displacement from the end of the field */
		X86_REL32, /* 4-byte displacement from the end of the field */
		A64_IMM19, /* B.cond/CBZ: word offset in bits [23:5] of the instruction */
		A64_IMM26, /* B/BL: word offset in bits [25:0] */
		A64_ADR,   /* ADR: byte offset in immhi:immlo */
	};

	explicit Asm(uint64_t base) : base_(base) {}

	uint64_t base() const { return base_; }
	uint64_t here() const { return base_ + code_.size(); }
	const std::vector<uint8_t> &code() const { return code_; }

	void u8(uint8_t v) { code_.push_back(v); }
	void bytes(std::initializer_list<uint8_t> b) { code_.insert(code_.end(), b); }
	void u32(uint32_t v) { le(v, 4); }
	void u64(uint64_t v) { le(v, 8); }
	/* One arm64 instruction. */
	void insn(uint32_t w) { u32(w); }
	/* Pad with @fill up to a multiple of @align bytes (relative to address 0). */
	void align(uint64_t align, uint8_t fill = 0)
	{
		while (here() % align)
			u8(fill);
	}

	Label label()
	{
		bound_.push_back(kUnbound);
		return bound_.size() - 1;
	}
	void bind(Label l) { bound_[l] = code_.size(); }
	/* Address of a bound label. */
	uint64_t addr(Label l) const { return base_ + bound_[l]; }

	/*
	 * Record a use of @l by the field of @kind at the current position:
	 * x86 fields are emitted here as zero bytes; for arm64 the caller
	 * emits the instruction right after (its offset bits zero).
	 */
	void use(Fix kind, Label l)
	{
		fixups_.push_back({ kind, l, code_.size() });
		if (kind == Fix::X86_REL8)
			u8(0);
		else if (kind == Fix::X86_REL32)
			u32(0);
	}

	/* Patch every use; false (and @err) when a label is unbound or out of reach. */
	bool finish(std::string *err);

private:
	static constexpr size_t kUnbound = SIZE_MAX;

	struct Fixup {
		Fix kind;
		Label label;
		size_t pos;
	};

	void le(uint64_t v, unsigned int n)
	{
		for (unsigned int i = 0; i < n; i++)
			code_.push_back((uint8_t)(v >> (8 * i)));
	}
	uint32_t word(size_t pos) const;
	void put_word(size_t pos, uint32_t w);

	uint64_t base_;
	std::vector<uint8_t> code_;
	std::vector<size_t> bound_;
	std::vector<Fixup> fixups_;
};

} /* namespace kits */
} /* namespace hvt */

#endif
