/* SPDX-License-Identifier: MIT */
/* backends/sim/sim_irq.c: sim interrupt controller, irqfd thread and guest interrupt calls. */
#include "sim.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

/* One doorbell line (routing rules: see sim.h). Under sim_vm.irq_lock. */
struct sim_line {
	struct hvabs__list node; /* sim_vm.lines */
	uint32_t label;
	bool level;
	bool resample;
	int resample_fd;
	bool pending;
	bool active;
	bool asserted;
	struct sim_vcpu *target; /* set while deliverable (counted there) */
};

/* An armed irqfd; @id keys its epoll registration (0 is the wake fd). */
struct sim_irqfd {
	struct hvabs__list node; /* sim_vm.irqfds */
	uint64_t id;
	const struct hvabs_function *fn;
	int fd;
	struct sim_line *line;
};

#define SIM_IRQFD_EVENTS 16

static void sim_irq_lock(struct sim_vm *svm)
{
	pthread_mutex_lock(&svm->irq_lock);
}

static void sim_irq_unlock(struct sim_vm *svm)
{
	pthread_mutex_unlock(&svm->irq_lock);
}

static struct sim_line *sim_line_find(struct sim_vm *svm, uint32_t label)
{
	struct hvabs__list *n;

	for (n = svm->lines.next; n != &svm->lines; n = n->next) {
		struct sim_line *line = hvabs__container_of(n, struct sim_line, node);

		if (line->label == label)
			return line;
	}
	return NULL;
}

void sim_vcpu_wake(struct sim_vcpu *sv)
{
	sim_notify_fn fn;

	atomic_fetch_add(&sv->gwake, 1);
	if (atomic_load(&sv->gsleep))
		sim_futex_wake(&sv->gwake, 1);
	/* seq_cst: pairs with sim_vcpu_set_notify() (a kick sees the hook or the guest sees the kick). */
	fn = atomic_load_explicit(&sv->notify_fn, memory_order_seq_cst);
	if (fn)
		fn(atomic_load_explicit(&sv->notify_ctx, memory_order_relaxed));
}

/* The vCPU a newly deliverable line goes to: lowest-id waiting, else lowest id. */
static struct sim_vcpu *sim_irq_route(struct sim_vm *svm)
{
	struct hvabs__list *n;

	if (hvabs__list_empty(&svm->vcpus))
		return NULL;
	for (n = svm->vcpus.next; n != &svm->vcpus; n = n->next) {
		struct sim_vcpu *sv = hvabs__container_of(n, struct sim_vcpu, irq_node);

		if (atomic_load_explicit(&sv->irq_waiting, memory_order_relaxed))
			return sv;
	}
	return hvabs__container_of(svm->vcpus.next, struct sim_vcpu, irq_node);
}

/* Pending edge lines are deliverable even while active; level lines after EOI. */
static bool sim_line_deliverable(const struct sim_line *line)
{
	return line->pending && (!line->active || !line->level);
}

/* Route or unroute @line after a state change; wakes a new target. */
static void sim_line_update(struct sim_vm *svm, struct sim_line *line)
{
	if (!sim_line_deliverable(line)) {
		if (line->target)
			atomic_fetch_sub(&line->target->irq_pending, 1);
		line->target = NULL;
		return;
	}
	if (line->target)
		return;
	line->target = sim_irq_route(svm);
	if (!line->target)
		return;
	atomic_fetch_add(&line->target->irq_pending, 1);
	sim_vcpu_wake(line->target);
}

static void sim_line_raise_locked(struct sim_vm *svm, struct sim_line *line)
{
	line->pending = true;
	sim_line_update(svm, line);
}

static void sim_line_assert_locked(struct sim_vm *svm, struct sim_line *line)
{
	line->asserted = true;
	if (!line->active)
		line->pending = true;
	sim_line_update(svm, line);
}

/* ---- setup ---- */

int sim_irq_init(struct sim_vm *svm)
{
	int err = pthread_mutex_init(&svm->irq_lock, NULL);

	if (err)
		return hvabs__error_set(HVABS_ENOMEM, err, SIM_NAME, "cannot create the irq lock");
	hvabs__list_init(&svm->lines);
	hvabs__list_init(&svm->vcpus);
	hvabs__list_init(&svm->irqfds);
	svm->epfd = -1;
	svm->wakefd = -1;
	svm->irq_ready = true;
	return 0;
}

void sim_irq_fini(struct sim_vm *svm)
{
	if (!svm->irq_ready)
		return;
	svm->irq_ready = false;
	sim_irqfd_stop(svm);
	while (!hvabs__list_empty(&svm->irqfds)) {
		struct hvabs__list *n = svm->irqfds.next;

		hvabs__list_del(n);
		hvabs__free(hvabs__container_of(n, struct sim_irqfd, node));
	}
	while (!hvabs__list_empty(&svm->lines)) {
		struct hvabs__list *n = svm->lines.next;

		hvabs__list_del(n);
		hvabs__free(hvabs__container_of(n, struct sim_line, node));
	}
	pthread_mutex_destroy(&svm->irq_lock);
}

void sim_irq_vcpu_register(struct sim_vcpu *sv)
{
	struct sim_vm *svm = sim_vm_of(sv->base.vm);
	struct hvabs__list *n;

	sim_irq_lock(svm);
	for (n = svm->vcpus.next; n != &svm->vcpus; n = n->next) {
		if (hvabs__container_of(n, struct sim_vcpu, irq_node)->base.id > sv->base.id)
			break;
	}
	hvabs__list_add_tail(n, &sv->irq_node); /* inserts before n */
	sv->irq_registered = true;
	for (n = svm->lines.next; n != &svm->lines; n = n->next)
		sim_line_update(svm, hvabs__container_of(n, struct sim_line, node));
	sim_irq_unlock(svm);
}

void sim_irq_vcpu_unregister(struct sim_vcpu *sv)
{
	struct sim_vm *svm = sim_vm_of(sv->base.vm);
	struct hvabs__list *n;

	if (!sv->irq_registered)
		return;
	sim_irq_lock(svm);
	hvabs__list_del(&sv->irq_node);
	sv->irq_registered = false;
	for (n = svm->lines.next; n != &svm->lines; n = n->next) {
		struct sim_line *line = hvabs__container_of(n, struct sim_line, node);

		if (line->target != sv)
			continue;
		atomic_fetch_sub(&sv->irq_pending, 1);
		line->target = NULL;
		sim_line_update(svm, line);
	}
	sim_irq_unlock(svm);
}

int sim_irq_line_create(struct sim_vm *svm, uint32_t label, void **priv_out)
{
	struct sim_line *line;

	line = hvabs__calloc(1, sizeof(*line));
	if (!line)
		return hvabs__error_nomem(SIM_NAME);
	line->label = label;
	line->resample_fd = -1;
	sim_irq_lock(svm);
	if (sim_line_find(svm, label)) {
		sim_irq_unlock(svm);
		hvabs__free(line);
		return hvabs__error_set(HVABS_EEXIST, 0, SIM_NAME, "doorbell %u exists", label);
	}
	hvabs__list_add_tail(&svm->lines, &line->node);
	sim_irq_unlock(svm);
	*priv_out = line;
	return 0;
}

void sim_irq_line_destroy(struct sim_vm *svm, void *priv)
{
	struct sim_line *line = priv;
	struct hvabs__list *n;

	if (!line)
		return;
	sim_irq_lock(svm);
	line->pending = false;
	sim_line_update(svm, line);
	for (n = svm->irqfds.next; n != &svm->irqfds; n = n->next) {
		struct sim_irqfd *irqfd = hvabs__container_of(n, struct sim_irqfd, node);

		if (irqfd->line == line)
			irqfd->line = NULL;
	}
	hvabs__list_del(&line->node);
	sim_irq_unlock(svm);
	hvabs__free(line);
}

void sim_irq_line_raise(struct sim_vm *svm, void *priv)
{
	sim_irq_lock(svm);
	sim_line_raise_locked(svm, priv);
	sim_irq_unlock(svm);
}

/* ---- irqfd ---- */

/* Consume a signalled irqfd and raise its line. Under irq_lock. */
static void sim_irqfd_fire(struct sim_vm *svm, uint64_t id, uint32_t events)
{
	struct sim_irqfd *irqfd = NULL;
	struct hvabs__list *n;
	struct pollfd pfd = { .events = POLLIN };
	uint64_t cnt;
	ssize_t r;

	for (n = svm->irqfds.next; n != &svm->irqfds; n = n->next) {
		irqfd = hvabs__container_of(n, struct sim_irqfd, node);
		if (irqfd->id == id)
			break;
		irqfd = NULL;
	}
	if (!irqfd)
		return; /* deassigned after epoll_wait returned */
	/* Never block: the fd is the caller's and may be read elsewhere. */
	pfd.fd = irqfd->fd;
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN)) {
		if (events & (EPOLLERR | EPOLLHUP))
			goto out_disarm;
		return;
	}
	r = read(irqfd->fd, &cnt, sizeof(cnt));
	if (r == (ssize_t)sizeof(cnt)) {
		if (irqfd->line && irqfd->line->level)
			sim_line_assert_locked(svm, irqfd->line);
		else if (irqfd->line)
			sim_line_raise_locked(svm, irqfd->line);
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
out_disarm:
	/* Not an eventfd that can be consumed (EOF, error): stop watching it. */
	epoll_ctl(svm->epfd, EPOLL_CTL_DEL, irqfd->fd, NULL);
}

static void *sim_irqfd_main(void *arg)
{
	struct sim_vm *svm = arg;
	struct epoll_event ev[SIM_IRQFD_EVENTS];
	int i, n;

	for (;;) {
		n = epoll_wait(svm->epfd, ev, SIM_IRQFD_EVENTS, -1);
		if (n < 0 && errno != EINTR)
			return NULL;
		sim_irq_lock(svm);
		if (svm->irqfd_stop) {
			sim_irq_unlock(svm);
			return NULL;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.u64)
				sim_irqfd_fire(svm, ev[i].data.u64, ev[i].events);
		}
		sim_irq_unlock(svm);
	}
}

/* Create the epoll set, the wake fd and the irqfd thread. Under irq_lock. */
static int sim_irqfd_thread_start(struct sim_vm *svm)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	sigset_t all, old;
	int ret;

	svm->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (svm->epfd < 0)
		return hvabs__error_set(HVABS_EIO, errno, SIM_NAME, "epoll_create1");
	svm->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (svm->wakefd < 0) {
		ret = hvabs__error_set(HVABS_EIO, errno, SIM_NAME, "eventfd");
		goto out_close_epfd;
	}
	if (epoll_ctl(svm->epfd, EPOLL_CTL_ADD, svm->wakefd, &ev)) {
		ret = hvabs__error_set(HVABS_EIO, errno, SIM_NAME, "epoll_ctl");
		goto out_close_wakefd;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&svm->irqfd_thread, NULL, sim_irqfd_main, svm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		ret = hvabs__error_set(HVABS_ENOMEM, ret, SIM_NAME,
				       "cannot create the irqfd thread");
		goto out_close_wakefd;
	}
	svm->irqfd_thread_on = true;
	return 0;

out_close_wakefd:
	close(svm->wakefd);
	svm->wakefd = -1;
out_close_epfd:
	close(svm->epfd);
	svm->epfd = -1;
	return ret;
}

void sim_irqfd_stop(struct sim_vm *svm)
{
	uint64_t one = 1;
	bool on;

	sim_irq_lock(svm);
	svm->irqfd_stop = true;
	on = svm->irqfd_thread_on;
	svm->irqfd_thread_on = false;
	sim_irq_unlock(svm);
	if (on) {
		while (write(svm->wakefd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
		pthread_join(svm->irqfd_thread, NULL);
	}
	sim_irq_lock(svm);
	if (svm->wakefd >= 0)
		close(svm->wakefd);
	if (svm->epfd >= 0)
		close(svm->epfd);
	svm->wakefd = -1;
	svm->epfd = -1;
	sim_irq_unlock(svm);
}

static int sim_irqfd_errno(int err, int fd)
{
	switch (err) {
	case EEXIST:
		return hvabs__error_set(HVABS_EBUSY, err, SIM_NAME,
					"eventfd %d is already an irqfd", fd);
	case ENOMEM:
	case ENOSPC:
		return hvabs__error_set(HVABS_ENOMEM, err, SIM_NAME, "cannot watch eventfd %d", fd);
	default:
		return hvabs__error_set(HVABS_EINVAL, err, SIM_NAME, "cannot watch fd %d", fd);
	}
}

/* Arm @irqfd under irq_lock: watch its fd, then set the line's mode. */
static int sim_irqfd_arm(struct sim_vm *svm, struct sim_irqfd *irqfd,
			 const struct hvabs_fn_irqfd_arg *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sim_line *line = irqfd->line;
	int ret;

	if (svm->irqfd_stop)
		return hvabs__error_set(HVABS_ESTATE, 0, SIM_NAME, "vm is stopping");
	if (!svm->irqfd_thread_on) {
		ret = sim_irqfd_thread_start(svm);
		if (ret)
			return ret;
	}
	irqfd->id = ++svm->irqfd_seq;
	ev.data.u64 = irqfd->id;
	if (epoll_ctl(svm->epfd, EPOLL_CTL_ADD, arg->fd, &ev))
		return sim_irqfd_errno(errno, arg->fd);
	hvabs__list_add_tail(&svm->irqfds, &irqfd->node);
	line->level = arg->flags & HVABS_IRQFD_LEVEL;
	line->resample = line->level && (arg->flags & HVABS_IRQFD_RESAMPLE);
	line->resample_fd = line->resample ? arg->resample_fd : -1;
	return 0;
}

int sim_irqfd_assign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
		     const struct hvabs_resource *res)
{
	struct sim_vm *svm = sim_vm_of(fn->vm);
	struct sim_irqfd *irqfd;
	int ret;

	ret = sim_fault_check(SIM_OP_IRQFD_ASSIGN);
	if (ret)
		return ret;
	if (!res || res->type != HVABS_RESOURCE_BELL_TX || !res->priv)
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME,
					"irqfd needs a BELL_TX doorbell");
	if ((arg->flags & HVABS_IRQFD_RESAMPLE) &&
	    (!(arg->flags & HVABS_IRQFD_LEVEL) || arg->resample_fd < 0))
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME,
					"resample needs a level irqfd and a resample fd");
	irqfd = hvabs__calloc(1, sizeof(*irqfd));
	if (!irqfd)
		return hvabs__error_nomem(SIM_NAME);
	irqfd->fn = fn;
	irqfd->fd = arg->fd;
	irqfd->line = res->priv;
	sim_irq_lock(svm);
	ret = sim_irqfd_arm(svm, irqfd, arg);
	sim_irq_unlock(svm);
	if (ret)
		hvabs__free(irqfd);
	return ret;
}

void sim_irqfd_deassign(struct hvabs_function *fn, const struct hvabs_fn_irqfd_arg *arg,
			const struct hvabs_resource *res)
{
	struct sim_vm *svm = sim_vm_of(fn->vm);
	struct sim_irqfd *irqfd = NULL;
	struct hvabs__list *n;

	(void)arg;
	(void)res;
	sim_irq_lock(svm);
	for (n = svm->irqfds.next; n != &svm->irqfds; n = n->next) {
		irqfd = hvabs__container_of(n, struct sim_irqfd, node);
		if (irqfd->fn == fn)
			break;
		irqfd = NULL;
	}
	if (irqfd) {
		if (svm->epfd >= 0)
			epoll_ctl(svm->epfd, EPOLL_CTL_DEL, irqfd->fd, NULL);
		hvabs__list_del(&irqfd->node);
		if (irqfd->line) {
			irqfd->line->level = false;
			irqfd->line->resample = false;
			irqfd->line->resample_fd = -1;
			irqfd->line->asserted = false;
		}
	}
	sim_irq_unlock(svm);
	hvabs__free(irqfd);
}

/* ---- guest calls ---- */

/* Add 1 to an eventfd; a full counter or a closed fd is ignored. */
static void sim_eventfd_signal(int fd)
{
	uint64_t one = 1;
	ssize_t r;

	do
		r = write(fd, &one, sizeof(one));
	while (r < 0 && errno == EINTR);
}

/* Acknowledge the lowest deliverable line routed to @sv. */
static bool sim_irq_ack(struct sim_vcpu *sv, uint32_t *label)
{
	struct sim_vm *svm = sim_vm_of(sv->base.vm);
	struct sim_line *best = NULL;
	struct hvabs__list *n;

	if (!atomic_load(&sv->irq_pending))
		return false;
	sim_irq_lock(svm);
	for (n = svm->lines.next; n != &svm->lines; n = n->next) {
		struct sim_line *line = hvabs__container_of(n, struct sim_line, node);

		if (line->target == sv && (!best || line->label < best->label))
			best = line;
	}
	if (best) {
		best->pending = false;
		best->active = true;
		if (best->level && !best->resample)
			best->asserted = false;
		sim_line_update(svm, best);
		*label = best->label;
	}
	sim_irq_unlock(svm);
	if (!best)
		return false;
	hvabs__stat_inc(&sv->base.stats.irqs);
	return true;
}

uint32_t hvabs_sim_guest_wait_irq(struct hvabs_sim_guest *g)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	uint32_t label;
	int v;

	atomic_store(&sv->irq_waiting, true);
	for (;;) {
		/* Read the wake count first: a later wake changes it (futex). */
		v = atomic_load(&sv->gwake);
		if (atomic_load(&sv->hstate) == SIM_H_DYING)
			pthread_exit(NULL);
		sim_guest_preempt(sv);
		if (sim_irq_ack(sv, &label))
			break;
		atomic_store(&sv->gsleep, 1);
		if (atomic_load(&sv->gwake) == v)
			sim_futex_wait(&sv->gwake, v);
		atomic_store(&sv->gsleep, 0);
	}
	atomic_store(&sv->irq_waiting, false);
	return label;
}

int hvabs_sim_guest_poll_irq(struct hvabs_sim_guest *g, uint32_t *line)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	uint32_t label;

	sim_guest_preempt(sv);
	if (!sim_irq_ack(sv, &label))
		return 0;
	*line = label;
	return 1;
}

void hvabs_sim_guest_eoi(struct hvabs_sim_guest *g, uint32_t label)
{
	struct sim_vcpu *sv = sim_guest_sv(g);
	struct sim_vm *svm = sim_vm_of(sv->base.vm);
	struct sim_line *line;

	sim_guest_preempt(sv);
	sim_irq_lock(svm);
	line = sim_line_find(svm, label);
	if (line && line->active) {
		line->active = false;
		if (line->resample) {
			line->asserted = false;
			/* Under the lock: never written after deassign returns. */
			sim_eventfd_signal(line->resample_fd);
		}
		if (line->level && line->asserted)
			line->pending = true;
		sim_line_update(svm, line);
	}
	sim_irq_unlock(svm);
}

/* ---- views for tests and engines ---- */

int hvabs_sim_irq_state(struct hvabs_vm *vm, uint32_t label, uint32_t *state_out)
{
	struct sim_vm *svm;
	struct sim_line *line;
	uint32_t s;

	if (!vm || vm->ops != &hvabs__sim_backend)
		return hvabs__error_set(HVABS_EINVAL, 0, SIM_NAME, "not a sim vm");
	if (hvabs__vm_state(vm) == HVABS_VM_DESTROYED)
		return hvabs__error_set(HVABS_ESTATE, 0, SIM_NAME, "vm destroyed");
	svm = sim_vm_of(vm);
	sim_irq_lock(svm);
	line = sim_line_find(svm, label);
	if (line)
		s = (line->pending ? HVABS_SIM_IRQ_PENDING : 0) |
		    (line->active ? HVABS_SIM_IRQ_ACTIVE : 0) |
		    (line->level ? HVABS_SIM_IRQ_LEVEL : 0) |
		    (line->asserted ? HVABS_SIM_IRQ_ASSERTED : 0);
	sim_irq_unlock(svm);
	if (!line)
		return hvabs__error_set(HVABS_ENOTFOUND, 0, SIM_NAME, "no doorbell %u", label);
	*state_out = s;
	return 0;
}

void sim_vcpu_set_notify(struct hvabs_vcpu *vcpu, void (*fn)(void *ctx), void *ctx)
{
	struct sim_vcpu *sv = sim_vcpu_of(vcpu);

	atomic_store_explicit(&sv->notify_ctx, ctx, memory_order_relaxed);
	atomic_store_explicit(&sv->notify_fn, fn, memory_order_seq_cst);
	/* Orders the store before the caller's next read of the kick flag. */
	atomic_thread_fence(memory_order_seq_cst);
}

bool sim_vcpu_irq_pending(struct hvabs_vcpu *vcpu)
{
	return atomic_load_explicit(&sim_vcpu_of(vcpu)->irq_pending, memory_order_acquire) != 0;
}
