// SPDX-License-Identifier: MIT
// tests/tools/test_options.cc: hvabs-run's size and number parsing (--mem, --entry, --vcpus).
#include "options.h"

#include <gtest/gtest.h>

namespace
{

TEST(RunOptions, SizesWithSuffixes)
{
	uint64_t v = 0;

	ASSERT_EQ(0, run_parse_size("4096", &v));
	EXPECT_EQ(4096u, v);
	ASSERT_EQ(0, run_parse_size("64M", &v));
	EXPECT_EQ(64ull << 20, v);
	ASSERT_EQ(0, run_parse_size("512k", &v));
	EXPECT_EQ(512ull << 10, v);
	ASSERT_EQ(0, run_parse_size("2G", &v));
	EXPECT_EQ(2ull << 30, v);
	ASSERT_EQ(0, run_parse_size("0x1000", &v));
	EXPECT_EQ(0x1000u, v);
}

TEST(RunOptions, MalformedSizesAreRejected)
{
	uint64_t v = 7;

	for (const char *s :
	     { "", "M", "-1", "12Q", "64MB", "1.5G", " 64M", "99999999999999999999", "16777216T" })
		EXPECT_EQ(-1, run_parse_size(s, &v)) << s;
	EXPECT_EQ(-1, run_parse_size(nullptr, &v));
	EXPECT_EQ(7u, v); // untouched on failure
}

TEST(RunOptions, Numbers)
{
	uint64_t v = 0;

	ASSERT_EQ(0, run_parse_u64("0x40080000", &v));
	EXPECT_EQ(0x40080000u, v);
	ASSERT_EQ(0, run_parse_u64("4096", &v));
	EXPECT_EQ(4096u, v);
	for (const char *s : { "", "-5", "+5", "0x", "12abc", " 1", "0x10000000000000000" })
		EXPECT_EQ(-1, run_parse_u64(s, &v)) << s;
}

} // namespace
