/* SPDX-License-Identifier: MIT */
/* tests/fault/scenario.h: a representative VM set-up and run, used to sweep injected failures. */
#ifndef HVABS_TESTS_FAULT_SCENARIO_H
#define HVABS_TESTS_FAULT_SCENARIO_H

#include <string>

namespace hvt {

/*
 * What one scenario run did. rc/step name the first call that failed (rc 0:
 * everything succeeded); the counters show whether teardown undid every
 * bind and populate. The scenario always destroys its VM and unregisters
 * its user type, so hvabs_alloc_count() must be back at its start value.
 */
struct ScenarioResult {
	int rc = 0;
	std::string step;
	int live_instances = 0; /* user-function binds not undone */
	int populates = 0;
	int unpopulates = 0;
	bool guest_ran = false;
};

/*
 * register user type -> create VM -> add RAM -> add and remove a region ->
 * vCPU + callback guest ->
 * irqfd -> ioeventfd -> user function (ticket + IO handler) -> IO handler ->
 * ticket -> start -> run (guest: handler write, ioeventfd write, exit to
 * caller) -> ticket added while running -> remove irqfd -> destroy ->
 * unregister type.
 */
ScenarioResult run_scenario();

/*
 * Name of the step run_scenario() is executing now ("teardown" while it
 * destroys the VM and unregisters its type, "" outside a run), so a fault
 * injector can tell which call its failure belongs to. Thread-safe.
 */
const char *scenario_current_step();

} /* namespace hvt */

#endif
