/* SPDX-License-Identifier: MIT */
/* emu/gunyah/emu_vcpu.c: vCPU files - run page, GH_VCPU_RUN served by a worker thread per vCPU, kicks. */
#include "emu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * GH_VCPU_RUN is answered asynchronously: the supervisor queues the
 * notification on the vCPU's worker, which runs the sim vCPU and SENDs the
 * result. Runs of one vCPU are served one at a time (the kernel's run_lock).
 *
 * Stopping a run: the supervisor checks every emu.watch_us, while a run is
 * in flight, whether the run page's immediate_exit byte is set or the
 * notification died (the VMM thread took a signal: it sees EINTR, or the
 * call is restarted as a new notification under SA_RESTART), and kicks the
 * sim vCPU. A new RUN for a busy vCPU checks the old one at once. The
 * worker answers a kick with -EINTR if immediate_exit is set, drops a dead
 * notification, and otherwise runs on. An exit whose answer found the
 * notification dead stays in the run page and is returned by the next RUN.
 */

static void *emu_vcpu_main(void *arg);

int emu_vcpu_create(struct emu_vcpu **out, struct emu_vm *vm, struct emu_fn *fn)
{
	struct emu_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	char name[32];
	sigset_t all, old;
	int ret;

	if (!vcpu)
		return -ENOMEM;
	snprintf(name, sizeof(name), "gh-vcpu:%u", fn->label);
	ret = emu_obj_init(&vcpu->obj, EMU_OBJ_VCPU, name, (size_t)emu.page_size, true);
	if (ret)
		goto out_free;
	vcpu->run = mmap(NULL, (size_t)emu.page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->obj.memfd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		goto out_obj_fini;
	}
	pthread_cond_init(&vcpu->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&vcpu->thread, NULL, emu_vcpu_main, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto out_unmap;
	vcpu->thread_on = true;
	vcpu->id = fn->label;
	vcpu->vm = vm;
	vm->refs++;
	vcpu->file_open = true;
	vcpu->fn = fn;
	fn->vcpu = vcpu;
	vcpu->refs = 2;
	emu.nr_vcpus++;
	*out = vcpu;
	return 0;

out_unmap:
	pthread_cond_destroy(&vcpu->cond);
	munmap(vcpu->run, (size_t)emu.page_size);
out_obj_fini:
	emu_obj_fini(&vcpu->obj);
out_free:
	free(vcpu);
	return ret;
}

/* Last reference: stop the worker; emu_reap() joins and frees it. */
void emu_vcpu_put(struct emu_vcpu *vcpu)
{
	if (--vcpu->refs)
		return;
	emu_obj_fini(&vcpu->obj);
	vcpu->stop = true;
	pthread_cond_signal(&vcpu->cond);
	vcpu->reap_next = emu.reap;
	emu.reap = vcpu;
	emu.nr_vcpus--;
	emu_wake_supervisor();
}

void emu_vcpu_file_released(struct emu_vcpu *vcpu)
{
	struct emu_vm *vm = vcpu->vm;

	if (!vcpu->file_open)
		return;
	vcpu->file_open = false;
	if (!vcpu->fn)
		vcpu->vm = NULL;
	/* May tear the VM down, which removes our function (the file ref keeps us). */
	emu_vm_put(vm);
	emu_vcpu_put(vcpu);
}

void emu_vcpu_join(struct emu_vcpu *vcpu)
{
	if (vcpu->thread_on)
		pthread_join(vcpu->thread, NULL);
	munmap(vcpu->run, (size_t)emu.page_size);
	pthread_cond_destroy(&vcpu->cond);
	free(vcpu);
}

/* ---- test guests ---- */

static void emu_guest_trampoline(struct hvabs_sim_guest *g, void *payload)
{
	struct emu_guest_hook *hook = payload;

	hook->fn((struct hvabs_gunyah_emu_guest *)(void *)g, hook->payload);
}

void emu_vcpu_attach_guest(struct emu_vcpu *vcpu)
{
	if (vcpu->id >= EMU_MAX_GUEST_HOOKS || !emu.guests[vcpu->id].fn)
		return;
	vcpu->guest = emu.guests[vcpu->id];
	if (emu.hv.sim_set_guest(vcpu->sim_vcpu, emu_guest_trampoline, &vcpu->guest))
		emu_log("vcpu %u: cannot attach the test guest", vcpu->id);
}

/* ---- serving one GH_VCPU_RUN (emu.lock held) ---- */

static uint64_t emu_le_load(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A guest write an ioeventfd takes: signal it, the guest goes on (no exit). */
static bool emu_ioeventfd_hit(struct emu_vm *vm, const struct hvabs_exit *ex)
{
	uint64_t val = emu_le_load(ex->mmio.data, ex->mmio.len), one = 1;

	for (struct emu_fn *f = vm->fns; f; f = f->next) {
		if (f->type != GH_FN_IOEVENTFD || f->addr != ex->mmio.addr)
			continue;
		if (f->len && f->len != ex->mmio.len)
			continue;
		if ((f->flags & GH_IOEVENTFD_DATAMATCH) && f->datamatch != val)
			continue;
		if (write(f->efd, &one, sizeof(one)) < 0)
			emu_log("ioeventfd write: %s", strerror(errno));
		emu.ioeventfd_hits++;
		return true;
	}
	return false;
}

static void emu_fill_status(struct gh_vcpu_run *run, uint32_t status, uint16_t type,
			    const uint8_t *reason, uint32_t reason_size)
{
	run->exit_reason = GH_VCPU_EXIT_STATUS;
	memset(&run->status, 0, sizeof(run->status));
	run->status.status = status;
	run->status.exit_info.type = type;
	if (reason_size > sizeof(run->status.exit_info.reason))
		reason_size = sizeof(run->status.exit_info.reason);
	run->status.exit_info.reason_size = reason_size;
	if (reason_size)
		memcpy(run->status.exit_info.reason, reason, reason_size);
}

static void emu_fill_mmio(struct emu_vcpu *vcpu, const struct hvabs_exit *ex)
{
	struct gh_vcpu_run *run = vcpu->run;

	run->exit_reason = GH_VCPU_EXIT_MMIO;
	run->mmio.phys_addr = ex->mmio.addr;
	/* As the kernel: only the access's bytes of data[] are written. */
	if (ex->mmio.is_write)
		memcpy(run->mmio.data, ex->mmio.data,
		       ex->mmio.len < sizeof(run->mmio.data) ? ex->mmio.len : sizeof(run->mmio.data));
	run->mmio.len = ex->mmio.len;
	run->mmio.is_write = ex->mmio.is_write;
	run->mmio.resume_action = 0;
	vcpu->mmio_read = !ex->mmio.is_write;
}

/* Translate a sim exit: a result for the VMM, or EMU_ASYNC to run on. */
static long emu_vcpu_exit(struct emu_vcpu *vcpu, const struct hvabs_exit *ex)
{
	switch (ex->reason) {
	case HVABS_EXIT_MMIO:
		if (ex->mmio.is_write && emu_ioeventfd_hit(vcpu->vm, ex))
			return EMU_ASYNC;
		emu_fill_mmio(vcpu, ex);
		return 0;
	case HVABS_EXIT_STATUS:
		emu_fill_status(vcpu->run, ex->status.status, ex->status.exit_type,
				ex->status.reason, ex->status.reason_size);
		return 0;
	case HVABS_EXIT_INTR:
		if (vcpu->run->immediate_exit)
			return emu_rule(R_RUN_IMMEDIATE_EXIT);
		if (!emu_id_valid(vcpu->cur))
			return EMU_REPLIED; /* the VMM thread left: nobody to answer */
		vcpu->kicked = false;
		return EMU_ASYNC;
	case HVABS_EXIT_HLT:
		return EMU_ASYNC; /* Gunyah blocks the vCPU in the hypervisor */
	default:
		emu_log("vcpu %u: sim exit %u has no Gunyah equivalent", vcpu->id, ex->reason);
		vcpu->run->exit_reason = GH_VCPU_EXIT_UNKNOWN;
		return -EINVAL;
	}
}

/* Checks before running, in the kernel's order; EMU_ASYNC: go and run. */
static long emu_vcpu_precheck(struct emu_vcpu *vcpu)
{
	if (!vcpu->fn || !vcpu->vm)
		return emu_rule(R_RUN_NO_FUNCTION);
	if (!vcpu->sim_vcpu)
		return emu_rule(R_RUN_UNBOUND);
	if (vcpu->vm->state == GH_RM_VM_STATUS_INIT_FAILED) {
		emu_fill_status(vcpu->run, GH_VM_STATUS_LOAD_FAILED, 0, NULL, 0);
		return 0;
	}
	if (vcpu->unreported) {
		vcpu->unreported = false;
		return 0;
	}
	if (vcpu->run->immediate_exit)
		return emu_rule(R_RUN_IMMEDIATE_EXIT);
	return EMU_ASYNC;
}

/* Hand read data from the run page to the guest waiting for it. */
static void emu_vcpu_complete_read(struct emu_vcpu *vcpu, struct hvabs_exit *ex)
{
	if (!vcpu->mmio_read)
		return;
	if (ex->reason == HVABS_EXIT_MMIO && !ex->mmio.is_write) {
		memcpy(ex->mmio.data, vcpu->run->mmio.data, sizeof(ex->mmio.data));
		ex->mmio.resume = HVABS_RESUME_HANDLED;
	}
	vcpu->mmio_read = false;
}

static long emu_vcpu_run_loop(struct emu_vcpu *vcpu)
{
	struct hvabs_vcpu *sv = vcpu->sim_vcpu;
	struct hvabs_vm *svm = vcpu->vm->sim;
	long r;

	/* Keeps sv's memory valid even if the VM is torn down meanwhile. */
	emu.hv.vm_get(svm);
	do {
		struct hvabs_exit *ex = emu.hv.vcpu_exit(sv);
		int rc;

		emu_vcpu_complete_read(vcpu, ex);
		pthread_mutex_unlock(&emu.lock);
		rc = emu.hv.vcpu_run(sv);
		pthread_mutex_lock(&emu.lock);
		if (vcpu->sim_vcpu != sv)
			r = vcpu->run->immediate_exit ? emu_rule(R_RUN_IMMEDIATE_EXIT)
						      : emu_rule(R_RUN_NO_FUNCTION);
		else if (rc)
			r = -emu_hv_errno(rc);
		else
			r = emu_vcpu_exit(vcpu, ex);
	} while (r == EMU_ASYNC);
	pthread_mutex_unlock(&emu.lock);
	emu.hv.vm_put(svm);
	pthread_mutex_lock(&emu.lock);
	return r;
}

static void emu_vcpu_serve(struct emu_vcpu *vcpu)
{
	long r;
	int ret;

	/* Interrupted while it waited for the previous run: nobody to answer. */
	if (!emu_id_valid(vcpu->cur)) {
		emu.runs_interrupted++;
		return;
	}
	r = emu_vcpu_precheck(vcpu);
	if (r == EMU_ASYNC)
		r = emu_vcpu_run_loop(vcpu);
	if (r == EMU_REPLIED) {
		emu.runs_interrupted++;
		return;
	}
	emu.runs++;
	ret = r < 0 ? emu_reply(vcpu->cur, 0, (int)-r) : emu_reply(vcpu->cur, r, 0);
	if (ret == -ENOENT) {
		emu.runs_interrupted++;
		/* The exit in the run page was not seen: the next RUN returns it. */
		vcpu->unreported = r == 0;
	}
}

static void emu_vcpu_refuse_queued(struct emu_vcpu *vcpu)
{
	while (vcpu->head) {
		struct emu_run_req *req = vcpu->head;

		vcpu->head = req->next;
		emu_reply(req->id, 0, -emu_rule(R_RUN_NO_FUNCTION));
		free(req);
	}
	vcpu->tail = NULL;
}

static void *emu_vcpu_main(void *arg)
{
	struct emu_vcpu *vcpu = arg;

	pthread_mutex_lock(&emu.lock);
	for (;;) {
		struct emu_run_req *req;

		while (!vcpu->stop && !vcpu->head)
			pthread_cond_wait(&vcpu->cond, &emu.lock);
		if (vcpu->stop)
			break;
		req = vcpu->head;
		vcpu->head = req->next;
		if (!vcpu->head)
			vcpu->tail = NULL;
		vcpu->cur = req->id;
		free(req);
		vcpu->busy = true;
		vcpu->kicked = false;
		if (atomic_fetch_add(&emu.busy_vcpus, 1) == 0)
			emu_wake_supervisor(); /* start the watcher */
		emu_vcpu_serve(vcpu);
		atomic_fetch_sub(&emu.busy_vcpus, 1);
		vcpu->busy = false;
	}
	emu_vcpu_refuse_queued(vcpu);
	pthread_mutex_unlock(&emu.lock);
	return NULL;
}

/* ---- the supervisor's side ---- */

static void emu_vcpu_kick_if_stale(struct emu_vcpu *v)
{
	if (!v->busy || v->kicked || !v->sim_vcpu)
		return;
	if (v->run->immediate_exit || !emu_id_valid(v->cur)) {
		emu.hv.vcpu_kick(v->sim_vcpu);
		v->kicked = true;
	}
}

void emu_vcpu_watch(void)
{
	for (struct emu_obj *o = emu.objs; o; o = o->next)
		if (o->kind == EMU_OBJ_VCPU)
			emu_vcpu_kick_if_stale((struct emu_vcpu *)o);
}

bool emu_vcpu_any_busy(void)
{
	return atomic_load(&emu.busy_vcpus) != 0;
}

static long emu_vcpu_queue_run(struct emu_vcpu *vcpu, uint64_t id)
{
	struct emu_run_req *req = calloc(1, sizeof(*req));

	if (!req)
		return -ENOMEM;
	req->id = id;
	if (vcpu->tail)
		vcpu->tail->next = req;
	else
		vcpu->head = req;
	vcpu->tail = req;
	/* A restarted RUN (SA_RESTART) usually means the one in flight died. */
	emu_vcpu_kick_if_stale(vcpu);
	pthread_cond_signal(&vcpu->cond);
	return EMU_ASYNC;
}

long emu_vcpu_ioctl(struct emu_vcpu *vcpu, uint64_t id, uint32_t cmd, uint64_t arg)
{
	int err;

	(void)arg;
	switch (cmd) {
	case GH_VCPU_MMAP_SIZE:
		err = emu_op_enter(EMU_OP_VCPU_MMAP_SIZE);
		return err ? -err : emu.page_size;
	case GH_VCPU_RUN:
		err = emu_op_enter(EMU_OP_VCPU_RUN);
		if (err)
			return -err;
		return emu_vcpu_queue_run(vcpu, id);
	default:
		return emu_rule(R_WRONG_FD_VCPU);
	}
}
