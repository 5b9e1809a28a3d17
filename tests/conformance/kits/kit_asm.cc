/* SPDX-License-Identifier: MIT */
/* tests/conformance/kits/kit_asm.cc: label fixups of the machine-code GuestKits' byte emitter. */
#include "kit_asm.h"

namespace hvt {
namespace kits {

uint32_t Asm::word(size_t pos) const
{
	return (uint32_t)code_[pos] | (uint32_t)code_[pos + 1] << 8 | (uint32_t)code_[pos + 2] << 16 |
	       (uint32_t)code_[pos + 3] << 24;
}

void Asm::put_word(size_t pos, uint32_t w)
{
	for (unsigned int i = 0; i < 4; i++)
		code_[pos + i] = (uint8_t)(w >> (8 * i));
}

namespace {

bool fits(int64_t v, unsigned int bits)
{
	return v >= -(INT64_C(1) << (bits - 1)) && v < (INT64_C(1) << (bits - 1));
}

} /* namespace */

bool Asm::finish(std::string *err)
{
	for (const Fixup &f : fixups_) {
		if (bound_[f.label] == kUnbound) {
			*err = "unbound label " + std::to_string(f.label);
			return false;
		}
		int64_t to = (int64_t)bound_[f.label];
		int64_t rel;
		bool ok;

		switch (f.kind) {
		case Fix::X86_REL8:
			rel = to - (int64_t)(f.pos + 1);
			ok = fits(rel, 8);
			if (ok)
				code_[f.pos] = (uint8_t)rel;
			break;
		case Fix::X86_REL32:
			rel = to - (int64_t)(f.pos + 4);
			ok = fits(rel, 32);
			if (ok)
				put_word(f.pos, (uint32_t)rel);
			break;
		case Fix::A64_IMM19:
			rel = (to - (int64_t)f.pos) / 4;
			ok = fits(rel, 19);
			if (ok)
				put_word(f.pos, word(f.pos) | ((uint32_t)rel & 0x7ffff) << 5);
			break;
		case Fix::A64_IMM26:
			rel = (to - (int64_t)f.pos) / 4;
			ok = fits(rel, 26);
			if (ok)
				put_word(f.pos, word(f.pos) | ((uint32_t)rel & 0x3ffffff));
			break;
		case Fix::A64_ADR:
			rel = to - (int64_t)f.pos;
			ok = fits(rel, 21);
			if (ok)
				put_word(f.pos, word(f.pos) | ((uint32_t)rel & 3) << 29 |
							((uint32_t)(rel >> 2) & 0x7ffff) << 5);
			break;
		default:
			ok = false;
			break;
		}
		if (!ok) {
			*err = "label " + std::to_string(f.label) + " out of reach";
			return false;
		}
	}
	return true;
}

} /* namespace kits */
} /* namespace hvt */
