/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_uapi.cc: the backend's private /dev/gunyah uapi - layouts, ioctl numbers, values shared with hvabs. */
#include "gunyah_uapi.h"

#include <hvabs.h>

#include <gtest/gtest.h>

#include <cstring>

/*
 * gunyah_uapi.h asserts every size, offset and ioctl number against the
 * reference tables, so this file failing to compile is a failed test. Here:
 * the decomposition of each number, the values hvabs promises to share
 * with Gunyah, and the run page read through raw bytes.
 */

#define GH_CHECK_IOC(cmd, dir, nr, size)                                                  \
	static_assert(_IOC_TYPE(cmd) == 'G' && _IOC_NR(cmd) == (nr) &&                    \
			      _IOC_DIR(cmd) == (dir) && _IOC_SIZE(cmd) == (size),         \
		      #cmd)

GH_CHECK_IOC(GH_CREATE_VM, _IOC_NONE, 0x0, 0);
GH_CHECK_IOC(GH_VM_SET_USER_MEM_REGION, _IOC_WRITE, 0x1, 32);
GH_CHECK_IOC(GH_VM_SET_DTB_CONFIG, _IOC_WRITE, 0x2, 16);
GH_CHECK_IOC(GH_VM_START, _IOC_NONE, 0x3, 0);
GH_CHECK_IOC(GH_VM_ADD_FUNCTION, _IOC_WRITE, 0x4, 16);
GH_CHECK_IOC(GH_VCPU_RUN, _IOC_NONE, 0x5, 0);
GH_CHECK_IOC(GH_VCPU_MMAP_SIZE, _IOC_NONE, 0x6, 0);
GH_CHECK_IOC(GH_VM_REMOVE_FUNCTION, _IOC_WRITE, 0x7, 16);

/* The public API documents these values as Gunyah's; the backend passes them through. */
static_assert(HVABS_MEM_READ == GH_MEM_ALLOW_READ && HVABS_MEM_WRITE == GH_MEM_ALLOW_WRITE &&
		      HVABS_MEM_EXEC == GH_MEM_ALLOW_EXEC && HVABS_MEM_LENT == GH_MEM_LENT,
	      "memory flags");
static_assert(HVABS_FN_VCPU == GH_FN_VCPU && HVABS_FN_IRQFD == GH_FN_IRQFD &&
		      HVABS_FN_IOEVENTFD == GH_FN_IOEVENTFD &&
		      HVABS_FN_MAX_ARG_SIZE == GH_FN_MAX_ARG_SIZE,
	      "function types");
static_assert(HVABS_IRQFD_LEVEL == GH_IRQFD_LEVEL &&
		      HVABS_IOEVENTFD_DATAMATCH == GH_IOEVENTFD_DATAMATCH,
	      "function flags");
static_assert(HVABS_STATUS_LOAD_FAILED == GH_VM_STATUS_LOAD_FAILED &&
		      HVABS_STATUS_EXITED == GH_VM_STATUS_EXITED &&
		      HVABS_STATUS_CRASHED == GH_VM_STATUS_CRASHED,
	      "vm status values");
static_assert(sizeof(hvabs_fn_irqfd_arg) == sizeof(gh_fn_irqfd_arg) &&
		      sizeof(hvabs_fn_ioeventfd_arg) == sizeof(gh_fn_ioeventfd_arg) &&
		      sizeof(hvabs_fn_vcpu_arg) == sizeof(gh_fn_vcpu_arg),
	      "argument sizes");

namespace {

template <typename T> void put(uint8_t *page, size_t off, T v)
{
	std::memcpy(page + off, &v, sizeof(v));
}

TEST(GunyahUapi, RunPageMmioFieldsSitWhereTheKernelWritesThem)
{
	alignas(8) uint8_t page[64] = {};
	gh_vcpu_run run;

	put<uint32_t>(page, 8, GH_VCPU_EXIT_MMIO);
	put<uint64_t>(page, 16, 0x1122334455667788ull);
	for (int i = 0; i < 8; i++)
		page[24 + i] = (uint8_t)(0xa0 + i);
	put<uint32_t>(page, 32, 4);
	page[36] = 1;
	page[37] = 2;
	std::memcpy(&run, page, sizeof(run));
	EXPECT_EQ(GH_VCPU_EXIT_MMIO, run.exit_reason);
	EXPECT_EQ(0x1122334455667788ull, run.mmio.phys_addr);
	EXPECT_EQ(0xa0, run.mmio.data[0]);
	EXPECT_EQ(0xa7, run.mmio.data[7]);
	EXPECT_EQ(4u, run.mmio.len);
	EXPECT_EQ(1, run.mmio.is_write);
	EXPECT_EQ(2, run.mmio.resume_action);
}

TEST(GunyahUapi, RunPageStatusOverlaysMmio)
{
	alignas(8) uint8_t page[64] = {};
	const uint8_t reason[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	gh_vcpu_run run;

	put<uint32_t>(page, 8, GH_VCPU_EXIT_STATUS);
	put<uint32_t>(page, 16, GH_VM_STATUS_CRASHED);
	put<uint16_t>(page, 20, 5);
	put<uint32_t>(page, 24, 3);
	std::memcpy(page + 28, reason, sizeof(reason));
	std::memcpy(&run, page, sizeof(run));
	EXPECT_EQ(GH_VM_STATUS_CRASHED, run.status.status);
	EXPECT_EQ(5, run.status.exit_info.type);
	EXPECT_EQ(3u, run.status.exit_info.reason_size);
	EXPECT_EQ(0, std::memcmp(reason, run.status.exit_info.reason, sizeof(reason)));
}

TEST(GunyahUapi, ArgumentStructsAreLittleEndianWordsAtTheirOffsets)
{
	gh_fn_ioeventfd_arg a;
	uint8_t raw[32];

	std::memset(&a, 0, sizeof(a));
	a.datamatch = 0x0102030405060708ull;
	a.addr = 0x1000;
	a.len = 4;
	a.fd = 9;
	a.flags = GH_IOEVENTFD_DATAMATCH;
	std::memcpy(raw, &a, sizeof(raw));
	EXPECT_EQ(0x08, raw[0]) << "datamatch low byte first";
	EXPECT_EQ(0x10, raw[9]);
	EXPECT_EQ(4, raw[16]);
	EXPECT_EQ(9, raw[20]);
	EXPECT_EQ(1, raw[24]);
}

} // namespace
