/* SPDX-License-Identifier: MIT */
/* bench/bench_main.cc: hvabs-bench entry - own options, case registration, Google Benchmark run. */
#include "bench.h"

int main(int argc, char **argv)
{
	if (hb::parse_options(&argc, argv))
		return 2;
	hb::raise_fd_limit();
	benchmark::AddCustomContext("hvabs_version", hvabs_version_string());
	benchmark::AddCustomContext("hvabs_mode", hb::opts.smoke ? "smoke" : "full");
	hb::register_dispatch();
	hb::register_irq();
	hb::register_control();
	hb::register_memory();
	hb::register_unicorn();
	hb::register_kvm();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
