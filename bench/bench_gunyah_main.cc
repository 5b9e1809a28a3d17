/* SPDX-License-Identifier: MIT */
/* bench/bench_gunyah_main.cc: hvabs-bench-gunyah entry - the gunyah cases in their own process (the emulator's seccomp filter stays for the process's life). */
#include "bench.h"

int main(int argc, char **argv)
{
	if (hb::parse_options(&argc, argv))
		return 2;
	hb::raise_fd_limit();
	benchmark::AddCustomContext("hvabs_version", hvabs_version_string());
	benchmark::AddCustomContext("hvabs_mode", hb::opts.smoke ? "smoke" : "full");
	hb::register_gunyah();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
