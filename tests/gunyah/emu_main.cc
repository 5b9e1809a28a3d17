/* SPDX-License-Identifier: MIT */
/* tests/gunyah/emu_main.cc: starts the /dev/gunyah emulator once (ABI from $HVABS_GUNYAH_TEST_ABI), then runs the tests. */
#include "emu_fixture.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv)
{
	hvabs_gunyah_emu_config cfg = HVABS_GUNYAH_EMU_CONFIG_INIT;
	int ret;

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
