/* SPDX-License-Identifier: MIT */
/* tools/devices.c: hvabs-run's emulated devices, served as hvabs IO handlers on vCPU threads. */
#include "devices.h"

#include "run_abi.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* 16550 register offsets and bits (the subset hvabs-run models). */
#define UART_RBR_THR 0u
#define UART_IER 1u
#define UART_IIR_FCR 2u
#define UART_LCR 3u
#define UART_MCR 4u
#define UART_LSR 5u
#define UART_MSR 6u
#define UART_SCR 7u
#define UART_LCR_DLAB 0x80u
#define UART_IIR_NO_INT 0x01u
#define UART_IIR_FIFO 0xc0u
#define UART_FCR_ENABLE 0x01u
#define UART_MCR_LOOP 0x10u
#define UART_LSR_DR 0x01u
#define UART_LSR_THRE 0x20u
#define UART_LSR_TEMT 0x40u
#define UART_MSR_IDLE 0xb0u /* DCD, DSR, CTS: a cable is attached */

/* PL011 register offsets and bits. */
#define PL011_DR 0x000u
#define PL011_RSR 0x004u
#define PL011_FR 0x018u
#define PL011_ILPR 0x020u
#define PL011_IBRD 0x024u
#define PL011_FBRD 0x028u
#define PL011_LCR_H 0x02cu
#define PL011_CR 0x030u
#define PL011_IFLS 0x034u
#define PL011_IMSC 0x038u
#define PL011_RIS 0x03cu
#define PL011_MIS 0x040u
#define PL011_ICR 0x044u
#define PL011_DMACR 0x048u
#define PL011_ID_BASE 0xfe0u
#define PL011_FR_RXFE 0x10u
#define PL011_FR_TXFE 0x80u
#define PL011_CR_RESET 0x300u
#define PL011_IFLS_RESET 0x12u

/* PeriphID0-3 and PCellID0-3 of an ARM PL011 r1p5. */
static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

int run_devices_init(struct run_devices *dev, int in_fd, FILE *out)
{
	struct run_console *con = &dev->console;

	memset(dev, 0, sizeof(*dev));
	if (pthread_mutex_init(&con->lock, NULL))
		return -1;
	con->in_fd = in_fd;
	con->in_closed = in_fd < 0;
	con->in_byte = -1;
	con->out = out;
	con->out_flush_each = isatty(fileno(out));
	con->cr = PL011_CR_RESET;
	con->ifls = PL011_IFLS_RESET;
	return 0;
}

void run_devices_fini(struct run_devices *dev)
{
	pthread_mutex_destroy(&dev->console.lock);
}

void run_console_flush(struct run_console *con)
{
	pthread_mutex_lock(&con->lock);
	fflush(con->out);
	pthread_mutex_unlock(&con->lock);
}

/* ---- console input/output (con->lock held) ---- */

/* Look ahead one input byte without blocking; true when one is available. */
static bool console_poll_input(struct run_console *con)
{
	struct pollfd pfd = { .fd = con->in_fd, .events = POLLIN };
	unsigned char c;
	ssize_t n;

	if (con->in_byte >= 0)
		return true;
	if (con->in_closed || poll(&pfd, 1, 0) <= 0)
		return false;
	if (pfd.revents & POLLNVAL) {
		con->in_closed = true;
		return false;
	}
	n = read(con->in_fd, &c, 1);
	if (n == 1) {
		con->in_byte = c;
		return true;
	}
	if (n == 0 || (errno != EINTR && errno != EAGAIN))
		con->in_closed = true; /* end of input: report "no data" from now on */
	return false;
}

static uint8_t console_take_input(struct run_console *con)
{
	uint8_t c;

	if (!console_poll_input(con))
		return 0;
	c = (uint8_t)con->in_byte;
	con->in_byte = -1;
	con->rx_bytes++;
	return c;
}

static void console_output(struct run_console *con, uint8_t c)
{
	fputc(c, con->out);
	if (con->out_flush_each || c == '\n')
		fflush(con->out);
	con->tx_bytes++;
}

/* ---- 16550 (x86 ports 0x3f8-0x3ff) ---- */

/* MSR in loopback mode: modem outputs (MCR) wired back to modem inputs. */
static uint8_t uart_msr(const struct run_console *con)
{
	uint8_t m = con->mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_IDLE;
	return (uint8_t)(((m & 0x02u) << 3) | ((m & 0x01u) << 5) | ((m & 0x04u) << 4) |
			 ((m & 0x08u) << 4));
}

static uint8_t uart_reg_read(struct run_console *con, uint32_t reg)
{
	bool dlab = con->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		return dlab ? con->dll : console_take_input(con);
	case UART_IER:
		return dlab ? con->dlm : con->ier;
	case UART_IIR_FCR:
		return UART_IIR_NO_INT | ((con->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0);
	case UART_LCR:
		return con->lcr;
	case UART_MCR:
		return con->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT | (console_poll_input(con) ? UART_LSR_DR : 0);
	case UART_MSR:
		return uart_msr(con);
	default:
		return con->scr;
	}
}

static void uart_reg_write(struct run_console *con, uint32_t reg, uint8_t v)
{
	bool dlab = con->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			con->dll = v;
		else
			console_output(con, v);
		break;
	case UART_IER:
		if (dlab)
			con->dlm = v;
		else
			con->ier = v & 0x0fu;
		break;
	case UART_IIR_FCR:
		con->fcr = v;
		break;
	case UART_LCR:
		con->lcr = v;
		break;
	case UART_MCR:
		con->mcr = v & 0x1fu;
		break;
	case UART_SCR:
		con->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}

static int uart_read(struct hvabs_vcpu *vcpu, uint64_t port, uint32_t len, uint64_t *data,
		     void *payload)
{
	struct run_console *con = payload;

	(void)vcpu;
	(void)len;
	pthread_mutex_lock(&con->lock);
	*data = uart_reg_read(con, (uint32_t)(port - RUN_X86_UART_PORT));
	pthread_mutex_unlock(&con->lock);
	return 0;
}

static int uart_write(struct hvabs_vcpu *vcpu, uint64_t port, uint32_t len, uint64_t data,
		      void *payload)
{
	struct run_console *con = payload;

	(void)vcpu;
	(void)len;
	pthread_mutex_lock(&con->lock);
	uart_reg_write(con, (uint32_t)(port - RUN_X86_UART_PORT), (uint8_t)data);
	pthread_mutex_unlock(&con->lock);
	return 0;
}

/* ---- PL011 (arm64 MMIO 0x09000000) ---- */

static uint32_t pl011_reg_read(struct run_console *con, uint32_t off)
{
	if (off >= PL011_ID_BASE && (off - PL011_ID_BASE) % 4 == 0)
		return pl011_id[(off - PL011_ID_BASE) / 4];
	switch (off) {
	case PL011_DR:
		return console_take_input(con);
	case PL011_FR:
		return PL011_FR_TXFE | (console_poll_input(con) ? 0 : PL011_FR_RXFE);
	case PL011_ILPR:
		return con->dr_ilpr;
	case PL011_IBRD:
		return con->ibrd;
	case PL011_FBRD:
		return con->fbrd;
	case PL011_LCR_H:
		return con->lcr_h;
	case PL011_CR:
		return con->cr;
	case PL011_IFLS:
		return con->ifls;
	case PL011_IMSC:
		return con->imsc;
	case PL011_DMACR:
		return con->dmacr;
	default:
		return 0; /* RSR, RIS, MIS (no interrupts raised) and reserved offsets */
	}
}

static void pl011_reg_write(struct run_console *con, uint32_t off, uint32_t v)
{
	switch (off) {
	case PL011_DR:
		console_output(con, (uint8_t)v);
		break;
	case PL011_ILPR:
		con->dr_ilpr = v & 0xffu;
		break;
	case PL011_IBRD:
		con->ibrd = v & 0xffffu;
		break;
	case PL011_FBRD:
		con->fbrd = v & 0x3fu;
		break;
	case PL011_LCR_H:
		con->lcr_h = v & 0xffu;
		break;
	case PL011_CR:
		con->cr = v & 0xffffu;
		break;
	case PL011_IFLS:
		con->ifls = v & 0x3fu;
		break;
	case PL011_IMSC:
		con->imsc = v & 0x7ffu;
		break;
	case PL011_DMACR:
		con->dmacr = v & 0x7u;
		break;
	default:
		break; /* RSR/ECR, ICR and read-only registers: accepted, ignored */
	}
}

static int pl011_read(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data,
		      void *payload)
{
	struct run_console *con = payload;

	(void)vcpu;
	(void)len;
	pthread_mutex_lock(&con->lock);
	*data = pl011_reg_read(con, (uint32_t)(addr - RUN_ARM64_UART_ADDR));
	pthread_mutex_unlock(&con->lock);
	return 0;
}

static int pl011_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
		       void *payload)
{
	struct run_console *con = payload;

	(void)vcpu;
	(void)len;
	pthread_mutex_lock(&con->lock);
	pl011_reg_write(con, (uint32_t)(addr - RUN_ARM64_UART_ADDR), (uint32_t)data);
	pthread_mutex_unlock(&con->lock);
	return 0;
}

/* ---- exit device and vCPU id register ---- */

static int exit_write(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t data,
		      void *payload)
{
	struct run_devices *dev = payload;

	(void)addr;
	(void)len;
	if (dev->on_exit)
		dev->on_exit(vcpu, (uint8_t)data, dev->exit_payload);
	return 0;
}

static int vcpuid_read(struct hvabs_vcpu *vcpu, uint64_t addr, uint32_t len, uint64_t *data,
		       void *payload)
{
	(void)addr;
	(void)len;
	(void)payload;
	*data = hvabs_vcpu_id(vcpu);
	return 0;
}

/* ---- registration ---- */

struct device_spec {
	const char *name;
	enum hvabs_space space;
	uint64_t addr;
	uint64_t size;
	uint32_t len;
	hvabs_io_read_fn read;
	hvabs_io_write_fn write;
	bool console; /* payload: the console, else the device set */
};

static const struct device_spec x86_devices[] = {
	{ "16550 UART", HVABS_SPACE_PIO, RUN_X86_UART_PORT, RUN_X86_UART_PORTS, 1, uart_read,
	  uart_write, true },
	{ "exit device", HVABS_SPACE_PIO, RUN_X86_EXIT_PORT, 1, 0, NULL, exit_write, false },
	{ "vCPU id register", HVABS_SPACE_PIO, RUN_X86_VCPUID_PORT, 1, 0, vcpuid_read, NULL,
	  false },
};

static const struct device_spec arm64_devices[] = {
	{ "PL011 UART", HVABS_SPACE_MMIO, RUN_ARM64_UART_ADDR, RUN_ARM64_UART_SIZE, 0, pl011_read,
	  pl011_write, true },
	{ "exit device", HVABS_SPACE_MMIO, RUN_ARM64_EXIT_ADDR, 4, 0, NULL, exit_write, false },
	{ "vCPU id register", HVABS_SPACE_MMIO, RUN_ARM64_VCPUID_ADDR, 4, 0, vcpuid_read, NULL,
	  false },
};

int run_devices_add(struct run_devices *dev, struct hvabs_vm *vm, enum hvabs_arch arch,
		    const char **what_out)
{
	const struct device_spec *specs = arch == HVABS_ARCH_ARM64 ? arm64_devices : x86_devices;
	size_t n = arch == HVABS_ARCH_ARM64 ? sizeof(arm64_devices) / sizeof(arm64_devices[0]) :
					      sizeof(x86_devices) / sizeof(x86_devices[0]);

	for (size_t i = 0; i < n; i++) {
		struct hvabs_io_desc desc = {
			.version = HVABS_IO_DESC_VERSION,
			.space = specs[i].space,
			.addr = specs[i].addr,
			.size = specs[i].size,
			.len = specs[i].len,
			.read = specs[i].read,
			.write = specs[i].write,
			.payload = specs[i].console ? (void *)&dev->console : (void *)dev,
		};
		struct hvabs_io_handler *h;
		int ret = hvabs_vm_io_handler_add(&h, vm, &desc);

		if (ret) {
			*what_out = specs[i].name;
			return ret;
		}
	}
	return 0;
}
