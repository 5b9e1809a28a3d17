/* SPDX-License-Identifier: MIT */
/* tests/conformance/test_tickets.cc: conformance - resource tickets, teardown order and error details. */
#include "conformance.h"

#include <cstdlib>
#include <cstring>

using namespace hvt;

namespace {

constexpr uint32_t kOrderType = 0x5300;

class TicketTest : public BackendTest {
protected:
	void SetUp() override
	{
		BackendTest::SetUp();
		if (IsSkipped() || HasFatalFailure())
			return;
		HV_ASSERT_OK(create_vm(&vm_));
		HV_ASSERT_OK(add_ram(vm_));
	}

	/* Add a logged ticket; returns the code. */
	int add(LoggedTicket *t, enum hvabs_resource_type type, hvabs_ticket **out = nullptr)
	{
		hvabs_ticket *tk = nullptr;
		hvabs_ticket_desc d = logged_ticket_desc(t, type);

		t->vm = vm_;
		int ret = hvabs_vm_ticket_add(&tk, vm_, &d);
		if (out)
			*out = tk;
		return ret;
	}

	/* A feature of this VM (hvabs_vm_caps), which may be narrower than the backend's. */
	bool vm_has_feat(uint32_t bit)
	{
		hvabs_caps c{};

		c.version = HVABS_CAPS_VERSION;
		EXPECT_EQ(0, hvabs_vm_caps(vm_, &c));
		return (c.features & bit) != 0;
	}

	hvabs_vm *vm_ = nullptr;
};

/* Skip when the backend did not hand out the resource at start. */
#define REQUIRE_POPULATED(t)                                                           \
	do {                                                                           \
		if ((t).populates.load() == 0)                                         \
			GTEST_SKIP() << backend_ << " has no resource for this ticket"; \
	} while (0)

} /* namespace */

TEST_P(TicketTest, TicketIsPopulatedAtStartAndUnpopulatedAtTeardown)
{
	LoggedTicket &t = pool_.ticket(&log_, 3, nullptr);
	hvabs_ticket *tk;

	HV_ASSERT_OK(add(&t, HVABS_RESOURCE_BELL_TX, &tk));
	EXPECT_EQ(0, t.populates.load()) << "nothing to populate before start";
	EXPECT_EQ(nullptr, hvabs_ticket_resource(tk));
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	REQUIRE_POPULATED(t);
	EXPECT_EQ(1, t.populates.load());
	EXPECT_EQ(1u, hvabs_ticket_populate_count(tk));
	const hvabs_resource *res = hvabs_ticket_resource(tk);
	ASSERT_NE(nullptr, res);
	EXPECT_EQ(HVABS_RESOURCE_BELL_TX, hvabs_resource_type(res));
	EXPECT_EQ(3u, hvabs_resource_label(res));
	EXPECT_EQ(0, log_.count("populate-wrong-label:T3"));
	destroy_vm(vm_);
	EXPECT_EQ(1, t.unpopulates.load());
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(TicketTest, TicketAddedWhileRunningIsPopulatedBeforeAddReturns)
{
	REQUIRE(vm_has_feat(HVABS_FEAT_LATE_RESOURCES), "no resources for tickets added while running");
	LoggedTicket &early = pool_.ticket(&log_, 1, nullptr), &late = pool_.ticket(&log_, 2, nullptr);
	hvabs_ticket *tk;

	HV_ASSERT_OK(add(&early, HVABS_RESOURCE_BELL_TX));
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	REQUIRE_POPULATED(early);
	HV_ASSERT_OK(add(&late, HVABS_RESOURCE_BELL_TX, &tk));
	EXPECT_EQ(1, late.populates.load());
	EXPECT_NE(nullptr, hvabs_ticket_resource(tk));
	hvabs_ticket_remove(tk);
	EXPECT_EQ(1, late.unpopulates.load()) << "remove unpopulates";
	EXPECT_EQ(0, early.unpopulates.load());
}

TEST_P(TicketTest, DuplicateTypeAndLabelIsEEXISTAndOriginalKeepsItsResource)
{
	LoggedTicket &a = pool_.ticket(&log_, 5, nullptr), &b = pool_.ticket(&log_, 5, nullptr), &c = pool_.ticket(&log_, 5, nullptr);
	hvabs_ticket *ta;

	HV_ASSERT_OK(add(&a, HVABS_RESOURCE_BELL_TX, &ta));
	HV_EXPECT_CODE(HVABS_EEXIST, add(&b, HVABS_RESOURCE_BELL_TX));
	HV_EXPECT_OK(add(&c, HVABS_RESOURCE_BELL_RX)) << "same label, other type";
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	REQUIRE_POPULATED(a);
	HV_EXPECT_CODE(HVABS_EEXIST, add(&b, HVABS_RESOURCE_BELL_TX));
	EXPECT_EQ(0, b.populates.load());
	EXPECT_EQ(1u, hvabs_ticket_populate_count(ta));
	EXPECT_NE(nullptr, hvabs_ticket_resource(ta));
}

TEST_P(TicketTest, LabelClaimedAgainAfterRemoveIsPopulatedAgain)
{
	LoggedTicket &a = pool_.ticket(&log_, 6, nullptr), &b = pool_.ticket(&log_, 6, nullptr);
	hvabs_ticket *ta, *tb;

	HV_ASSERT_OK(add(&a, HVABS_RESOURCE_BELL_TX, &ta));
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	REQUIRE_POPULATED(a);
	const hvabs_resource *first = hvabs_ticket_resource(ta);
	uint32_t irq = hvabs_resource_irq(first);
	hvabs_ticket_remove(ta);
	EXPECT_EQ(1, a.unpopulates.load());
	for (int i = 0; i < 3; i++) {
		HV_ASSERT_OK(add(&b, HVABS_RESOURCE_BELL_TX, &tb));
		ASSERT_NE(nullptr, hvabs_ticket_resource(tb));
		EXPECT_EQ(irq, hvabs_resource_irq(hvabs_ticket_resource(tb))) << "same resource";
		hvabs_ticket_remove(tb);
	}
	EXPECT_EQ(3, b.populates.load());
	EXPECT_EQ(3, b.unpopulates.load());
}

TEST_P(TicketTest, RefusalAtStartFailsStartWithThatCodeAndTeardownUnpopulatesTheRest)
{
	LoggedTicket &ok = pool_.ticket(&log_, 1, nullptr), &refuser = pool_.ticket(&log_, 2, nullptr);

	refuser.refuse = HVABS_EPERM;
	HV_ASSERT_OK(add(&ok, HVABS_RESOURCE_BELL_TX));
	HV_ASSERT_OK(add(&refuser, HVABS_RESOURCE_BELL_TX));
	int ret = hvabs_vm_start(vm_);
	struct hvabs_vm_status st {};
	hvabs_vm_status_get(vm_, &st);
	if (ret == 0 && ok.populates.load() == 0)
		GTEST_SKIP() << backend_ << " has no BELL_TX resources";
	HV_EXPECT_CODE(HVABS_EPERM, ret);
	EXPECT_EQ(HVABS_VM_INIT_FAILED, st.state);
	destroy_vm(vm_);
	EXPECT_EQ(ok.populates.load(), ok.unpopulates.load());
	EXPECT_EQ(0, refuser.unpopulates.load()) << "a refused ticket was never populated";
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(TicketTest, LateRefusalIsReturnedAndTheClaimIsNotKept)
{
	REQUIRE(vm_has_feat(HVABS_FEAT_LATE_RESOURCES), "no resources for tickets added while running");
	LoggedTicket &probe = pool_.ticket(&log_, 1, nullptr), &refuser = pool_.ticket(&log_, 8, nullptr), &taker = pool_.ticket(&log_, 8, nullptr);

	HV_ASSERT_OK(add(&probe, HVABS_RESOURCE_BELL_TX));
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	REQUIRE_POPULATED(probe);
	refuser.refuse = HVABS_EBUSY;
	size_t allocs = hvabs_alloc_count();
	HV_EXPECT_CODE(HVABS_EBUSY, add(&refuser, HVABS_RESOURCE_BELL_TX));
	EXPECT_EQ(allocs, hvabs_alloc_count());
	HV_EXPECT_OK(add(&taker, HVABS_RESOURCE_BELL_TX));
	EXPECT_EQ(1, taker.populates.load());
}

TEST_P(TicketTest, TicketDescriptorIsValidated)
{
	LoggedTicket &t = pool_.ticket(&log_, 1, nullptr);
	hvabs_ticket *tk = nullptr;
	hvabs_ticket_desc d = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);

	d.version = 0;
	HV_EXPECT_CODE(HVABS_EVERSION, hvabs_vm_ticket_add(&tk, vm_, &d));
	d = logged_ticket_desc(&t, (enum hvabs_resource_type)77);
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_ticket_add(&tk, vm_, &d));
	d = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);
	d.populate = nullptr;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_ticket_add(&tk, vm_, &d));
	d = logged_ticket_desc(&t, HVABS_RESOURCE_BELL_TX);
	d.unpopulate = nullptr;
	HV_EXPECT_CODE(HVABS_EINVAL, hvabs_vm_ticket_add(&tk, vm_, &d));
	EXPECT_EQ(nullptr, tk);
	HV_EXPECT_OK(add(&t, HVABS_RESOURCE_BELL_TX)) << "the label is still free";
}

TEST_P(TicketTest, TicketsOnInitFailedVmAreESTATE)
{
	LoggedTicket &t = pool_.ticket(&log_, 1, nullptr);
	hvabs_boot_config b{};

	b.version = HVABS_BOOT_CONFIG_VERSION;
	b.blob_addr = 0x40000000;
	b.blob_size = 0x1000;
	HV_ASSERT_OK(hvabs_vm_boot_set(vm_, &b));
	HV_ASSERT_CODE(HVABS_EINVAL, hvabs_vm_start(vm_));
	HV_EXPECT_CODE(HVABS_ESTATE, add(&t, HVABS_RESOURCE_BELL_TX));
}

/*
 * A BELL_RX and a VCPU ticket: whichever the backend has a resource for
 * (Gunyah has no BELL_RX resources, but always vCPU 0) must not be raised.
 */
TEST_P(TicketTest, BellTxRaiseRejectsOtherResourceTypes)
{
	LoggedTicket &rx = pool_.ticket(&log_, 2, nullptr), &cpu = pool_.ticket(&log_, 0, nullptr);
	hvabs_ticket *tk_rx, *tk_cpu;
	int raised = 0;

	HV_ASSERT_OK(add(&rx, HVABS_RESOURCE_BELL_RX, &tk_rx));
	HV_ASSERT_OK(add(&cpu, HVABS_RESOURCE_VCPU, &tk_cpu));
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	for (hvabs_ticket *tk : { tk_rx, tk_cpu }) {
		const hvabs_resource *res = hvabs_ticket_resource(tk);

		if (!res)
			continue;
		HV_EXPECT_CODE(HVABS_EINVAL, hvabs_resource_raise(res))
			<< "resource type " << hvabs_resource_type(res);
		raised++;
	}
	if (raised == 0)
		GTEST_SKIP() << backend_ << " has no BELL_RX or VCPU resource";
}

/*
 * Teardown order. Created, in order: function A (claims ticket A, handler
 * A), handler H1, ticket T11, function B (ticket B, handler B), ticket
 * T13. Destroy must undo in reverse: T13, B (its unbind drops its own
 * ticket and handler), T11, H1, A. "h=N" is the number of IO handlers
 * still registered when the callback ran, which shows when H1 went. A
 * backend populates the tickets it has resources for (Gunyah: BELL_TX
 * doorbells of its devicetree, never BELL_RX), so each ticket is expected
 * to be unpopulated in its place exactly when it was populated.
 */
TEST_P(TicketTest, TeardownUndoesFunctionsTicketsAndHandlersInReverseCreationOrder)
{
	REQUIRE(has_feat(HVABS_FEAT_USER_FUNCTIONS), "no user function types");
	RecordingType &rt = pool_.type(kOrderType, &log_);
	HV_ASSERT_OK(rt.register_type());
	RecFnArg fa = rec_arg(1, HVABS_RESOURCE_BELL_RX, 10, kMmioBase + 0x100);
	RecFnArg fb = rec_arg(2, HVABS_RESOURCE_BELL_RX, 12, kMmioBase + 0x300);
	LoggedTicket &t11 = pool_.ticket(&log_, 11, nullptr), &t13 = pool_.ticket(&log_, 13, nullptr);
	hvabs_fn_desc da = rt.desc(fa), db = rt.desc(fb);
	hvabs_io_desc h1 = io_desc(HVABS_SPACE_MMIO, kMmioBase + 0x200, 8, 0, nullptr,
				   [](hvabs_vcpu *, uint64_t, uint32_t, uint64_t, void *) { return 0; });

	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm_, &da));
	HV_ASSERT_OK(hvabs_vm_io_handler_add(nullptr, vm_, &h1));
	HV_ASSERT_OK(add(&t11, HVABS_RESOURCE_BELL_TX));
	HV_ASSERT_OK(hvabs_vm_function_add(nullptr, vm_, &db));
	HV_ASSERT_OK(add(&t13, HVABS_RESOURCE_BELL_TX));
	EXPECT_EQ(3u, hvabs_vm_io_handler_count(vm_));
	HV_ASSERT_OK(hvabs_vm_start(vm_));
	int pop_a = log_.count("populate:1"), pop_b = log_.count("populate:2");
	int pop_11 = t11.populates.load(), pop_13 = t13.populates.load();
	for (int n : { pop_a, pop_b, pop_11, pop_13 })
		ASSERT_LE(n, 1) << "a ticket is populated at most once";
	log_.clear();
	destroy_vm(vm_);

	std::vector<std::string> want;
	if (pop_13)
		want.push_back("unpopulate:T13 h=3");
	want.push_back("unbind:2 h=3");
	if (pop_b)
		want.push_back("unpopulate:2");
	if (pop_11)
		want.push_back("unpopulate:T11 h=2");
	want.push_back("unbind:1 h=1");
	if (pop_a)
		want.push_back("unpopulate:1");
	EXPECT_EQ(want, log_.events());
	HV_EXPECT_OK(rt.unregister_type());
	EXPECT_EQ(alloc_base_, hvabs_alloc_count());
}

TEST_P(TicketTest, FailureRecordsCodeBackendAndMessageForTheThread)
{
	hvabs_error_clear();
	const hvabs_error *e = hvabs_error_last();
	EXPECT_EQ(0, e->code);
	EXPECT_STREQ("core", e->backend);
	EXPECT_STREQ("", e->message);

	hvabs_mem_region r = region(9, 0x123, 0x1000);
	HV_ASSERT_CODE(HVABS_EINVAL, hvabs_vm_mem_add(vm_, &r));
	e = hvabs_error_last();
	EXPECT_EQ(HVABS_EINVAL, e->code);
	ASSERT_NE(nullptr, e->backend);
	EXPECT_NE(0, e->backend[0]);
	ASSERT_NE(nullptr, e->message);
	EXPECT_NE(0, e->message[0]);
	EXPECT_EQ(nullptr, std::strchr(e->message, '\n')) << "one line";
}

INSTANTIATE_TEST_SUITE_P(Backends, TicketTest, ::testing::ValuesIn(compiled_backends()),
			 backend_param_name);
