#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# bench/report.py: turn hvabs-bench's and hvabs-bench-gunyah's Google Benchmark JSON into latest.json, docs/benchmarks.md and plots (stdlib only).
"""Usage:
  report.py build --run DIR [--run DIR ...] --json OUT.json [--md OUT.md] [--img-dir DIR]
            [--command CMD] [--load-before L] [--load-after L] [--stat-before LINE]
            [--stat-after LINE] [--own-cpu SECONDS] [--smoke]
      Each DIR holds one run: gbench-*.json (Google Benchmark output of hvabs-bench
      and hvabs-bench-gunyah), the raw samples and skipped.txt ("backend: why" for
      backends whose cases did not run). With several runs, each case's record is taken from the
      run with the middle median (all runs' medians are listed in the markdown).
  report.py check OUT.json      validate latest.json's shape (no timing is asserted)
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys

FIELDS = ["backend", "case", "unit", "median", "p99", "p999", "floor_median", "ratio"]

# What profiling found where a target is missed (shown only while it is missed).
MISSED_WHY = {
    "mem_vcpu": "a vCPU is more than bookkeeping: the core object carries the exit record, per-reason "
                "exit statistics, the IO-table announcement and the last-hit cache (40 B, which made "
                "`dispatch_fixed_h100000` as fast as one handler), and sim adds its 192 B of run state; "
                "the function, ticket and resource that every function type has come on top. Shrinking "
                "it below 256 B would mean moving the exit record out of the object, a cost on every run.",
    "mem_irqfd": "five blocks: function 80 B (64 B header + the 16 B argument copy), ticket 80 B, the "
                 "doorbell resource 56 B, sim's line 48 B and irqfd 40 B. The three core objects are the "
                 "generic VM-function, ticket and resource model of the seed; folding sim's irqfd into its "
                 "line (one irqfd per doorbell label) would save about 24 B, not 48 B.",
    "throughput_2vcpu": "noisy on this 2-core machine: separate runs of the same build give 1.72-2.01x "
                        "(median about 1.85x); the vCPU run path takes no shared lock and no shared "
                        "cache line is written per access (padding the vCPU objects apart changed nothing).",
    "unicorn_x86_mmio_handler": "the remaining cost is the engine's per-instruction code hook (about 7 ns per "
                                "access of the guest loop), which keeps exact PCs for "
                                "HLT detection, the STI shadow, soft interrupts and faults, and flushes held "
                                "4-byte writes. Removing it needs another source of the PC at a stop.",
}

# What each case measures and what its floor/ratio are (longest matching prefix wins).
CASES = [
    # ---- sim with Unicorn guests ----
    ("unicorn_floor_bare_x86_mmio", "the same guest (tests/guests mmio_loop-x86, long mode) on a bare Unicorn instance: uc_mmio_map write callback that only counts", "-", "-"),
    ("unicorn_floor_bare_arm64_mmio", "the same guest (mmio_loop-arm64) on a bare Unicorn instance: uc_mmio_map write callback that only counts", "-", "-"),
    ("unicorn_x86_mmio_handler", "sim Unicorn guest (mmio_loop-x86): 32-bit MMIO write to the doorbell, served by a counting IO handler, guest resumes", "unicorn_floor_bare_x86_mmio, same rounds", "median / floor"),
    ("unicorn_arm64_mmio_handler", "sim Unicorn guest (mmio_loop-arm64): 32-bit store to the doorbell, served by a counting IO handler, guest resumes", "unicorn_floor_bare_arm64_mmio, same rounds", "median / floor"),
    ("unicorn_floor_bare_x86_mmio_read", "the same read loop (bench/guests/uc_mmio_read-x86, long mode) on a bare Unicorn instance: uc_mmio_map read callback that only counts", "-", "-"),
    ("unicorn_floor_bare_arm64_mmio_read", "the same read loop (uc_mmio_read-arm64) on a bare Unicorn instance: uc_mmio_map read callback that only counts", "-", "-"),
    ("unicorn_x86_mmio_read_handler", "sim Unicorn guest (bench/guests/uc_mmio_read-x86): 32-bit MMIO read of the doorbell address, served by a counting IO handler (value 0), guest resumes", "unicorn_floor_bare_x86_mmio_read, same rounds", "median / floor"),
    ("unicorn_arm64_mmio_read_handler", "sim Unicorn guest (uc_mmio_read-arm64): 32-bit load from the doorbell address, served by a counting IO handler, guest resumes", "unicorn_floor_bare_arm64_mmio_read, same rounds", "median / floor"),
    ("unicorn_x86_doorbell_handler", "sim Unicorn guest (bench/guests/uc_doorbell-x86): rounds of 64 doorbell writes + 1 tick write, the doorbell served by a counting IO handler; round time (stamped in the tick's handler) / 64", "-", "-"),
    ("unicorn_arm64_doorbell_handler", "the same with uc_doorbell-arm64", "-", "-"),
    ("unicorn_x86_doorbell_ioeventfd", "the same guest with the doorbell an ioeventfd (sim: core's generic ioeventfd, an eventfd write per guest write), alternating runs", "unicorn_x86_doorbell_handler, same rounds", "median / handler median"),
    ("unicorn_arm64_doorbell_ioeventfd", "the same with uc_doorbell-arm64", "unicorn_arm64_doorbell_handler, same rounds", "median / handler median"),
    ("unicorn_floor_eventfd_wakeup_", "eventfd write -> a thread blocked in read() wakes (one kernel wake-up), measured next to the case", "-", "-"),
    ("unicorn_x86_irqfd_wake", "eventfd write (irqfd) -> halted Unicorn vCPU (irq_edge-x86: sti; hlt) wakes, takes the interrupt, its report reaches an IO handler", "unicorn_floor_eventfd_wakeup_x86", "median / floor"),
    ("unicorn_arm64_irqfd_wake", "eventfd write (irqfd) -> Unicorn vCPU in WFI (irq_edge-arm64) wakes, takes the IRQ, its report reaches an IO handler", "unicorn_floor_eventfd_wakeup_arm64", "median / floor"),
    ("unicorn_floor_bare_x86_lifecycle", "a bare Unicorn instance: uc_open, RAM (calloc) and MMIO maps, run mmio_loop-x86 (arg0 0) to its end, uc_close", "-", "-"),
    ("unicorn_floor_bare_arm64_lifecycle", "the same with mmio_loop-arm64", "-", "-"),
    ("unicorn_x86_vm_lifecycle", "a sim VM with 1 Unicorn vCPU: create, RAM, boot setup, vCPU, start, run mmio_loop-x86 (arg0 0) to its exit-device write, destroy", "unicorn_floor_bare_x86_lifecycle, same rounds", "median / floor"),
    ("unicorn_arm64_vm_lifecycle", "the same with mmio_loop-arm64", "unicorn_floor_bare_arm64_lifecycle, same rounds", "median / floor"),
    ("unicorn_x86_vm_create_start", "part of unicorn_x86_vm_lifecycle: create .. start", "-", "-"),
    ("unicorn_arm64_vm_create_start", "part of unicorn_arm64_vm_lifecycle: create .. start", "-", "-"),
    ("unicorn_x86_vm_run_to_exit", "part of unicorn_x86_vm_lifecycle: the two runs (report exit, exit-device exit), incl. the engine's first translation", "-", "-"),
    ("unicorn_arm64_vm_run_to_exit", "part of unicorn_arm64_vm_lifecycle: the two runs (report exit, exit-device exit)", "-", "-"),
    ("unicorn_x86_vm_destroy", "part of unicorn_x86_vm_lifecycle: hvabs_vm_destroy", "-", "-"),
    ("unicorn_arm64_vm_destroy", "part of unicorn_arm64_vm_lifecycle: hvabs_vm_destroy", "-", "-"),
    # ---- KVM ----
    ("kvm_floor_raw_mmio_exit", "raw KVM_RUN loop without hvabs (same VM setup as the backend: TSS, PIC+IOAPIC, CPUID, one memslot, real mode): guest MMIO write -> KVM_EXIT_MMIO -> indirect call -> KVM_RUN", "-", "-"),
    ("kvm_mmio_exit", "the same guest through hvabs: MMIO write exit returned by hvabs_vcpu_run, run again", "kvm_floor_raw_mmio_exit, same rounds", "median / floor"),
    ("kvm_mmio_handler", "the same guest through hvabs: every MMIO write served by an IO handler inside one hvabs_vcpu_run (stamped in the handler)", "kvm_floor_raw_mmio_exit, same rounds", "median / floor"),
    ("kvm_floor_raw_pio_exit", "raw KVM_RUN loop: guest 4-byte OUT -> KVM_EXIT_IO -> indirect call -> KVM_RUN", "-", "-"),
    ("kvm_pio_exit", "the same guest through hvabs: PIO exit returned by hvabs_vcpu_run, run again", "kvm_floor_raw_pio_exit, same rounds", "median / floor"),
    ("kvm_pio_handler", "the same guest through hvabs: every OUT served by an IO handler inside one hvabs_vcpu_run", "kvm_floor_raw_pio_exit, same rounds", "median / floor"),
    ("kvm_floor_raw_mmio_read_exit", "raw KVM_RUN loop: guest 4-byte MMIO read (bench/guests/kvm_mmio_read.s) -> KVM_EXIT_MMIO -> indirect call returns the value -> KVM_RUN completes the read", "-", "-"),
    ("kvm_mmio_read_exit", "the same guest through hvabs: MMIO read exit returned by hvabs_vcpu_run (the caller fills the data), run again", "kvm_floor_raw_mmio_read_exit, same rounds", "median / floor"),
    ("kvm_mmio_read_handler", "the same guest through hvabs: every MMIO read served by an IO handler's read callback inside one hvabs_vcpu_run", "kvm_floor_raw_mmio_read_exit, same rounds", "median / floor"),
    ("kvm_floor_raw_ioeventfd_doorbell", "raw KVM_IOEVENTFD on the doorbell: guest rounds of 64 doorbell writes + 1 OUT exit, time per write (guest-side throughput)", "-", "-"),
    ("kvm_ioeventfd_doorbell", "the same guest with the doorbell an hvabs ioeventfd function, rounds returned by hvabs_vcpu_run", "kvm_floor_raw_ioeventfd_doorbell, same rounds", "median / floor"),
    ("kvm_floor_eventfd_wakeup", "eventfd write -> a thread blocked in read() wakes (one kernel wake-up)", "-", "-"),
    ("kvm_floor_raw_irqfd_latency", "raw KVM_IRQFD (GSI 5, in-kernel PIC): eventfd write -> guest in hlt takes IRQ5, its handler's OUT reaches the vCPU thread's KVM_RUN", "kvm_floor_eventfd_wakeup", "median / floor"),
    ("kvm_irqfd_latency", "the same through an hvabs irqfd function and hvabs_vcpu_run", "kvm_floor_raw_irqfd_latency", "median / floor"),
    ("kvm_floor_raw_irqfd_level_latency", "raw level irqfd (KVM_IRQFD with KVM_IRQFD_FLAG_RESAMPLE, GSI 5, in-kernel PIC): eventfd write -> guest's handler's OUT reaches KVM_RUN; the line drops at the guest's EOI", "kvm_floor_eventfd_wakeup", "median / floor"),
    ("kvm_irqfd_level_latency", "the same through an hvabs irqfd function with HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE", "kvm_floor_raw_irqfd_level_latency", "median / floor"),
    ("kvm_floor_raw_throughput_1vcpu", "raw KVM_RUN loop, MMIO write exits per second, one vCPU thread", "-", "-"),
    ("kvm_floor_raw_throughput_2vcpu", "raw KVM_RUN loops, MMIO write exits per second, two vCPU threads of one VM at once", "-", "-"),
    ("kvm_throughput_1vcpu", "hvabs, IO-handler-served MMIO exits per second, one vCPU thread", "kvm_floor_raw_throughput_1vcpu", "median / floor"),
    ("kvm_throughput_2vcpu", "hvabs, IO-handler-served MMIO exits per second, two vCPU threads of one VM at once", "kvm_floor_raw_throughput_2vcpu", "median / floor"),
    ("kvm_scaling_2vcpu", "1 -> 2 vCPU threads: hvabs 2-vCPU / 1-vCPU throughput (median); floor = raw KVM's own 2 / 1", "raw KVM's 2 / 1", "median / floor"),
    ("kvm_floor_2thread_scaling", "the machine's own 1 -> 2 thread scaling in the same rounds (pure compute loop)", "-", "-"),
    ("kvm_floor_raw_vm_create", "raw: open /dev/kvm, KVM_CREATE_VM, TSS, IRQCHIP, memslot, 1 vCPU (CPUID, regs)", "-", "-"),
    ("kvm_floor_raw_vm_destroy", "raw: munmap + close of the vCPU, VM and /dev/kvm fds", "-", "-"),
    ("kvm_ctl_vm_create", "hvabs_vm_create (kvm) + RAM + boot setup + vCPU + hvabs_vm_start", "kvm_floor_raw_vm_create", "median / floor"),
    ("kvm_ctl_vm_destroy", "hvabs_vm_destroy of that VM", "kvm_floor_raw_vm_destroy", "median / floor"),
    ("kvm_ctl_vm_start", "part of kvm_ctl_vm_create: hvabs_vm_start alone (no raw counterpart: the raw floor sets its vCPU up inside its create)", "-", "-"),
    ("kvm_ctl_vcpu_add_remove", "vCPU function add + remove on a RUNNING VM (KVM cannot destroy vCPUs: the backend parks the fd and takes it back)", "-", "-"),
    ("kvm_ctl_user_fn_add_remove", "user-defined function type (bind/unbind make no ioctl) add+remove on a RUNNING kvm VM (library only: no floor)", "-", "-"),
    ("kvm_mem_vm_fds", "file descriptors per kvm VM (create, RAM, boot, vCPU 0, start): the kernel objects behind it", "-", "-"),
    ("kvm_mem_vm", "library bytes per kvm VM (create, RAM, boot, vCPU 0, start; guest RAM is mmap()ed, not counted)", "-", "-"),
    ("kvm_mem_vcpu_fds", "file descriptors per vCPU function added to a RUNNING kvm VM (the KVM vCPU fd)", "-", "-"),
    ("kvm_mem_vcpu", "library bytes per vCPU function added to a RUNNING kvm VM (the kvm_run page is mmap()ed, not counted)", "-", "-"),
    ("kvm_mem_irqfd", "library bytes per irqfd function on a RUNNING kvm VM (the eventfd is the caller's)", "-", "-"),
    ("kvm_mem_ioeventfd", "library bytes per ioeventfd function on a RUNNING kvm VM", "-", "-"),
    ("kvm_mem_user_fn", "library bytes per user-defined function instance (8-byte argument) on a RUNNING kvm VM", "-", "-"),
    ("kvm_floor_raw_irqfd_assign", "raw KVM_IRQFD assign (GSI 5) on a VM with one vCPU", "-", "-"),
    ("kvm_floor_raw_irqfd_deassign", "raw KVM_IRQFD deassign", "-", "-"),
    ("kvm_ctl_irqfd_add", "hvabs_vm_irqfd_add on a RUNNING VM", "kvm_floor_raw_irqfd_assign", "median / floor"),
    ("kvm_ctl_irqfd_remove", "hvabs_function_remove of that irqfd", "kvm_floor_raw_irqfd_deassign", "median / floor"),
    ("kvm_floor_raw_ioeventfd_assign", "raw KVM_IOEVENTFD assign (MMIO, 4 bytes)", "-", "-"),
    ("kvm_floor_raw_ioeventfd_deassign", "raw KVM_IOEVENTFD deassign (the kernel waits for an SRCU grace period)", "-", "-"),
    ("kvm_ctl_ioeventfd_add", "hvabs_vm_ioeventfd_add on a RUNNING VM", "kvm_floor_raw_ioeventfd_assign", "median / floor"),
    ("kvm_ctl_ioeventfd_remove", "hvabs_function_remove of that ioeventfd", "kvm_floor_raw_ioeventfd_deassign", "median / floor"),
    # ---- gunyah through the emulator ----
    ("gunyah_floor_ioctl_roundtrip", "one trapped ioctl (GH_VCPU_MMAP_SIZE) answered by the emulator's supervisor: the seccomp user-notification round trip", "-", "-"),
    ("gunyah_floor_untrapped_ioctl", "one untrapped ioctl (TCGETS) in the same process: the syscall and BPF filter alone", "-", "-"),
    ("gunyah_floor_raw_mmio_exit", "raw GH_VCPU_RUN loop (v14 ioctls, own devicetree): emulator callback guest MMIO write -> exit in the run page -> GH_VCPU_RUN", "-", "-"),
    ("gunyah_mmio_exit", "the same guest through hvabs' gunyah backend: MMIO exit returned by hvabs_vcpu_run, run again", "gunyah_floor_raw_mmio_exit, same rounds", "median / floor"),
    ("gunyah_mmio_handler", "the same guest through hvabs: every MMIO write served by an IO handler inside one hvabs_vcpu_run", "gunyah_floor_raw_mmio_exit, same rounds", "median / floor"),
    ("gunyah_floor_raw_ioeventfd_doorbell", "raw GH_FN_IOEVENTFD: guest rounds of 64 doorbell writes + 1 MMIO exit, time per write", "-", "-"),
    ("gunyah_ioeventfd_doorbell", "the same with an hvabs ioeventfd function", "gunyah_floor_raw_ioeventfd_doorbell, same rounds", "median / floor"),
    ("gunyah_floor_eventfd_wakeup", "eventfd write -> a thread blocked in read() wakes", "-", "-"),
    ("gunyah_floor_raw_irqfd_latency", "raw GH_FN_IRQFD (doorbell 5): eventfd write -> guest's wait_irq returns -> its MMIO report exit reaches the VMM's GH_VCPU_RUN", "gunyah_floor_eventfd_wakeup", "median / floor"),
    ("gunyah_irqfd_latency", "the same through an hvabs irqfd function and hvabs_vcpu_run", "gunyah_floor_raw_irqfd_latency", "median / floor"),
    ("gunyah_floor_raw_irqfd_level_latency", "raw GH_FN_IRQFD with GH_IRQFD_LEVEL (level doorbell in its devicetree): eventfd write -> guest's wait_irq returns (its acknowledge drops the line) -> its MMIO report reaches GH_VCPU_RUN", "gunyah_floor_eventfd_wakeup", "median / floor"),
    ("gunyah_irqfd_level_latency", "the same through an hvabs irqfd function with HVABS_IRQFD_LEVEL", "gunyah_floor_raw_irqfd_level_latency", "median / floor"),
    ("gunyah_floor_raw_throughput_1vcpu", "raw GH_VCPU_RUN loop, MMIO write exits per second, one vCPU thread", "-", "-"),
    ("gunyah_floor_raw_throughput_2vcpu", "raw GH_VCPU_RUN loops, MMIO write exits per second, two vCPU threads of one VM at once", "-", "-"),
    ("gunyah_throughput_1vcpu", "hvabs, IO-handler-served MMIO exits per second, one vCPU thread", "gunyah_floor_raw_throughput_1vcpu", "median / floor"),
    ("gunyah_throughput_2vcpu", "hvabs, IO-handler-served MMIO exits per second, two vCPU threads of one VM at once", "gunyah_floor_raw_throughput_2vcpu", "median / floor"),
    ("gunyah_scaling_2vcpu", "1 -> 2 vCPU threads: hvabs 2-vCPU / 1-vCPU throughput (median); floor = the raw loop's own 2 / 1 (the emulator serves every trapped call on one supervisor thread)", "raw 2 / 1", "median / floor"),
    ("gunyah_floor_2thread_scaling", "the machine's own 1 -> 2 thread scaling in the same rounds (pure compute loop)", "-", "-"),
    ("gunyah_floor_raw_vm_create", "raw, in the backend's order: open, GH_CREATE_VM, region, vCPU function, run-page mmap, then the start (devicetree built with libfdt and copied into RAM, GH_VM_SET_DTB_CONFIG, GH_VM_START)", "-", "-"),
    ("gunyah_floor_raw_vm_start", "part of gunyah_floor_raw_vm_create: devicetree, GH_VM_SET_DTB_CONFIG, GH_VM_START", "-", "-"),
    ("gunyah_ctl_vm_start", "part of gunyah_ctl_vm_create: hvabs_vm_start (generated devicetree, DTB config, GH_VM_START)", "gunyah_floor_raw_vm_start", "median / floor"),
    ("gunyah_floor_raw_vcpu_add_remove", "raw vCPU function add + remove on a RUNNING VM (id 1, not in the devicetree): GH_VM_ADD_FUNCTION, GH_VCPU_MMAP_SIZE, mmap, GH_VM_REMOVE_FUNCTION, munmap, close (teardown synced, untimed)", "-", "-"),
    ("gunyah_ctl_vcpu_add_remove", "hvabs vCPU function add + remove (hvabs_vm_function_add / hvabs_function_remove) on a RUNNING VM", "gunyah_floor_raw_vcpu_add_remove", "median / floor"),
    ("gunyah_ctl_user_fn_add_remove", "user-defined function type (bind/unbind make no ioctl) add+remove on a RUNNING gunyah VM (library only: no floor)", "-", "-"),
    ("gunyah_floor_raw_vm_destroy", "raw: munmap + close (the emulator's teardown is asynchronous; it is synced outside the timing)", "-", "-"),
    ("gunyah_ctl_vm_create", "hvabs_vm_create (gunyah) + RAM + vCPU + hvabs_vm_start (generated devicetree)", "gunyah_floor_raw_vm_create", "median / floor"),
    ("gunyah_ctl_vm_destroy", "hvabs_vm_destroy of that VM", "gunyah_floor_raw_vm_destroy", "median / floor"),
    ("gunyah_floor_raw_irqfd_add", "raw GH_VM_ADD_FUNCTION irqfd (doorbell in the devicetree) on a RUNNING VM", "-", "-"),
    ("gunyah_floor_raw_irqfd_remove", "raw GH_VM_REMOVE_FUNCTION irqfd", "-", "-"),
    ("gunyah_ctl_irqfd_add", "hvabs_vm_irqfd_add on a RUNNING VM (its doorbell in the devicetree)", "gunyah_floor_raw_irqfd_add", "median / floor"),
    ("gunyah_ctl_irqfd_remove", "hvabs_function_remove of that irqfd", "gunyah_floor_raw_irqfd_remove", "median / floor"),
    ("gunyah_floor_raw_ioeventfd_add", "raw GH_VM_ADD_FUNCTION ioeventfd on a RUNNING VM", "-", "-"),
    ("gunyah_floor_raw_ioeventfd_remove", "raw GH_VM_REMOVE_FUNCTION ioeventfd", "-", "-"),
    ("gunyah_ctl_ioeventfd_add", "hvabs_vm_ioeventfd_add on a RUNNING VM", "gunyah_floor_raw_ioeventfd_add", "median / floor"),
    ("gunyah_ctl_ioeventfd_remove", "hvabs_function_remove of that ioeventfd", "gunyah_floor_raw_ioeventfd_remove", "median / floor"),
    # ---- sim callback guests ----
    ("floor_clock_gettime", "one clock_gettime(CLOCK_MONOTONIC): what timing a single operation adds (control-plane cases include it)", "-", "-"),
    ("floor_indirect_call", "indirect call through a function table (IO write signature), timed in the guest thread like a dispatch", "-", "-"),
    ("floor_thread_pingpong", "round trip between two spinning threads through one shared atomic: the floor of a guest->runner->guest handoff", "-", "-"),
    ("floor_2thread_scaling", "the machine's own 1 -> 2 thread scaling in the same rounds (pure compute loop, 2 threads / 1 thread); below 2 means the host did not give the bench two free CPUs", "-", "-"),
    ("floor_eventfd_wakeup", "eventfd write -> a thread blocked in read() wakes (one kernel wake-up)", "-", "-"),
    ("dispatch_read_fixed_h", "guest mmio_read served by an IO handler (no-op), guest hits one fixed handler among N", "floor_indirect_call, same run", "median / dispatch_fixed_h1 median"),
    ("dispatch_pio_read_fixed_h", "guest pio_read (4 bytes) served by a PIO handler (no-op), one PIO handler", "floor_indirect_call, same run", "median / dispatch_fixed_h1 median"),
    ("dispatch_pio_fixed_h", "guest pio_write (4 bytes) served by a PIO handler (no-op), one PIO handler", "floor_indirect_call, same run", "median / dispatch_fixed_h1 median"),
    ("doorbell_handler", "guest 4-byte mmio_write to a no-op IO handler (the doorbell case's reference, alternating rounds with it)", "-", "-"),
    ("doorbell_ioeventfd", "guest 4-byte mmio_write to an ioeventfd (sim: core's generic ioeventfd, one eventfd write per access), no exit", "doorbell_handler, same rounds", "median / handler median"),
    ("dispatch_fixed_h", "guest mmio_write -> IO handler (no-op) -> guest resumes; one fixed handler among N registered", "floor_indirect_call, same run", "median / dispatch_fixed_h1 median"),
    ("dispatch_random_h", "as dispatch_fixed, each access to a pseudo-random one of the N handlers (4096-entry address table)", "floor_indirect_call, same run", "median / dispatch_fixed_h1 median"),
    ("access_no_handler", "guest mmio_write with no handler: exit handed to the runner thread, caller completes it, runs again, guest resumes", "floor_thread_pingpong, same run", "median / floor"),
    ("ctl_io_handler_add_grow_h", "hvabs_vm_io_handler_add while the table grows from N/10 to N handlers (per add)", "-", "-"),
    ("ctl_io_handler_add_remove_h", "add+remove of one IO handler while N handlers are registered (per pair)", "-", "-"),
    ("ctl_vcpu_add_remove", "hvabs_vm_function_add(VCPU) + hvabs_function_remove on a RUNNING VM (sim hands out vCPU resources only at start, so no resource is created)", "-", "-"),
    ("ctl_irqfd_add_remove", "irqfd function add+remove on a RUNNING VM (BELL_TX resource, ticket, arm/disarm in the irqfd thread)", "-", "-"),
    ("ctl_ioeventfd_add_remove", "ioeventfd function add+remove on a RUNNING VM (generic ioeventfd: an IO handler)", "-", "-"),
    ("ctl_user_fn_add_remove", "user-defined function type (bind/unbind do nothing) add+remove on a RUNNING VM", "-", "-"),
    ("vm_create", "hvabs_vm_create (sim)", "-", "-"),
    ("vm_start_1vcpu", "hvabs_vm_start with one vCPU", "-", "-"),
    ("vm_destroy_1vcpu", "hvabs_vm_destroy of a started VM whose vCPU never ran", "-", "-"),
    ("vm_first_run", "first hvabs_vcpu_run: guest thread creation until its first exit (HLT)", "-", "-"),
    ("vm_destroy_after_run", "hvabs_vm_destroy of a VM whose vCPU ran (ends and joins the guest thread)", "-", "-"),
    ("vm_destroy_h100000", "hvabs_vm_destroy of the scaling VM with 100,000 IO handlers", "-", "-"),
    ("vm_start_tickets_n", "hvabs_vm_start of a VM with N user-defined function instances each holding a ticket (BELL_RX, own label): (start with N - start without) / N, ns per ticket (resource creation + populate)", "-", "-"),
    ("throughput_1vcpu", "handler-served accesses per second, one vCPU", "-", "1"),
    ("throughput_2vcpu_free_cpus", "2 vCPUs / 1 vCPU throughput ratio over only the rounds in which floor_2thread_scaling was >= 1.9 (the machine had two free CPUs); samples = such rounds", "-", "-"),
    ("throughput_2vms", "handler-served accesses per second, two VMs of one vCPU each at once (nothing shared but the process)", "-", "median of per-round (2 VMs / 1 vCPU) ratios"),
    ("throughput_2vcpu", "handler-served accesses per second, two vCPUs at once (distinct handlers)", "-", "median of per-round (2 vCPUs / 1 vCPU) ratios"),
    ("irqfd_edge_latency", "eventfd write -> guest's hvabs_sim_guest_wait_irq returns (edge irqfd; guest asleep)", "floor_eventfd_wakeup", "median / floor"),
    ("irqfd_level_resample_latency", "as irqfd_edge, level-triggered with RESAMPLE", "floor_eventfd_wakeup", "median / floor"),
    ("irqfd_level_latency", "as irqfd_edge, level-triggered", "floor_eventfd_wakeup", "median / floor"),
    ("mem_vcpu_core_struct", "sizeof(struct hvabs_vcpu), core part of each vCPU object", "-", "-"),
    ("mem_vcpu_sim_struct", "sim's part of each vCPU object (sizeof(struct sim_vcpu) - core part); included in mem_vcpu", "-", "-"),
    ("mem_vcpu_run_alloc", "library bytes allocated by the first run of each vCPU", "-", "-"),
    ("mem_vcpu_thread_rss", "backend state outside the library allocator: RSS growth per vCPU after its guest thread started", "-", "-"),
    ("mem_vcpu_thread_vsz", "backend state outside the library allocator: address space per guest thread (stack + guard)", "-", "-"),
    ("mem_vcpu", "library bytes per vCPU (allocator-counted, incl. the sim part of the object, resource and ticket)", "-", "-"),
    ("mem_irqfd", "library bytes per irqfd function on a RUNNING VM", "-", "-"),
    ("mem_ioeventfd_n100000", "library bytes per ioeventfd function with 100,000 of them", "-", "-"),
    ("mem_ioeventfd", "library bytes per ioeventfd function (incl. its share of the IO table)", "-", "-"),
    ("mem_user_fn", "library bytes per user-defined function instance (8-byte argument)", "-", "-"),
    ("vms_create_n", "hvabs_vm_create while N-1 VMs exist (median over VMs N/10+1..N)", "-", "-"),
    ("vms_bytes_per_vm_n", "library bytes per VM (create + vCPU 0 + start) with N VMs", "-", "-"),
    ("vms_rss_per_vm_n", "process RSS growth per VM with N VMs (fresh process)", "-", "-"),
    ("vms_fds_per_vm_n", "file descriptors per VM with N VMs", "-", "-"),
]


# Backend of each case, by name prefix (the JSON's "backend" field).
BACKENDS = [("kvm_", "kvm"), ("gunyah_v10_", "gunyah-v10 (emulation)"), ("gunyah_", "gunyah (emulation)"),
            ("unicorn_", "sim")]

# hvabs-bench-gunyah runs twice: ABI v14 (gunyah_*) and ABI v10 (the same cases as gunyah_v10_*).
V10 = "gunyah_v10_"


def v14_name(case):
    """gunyah_v10_X -> gunyah_X (the v14 case a v10 case repeats)."""
    return "gunyah_" + case[len(V10):] if case.startswith(V10) else case


def v10_name(case):
    """gunyah_X -> gunyah_v10_X."""
    return V10 + case[len("gunyah_"):] if case.startswith("gunyah_") and not case.startswith(V10) else case


def backend_of(case):
    return next((b for p, b in BACKENDS if case.startswith(p)), "sim")


def describe(case):
    if case.startswith(V10):
        prefix, what, floor, ratio = describe(v14_name(case))
        what = re.sub(r"\bgunyah_(?!v10_)", V10, what.replace("v14 ioctls", "v10 ioctls"))
        return (v10_name(prefix), "ABI v10: " + what,
                " ".join(v10_name(w) for w in floor.split(" ")), ratio)
    best = None
    for prefix, what, floor, ratio in CASES:
        if case.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, what, floor, ratio)
    return best or (case, "", "-", "-")


def num(v):
    """Counter value -> JSON number, or None for the 'none' marker (< 0) and non-finite values."""
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or v < 0:
        return None
    return v


def load_gbench(paths):
    records, errors, extra, context = [], [], {}, {}
    for path in paths:
        try:
            with open(path) as f:
                data = json.load(f)
        except ValueError:
            continue  # no case matched the process's filter (e.g. kvm skipped): Google Benchmark writes nothing
        for k, v in data.get("context", {}).items():
            context.setdefault(k, v)
        for b in data.get("benchmarks", []):
            case = b.get("run_name", b.get("name", "")).split("/")[0]
            if b.get("error_occurred"):
                errors.append((case, b.get("error_message", "")))
                records.append({"backend": backend_of(case), "case": case, "unit": "", "median": None,
                                "p99": None, "p999": None, "floor_median": None, "ratio": None})
                continue
            rec = {"backend": backend_of(case), "case": case, "unit": b.get("label", "") or "ns",
                   "median": num(b.get("median")), "p99": num(b.get("p99")),
                   "p999": num(b.get("p999")), "floor_median": num(b.get("floor_median")),
                   "ratio": num(b.get("ratio"))}
            records.append(rec)
            extra[case] = {"samples": num(b.get("samples")), "batch": num(b.get("batch")),
                           "allocs": num(b.get("allocs"))}
    return records, errors, extra, context


class Raw:
    """Raw files of the runs: each case's come from the run its record was taken from."""

    def __init__(self, dirs, work):
        self.dirs = dirs
        self.work = work
        self.chosen = {}

    def file(self, case, suffix):
        return os.path.join(self.dirs[self.chosen.get(case, 0)], case + suffix)


# Cases read together come from one run, the run where the lead case's field is in the middle.
# Each case of a measurement made in one go (a case and its floors) is taken from the same run.
# The first group whose prefixes match a case wins: more specific groups come first.
GROUPS = [
    (("throughput_", "floor_2thread_scaling"), "throughput_2vcpu", "ratio"),
    (("doorbell_",), "doorbell_ioeventfd", "ratio"),
    (("unicorn_floor_bare_x86_mmio_read", "unicorn_x86_mmio_read_handler"), "unicorn_x86_mmio_read_handler", "ratio"),
    (("unicorn_floor_bare_arm64_mmio_read", "unicorn_arm64_mmio_read_handler"), "unicorn_arm64_mmio_read_handler",
     "ratio"),
    (("unicorn_x86_doorbell_",), "unicorn_x86_doorbell_ioeventfd", "ratio"),
    (("unicorn_arm64_doorbell_",), "unicorn_arm64_doorbell_ioeventfd", "ratio"),
    (("unicorn_floor_bare_x86_mmio", "unicorn_x86_mmio_handler"), "unicorn_x86_mmio_handler", "ratio"),
    (("unicorn_floor_bare_arm64_mmio", "unicorn_arm64_mmio_handler"), "unicorn_arm64_mmio_handler", "ratio"),
    (("unicorn_floor_eventfd_wakeup_x86", "unicorn_x86_irqfd_wake"), "unicorn_x86_irqfd_wake", "median"),
    (("unicorn_floor_eventfd_wakeup_arm64", "unicorn_arm64_irqfd_wake"), "unicorn_arm64_irqfd_wake", "median"),
    (("unicorn_x86_vm_", "unicorn_floor_bare_x86_lifecycle"), "unicorn_x86_vm_lifecycle", "median"),
    (("unicorn_arm64_vm_", "unicorn_floor_bare_arm64_lifecycle"), "unicorn_arm64_vm_lifecycle", "median"),
    (("kvm_floor_raw_mmio_read_exit", "kvm_mmio_read_"), "kvm_mmio_read_exit", "ratio"),
    (("kvm_floor_raw_mmio_exit", "kvm_mmio_"), "kvm_mmio_exit", "ratio"),
    (("kvm_floor_raw_pio_exit", "kvm_pio_"), "kvm_pio_exit", "ratio"),
    (("kvm_floor_raw_ioeventfd_doorbell", "kvm_ioeventfd_doorbell"), "kvm_ioeventfd_doorbell", "ratio"),
    (("kvm_floor_eventfd_wakeup", "kvm_floor_raw_irqfd_latency", "kvm_irqfd_latency"), "kvm_irqfd_latency", "ratio"),
    (("kvm_floor_raw_irqfd_level_latency", "kvm_irqfd_level_latency"), "kvm_irqfd_level_latency", "ratio"),
    (("kvm_mem_",), "kvm_mem_vm", "median"),
    (("kvm_throughput_", "kvm_scaling_", "kvm_floor_raw_throughput_", "kvm_floor_2thread_scaling"),
     "kvm_scaling_2vcpu", "ratio"),
    (("kvm_ctl_vm_", "kvm_floor_raw_vm_"), "kvm_ctl_vm_create", "ratio"),
    (("kvm_ctl_irqfd_", "kvm_floor_raw_irqfd_assign", "kvm_floor_raw_irqfd_deassign"), "kvm_ctl_irqfd_add", "ratio"),
    (("kvm_ctl_ioeventfd_", "kvm_floor_raw_ioeventfd_assign", "kvm_floor_raw_ioeventfd_deassign"),
     "kvm_ctl_ioeventfd_add", "ratio"),
    (("gunyah_floor_ioctl_roundtrip", "gunyah_floor_untrapped_ioctl"), "gunyah_floor_ioctl_roundtrip", "median"),
    (("gunyah_floor_raw_mmio_exit", "gunyah_mmio_"), "gunyah_mmio_exit", "ratio"),
    (("gunyah_floor_raw_ioeventfd_doorbell", "gunyah_ioeventfd_doorbell"), "gunyah_ioeventfd_doorbell", "ratio"),
    (("gunyah_floor_eventfd_wakeup", "gunyah_floor_raw_irqfd_latency", "gunyah_irqfd_latency"),
     "gunyah_irqfd_latency", "ratio"),
    (("gunyah_floor_raw_irqfd_level_latency", "gunyah_irqfd_level_latency"), "gunyah_irqfd_level_latency", "ratio"),
    (("gunyah_throughput_", "gunyah_scaling_", "gunyah_floor_raw_throughput_", "gunyah_floor_2thread_scaling"),
     "gunyah_scaling_2vcpu", "ratio"),
    (("gunyah_ctl_vm_", "gunyah_floor_raw_vm_"), "gunyah_ctl_vm_create", "ratio"),
    (("gunyah_ctl_vcpu_add_remove", "gunyah_floor_raw_vcpu_add_remove"), "gunyah_ctl_vcpu_add_remove", "ratio"),
    (("gunyah_ctl_irqfd_", "gunyah_floor_raw_irqfd_add", "gunyah_floor_raw_irqfd_remove"), "gunyah_ctl_irqfd_add",
     "ratio"),
    (("gunyah_ctl_ioeventfd_", "gunyah_floor_raw_ioeventfd_add", "gunyah_floor_raw_ioeventfd_remove"),
     "gunyah_ctl_ioeventfd_add", "ratio"),
]
# The ABI v10 run's groups: the same, renamed.
GROUPS += [(tuple(v10_name(p) for p in prefixes), v10_name(lead), field)
           for prefixes, lead, field in GROUPS if lead.startswith("gunyah_")]


def middle_run(cands, field):
    valid = sorted((c for c in cands if c[1][field] is not None), key=lambda c: c[1][field])
    return valid[(len(valid) - 1) // 2][0] if valid else cands[0][0]


def load_runs(dirs):
    """Merge runs: per case, the record of the run with the middle median (see GROUPS)."""
    runs = []
    for d in dirs:
        paths = sorted(os.path.join(d, f) for f in os.listdir(d)
                       if f.startswith("gbench-") and f.endswith(".json"))
        runs.append(load_gbench(paths))
    raw = Raw(dirs, dirs[0])
    records, errors, extra = [], [], {}
    context = {}
    for run in runs:
        for k, v in run[3].items():
            context.setdefault(k, v)
    skipped = {}
    for d in dirs:
        try:
            with open(os.path.join(d, "skipped.txt")) as f:
                for line in f:
                    backend, _, why = line.strip().partition(": ")
                    if backend:
                        skipped.setdefault(backend, why)
        except OSError:
            pass

    def candidates(case):
        cands = []
        for i, run in enumerate(runs):
            rec = next((r for r in run[0] if r["case"] == case), None)
            if rec is not None:
                cands.append((i, rec))
        return cands

    group_run = {}
    for prefixes, lead, field in GROUPS:
        cands = candidates(lead)
        if cands:
            group_run[prefixes] = middle_run(cands, field)
    order = []
    for run in runs:
        order += [r["case"] for r in run[0] if r["case"] not in order]
    for case in order:
        cands = candidates(case)
        i = next((group_run[p] for p in group_run if case.startswith(p)), None)
        if i is None or not any(c[0] == i for c in cands):
            i = middle_run(cands, "median")
        rec = next(c[1] for c in cands if c[0] == i)
        raw.chosen[case] = i
        records.append(rec)
        ex = dict(runs[i][2].get(case, {}))
        ex["runs"] = [c[1]["median"] for c in cands]
        extra[case] = ex
    for n, run in enumerate(runs):
        for case, msg in run[1]:
            errors.append((case, ("run %d: " % (n + 1) if len(runs) > 1 else "") + msg))
    return records, errors, extra, context, raw, skipped


def check(records):
    """Shape of latest.json: a non-empty array of records with exactly FIELDS."""
    problems = []
    if not isinstance(records, list) or not records:
        return ["not a non-empty JSON array"]
    seen = set()
    for i, r in enumerate(records):
        if not isinstance(r, dict) or sorted(r) != sorted(FIELDS):
            problems.append("record %d: keys %s" % (i, sorted(r) if isinstance(r, dict) else type(r)))
            continue
        for k in ("backend", "case", "unit"):
            if not isinstance(r[k], str) or (k != "unit" and not r[k]):
                problems.append("record %d: %s is not a non-empty string" % (i, k))
        for k in ("median", "p99", "p999", "floor_median", "ratio"):
            v = r[k]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                problems.append("record %d (%s): %s is not a number or null" % (i, r["case"], k))
        if r["case"] in seen:
            problems.append("record %d: duplicate case %s" % (i, r["case"]))
        seen.add(r["case"])
    return problems


# ---- formatting ----

def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit == "ns":
        if v >= 1e6:
            return "%.2f ms" % (v / 1e6)
        if v >= 1e3:
            return "%.2f µs" % (v / 1e3)
        return "%.1f ns" % v
    if unit == "bytes":
        if v >= 1 << 20:
            return "%.2f MiB" % (v / (1 << 20))
        if v >= 10 * 1024:
            return "%.1f KiB" % (v / 1024)
        return "%.0f B" % v if abs(v - round(v)) < 0.05 else "%.1f B" % v
    if unit == "x":
        return "%.3f×" % v if abs(v) < 10 else "%.1f×" % v
    if abs(v) >= 100:
        return "%.0f" % v
    return "%.2f" % v


def machine_share(args):
    """(other jobs' share, steal share) of the machine's CPU time during the run, or None."""
    try:
        a = [int(x) for x in args.stat_before.split()[1:9]]
        b = [int(x) for x in args.stat_after.split()[1:9]]
        own = float(args.own_cpu) * os.sysconf("SC_CLK_TCK")
    except (ValueError, IndexError, OSError):
        return None
    if len(a) < 8 or len(b) < 8:
        return None
    d = [y - x for x, y in zip(a, b)]
    total = sum(d)
    if total <= 0:
        return None
    busy = total - d[3] - d[4]  # minus idle, iowait
    return max(0.0, (busy - d[7] - own) / total), d[7] / total


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / (1 << 20))
    except (OSError, ValueError, IndexError):
        pass
    nested = False
    try:
        with open("/proc/cpuinfo") as f:
            nested = any(l.startswith("flags") and " hypervisor" in l for l in f)
    except OSError:
        pass
    clock = ""
    try:
        with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
            clock = f.read().strip()
    except OSError:
        pass
    return {"nproc": nproc, "cpu": cpu, "kernel": platform.release(), "mem": mem, "clocksource": clock,
            "nested": nested}


# ---- targets ----

def free_note(by):
    r = by.get("throughput_2vcpu_free_cpus")
    if r is None:
        return ""
    if r["median"] is None:
        return "; no round had two free CPUs"
    return "; over the rounds with two free CPUs only: %.2f× (`throughput_2vcpu_free_cpus`)" % r["median"]


def target_rows(by, raw, skipped=None):
    skipped = skipped or {}

    def get(case, field):
        r = by.get(case)
        return None if r is None else r[field]

    rows = []

    def add(what, case, field, op, limit, unit, note=""):
        v = get(case, field)
        backend = backend_of(case)
        if v is None:
            status = "NOT MEASURED"
            why = skipped.get(backend) or (skipped.get("sim (Unicorn guests)") if case.startswith("unicorn_") else None)
            if why:
                note = "skipped: " + why
        elif (op == "<=" and v <= limit) or (op == ">=" and v >= limit):
            status = "met"
        else:
            status = "**MISSED**"
        shown = fmt(v, unit)
        if case.startswith("unicorn_"):
            backend = "sim (Unicorn guests)"
        rows.append((what, "`%s` %s" % (case, field), shown, "%s %s" % (op, fmt(limit, unit)), status, note,
                     backend))

    add("Callback-guest MMIO dispatch, 1 handler (median)", "dispatch_fixed_h1", "median", "<=", 25, "ns")
    add("Same with 100,000 handlers, one of them hit (median ÷ 1-handler median)",
        "dispatch_fixed_h100000", "ratio", "<=", 2.0, "x")
    add("ioeventfd function add+remove on sim (median per pair)", "ctl_ioeventfd_add_remove", "median", "<=", 1000, "ns")
    sim_part = get("mem_vcpu_sim_struct", "median")
    total = get("mem_vcpu", "median")
    note = ""
    if total is not None and sim_part is not None:
        note = "of which %s are sim's part of the vCPU object; %s without it; guest thread outside the allocator: %s RSS, %s address space" % (
            fmt(sim_part, "bytes"), fmt(total - sim_part, "bytes"),
            fmt(get("mem_vcpu_thread_rss", "median"), "bytes"), fmt(get("mem_vcpu_thread_vsz", "median"), "bytes"))
    add("Library memory per vCPU", "mem_vcpu", "median", "<=", 256, "bytes", note)
    for what, case in (("irqfd", "mem_irqfd"), ("ioeventfd", "mem_ioeventfd"), ("user-defined function", "mem_user_fn")):
        parts = sizes_table(raw, case)
        add("Library memory per " + what, case, "median", "<=", 256, "bytes",
            "blocks per instance: " + parts if parts else "")
    m = get("floor_2thread_scaling", "median")
    add("1 → 2 vCPU threads dispatching at once (throughput ratio)", "throughput_2vcpu", "ratio", ">=", 1.8, "x",
        "" if m is None else "%sthe machine's own 2-thread scaling in the same rounds (`floor_2thread_scaling`): %.2f×%s" % (
            "inconclusive in this run, the bench did not get two free CPUs: " if m < 1.8 else "", m, free_note(by)))

    # sim with Unicorn guests
    for arch in ("x86", "arm64"):
        add("Unicorn-guest (%s) MMIO write served by an IO handler ÷ bare Unicorn uc_mmio_map loop (median)" % arch,
            "unicorn_%s_mmio_handler" % arch, "ratio", "<=", 1.5, "x",
            "%s vs %s per write" % (fmt(get("unicorn_%s_mmio_handler" % arch, "median"), "ns"),
                                    fmt(get("unicorn_floor_bare_%s_mmio" % arch, "median"), "ns")))
    for arch in ("x86", "arm64"):
        add("HLT/WFI-ed Unicorn vCPU (%s) woken by irqfd: eventfd write → handler report (median)" % arch,
            "unicorn_%s_irqfd_wake" % arch, "median", "<=", 50000, "ns")
    for arch in ("x86", "arm64"):
        add("sim VM with 1 Unicorn vCPU (%s): create, start, run to its exit, destroy (median)" % arch,
            "unicorn_%s_vm_lifecycle" % arch, "median", "<=", 5e6, "ns",
            "bare Unicorn instance doing the same: %s" % fmt(get("unicorn_%s_vm_lifecycle" % arch, "floor_median"), "ns"))

    # KVM
    def per_exit(case):
        return "%s vs raw %s per exit" % (fmt(get(case, "median"), "ns"), fmt(get(case, "floor_median"), "ns"))

    add("KVM MMIO exit returned to the caller ÷ raw KVM_RUN loop (median per exit)", "kvm_mmio_exit", "ratio",
        "<=", 1.03, "x", per_exit("kvm_mmio_exit"))
    add("KVM MMIO exit served by an IO handler ÷ raw KVM_RUN loop (median per exit)", "kvm_mmio_handler", "ratio",
        "<=", 1.03, "x", per_exit("kvm_mmio_handler"))
    add("KVM PIO exit returned to the caller ÷ raw KVM_RUN loop (median per exit)", "kvm_pio_exit", "ratio",
        "<=", 1.03, "x", per_exit("kvm_pio_exit"))
    add("KVM PIO exit served by an IO handler ÷ raw KVM_RUN loop (median per exit)", "kvm_pio_handler", "ratio",
        "<=", 1.03, "x", per_exit("kvm_pio_handler"))
    add("KVM ioeventfd doorbell through hvabs ÷ raw KVM_IOEVENTFD (median per write)", "kvm_ioeventfd_doorbell",
        "ratio", "<=", 1.05, "x", "%s vs raw %s per write" % (fmt(get("kvm_ioeventfd_doorbell", "median"), "ns"),
                                                             fmt(get("kvm_ioeventfd_doorbell", "floor_median"), "ns")))
    return rows


# ---- plots ----

def read_samples(raw, case):
    try:
        with open(raw.file(case, ".txt")) as f:
            return sorted(float(x) for x in f if x.strip())
    except (OSError, ValueError):
        return []


def write_cdf(raw, case, path, points=2000, clip=1.0):
    """CDF points of @case's samples up to quantile @clip."""
    v = read_samples(raw, case)
    if not v:
        return False
    last = max(1, int(math.ceil(clip * len(v))))
    step = max(1, last // points)
    with open(path, "w") as f:
        for i in range(0, last, step):
            f.write("%g %g\n" % (v[i], (i + 1) / len(v)))
        f.write("%g %g\n" % (v[last - 1], last / len(v)))
    return True


def plots(by, raw, img_dir):
    """PNG plots with gnuplot (pngcairo); returns the files written (names relative to img_dir)."""
    gp = shutil.which("gnuplot")
    if not gp:
        return []
    os.makedirs(img_dir, exist_ok=True)
    made, scripts = [], []

    def cdf_plot(name, title, cases, xlabel, logx=True, clip=1.0):
        series = []
        for c in cases:
            dat = os.path.join(raw.work, "cdf_%s.dat" % c)
            if write_cdf(raw, c, dat, clip=clip):
                # floors dashed, so that each case and its floor read as a pair
                series.append("'%s' using 1:2 with lines lw 2%s title '%s'" % (
                    dat, " dt 2" if "floor" in c else "", c))
        if not series:
            return
        out = os.path.join(img_dir, name)
        scripts.append("""set terminal pngcairo noenhanced size %s font ',10'
set output '%s'
set title '%s'
%s
set xlabel '%s'
set ylabel 'fraction of samples'
%s
set grid
plot %s
unset logscale x
""" % ("1200,540" if len(series) > 6 else "900,540", out, title.replace("'", "''"),
       "set logscale x" if logx else "unset logscale x", xlabel,
       "set key outside right top" if len(series) > 6 else "set key inside bottom right",
       ", \\\n     ".join(series)))
        made.append(name)

    cdf_plot("dispatch_latency_cdf.png", "sim callback guest: per-access latency (CDF of 64-access batch means)",
             ["floor_indirect_call", "dispatch_fixed_h1", "dispatch_read_fixed_h1", "dispatch_pio_fixed_h1",
              "dispatch_pio_read_fixed_h1", "dispatch_fixed_h100000", "dispatch_random_h100000", "access_no_handler"],
             "ns per access (log)")
    cdf_plot("doorbell_cdf.png", "sim: guest write to an ioeventfd vs the same write to an IO handler (CDF)",
             ["doorbell_handler", "doorbell_ioeventfd", "unicorn_x86_doorbell_handler", "unicorn_x86_doorbell_ioeventfd",
              "unicorn_arm64_doorbell_handler", "unicorn_arm64_doorbell_ioeventfd"], "ns per write (log)")
    cdf_plot("irqfd_latency_cdf.png", "sim: eventfd write -> guest wait_irq returns (CDF)",
             ["floor_eventfd_wakeup", "irqfd_edge_latency", "irqfd_level_latency", "irqfd_level_resample_latency"],
             "ns (log)")
    cdf_plot("control_plane_cdf.png", "sim control plane: per-operation latency (CDF)",
             ["ctl_user_fn_add_remove", "ctl_io_handler_add_remove_h1", "ctl_ioeventfd_add_remove",
              "ctl_vcpu_add_remove", "ctl_irqfd_add_remove", "vm_create", "vm_start_1vcpu", "vm_destroy_1vcpu",
              "vm_start_tickets_n10", "vm_start_tickets_n100", "vm_start_tickets_n1000"], "ns (log; tickets: per ticket)")

    cdf_plot("unicorn_mmio_latency_cdf.png",
             "sim with Unicorn guests: MMIO write / read served by an IO handler vs bare Unicorn (CDF of 64-access batch means)",
             ["unicorn_floor_bare_x86_mmio", "unicorn_x86_mmio_handler", "unicorn_floor_bare_arm64_mmio",
              "unicorn_arm64_mmio_handler", "unicorn_floor_bare_x86_mmio_read", "unicorn_x86_mmio_read_handler",
              "unicorn_floor_bare_arm64_mmio_read", "unicorn_arm64_mmio_read_handler"],
             "ns per access (samples up to p99)", logx=False, clip=0.99)
    cdf_plot("unicorn_irqfd_wake_cdf.png", "sim with Unicorn guests: eventfd write -> halted vCPU reports (CDF)",
             ["unicorn_floor_eventfd_wakeup_x86", "unicorn_x86_irqfd_wake", "unicorn_floor_eventfd_wakeup_arm64",
              "unicorn_arm64_irqfd_wake"], "ns (log)")
    cdf_plot("kvm_exit_latency_cdf.png", "kvm: per-exit latency, raw KVM_RUN loop vs hvabs (CDF of 32-exit batch means)",
             ["kvm_floor_raw_mmio_exit", "kvm_mmio_exit", "kvm_mmio_handler", "kvm_floor_raw_pio_exit",
              "kvm_pio_exit", "kvm_pio_handler", "kvm_floor_raw_mmio_read_exit", "kvm_mmio_read_exit",
              "kvm_mmio_read_handler"], "ns per exit (samples up to p99)", logx=False, clip=0.99)
    cdf_plot("kvm_ioeventfd_doorbell_cdf.png",
             "kvm: ioeventfd doorbell, raw KVM_IOEVENTFD vs hvabs (CDF of 64-write round means)",
             ["kvm_floor_raw_ioeventfd_doorbell", "kvm_ioeventfd_doorbell"], "ns per doorbell write (samples up to p99)",
             logx=False, clip=0.99)
    cdf_plot("kvm_irqfd_latency_cdf.png", "kvm: eventfd write -> guest interrupt handler's report reaches the VMM (CDF)",
             ["kvm_floor_eventfd_wakeup", "kvm_floor_raw_irqfd_latency", "kvm_irqfd_latency",
              "kvm_floor_raw_irqfd_level_latency", "kvm_irqfd_level_latency"], "ns (log)")
    cdf_plot("kvm_control_plane_cdf.png", "kvm control plane: raw ioctls vs hvabs, per operation (CDF)",
             ["kvm_ctl_user_fn_add_remove", "kvm_ctl_vcpu_add_remove", "kvm_ctl_vm_start",
              "kvm_floor_raw_irqfd_assign", "kvm_ctl_irqfd_add",
              "kvm_floor_raw_irqfd_deassign", "kvm_ctl_irqfd_remove", "kvm_floor_raw_ioeventfd_assign",
              "kvm_ctl_ioeventfd_add", "kvm_floor_raw_ioeventfd_deassign", "kvm_ctl_ioeventfd_remove",
              "kvm_floor_raw_vm_create", "kvm_ctl_vm_create", "kvm_floor_raw_vm_destroy", "kvm_ctl_vm_destroy"],
             "ns (log)")
    for abi, label in (("gunyah_", "gunyah (emulation)"), (V10, "gunyah-v10 (emulation)")):
        n = (lambda c: c) if abi == "gunyah_" else v10_name
        stem = abi.rstrip("_")
        cdf_plot("%s_latency_cdf.png" % stem,
                 "%s: raw /dev/gunyah ioctls vs hvabs (CDF; emulator costs, not Gunyah costs)" % label,
                 [n(c) for c in ("gunyah_floor_ioctl_roundtrip", "gunyah_floor_raw_mmio_exit", "gunyah_mmio_exit",
                                 "gunyah_mmio_handler", "gunyah_floor_raw_ioeventfd_doorbell",
                                 "gunyah_ioeventfd_doorbell", "gunyah_floor_raw_irqfd_latency", "gunyah_irqfd_latency",
                                 "gunyah_floor_raw_irqfd_level_latency", "gunyah_irqfd_level_latency")], "ns (log)")
        cdf_plot("%s_control_plane_cdf.png" % stem, "%s control plane: raw ioctls vs hvabs (CDF)" % label,
                 [n(c) for c in ("gunyah_ctl_user_fn_add_remove", "gunyah_floor_raw_irqfd_add", "gunyah_ctl_irqfd_add",
                                 "gunyah_floor_raw_irqfd_remove", "gunyah_ctl_irqfd_remove",
                                 "gunyah_floor_raw_ioeventfd_add", "gunyah_ctl_ioeventfd_add",
                                 "gunyah_floor_raw_ioeventfd_remove", "gunyah_ctl_ioeventfd_remove",
                                 "gunyah_floor_raw_vcpu_add_remove", "gunyah_ctl_vcpu_add_remove",
                                 "gunyah_floor_raw_vm_start", "gunyah_ctl_vm_start", "gunyah_floor_raw_vm_create",
                                 "gunyah_ctl_vm_create", "gunyah_floor_raw_vm_destroy", "gunyah_ctl_vm_destroy")],
                 "ns (log)")

    # 1 -> 2 vCPU threads on each backend: throughput relative to 1 vCPU (absolute 1-vCPU figure in the key)
    dat = os.path.join(raw.work, "vcpu_scaling.dat")
    series = [("sim callback guest", "throughput_1vcpu", "throughput_2vcpu"),
              ("kvm raw KVM_RUN", "kvm_floor_raw_throughput_1vcpu", "kvm_floor_raw_throughput_2vcpu"),
              ("kvm hvabs, handler-served", "kvm_throughput_1vcpu", "kvm_throughput_2vcpu")]
    for abi, label in (("gunyah_", "gunyah"), (V10, "gunyah-v10")):
        series += [("%s raw GH_VCPU_RUN (emulation)" % label, abi + "floor_raw_throughput_1vcpu",
                    abi + "floor_raw_throughput_2vcpu"),
                   ("%s hvabs, handler-served (emulation)" % label, abi + "throughput_1vcpu", abi + "throughput_2vcpu")]
    cols = []
    for title, one, two in series:
        a, b = (by.get(one) or {}).get("median"), (by.get(two) or {}).get("median")
        if a and b is not None:
            cols.append(("%s (1 vCPU: %s %s)" % (title, fmt(a), by[one]["unit"]), b / a))
    if cols:
        with open(dat, "w") as fo:
            fo.write("1 %s\n" % " ".join("1" for _ in cols))
            fo.write("2 %s\n" % " ".join(str(r) for _, r in cols))
        out = os.path.join(img_dir, "vcpu_scaling.png")
        machine_note = ", ".join("%s %.2fx" % (n, by[c]["median"]) for n, c in (
            ("sim", "floor_2thread_scaling"), ("kvm", "kvm_floor_2thread_scaling"),
            ("gunyah", "gunyah_floor_2thread_scaling"), ("gunyah-v10", "gunyah_v10_floor_2thread_scaling"))
            if (by.get(c) or {}).get("median") is not None)
        plot = ["'%s' using 1:%d with linespoints lw 2 title '%s'" % (dat, k + 2, t.replace("'", "''"))
                for k, (t, _) in enumerate(cols)]
        plot.append("x with lines dt 2 lc rgb 'gray' title 'ideal (2 threads = 2x)'")
        scripts.append("""set terminal pngcairo noenhanced size 900,600 font ',10'
set output '%s'
set title '1 -> 2 vCPU threads dispatching at once: throughput relative to 1 vCPU thread (medians)'
set xlabel 'vCPU threads (the machine itself, 2 / 1 compute threads: %s)'
set xtics 1
set xrange [0.9:2.1]
set yrange [0:2.2]
set ylabel 'throughput / 1-vCPU throughput'
set key inside left top
set grid
plot %s
set xtics autofreq
set autoscale xy
""" % (out, machine_note or "-", ", \\\n     ".join(plot)))
        made.append("vcpu_scaling.png")

    # handler scaling: medians and p99 vs N
    dat = os.path.join(raw.work, "handler_scaling.dat")
    rows = []
    for n in (1, 10, 100, 1000, 10000, 100000):
        f = by.get("dispatch_fixed_h%d" % n)
        r = by.get("dispatch_random_h%d" % n)
        g = by.get("ctl_io_handler_add_grow_h%d" % n)
        if (f or {}).get("median") is None and (r or {}).get("median") is None:
            continue
        val = lambda rec, k: (rec or {}).get(k)
        rows.append([n] + [(val(x, k) if val(x, k) is not None else "NaN")
                           for x, k in ((f, "median"), (f, "p99"), (r, "median"), (r, "p99"), (g, "median"))])
    if rows:
        with open(dat, "w") as fo:
            for row in rows:
                fo.write(" ".join(str(x) for x in row) + "\n")
        out = os.path.join(img_dir, "handler_scaling.png")
        scripts.append("""set terminal pngcairo noenhanced size 900,540 font ',10'
set output '%s'
set title 'sim: dispatch latency and handler-add cost vs registered IO handlers'
set logscale x
set logscale y
set xlabel 'IO handlers registered'
set ylabel 'ns per access'
set y2label 'ns per hvabs_vm_io_handler_add'
set logscale y2
set y2tics
set ytics nomirror
set key top left
set grid
set datafile missing 'NaN'
plot '%s' using 1:2 with linespoints lw 2 title 'fixed handler, median', \\
     '%s' using 1:3 with linespoints dt 2 title 'fixed handler, p99', \\
     '%s' using 1:4 with linespoints lw 2 title 'random handler, median', \\
     '%s' using 1:5 with linespoints dt 2 title 'random handler, p99', \\
     '%s' using 1:6 axes x1y2 with linespoints lw 2 title 'handler add (right axis), median'
unset logscale
unset y2tics
unset y2label
set ytics mirror
""" % (out, dat, dat, dat, dat, dat))
        made.append("handler_scaling.png")

    # VMs in one process
    dat = os.path.join(raw.work, "vms_scaling.dat")
    rows = []
    for n in (1, 10, 100, 1000):
        c = by.get("vms_create_n%d" % n)
        b = by.get("vms_bytes_per_vm_n%d" % n)
        rss = by.get("vms_rss_per_vm_n%d" % n)
        if c is None or c["median"] is None:
            continue
        rows.append((n, c["median"], (b or {}).get("median") or "NaN", (rss or {}).get("median") or "NaN"))
    if rows:
        with open(dat, "w") as fo:
            for row in rows:
                fo.write(" ".join(str(x) for x in row) + "\n")
        out = os.path.join(img_dir, "vms_scaling.png")
        scripts.append("""set terminal pngcairo noenhanced size 900,540 font ',10'
set output '%s'
set title 'sim: VMs in one process - create time and memory per VM (the first VM pays one-time costs)'
set logscale x
set logscale y
set logscale y2
set xlabel 'VMs in the process'
set ylabel 'hvabs_vm_create median (ns)'
set y2label 'bytes per VM'
set y2tics
set ytics nomirror
set key top right
set grid
set datafile missing 'NaN'
plot '%s' using 1:2 with linespoints lw 2 title 'create (median)', \\
     '%s' using 1:3 axes x1y2 with linespoints lw 2 title 'library bytes per VM (right axis)', \\
     '%s' using 1:4 axes x1y2 with linespoints lw 2 title 'RSS growth per VM (right axis)'
unset logscale
""" % (out, dat, dat, dat))
        made.append("vms_scaling.png")

    if scripts:
        script = os.path.join(raw.work, "plots.gp")
        with open(script, "w") as f:
            # reset: no setting (key placement, log scales) leaks from one plot into the next
            f.write("\n".join("reset\n" + sc for sc in scripts))
        res = subprocess.run([gp, script], capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write("report.py: gnuplot failed:\n" + res.stderr)
            return []
    return made


# ---- markdown ----

SECTIONS = [
    ("sim: dispatch, guest access served by an IO handler or an ioeventfd (callback guest)",
     ("floor_clock_gettime", "floor_indirect_call", "dispatch_", "doorbell_", "floor_thread_pingpong",
      "access_no_handler")),
    ("sim: throughput, 1 → 2 vCPU threads dispatching at once", ("throughput_", "floor_2thread_scaling")),
    ("sim: irqfd injection latency", ("floor_eventfd_wakeup", "irqfd_")),
    ("sim: control plane", ("ctl_", "vm_")),
    ("sim: memory per function instance (counting allocator via hvabs_set_allocator)", ("mem_",)),
    ("sim: 1 → 1,000 VMs in one process", ("vms_",)),
    ("sim with Unicorn guests: MMIO writes and reads to an IO handler vs a bare Unicorn loop",
     ("unicorn_floor_bare_x86_mmio", "unicorn_floor_bare_arm64_mmio", "unicorn_x86_mmio", "unicorn_arm64_mmio")),
    ("sim with Unicorn guests: ioeventfd doorbell vs the same writes to an IO handler",
     ("unicorn_x86_doorbell_", "unicorn_arm64_doorbell_")),
    ("sim with Unicorn guests: irqfd wake-up of a halted vCPU", ("unicorn_floor_eventfd", "unicorn_x86_irqfd",
                                                                 "unicorn_arm64_irqfd")),
    ("sim with Unicorn guests: VM lifecycle", ("unicorn_",)),
    ("kvm: exits through hvabs vs a raw KVM_RUN loop (data plane)",
     ("kvm_floor_raw_mmio", "kvm_mmio_", "kvm_floor_raw_pio", "kvm_pio_", "kvm_floor_raw_ioeventfd_doorbell",
      "kvm_ioeventfd_doorbell")),
    ("kvm: irqfd injection latency (edge and level)",
     ("kvm_floor_eventfd", "kvm_floor_raw_irqfd_latency", "kvm_irqfd_latency", "kvm_floor_raw_irqfd_level",
      "kvm_irqfd_level")),
    ("kvm: 1 → 2 vCPU threads (IO-handler-served MMIO exits)", ("kvm_throughput_", "kvm_floor_raw_throughput_",
                                                                 "kvm_scaling_", "kvm_floor_2thread")),
    ("kvm: memory per VM and per function instance (counting allocator; fds: the kernel objects)", ("kvm_mem_",)),
    ("kvm: control plane (reported separately: KVM's own deassign paths dominate)", ("kvm_",)),
]
# gunyah through the emulator, once per ABI (titles and prefixes of the v10 run renamed).
for _abi, _label in (("gunyah_", "gunyah (emulation)"), (V10, "gunyah-v10 (emulation)")):
    _n = (lambda p: p) if _abi == "gunyah_" else v10_name
    SECTIONS += [
        ("%s: exits, ioeventfd and irqfd (edge, level) through hvabs vs raw /dev/gunyah ioctls" % _label,
         tuple(_n(p) for p in ("gunyah_floor_ioctl", "gunyah_floor_untrapped", "gunyah_floor_raw_mmio",
                               "gunyah_mmio_", "gunyah_floor_raw_ioeventfd_doorbell", "gunyah_ioeventfd_doorbell",
                               "gunyah_floor_eventfd", "gunyah_floor_raw_irqfd_latency", "gunyah_irqfd_latency",
                               "gunyah_floor_raw_irqfd_level", "gunyah_irqfd_level"))),
        ("%s: 1 → 2 vCPU threads (IO-handler-served MMIO exits)" % _label,
         tuple(_n(p) for p in ("gunyah_throughput_", "gunyah_floor_raw_throughput_", "gunyah_scaling_",
                               "gunyah_floor_2thread"))),
        ("%s: control plane" % _label, (_abi,)),
    ]


def in_section(case, prefixes):
    """Does @case belong under @prefixes? A gunyah_ prefix never takes the ABI v10 run's cases."""
    return any(case.startswith(p) and (p.startswith(V10) or not case.startswith(V10)) for p in prefixes)


def sizes_table(raw, case):
    try:
        with open(raw.file(case, ".sizes")) as f:
            lines = [l.split() for l in f if l.strip() and not l.startswith("#")]
    except OSError:
        return ""
    parts = []
    for size, net, per, bytes_per in lines:
        per = float(per)
        if abs(per) < 0.005:
            continue
        if abs(per - round(per)) < 0.005:
            parts.append("%d × %s B" % (round(per), size))
        else:
            parts.append("%.3f × %s B (= %.1f B)" % (per, size, float(bytes_per)))
    return ", ".join(parts)


def markdown(records, errors, extra, context, info, args, targets, made, raw, skipped=None):
    by = {r["case"]: r for r in records}
    out = []
    w = out.append
    w("# hvabs benchmarks")
    w("")
    w("<!-- Generated by scripts/bench.sh (bench/report.py); edit those, not this file. -->")
    w("")
    skipped = skipped or {}
    backends = sorted({r["backend"] for r in records if r["median"] is not None})
    w("Backends: %s. Every figure below was measured in one run of" % ", ".join("**%s**" % b for b in backends))
    w("`%s` on %s UTC; raw results: [`bench/results/latest.json`](../bench/results/latest.json)." % (
        args.command, datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")))
    w("")
    w("- **sim**: the in-process simulator, with callback guests (host functions) and with Unicorn guests")
    w("  (real x86 / arm64 machine code, `unicorn_*` cases).")
    if "kvm" in backends:
        w("- **kvm**: /dev/kvm%s. Each figure is set against the bench's own raw KVM_RUN loop in the same run." % (
            " (nested virtualization: this machine is itself a VM, so every exit also goes through the outer"
            " hypervisor)" if info.get("nested") else ""))
    if "gunyah (emulation)" in backends:
        w("- **gunyah (emulation)**: the gunyah backend through `libhvabs-gunyah-emu.so`, the /dev/gunyah ABI")
        w("  emulator (seccomp user notification; guests are emulator callback guests on a private sim VM), ABI %s," % (
            context.get("gunyah_abi", "v14")))
        w("  in its own process. **These are the emulator's costs, not Gunyah's**: each trapped ioctl is a")
        w("  round trip through the emulator's supervisor thread (`gunyah_floor_ioctl_roundtrip`).")
    if "gunyah-v10 (emulation)" in backends:
        w("- **gunyah-v10 (emulation)**: the same cases with the emulator and the backend (and the raw floor) on ABI")
        w("  %s (`hvabs-bench-gunyah --hvabs_gunyah_abi=v10`, a process of its own), named `gunyah_v10_*`." % (
            context.get("gunyah_v10_abi", "v10")))
    for backend, why in sorted(skipped.items()):
        w("- **%s: skipped** — %s." % (backend, why))
    w("")
    w("## Machine")
    w("")
    w("| | |")
    w("|---|---|")
    w("| `nproc` | %s |" % info["nproc"])
    w("| CPU (/proc/cpuinfo) | %s |" % info["cpu"])
    w("| kernel | %s |" % info["kernel"])
    if info["mem"]:
        w("| memory | %s |" % info["mem"])
    if info["clocksource"]:
        w("| clocksource | %s |" % info["clocksource"])
    w("| load average (1 min) before / after | %s / %s |" % (args.load_before or "?", args.load_after or "?"))
    share = machine_share(args)
    if share:
        w("| CPU time of other processes / stolen by the hypervisor during the run | %.0f %% / %.0f %% of %s CPUs |"
          % (100 * share[0], 100 * share[1], info["nproc"]))
    w("| hvabs | %s, Release `-O2` (build/bench) |" % context.get("hvabs_version", "?"))
    w("| Google Benchmark | libbenchmark-dev 1.7.1 (Debian; its own build reports %s) |" % (
        "DEBUG" if context.get("library_build_type") == "debug" else context.get("library_build_type", "?")))
    w("")
    w("The machine is a 2-vCPU VM shared with other jobs: absolute figures move between runs; compare figures")
    w("from the same run (floors and ratios are measured next to the cases they belong to).")
    busy = share is not None and share[0] + share[1] >= 0.1
    if busy:
        w("")
        w("**Other jobs used the machine during this run** (see above): the cases that need both CPUs")
        w("at once (`access_no_handler`, `throughput_2vcpu`, `kvm_throughput_2vcpu`, the irqfd latencies) suffer")
        w("most; `floor_2thread_scaling` / `kvm_floor_2thread_scaling` show how much of the second CPU the bench")
        w("actually got.")
    w("")
    w("## Targets")
    w("")
    w("| backend | target | case | measured | limit | status | note |")
    w("|---|---|---|---|---|---|---|")
    for what, case, shown, limit, status, note, backend in targets:
        w("| %s | %s | %s | %s | %s | %s | %s |" % (backend, what, case, shown, limit, status, note))
    w("")
    missed = [t for t in targets if t[4] != "met"]
    if missed:
        w("Missed or unmeasured targets are listed as measured; no limit was loosened.")
        w("")
        keys = [(t[1], re.search(r"`([^`]+)`", t[1])) for t in missed]
        notes = [(c, MISSED_WHY[m.group(1)]) for c, m in keys if m and m.group(1) in MISSED_WHY]
        if notes:
            w("Why they are missed (profiled; what was tried):")
            w("")
            for case, why in notes:
                w("- %s: %s" % (case, why))
    else:
        w("All targets met in this run.")
    w("")
    if errors:
        w("## Cases that failed to run")
        w("")
        for case, msg in errors:
            w("- `%s`: %s" % (case, msg))
        w("")
    w("## Method")
    w("")
    if len(raw.dirs) > 1:
        w("- The bench ran %d times back to back; each case's record (median, p99, p99.9, floor, ratio) is" % len(raw.dirs))
        w("  the one of the run with the middle median, and the tables list every run's median.")
    w("- sim callback-guest latencies are timed **inside the guest** (the sim guest thread): the guest times batches")
    w("  of accesses with `clock_gettime(CLOCK_MONOTONIC)` (64 per batch for handler-served accesses and the")
    w("  floor, 16 for runner round trips) and records each batch mean; median / p99 / p99.9 are nearest-rank")
    w("  percentiles **of those batch means** (a batch mean hides single-access outliers shorter than the")
    w("  batch). 10 % warm-up batches are discarded.")
    w("- Floors are measured in the same run, next to their case: an indirect call through a function table")
    w("  (the floor of a callback dispatch), a spin ping-pong between two threads (the floor of a guest →")
    w("  runner → guest handoff), an eventfd wake-up of a blocked thread (the floor of irqfd injection, which")
    w("  needs two wake-ups in sim: its irqfd thread, then the guest thread).")
    w("- Control-plane operations are timed one by one (`clock_gettime` around each call or pair; its cost,")
    w("  `floor_clock_gettime`, is included).")
    w("- Every sim callback-guest bench VM has one 4 KiB library-owned RAM region (a VM needs a region to")
    w("  start).")
    w("- Memory: `hvabs_set_allocator` installs a counting allocator (a 16-byte header keeps each block's size,")
    w("  so `realloc` is exact); bytes per instance = (live bytes after adding N instances − before) / N.")
    w("  Bytes the OS holds outside the allocator (guest thread stacks, epoll registrations) are reported")
    w("  separately where the bench can see them (RSS / address space from /proc/self/statm).")
    w("- Units: `ns` per operation, `bytes`, `Maccess/s` (10⁶ handler-served accesses per second), `Mexit/s`")
    w("  (10⁶ exits per second), `kexit/s` (10³ exits per second), `fds`, `x` (a ratio).")
    w("- `floor_median` is the floor's median from the same run; `ratio` is median ÷ floor, except where the")
    w("  table says otherwise (dispatch: ÷ the 1-handler median; throughput: 2 vCPUs ÷ 1 vCPU).")
    w("- **sim with Unicorn guests** (`unicorn_*`): the guest programs of `tests/guests` (`mmio_loop-*`,")
    w("  `irq_edge-*`). MMIO writes are stamped every 64 writes **inside the IO handler** (sim) and inside the")
    w("  `uc_mmio_map` write callback of a bare Unicorn instance running the same binary (the floor); 8")
    w("  alternating rounds of 64,000 writes each, 10 % warm-up batches of each round dropped. irqfd wake-up:")
    w("  the guest waits in HLT / WFI with interrupts on; 100 µs after its last report the bench stamps and")
    w("  writes the irqfd's eventfd; the sample ends in the IO handler that receives the guest's report.")
    w("- **kvm** (`kvm_*`): small real-mode guests (`bench/guests/kvm_*.s`, assembled at build time). The floor")
    w("  is the bench's own loop on `<linux/kvm.h>` with the backend's VM setup (TSS address, in-kernel PIC +")
    w("  IOAPIC, supported CPUID, one memslot, real-mode entry), so raw and hvabs differ by hvabs alone.")
    w("  Exits are timed **from the VMM side** in batches of 32: around `KVM_RUN` / `hvabs_vcpu_run` calls")
    w("  (exits returned to the caller), or stamped every 32nd call inside the IO handler (exits served by")
    w("  a handler: one `hvabs_vcpu_run` serves them all). Raw, returned and served alternate in rounds")
    w("  (60 rounds of 32 batches), so all three see the same load. The ioeventfd doorbell is guest-side")
    w("  throughput: rounds of 64 doorbell writes ended by one OUT exit, time per round ÷ 64. irqfd: the")
    w("  vCPU thread waits in the guest's `hlt`; 100 µs after the previous report the bench stamps and writes")
    w("  the eventfd; the sample ends when the guest's handler's OUT reaches the vCPU thread.")
    w("  Control-plane pairs alternate which of raw / hvabs goes first.")
    w("- sim callback guests, PIO (`dispatch_pio_*`): 4-byte `pio_write` / `pio_read` to one PIO handler, timed like")
    w("  the MMIO dispatch cases. Doorbell (`doorbell_*`): 4-byte writes to an ioeventfd vs to a no-op IO handler")
    w("  on one VM, alternating rounds; sim's ioeventfd is core's generic one (an IO handler writing the eventfd).")
    w("- Ticket populate at start (`vm_start_tickets_nN`): a user-defined type whose bind claims one BELL_RX")
    w("  doorbell (its own label) with a ticket; (`hvabs_vm_start` with N instances − the same VM without) / N,")
    w("  alternating rounds.")
    w("- **sim with Unicorn guests**, reads and doorbells: the bench's own guests (`bench/guests/uc_*.S`, built like")
    w("  tests/guests). MMIO reads are stamped in the read callback like the writes. Doorbell: rounds of 64 doorbell")
    w("  writes and one tick write; the tick's IO handler stamps each round (round time ÷ 64 per doorbell write),")
    w("  the doorbell an IO handler or an ioeventfd in alternating runs.")
    w("- **kvm** memory (`kvm_mem_*`): the counting allocator as for sim; VMs are built together (create, RAM, boot,")
    w("  vCPU 0, start), each function kind is added to one RUNNING VM; `_fds` rows count /proc/self/fd (the kernel")
    w("  objects: guest RAM and kvm_run pages are mmap()ed, outside the allocator). Level irqfd: KVM_IRQFD with")
    w("  KVM_IRQFD_FLAG_RESAMPLE vs an hvabs irqfd with LEVEL | RESAMPLE, the same guest (edge-mode PIC; the")
    w("  resampler drops the line at its EOI). MMIO reads: `bench/guests/kvm_mmio_read.s`, 16 rounds of 12 batches.")
    w("- **gunyah (emulation)** (`gunyah_*`): the floor speaks the v14 ioctls directly (its own devicetree")
    w("  with libfdt, built in a heap buffer and copied into RAM as the backend does); exits are batched by 8 (each")
    w("  is a supervisor round trip of tens of µs). 1 → 2 vCPU threads: 5 rounds of 300 exits per lane. vCPU")
    w("  add/remove uses id 1, which the devicetree does not name (the ticket waits, as the kernel's). The")
    w("  `gunyah_v10_*` cases repeat everything on ABI v10 (a v10 raw floor: the vCPU id passed by value).")
    w("")
    placed = set()
    for title, prefixes in SECTIONS:
        rows = [r for r in records if r["case"] not in placed and in_section(r["case"], prefixes)]
        if not rows:
            continue
        w("## " + title)
        w("")
        mem = ": memory" in title
        if mem:
            w("| case | what | median | allocations / instance | breakdown (blocks per instance × requested size) |")
            w("|---|---|---|---|---|")
        else:
            w("| case | what | median | p99 | p99.9 | floor | ratio (= …) | samples × batch | median of each run |")
            w("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            placed.add(r["case"])
            _, what, _floor, ratio_def = describe(r["case"])
            u = r["unit"]
            ex = extra.get(r["case"], {})
            if mem:
                allocs = ex.get("allocs")
                w("| `%s` | %s | %s | %s | %s |" % (r["case"], what, fmt(r["median"], u) + ("" if u == "bytes" else " " + u),
                                                   "–" if allocs is None else "%.2f" % allocs,
                                                   sizes_table(raw, r["case"]) or "–"))
                continue
            if r["ratio"] is None:
                ratio = "–"
            elif ratio_def in ("-", "1"):
                ratio = "%.2f" % r["ratio"]
            else:
                ratio = "%.2f (%s)" % (r["ratio"], ratio_def)
            sb = "–"
            if ex.get("samples"):
                sb = "%d × %d" % (ex["samples"], ex.get("batch") or 1)
            unit_note = "" if u in ("ns", "bytes", "x") else " " + u
            runs = " / ".join(fmt(m, u) for m in ex.get("runs", []))
            w("| `%s` | %s | %s%s | %s | %s | %s | %s | %s | %s |" % (
                r["case"], what, fmt(r["median"], u), unit_note, fmt(r["p99"], u), fmt(r["p999"], u),
                fmt(r["floor_median"], u if u == "ns" else ""), ratio, sb, runs))
        w("")
        if mem and title.startswith("sim"):
            try:
                with open(raw.file("structs", ".txt")) as f:
                    structs = [l.strip().rsplit(" ", 1) for l in f if l.strip()]
                w("Private struct sizes behind the breakdowns (this build): " +
                  ", ".join("%s = %s B" % (n, s) for n, s in structs) + ".")
                w("")
            except OSError:
                pass
    rest = [r for r in records if r["case"] not in placed]
    if rest:
        w("## Other cases")
        w("")
        for r in rest:
            w("- `%s`: %s %s" % (r["case"], fmt(r["median"], r["unit"]), r["unit"]))
        w("")
    if made:
        w("## Plots")
        w("")
        for name in made:
            w("![%s](img/%s)" % (name, name))
            w("")
    w("## Reproduce")
    w("")
    w("```sh")
    w("%s          # full run: builds build/bench (Release, -O2), writes bench/results/latest.json," % args.command)
    w("                          # regenerates this file and docs/img/*.png")
    w("scripts/bench.sh --smoke  # a few iterations; checks the JSON's shape only (CI)")
    w("```")
    w("")
    w("Per run, bench.sh starts six processes: `hvabs-bench` for the sim callback-guest cases, the VM-count")
    w("cases (fresh process: RSS), the Unicorn cases and the KVM cases, then `hvabs-bench-gunyah` twice (ABI v14,")
    w("then v10), which installs the emulator's seccomp filter (it cannot be removed, so no other case shares that")
    w("process).")
    w("Without a usable /dev/kvm the KVM cases are not registered and the report says why; the same for the")
    w("gunyah cases without libfdt or seccomp user notification.")
    w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--run", action="append", required=True, help="directory of one run")
    b.add_argument("--json", required=True)
    b.add_argument("--md")
    b.add_argument("--img-dir")
    b.add_argument("--command", default="scripts/bench.sh")
    b.add_argument("--load-before", default="")
    b.add_argument("--load-after", default="")
    b.add_argument("--stat-before", default="", help="first line of /proc/stat before the run")
    b.add_argument("--stat-after", default="", help="first line of /proc/stat after the run")
    b.add_argument("--own-cpu", default="", help="CPU seconds (user + sys) the bench processes used")
    b.add_argument("--smoke", action="store_true", help="few iterations: target lines are not an assessment")
    c = sub.add_parser("check")
    c.add_argument("json")
    args = ap.parse_args()

    if args.cmd == "check":
        try:
            with open(args.json) as f:
                records = json.load(f)
        except (OSError, ValueError) as e:
            print("report.py: %s: %s" % (args.json, e), file=sys.stderr)
            return 1
        problems = check(records)
        for p in problems:
            print("report.py: %s: %s" % (args.json, p), file=sys.stderr)
        if not problems:
            print("report.py: %s: %d well-formed records" % (args.json, len(records)))
        return 1 if problems else 0

    records, errors, extra, context, raw, skipped = load_runs(args.run)
    problems = check(records)
    if problems:
        for p in problems:
            print("report.py: " + p, file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json + ".tmp", "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")
    os.replace(args.json + ".tmp", args.json)
    by = {r["case"]: r for r in records}
    targets = target_rows(by, raw, skipped)
    if args.md:
        made = plots(by, raw, args.img_dir) if args.img_dir else []
        with open(args.md, "w") as f:
            f.write(markdown(records, errors, extra, context, machine(), args, targets, made, raw, skipped))
    if args.smoke:
        print("  (smoke run: a few iterations; the lines below are not an assessment)")
    for what, case, shown, limit, status, _, backend in targets:
        print("  %-12s %-20s %-70s %s (limit %s)" % (status.replace("*", ""), backend, what, shown, limit))
    for case, msg in errors:
        print("report.py: case %s failed: %s" % (case, msg), file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
