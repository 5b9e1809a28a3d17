/* SPDX-License-Identifier: MIT */
/* hvabs.h: umbrella header of the hvabs hypervisor-abstraction library. */
#ifndef HVABS_H
#define HVABS_H

#include "hvabs/common.h"
#include "hvabs/errors.h"
#include "hvabs/alloc.h"
#include "hvabs/backend.h"
#include "hvabs/vm.h"
#include "hvabs/function.h"
#include "hvabs/resource.h"
#include "hvabs/io.h"
#include "hvabs/vcpu.h"
#include "hvabs/sim.h"

#endif
