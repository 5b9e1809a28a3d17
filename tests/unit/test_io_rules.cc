/* SPDX-License-Identifier: MIT */
/* tests/unit/test_io_rules.cc: rules of IO handler descriptors and handler collisions. */
#include "unit.h"

using namespace hvt;

namespace {

constexpr uint64_t kA = kMmioBase + 0x1000;

int nop_write(hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *)
{
	return 0;
}

int nop_read(hvabs_vcpu *, uint64_t, uint32_t, uint64_t *data, void *)
{
	*data = 0;
	return 0;
}

class IoRules : public RuleTest {
protected:
	hvabs_io_desc desc(uint64_t addr = kA, uint64_t size = 8, uint32_t len = 0, uint32_t flags = 0,
			   uint64_t data = 0, hvabs_space space = HVABS_SPACE_MMIO)
	{
		hvabs_io_read_fn rd = (flags & HVABS_IO_DATAMATCH) ? nullptr : nop_read;
		return io_desc(space, addr, size, len, rd, nop_write, nullptr, flags, data);
	}

	int add(const hvabs_io_desc &d) { return hvabs_vm_io_handler_add(nullptr, vm(), &d); }

	void expect_add_works()
	{
		size_t before = hvabs_vm_io_handler_count(vm());
		HV_EXPECT_OK(add(desc(kA + 0x100)));
		EXPECT_EQ(before + 1, hvabs_vm_io_handler_count(vm()));
	}
};

} /* namespace */

TEST_F(IoRules, DescVersionZeroIsEVERSION)
{
	hvabs_io_desc d = desc();
	d.version = 0;
	EXPECT_REJECTED(HVABS_EVERSION, add(d));
	expect_add_works();
}

TEST_F(IoRules, DescFutureVersionIsEVERSION)
{
	hvabs_io_desc d = desc();
	d.version = HVABS_IO_DESC_VERSION + 1;
	EXPECT_REJECTED(HVABS_EVERSION, add(d));
	expect_add_works();
}

TEST_F(IoRules, UnknownSpaceIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add(desc(kA, 8, 0, 0, 0, (hvabs_space)5)));
	expect_add_works();
}

TEST_F(IoRules, WidthThreeIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add(desc(kA, 8, 3)));
	expect_add_works();
}

TEST_F(IoRules, WidthSixteenIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add(desc(kA, 16, 16)));
	expect_add_works();
}

TEST_F(IoRules, UnknownFlagIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add(desc(kA, 8, 4, 1u << 4)));
	expect_add_works();
}

TEST_F(IoRules, RangeOverflowIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add(desc(0xfffffffffffffffcull, 8)));
	expect_add_works();
}

TEST_F(IoRules, DatamatchWithAnyWidthIsEINVAL)
{
	EXPECT_REJECTED(HVABS_EINVAL, add(desc(kA, 8, 0, HVABS_IO_DATAMATCH, 1)));
	expect_add_works();
}

TEST_F(IoRules, NoCallbackIsEINVAL)
{
	hvabs_io_desc d = desc();
	d.read = nullptr;
	d.write = nullptr;
	EXPECT_REJECTED(HVABS_EINVAL, add(d));
	expect_add_works();
}

TEST_F(IoRules, OverlappingRangeIsEEXIST)
{
	HV_ASSERT_OK(add(desc(kA, 0x10)));
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA + 0xf, 1)));
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA - 4, 8)));
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA - 4, 0x20)));
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(vm()));
	HV_EXPECT_OK(add(desc(kA + 0x10, 1))) << "adjacent range";
}

TEST_F(IoRules, SameRangeWithDifferentWidthsCoexists)
{
	HV_ASSERT_OK(add(desc(kA, 8, 4)));
	HV_EXPECT_OK(add(desc(kA, 8, 2)));
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA, 8, 4))); /* same width */
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA, 8, 0))); /* any width serves 4 too */
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA, 4, 1))); /* not the identical range */
}

TEST_F(IoRules, DatamatchHandlersWithDifferentDataCoexist)
{
	HV_ASSERT_OK(add(desc(kA, 0, 4, HVABS_IO_DATAMATCH, 1)));
	HV_EXPECT_OK(add(desc(kA, 0, 4, HVABS_IO_DATAMATCH, 2)));
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA, 0, 4, HVABS_IO_DATAMATCH, 1))); /* same data */
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA, 0, 4))); /* plain handler of same width */
}

TEST_F(IoRules, SizeZeroCoversExactlyOneAddress)
{
	HV_ASSERT_OK(add(desc(kA, 0)));
	HV_EXPECT_OK(add(desc(kA + 1, 1)));
	HV_EXPECT_OK(add(desc(kA - 1, 1)));
	EXPECT_REJECTED(HVABS_EEXIST, add(desc(kA, 1)));
}

TEST_F(IoRules, MmioAndPortSpacesDoNotCollide)
{
	if (!(caps_.io_spaces & (1u << HVABS_SPACE_PIO)))
		GTEST_SKIP() << "sim has no port I/O";
	HV_ASSERT_OK(add(desc(0x80, 2)));
	HV_EXPECT_OK(add(desc(0x80, 2, 0, 0, 0, HVABS_SPACE_PIO)));
}

TEST_F(IoRules, UnofferedSpaceIsENOTSUP)
{
	if (caps_.io_spaces & (1u << HVABS_SPACE_PIO))
		GTEST_SKIP() << "sim offers port I/O";
	EXPECT_REJECTED(HVABS_ENOTSUP, add(desc(0x80, 2, 0, 0, 0, HVABS_SPACE_PIO)));
	expect_add_works();
}

TEST_F(IoRules, CountFollowsAddAndRemove)
{
	hvabs_io_handler *a, *b;
	hvabs_io_desc da = desc(kA), db = desc(kA + 0x10);
	HV_ASSERT_OK(hvabs_vm_io_handler_add(&a, vm(), &da));
	HV_ASSERT_OK(hvabs_vm_io_handler_add(&b, vm(), &db));
	EXPECT_EQ(2u, hvabs_vm_io_handler_count(vm()));
	hvabs_io_handler_remove(a);
	EXPECT_EQ(1u, hvabs_vm_io_handler_count(vm()));
	HV_EXPECT_OK(hvabs_vm_io_handler_add(&a, vm(), &da)) << "the range is free again";
	hvabs_io_handler_remove(nullptr);
	EXPECT_EQ(2u, hvabs_vm_io_handler_count(vm()));
}

TEST_F(IoRules, HandlerAddIsAllowedInEveryLiveState)
{
	HV_EXPECT_OK(add(desc(kA)));
	HV_ASSERT_OK(sim_.start());
	HV_EXPECT_OK(add(desc(kA + 0x10)));
}
