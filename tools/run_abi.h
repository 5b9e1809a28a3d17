/* SPDX-License-Identifier: MIT */
/* tools/run_abi.h: hvabs-run's guest-visible conventions - memory layout, device addresses, exit codes. */
#ifndef HVABS_RUN_ABI_H
#define HVABS_RUN_ABI_H

/*
 * These values are the contract between hvabs-run and the guest programs
 * written for it (tests/guests/, examples/guests/). They are duplicated on
 * purpose rather than taken from backend headers: the tool only uses the
 * public API. docs/hvabs-run.md describes them for guest authors.
 */

/* ---- x86_64 guests ---- */

#define RUN_X86_RAM_BASE 0x0ull
#define RUN_X86_LOAD_ADDR 0x1000ull /* flat images and the default entry */
#define RUN_X86_STACK_REAL 0x1000ull /* initial SP in real mode (SS = 0) */
#define RUN_X86_STACK_FLAT 0x90000ull /* initial ESP/RSP in prot32/long64 */
#define RUN_X86_SCRATCH 0x90000ull /* 64 KiB GDT/page tables, prot32/long64 */
#define RUN_X86_SCRATCH_SIZE 0x10000ull
#define RUN_X86_MEM_MAX 0xc0000000ull /* 3 GiB: stay clear of the 32-bit MMIO hole */

#define RUN_X86_UART_PORT 0x3f8u /* 16550 COM1, 8 ports */
#define RUN_X86_UART_PORTS 8u
#define RUN_X86_EXIT_PORT 0x501u /* write: exit status (low 8 bits) */
#define RUN_X86_VCPUID_PORT 0x502u /* read: id of the reading vCPU */

/* ---- arm64 guests ---- */

#define RUN_ARM64_RAM_BASE 0x40000000ull
#define RUN_ARM64_LOAD_ADDR 0x40080000ull /* flat images and the default entry */
#define RUN_ARM64_STACK 0x40080000ull /* initial SP_EL1 */
#define RUN_ARM64_MEM_MAX 0x1000000000ull /* 64 GiB */

/* --backend gunyah: RAM starts at the entry; its top is the devicetree's (docs/gunyah.md). */
#define RUN_GUNYAH_DTB_RESERVE 0x10000ull /* 64 KiB the image must leave free */

#define RUN_ARM64_UART_ADDR 0x09000000ull /* PL011, 4 KiB */
#define RUN_ARM64_UART_SIZE 0x1000ull
#define RUN_ARM64_EXIT_ADDR 0x09010000ull /* write: exit status (low 8 bits) */
#define RUN_ARM64_VCPUID_ADDR 0x09020000ull /* read: id of the reading vCPU */

/* ---- common ---- */

#define RUN_DEFAULT_MEM (64ull << 20)
#define RUN_MAX_VCPUS 64u

/*
 * Exit status of hvabs-run. A status the guest writes to the exit device
 * (0-255) is returned as is, so guests should avoid 1, 2 and 128-133
 * when they want to tell them apart.
 */
#define RUN_EXIT_OK 0 /* guest powered off (STATUS EXITED) */
#define RUN_EXIT_FAILURE 1 /* hvabs or backend failure, internal exit */
#define RUN_EXIT_USAGE 2 /* bad command line or invalid image */
#define RUN_EXIT_SIGNAL_BASE 128 /* + signal number: SIGINT 130, SIGTERM 143 */
#define RUN_EXIT_HALTED 131 /* every vCPU halted without an exit-device write */
#define RUN_EXIT_RESET 132 /* shutdown (triple fault), reset or system event */
#define RUN_EXIT_CRASHED 133 /* VM crashed (STATUS CRASHED) */

#endif
