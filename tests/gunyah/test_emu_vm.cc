/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_emu_vm.cc: gunyah backend through the emulator - probe, config, caps, memory, start and the VM devicetree. */
#include "emu_fixture.h"

#include <libfdt.h>

#include <signal.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace gy {
namespace {

using VmTest = EmuTest;

TEST_F(VmTest, ProbeOpensTheDevice)
{
	const char *name = nullptr;

	GY_EXPECT_CODE(0, hvabs_backend_probe("gunyah"));
	GY_EXPECT_CODE(0, hvabs_backend_select(&name, "gunyah"));
}

TEST_F(VmTest, MissingDeviceIsENODEVWithTheOpenErrno)
{
	setenv("HVABS_GUNYAH_DEVICE", "/dev/no-such-gunyah", 1);
	int ret = hvabs_backend_probe("gunyah");
	unsetenv("HVABS_GUNYAH_DEVICE");
	EXPECT_EQ(HVABS_ENODEV, ret);
	EXPECT_EQ(ENOENT, hvabs_error_last()->sys_errno);
	EXPECT_STREQ("gunyah", hvabs_error_last()->backend);
	GY_EXPECT_CODE(HVABS_ENODEV, create("device=/dev/no-such-gunyah"));
	EXPECT_EQ(ENOENT, hvabs_error_last()->sys_errno);
	EXPECT_EQ(nullptr, vm_);
}

TEST_F(VmTest, BadBackendConfigIsEINVAL)
{
	for (const char *bad : { "abi=v12", "abi=", "bogus=1", "dtb=maybe", "abi", "device=" }) {
		hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
		o.backend = "gunyah";
		o.backend_config = bad;
		GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_create(&vm_, &o)) << bad;
		EXPECT_EQ(nullptr, vm_) << bad;
	}
	setenv("HVABS_GUNYAH_ABI", "v99", 1);
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	o.backend = "gunyah";
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_create(&vm_, &o));
	setenv("HVABS_GUNYAH_ABI", abi().c_str(), 1);
	EXPECT_EQ(0u, stats().vms);
}

TEST_F(VmTest, AbiComesFromConfigThenEnvironment)
{
	const char *other = v10() ? "v14" : "v10";
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;

	o.backend = "gunyah";
	setenv("HVABS_GUNYAH_ABI", other, 1);
	GY_ASSERT_OK(hvabs_vm_create(&vm_, &o));
	EXPECT_EQ(v10() ? 14 : 10, hvabs_gunyah_vm_abi(vm_)) << "environment";
	hvabs_vm_destroy(vm_);
	vm_ = nullptr;
	create_ok();
	EXPECT_EQ(v10() ? 10 : 14, hvabs_gunyah_vm_abi(vm_)) << "backend_config wins";
	setenv("HVABS_GUNYAH_ABI", abi().c_str(), 1);
}

TEST_F(VmTest, CapsDescribeTheAbi)
{
	hvabs_caps c = caps0();

	create_ok();
	EXPECT_EQ(v10() ? 10 : 14, hvabs_gunyah_vm_abi(vm_));
	EXPECT_STREQ("gunyah", hvabs_vm_backend_name(vm_));
	EXPECT_EQ(HVABS_ARCH_ARM64, hvabs_vm_arch(vm_));
	GY_ASSERT_OK(hvabs_vm_caps(vm_, &c));
	EXPECT_EQ(v10() ? HVABS_MEM_RWX | HVABS_MEM_LENT : HVABS_MEM_RWX, c.mem_flags);
	EXPECT_EQ(v10(), (c.features & HVABS_FEAT_MEM_REMOVE) != 0);
	EXPECT_EQ(1u << HVABS_SPACE_MMIO, c.io_spaces) << "no port I/O";
	EXPECT_EQ(1u << HVABS_SPACE_MMIO, c.ioeventfd_spaces);
	EXPECT_EQ(HVABS_IRQFD_LEVEL, c.irqfd_flags) << "no resample";
	EXPECT_EQ(HVABS_IOEVENTFD_DATAMATCH, c.ioeventfd_flags);
	EXPECT_EQ(0x117u, c.ioeventfd_lens) << "lens 0, 1, 2, 4, 8";
	EXPECT_EQ(1u << HVABS_RESUME_HANDLED, c.resume_actions) << "no FAULT/RETRY before v15";
	EXPECT_EQ(1u << HVABS_ARCH_ARM64, c.archs);
	EXPECT_EQ((1u << HVABS_FN_VCPU) | (1u << HVABS_FN_IRQFD) | (1u << HVABS_FN_IOEVENTFD),
		  c.fn_types);
	hvabs_caps b = caps0();
	GY_ASSERT_OK(hvabs_backend_caps("gunyah", &b));
	EXPECT_EQ(HVABS_MEM_RWX | HVABS_MEM_LENT, b.mem_flags) << "static caps: both ABIs";
	EXPECT_TRUE(b.features & HVABS_FEAT_MEM_REMOVE);
}

TEST_F(VmTest, KickSignalInterruptsWithoutRestart)
{
	struct sigaction sa;

	create_ok();
	ASSERT_EQ(0, sigaction(SIGRTMIN + 6, nullptr, &sa));
	EXPECT_NE((void *)SIG_DFL, (void *)sa.sa_handler) << "handler installed at the first VM";
	EXPECT_NE((void *)SIG_IGN, (void *)sa.sa_handler);
	EXPECT_EQ(0, sa.sa_flags & SA_RESTART) << "GH_VCPU_RUN must return EINTR, not restart";
}

TEST_F(VmTest, AbiQueryRejectsOtherBackends)
{
	hvabs_vm *sim = nullptr;
	hvabs_vm_options o = HVABS_VM_OPTIONS_INIT;
	uint64_t a, s;

	EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_vm_abi(nullptr));
	o.backend = "sim";
	if (hvabs_vm_create(&sim, &o) != 0)
		GTEST_SKIP() << "sim not compiled in";
	EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_vm_abi(sim));
	EXPECT_EQ(HVABS_EINVAL, hvabs_gunyah_vm_dtb(sim, &a, &s));
	hvabs_vm_destroy(sim);
}

TEST_F(VmTest, RegionsReachTheKernel)
{
	hvabs_mem_region ro = { HVABS_MEM_REGION_VERSION, 1, HVABS_MEM_READ, 0x1000000, 0x2000,
				nullptr };
	hvabs_mem_region lent = { HVABS_MEM_REGION_VERSION, 2, HVABS_MEM_RWX | HVABS_MEM_LENT,
				  0x2000000, 0x1000, nullptr };

	create_ok();
	add_ram();
	GY_EXPECT_CODE(0, hvabs_vm_mem_add(vm_, &ro)) << "guest read-only memory is honoured";
	EXPECT_EQ(2u, stats().regions);
	GY_EXPECT_CODE(v10() ? 0 : HVABS_ENOTSUP, hvabs_vm_mem_add(vm_, &lent));
	EXPECT_EQ(v10() ? 3u : 2u, stats().regions);
}

TEST_F(VmTest, RegionRemovalOnlyOnV10)
{
	hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 7, HVABS_MEM_RWX, 0x1000000, 0x4000,
			       nullptr };

	create_ok();
	GY_ASSERT_OK(hvabs_vm_mem_add(vm_, &r));
	EXPECT_EQ(1u, stats().regions);
	if (!v10()) {
		GY_EXPECT_CODE(HVABS_ENOTSUP, hvabs_vm_mem_remove(vm_, 7));
		EXPECT_EQ(1u, stats().regions);
		EXPECT_NE(nullptr, hvabs_vm_mem_host(vm_, 0x1000000, 1)) << "the region stays";
		return;
	}
	GY_EXPECT_CODE(0, hvabs_vm_mem_remove(vm_, 7));
	EXPECT_EQ(0u, stats().regions) << "deleted by label with size 0";
	r.guest_addr = 0x3000000;
	GY_EXPECT_CODE(0, hvabs_vm_mem_add(vm_, &r)) << "the label is free again in the kernel";
	EXPECT_EQ(1u, stats().regions);
}

TEST_F(VmTest, UnpinnableMemoryIsEINVALWithEFAULT)
{
	void *p = mmap(nullptr, 0x2000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hvabs_mem_region r = { HVABS_MEM_REGION_VERSION, 3, HVABS_MEM_READ, 0x1000000, 0x2000, p };

	ASSERT_NE(MAP_FAILED, p);
	create_ok();
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_mem_add(vm_, &r));
	EXPECT_EQ(EFAULT, hvabs_error_last()->sys_errno);
	EXPECT_EQ(nullptr, hvabs_vm_mem_host(vm_, 0x1000000, 1)) << "core forgot the region";
	EXPECT_EQ(0u, stats().regions);
	hvabs_vm_destroy(vm_);
	vm_ = nullptr;
	munmap(p, 0x2000);
}

/* ---- devicetree at start ---- */

std::vector<char> read_dtb(hvabs_vm *vm, uint64_t *gpa = nullptr)
{
	uint64_t a = 0, s = 0;
	int ret = hvabs_gunyah_vm_dtb(vm, &a, &s);

	EXPECT_EQ(0, ret) << why(ret);
	if (ret)
		return {};
	const char *p = static_cast<const char *>(hvabs_vm_mem_host(vm, a, s));
	EXPECT_NE(nullptr, p);
	if (gpa)
		*gpa = a;
	return p ? std::vector<char>(p, p + s) : std::vector<char>();
}

uint32_t prop_u32(const void *f, const char *path, const char *name)
{
	int off = fdt_path_offset(f, path), len = 0;
	const fdt32_t *p = off >= 0 ? (const fdt32_t *)fdt_getprop(f, off, name, &len) : nullptr;

	EXPECT_TRUE(p && len >= 4) << path << " " << name;
	return p && len >= 4 ? fdt32_to_cpu(p[len / 4 - 1]) : ~0u;
}

TEST_F(VmTest, StartPutsTheGeneratedDevicetreeAtTheEndOfRam)
{
	EventFd e;
	uint64_t gpa = 0;

	create_ok();
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 5, HVABS_IRQFD_LEVEL, -1));
	uint64_t a, s;
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_gunyah_vm_dtb(vm_, &a, &s));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	std::vector<char> dt = read_dtb(vm_, &gpa);
	ASSERT_FALSE(dt.empty());
	EXPECT_EQ(0u, gpa % HVABS_PAGE_SIZE);
	EXPECT_LT(kRamBase + kRamSize - gpa, 2u * HVABS_PAGE_SIZE) << "last pages of RAM";
	EXPECT_GE(kRamBase + kRamSize - gpa, dt.size());
	ASSERT_EQ(0, fdt_check_header(dt.data()));
	EXPECT_EQ(0u, prop_u32(dt.data(), "/cpus/cpu@0", "reg"));
	EXPECT_EQ(5u, prop_u32(dt.data(), "/gunyah-vm-config/vdevices/bell-5", "label"));
	EXPECT_EQ(4u, prop_u32(dt.data(), "/gunyah-vm-config/vdevices/bell-5", "interrupts"))
		<< "level-triggered, as the irqfd asked";
	EXPECT_EQ((uint32_t)kRamBase,
		  prop_u32(dt.data(), "/gunyah-vm-config/memory", "base-address"));
	EXPECT_EQ((uint32_t)kRamSize, prop_u32(dt.data(), "/gunyah-vm-config/memory", "size-min"));
	EXPECT_EQ(2u, stats().functions) << "vCPU and irqfd bound in the kernel";
}

TEST_F(VmTest, GeneratedDevicetreeGoesToTheBootBlob)
{
	hvabs_boot_config b = boot0();
	uint64_t gpa = 0;

	create_ok();
	add_ram();
	add_vcpu(0);
	b.blob_addr = kRamBase + 0x8000;
	b.blob_size = 0x4000;
	b.arg0 = b.blob_addr;
	b.entry = kRamBase;
	GY_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	std::vector<char> dt = read_dtb(vm_, &gpa);
	EXPECT_EQ(b.blob_addr, gpa);
	EXPECT_LE(dt.size(), b.blob_size);
	EXPECT_EQ(0, fdt_check_header(dt.data()));
}

TEST_F(VmTest, StartFailuresLeaveInitFailed)
{
	hvabs_boot_config b = boot0();
	struct hvabs_vm_status st;
	struct Case {
		const char *what;
		int code;
		std::function<void(hvabs_boot_config *)> set;
		bool ram;
	} cases[] = {
		{ "no memory for the devicetree", HVABS_EINVAL, nullptr, false },
		{ "blob too small", HVABS_EINVAL,
		  [](hvabs_boot_config *c) { c->blob_addr = kRamBase, c->blob_size = 64; }, true },
		{ "entry not at the region base", HVABS_ENOTSUP,
		  [](hvabs_boot_config *c) { c->entry = kRamBase + 0x1000; }, true },
		{ "initial stack", HVABS_ENOTSUP, [](hvabs_boot_config *c) { c->stack = kRamBase + 0x1000; },
		  true },
		{ "arg0 other than the devicetree", HVABS_ENOTSUP,
		  [](hvabs_boot_config *c) { c->arg0 = 42; }, true },
	};

	const uint64_t starts = hvabs_gunyah_emu_op_count("start");

	for (const Case &c : cases) {
		create_ok();
		if (c.ram)
			add_ram();
		add_vcpu(0);
		if (c.set) {
			b = boot0();
			c.set(&b);
			GY_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
		}
		GY_EXPECT_CODE(c.code, hvabs_vm_start(vm_)) << c.what;
		hvabs_vm_status_get(vm_, &st);
		EXPECT_EQ(HVABS_VM_INIT_FAILED, st.state) << c.what;
		EXPECT_EQ(starts, hvabs_gunyah_emu_op_count("start")) << c.what << ": no GH_VM_START";
		hvabs_vm_destroy(vm_);
		vm_ = nullptr;
	}
}

TEST_F(VmTest, DoorbellLabelsBeyondTheLastSpiAreEINVAL)
{
	EventFd e;

	create_ok();
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 988, 0, -1));
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm_));
}

TEST_F(VmTest, DtBuildIsWhatStartWrites)
{
	EventFd e;
	size_t need = 0;

	create_ok("", 2);
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 9, 0, -1));
	GY_ASSERT_OK(hvabs_gunyah_dt_build(vm_, nullptr, 0, &need));
	ASSERT_GT(need, 0u);
	std::vector<char> buf(need);
	size_t got = 0;
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_gunyah_dt_build(vm_, buf.data(), need - 1, &got));
	EXPECT_EQ(need, got) << "a short buffer still learns the size";
	GY_ASSERT_OK(hvabs_gunyah_dt_build(vm_, buf.data(), need, &got));
	EXPECT_EQ(1u, prop_u32(buf.data(), "/cpus/cpu@1", "reg")) << "nr_vcpus fixes the cpus";
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	std::vector<char> dt = read_dtb(vm_);
	ASSERT_EQ(buf.size(), dt.size());
	EXPECT_EQ(0, std::memcmp(buf.data(), dt.data(), dt.size()));
}

TEST_F(VmTest, VcpusOutsideTheDevicetreeGetNoResource)
{
	create_ok("", 2);
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	hvabs_vcpu *v1 = add_vcpu(1);
	hvabs_vcpu *v5 = add_vcpu(5);
	ASSERT_TRUE(v1 && v5);
	guest(1, [](hvabs_gunyah_emu_guest *g) { hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 1); });
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(v5)) << "cpu@5 is not in the devicetree";
	EXPECT_EQ(3u, stats().vcpus) << "the kernel still has the function";
}

TEST_F(VmTest, AVmWithoutVcpusStillHasTheBootVcpu)
{
	create_ok();
	add_ram();
	guest(0, [](hvabs_gunyah_emu_guest *g) { hvabs_gunyah_emu_guest_mmio_write(g, kMmio, 4, 9); });
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	std::vector<char> dt = read_dtb(vm_);
	ASSERT_FALSE(dt.empty());
	EXPECT_EQ(0u, prop_u32(dt.data(), "/cpus/cpu@0", "reg"));
	EXPECT_LT(fdt_path_offset(dt.data(), "/cpus/cpu@1"), 0);
	hvabs_vcpu *v = add_vcpu(0);
	ASSERT_NE(nullptr, v);
	const hvabs_exit &e = run_exit(v);
	EXPECT_EQ((uint32_t)HVABS_EXIT_MMIO, e.reason) << "vCPU 0 added late is the boot vCPU";
	EXPECT_EQ(9u, mmio_value(e));
}

TEST_F(VmTest, UserDevicetreeDecidesTheResources)
{
	hvabs_boot_config b = boot0();
	EventFd e7, e8;
	size_t n = 0;

	create_ok("dtb=user");
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e7.fd(), 7, 0, -1));
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm_)) << "dtb=user without a boot blob";
	hvabs_vm_destroy(vm_);
	vm_ = nullptr;

	create_ok("dtb=user");
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e7.fd(), 7, 0, -1));
	b.blob_addr = kRamBase + 0x10000;
	b.blob_size = 0x2000;
	GY_ASSERT_OK(hvabs_gunyah_dt_build(vm_, hvabs_vm_mem_host(vm_, b.blob_addr, b.blob_size),
					   b.blob_size, &n));
	GY_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
	/* Added after the devicetree was written: not in it. */
	hvabs_vcpu *v1 = add_vcpu(1);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e8.fd(), 8, 0, -1));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	uint64_t a = 0, s = 0;
	GY_ASSERT_OK(hvabs_gunyah_vm_dtb(vm_, &a, &s));
	EXPECT_EQ(b.blob_addr, a);
	EXPECT_EQ(b.blob_size, s) << "the VMM's blob is announced as it is";
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(v1));
	EXPECT_EQ(3u, stats().functions) << "two vCPUs and irqfd 7; irqfd 8 never reached the kernel";
}

/* fuzz/dt finding: libfdt refuses blobs that are not 8-byte aligned; the backend must copy them. */
TEST_F(VmTest, UserDevicetreeAtAnUnalignedAddress)
{
	hvabs_boot_config b = boot0();
	std::vector<uint8_t> dt(0x2000);
	size_t n = 0;

	create_ok("dtb=user");
	add_ram();
	add_vcpu(0);
	GY_ASSERT_OK(hvabs_gunyah_dt_build(vm_, dt.data(), dt.size(), &n));
	b.blob_addr = kRamBase + 0x10004; /* 4 mod 8: a devicetree needs no alignment in the ABI */
	b.blob_size = n;
	memcpy(hvabs_vm_mem_host(vm_, b.blob_addr, n), dt.data(), n);
	GY_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
	hvabs_vcpu *v1 = add_vcpu(1); /* after the devicetree was written: not in it */
	GY_ASSERT_OK(hvabs_vm_start(vm_)) << "an unaligned dtb=user blob is read like an aligned one";
	uint64_t a = 0, s = 0;
	GY_ASSERT_OK(hvabs_gunyah_vm_dtb(vm_, &a, &s));
	EXPECT_EQ(b.blob_addr, a);
	EXPECT_EQ((uint64_t)n, s);
	GY_EXPECT_CODE(HVABS_ESTATE, hvabs_vcpu_run(v1)) << "the blob's vCPUs were learned";
}

TEST_F(VmTest, UserBlobThatIsNoDevicetreeIsEINVAL)
{
	hvabs_boot_config b = boot0();

	create_ok("dtb=user");
	add_ram();
	add_vcpu(0);
	b.blob_addr = kRamBase;
	b.blob_size = 0x1000;
	GY_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
	GY_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_start(vm_));
}

TEST_F(VmTest, DestroyReleasesEverythingInTheKernel)
{
	EventFd e;

	create_ok();
	add_ram();
	add_vcpu(0);
	add_vcpu(1);
	GY_ASSERT_OK(hvabs_vm_irqfd_add(nullptr, vm_, e.fd(), 3, 0, -1));
	GY_ASSERT_OK(hvabs_vm_ioeventfd_add(nullptr, vm_, HVABS_SPACE_MMIO, kMmio, 4, e.fd(), 0, 0));
	GY_ASSERT_OK(hvabs_vm_start(vm_));
	struct hvabs_gunyah_emu_stats s = stats();
	EXPECT_EQ(1u, s.vms);
	EXPECT_EQ(2u, s.vcpus);
	EXPECT_EQ(4u, s.functions);
	EXPECT_EQ(1u, s.regions);
	EXPECT_EQ(1u, s.sim_vms);
	/* TearDown checks that all of it is gone. */
}

} // namespace
} // namespace gy
