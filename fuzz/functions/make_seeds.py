#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fuzz/functions/make_seeds.py: writes the hand-made seed inputs of hvabs_fuzz_functions to fuzz/corpus/functions/.
"""Each seed is a header byte and a list of operations, encoded exactly as
fuzz_functions.c decodes them (see its OP_* enum and the build_* helpers).
Run: fuzz/functions/make_seeds.py [OUTDIR]   (default: fuzz/corpus/functions)
Check what a seed does: FZ_TRACE=1 build-fz-*/fuzz/functions/hvabs_fuzz_functions SEED
"""
import os
import struct
import sys

(OP_ADD_VCPU, OP_ADD_IRQFD, OP_ADD_IOEVENTFD, OP_ADD_USER, OP_REMOVE_KEY, OP_REMOVE_HANDLE,
 OP_START, OP_MEM_ADD, OP_STOP, OP_DESTROY, OP_TYPE_REG, OP_TYPE_UNREG, OP_TYPE_REG_CUSTOM) = range(13)

# fd choices (pick_fd: bit 7 selects among all eight, else among the four eventfds)
EFD0, EFD1, EFD2, EFD3 = 0, 1, 2, 3
NEG, CLOSED, PIPE, NULLDEV = 0x84, 0x85, 0x86, 0x87

# user type choices (op_add_user: index % 8)
U1, U2, U3, UNREG, TYPE0, TYPE4 = 0, 2, 3, 4, 5, 6
MODE_FAIL, MODE_TICKET, MODE_HANDLER, MODE_RAW = 0, 1, 2, 3


def hdr(nr_vcpus=None):
    return bytes([0x80 | nr_vcpus]) if nr_vcpus is not None else b"\x00"


def vcpu(vid, typed=True, size=None):
    """vCPU id 0..7 (or 0..127 with bit 7: ids >= 64 are EINVAL)."""
    b = bytes([OP_ADD_VCPU, int(typed), 0x80 if size is not None else 0])
    b += bytes([vid if vid < 8 else 0x80 | vid])
    if size is not None:
        b += struct.pack("<H", size)
    return b


def irqfd(fd, label, flags=0, resample=None, typed=True):
    """flags: LEVEL 1, RESAMPLE 2; resample None means -1."""
    f = (flags & 3) | (0x40 if resample is None else 0)
    b = bytes([OP_ADD_IRQFD, int(typed), 0, f, fd])
    b += bytes([label]) if label < 8 else bytes([0x80]) + struct.pack("<I", label)
    if resample is not None:
        b += bytes([resample])
    return b


def addr_code(kind, k=0):
    """pick_addr: 'win' 0x1000+k (k<4), 'pio' 0xfff8+k, 'top' UINT64_MAX-k, 'low' k."""
    return bytes([{"win": 0, "pio": 3, "top": 4, "low": 5}[kind] | (k << 3)])


def ioeventfd(fd, kind, k=0, lenidx=3, space=0, dm=None, typed=True):
    """lenidx into {0,1,2,4,8,3,16,4}; dm: datamatch value (sets DATAMATCH)."""
    f = (space & 1) | (lenidx << 3) | (0x80 if dm is not None else 0) | (0x20 if dm is not None else 0)
    b = bytes([OP_ADD_IOEVENTFD, int(typed), 0, f]) + addr_code(kind, k) + bytes([fd])
    if dm is not None:
        b += bytes([1])
    # bit 5 of f (also a bit of the width index) selects a 64-bit datamatch
    b += struct.pack("<Q", dm or 0) if f & 0x20 else bytes([0])
    return b


def user(tindex, mode, b1=0, b2=None, label=0, size16=True, null=False, size=None, raw0=0):
    """A user-type add; size16: 16-byte argument, else 4 bytes; size: any size 0..300."""
    m = mode | (0x80 if b2 is not None else 0)
    if size is not None:
        sz = bytes([0x80]) + struct.pack("<H", size)
    else:
        sz = bytes([1 if size16 else 4])
    b = bytes([OP_ADD_USER, tindex, 0xF1 if null else 0]) + sz[:1] + bytes([m, 0x5a]) + sz[1:]
    if mode >= 3:
        b += bytes([raw0])
    b += bytes([b1])
    if b2 is not None:
        b += bytes([b2])
    b += bytes([label])
    return b


def remove_inst(idx, alter=None):
    """Remove by a key taken from live instance idx (alter: flip a bit of byte alter)."""
    if alter is None:
        return bytes([OP_REMOVE_KEY, 0, idx])
    return bytes([OP_REMOVE_KEY, 0x40, idx, alter])


def remove_handle(idx):
    return bytes([OP_REMOVE_HANDLE, idx])


START, MEM, DESTROY = bytes([OP_START]), bytes([OP_MEM_ADD]), bytes([OP_DESTROY])


def stop(crashed=False):
    return bytes([OP_STOP, int(crashed)])


def reg(t):
    return bytes([OP_TYPE_REG, t])


def unreg(i):
    """i: 0 U1, 1 U2, 2 U3, 4 unknown, 5 vCPU (built-in), 7 type 0."""
    return bytes([OP_TYPE_UNREG, i])


def reg_custom(b):
    return bytes([OP_TYPE_REG_CUSTOM, b])


SEEDS = {
    "vcpus": hdr() + MEM + vcpu(0) + vcpu(1, typed=False) + vcpu(0) + vcpu(100) + vcpu(2, size=8)
    + START + vcpu(3) + remove_inst(1) + remove_handle(0) + remove_inst(0),
    "vcpus-fixed-count": hdr(2) + MEM + vcpu(0) + vcpu(5) + START + vcpu(1) + vcpu(6) + remove_inst(0)
    + vcpu(0),
    "irqfds": hdr() + MEM + irqfd(EFD0, 1, flags=1) + irqfd(EFD1, 1) + irqfd(PIPE, 2)
    + irqfd(NULLDEV, 2) + irqfd(CLOSED, 2) + irqfd(NEG, 2) + irqfd(EFD1, 3, flags=3, resample=EFD2)
    + irqfd(EFD1, 4, flags=2, resample=EFD2) + START + irqfd(EFD0, 5) + irqfd(EFD3, 0x1234)
    + remove_inst(0) + irqfd(EFD0, 5, typed=False) + remove_inst(1, alter=0),
    "irqfd-shared-fd-start": hdr() + MEM + irqfd(EFD0, 1) + irqfd(EFD0, 2) + START + irqfd(EFD1, 3),
    "ioeventfds": hdr() + ioeventfd(EFD0, "win", 0) + ioeventfd(EFD1, "win", 0)
    + ioeventfd(EFD1, "win", 1, lenidx=2) + ioeventfd(EFD2, "win", 1, lenidx=3, dm=5)
    + ioeventfd(EFD2, "win", 1, lenidx=3, dm=6) + ioeventfd(EFD3, "pio", 7, lenidx=3, space=1)
    + ioeventfd(EFD3, "top", 0, lenidx=4) + ioeventfd(PIPE, "win", 2) + ioeventfd(EFD0, "win", 3, lenidx=5)
    + remove_inst(3) + remove_inst(2, alter=16) + remove_handle(0),
    "user-types": hdr() + user(U1, MODE_RAW) + user(U1, MODE_FAIL, b1=9)
    + user(U1, MODE_TICKET, b1=1, label=2) + irqfd(EFD0, 2) + user(U1, MODE_HANDLER)
    + ioeventfd(EFD1, "win", 0) + user(U2, MODE_RAW, raw0=7) + user(U2, MODE_RAW, raw0=7, size16=False)
    + user(U1, MODE_RAW, size=300) + user(U1, MODE_RAW, size=256) + user(U1, MODE_RAW, null=True)
    + user(U3, MODE_RAW) + user(UNREG, MODE_RAW) + user(TYPE4, MODE_RAW) + remove_inst(4)
    + remove_inst(0) + MEM + START + user(U1, MODE_TICKET, b1=0, b2=4, label=3) + DESTROY + user(U1, MODE_RAW),
    "registry": hdr() + user(U1, MODE_RAW) + unreg(0) + remove_handle(0) + unreg(0) + user(U1, MODE_RAW)
    + reg(0) + reg(0) + unreg(4) + unreg(5) + unreg(7) + reg_custom(0x00) + reg_custom(0x03)
    + reg_custom(0x14) + reg_custom(0x08) + user(U3, MODE_RAW) + unreg(2) + remove_handle(0) + unreg(2),
    "states": hdr() + vcpu(0) + START + vcpu(1) + irqfd(EFD0, 1) + remove_handle(0) + MEM + DESTROY
    + vcpu(2) + START,
    "stop": hdr() + MEM + vcpu(0) + user(U1, MODE_TICKET, b1=0, label=3) + START + stop(True)
    + vcpu(1) + remove_handle(0) + START + DESTROY + remove_inst(0),
    "ticket-refusal-start": hdr() + MEM + vcpu(0) + user(U1, MODE_TICKET, b1=2, b2=5, label=1) + START
    + vcpu(1) + remove_handle(1),
}

# Regression inputs of findings (hand-made equivalents of the crash inputs, which the decoder
# has since changed; fuzz/corpus/functions/regress-*-crash are the original inputs that still
# decode to the same operations).
REGRESS = {
    # core/function.c: memcmp(fn->arg, NULL, 0) when a compare-less type is removed by a NULL key
    "null-key-remove": hdr() + user(U1, MODE_RAW, null=True) + bytes([OP_REMOVE_KEY, 0x18, 0]),
    # core/fn_builtin.c: a pipe, /dev/null or other non-eventfd fd was accepted
    "not-eventfd-fd": hdr() + irqfd(PIPE, 1) + irqfd(EFD0, 2, flags=3, resample=NULLDEV)
    + ioeventfd(NULLDEV, "win", 0),
    # core/function.c, core/resource.c: a refused bind/populate left no error detail of its own
    "callback-code-detail": hdr() + user(U1, MODE_FAIL, b1=11) + MEM + START
    + user(U1, MODE_TICKET, b1=0, b2=8, label=1),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "functions")
    os.makedirs(out, exist_ok=True)
    for prefix, table in (("seed-", SEEDS), ("regress-", REGRESS)):
        for name, data in table.items():
            with open(os.path.join(out, prefix + name), "wb") as f:
                f.write(data)
    print(f"{len(SEEDS)} seeds, {len(REGRESS)} regression inputs in {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
