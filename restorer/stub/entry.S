/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stub's entry point, the raw clone, and its final page.
 *
 * The stub is one position-independent blob: its body (this file's .text and
 * stub.c) followed by one page-aligned "final page". The body is unmapped
 * before the last thread resumes; the final page cannot be, because the last
 * instruction any restored thread executes in the stub (the rt_sigreturn
 * syscall) must still be mapped when it runs. It is the one mapping a
 * restored process shows that its original did not have; it holds only the
 * code below and a signature that ckpt-writer recognises and leaves out of a
 * later dump.
 */
	.intel_syntax noprefix
	.text
	.globl chkpt_stub_entry
	.type chkpt_stub_entry, @function
/* Entered with %rdi = plan and %rsp = a temporary stack inside the plan area. */
chkpt_stub_entry:
	and rsp, -16
	call stub_main
	ud2

/*
 * long chkpt_clone(flags, stack, ctid, tls, fn, arg)
 *   rdi      rsi    rdx   rcx  r8  r9
 * The child runs fn(arg) on `stack` and never returns from it.
 */
	.globl chkpt_clone
	.type chkpt_clone, @function
chkpt_clone:
	push r12
	push r13
	mov r12, r8            /* fn and arg survive the syscall in callee-saved registers */
	mov r13, r9
	mov r10, rdx           /* clone(flags, stack, parent_tid, child_tid, tls) */
	mov r8, rcx
	xor edx, edx
	mov eax, 56
	syscall
	test rax, rax
	jz 1f
	pop r13
	pop r12
	ret
1:	/* child: a fresh stack, 16-byte aligned for the call */
	and rsp, -16
	mov rdi, r13
	call r12
	ud2

/*
 * long chkpt_clone3(args, size, fn, arg)
 *   rdi   rsi   rdx  rcx
 * clone3(2); the child starts on args->stack + args->stack_size and runs
 * fn(arg), never returning from it.
 */
	.globl chkpt_clone3
	.type chkpt_clone3, @function
chkpt_clone3:
	push r12
	push r13
	mov r12, rdx
	mov r13, rcx
	mov eax, 435
	syscall
	test rax, rax
	jz 1f
	pop r13
	pop r12
	ret
1:	and rsp, -16
	mov rdi, r13
	call r12
	ud2

/* ---------------- final page: stays mapped ---------------- */
	.section .chkpt_final, "ax"
	.balign 4096
	.globl chkpt_final_page
chkpt_final_page:

/*
 * chkpt_final_child(frame_sp, &threads_left, &go): a cloned thread is done
 * with the plan; tell the first thread, wait until it lets every thread
 * resume (`go`, a u32 on this thread's own stack, below the frame), then
 * become the restored thread.
 */
	.globl chkpt_final_child
chkpt_final_child:
	mov rsp, rdi
	mov r8, rdx            /* &go survives the syscalls (only rax, rcx, r11 change) */
	lock dec qword ptr [rsi]
	mov rdi, rsi           /* futex(&threads_left, FUTEX_WAKE, 1): may find the page gone, harmless */
	mov esi, 1
	mov edx, 1
	mov eax, 202
	syscall
1:	cmp dword ptr [r8], 0
	jne 2f
	mov rdi, r8            /* futex(&go, FUTEX_WAIT, 0, NULL) */
	xor esi, esi
	xor edx, edx
	xor r10d, r10d
	mov eax, 202
	syscall
	jmp 1b
2:	mov eax, 15            /* rt_sigreturn from the frame at %rsp */
	syscall
	ud2

/*
 * chkpt_final_main(unmap_start, unmap_len, frame_sp): unmap the stub body and
 * the plan, then become the restored thread.
 */
	.globl chkpt_final_main
chkpt_final_main:
	mov rsp, rdx
	mov eax, 11            /* munmap; nothing useful could be done if it failed */
	syscall
	mov eax, 15
	syscall
	ud2

	.globl chkpt_final_signature
chkpt_final_signature:
	.ascii "binfmt_chkpt restorer final page v1\0"
	.balign 4096, 0xcc
