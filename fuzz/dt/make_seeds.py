#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fuzz/dt/make_seeds.py: writes fuzz/corpus/dt/ - builder seeds (the harness's HVABS_FZ_DT_GEN mode) and dtc-compiled edge cases.
"""Usage: fuzz/dt/make_seeds.py BUILD_DIR/fuzz/dt/hvabs_fuzz_dt [OUT_DIR]

Input format (fuzz_dt.c): byte 0 even = builder configuration, odd = raw DTB
(byte 1 then sets the backend reader's array capacities, the DTB follows).
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "corpus", "dt")

# The devicetree docs/gunyah-emulator.md documents as accepted, plus variants
# that each reader must reject or read differently.
DOC = """/dts-v1/;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	cpus {
		#address-cells = <1>;
		#size-cells = <0>;
		cpu@0 { device_type = "cpu"; reg = <0>; };
		cpu@1 { device_type = "cpu"; reg = <1>; };
	};
	gunyah-vm-config {
		image-name = "my-vm";
		os-type = "linux";
		memory {
			#address-cells = <2>;
			#size-cells = <2>;
			base-address = <0x0 0x80000000>;
			size-min = <0x0 0x200000>;
		};
		vcpus { affinity = "proxy"; };
		vdevices {
			generate = "/hypervisor";
			bell-5 {
				vdevice-type = "doorbell";
				generate = "/hypervisor/bell-5";
				label = <5>;
				peer-default;
				interrupts = <0 5 1>;
			};
		};
	};
};
"""

VARIANTS = {
    "doc": DOC,
    # 1-cell numbers (the RM accepts, the backend reader wants 8 bytes)
    "one-cell-memory": DOC.replace("<0x0 0x80000000>", "<0x80000000>").replace("<0x0 0x200000>", "<0x200000>"),
    # two-cell reg for a cpu
    "two-cell-reg": DOC.replace("reg = <1>", "reg = <0 1>"),
    # string lists: "cpu" followed by more strings
    "stringlist-cpu": DOC.replace('cpu@1 { device_type = "cpu"', 'cpu@1 { device_type = "cpu", "x"'),
    "stringlist-doorbell": DOC.replace('vdevice-type = "doorbell"', 'vdevice-type = "doorbell", "y"'),
    "dup-cpu": DOC.replace("reg = <1>", "reg = <0>"),
    "cpu-64": DOC.replace("reg = <1>", "reg = <64>"),
    "no-cpus": DOC.replace('device_type = "cpu"', 'device_type = "cpux"'),
    "size-min-0": DOC.replace("<0x0 0x200000>", "<0x0 0x0>"),
    "no-affinity": DOC.replace('affinity = "proxy"', 'affinity = "pinned"'),
    "label-2-cells": DOC.replace("label = <5>", "label = <1 5>"),
    "image-name-not-string": DOC.replace('image-name = "my-vm"', "image-name = [6d 79]"),
    "empty-reg": DOC.replace("reg = <1>", "reg"),
    "no-config": DOC.split("gunyah-vm-config")[0] + "};\n",
}


def dtc(src):
    return subprocess.run(["dtc", "-I", "dts", "-O", "dtb", "-q"], input=src.encode(),
                          stdout=subprocess.PIPE, check=True).stdout


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    global OUT
    if len(sys.argv) > 2:
        OUT = sys.argv[2]
    os.makedirs(OUT, exist_ok=True)
    env = dict(os.environ, HVABS_FZ_DT_GEN=OUT, ASAN_OPTIONS="detect_leaks=0")
    subprocess.run([sys.argv[1]], env=env, check=True)
    for name, src in VARIANTS.items():
        write("dts-" + name, bytes([1, 0x44]) + dtc(src))
    blob = dtc(DOC)
    # Edge cases: empty, a header only, truncated, totalsize larger than the data, bad magic.
    write("edge-empty-config", bytes([0]))
    write("edge-empty-blob", bytes([1, 0]))
    write("edge-header-only", bytes([1, 0]) + blob[:40])
    write("edge-truncated", bytes([1, 0]) + blob[: len(blob) // 2])
    big = bytearray(blob)
    big[4:8] = (len(blob) + 64).to_bytes(4, "big")
    write("edge-totalsize-large", bytes([1, 0]) + bytes(big))
    bad = bytearray(blob)
    bad[0] ^= 0xff
    write("edge-bad-magic", bytes([1, 0]) + bytes(bad))


if __name__ == "__main__":
    main()
