/* SPDX-License-Identifier: MIT */
/* examples/demo/hvabs-demo.c: a minimal VMM - a sim callback guest prints through an emulated 16550 UART. */
#include <hvabs.h>

#include <stdio.h>
#include <string.h>

/* The few 16550 registers the guest uses, as offsets from COM1. */
#define COM1 0x3f8u
#define UART_THR 0u /* transmit holding register (write) */
#define UART_LSR 5u /* line status register (read) */
#define UART_LSR_THRE 0x20u /* transmit holding register empty */
#define UART_LSR_TEMT 0x40u /* transmitter empty */
#define UART_NR_REGS 8u

static const char guest_message[] = "hello from a callback guest\n";

/* Host side of the UART: what the guest transmitted. */
struct uart {
	char out[256];
	size_t len;
};

/* Guest side: everything the guest needs to know, passed as its payload. */
struct guest_info {
	const char *message;
	uint32_t exit_status;
};

static int uart_write(struct hvabs_vcpu *vcpu, uint64_t port, uint32_t len, uint64_t data,
		      void *payload)
{
	struct uart *uart = payload;
	char c = (char)(data & 0xff);

	(void)vcpu;
	(void)len;
	if (port - COM1 != UART_THR)
		return 0; /* other registers (IER, LCR, ...) accept and ignore writes */
	fputc(c, stdout);
	if (c == '\n')
		fflush(stdout);
	if (uart->len < sizeof(uart->out))
		uart->out[uart->len++] = c;
	return 0;
}

static int uart_read(struct hvabs_vcpu *vcpu, uint64_t port, uint32_t len, uint64_t *data,
		     void *payload)
{
	(void)vcpu;
	(void)len;
	(void)payload;
	/* Transmission is instantaneous: the line status is always "empty". */
	*data = port - COM1 == UART_LSR ? UART_LSR_THRE | UART_LSR_TEMT : 0;
	return 0;
}

/* The guest's UART driver: poll LSR until THR is empty, then write the byte. */
static int guest_putc(struct hvabs_sim_guest *g, char c)
{
	uint32_t lsr = 0;

	do {
		if (hvabs_sim_guest_pio_read(g, COM1 + UART_LSR, 1, &lsr))
			return -1;
	} while (!(lsr & UART_LSR_THRE));
	return hvabs_sim_guest_pio_write(g, COM1 + UART_THR, 1, (uint8_t)c);
}

/* The callback guest: print the message, then power off with a status. */
static void guest_main(struct hvabs_sim_guest *g, void *payload)
{
	const struct guest_info *info = payload;
	uint8_t reason[4];
	uint32_t status = info->exit_status;
	const char *p;

	for (p = info->message; *p; p++) {
		if (guest_putc(g, *p)) {
			status = 1;
			break;
		}
	}
	memcpy(reason, &status, sizeof(reason));
	hvabs_sim_guest_exit(g, false, HVABS_EXIT_TYPE_VM_EXIT, reason, sizeof(reason));
}

static int report(const char *what, int ret)
{
	const struct hvabs_error *e = hvabs_error_last();

	fprintf(stderr, "hvabs-demo: %s: %s (%s: %s)\n", what, hvabs_strerror(ret), e->backend,
		e->message);
	return ret;
}

static int vm_setup(struct hvabs_vm *vm, struct uart *uart, struct guest_info *info,
		    struct hvabs_vcpu **vcpu)
{
	struct hvabs_io_desc io = {
		.version = HVABS_IO_DESC_VERSION,
		.space = HVABS_SPACE_PIO,
		.addr = COM1,
		.size = UART_NR_REGS,
		.len = 1,
		.read = uart_read,
		.write = uart_write,
		.payload = uart,
	};
	struct hvabs_mem_region ram = {
		.version = HVABS_MEM_REGION_VERSION,
		.flags = HVABS_MEM_READ | HVABS_MEM_WRITE,
		.size = 16 * HVABS_PAGE_SIZE,
	};
	struct hvabs_io_handler *handler;
	int ret;

	ret = hvabs_vm_mem_add(vm, &ram);
	if (ret)
		return report("add guest memory", ret);
	ret = hvabs_vm_vcpu_add(vcpu, vm, 0);
	if (ret)
		return report("add vCPU 0", ret);
	ret = hvabs_sim_vcpu_set_guest(*vcpu, guest_main, info);
	if (ret)
		return report("attach the callback guest", ret);
	ret = hvabs_vm_io_handler_add(&handler, vm, &io);
	if (ret)
		return report("register the UART", ret);
	ret = hvabs_vm_start(vm);
	if (ret)
		return report("start the VM", ret);
	return 0;
}

/* The run loop: every UART access is served inside hvabs_vcpu_run(). */
static int vm_run(struct hvabs_vcpu *vcpu)
{
	struct hvabs_exit *exit = hvabs_vcpu_exit(vcpu);
	int ret;

	for (;;) {
		ret = hvabs_vcpu_run(vcpu);
		if (ret)
			return report("run vCPU 0", ret);
		switch (exit->reason) {
		case HVABS_EXIT_STATUS:
			return 0;
		case HVABS_EXIT_MMIO:
			/* No device there: fault the access back into the guest. */
			exit->mmio.resume = HVABS_RESUME_FAULT;
			break;
		case HVABS_EXIT_PIO:
			exit->pio.resume = HVABS_RESUME_FAULT;
			break;
		case HVABS_EXIT_INTR:
			break;
		default:
			fprintf(stderr, "hvabs-demo: unexpected exit %s\n",
				hvabs_exit_reason_name(exit->reason));
			return HVABS_ERROR;
		}
	}
}

/* Print the final status; 0 when the guest exited cleanly and the UART saw its message. */
static int vm_report(struct hvabs_vm *vm, struct hvabs_vcpu *vcpu, const struct uart *uart,
		     const struct guest_info *info)
{
	struct hvabs_vcpu_stats stats;
	struct hvabs_vm_status st;
	uint32_t status = 0;
	size_t want = strlen(info->message);

	hvabs_vm_status_get(vm, &st);
	hvabs_vcpu_stats_get(vcpu, &stats);
	if (st.reason_size == sizeof(status))
		memcpy(&status, st.reason, sizeof(status));
	printf("VM %s: exit type %u, guest status %u; %llu UART accesses served, %llu exits\n",
	       hvabs_vm_state_name(st.state), (unsigned int)st.exit_type, (unsigned int)status,
	       (unsigned long long)stats.dispatched,
	       (unsigned long long)(stats.exits[HVABS_EXIT_STATUS] + stats.returned));
	if (st.state != HVABS_VM_EXITED || st.reason_size != sizeof(status) || status != 0)
		return 1;
	if (uart->len != want || memcmp(uart->out, info->message, want) != 0) {
		fprintf(stderr, "hvabs-demo: UART received %zu of %zu expected bytes\n", uart->len,
			want);
		return 1;
	}
	return 0;
}

int main(void)
{
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct guest_info info = { guest_message, 0 };
	struct uart uart = { .len = 0 };
	struct hvabs_vcpu *vcpu = NULL;
	struct hvabs_vm *vm;
	int ret;

	opts.backend = "sim"; /* callback guests exist only in the simulator */
	ret = hvabs_vm_create(&vm, &opts);
	if (ret) {
		report("create a sim VM", ret);
		return 1;
	}
	ret = vm_setup(vm, &uart, &info, &vcpu);
	if (!ret)
		ret = vm_run(vcpu);
	if (!ret)
		ret = vm_report(vm, vcpu, &uart, &info);
	hvabs_vm_destroy(vm);
	return ret ? 1 : 0;
}
