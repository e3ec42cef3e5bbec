/*
 * coroutine-switch.c: coroutine stacks and the stack switch.
 *
 * What it is.  The backend behind the interface at the end of
 * coroutine_int.h.  Every Coroutine lives at the start of a CoroutineSwitch,
 * which adds the stack and the saved machine state of a suspended
 * coroutine.  Two implementations of the switch, picked at build time:
 *
 *   asm       (CONFIG_COROUTINE_ASM, x86_64 and aarch64): a dozen
 *             instructions push the callee-saved registers on the old
 *             stack, store the stack pointer, load the new one and pop.
 *             A new stack is laid out as if it had been switched away
 *             from, with qemu_co_asm_trampoline as the return address.
 *   ucontext  (anything else, and the sanitizer builds): makecontext() to
 *             start a new stack once, then sigsetjmp(env, 0) and
 *             siglongjmp() for every switch.  With a zero savemask neither
 *             makes a system call; only the one-time start pays for the
 *             sigprocmask inside setcontext().
 *
 * Invariants.
 *   - A suspended coroutine's state is in its CoroutineSwitch (sp or env);
 *     the running one's is in the CPU.  Only qemu_coroutine_switch() moves
 *     it, and only between coroutines of one thread.
 *   - Stacks are 16-byte aligned at the top (both ABIs require it at a
 *     call) and have a PROT_NONE guard page right below their lowest byte.
 *     A leader (a thread's own stack) has stack == NULL.
 *   - The floating-point control state (x86 MXCSR and x87 control word,
 *     aarch64 FPCR) is not switched: it is per thread, and nothing in
 *     qblock changes it.
 *   - The asm switch does not maintain an x86 CET shadow stack; binaries
 *     run with shadow stacks off (glibc's default).
 *
 * Sanitizers.  AddressSanitizer must know which stack is in use, or it
 * reports false stack overflows and leaks fake frames: every switch is
 * bracketed by __sanitizer_start_switch_fiber() before and
 * __sanitizer_finish_switch_fiber() after, and a terminating coroutine
 * passes NULL for its fake-stack save so ASan frees that fake stack.  The
 * bounds of a thread's own stack are learnt when the thread's first
 * coroutine starts: no other coroutine exists yet, so it comes from there.
 * ThreadSanitizer gets one fiber per coroutine.
 *
 * Costs.  A coroutine costs one mmap of QEMU_COROUTINE_STACK_SIZE plus a
 * page (virtual only: pages are committed when first touched) and an
 * mprotect for the guard.  A switch costs a call, twelve pushes and pops
 * (asm) or a sigsetjmp and a siglongjmp (ucontext): a few nanoseconds.
 *
 * Worked example (asm, x86_64).  qemu_coroutine_new() maps the stack and
 * writes, from the top down: two zero words of padding, the address of
 * qemu_co_asm_trampoline, then zeros for rbp, the Coroutine pointer for
 * rbx, and zeros for r12-r15; sp points at the r15 slot.  The first switch
 * to it pops those six registers and the return address, and jumps to
 * the trampoline with the stack 16-byte aligned.  The trampoline moves rbx
 * to rdi and calls qemu_co_asm_start(co), which calls qemu_coroutine_run().
 * Every later switch saves and restores through the same slots.
 */

/*
 * With _FORTIFY_SOURCE, glibc routes siglongjmp() to __longjmp_chk(),
 * which aborts a jump to a lower stack pointer unless it is to a signal
 * stack: exactly what a jump to a coroutine stack looks like.  It must be
 * undefined before any system header is read, so before osdep.h.
 */
#undef _FORTIFY_SOURCE
#include "qemu/osdep.h"

#include <sys/mman.h>

#if !CONFIG_COROUTINE_ASM
#include <setjmp.h>
#include <ucontext.h>
#endif

#if CONFIG_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if CONFIG_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#include "qemu/coroutine_int.h"

#if CONFIG_COROUTINE_ASM && !defined(__x86_64__) && !defined(__aarch64__)
#error "CONFIG_COROUTINE_ASM is only implemented for x86_64 and aarch64"
#endif

typedef struct CoroutineSwitch {
    Coroutine base;

    /* Lowest usable byte of the stack and its size; NULL for a leader. */
    void *stack;
    size_t stack_size;

#if CONFIG_COROUTINE_ASM
    /* Stack pointer saved by qemu_co_asm_switch() while suspended. */
    void *sp;
#else
    /* Registers saved by sigsetjmp() while suspended. */
    sigjmp_buf env;
    /* While qemu_coroutine_new() starts the stack: where to jump back. */
    sigjmp_buf *boot_env;
#endif

#if CONFIG_ASAN
    /* ASan's fake stack of this coroutine while it is switched out. */
    void *fake_stack_save;
    /* The creator's, during the start-up switch of the ucontext backend. */
    void *boot_fake_stack_save;
#endif
#if CONFIG_TSAN
    void *tsan_fiber;
    void *boot_tsan_fiber;
#endif
} CoroutineSwitch;

#define CO_SWITCH(co) container_of((co), CoroutineSwitch, base)

/* ------------------------------------------------------------ stacks */

#if CONFIG_ASAN
/*
 * ASan's shadow of a stack keeps the poison of the frames that were live
 * on it, and neither munmap() nor a later mmap() clears it: the next stack
 * mapped at the same address would inherit false "stack-buffer-overflow"
 * reports.  Unpoison before unmapping, but only the pages the stack ever
 * touched (found with mincore()), so that freeing an almost unused 1 MiB
 * stack does not commit 128 KiB of shadow.
 */
static void coroutine_stack_unpoison(char *stack, size_t size)
{
    size_t page = qemu_real_host_page_size();
    size_t npages = size / page;
    g_autofree unsigned char *resident = g_malloc(npages);
    size_t i;

    if (mincore(stack, size, resident) < 0) {
        __asan_unpoison_memory_region(stack, size);
        return;
    }
    for (i = 0; i < npages && !(resident[i] & 1); i++) {
        /* stacks grow down: the used part is the top */
    }
    __asan_unpoison_memory_region(stack + i * page, size - i * page);
}
#endif

/* Map a stack of @size bytes (a multiple of the page size) with a guard. */
static void *coroutine_stack_alloc(size_t size)
{
    size_t page = qemu_real_host_page_size();
    char *base;

    base = mmap(NULL, size + page, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                -1, 0);
    if (base == MAP_FAILED) {
        fprintf(stderr, "qemu_coroutine_new: cannot map a %zu byte "
                "coroutine stack: %s\n", size + page, strerror(errno));
        abort();
    }
    if (mprotect(base, page, PROT_NONE) < 0) {
        fprintf(stderr, "qemu_coroutine_new: cannot protect the stack "
                "guard page: %s\n", strerror(errno));
        abort();
    }
    return base + page;
}

static void coroutine_stack_free(void *stack, size_t size)
{
    size_t page = qemu_real_host_page_size();

#if CONFIG_ASAN
    coroutine_stack_unpoison(stack, size);
#endif
    if (munmap((char *)stack - page, size + page) < 0) {
        fprintf(stderr, "qemu_coroutine_delete: munmap: %s\n",
                strerror(errno));
        abort();
    }
}

/* ------------------------------------------------- sanitizer annotations */

#if CONFIG_ASAN
/* This thread's own stack, as ASan sees it (see the essay). */
static __thread const void *asan_leader_bottom;
static __thread size_t asan_leader_size;

/*
 * The stack the last switch came from.  Thread-local, not a local of
 * switch_finish(): ASan keeps address-taken locals in its fake stack, and
 * a terminating coroutine's fake stack is freed while the frame of
 * qemu_coroutine_switch() on it is still live.  When the coroutine is
 * reused from the pool, that frame resumes; so the frames that span a
 * switch must have nothing in the fake stack.
 */
static __thread const void *asan_from_bottom;
static __thread size_t asan_from_size;
#endif

/*
 * Called on the old stack just before switching to @to.  @save is where
 * ASan keeps the old stack's fake frames; NULL frees them (the old stack
 * is done for).
 */
static inline void switch_prepare(void **save, CoroutineSwitch *to)
{
#if CONFIG_ASAN
    if (to->stack) {
        __sanitizer_start_switch_fiber(save, to->stack, to->stack_size);
    } else {
        __sanitizer_start_switch_fiber(save, asan_leader_bottom,
                                       asan_leader_size);
    }
#endif
#if CONFIG_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    (void)save;
    (void)to;
}

/*
 * Called on the new stack right after a switch lands there; @save is what
 * its own switch_prepare() stored when it left (NULL on a first start).
 * Leaves the bounds of the stack we came from in asan_from_*.
 */
static inline void switch_finish(void *save)
{
#if CONFIG_ASAN
    __sanitizer_finish_switch_fiber(save, &asan_from_bottom, &asan_from_size);
    if (!asan_leader_bottom) {
        asan_leader_bottom = asan_from_bottom;
        asan_leader_size = asan_from_size;
    }
#endif
    (void)save;
}

#if CONFIG_ASAN
#define CO_FAKE_STACK_SAVE(co)  (&(co)->fake_stack_save)
#define CO_FAKE_STACK(co)       ((co)->fake_stack_save)
#else
#define CO_FAKE_STACK_SAVE(co)  NULL
#define CO_FAKE_STACK(co)       NULL
#endif

/*
 * The save slot for switching away from @from: NULL when @from terminates,
 * so that ASan frees its fake stack, and so that the reused coroutine does
 * not later restore the fake stack that was just freed.
 */
static inline void **switch_save_slot(CoroutineSwitch *from,
                                      CoroutineAction action)
{
#if CONFIG_ASAN
    if (action == COROUTINE_TERMINATE) {
        from->fake_stack_save = NULL;
        return NULL;
    }
#endif
    (void)from;
    (void)action;
    return CO_FAKE_STACK_SAVE(from);
}

/* ------------------------------------------------------------ asm switch */

#if CONFIG_COROUTINE_ASM

/*
 * Save the callee-saved registers on the current stack, store the stack
 * pointer in *@save_sp, switch to @new_sp, restore the registers saved
 * there and return @action on the new stack.
 */
CoroutineAction qemu_co_asm_switch(void **save_sp, void *new_sp,
                                   CoroutineAction action)
    __attribute__((visibility("hidden")));

/* First return address of a new stack; calls qemu_co_asm_start(). */
void qemu_co_asm_trampoline(void) __attribute__((visibility("hidden")));

/* Runs on a new stack, from the trampoline: the coroutine's first C. */
void QEMU_NORETURN qemu_co_asm_start(CoroutineSwitch *co)
    __attribute__((visibility("hidden")));

#if defined(__x86_64__)

#if defined(__CET__) && (__CET__ & 1)
#define CO_ASM_ENDBR "endbr64\n\t"
#define CO_ASM_NOTRACK "notrack "
#else
#define CO_ASM_ENDBR ""
#define CO_ASM_NOTRACK ""
#endif

/*
 * The switch leaves through "pop; jmp *" rather than "ret".  The CPU
 * predicts a ret from its return stack, which holds the old coroutine's
 * return addresses, so a ret here would always mispredict, and would pop
 * the entry that the next ret on the new stack needs.  An indirect jump
 * is predicted from the branch history instead, which learns the
 * ping-pong of enter and yield; this halves the mispredicted returns of
 * an enter/yield pair (on the benchmark host: 26 ns down to 15 ns).
 */

/* Slots below the saved stack pointer: r15 r14 r13 r12 rbx rbp ret. */
#define CO_ASM_FRAME_WORDS 9
#define CO_ASM_SLOT_ARG    4     /* rbx */
#define CO_ASM_SLOT_RET    6

__asm__(
    ".pushsection .text\n\t"
    ".p2align 4\n\t"
    ".globl qemu_co_asm_switch\n\t"
    ".type qemu_co_asm_switch, @function\n"
    "qemu_co_asm_switch:\n\t"
    CO_ASM_ENDBR
    "pushq %rbp\n\t"
    "pushq %rbx\n\t"
    "pushq %r12\n\t"
    "pushq %r13\n\t"
    "pushq %r14\n\t"
    "pushq %r15\n\t"
    "movq %rsp, (%rdi)\n\t"
    "movq %rsi, %rsp\n\t"
    "movq %rdx, %rax\n\t"
    "popq %r15\n\t"
    "popq %r14\n\t"
    "popq %r13\n\t"
    "popq %r12\n\t"
    "popq %rbx\n\t"
    "popq %rbp\n\t"
    "popq %rcx\n\t"
    CO_ASM_NOTRACK "jmpq *%rcx\n\t"
    ".size qemu_co_asm_switch, .-qemu_co_asm_switch\n\t"
    "\n\t"
    ".p2align 4\n\t"
    ".globl qemu_co_asm_trampoline\n\t"
    ".type qemu_co_asm_trampoline, @function\n"
    "qemu_co_asm_trampoline:\n\t"
    ".cfi_startproc\n\t"
    ".cfi_undefined rip\n\t"
    "movq %rbx, %rdi\n\t"
    "call qemu_co_asm_start@PLT\n\t"
    "ud2\n\t"
    ".cfi_endproc\n\t"
    ".size qemu_co_asm_trampoline, .-qemu_co_asm_trampoline\n\t"
    ".popsection\n"
);

#elif defined(__aarch64__)

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define CO_ASM_BTI_C "hint #34\n\t"
#else
#define CO_ASM_BTI_C ""
#endif

/*
 * A 160-byte frame: x19-x28, x29 (fp), x30 (lr), d8-d15, at 8 bytes each
 * from the saved stack pointer up.
 */
#define CO_ASM_FRAME_WORDS 20
#define CO_ASM_SLOT_ARG    0     /* x19 */
#define CO_ASM_SLOT_RET    11    /* x30 */

__asm__(
    ".pushsection .text\n\t"
    ".p2align 4\n\t"
    ".globl qemu_co_asm_switch\n\t"
    ".type qemu_co_asm_switch, %function\n"
    "qemu_co_asm_switch:\n\t"
    CO_ASM_BTI_C
    "sub sp, sp, #160\n\t"
    "stp x19, x20, [sp, #0]\n\t"
    "stp x21, x22, [sp, #16]\n\t"
    "stp x23, x24, [sp, #32]\n\t"
    "stp x25, x26, [sp, #48]\n\t"
    "stp x27, x28, [sp, #64]\n\t"
    "stp x29, x30, [sp, #80]\n\t"
    "stp d8, d9, [sp, #96]\n\t"
    "stp d10, d11, [sp, #112]\n\t"
    "stp d12, d13, [sp, #128]\n\t"
    "stp d14, d15, [sp, #144]\n\t"
    "mov x9, sp\n\t"
    "str x9, [x0]\n\t"
    "mov sp, x1\n\t"
    "ldp x19, x20, [sp, #0]\n\t"
    "ldp x21, x22, [sp, #16]\n\t"
    "ldp x23, x24, [sp, #32]\n\t"
    "ldp x25, x26, [sp, #48]\n\t"
    "ldp x27, x28, [sp, #64]\n\t"
    "ldp x29, x30, [sp, #80]\n\t"
    "ldp d8, d9, [sp, #96]\n\t"
    "ldp d10, d11, [sp, #112]\n\t"
    "ldp d12, d13, [sp, #128]\n\t"
    "ldp d14, d15, [sp, #144]\n\t"
    "add sp, sp, #160\n\t"
    "mov x0, x2\n\t"
    "ret\n\t"
    ".size qemu_co_asm_switch, .-qemu_co_asm_switch\n\t"
    "\n\t"
    ".p2align 4\n\t"
    ".globl qemu_co_asm_trampoline\n\t"
    ".type qemu_co_asm_trampoline, %function\n"
    "qemu_co_asm_trampoline:\n\t"
    ".cfi_startproc\n\t"
    ".cfi_undefined x30\n\t"
    "mov x0, x19\n\t"
    "bl qemu_co_asm_start\n\t"
    "brk #1\n\t"
    ".cfi_endproc\n\t"
    ".size qemu_co_asm_trampoline, .-qemu_co_asm_trampoline\n\t"
    ".popsection\n"
);

#endif /* __aarch64__ */

void qemu_co_asm_start(CoroutineSwitch *co)
{
    switch_finish(NULL);
    qemu_coroutine_run(&co->base);
}

/* Lay out a new stack so that the first switch lands in the trampoline. */
static void coroutine_start_stack(CoroutineSwitch *co)
{
    uintptr_t *top = (uintptr_t *)((char *)co->stack + co->stack_size);
    uintptr_t *sp = top - CO_ASM_FRAME_WORDS;

    memset(sp, 0, CO_ASM_FRAME_WORDS * sizeof(uintptr_t));
    sp[CO_ASM_SLOT_ARG] = (uintptr_t)co;
    sp[CO_ASM_SLOT_RET] = (uintptr_t)qemu_co_asm_trampoline;
    co->sp = sp;
}

CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineSwitch *from = CO_SWITCH(from_);
    CoroutineSwitch *to = CO_SWITCH(to_);
    CoroutineAction ret;

    switch_prepare(switch_save_slot(from, action), to);
    ret = qemu_co_asm_switch(&from->sp, to->sp, action);
    switch_finish(CO_FAKE_STACK(from));
    return ret;
}

const char *qemu_coroutine_backend_name(void)
{
    return "asm";
}

#else /* !CONFIG_COROUTINE_ASM */

/* ------------------------------------------------------- ucontext switch */

/*
 * The first code on a new stack.  makecontext() passes only ints, so the
 * CoroutineSwitch pointer arrives in two 32-bit halves.
 */
static void coroutine_ucontext_start(int lo, int hi)
{
    uintptr_t ptr = (uintptr_t)(unsigned int)lo;
    CoroutineSwitch *co;

#if UINTPTR_MAX > UINT32_MAX
    ptr |= (uintptr_t)(unsigned int)hi << 32;
#else
    (void)hi;
#endif
    co = (CoroutineSwitch *)ptr;

    switch_finish(NULL);

    /* Park here, and go back to qemu_coroutine_new() until first entry. */
    if (!sigsetjmp(co->env, 0)) {
#if CONFIG_ASAN
        __sanitizer_start_switch_fiber(&co->fake_stack_save,
                                       asan_from_bottom, asan_from_size);
#endif
#if CONFIG_TSAN
        __tsan_switch_to_fiber(co->boot_tsan_fiber, 0);
#endif
        siglongjmp(*co->boot_env, 1);
    }

    switch_finish(CO_FAKE_STACK(co));
    qemu_coroutine_run(&co->base);
}

/*
 * Run the new stack up to the sigsetjmp() in coroutine_ucontext_start(),
 * so that from then on a siglongjmp() to co->env starts the coroutine.
 */
static void coroutine_start_stack(CoroutineSwitch *co)
{
    ucontext_t uc;
    sigjmp_buf old_env;
    uintptr_t ptr = (uintptr_t)co;

    if (getcontext(&uc) < 0) {
        fprintf(stderr, "qemu_coroutine_new: getcontext: %s\n",
                strerror(errno));
        abort();
    }
    uc.uc_link = NULL;
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    makecontext(&uc, (void (*)(void))coroutine_ucontext_start, 2,
                (int)(unsigned int)ptr,
#if UINTPTR_MAX > UINT32_MAX
                (int)(unsigned int)(ptr >> 32)
#else
                0
#endif
                );

    co->boot_env = &old_env;
#if CONFIG_TSAN
    co->boot_tsan_fiber = __tsan_get_current_fiber();
#endif
    if (!sigsetjmp(old_env, 0)) {
#if CONFIG_ASAN
        __sanitizer_start_switch_fiber(&co->boot_fake_stack_save, co->stack,
                                       co->stack_size);
#endif
#if CONFIG_TSAN
        __tsan_switch_to_fiber(co->tsan_fiber, 0);
#endif
        /*
         * Not swapcontext(): the new stack comes back with siglongjmp(),
         * and ASan's swapcontext interceptor only adds a warning about
         * switches that the fiber annotations already describe.
         */
        setcontext(&uc);
        abort();
    }
#if CONFIG_ASAN
    switch_finish(co->boot_fake_stack_save);
#endif
    co->boot_env = NULL;
}

CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineSwitch *from = CO_SWITCH(from_);
    CoroutineSwitch *to = CO_SWITCH(to_);
    int ret;

    ret = sigsetjmp(from->env, 0);
    if (ret == 0) {
        switch_prepare(switch_save_slot(from, action), to);
        siglongjmp(to->env, action);
    }
    switch_finish(CO_FAKE_STACK(from));
    return ret;
}

const char *qemu_coroutine_backend_name(void)
{
    return "ucontext";
}

#endif /* !CONFIG_COROUTINE_ASM */

/* ------------------------------------------------------- allocation */

Coroutine *qemu_coroutine_new(void)
{
    CoroutineSwitch *co = g_new0(CoroutineSwitch, 1);

    co->stack_size = ROUND_UP((size_t)QEMU_COROUTINE_STACK_SIZE,
                              qemu_real_host_page_size());
    co->stack = coroutine_stack_alloc(co->stack_size);
#if CONFIG_TSAN
    co->tsan_fiber = __tsan_create_fiber(0);
#endif
    coroutine_start_stack(co);
    return &co->base;
}

Coroutine *qemu_coroutine_new_leader(void)
{
    CoroutineSwitch *co = g_new0(CoroutineSwitch, 1);

#if CONFIG_TSAN
    co->tsan_fiber = __tsan_get_current_fiber();
#endif
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineSwitch *co = CO_SWITCH(co_);

    if (co->stack) {
        coroutine_stack_free(co->stack, co->stack_size);
#if CONFIG_TSAN
        __tsan_destroy_fiber(co->tsan_fiber);
#endif
    }
    g_free(co);
}
