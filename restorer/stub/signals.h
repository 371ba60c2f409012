/* SPDX-License-Identifier: GPL-2.0 */
/* Pending signals queued again by the stub (signals.c). */
#ifndef CHKPT_SIGNALS_H
#define CHKPT_SIGNALS_H

#include "plan.h"

/*
 * Queues again, in plan order, the pending signals that thread `index`
 * of the plan must queue: its own queue's, and for thread 0 also the
 * process queue's. Called by that thread, with every signal blocked,
 * before any restored thread runs. Returns 0, or the negative errno of
 * the first call that failed with *signo set to its signal.
 */
long chkpt_queue_signals(const struct chkpt_plan *plan, unsigned long long index, unsigned long long *signo);

/*
 * Creates the plan's timers again, in plan order: the itimers with
 * setitimer, each POSIX timer with timer_create under its recorded id,
 * armed with timer_settime. Called by the first thread once every thread
 * has written its new_tid, before any restored thread runs. Returns 0, or
 * the negative errno of the first failure with *step set to
 * CHKPT_STEP_CREATE_TIMER or CHKPT_STEP_SET_TIMER and *detail to the
 * timer's id (the itimer's number for itimers).
 */
long chkpt_create_timers(const struct chkpt_plan *plan, unsigned long long *step, unsigned long long *detail);

/*
 * Registers the process with membarrier(2) again, each REGISTER_* command
 * of plan->membarrier in turn (lowest first). Returns 0, or the negative
 * errno of the first that failed with *cmd set to it.
 */
long chkpt_register_membarrier(const struct chkpt_plan *plan, unsigned long long *cmd);

#endif
