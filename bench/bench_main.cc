/* SPDX-License-Identifier: MIT */
/* bench/bench_main.cc: hvabs-bench entry - own options, case registration, Google Benchmark run. */
#include "bench.h"

#include <cstring>
#include <sys/resource.h>

namespace {

void usage_extra()
{
	fprintf(stderr, "hvabs-bench options (besides Google Benchmark's):\n"
			"  --hvabs_smoke          few iterations (checks that every case runs)\n"
			"  --hvabs_raw_dir=DIR    write raw samples to DIR/<case>.txt\n");
}

/* Take our options out of argv before Google Benchmark parses the rest. */
int parse(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--hvabs_smoke"))
			hb::opts.smoke = true;
		else if (!strncmp(a, "--hvabs_raw_dir=", 16))
			hb::opts.raw_dir = a + 16;
		else if (!strcmp(a, "--hvabs_help"))
			return usage_extra(), 1;
		else
			argv[out++] = argv[i];
	}
	*argc = out;
	return 0;
}

/* irqfd memory cases and 1,000 VMs need more fds than a default soft limit may allow. */
void raise_fd_limit()
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

} /* namespace */

int main(int argc, char **argv)
{
	if (parse(&argc, argv))
		return 2;
	raise_fd_limit();
	benchmark::AddCustomContext("hvabs_version", hvabs_version_string());
	benchmark::AddCustomContext("hvabs_mode", hb::opts.smoke ? "smoke" : "full");
	hb::register_dispatch();
	hb::register_irq();
	hb::register_control();
	hb::register_memory();
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
