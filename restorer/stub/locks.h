/* SPDX-License-Identifier: GPL-2.0 */
/* File locks taken again by the stub (locks.c). */
#ifndef CHKPT_LOCKS_H
#define CHKPT_LOCKS_H

#include "plan.h"

/*
 * Takes the plan's file locks again, in plan order, each through its fd
 * and without waiting. Called by the first thread once every fd is in
 * place, before any restored thread runs. Returns 0, or the negative errno
 * of the first that could not be taken (EAGAIN/EWOULDBLOCK: someone else
 * holds a conflicting lock) with *fd set to its fd.
 */
long chkpt_take_locks(const struct chkpt_plan *plan, unsigned long long *fd);

#endif
