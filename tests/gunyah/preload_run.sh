#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/gunyah/preload_run.sh: hvabs-run on gunyah, with the /dev/gunyah emulator preloaded, prints what it prints on sim and exits alike.
#
# Usage: preload_run.sh HVABS_RUN EMU_LIB IMAGE ABI
# The emulator starts in the process it is preloaded into, so LD_PRELOAD is
# set by env inside timeout, never for timeout itself. The backend's ABI
# ($HVABS_GUNYAH_ABI) must match the emulated kernel's ($HVABS_GUNYAH_EMU_ABI).
set -u
run=$1 emu=$2 image=$3 abi=$4
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT

timeout 60 "$run" --backend sim --arch arm64 "$image" >"$dir/sim.out" 2>"$dir/sim.err"
sim_rc=$?
timeout 60 env LD_PRELOAD="$emu" HVABS_GUNYAH_EMU_ABI="$abi" HVABS_GUNYAH_ABI="$abi" \
	"$run" --backend gunyah --arch arm64 "$image" >"$dir/gunyah.out" 2>"$dir/gunyah.err"
gunyah_rc=$?

fail=0
if [ "$sim_rc" -ne 0 ] || [ ! -s "$dir/sim.out" ]; then
	echo "reference run on sim failed (exit $sim_rc) or printed nothing:"
	cat "$dir/sim.err"
	fail=1
fi
if [ "$gunyah_rc" -ne "$sim_rc" ]; then
	echo "exit status: gunyah $abi $gunyah_rc, sim $sim_rc"
	fail=1
fi
if ! cmp -s "$dir/sim.out" "$dir/gunyah.out"; then
	echo "guest output differs (sim, then gunyah $abi):"
	od -c "$dir/sim.out" | head -n 20
	od -c "$dir/gunyah.out" | head -n 20
	fail=1
fi
if ! grep -q "^hvabs-run: backend gunyah, arm64" "$dir/gunyah.err"; then
	echo "the gunyah run did not run on gunyah:"
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "--- gunyah $abi stderr:"
	cat "$dir/gunyah.err"
	exit 1
fi
printf 'gunyah %s: exit %d, %s bytes of guest output as on sim\n' "$abi" "$gunyah_rc" \
	"$(wc -c <"$dir/gunyah.out")"
