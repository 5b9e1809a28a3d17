/* SPDX-License-Identifier: MIT */
/* tests/gunyah_emu/test_device.cc: opening /dev/gunyah, GH_CREATE_VM, wrong fd kinds, fd identity. */
#include "emu_test.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace gemu {
namespace {

class Device : public EmuTest {};

TEST_P(Device, OpenGivesAFileHonouringCloexec)
{
	in_child([] {
		int a = open("/dev/gunyah", O_RDWR | O_CLOEXEC);
		int b = open("/dev/gunyah", O_RDWR);

		ASSERT_GE(a, 0);
		ASSERT_GE(b, 0);
		EXPECT_NE(a, b);
		EXPECT_EQ(FD_CLOEXEC, fcntl(a, F_GETFD) & FD_CLOEXEC);
		EXPECT_EQ(0, fcntl(b, F_GETFD) & FD_CLOEXEC);
		close(a);
		close(b);
	});
}

TEST_P(Device, OtherPathsAreNotTouched)
{
	in_child([] {
		int n = open("/dev/null", O_RDONLY);

		EXPECT_GE(n, 0);
		close(n);
		errno = 0;
		EXPECT_EQ(-1, open("/dev/gunyahX", O_RDWR));
		EXPECT_EQ(ENOENT, errno);
		/* A relative name is a different file, even from / . */
		EXPECT_EQ(0, chdir("/dev"));
		errno = 0;
		EXPECT_EQ(-1, open("gunyah", O_RDWR));
		EXPECT_EQ(ENOENT, errno);
		EXPECT_GT(emu_stats().continued, 0u);
	});
}

TEST_P(Device, CreateVmArgumentMustBeZero)
{
	in_child([] {
		int dev = open("/dev/gunyah", O_RDWR | O_CLOEXEC);

		ASSERT_GE(dev, 0);
		EXPECT_EQ(-EINVAL, sys_ioctl(dev, kCreateVm, (uint64_t)1));
		EXPECT_EQ(0u, emu_stats().vms);
		long vm = sys_ioctl(dev, kCreateVm, (uint64_t)0);
		ASSERT_GE(vm, 0);
		EXPECT_EQ(FD_CLOEXEC, fcntl((int)vm, F_GETFD) & FD_CLOEXEC);
		EXPECT_EQ(1u, emu_stats().vms);
		long vm2 = sys_ioctl(dev, kCreateVm, (uint64_t)0);
		ASSERT_GE(vm2, 0);
		EXPECT_EQ(2u, emu_stats().vms);
		close((int)vm);
		close((int)vm2);
		EXPECT_EQ(0u, emu_stats().vms);
	});
}

TEST_P(Device, UnknownIoctlsOnTheDeviceAreEnotty)
{
	in_child([] {
		int dev = open("/dev/gunyah", O_RDWR | O_CLOEXEC);

		ASSERT_GE(dev, 0);
		EXPECT_EQ(-ENOTTY, sys_ioctl(dev, kStart, (uint64_t)0));
		EXPECT_EQ(-ENOTTY, sys_ioctl(dev, kVcpuRun, (uint64_t)0));
		EXPECT_EQ(-ENOTTY, sys_ioctl(dev, kVcpuMmapSize, (uint64_t)0));
		EXPECT_EQ(-ENOTTY, sys_ioctl(dev, 0x4708, (uint64_t)0)); /* v15 CREATE_GUEST_MEM nr */
		EXPECT_EQ(0u, emu_stats().vms);
	});
}

TEST_P(Device, VcpuIoctlsOnAVmFdAreEnotty)
{
	in_child([] {
		Vm vm;

		EXPECT_EQ(-ENOTTY, sys_ioctl(vm.fd, kVcpuRun, (uint64_t)0));
		EXPECT_EQ(-ENOTTY, sys_ioctl(vm.fd, kVcpuMmapSize, (uint64_t)0));
		EXPECT_EQ(-ENOTTY, sys_ioctl(vm.fd, kCreateVm, (uint64_t)0));
		/* Same nr, wrong size: a different ioctl. */
		EXPECT_EQ(-ENOTTY, sys_ioctl(vm.fd, 0x40184701, (uint64_t)0));
		EXPECT_EQ(-ENOTTY, sys_ioctl(vm.fd, 0x4709, (uint64_t)0));
	});
}

TEST_P(Device, VmIoctlsOnAVcpuFdAreEinval)
{
	in_child([this] {
		Vm vm;
		long fd = vm.add_vcpu(abi(), 0);

		ASSERT_GE(fd, 0);
		/* The vCPU file's ioctl handler defaults to -EINVAL, not -ENOTTY. */
		EXPECT_EQ(-EINVAL, sys_ioctl((int)fd, kStart, (uint64_t)0));
		EXPECT_EQ(-EINVAL, sys_ioctl((int)fd, kCreateVm, (uint64_t)0));
		EXPECT_EQ(-EINVAL, sys_ioctl((int)fd, 0x4707, (uint64_t)0));
		close((int)fd);
	});
}

TEST_P(Device, IoctlsOnOtherFilesReachTheKernel)
{
	in_child([] {
		int m = memfd_create("not-gunyah", MFD_CLOEXEC);

		ASSERT_GE(m, 0);
		EXPECT_EQ(-ENOTTY, sys_ioctl(m, kStart, (uint64_t)0));
		EXPECT_EQ(-EBADF, sys_ioctl(987, kStart, (uint64_t)0));
		close(m);
	});
}

TEST_P(Device, AReusedFdNumberIsNotTheOldVm)
{
	in_child([] {
		int dev = open("/dev/gunyah", O_RDWR | O_CLOEXEC);
		long vm = sys_ioctl(dev, kCreateVm, (uint64_t)0);

		ASSERT_GE(vm, 0);
		close((int)vm);
		hvabs_gunyah_emu_sync();
		int m = memfd_create("reuse", MFD_CLOEXEC);
		ASSERT_GE(m, 0);
		ASSERT_EQ(vm, dup3(m, (int)vm, O_CLOEXEC)) << "reuse the VM's number";
		EXPECT_EQ(-ENOTTY, sys_ioctl((int)vm, kStart, (uint64_t)0));
		close((int)vm);
		close(m);
		close(dev);
	});
}

TEST_P(Device, ADupOfAVmFdIsTheSameVm)
{
	in_child([] {
		Vm vm;
		int d = dup(vm.fd);

		ASSERT_GE(d, 0);
		vm.close_fd();
		EXPECT_EQ(1u, emu_stats().vms) << "the dup keeps the file open";
		EXPECT_EQ(-EEXIST, sys_ioctl(d, kSetUserMemRegion, [&] {
				  static MemRegion r;
				  r = { 0, kMemRWX, Vm::kMemGpa, 4096, (uint64_t)(uintptr_t)vm.mem };
				  return (const void *)&r;
			  }()));
		close(d);
		EXPECT_EQ(0u, emu_stats().vms);
	});
}

GEMU_INSTANTIATE(Device);

} /* namespace */
} /* namespace gemu */
