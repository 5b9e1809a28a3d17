/* SPDX-License-Identifier: MIT */
/* bench/bench_sizes.c: sizes of private core and sim structs, to split a vCPU's bytes into core and backend parts. */
#include "internal.h"
#include "sim.h"

const size_t hvabs_bench_sizeof_core_vcpu = sizeof(struct hvabs_vcpu);
const size_t hvabs_bench_sizeof_sim_vcpu = sizeof(struct sim_vcpu);
const size_t hvabs_bench_sizeof_function = sizeof(struct hvabs_function);
const size_t hvabs_bench_sizeof_io_handler = sizeof(struct hvabs_io_handler);
const size_t hvabs_bench_sizeof_ticket = sizeof(struct hvabs_ticket);
const size_t hvabs_bench_sizeof_resource = sizeof(struct hvabs_resource);
