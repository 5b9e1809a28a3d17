/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_errno.cc: the one kernel errno -> HVABS_E* map of the Gunyah backend. */
#include <hvabs.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

extern "C" int gunyah_test_errno(int err, int *code_seen, int *sys_errno_seen,
				 const char **backend, const char **message);

namespace {

struct ErrnoCase {
	int err;
	int code;
};

/* What each errno the Gunyah driver (v10..v14) or the open() of the device returns means. */
const ErrnoCase kCases[] = {
	{ EINVAL, HVABS_EINVAL },    { EFAULT, HVABS_EINVAL },     { EOVERFLOW, HVABS_EINVAL },
	{ EBADF, HVABS_EINVAL },     { EEXIST, HVABS_EEXIST },     { ENOMEM, HVABS_ENOMEM },
	{ ENOSPC, HVABS_ENOMEM },    { ENOENT, HVABS_ENOTFOUND },  { EBUSY, HVABS_EBUSY },
	{ EAGAIN, HVABS_EBUSY },     { EPERM, HVABS_EPERM },       { EACCES, HVABS_EPERM },
	{ ENOTTY, HVABS_ENOTSUP },   { EOPNOTSUPP, HVABS_ENOTSUP }, { ENODEV, HVABS_ESTATE },
	{ EINTR, HVABS_EINTR },      { EIO, HVABS_EIO },           { EMFILE, HVABS_EIO },
	{ 4095, HVABS_EIO },
};

class GunyahErrno : public ::testing::TestWithParam<ErrnoCase> {};

TEST_P(GunyahErrno, MapsAndRecordsTheKernelErrno)
{
	const ErrnoCase &c = GetParam();
	int code = 0, sys = 0;
	const char *backend = nullptr, *message = nullptr;
	int ret = gunyah_test_errno(c.err, &code, &sys, &backend, &message);

	EXPECT_EQ(c.code, ret) << "errno " << c.err << " gave " << ret;
	EXPECT_EQ(ret, code) << "the detail's code is the returned code";
	EXPECT_EQ(c.err, sys) << "the OS errno stays in the detail";
	EXPECT_STREQ("gunyah", backend);
	EXPECT_EQ(std::string("probe-call"), message) << "the failing call is named";
}

INSTANTIATE_TEST_SUITE_P(Kernel, GunyahErrno, ::testing::ValuesIn(kCases),
			 [](const ::testing::TestParamInfo<ErrnoCase> &i) {
				 return "errno" + std::to_string(i.param.err);
			 });

} // namespace
