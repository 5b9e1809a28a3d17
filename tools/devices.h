/* SPDX-License-Identifier: MIT */
/* tools/devices.h: hvabs-run's emulated devices - 16550/PL011 console, exit device, vCPU id register. */
#ifndef HVABS_RUN_DEVICES_H
#define HVABS_RUN_DEVICES_H

#include <hvabs.h>

#include <pthread.h>
#include <stdio.h>

/* Called on a vCPU thread when the guest writes @status to the exit device. */
typedef void (*run_exit_fn)(struct hvabs_vcpu *vcpu, uint8_t status, void *payload);

/**
 * struct run_console - host side of the guest console.
 * @in_fd:  input (stdin), read without blocking; -1 for none.
 * @out:    where guest output goes (stdout).
 * The rest is device state, guarded by @lock (vCPUs access it in parallel).
 */
struct run_console {
	pthread_mutex_t lock;
	int in_fd;
	FILE *out;
	bool out_flush_each; /* flush every byte (interactive output) */
	bool in_closed;
	int in_byte; /* looked-ahead input byte, or -1 */
	uint64_t tx_bytes, rx_bytes;
	/* 16550 */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	/* PL011 */
	uint32_t dr_ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
};

/**
 * struct run_devices - every device of one VM.
 * @console:   console state (run_devices_init() sets it up).
 * @on_exit:   exit-device callback; @exit_payload is passed back.
 */
struct run_devices {
	struct run_console console;
	run_exit_fn on_exit;
	void *exit_payload;
};

/* Set up device state; @in_fd may be -1. Return 0 or -1 (mutex init failed). */
int run_devices_init(struct run_devices *dev, int in_fd, FILE *out);
void run_devices_fini(struct run_devices *dev);

/**
 * run_devices_add() - register the devices of @arch on @vm as IO handlers.
 * Return: 0, or the hvabs code of the failing hvabs_vm_io_handler_add()
 * (*what_out names the device).
 */
int run_devices_add(struct run_devices *dev, struct hvabs_vm *vm, enum hvabs_arch arch,
		    const char **what_out);

/* Flush guest output (at exit). */
void run_console_flush(struct run_console *con);

#endif
