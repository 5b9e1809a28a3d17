#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fuzz/gunyah_emu/make_seeds.py: writes the seed inputs of hvabs_fuzz_gunyah_emu_v10/_v14 (op programs, fuzz_gunyah_emu.c format).
"""Usage: fuzz/gunyah_emu/make_seeds.py   (writes fuzz/corpus/gunyah_emu_v10 and _v14)

Each input is a list of operations: an op byte (F_* in fuzz_gunyah_emu.c)
and its operand bytes. The same bytes are valid programs for both ABIs (a
v10 vCPU's by-value id sits where v14's id byte does).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
(OPEN, CREATE_VM, SET_REGION, SET_DTB, START, ADD_FN, REMOVE_FN, RUN, MMAP_SIZE, RANDOM, CLOSE,
 DUP, MAP, FAULT, POKE, GUEST, EVENTFD, CHECK) = range(18)

DEV, VM, VCPU, EFD = 0, 1, 2, 3  # slots in order of creation in the programs below


def open_dev():
    return [OPEN, 0]


def create_vm(dev=DEV):
    return [CREATE_VM, dev, 0]


def region(vm=VM, ps=0):
    # label 0, flags RWX, gpa 0x80000000, size = the arena, host = the arena
    return [SET_REGION, vm, ps, 0, 0, 2, 0]


def dtb(vm=VM, which=0, ps=0):
    return [SET_DTB, vm, ps, which]


def start(vm=VM):
    return [START, vm, 0]


def add_vcpu(vm=VM, vid=0):
    # ps, type 1, natural size, id (v14) / by-value id (v10), descriptor in the small buffer
    return [ADD_FN, vm, 0, 1, 0, vid, 0]


def remove_vcpu(vm=VM, vid=0):
    return [REMOVE_FN, vm, 0, 1, 0, vid, 0]


def add_irqfd(vm=VM, label=5, efd_slot=EFD):
    return [ADD_FN, vm, 0, 2, 0, label, efd_slot << 3, 0]


def add_ioeventfd(vm=VM, addr_idx=0, len_sel=3, efd_slot=EFD):
    return [ADD_FN, vm, 0, 3, 0, addr_idx, len_sel, efd_slot << 3, 0]


def run(slot=VCPU, imm=0):
    return [RUN, slot, imm]


def guest(*steps):
    out = [GUEST, len(steps)]
    for s in steps:
        out += list(s)
    return out


def booted():
    return open_dev() + create_vm() + region() + dtb() + add_vcpu() + start()


SEEDS = {
    "boot-run": booted() + [MAP, VCPU] + run() + run() + run() + run() + [CHECK],
    "boot-run-unmapped": booted() + run() + run() + run() + start(),
    "irqfd-ioeventfd": open_dev() + create_vm() + region() + dtb() + add_vcpu() + [EVENTFD, 7]
    + add_irqfd() + add_ioeventfd() + start() + [EVENTFD, EFD, MAP, VCPU] + run() + run()
    + [CHECK],
    "immediate-exit": booted() + [MAP, VCPU] + run(imm=1) + run() + [CHECK],
    "remove-while-running": booted() + [MAP, VCPU] + run() + remove_vcpu() + run() + [CHECK],
    "close-vm-keep-vcpu": booted() + [CLOSE, VM] + run() + [CHECK] + [CLOSE, VCPU, CHECK],
    "dup-close": booted() + [DUP, VM, CLOSE, VM, CHECK, MAP, VCPU, CLOSE, VCPU, CHECK],
    "dtb-b-two-vcpus": open_dev() + create_vm() + region() + dtb(which=1) + add_vcpu()
    + add_vcpu(vid=1) + start() + [MAP, VCPU] + run() + [MAP, 3] + run(slot=3) + [CHECK],
    "fault-start": open_dev() + create_vm() + region() + dtb() + add_vcpu() + [FAULT, 4, 0]
    + start() + [MAP, VCPU] + run() + start() + [CHECK],
    "fault-run-mmap": booted() + [FAULT, 7, 1, FAULT, 8, 2, MMAP_SIZE, VCPU] + run() + run(),
    "wrong-fds": open_dev() + create_vm() + add_vcpu() + [RANDOM, DEV, 0, 0, 0, RANDOM, VM, 3, 0x40, 0,
                                                         RANDOM, VCPU, 1, 0x41, 0]
    + start(DEV) + [MMAP_SIZE, VM] + run(VM) + create_vm(VM) + create_vm(VCPU),
    "bad-pointers": open_dev() + create_vm() + region(ps=4) + region(ps=5) + region(ps=3)
    + dtb(ps=6) + dtb(ps=1) + [CHECK],
    "poke-dtb": open_dev() + create_vm() + region() + dtb() + [POKE, 0x20, 0, 1, 0xff] + add_vcpu()
    + start() + run(),
    "guest-program": guest((0, 0, 2, 1), (2, 1, 3, 9), (1, 2, 3, 0), (6, 1, 7, 4)) + booted()
    + [MAP, VCPU] + run() + run() + run() + run() + run(),
    "two-vms": booted() + create_vm() + region(vm=3) + [CLOSE, VM, CHECK],
    # a DTB region without access bits: the sim VM has no memory, START is -EINVAL
    "start-region-no-access": open_dev() + create_vm() + [SET_REGION, VM, 0, 0x1c, 0, 2, 0] + dtb()
    + add_vcpu() + start() + run(),
    # a second region at 2^48: past the sim engine's address space, START is -EOPNOTSUPP
    "start-beyond-48-bits": open_dev() + create_vm() + region()
    + [SET_REGION, VM, 0, 1, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 8] + dtb() + add_vcpu() + start() + run(),
    "region-v10-delete": open_dev() + create_vm() + region() + [SET_REGION, VM, 0, 0, 0, 3, 0]
    + region() + [CHECK],
}


def main():
    for abi in ("v10", "v14"):
        out = os.path.join(HERE, "..", "corpus", "gunyah_emu_" + abi)
        os.makedirs(out, exist_ok=True)
        for name, prog in SEEDS.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(bytes(prog))


if __name__ == "__main__":
    main()
