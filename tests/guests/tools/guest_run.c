/* SPDX-License-Identifier: MIT */
/* tests/guests/tools/guest_run.c: runs every guest program on the sim engine and checks it; --bench measures it. */
#include <hvabs.h>
#include <hvabs/sim.h>

#include "hvabs_guests.h"
#include "sim_engine_abi.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <unicorn/unicorn.h>

#define MAX_REPORTS 64
#define IRQ_BURST 16 /* interrupts of the back-to-back irq checks (<= MAX_REPORTS) */
#define MAX_VCPUS 2

static int failures;
static const char *only; /* run only scenarios whose name contains this */

static void fail(const char *scenario, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *scenario, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL %s: ", scenario);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* ---- one VM running one guest program ---- */

struct run {
	const char *name; /* scenario */
	const char *file;
	enum hvabs_arch arch;
	uint32_t mode;
	uint32_t nr_vcpus;
	uint64_t arg0;
	struct hvabs_vm *vm;
	struct hvabs_vcpu *vcpu[MAX_VCPUS];
	pthread_mutex_t lock;
	sem_t reported;
	char console[256];
	size_t console_len;
	uint32_t reports[MAX_REPORTS];
	unsigned int nr_reports;
	int exit_status[MAX_VCPUS]; /* -1: none yet */
	uint32_t echo;
	unsigned int faults_injected;
	/* Checked when a report arrives (irq_level): the line's sim state. */
	uint32_t check_line;
	uint32_t line_state_at_report;
	/* Edge irqfd raised by the report exit itself, before the guest resumes. */
	int raise_fd;
	uint32_t raise_line;
	unsigned int raise_left;
};

static int hv_check(struct run *r, int ret, const char *what)
{
	if (ret) {
		const struct hvabs_error *e = hvabs_error_last();

		fail(r->name, "%s: %s (%s)", what, hvabs_err_name(ret), e ? e->message : "?");
	}
	return ret;
}

static int load_file(struct run *r, uint64_t gpa)
{
	char path[512];
	FILE *f;
	void *dst;
	long size;

	snprintf(path, sizeof(path), "%s/%s", HVABS_GUEST_DIR, r->file);
	f = fopen(path, "rb");
	if (!f) {
		fail(r->name, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	dst = size > 0 ? hvabs_vm_mem_host(r->vm, gpa, (uint64_t)size) : NULL;
	if (!dst || fread(dst, 1, (size_t)size, f) != (size_t)size) {
		fail(r->name, "cannot load %s (%ld bytes)", path, size);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int run_boot(struct run *r)
{
	bool arm = r->arch == HVABS_ARCH_ARM64;
	bool flat = r->mode == HVABS_CPU_MODE_X86_PROT32 || r->mode == HVABS_CPU_MODE_X86_LONG64;
	struct hvabs_boot_config boot = {
		.version = HVABS_BOOT_CONFIG_VERSION,
		.entry = arm ? HVABS_GUEST_ARM64_LOAD : HVABS_GUEST_X86_LOAD,
		.cpu_mode = r->mode,
		.scratch_addr = flat ? HVABS_GUEST_X86_SCRATCH : 0,
		.arg0 = r->arg0,
		.stack = arm ? HVABS_GUEST_ARM64_STACK :
			 flat ? HVABS_GUEST_X86_STACK_FLAT : HVABS_GUEST_X86_STACK_REAL,
	};

	if (load_file(r, boot.entry))
		return -1;
	return hv_check(r, hvabs_vm_boot_set(r->vm, &boot), "boot_set");
}

/* Create the VM with RAM, the program and its vCPUs (not started). */
static int run_init(struct run *r)
{
	bool arm = r->arch == HVABS_ARCH_ARM64;
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct hvabs_mem_region ram = {
		.version = HVABS_MEM_REGION_VERSION,
		.label = HVABS_GUEST_RAM_LABEL,
		.flags = HVABS_MEM_RWX,
		.guest_addr = arm ? HVABS_GUEST_ARM64_RAM_BASE : HVABS_GUEST_X86_RAM_BASE,
		.size = arm ? HVABS_GUEST_ARM64_RAM_SIZE : HVABS_GUEST_X86_RAM_SIZE,
	};
	uint32_t i;

	pthread_mutex_init(&r->lock, NULL);
	sem_init(&r->reported, 0, 0);
	for (i = 0; i < MAX_VCPUS; i++)
		r->exit_status[i] = -1;
	opts.backend = "sim";
	opts.arch = r->arch;
	opts.nr_vcpus = r->nr_vcpus;
	if (hv_check(r, hvabs_vm_create(&r->vm, &opts), "vm_create"))
		return -1;
	if (hv_check(r, hvabs_vm_mem_add(r->vm, &ram), "mem_add") || run_boot(r))
		return -1;
	for (i = 0; i < r->nr_vcpus; i++)
		if (hv_check(r, hvabs_vm_vcpu_add(&r->vcpu[i], r->vm, i), "vcpu_add"))
			return -1;
	return 0;
}

static void run_fini(struct run *r)
{
	hvabs_vm_destroy(r->vm);
	sem_destroy(&r->reported);
	pthread_mutex_destroy(&r->lock);
}

/* Signal the raise irqfd and wait until its (edge) line is pending. */
static bool raise_pending(struct run *r)
{
	uint64_t one = 1;
	uint32_t st = 0;
	int i;

	if (write(r->raise_fd, &one, sizeof(one)) != sizeof(one))
		return false;
	for (i = 0; i < 50000; i++) {
		if (hvabs_sim_irq_state(r->vm, r->raise_line, &st) == 0 && (st & HVABS_SIM_IRQ_PENDING))
			return true;
		usleep(100);
	}
	return false;
}

static void run_report(struct run *r, uint32_t val)
{
	pthread_mutex_lock(&r->lock);
	if (r->nr_reports < MAX_REPORTS)
		r->reports[r->nr_reports++] = val;
	if (r->check_line != UINT32_MAX)
		(void)hvabs_sim_irq_state(r->vm, r->check_line, &r->line_state_at_report);
	if (r->raise_left) {
		r->raise_left--;
		if (!raise_pending(r))
			fail(r->name, "irqfd did not make line %u pending", r->raise_line);
	}
	pthread_mutex_unlock(&r->lock);
	sem_post(&r->reported);
}

static uint64_t le_get(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	while (len--)
		v = v << 8 | p[len];
	return v;
}

static void le_put(uint8_t *p, uint64_t v, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

enum step { STEP_CONTINUE, STEP_EXITED, STEP_STOPPED, STEP_HALTED, STEP_INTR, STEP_ERROR };

static enum step on_mmio(struct run *r, uint32_t id, struct hvabs_exit *x)
{
	uint64_t v = le_get(x->mmio.data, x->mmio.len);

	switch (x->mmio.addr) {
	case HVABS_GUEST_ARM64_UART_BASE + HVABS_GUEST_PL011_DR:
		if (x->mmio.is_write && r->console_len < sizeof(r->console) - 1)
			r->console[r->console_len++] = (char)v;
		return STEP_CONTINUE;
	case HVABS_GUEST_ARM64_UART_BASE + HVABS_GUEST_PL011_FR:
		le_put(x->mmio.data, 0, x->mmio.len);
		return STEP_CONTINUE;
	case HVABS_GUEST_ARM64_EXIT_MMIO:
		r->exit_status[id] = (int)(v & 0xff);
		return STEP_EXITED;
	case HVABS_GUEST_TEST_MMIO:
		run_report(r, (uint32_t)v);
		return STEP_CONTINUE;
	case HVABS_GUEST_ECHO_MMIO:
		if (x->mmio.is_write)
			r->echo = (uint32_t)v;
		else
			le_put(x->mmio.data, r->echo, x->mmio.len);
		return STEP_CONTINUE;
	case HVABS_GUEST_FAULT_MMIO:
		x->mmio.resume = HVABS_RESUME_FAULT;
		r->faults_injected++;
		return STEP_CONTINUE;
	}
	fail(r->name, "unexpected MMIO %s 0x%" PRIx64 " len %u", x->mmio.is_write ? "write" : "read",
	     x->mmio.addr, x->mmio.len);
	return STEP_ERROR;
}

static enum step on_pio(struct run *r, uint32_t id, struct hvabs_exit *x)
{
	uint64_t v = le_get(x->pio.data, x->pio.size);

	switch (x->pio.port) {
	case HVABS_GUEST_X86_UART_PORT:
		if (x->pio.is_write && r->console_len < sizeof(r->console) - 1)
			r->console[r->console_len++] = (char)v;
		return STEP_CONTINUE;
	case HVABS_GUEST_X86_UART_LSR_PORT:
		le_put(x->pio.data, HVABS_GUEST_UART_LSR_THRE, x->pio.size);
		return STEP_CONTINUE;
	case HVABS_GUEST_X86_EXIT_PORT:
		r->exit_status[id] = (int)(v & 0xff);
		return STEP_EXITED;
	case HVABS_GUEST_X86_TEST_PORT:
		run_report(r, (uint32_t)v);
		return STEP_CONTINUE;
	}
	fail(r->name, "unexpected PIO %s port 0x%x size %u", x->pio.is_write ? "write" : "read",
	     x->pio.port, x->pio.size);
	return STEP_ERROR;
}

/* Run vCPU @id until the guest exits, halts, stops or is kicked. */
static enum step run_vcpu(struct run *r, uint32_t id)
{
	struct hvabs_exit *x = hvabs_vcpu_exit(r->vcpu[id]);
	enum step s;

	for (;;) {
		if (hv_check(r, hvabs_vcpu_run(r->vcpu[id]), "vcpu_run"))
			return STEP_ERROR;
		switch (x->reason) {
		case HVABS_EXIT_MMIO:
			s = on_mmio(r, id, x);
			break;
		case HVABS_EXIT_PIO:
			s = on_pio(r, id, x);
			break;
		case HVABS_EXIT_STATUS:
			return STEP_STOPPED;
		case HVABS_EXIT_HLT:
			return STEP_HALTED;
		case HVABS_EXIT_INTR:
			return STEP_INTR;
		default:
			fail(r->name, "unexpected exit %s", hvabs_exit_reason_name(x->reason));
			return STEP_ERROR;
		}
		if (s != STEP_CONTINUE)
			return s;
	}
}

struct vcpu_thread {
	struct run *r;
	uint32_t id;
	enum step result;
	pthread_t thread;
};

static void *vcpu_main(void *arg)
{
	struct vcpu_thread *t = arg;

	t->result = run_vcpu(t->r, t->id);
	return NULL;
}

static void start_vcpu_thread(struct vcpu_thread *t, struct run *r, uint32_t id)
{
	t->r = r;
	t->id = id;
	pthread_create(&t->thread, NULL, vcpu_main, t);
}

/* Wait up to @ms for a report; false on timeout. */
static bool wait_report(struct run *r, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(&r->reported, &ts))
		if (errno != EINTR)
			return false;
	return true;
}

/*
 * Join a vCPU thread that should end by itself within @ms; a guest that
 * does not (a lost interrupt or kick) is a failure, not a hang: it is
 * kicked until its run returns.
 */
static void join_vcpu(struct run *r, struct vcpu_thread *t, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (!pthread_timedjoin_np(t->thread, NULL, &ts))
		return;
	fail(r->name, "vcpu %u still running %u ms later", t->id, ms);
	do {
		hvabs_vcpu_kick(r->vcpu[t->id]);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
	} while (pthread_timedjoin_np(t->thread, NULL, &ts));
}

static bool start(struct run *r)
{
	return !hv_check(r, hvabs_vm_start(r->vm), "vm_start");
}

static bool selected(const char *name)
{
	return !only || strstr(name, only);
}

/* ---- scenarios ---- */

static void expect_reports(struct run *r, const uint32_t *want, unsigned int n)
{
	unsigned int i;

	if (r->nr_reports != n) {
		fail(r->name, "%u reports, want %u", r->nr_reports, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (r->reports[i] != want[i])
			fail(r->name, "report %u = 0x%x, want 0x%x", i, r->reports[i], want[i]);
}

static void expect_exit0(struct run *r, enum step s, uint32_t id)
{
	if (s != STEP_EXITED || r->exit_status[id] != 0)
		fail(r->name, "vcpu %u: step %d exit status %d, want exit 0", id, s, r->exit_status[id]);
}

static void scenario_hello(const char *file, enum hvabs_arch arch, uint32_t mode, const char *want)
{
	struct run r = { .name = file, .file = file, .arch = arch, .mode = mode, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };

	if (!selected(file))
		return;
	if (!run_init(&r) && start(&r)) {
		expect_exit0(&r, run_vcpu(&r, 0), 0);
		if (strcmp(r.console, want))
			fail(file, "console \"%s\", want \"%s\"", r.console, want);
		/* x86 parks in "cli; hlt" after the exit write: an HLT exit, again and again. */
		if (arch == HVABS_ARCH_X86_64 && (run_vcpu(&r, 0) != STEP_HALTED || run_vcpu(&r, 0) != STEP_HALTED))
			fail(file, "no HLT exit after the exit write");
	}
	run_fini(&r);
	printf("ok   %s\n", file);
}

static int echo_read(struct hvabs_vcpu *v, uint64_t addr, uint32_t len, uint64_t *data, void *p)
{
	(void)v;
	(void)addr;
	(void)len;
	*data = *(uint32_t *)p;
	return 0;
}

static int echo_write(struct hvabs_vcpu *v, uint64_t addr, uint32_t len, uint64_t data, void *p)
{
	(void)v;
	(void)addr;
	(void)len;
	*(uint32_t *)p = (uint32_t)data;
	return 0;
}

/* The echo register served by the runner (exits) or by an IO handler (dispatched). */
static void scenario_echo(const char *file, enum hvabs_arch arch, bool handler)
{
	static const uint32_t want[] = { HVABS_GUEST_ECHO_VALUE };
	char name[96];
	struct run r = { .file = file, .arch = arch, .nr_vcpus = 1, .check_line = UINT32_MAX };
	uint32_t reg = 0;
	struct hvabs_io_desc d = { .version = HVABS_IO_DESC_VERSION, .space = HVABS_SPACE_MMIO,
				   .addr = HVABS_GUEST_ECHO_MMIO, .size = 4, .len = 4,
				   .read = echo_read, .write = echo_write, .payload = &reg };
	struct hvabs_io_handler *h;
	struct hvabs_vcpu_stats st;

	snprintf(name, sizeof(name), "%s/%s", file, handler ? "io-handler" : "exits");
	r.name = name;
	r.mode = arch == HVABS_ARCH_ARM64 ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	if (!selected(name))
		return;
	if (!run_init(&r) && (!handler || !hv_check(&r, hvabs_vm_io_handler_add(&h, r.vm, &d), "io")) &&
	    start(&r)) {
		expect_exit0(&r, run_vcpu(&r, 0), 0);
		expect_reports(&r, want, 1);
		hvabs_vcpu_stats_get(r.vcpu[0], &st);
		if (handler && (st.dispatched != 2 || reg != HVABS_GUEST_ECHO_VALUE))
			fail(name, "dispatched %" PRIu64 " register 0x%x", st.dispatched, reg);
	}
	run_fini(&r);
	printf("ok   %s\n", name);
}

static void scenario_doorbell(const char *file, enum hvabs_arch arch)
{
	static const uint32_t want[] = { HVABS_GUEST_DOORBELL_COUNT };
	struct run r = { .name = file, .file = file, .arch = arch, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	int fd = eventfd(0, EFD_NONBLOCK);
	uint64_t count = 0;

	r.mode = arch == HVABS_ARCH_ARM64 ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	if (!selected(file)) {
		close(fd);
		return;
	}
	if (!run_init(&r) &&
	    !hv_check(&r, hvabs_vm_ioeventfd_add(NULL, r.vm, HVABS_SPACE_MMIO, HVABS_GUEST_DOORBELL_MMIO,
						 4, fd, HVABS_IOEVENTFD_DATAMATCH,
						 HVABS_GUEST_DOORBELL_VALUE), "ioeventfd") &&
	    start(&r)) {
		expect_exit0(&r, run_vcpu(&r, 0), 0);
		expect_reports(&r, want, 1);
		if (read(fd, &count, sizeof(count)) != sizeof(count) || count != HVABS_GUEST_DOORBELL_COUNT)
			fail(file, "eventfd count %" PRIu64 ", want %d", count, HVABS_GUEST_DOORBELL_COUNT);
	}
	run_fini(&r);
	close(fd);
	printf("ok   %s\n", file);
}

/*
 * irqfd on @line: raise it @count times (the guest's arg0), one report each,
 * @gap_us after the previous report. A long gap lets the guest reach
 * HLT/WFI first; no gap raises it while the guest is still on its way back
 * there (its handler, or the few instructions before the wait). In_exit
 * (edge only) raises the first before the guest starts and each next one
 * from the report exit, after the guest's EOI, before it resumes: every
 * interrupt then waits for the guest, wherever it unmasks or waits.
 */
static void irq_check(const char *name, const char *file, enum hvabs_arch arch, uint32_t mode,
		      bool level, unsigned int count, unsigned int gap_us, bool in_exit)
{
	const uint32_t line = level ? 7 : 5;
	uint32_t want[MAX_REPORTS];
	struct run r = { .name = name, .file = file, .arch = arch, .nr_vcpus = 1, .arg0 = count,
			 .check_line = level ? line : UINT32_MAX, .raise_line = line };
	int fd = eventfd(0, 0), rfd = level ? eventfd(0, EFD_NONBLOCK) : -1;
	struct vcpu_thread t;
	uint64_t one = 1, v;
	unsigned int i;
	struct pollfd p = { .fd = rfd, .events = POLLIN };

	r.mode = mode;
	if (run_init(&r) ||
	    hv_check(&r, hvabs_vm_irqfd_add(NULL, r.vm, fd, line,
					    level ? HVABS_IRQFD_LEVEL | HVABS_IRQFD_RESAMPLE : 0, rfd),
		     "irqfd") || !start(&r))
		goto out_fini;
	if (in_exit) {
		r.raise_fd = fd;
		r.raise_left = count - 1;
		if (!raise_pending(&r))
			fail(name, "irqfd did not make line %u pending", line);
	}
	start_vcpu_thread(&t, &r, 0);
	for (i = 0; i < count; i++) {
		want[i] = line;
		if (gap_us)
			usleep(gap_us);
		if ((!in_exit && write(fd, &one, sizeof(one)) != sizeof(one)) || !wait_report(&r, 5000)) {
			fail(name, "no report for interrupt %u", i);
			hvabs_vcpu_kick(r.vcpu[0]);
			break;
		}
		if (level) {
			/* Reported before EOI: still active and asserted; EOI then resamples. */
			if ((r.line_state_at_report & (HVABS_SIM_IRQ_ACTIVE | HVABS_SIM_IRQ_ASSERTED)) !=
			    (HVABS_SIM_IRQ_ACTIVE | HVABS_SIM_IRQ_ASSERTED))
				fail(name, "line state 0x%x at report", r.line_state_at_report);
			if (poll(&p, 1, 5000) != 1 || read(rfd, &v, sizeof(v)) != sizeof(v))
				fail(name, "no resample after EOI %u", i);
		}
	}
	/* The last interrupt was reported: the guest exits without another one. */
	join_vcpu(&r, &t, 5000);
	expect_exit0(&r, t.result, 0);
	expect_reports(&r, want, count);
out_fini:
	run_fini(&r);
	close(fd);
	if (rfd >= 0)
		close(rfd);
	printf("ok   %s\n", name);
}

static void scenario_irq(const char *file, enum hvabs_arch arch, uint32_t mode, bool level)
{
	char name[96];

	if (selected(file))
		irq_check(file, file, arch, mode, level, HVABS_GUEST_IRQ_COUNT, 2000, false);
	snprintf(name, sizeof(name), "%s/back-to-back", file);
	if (selected(name))
		irq_check(name, file, arch, mode, level, IRQ_BURST, 0, false);
	snprintf(name, sizeof(name), "%s/raised-in-exit", file);
	if (!level && selected(name))
		irq_check(name, file, arch, mode, level, IRQ_BURST, 0, true);
}

static void scenario_smp(const char *file, enum hvabs_arch arch)
{
	static const uint32_t want[] = { HVABS_GUEST_SMP_MESSAGE };
	struct run r = { .name = file, .file = file, .arch = arch, .nr_vcpus = 2,
			 .check_line = UINT32_MAX };
	struct vcpu_thread t[2];
	uint32_t i;

	r.mode = arch == HVABS_ARCH_ARM64 ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	if (!selected(file))
		return;
	if (!run_init(&r) && start(&r)) {
		for (i = 0; i < 2; i++)
			start_vcpu_thread(&t[i], &r, i);
		for (i = 0; i < 2; i++) {
			pthread_join(t[i].thread, NULL);
			expect_exit0(&r, t[i].result, i);
		}
		expect_reports(&r, want, 1);
	}
	run_fini(&r);
	printf("ok   %s\n", file);
}

struct fault_want {
	const char *file;
	enum hvabs_arch arch;
	uint8_t kind, detail;
	uint32_t pc;
	uint16_t exit_type;
};

static void scenario_fault(const struct fault_want *w)
{
	struct run r = { .name = w->file, .file = w->file, .arch = w->arch, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	struct hvabs_vm_status st;
	uint32_t pc;
	enum step s;

	r.mode = w->arch == HVABS_ARCH_ARM64 ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	if (!selected(w->file))
		return;
	if (!run_init(&r) && start(&r)) {
		s = run_vcpu(&r, 0);
		hvabs_vm_status_get(r.vm, &st);
		pc = (uint32_t)le_get(st.reason + 4, 4);
		if (s != STEP_STOPPED || st.state != HVABS_VM_CRASHED || st.exit_type != w->exit_type ||
		    st.reason_size != HVABS_GUEST_FAULT_REASON_SIZE || st.reason[0] != w->kind ||
		    st.reason[1] != w->detail || pc != w->pc)
			fail(w->file, "step %d state %s type 0x%x reason size %u kind %u detail 0x%x pc 0x%x; "
			     "want CRASHED type 0x%x kind %u detail 0x%x pc 0x%x", s,
			     hvabs_vm_state_name(st.state), st.exit_type, st.reason_size, st.reason[0],
			     st.reason[1], pc, w->exit_type, w->kind, w->detail, w->pc);
	}
	run_fini(&r);
	printf("ok   %s\n", w->file);
}

static void scenario_fault_handled(const char *file, enum hvabs_arch arch, uint32_t mode)
{
	static const uint32_t want_x86[] = { HVABS_GUEST_FAULT_MARKER, 13, 0 };
	/* Protected and long mode also push an error code (0). */
	static const uint32_t want_x86_gate[] = { HVABS_GUEST_FAULT_MARKER, 13, 0, 0 };
	/* ESR: EC 0x25 (data abort, same EL), IL, DFSC 0x10; FAR; ELR - faulting insn. */
	static const uint32_t want_a64[] = { HVABS_GUEST_FAULT_MARKER, 0x96000010,
					     HVABS_GUEST_FAULT_MMIO, 0 };
	bool arm = arch == HVABS_ARCH_ARM64;
	struct run r = { .name = file, .file = file, .arch = arch, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };

	r.mode = mode;
	if (!selected(file))
		return;
	if (!run_init(&r) && start(&r)) {
		expect_exit0(&r, run_vcpu(&r, 0), 0);
		if (arm)
			expect_reports(&r, want_a64, 4);
		else if (mode == HVABS_CPU_MODE_X86_REAL)
			expect_reports(&r, want_x86, 3);
		else
			expect_reports(&r, want_x86_gate, 4);
		if (r.faults_injected != 1)
			fail(file, "%u faults injected", r.faults_injected);
	}
	run_fini(&r);
	printf("ok   %s\n", file);
}

/* A runaway loop is stopped by kicks: each run returns INTR. */
static void scenario_kick(const char *file, enum hvabs_arch arch)
{
	struct run r = { .name = file, .file = file, .arch = arch, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	struct vcpu_thread t;
	double t0, worst = 0;
	int i;

	r.mode = arch == HVABS_ARCH_ARM64 ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	if (!selected(file))
		return;
	if (!run_init(&r) && start(&r)) {
		for (i = 0; i < 3; i++) {
			start_vcpu_thread(&t, &r, 0);
			usleep(20000);
			t0 = now_ns();
			hvabs_vcpu_kick(r.vcpu[0]);
			pthread_join(t.thread, NULL);
			if (now_ns() - t0 > worst)
				worst = now_ns() - t0;
			if (t.result != STEP_INTR)
				fail(file, "run %d ended with step %d, want INTR", i, t.result);
		}
	}
	run_fini(&r);
	printf("ok   %s (kick to INTR at most %.0f us)\n", file, worst / 1e3);
}

struct kicker {
	struct hvabs_vcpu *vcpu;
	atomic_bool stop;
	pthread_t thread;
};

static void *kicker_main(void *arg)
{
	struct kicker *k = arg;

	while (!atomic_load(&k->stop)) {
		hvabs_vcpu_kick(k->vcpu);
		usleep(20);
	}
	return NULL;
}

/*
 * Kicks land anywhere in a running guest (also between two translated
 * blocks, where the engine stops the CPU): every INTR exit must resume
 * the guest exactly where it stopped, so it still prints its greeting.
 */
static void scenario_kick_storm(const char *file, enum hvabs_arch arch, uint32_t mode,
				const char *want)
{
	char name[96];
	struct run r = { .file = file, .arch = arch, .mode = mode, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	struct kicker k = { .stop = false };
	double deadline = now_ns() + 10e9;
	unsigned int intr = 0;
	enum step s = STEP_ERROR;

	snprintf(name, sizeof(name), "%s/kick-storm", file);
	r.name = name;
	if (!selected(name))
		return;
	if (!run_init(&r) && start(&r)) {
		k.vcpu = r.vcpu[0];
		pthread_create(&k.thread, NULL, kicker_main, &k);
		while ((s = run_vcpu(&r, 0)) == STEP_INTR && now_ns() < deadline)
			intr++;
		atomic_store(&k.stop, true);
		pthread_join(k.thread, NULL);
		expect_exit0(&r, s, 0);
		if (strcmp(r.console, want))
			fail(name, "console \"%s\", want \"%s\"", r.console, want);
	}
	run_fini(&r);
	printf("ok   %s (%u INTR exits)\n", name, intr);
}

/* arm64 IRQ taken from EL1t: the handler runs on SP_EL1, ERET restores SP_EL0. */
static void scenario_irq_sp0(void)
{
	static const uint32_t want[] = { 9, HVABS_GUEST_ARM64_STACK, HVABS_GUEST_ARM64_STACK - 0x10000 };
	struct run r = { .name = "irq_sp0-arm64.bin", .file = "irq_sp0-arm64.bin",
			 .arch = HVABS_ARCH_ARM64, .mode = HVABS_CPU_MODE_ARM64_EL1, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	int fd = eventfd(0, 0);
	struct vcpu_thread t;
	uint64_t one = 1;

	if (!selected(r.name)) {
		close(fd);
		return;
	}
	if (!run_init(&r) && !hv_check(&r, hvabs_vm_irqfd_add(NULL, r.vm, fd, 9, 0, -1), "irqfd") &&
	    start(&r)) {
		start_vcpu_thread(&t, &r, 0);
		usleep(2000);
		if (write(fd, &one, sizeof(one)) != sizeof(one) || !wait_report(&r, 5000))
			hvabs_vcpu_kick(r.vcpu[0]);
		pthread_join(t.thread, NULL);
		expect_exit0(&r, t.result, 0);
		expect_reports(&r, want, 3);
	}
	run_fini(&r);
	close(fd);
	printf("ok   %s\n", r.name);
}

/* Kicking a vCPU asleep in HLT/WFI returns INTR; destroying the VM ends the sleeping guest. */
static void scenario_halt_kick(const char *file, enum hvabs_arch arch, uint32_t mode)
{
	char name[96];
	struct run r = { .file = file, .arch = arch, .mode = mode, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	struct vcpu_thread t;
	int i;

	snprintf(name, sizeof(name), "%s/halt-kick", file);
	r.name = name;
	if (!selected(name))
		return;
	if (!run_init(&r) && start(&r)) {
		for (i = 0; i < 2; i++) {
			start_vcpu_thread(&t, &r, 0);
			usleep(20000);
			hvabs_vcpu_kick(r.vcpu[0]);
			pthread_join(t.thread, NULL);
			if (t.result != STEP_INTR)
				fail(name, "run %d ended with step %d, want INTR", i, t.result);
		}
	}
	run_fini(&r);
	printf("ok   %s\n", name);
}

/* RAM without write permission: the guest's store is a data fault (no handler: crash). */
static void scenario_readonly_ram(const char *file, enum hvabs_arch arch, uint8_t detail, uint32_t pc)
{
	char name[96];
	bool arm = arch == HVABS_ARCH_ARM64;
	struct run r = { .file = file, .arch = arch, .nr_vcpus = 1, .check_line = UINT32_MAX };
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct hvabs_mem_region ram = {
		.version = HVABS_MEM_REGION_VERSION,
		.label = HVABS_GUEST_RAM_LABEL,
		.flags = HVABS_MEM_READ | HVABS_MEM_EXEC,
		.guest_addr = arm ? HVABS_GUEST_ARM64_RAM_BASE : HVABS_GUEST_X86_RAM_BASE,
		.size = arm ? HVABS_GUEST_ARM64_RAM_SIZE : HVABS_GUEST_X86_RAM_SIZE,
	};
	struct hvabs_vm_status st;

	snprintf(name, sizeof(name), "%s/read-only-ram", file);
	r.name = name;
	r.mode = arm ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	if (!selected(name))
		return;
	pthread_mutex_init(&r.lock, NULL);
	sem_init(&r.reported, 0, 0);
	opts.backend = "sim";
	opts.arch = arch;
	if (!hv_check(&r, hvabs_vm_create(&r.vm, &opts), "vm_create") &&
	    !hv_check(&r, hvabs_vm_mem_add(r.vm, &ram), "mem_add") && !run_boot(&r) &&
	    !hv_check(&r, hvabs_vm_vcpu_add(&r.vcpu[0], r.vm, 0), "vcpu_add") && start(&r)) {
		if (run_vcpu(&r, 0) != STEP_STOPPED)
			fail(name, "the VM did not stop");
		hvabs_vm_status_get(r.vm, &st);
		if (st.state != HVABS_VM_CRASHED || st.reason[0] != HVABS_GUEST_FAULT_DATA ||
		    st.reason[1] != detail || le_get(st.reason + 4, 4) != pc)
			fail(name, "state %s kind %u detail 0x%x pc 0x%x", hvabs_vm_state_name(st.state),
			     st.reason[0], st.reason[1], (uint32_t)le_get(st.reason + 4, 4));
	}
	run_fini(&r);
	printf("ok   %s\n", name);
}

/* PSCI through HVC/SMC: version, an unknown call, SYSTEM_OFF powers the VM off. */
static void scenario_psci(void)
{
	static const uint32_t want[] = { 0x10000, 0xffffffff };
	struct run r = { .name = "psci-arm64.bin", .file = "psci-arm64.bin", .arch = HVABS_ARCH_ARM64,
			 .mode = HVABS_CPU_MODE_ARM64_EL1, .nr_vcpus = 1, .check_line = UINT32_MAX };
	struct hvabs_vm_status st;

	if (!selected(r.name))
		return;
	if (!run_init(&r) && start(&r)) {
		if (run_vcpu(&r, 0) != STEP_STOPPED)
			fail(r.name, "the VM did not stop");
		hvabs_vm_status_get(r.vm, &st);
		if (st.state != HVABS_VM_EXITED || st.exit_type != HVABS_EXIT_TYPE_PSCI_POWER_OFF ||
		    st.reason_size != 0)
			fail(r.name, "state %s exit type %u reason size %u", hvabs_vm_state_name(st.state),
			     st.exit_type, st.reason_size);
		expect_reports(&r, want, 2);
	}
	run_fini(&r);
	printf("ok   %s\n", r.name);
}

/* vm_start refuses what the engine cannot boot. */
static void scenario_check_vm(void)
{
	struct run r = { .name = "check_vm", .file = "hello-x86.bin", .arch = HVABS_ARCH_X86_64,
			 .mode = HVABS_CPU_MODE_X86_REAL, .nr_vcpus = 1, .check_line = UINT32_MAX };
	struct hvabs_boot_config boot = { .version = HVABS_BOOT_CONFIG_VERSION, .entry = 0x200000,
					  .cpu_mode = HVABS_CPU_MODE_X86_REAL };
	int ret;

	if (!selected(r.name))
		return;
	if (!run_init(&r) && !hv_check(&r, hvabs_vm_boot_set(r.vm, &boot), "boot_set")) {
		ret = hvabs_vm_start(r.vm);
		if (ret != HVABS_EINVAL)
			fail(r.name, "real-mode entry above 1 MiB: start returned %s", hvabs_err_name(ret));
	}
	run_fini(&r);
	printf("ok   %s\n", r.name);
}

static void run_checks(void)
{
	static const struct fault_want faults[] = {
		{ "fault_fetch-x86.bin", HVABS_ARCH_X86_64, HVABS_GUEST_FAULT_FETCH, 0, 0xe0000,
		  HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_invalid-x86.bin", HVABS_ARCH_X86_64, HVABS_GUEST_FAULT_INVALID, 6,
		  HVABS_GUEST_X86_LOAD + 1, HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_triple-x86.bin", HVABS_ARCH_X86_64, HVABS_GUEST_FAULT_TRIPLE, 0x30,
		  HVABS_GUEST_X86_LOAD + 5, HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_data-x86.bin", HVABS_ARCH_X86_64, HVABS_GUEST_FAULT_DATA, 13,
		  HVABS_GUEST_X86_LOAD + 5, HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_fetch-arm64.bin", HVABS_ARCH_ARM64, HVABS_GUEST_FAULT_FETCH, 0, 0x20000000,
		  HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_invalid-arm64.bin", HVABS_ARCH_ARM64, HVABS_GUEST_FAULT_INVALID, 0x00,
		  HVABS_GUEST_ARM64_LOAD + 4, HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_exception-arm64.bin", HVABS_ARCH_ARM64, HVABS_GUEST_FAULT_EXCEPTION, 0x15,
		  HVABS_GUEST_ARM64_LOAD + 8, HVABS_EXIT_TYPE_GUEST_FAULT },
		{ "fault_data-arm64.bin", HVABS_ARCH_ARM64, HVABS_GUEST_FAULT_DATA, 0x25,
		  HVABS_GUEST_ARM64_LOAD + 4, HVABS_EXIT_TYPE_GUEST_FAULT },
	};
	const enum hvabs_arch x86 = HVABS_ARCH_X86_64, a64 = HVABS_ARCH_ARM64;
	size_t i;

	scenario_hello("hello-x86.bin", x86, HVABS_CPU_MODE_X86_REAL, "Hello from x86 real mode\n");
	scenario_hello("hello-x86-prot32.bin", x86, HVABS_CPU_MODE_X86_PROT32,
		       "Hello from x86 32-bit protected mode\n");
	scenario_hello("hello-x86-long64.bin", x86, HVABS_CPU_MODE_X86_LONG64,
		       "Hello from x86 64-bit long mode\n");
	scenario_hello("hello-arm64.bin", a64, HVABS_CPU_MODE_ARM64_EL1, "Hello from arm64 EL1\n");
	scenario_echo("mmio_echo-x86.bin", x86, false);
	scenario_echo("mmio_echo-x86.bin", x86, true);
	scenario_echo("mmio_echo-arm64.bin", a64, false);
	scenario_echo("mmio_echo-arm64.bin", a64, true);
	scenario_doorbell("doorbell-x86.bin", x86);
	scenario_doorbell("doorbell-arm64.bin", a64);
	scenario_irq("irq_edge-x86.bin", x86, HVABS_CPU_MODE_X86_REAL, false);
	scenario_irq("irq_level-x86.bin", x86, HVABS_CPU_MODE_X86_REAL, true);
	scenario_irq("irq_edge-x86-long64.bin", x86, HVABS_CPU_MODE_X86_LONG64, false);
	scenario_irq("irq_edge-arm64.bin", a64, HVABS_CPU_MODE_ARM64_EL1, false);
	scenario_irq("irq_level-arm64.bin", a64, HVABS_CPU_MODE_ARM64_EL1, true);
	scenario_irq_sp0();
	scenario_smp("smp-x86.bin", x86);
	scenario_smp("smp-arm64.bin", a64);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		scenario_fault(&faults[i]);
	scenario_fault_handled("fault_handled-x86.bin", x86, HVABS_CPU_MODE_X86_REAL);
	scenario_fault_handled("fault_handled-x86-prot32.bin", x86, HVABS_CPU_MODE_X86_PROT32);
	scenario_fault_handled("fault_handled-x86-long64.bin", x86, HVABS_CPU_MODE_X86_LONG64);
	scenario_fault_handled("fault_handled-arm64.bin", a64, HVABS_CPU_MODE_ARM64_EL1);
	scenario_kick("spin-x86.bin", x86);
	scenario_kick("spin-arm64.bin", a64);
	scenario_kick_storm("hello-x86.bin", x86, HVABS_CPU_MODE_X86_REAL, "Hello from x86 real mode\n");
	scenario_kick_storm("hello-x86-prot32.bin", x86, HVABS_CPU_MODE_X86_PROT32,
			    "Hello from x86 32-bit protected mode\n");
	scenario_kick_storm("hello-arm64.bin", a64, HVABS_CPU_MODE_ARM64_EL1,
			    "Hello from arm64 EL1\n");
	scenario_halt_kick("irq_edge-x86.bin", x86, HVABS_CPU_MODE_X86_REAL);
	scenario_halt_kick("irq_edge-arm64.bin", a64, HVABS_CPU_MODE_ARM64_EL1);
	/* smp guests with one vCPU: vCPU 0's first store (to the mailbox). */
	scenario_readonly_ram("smp-x86.bin", x86, 13, HVABS_GUEST_X86_LOAD + 8);
	scenario_readonly_ram("smp-arm64.bin", a64, 0x25, HVABS_GUEST_ARM64_LOAD + 20);
	scenario_psci();
	scenario_check_vm();
}

/* ---- benchmarks ---- */

static int count_write(struct hvabs_vcpu *v, uint64_t addr, uint32_t len, uint64_t data, void *p)
{
	(void)v;
	(void)addr;
	(void)len;
	(void)data;
	++*(uint64_t *)p;
	return 0;
}

/* ns per doorbell write served by an IO handler (guest loop of @n writes). */
static double bench_engine_mmio(const char *file, enum hvabs_arch arch, uint32_t mode, uint64_t n)
{
	struct run r = { .name = file, .file = file, .arch = arch, .mode = mode, .nr_vcpus = 1,
			 .arg0 = n, .check_line = UINT32_MAX };
	uint64_t count = 0;
	struct hvabs_io_desc d = { .version = HVABS_IO_DESC_VERSION, .space = HVABS_SPACE_MMIO,
				   .addr = HVABS_GUEST_DOORBELL_MMIO, .size = 4, .len = 4,
				   .write = count_write, .payload = &count };
	struct hvabs_io_handler *h;
	double t0, t = -1;

	if (!run_init(&r) && !hv_check(&r, hvabs_vm_io_handler_add(&h, r.vm, &d), "io") && start(&r)) {
		t0 = now_ns();
		expect_exit0(&r, run_vcpu(&r, 0), 0);
		t = (now_ns() - t0) / (double)n;
		if (count != n)
			fail(file, "handler saw %" PRIu64 " writes, want %" PRIu64, count, n);
	}
	run_fini(&r);
	return t;
}

static uint64_t bare_read(uc_engine *uc, uint64_t off, unsigned size, void *p)
{
	(void)uc;
	(void)off;
	(void)size;
	(void)p;
	return 0;
}

static void bare_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *p)
{
	(void)uc;
	(void)off;
	(void)size;
	(void)val;
	++*(uint64_t *)p;
}

/* arm64 test device: the loop is over. */
static void bare_stop(uc_engine *uc, uint64_t off, unsigned size, uint64_t val, void *p)
{
	(void)off;
	(void)size;
	(void)val;
	(void)p;
	uc_emu_stop(uc);
}

/* The same guest loop on a bare Unicorn instance: trivial uc_mmio_map callbacks only. */
static double bench_bare_mmio(const char *file, bool arm, uint64_t n)
{
	uint64_t base = arm ? HVABS_GUEST_ARM64_RAM_BASE : 0;
	uint64_t size = arm ? HVABS_GUEST_ARM64_RAM_SIZE : HVABS_GUEST_X86_RAM_SIZE;
	uint64_t load = arm ? HVABS_GUEST_ARM64_LOAD : HVABS_GUEST_X86_LOAD, count = 0;
	char path[512];
	uc_engine *uc;
	uint8_t *ram = calloc(1, size);
	double t0, t = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", HVABS_GUEST_DIR, file);
	f = fopen(path, "rb");
	if (!ram || !f || uc_open(arm ? UC_ARCH_ARM64 : UC_ARCH_X86, arm ? UC_MODE_ARM : UC_MODE_64, &uc))
		goto out;
	if (fread(ram + (load - base), 1, 0x1000, f) == 0)
		goto out_close;
	uc_mem_map_ptr(uc, base, size, UC_PROT_ALL, ram);
	uc_mmio_map(uc, HVABS_GUEST_DOORBELL_MMIO, 0x1000, bare_read, NULL, bare_write, &count);
	uc_mmio_map(uc, HVABS_GUEST_TEST_MMIO, 0x1000, bare_read, NULL, bare_stop, NULL);
	uc_reg_write(uc, arm ? UC_ARM64_REG_X0 : UC_X86_REG_RSI, &n);
	t0 = now_ns();
	/* x86 ends on the report OUT (no hook: Unicorn ignores it) and the exit OUT; stop at HLT. */
	uc_emu_start(uc, load, UINT64_MAX, 0, 0);
	t = (now_ns() - t0) / (double)n;
	if (count != n)
		fprintf(stderr, "bare: %" PRIu64 " writes, want %" PRIu64 "\n", count, n);
out_close:
	uc_close(uc);
out:
	if (f)
		fclose(f);
	free(ram);
	return t;
}

struct cb_bench {
	uint64_t n;
	double t;
};

static void cb_guest(struct hvabs_sim_guest *g, void *payload)
{
	struct cb_bench *b = payload;
	double t0 = now_ns();
	uint64_t i;

	for (i = 0; i < b->n; i++)
		hvabs_sim_guest_mmio_write(g, HVABS_GUEST_DOORBELL_MMIO, 4, HVABS_GUEST_DOORBELL_VALUE);
	b->t = (now_ns() - t0) / (double)b->n;
}

/* The same writes from a callback guest: the sim's dispatch alone, without Unicorn. */
static double bench_callback_mmio(uint64_t n)
{
	struct run r = { .name = "callback", .file = "", .arch = HVABS_ARCH_NONE, .nr_vcpus = 1,
			 .check_line = UINT32_MAX };
	struct hvabs_vm_options opts = HVABS_VM_OPTIONS_INIT;
	struct cb_bench b = { .n = n, .t = -1 };
	uint64_t count = 0;
	struct hvabs_io_desc d = { .version = HVABS_IO_DESC_VERSION, .space = HVABS_SPACE_MMIO,
				   .addr = HVABS_GUEST_DOORBELL_MMIO, .size = 4, .len = 4,
				   .write = count_write, .payload = &count };
	struct hvabs_io_handler *h;
	struct hvabs_mem_region ram = { .version = HVABS_MEM_REGION_VERSION, .label = 1,
					.flags = HVABS_MEM_RWX, .size = HVABS_PAGE_SIZE };

	opts.backend = "sim";
	if (hv_check(&r, hvabs_vm_create(&r.vm, &opts), "vm_create"))
		return -1;
	if (!hv_check(&r, hvabs_vm_mem_add(r.vm, &ram), "mem_add") &&
	    !hv_check(&r, hvabs_vm_vcpu_add(&r.vcpu[0], r.vm, 0), "vcpu_add") &&
	    !hv_check(&r, hvabs_sim_vcpu_set_guest(r.vcpu[0], cb_guest, &b), "set_guest") &&
	    !hv_check(&r, hvabs_vm_io_handler_add(&h, r.vm, &d), "io") && start(&r) &&
	    !hv_check(&r, hvabs_vcpu_run(r.vcpu[0]), "run") && count != n)
		fail("callback", "handler saw %" PRIu64 " writes", count);
	hvabs_vm_destroy(r.vm);
	return b.t;
}

struct wake_bench {
	struct run *r;
	atomic_uint reports;
	double t_report;
	sem_t sem;
};

static int wake_report(struct hvabs_vcpu *v, uint64_t addr, uint32_t len, uint64_t data, void *p)
{
	struct wake_bench *b = p;

	(void)v;
	(void)addr;
	(void)len;
	(void)data;
	b->t_report = now_ns();
	atomic_fetch_add(&b->reports, 1);
	sem_post(&b->sem);
	return 0;
}

/* irqfd write -> guest halted in HLT/WFI takes the IRQ -> report served by an IO handler. */
static void bench_wake(const char *file, enum hvabs_arch arch, unsigned int n)
{
	bool arm = arch == HVABS_ARCH_ARM64;
	struct run r = { .name = file, .file = file, .arch = arch, .nr_vcpus = 1, .arg0 = n,
			 .check_line = UINT32_MAX };
	struct wake_bench b = { .r = &r };
	struct hvabs_io_desc d = { .version = HVABS_IO_DESC_VERSION,
				   .space = arm ? HVABS_SPACE_MMIO : HVABS_SPACE_PIO,
				   .addr = arm ? HVABS_GUEST_TEST_MMIO : HVABS_GUEST_X86_TEST_PORT,
				   .size = 4, .len = 4, .write = wake_report, .payload = &b };
	struct hvabs_io_handler *h;
	int fd = eventfd(0, 0);
	struct vcpu_thread t;
	uint64_t one = 1;
	double sum = 0, best = 1e18, t0;
	unsigned int i;

	r.mode = arm ? HVABS_CPU_MODE_ARM64_EL1 : HVABS_CPU_MODE_X86_REAL;
	sem_init(&b.sem, 0, 0);
	if (run_init(&r) || hv_check(&r, hvabs_vm_io_handler_add(&h, r.vm, &d), "io") ||
	    hv_check(&r, hvabs_vm_irqfd_add(NULL, r.vm, fd, 3, 0, -1), "irqfd") || !start(&r))
		goto out;
	start_vcpu_thread(&t, &r, 0);
	for (i = 0; i < n; i++) {
		usleep(200); /* the guest is back in HLT/WFI */
		t0 = now_ns();
		if (write(fd, &one, sizeof(one)) != sizeof(one))
			break;
		sem_wait(&b.sem);
		sum += b.t_report - t0;
		if (b.t_report - t0 < best)
			best = b.t_report - t0;
	}
	pthread_join(t.thread, NULL);
	expect_exit0(&r, t.result, 0);
	printf("bench %-20s irqfd -> halted vCPU -> handler report: mean %.1f us, min %.1f us (%u)\n",
	       file, sum / n / 1e3, best / 1e3, n);
out:
	run_fini(&r);
	sem_destroy(&b.sem);
	close(fd);
}

static void run_bench(void)
{
	const uint64_t n = 2000000;
	int rep;

	for (rep = 0; rep < 3; rep++) {
		double e64 = bench_engine_mmio("mmio_loop-arm64.bin", HVABS_ARCH_ARM64,
					       HVABS_CPU_MODE_ARM64_EL1, n);
		double b64 = bench_bare_mmio("mmio_loop-arm64.bin", true, n);
		double e86 = bench_engine_mmio("mmio_loop-x86.bin", HVABS_ARCH_X86_64,
					       HVABS_CPU_MODE_X86_LONG64, n);
		double b86 = bench_bare_mmio("mmio_loop-x86.bin", false, n);
		double cb = bench_callback_mmio(n);

		printf("bench MMIO write -> IO handler: arm64 %.1f ns (bare uc_mmio_map %.1f ns, %.2fx); "
		       "x86 %.1f ns (bare %.1f ns, %.2fx); callback guest %.1f ns\n", e64, b64, e64 / b64,
		       e86, b86, e86 / b86, cb);
	}
	bench_wake("irq_edge-arm64.bin", HVABS_ARCH_ARM64, 500);
	bench_wake("irq_edge-x86.bin", HVABS_ARCH_X86_64, 500);
}

int main(int argc, char **argv)
{
	bool bench = false;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bench"))
			bench = true;
		else
			only = argv[i];
	}
	run_checks();
	if (bench)
		run_bench();
	/* Every VM is destroyed: engines (Unicorn instances included) freed their memory. */
	if (hvabs_alloc_count() != 0)
		fail("teardown", "%zu library allocations still live", hvabs_alloc_count());
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("all guest checks passed\n");
	return 0;
}
