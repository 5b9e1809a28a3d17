// SPDX-License-Identifier: MIT
// tests/tools/test_image.cc: hvabs-run's image parser - malformed images map to their errors, valid ones load.
#include "image.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

namespace
{

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint16_t EM_386_ = 3, EM_X86_64_ = 62, EM_AARCH64_ = 183;
constexpr uint32_t PT_LOAD_ = 1, PT_NOTE_ = 4;

void put(Bytes &b, size_t off, uint64_t v, unsigned n)
{
	if (b.size() < off + n)
		b.resize(off + n);
	for (unsigned i = 0; i < n; i++)
		b[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

struct Phdr {
	uint32_t type = PT_LOAD_;
	uint64_t offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0;
};

// A minimal ELF writer: header, program headers right after it, then payload bytes.
struct Elf {
	bool is64 = true;
	uint16_t machine = EM_X86_64_;
	uint16_t type = 2; // ET_EXEC
	uint64_t entry = 0x1000;
	std::vector<Phdr> ph;

	size_t ehsize() const
	{
		return is64 ? 64 : 52;
	}
	size_t phentsize() const
	{
		return is64 ? 56 : 32;
	}
	size_t payload_offset() const
	{
		return ehsize() + ph.size() * phentsize();
	}

	Bytes build(size_t payload = 0x100) const
	{
		Bytes b(payload_offset() + payload, 0xcc);
		const unsigned w = is64 ? 8 : 4;

		b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F';
		b[4] = is64 ? 2 : 1; // EI_CLASS
		b[5] = 1; // little-endian
		b[6] = 1; // EI_VERSION
		std::memset(&b[7], 0, 9);
		put(b, 16, type, 2);
		put(b, 18, machine, 2);
		put(b, 20, 1, 4);
		put(b, 24, entry, w);
		put(b, is64 ? 32 : 28, ehsize(), w); // e_phoff
		put(b, is64 ? 40 : 32, 0, w); // e_shoff
		put(b, is64 ? 48 : 36, 0, 4); // e_flags
		put(b, is64 ? 52 : 40, ehsize(), 2); // e_ehsize
		put(b, is64 ? 54 : 42, phentsize(), 2); // e_phentsize
		put(b, is64 ? 56 : 44, ph.size(), 2); // e_phnum
		put(b, is64 ? 58 : 46, 0, 2);
		put(b, is64 ? 60 : 48, 0, 2);
		put(b, is64 ? 62 : 50, 0, 2);
		for (size_t i = 0; i < ph.size(); i++) {
			size_t o = ehsize() + i * phentsize();
			const Phdr &p = ph[i];

			put(b, o, p.type, 4);
			if (is64) {
				put(b, o + 4, 5, 4);
				put(b, o + 8, p.offset, 8);
				put(b, o + 16, p.vaddr, 8);
				put(b, o + 24, p.paddr, 8);
				put(b, o + 32, p.filesz, 8);
				put(b, o + 40, p.memsz, 8);
				put(b, o + 48, 0x1000, 8);
			} else {
				put(b, o + 4, p.offset, 4);
				put(b, o + 8, p.vaddr, 4);
				put(b, o + 12, p.paddr, 4);
				put(b, o + 16, p.filesz, 4);
				put(b, o + 20, p.memsz, 4);
				put(b, o + 24, 5, 4);
				put(b, o + 28, 0x1000, 4);
			}
		}
		return b;
	}
};

// One PT_LOAD of 0x40 file bytes (0x80 in memory) at @addr, entry at its start.
Elf simple_elf(bool is64, uint16_t machine, uint64_t addr)
{
	Elf e;

	e.is64 = is64;
	e.machine = machine;
	e.entry = addr;
	Phdr p;
	p.offset = e.ehsize() + e.phentsize();
	p.vaddr = p.paddr = addr;
	p.filesz = 0x40;
	p.memsz = 0x80;
	e.ph.push_back(p);
	return e;
}

image_params x86_params(uint64_t mem = 64 * kMiB, image_format fmt = IMAGE_FORMAT_AUTO)
{
	return image_params{ 0, mem, 0x1000, fmt };
}

image_params arm64_params(uint64_t mem = 64 * kMiB)
{
	return image_params{ 0x40000000, mem, 0x40080000, IMAGE_FORMAT_AUTO };
}

int parse(const Bytes &b, const image_params &p, image_info *info = nullptr)
{
	image_info local;

	return hvabs_image_parse(b.data(), b.size(), &p, info ? info : &local);
}

// ---- flat images ----

TEST(ImageFlat, LoadsAtTheFlatAddressAndEntersThere)
{
	Bytes b(300, 0x90);
	image_info info;

	ASSERT_EQ(IMAGE_OK, parse(b, x86_params(), &info));
	EXPECT_EQ(IMAGE_FORMAT_FLAT, info.format);
	EXPECT_EQ(IMAGE_ARCH_NONE, info.arch);
	EXPECT_EQ(0x1000u, info.entry);
	ASSERT_EQ(1u, info.nr_segments);
	EXPECT_EQ(0x1000u, info.seg[0].gpa);
	EXPECT_EQ(0u, info.seg[0].offset);
	EXPECT_EQ(300u, info.seg[0].filesz);
	EXPECT_EQ(300u, info.seg[0].memsz);
	EXPECT_EQ(0x1000u, info.lo);
	EXPECT_EQ(0x1000u + 300, info.hi);
}

TEST(ImageFlat, EmptyFileIsAnError)
{
	image_params p = x86_params();
	image_info info;

	EXPECT_EQ(IMAGE_EEMPTY, hvabs_image_parse(nullptr, 0, &p, &info));
	Bytes empty;
	EXPECT_EQ(IMAGE_EEMPTY, parse(empty, p));
}

TEST(ImageFlat, LargerThanRamIsTooBig)
{
	Bytes b(64 * 1024 + 1, 0);
	image_params p = x86_params(64 * 1024);

	p.flat_addr = 0;
	EXPECT_EQ(IMAGE_ETOOBIG, parse(b, p));
}

TEST(ImageFlat, MustFitAtItsLoadAddress)
{
	Bytes b(0x2000, 0);
	image_params p = x86_params(0x10000);

	p.flat_addr = 0xf000; // fits in RAM by size, not at this address
	EXPECT_EQ(IMAGE_ESEGRAM, parse(b, p));
	p.flat_addr = 0xe000; // ends exactly at the top of RAM
	EXPECT_EQ(IMAGE_OK, parse(b, p));
	p.flat_addr = std::numeric_limits<uint64_t>::max() - 0x10; // would overflow
	EXPECT_EQ(IMAGE_ESEGRAM, parse(b, p));
}

TEST(ImageFlat, LoadAddressBelowRamBaseIsOutsideRam)
{
	Bytes b(16, 0);
	image_params p = arm64_params();

	p.flat_addr = 0x1000;
	EXPECT_EQ(IMAGE_ESEGRAM, parse(b, p));
}

TEST(ImageFlat, ShortElfLikePrefixIsFlatInAutoMode)
{
	Bytes b = { 0x7f, 'E', 'L' };
	image_info info;

	ASSERT_EQ(IMAGE_OK, parse(b, x86_params(), &info));
	EXPECT_EQ(IMAGE_FORMAT_FLAT, info.format);
}

TEST(ImageFlat, ForcedFlatIgnoresElfMagic)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();
	image_info info;

	ASSERT_EQ(IMAGE_OK, parse(b, x86_params(64 * kMiB, IMAGE_FORMAT_FLAT), &info));
	EXPECT_EQ(IMAGE_FORMAT_FLAT, info.format);
	EXPECT_EQ(b.size(), info.seg[0].filesz);
}

// ---- ELF header ----

TEST(ImageElf, BadMagicWhenElfIsForced)
{
	Bytes b(128, 0);
	image_params p = x86_params(64 * kMiB, IMAGE_FORMAT_ELF64);

	EXPECT_EQ(IMAGE_EMAGIC, parse(b, p));
}

TEST(ImageElf, TruncatedHeader)
{
	Bytes full64 = simple_elf(true, EM_X86_64_, 0x1000).build();
	Bytes full32 = simple_elf(false, EM_386_, 0x1000).build();

	for (size_t n : { size_t{ 4 }, size_t{ 15 }, size_t{ 16 }, size_t{ 63 } })
		EXPECT_EQ(IMAGE_ETRUNC,
			  parse(Bytes(full64.begin(), full64.begin() + n), x86_params()))
			<< n;
	EXPECT_EQ(IMAGE_ETRUNC, parse(Bytes(full32.begin(), full32.begin() + 51), x86_params()));
}

TEST(ImageElf, BadClass)
{
	for (uint8_t cls : { 0, 3, 0xff }) {
		Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

		b[4] = cls;
		EXPECT_EQ(IMAGE_ECLASS, parse(b, x86_params())) << int(cls);
	}
}

TEST(ImageElf, BigEndianIsRejected)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

	b[5] = 2;
	EXPECT_EQ(IMAGE_EDATA, parse(b, x86_params()));
}

TEST(ImageElf, BadVersion)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

	b[6] = 0;
	EXPECT_EQ(IMAGE_EVERSION, parse(b, x86_params()));
	b = simple_elf(true, EM_X86_64_, 0x1000).build();
	put(b, 20, 2, 4);
	EXPECT_EQ(IMAGE_EVERSION, parse(b, x86_params()));
}

TEST(ImageElf, RelocatableObjectIsNotAnExecutable)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);

	e.type = 1; // ET_REL
	EXPECT_EQ(IMAGE_ETYPE, parse(e.build(), x86_params()));
	e.type = 3; // ET_DYN is accepted
	EXPECT_EQ(IMAGE_OK, parse(e.build(), x86_params()));
}

TEST(ImageElf, UnsupportedMachine)
{
	EXPECT_EQ(IMAGE_EMACHINE,
		  parse(simple_elf(false, 40 /* EM_ARM */, 0x1000).build(), x86_params()));
	EXPECT_EQ(IMAGE_EMACHINE,
		  parse(simple_elf(true, 243 /* EM_RISCV */, 0x1000).build(), x86_params()));
}

TEST(ImageElf, HeaderSizeSmallerThanTheHeader)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

	put(b, 52, 40, 2);
	EXPECT_EQ(IMAGE_EEHSIZE, parse(b, x86_params()));
}

// ---- program header table ----

TEST(ImageElf, PhoffOutOfRange)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

	put(b, 32, b.size(), 8); // table would start at EOF
	EXPECT_EQ(IMAGE_EPHDR, parse(b, x86_params()));
	put(b, 32, b.size() - 10, 8); // starts inside, ends beyond
	EXPECT_EQ(IMAGE_EPHDR, parse(b, x86_params()));
	put(b, 32, std::numeric_limits<uint64_t>::max() - 8, 8); // phoff + size overflows
	EXPECT_EQ(IMAGE_EPHDR, parse(b, x86_params()));
}

TEST(ImageElf, PhnumTimesPhentsizeBeyondFile)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

	put(b, 54, 0xffff, 2); // e_phentsize
	put(b, 56, 0xfffe, 2); // e_phnum: ~4 GiB table
	EXPECT_EQ(IMAGE_EPHDR, parse(b, x86_params()));
	Bytes c = simple_elf(false, EM_386_, 0x1000).build();
	put(c, 28, 0xffffffffu, 4); // ELF32 e_phoff
	put(c, 44, 0xfffe, 2);
	EXPECT_EQ(IMAGE_EPHDR, parse(c, x86_params()));
}

TEST(ImageElf, PhentsizeTooSmallOrExtendedNumbering)
{
	Bytes b = simple_elf(true, EM_X86_64_, 0x1000).build();

	put(b, 54, 32, 2); // ELF32 size in an ELF64 file
	EXPECT_EQ(IMAGE_EPHDR, parse(b, x86_params()));
	b = simple_elf(true, EM_X86_64_, 0x1000).build();
	put(b, 56, 0xffff, 2); // PN_XNUM
	EXPECT_EQ(IMAGE_EPHDR, parse(b, x86_params()));
}

TEST(ImageElf, LargerPhentsizeIsHonoured)
{
	// Entries 64 bytes apart instead of 56: the parser must stride by e_phentsize.
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);
	Bytes b = e.build(0x200);
	Bytes c(b.begin(), b.begin() + 64);

	c.resize(64 + 64, 0);
	std::memcpy(&c[64], &b[64], 56);
	put(c, 54, 64, 2);
	put(c, 64 + 8, 128, 8); // p_offset right after the table
	c.resize(128 + 0x40, 0xab);
	image_info info;
	ASSERT_EQ(IMAGE_OK, parse(c, x86_params(), &info));
	EXPECT_EQ(128u, info.seg[0].offset);
}

TEST(ImageElf, NoLoadableSegment)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);

	e.ph[0].type = PT_NOTE_;
	EXPECT_EQ(IMAGE_ENOLOAD, parse(e.build(), x86_params()));
	e.ph.clear();
	EXPECT_EQ(IMAGE_ENOLOAD, parse(e.build(), x86_params()));
	e = simple_elf(true, EM_X86_64_, 0x1000);
	e.ph[0].filesz = e.ph[0].memsz = 0; // empty PT_LOADs are skipped
	EXPECT_EQ(IMAGE_ENOLOAD, parse(e.build(), x86_params()));
}

TEST(ImageElf, TooManySegments)
{
	Elf e;

	for (unsigned i = 0; i <= IMAGE_MAX_SEGMENTS; i++) {
		Phdr p;
		p.paddr = p.vaddr = 0x1000 + i * 0x1000;
		p.memsz = 0x100;
		e.ph.push_back(p);
	}
	image_info info;
	EXPECT_EQ(IMAGE_ETOOMANY, parse(e.build(), x86_params(), &info));
	EXPECT_EQ(size_t{ IMAGE_MAX_SEGMENTS }, info.error_index);
	e.ph.pop_back();
	EXPECT_EQ(IMAGE_OK, parse(e.build(), x86_params(), &info));
	EXPECT_EQ(size_t{ IMAGE_MAX_SEGMENTS }, info.nr_segments);
}

// ---- segments ----

TEST(ImageElf, SegmentBeyondEndOfFile)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);
	Bytes b = e.build(0x40);
	image_info info;

	ASSERT_EQ(IMAGE_OK, parse(b, x86_params()));
	b.pop_back(); // last content byte missing
	EXPECT_EQ(IMAGE_ESEGFILE, parse(b, x86_params(), &info));
	EXPECT_EQ(0u, info.error_index);
	e.ph[0].offset = std::numeric_limits<uint64_t>::max() - 0x10; // offset + filesz overflows
	EXPECT_EQ(IMAGE_ESEGFILE, parse(e.build(), x86_params()));
}

TEST(ImageElf, FileSizeLargerThanMemorySize)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);

	e.ph[0].memsz = e.ph[0].filesz - 1;
	EXPECT_EQ(IMAGE_ESEGSIZE, parse(e.build(), x86_params()));
}

TEST(ImageElf, SegmentOutsideRam)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);
	image_params p = x86_params(0x10000);

	e.ph[0].paddr = 0x10000; // just past the end
	EXPECT_EQ(IMAGE_ESEGRAM, parse(e.build(), p));
	e.ph[0].paddr = 0x10000 - 0x40; // straddles the end (memsz 0x80)
	EXPECT_EQ(IMAGE_ESEGRAM, parse(e.build(), p));
	e.ph[0].paddr = std::numeric_limits<uint64_t>::max() - 0x20; // gpa + memsz overflows
	EXPECT_EQ(IMAGE_ESEGRAM, parse(e.build(), p));
	Elf a = simple_elf(true, EM_AARCH64_, 0x3ff00000); // below the arm64 RAM base
	EXPECT_EQ(IMAGE_ESEGRAM, parse(a.build(), arm64_params()));
}

TEST(ImageElf, OverlappingSegments)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);
	Phdr q = e.ph[0];

	q.paddr = q.vaddr = 0x1000 + 0x7f; // last byte of the first segment's bss
	e.ph.push_back(q);
	image_info info;
	EXPECT_EQ(IMAGE_EOVERLAP, parse(e.build(), x86_params(), &info));
	EXPECT_EQ(1u, info.error_index);
	e.ph[1].paddr = e.ph[1].vaddr = 0x1080; // adjacent is fine
	EXPECT_EQ(IMAGE_OK, parse(e.build(), x86_params()));
}

TEST(ImageElf, EntryOutsideRam)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);

	e.entry = 64 * kMiB;
	EXPECT_EQ(IMAGE_EENTRY, parse(e.build(), x86_params()));
	Elf a = simple_elf(true, EM_AARCH64_, 0x40080000);
	a.entry = 0x1000;
	EXPECT_EQ(IMAGE_EENTRY, parse(a.build(), arm64_params()));
}

// ---- valid images ----

TEST(ImageElf, ValidElf64X86)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x200000);
	image_info info;

	e.entry = 0x200010;
	Bytes b = e.build();
	ASSERT_EQ(IMAGE_OK, parse(b, x86_params(), &info));
	EXPECT_EQ(IMAGE_FORMAT_ELF64, info.format);
	EXPECT_EQ(IMAGE_ARCH_X86_64, info.arch);
	EXPECT_EQ(0x200010u, info.entry);
	ASSERT_EQ(1u, info.nr_segments);
	EXPECT_EQ(0x200000u, info.seg[0].gpa);
	EXPECT_EQ(e.payload_offset(), info.seg[0].offset);
	EXPECT_EQ(0x40u, info.seg[0].filesz);
	EXPECT_EQ(0x80u, info.seg[0].memsz);
	EXPECT_EQ(0x200000u, info.lo);
	EXPECT_EQ(0x200080u, info.hi);
	EXPECT_EQ(IMAGE_ARCH_X86_64, hvabs_image_arch(b.data(), b.size()));
}

TEST(ImageElf, ValidElf32I386)
{
	Elf e = simple_elf(false, EM_386_, 0x100000);
	Bytes b = e.build();
	image_info info;

	ASSERT_EQ(IMAGE_OK, parse(b, x86_params(), &info));
	EXPECT_EQ(IMAGE_FORMAT_ELF32, info.format);
	EXPECT_EQ(IMAGE_ARCH_X86_64, info.arch);
	EXPECT_EQ(0x100000u, info.entry);
	EXPECT_EQ(e.payload_offset(), info.seg[0].offset);
}

TEST(ImageElf, ValidElf64Arm64)
{
	Bytes b = simple_elf(true, EM_AARCH64_, 0x40080000).build();
	image_info info;

	ASSERT_EQ(IMAGE_OK, parse(b, arm64_params(), &info));
	EXPECT_EQ(IMAGE_ARCH_ARM64, info.arch);
	EXPECT_EQ(0x40080000u, info.entry);
	EXPECT_EQ(IMAGE_ARCH_ARM64, hvabs_image_arch(b.data(), b.size()));
}

TEST(ImageElf, EntryTranslatedFromVirtualToPhysical)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x100000);

	e.ph[0].vaddr = 0xffffffff80000000ull;
	e.entry = 0xffffffff80000020ull;
	image_info info;
	ASSERT_EQ(IMAGE_OK, parse(e.build(), x86_params(), &info));
	EXPECT_EQ(0x100020u, info.entry);
}

TEST(ImageElf, NonLoadHeadersAreIgnored)
{
	Elf e = simple_elf(true, EM_X86_64_, 0x1000);
	Phdr note;

	note.type = PT_NOTE_;
	note.offset = std::numeric_limits<uint64_t>::max(); // nonsense, but not PT_LOAD
	note.filesz = 0x1000000;
	e.ph.insert(e.ph.begin(), note);
	e.ph[1].offset = e.payload_offset();
	image_info info;
	ASSERT_EQ(IMAGE_OK, parse(e.build(), x86_params(), &info));
	EXPECT_EQ(1u, info.nr_segments);
}

TEST(ImageParams, InvalidParameters)
{
	Bytes b(16, 0);
	image_info info;
	image_params p = x86_params();

	EXPECT_EQ(IMAGE_EINVAL, hvabs_image_parse(b.data(), b.size(), nullptr, &info));
	EXPECT_EQ(IMAGE_EINVAL, hvabs_image_parse(b.data(), b.size(), &p, nullptr));
	EXPECT_EQ(IMAGE_EINVAL, hvabs_image_parse(nullptr, 16, &p, &info));
	p.mem_size = 0;
	EXPECT_EQ(IMAGE_EINVAL, parse(b, p));
	p = x86_params();
	p.mem_base = std::numeric_limits<uint64_t>::max() - 0x1000;
	EXPECT_EQ(IMAGE_EINVAL, parse(b, p));
	p = x86_params();
	p.format = static_cast<image_format>(9);
	EXPECT_EQ(IMAGE_EINVAL, parse(b, p));
}

TEST(ImageParams, ErrorTextsAreDistinct)
{
	std::vector<std::string> seen;

	for (int code = IMAGE_ETOOBIG; code <= IMAGE_EINVAL; code++) {
		std::string text = hvabs_image_strerror(code);

		EXPECT_NE("unknown image error", text) << code;
		for (const std::string &s : seen)
			EXPECT_NE(s, text) << code;
		seen.push_back(text);
	}
	EXPECT_STREQ("unknown image error", hvabs_image_strerror(-100));
}

TEST(ImageArch, FlatAndShortFilesHaveNoArch)
{
	Bytes flat(64, 0);
	Bytes elf = simple_elf(true, EM_AARCH64_, 0x40080000).build();

	EXPECT_EQ(IMAGE_ARCH_NONE, hvabs_image_arch(flat.data(), flat.size()));
	EXPECT_EQ(IMAGE_ARCH_NONE, hvabs_image_arch(elf.data(), 19));
	EXPECT_EQ(IMAGE_ARCH_NONE, hvabs_image_arch(nullptr, 0));
}

// ---- robustness: every prefix and many single-byte corruptions of a valid image ----

void expect_invariants(const Bytes &b, const image_params &p, const image_info &info)
{
	ASSERT_GE(info.nr_segments, 1u);
	ASSERT_LE(info.nr_segments, size_t{ IMAGE_MAX_SEGMENTS });
	for (size_t i = 0; i < info.nr_segments; i++) {
		const image_segment &s = info.seg[i];

		EXPECT_LE(s.offset, b.size());
		EXPECT_LE(s.filesz, b.size() - s.offset);
		EXPECT_LE(s.filesz, s.memsz);
		EXPECT_GE(s.gpa, p.mem_base);
		EXPECT_LE(s.gpa - p.mem_base + s.memsz, p.mem_size);
	}
	EXPECT_GE(info.entry, p.mem_base);
	EXPECT_LT(info.entry - p.mem_base, p.mem_size);
}

TEST(ImageRobustness, PrefixesAndCorruptionsNeverBreakInvariants)
{
	for (bool is64 : { true, false }) {
		Elf e = simple_elf(is64, is64 ? EM_X86_64_ : EM_386_, 0x1000);
		Phdr q = e.ph[0];
		q.paddr = q.vaddr = 0x3000;
		e.ph.push_back(q);
		const Bytes good = e.build(0x80);
		const image_params p = x86_params(1 * kMiB, IMAGE_FORMAT_ELF64);
		image_info info;

		for (size_t n = 0; n <= good.size(); n++) {
			Bytes b(good.begin(), good.begin() + n);
			if (parse(b, p, &info) == IMAGE_OK)
				expect_invariants(b, p, info);
		}
		for (size_t i = 0; i < e.payload_offset(); i++) {
			for (uint8_t v : { 0x00, 0x01, 0x7f, 0x80, 0xff }) {
				Bytes b = good;
				b[i] = v;
				if (parse(b, p, &info) == IMAGE_OK)
					expect_invariants(b, p, info);
			}
		}
	}
}

} // namespace
