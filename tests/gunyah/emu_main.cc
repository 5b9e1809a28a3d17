/* SPDX-License-Identifier: MIT */
/* tests/gunyah/emu_main.cc: starts the /dev/gunyah emulator once (ABI from $HVABS_GUNYAH_TEST_ABI), then runs the tests. */
#include "emu_fixture.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define GY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GY_ASAN 1
#endif
#endif

/*
 * LeakSanitizer's exit check stops the process with a ptrace tracer whose own
 * syscalls the seccomp filter traps to the (stopped) supervisor: a deadlock.
 * Run again with leak detection off (the last ASAN_OPTIONS setting wins);
 * the tests check hvabs_alloc_count() and the emulated kernel's objects.
 */
static void gy_no_leak_check(char **argv)
{
#ifdef GY_ASAN
	const char *o = getenv("ASAN_OPTIONS");
	std::string opts;

	if (o && strstr(o, "detect_leaks=0") && !strstr(strstr(o, "detect_leaks=0") + 1, "detect_leaks"))
		return;
	opts = o ? std::string(o) + ":detect_leaks=0" : "detect_leaks=0";
	setenv("ASAN_OPTIONS", opts.c_str(), 1);
	execv("/proc/self/exe", argv);
#else
	(void)argv;
#endif
}

int main(int argc, char **argv)
{
	hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	int ret;

	gy_no_leak_check(argv);
	::testing::InitGoogleTest(&argc, argv);
	if (::testing::GTEST_FLAG(list_tests))
		return RUN_ALL_TESTS(); /* test discovery: no emulator */
	cfg.abi = gy::abi().c_str();
	cfg.device = "/dev/gunyah";
	cfg.log = getenv("HVABS_GUNYAH_TEST_LOG") != nullptr;
	/* The backend's default ABI follows the emulator's; tests name it anyway. */
	setenv("HVABS_GUNYAH_ABI", cfg.abi, 1);
	ret = hvabs_gunyah_emu_start(&cfg);
	if (ret) {
		fprintf(stderr, "hvabs_gunyah_emu_start(abi %s): %s\n", cfg.abi, hvabs_err_name(ret));
		return 1;
	}
	return RUN_ALL_TESTS();
}
