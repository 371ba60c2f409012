/* regs [--wait-at K,...] SEED [ROUNDS] [ITERS]: loads known values into every general
 * purpose register but rcx (loop counter) and rsp, into ymm0-14 (or, with
 * AVX-512, zmm0-14 and zmm16-31; register 15 is the compare scratch) and
 * checks them in a loop written in assembly, ITERS iterations per round.
 * Prints the values ("gpr NAME 0x..", "vec I HEX"), the loop's address
 * range ("loop START END"), "ready", "round N ok" and "result HASH";
 * exits 1 if a register changed. */
#include "common.h"
#include <string.h>

/* rax rbx rdx rsi rdi rbp r8 .. r15 */
static const char *gpr_names[14] = { "rax", "rbx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
				     "r10", "r11", "r12", "r13", "r14", "r15" };
uint64_t gpr_vals[14];
uint8_t vec_vals[32][64] __attribute__((aligned(64)));

int regs_loop_avx2(uint64_t iters);
int regs_loop_avx512(uint64_t iters);
extern char avx2_body[], avx2_end[], avx512_body[], avx512_end[];

#define LOAD_GPRS \
	"mov gpr_vals+0(%rip), %rax\n mov gpr_vals+8(%rip), %rbx\n mov gpr_vals+16(%rip), %rdx\n" \
	"mov gpr_vals+24(%rip), %rsi\n mov gpr_vals+32(%rip), %rdi\n mov gpr_vals+40(%rip), %rbp\n" \
	"mov gpr_vals+48(%rip), %r8\n mov gpr_vals+56(%rip), %r9\n mov gpr_vals+64(%rip), %r10\n" \
	"mov gpr_vals+72(%rip), %r11\n mov gpr_vals+80(%rip), %r12\n mov gpr_vals+88(%rip), %r13\n" \
	"mov gpr_vals+96(%rip), %r14\n mov gpr_vals+104(%rip), %r15\n"
#define CHECK_GPRS \
	"cmp gpr_vals+0(%rip), %rax\n jne 9f\n cmp gpr_vals+8(%rip), %rbx\n jne 9f\n" \
	"cmp gpr_vals+16(%rip), %rdx\n jne 9f\n cmp gpr_vals+24(%rip), %rsi\n jne 9f\n" \
	"cmp gpr_vals+32(%rip), %rdi\n jne 9f\n cmp gpr_vals+40(%rip), %rbp\n jne 9f\n" \
	"cmp gpr_vals+48(%rip), %r8\n jne 9f\n cmp gpr_vals+56(%rip), %r9\n jne 9f\n" \
	"cmp gpr_vals+64(%rip), %r10\n jne 9f\n cmp gpr_vals+72(%rip), %r11\n jne 9f\n" \
	"cmp gpr_vals+80(%rip), %r12\n jne 9f\n cmp gpr_vals+88(%rip), %r13\n jne 9f\n" \
	"cmp gpr_vals+96(%rip), %r14\n jne 9f\n cmp gpr_vals+104(%rip), %r15\n jne 9f\n"
#define PROLOGUE "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n mov %rdi, %rcx\n"
#define EPILOGUE \
	"xor %eax, %eax\n jmp 8f\n" \
	"9: mov $1, %eax\n" \
	"8: vzeroupper\n pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"

__asm__(".text\n .globl regs_loop_avx2\n .type regs_loop_avx2,@function\n regs_loop_avx2:\n" PROLOGUE
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n vmovdqu vec_vals+64*\\i(%rip), %ymm\\i\n .endr\n"
	LOAD_GPRS
	".globl avx2_body\n avx2_body:\n 1:\n" CHECK_GPRS
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14\n"
	" vpxor vec_vals+64*\\i(%rip), %ymm\\i, %ymm15\n vptest %ymm15, %ymm15\n jnz 9f\n .endr\n"
	" dec %rcx\n jnz 1b\n .globl avx2_end\n avx2_end:\n" EPILOGUE);

__asm__(".text\n .globl regs_loop_avx512\n .type regs_loop_avx512,@function\n regs_loop_avx512:\n" PROLOGUE
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	" vmovdqu64 vec_vals+64*\\i(%rip), %zmm\\i\n .endr\n"
	LOAD_GPRS
	".globl avx512_body\n avx512_body:\n 1:\n" CHECK_GPRS
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	" vpxorq vec_vals+64*\\i(%rip), %zmm\\i, %zmm15\n vptestmq %zmm15, %zmm15, %k1\n kortestw %k1, %k1\n jnz 9f\n .endr\n"
	" dec %rcx\n jnz 1b\n .globl avx512_end\n avx512_end:\n" EPILOGUE);

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	uint64_t seed = arg_or(argc, argv, 1, 1);
	long rounds = arg_or(argc, argv, 2, 10), iters = arg_or(argc, argv, 3, 20000000);
	int avx512 = __builtin_cpu_supports("avx512f");
	if (!__builtin_cpu_supports("avx2"))
		FAIL("this test needs AVX2");
	uint64_t h = seed;
	for (int i = 0; i < 14; i++) {
		h = mix64(h, i);
		gpr_vals[i] = h;
		printf("gpr %s 0x%016llx\n", gpr_names[i], (unsigned long long)h);
	}
	int nvec = avx512 ? 32 : 15, width = avx512 ? 64 : 32;
	for (int i = 0; i < nvec; i++) {
		if (i == 15)
			continue;
		for (int b = 0; b < width; b += 8) {
			h = mix64(h, i * 64 + b);
			memcpy(&vec_vals[i][b], &h, 8);
		}
		printf("vec %d ", i);
		for (int b = 0; b < width; b++)
			printf("%02x", vec_vals[i][b]);
		printf("\n");
	}
	printf("loop %p %p\n", avx512 ? (void *)avx512_body : (void *)avx2_body,
	       avx512 ? (void *)avx512_end : (void *)avx2_end);
	printf("ready\n");
	uint64_t sum = seed;
	for (long r = 0; r < rounds; r++) {
		wait_point(r);
		int bad = avx512 ? regs_loop_avx512(iters) : regs_loop_avx2(iters);
		if (bad)
			FAIL("round %ld: a register lost its value", r);
		sum = mix64(sum, r);
		printf("round %ld ok\n", r);
	}
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
