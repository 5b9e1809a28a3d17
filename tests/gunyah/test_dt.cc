/* SPDX-License-Identifier: MIT */
/* tests/gunyah/test_dt.cc: the VM devicetree builder read back node by node with libfdt, and the reader. */
#include "gunyah_dt.h"

#include <libfdt.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

const uint64_t kBase = 0x80000000ull;
const uint64_t kRam = 0x200000ull;
const uint64_t kIpa = 4ull << 30;

/* Builds a config over the vectors it owns. */
struct Cfg {
	std::vector<uint32_t> vcpus{ 0, 2, 1 };
	std::vector<gunyah_dt_bell> bells{ { 5, false }, { 0x20, true } };
	gunyah_dt_cfg cfg{};

	gunyah_dt_cfg &get()
	{
		cfg = { "hvabs-vm", "linux", kBase, kRam, kIpa, vcpus.data(),
			(uint32_t)vcpus.size(), bells.data(), (uint32_t)bells.size() };
		return cfg;
	}
};

std::vector<char> build(gunyah_dt_cfg &c, size_t cap = 16384)
{
	std::vector<char> buf(cap);
	size_t used = 0;
	int ret = hvabs__gunyah_dt_build(&c, buf.data(), buf.size(), &used);

	EXPECT_EQ(0, ret) << "hvabs code " << ret;
	buf.resize(ret ? 0 : used);
	return buf;
}

int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	EXPECT_GE(off, 0) << path << ": " << fdt_strerror(off);
	return off;
}

std::string str(const void *fdt, int off, const char *name)
{
	int len = 0;
	const char *p = (const char *)fdt_getprop(fdt, off, name, &len);

	if (!p || len <= 0 || p[len - 1] != '\0')
		return "<missing or not a string>";
	return std::string(p, (size_t)len - 1);
}

/* Cells of a property; empty when absent. */
std::vector<uint32_t> cells(const void *fdt, int off, const char *name)
{
	int len = 0;
	const fdt32_t *p = (const fdt32_t *)fdt_getprop(fdt, off, name, &len);
	std::vector<uint32_t> v;

	for (int i = 0; p && i < len / 4; i++)
		v.push_back(fdt32_to_cpu(p[i]));
	return v;
}

uint64_t u64(const void *fdt, int off, const char *name)
{
	std::vector<uint32_t> c = cells(fdt, off, name);

	EXPECT_EQ(2u, c.size()) << name << " must be one 64-bit value";
	return c.size() == 2 ? ((uint64_t)c[0] << 32) | c[1] : ~0ull;
}

int children(const void *fdt, int parent)
{
	int n = 0, child;

	fdt_for_each_subnode(child, fdt, parent)
		n++;
	return n;
}

std::vector<uint32_t> v32(std::initializer_list<uint32_t> l)
{
	return std::vector<uint32_t>(l);
}

TEST(GunyahDt, RootAndVmConfigNode)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	const void *f = dt.data();

	ASSERT_EQ(0, fdt_check_header(f));
	EXPECT_EQ(dt.size(), fdt_totalsize(f));
	EXPECT_EQ(v32({ 2 }), cells(f, 0, "#address-cells"));
	EXPECT_EQ(v32({ 2 }), cells(f, 0, "#size-cells"));
	EXPECT_EQ(v32({ GUNYAH_DT_GIC_PHANDLE }), cells(f, 0, "interrupt-parent"));
	int cfg = node(f, "/gunyah-vm-config");
	EXPECT_EQ("hvabs-vm", str(f, cfg, "image-name"));
	EXPECT_EQ("linux", str(f, cfg, "os-type"));
	EXPECT_EQ(4, children(f, cfg)) << "memory, interrupts, vcpus, vdevices";
	int mem = node(f, "/gunyah-vm-config/memory");
	EXPECT_EQ(v32({ 2 }), cells(f, mem, "#address-cells"));
	EXPECT_EQ(v32({ 2 }), cells(f, mem, "#size-cells"));
	EXPECT_EQ(kBase, u64(f, mem, "base-address"));
	EXPECT_EQ(kRam, u64(f, mem, "size-min"));
	EXPECT_EQ(kIpa, u64(f, mem, "size-max"));
	int irqs = node(f, "/gunyah-vm-config/interrupts");
	EXPECT_EQ(v32({ GUNYAH_DT_GIC_PHANDLE }), cells(f, irqs, "config"));
	int vcpus = node(f, "/gunyah-vm-config/vcpus");
	EXPECT_EQ("proxy", str(f, vcpus, "affinity"));
}

TEST(GunyahDt, OneDoorbellNodePerLabel)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	const void *f = dt.data();
	int vdev = node(f, "/gunyah-vm-config/vdevices");

	EXPECT_EQ("/hypervisor", str(f, vdev, "generate"));
	EXPECT_EQ(2, children(f, vdev));
	int b5 = node(f, "/gunyah-vm-config/vdevices/bell-5");
	EXPECT_EQ("doorbell", str(f, b5, "vdevice-type"));
	EXPECT_EQ("/hypervisor/bell-5", str(f, b5, "generate"));
	EXPECT_EQ(v32({ 5 }), cells(f, b5, "label"));
	int len = -1;
	EXPECT_NE(nullptr, fdt_getprop(f, b5, "peer-default", &len));
	EXPECT_EQ(0, len) << "peer-default is an empty property";
	EXPECT_EQ(v32({ 0, 5, GUNYAH_DT_IRQ_EDGE_RISING }), cells(f, b5, "interrupts"));
	int b32 = node(f, "/gunyah-vm-config/vdevices/bell-20");
	EXPECT_EQ(v32({ 0x20 }), cells(f, b32, "label")) << "node names use hex labels";
	EXPECT_EQ("/hypervisor/bell-20", str(f, b32, "generate"));
	EXPECT_EQ(v32({ 0, 0x20, GUNYAH_DT_IRQ_LEVEL_HIGH }), cells(f, b32, "interrupts"))
		<< "a level irqfd gives a level-triggered doorbell";
}

TEST(GunyahDt, OneCpuNodePerVcpu)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	const void *f = dt.data();
	int cpus = node(f, "/cpus");

	EXPECT_EQ(v32({ 1 }), cells(f, cpus, "#address-cells"));
	EXPECT_EQ(v32({ 0 }), cells(f, cpus, "#size-cells"));
	EXPECT_EQ(3, children(f, cpus));
	for (uint32_t id : { 0u, 1u, 2u }) {
		std::string path = "/cpus/cpu@" + std::to_string(id);
		int cpu = node(f, path.c_str());
		EXPECT_EQ("cpu", str(f, cpu, "device_type")) << path;
		EXPECT_EQ("arm,armv8", str(f, cpu, "compatible")) << path;
		EXPECT_EQ(v32({ id }), cells(f, cpu, "reg")) << path;
		EXPECT_EQ("psci", str(f, cpu, "enable-method")) << path;
	}
}

TEST(GunyahDt, PlatformNodesGuestsNeed)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	const void *f = dt.data();
	int mem = node(f, "/memory@80000000");

	EXPECT_EQ("memory", str(f, mem, "device_type"));
	EXPECT_EQ(v32({ 0, 0x80000000u, 0, (uint32_t)kRam }), cells(f, mem, "reg"));
	int gic = fdt_node_offset_by_phandle(f, GUNYAH_DT_GIC_PHANDLE);
	ASSERT_GE(gic, 0) << "interrupts/config must point at a node";
	EXPECT_EQ(std::string("interrupt-controller@3fff0000"), fdt_get_name(f, gic, nullptr));
	EXPECT_EQ("arm,gic-v3", str(f, gic, "compatible"));
	EXPECT_EQ(v32({ 3 }), cells(f, gic, "#interrupt-cells"));
	EXPECT_NE(nullptr, fdt_getprop(f, gic, "interrupt-controller", nullptr));
	EXPECT_EQ(8u, cells(f, gic, "reg").size()) << "distributor and redistributors";
	int psci = node(f, "/psci");
	EXPECT_EQ("arm,psci-1.0", str(f, psci, "compatible"));
	EXPECT_EQ("hvc", str(f, psci, "method"));
}

TEST(GunyahDt, ReaderRoundTrip)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	uint32_t vcpus[8];
	gunyah_dt_bell bells[8];
	gunyah_dt_info info{};

	info.vcpus = vcpus;
	info.vcpus_cap = 8;
	info.bells = bells;
	info.bells_cap = 8;
	ASSERT_EQ(0, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info));
	EXPECT_STREQ("hvabs-vm", info.image_name);
	EXPECT_STREQ("linux", info.os_type);
	EXPECT_STREQ("proxy", info.affinity);
	EXPECT_EQ(kBase, info.mem_base);
	EXPECT_EQ(kRam, info.mem_size);
	EXPECT_EQ(kIpa, info.ipa_size);
	ASSERT_EQ(3u, info.nr_vcpus);
	EXPECT_EQ(0u, vcpus[0]);
	EXPECT_EQ(2u, vcpus[1]);
	EXPECT_EQ(1u, vcpus[2]);
	ASSERT_EQ(2u, info.nr_bells);
	EXPECT_EQ(5u, bells[0].label);
	EXPECT_FALSE(bells[0].level);
	EXPECT_EQ(0x20u, bells[1].label);
	EXPECT_TRUE(bells[1].level);
}

TEST(GunyahDt, ReaderCountsBeyondCapacity)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	uint32_t one[1] = { 77 };
	gunyah_dt_info info{};

	info.vcpus = one;
	info.vcpus_cap = 1;
	ASSERT_EQ(0, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info));
	EXPECT_EQ(3u, info.nr_vcpus) << "sizes the second call";
	EXPECT_EQ(2u, info.nr_bells);
	EXPECT_EQ(0u, one[0]);
}

TEST(GunyahDt, EmptyVmBuilds)
{
	gunyah_dt_cfg c = { "x", "linux", 0, 4096, 4096, nullptr, 0, nullptr, 0 };
	std::vector<char> dt = build(c);
	gunyah_dt_info info{};

	ASSERT_FALSE(dt.empty());
	ASSERT_EQ(0, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info));
	EXPECT_EQ(0u, info.nr_vcpus);
	EXPECT_EQ(0u, info.nr_bells);
	EXPECT_EQ(0, children(dt.data(), node(dt.data(), "/cpus")));
}

TEST(GunyahDt, SmallBufferIsENOMEMAtEverySize)
{
	Cfg c;
	std::vector<char> dt = build(c.get());
	std::vector<char> buf(dt.size());
	size_t used = 12345;

	for (size_t size = 0; size < dt.size(); size += 7)
		ASSERT_EQ(HVABS_ENOMEM, hvabs__gunyah_dt_build(&c.get(), buf.data(), size, &used))
			<< size;
	EXPECT_EQ(12345u, used) << "untouched on failure";
	ASSERT_EQ(0, hvabs__gunyah_dt_build(&c.get(), buf.data(), dt.size(), &used));
	EXPECT_EQ(0, std::memcmp(buf.data(), dt.data(), dt.size())) << "deterministic output";
}

TEST(GunyahDt, BadConfigsAreEINVAL)
{
	char buf[16384];
	size_t used;
	Cfg c;

	c.vcpus = { 1, 1 };
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&c.get(), buf, sizeof(buf), &used));
	c = Cfg();
	c.bells = { { 3, false }, { 3, true } };
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&c.get(), buf, sizeof(buf), &used));
	c.bells = { { GUNYAH_DT_MAX_SPI + 1, false } };
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&c.get(), buf, sizeof(buf), &used));
	c.bells = { { GUNYAH_DT_MAX_SPI, false } };
	EXPECT_EQ(0, hvabs__gunyah_dt_build(&c.get(), buf, sizeof(buf), &used));
	gunyah_dt_cfg &g = c.get();
	g.mem_size = 0;
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&g, buf, sizeof(buf), &used));
	g = c.get();
	g.ipa_size = g.mem_size - 1;
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&g, buf, sizeof(buf), &used));
	g = c.get();
	g.mem_base = ~0ull - 4095;
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&g, buf, sizeof(buf), &used));
	g = c.get();
	g.image_name = nullptr;
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_build(&g, buf, sizeof(buf), &used));
}

/* A VMM-written devicetree, by hand with libfdt's sequential writer. */
std::vector<char> user_dt(bool with_config, bool with_vcpus, bool bell_label, bool cpu_reg,
			  int addr_cells = 1)
{
	std::vector<char> buf(4096);
	char *f = buf.data();
	fdt32_t reg2[2] = { cpu_to_fdt32(0), cpu_to_fdt32(3) };

	fdt_create(f, (int)buf.size());
	fdt_finish_reservemap(f);
	fdt_begin_node(f, "");
	if (with_config) {
		fdt_begin_node(f, "gunyah-vm-config");
		if (with_vcpus) {
			fdt_begin_node(f, "vcpus");
			fdt_property_string(f, "affinity", "proxy");
			fdt_end_node(f);
		}
		fdt_begin_node(f, "vdevices");
		fdt_begin_node(f, "my-bell");
		fdt_property_string(f, "vdevice-type", "doorbell");
		if (bell_label)
			fdt_property_u32(f, "label", 9);
		fdt_end_node(f);
		fdt_begin_node(f, "not-a-bell");
		fdt_property_string(f, "vdevice-type", "msgq");
		fdt_property_u32(f, "label", 10);
		fdt_end_node(f);
		fdt_end_node(f);
		fdt_end_node(f);
	}
	fdt_begin_node(f, "cpus");
	fdt_property_u32(f, "#address-cells", (uint32_t)addr_cells);
	fdt_begin_node(f, "cpu-a");
	fdt_property_string(f, "device_type", "cpu");
	if (cpu_reg) {
		if (addr_cells == 2)
			fdt_property(f, "reg", reg2, sizeof(reg2));
		else
			fdt_property_u32(f, "reg", 3);
	}
	fdt_end_node(f);
	fdt_begin_node(f, "idle-states");
	fdt_end_node(f);
	fdt_end_node(f);
	fdt_end_node(f);
	EXPECT_EQ(0, fdt_finish(f));
	buf.resize(fdt_totalsize(f));
	return buf;
}

TEST(GunyahDt, ReaderTakesAVmmDevicetree)
{
	uint32_t vcpus[4];
	gunyah_dt_bell bells[4];
	gunyah_dt_info info{};

	info.vcpus = vcpus;
	info.vcpus_cap = 4;
	info.bells = bells;
	info.bells_cap = 4;
	for (int cells_n : { 1, 2 }) {
		std::vector<char> dt = user_dt(true, true, true, true, cells_n);
		ASSERT_EQ(0, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info)) << cells_n;
		ASSERT_EQ(1u, info.nr_vcpus) << "only device_type = \"cpu\" nodes count";
		EXPECT_EQ(3u, vcpus[0]) << "the id is the low cell of reg";
		ASSERT_EQ(1u, info.nr_bells) << "only doorbell vdevices count";
		EXPECT_EQ(9u, bells[0].label);
		EXPECT_FALSE(bells[0].level) << "no interrupts property: edge";
	}
}

TEST(GunyahDt, ReaderRejectsWhatTheResourceManagerWould)
{
	gunyah_dt_info info{};
	std::vector<char> dt = user_dt(true, true, true, true);
	char junk[256];

	std::memset(junk, 0x5a, sizeof(junk));
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(junk, sizeof(junk), &info)) << "not a dtb";
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(dt.data(), dt.size() - 1, &info))
		<< "truncated";
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(dt.data(), 8, &info)) << "shorter than a header";
	dt = user_dt(false, true, true, true);
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info))
		<< "no gunyah-vm-config";
	dt = user_dt(true, false, true, true);
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info)) << "no vcpus";
	dt = user_dt(true, true, false, true);
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info))
		<< "doorbell without a label";
	dt = user_dt(true, true, true, false);
	EXPECT_EQ(HVABS_EINVAL, hvabs__gunyah_dt_parse(dt.data(), dt.size(), &info))
		<< "cpu without reg";
}

} // namespace
