#!/bin/sh
# tests/sweep/selftest.sh: hvabs_sweep must catch each failure class - runs it on a fake conformance binary whose points misbehave on purpose.
# Usage: selftest.sh HVABS_SWEEP_BINARY
set -u
driver=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The fake binary: one test with six allocation points; point k misbehaves as listed below.
cat >"$dir/fake" <<'EOF'
#!/bin/sh
case "$1" in
--gtest_list_tests) printf 'Backends/BackendTest.\n  Fake/sim  # GetParam() = "sim"\n'; exit 0 ;;
esac
ok='fired=1	expect=-5	call=hvabs_vm_create	void=0	ret=-5	code=-5	ebackend=core	emsg=out of memory	ambiguous=0	retried=0'
clean='usable=ok	alloc_base=0	alloc_end=0	fd_base=5	fd_end=5	backend_left=-	vms_left=0	types_left=0'
head="test=Backends/BackendTest.Fake/sim	spec=$HVABS_SWEEP	state=ran	backend=sim	kinds=alloc"
case "$HVABS_SWEEP" in
count:*) rec="$head	counts=alloc.alloc=7	fired=0	expect=0	$clean" ;;
alloc:alloc:1) rec="$head	counts=alloc.alloc=7	$ok	$clean" ;;
alloc:alloc:2) rec="$head	counts=alloc.alloc=7	$ok	usable=ok	alloc_base=0	alloc_end=1	fd_base=5	fd_end=5	backend_left=-" ;;
alloc:alloc:3) rec="$head	counts=alloc.alloc=7	fired=1	expect=-5	call=hvabs_vm_mem_add	void=0	ret=0	code=-5	emsg=x	ambiguous=0	retried=0	$clean" ;;
alloc:alloc:4) kill -SEGV $$ ;;
alloc:alloc:5) rec="$head	counts=alloc.alloc=7	$ok	usable=io_handler_add in LOAD: HVABS_EIO	alloc_base=0	alloc_end=0	fd_base=5	fd_end=5	backend_left=-" ;;
alloc:alloc:6) rec="$head	counts=alloc.alloc=7	fired=1	expect=-5	call=hvabs_vm_start	void=0	ret=-5	code=-6	emsg=other	ambiguous=0	retried=0	$clean" ;;
alloc:alloc:7) rec="$head	counts=alloc.alloc=7	$ok	usable=ok	alloc_base=0	alloc_end=0	fd_base=5	fd_end=6	backend_left=-" ;;
esac
printf '%s\n' "$rec" >>"$HVABS_SWEEP_OUT"
exit 1 # the test's own assertions failed: not a crash
EOF
chmod +x "$dir/fake"

out=$("$driver" --bin "$dir/fake" --kind alloc --out "$dir/out" 2>&1)
status=$?
fail=0
expect() {
	if ! printf '%s\n' "$out" | grep -q -- "$1"; then
		echo "selftest: expected '$1' in the driver's output"
		fail=1
	fi
}
expect 'FAIL leak: .* alloc:alloc:2'
expect 'FAIL swallowed: .* alloc:alloc:3'
expect 'FAIL signal-Segmentation fault,no-record: .* alloc:alloc:4'
expect 'FAIL unusable: .* alloc:alloc:5'
expect 'FAIL bad-detail: .* alloc:alloc:6'
expect 'FAIL fd-leak: .* alloc:alloc:7'
expect '7 injection points found, 7 swept'
expect '1 passed, 6 failed'
if [ "$status" -ne 1 ]; then
	echo "selftest: driver exit status $status, expected 1"
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	printf '%s\n' "$out"
	exit 1
fi
echo "selftest: hvabs_sweep reported every planted failure"
