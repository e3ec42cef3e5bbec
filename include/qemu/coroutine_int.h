/*
 * coroutine_int.h: the Coroutine object, shared by the coroutine core
 * (util/qemu-coroutine*.c, the stack-switch backend) and the AioContext code
 * that schedules coroutines (util/async.c).  Nothing else looks inside.
 *
 * Two layers meet here.  The core (util/qemu-coroutine.c) owns the per-thread
 * state: which coroutine runs, who entered whom, the wake-up queues and the
 * pool.  The backend (util/coroutine-switch.c) owns stacks and the machine
 * state of a suspended coroutine, and knows one trick: move the CPU from one
 * coroutine to another.  The backend allocates each Coroutine embedded at
 * the start of its own larger object, so the core never sees a register or
 * a stack pointer, and the backend never sees a queue.
 */
#ifndef QBLOCK_QEMU_COROUTINE_INT_H
#define QBLOCK_QEMU_COROUTINE_INT_H

#include "qemu/queue.h"
#include "qemu/coroutine.h"

struct Coroutine {
    /* What to run; NULL while the coroutine sits in the pool. */
    CoroutineEntry *entry;
    void *entry_arg;

    /*
     * The coroutine that entered us (a thread's own stack counts as one);
     * NULL while not entered.  Non-NULL exactly while we run or are up the
     * caller chain of the coroutine that runs.
     */
    Coroutine *caller;

    /* Home AioContext, for aio_co_wake() and co_sleep. */
    AioContext *ctx;

    /* Non-NULL while scheduled with aio_co_schedule(): the caller's name. */
    const char *scheduled;

    /* Link in a CoQueue, a CoMutex wait list, or a wake-up queue. */
    QSIMPLEQ_ENTRY(Coroutine) co_queue_next;

    /* Coroutines this one woke; entered when it yields or terminates. */
    QSIMPLEQ_HEAD(, Coroutine) co_queue_wakeup;

    /* Link in an AioContext's list of scheduled coroutines. */
    QSLIST_ENTRY(Coroutine) co_scheduled_next;

    /* Link in the per-thread free pool. */
    QSLIST_ENTRY(Coroutine) pool_next;
};

/*
 * Queue @co to be entered when the running coroutine next yields or
 * terminates (or at once, outside coroutine context).  This is the one way
 * a coroutine wakes another without nesting stacks.  @co must belong to
 * the calling thread and must not be entered already.
 */
void qemu_coroutine_wake_later(Coroutine *co);

/* ------------------------------------------------------------------------
 * The backend interface (util/coroutine-switch.c).  Only the core calls it.
 */

/*
 * Why control came back from qemu_coroutine_switch(): the value the other
 * side passed as @action.
 */
typedef enum CoroutineAction {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
} CoroutineAction;

/*
 * A new coroutine with a stack of its own (QEMU_COROUTINE_STACK_SIZE bytes
 * above a PROT_NONE guard page), all fields zero.  When first switched to,
 * it calls qemu_coroutine_run() on that stack.  Aborts when out of memory.
 */
Coroutine *qemu_coroutine_new(void);

/*
 * A Coroutine that stands for the calling thread's own stack, so that a
 * switch away from it has somewhere to save the thread's state.  It never
 * runs an entry function.  One per thread; the core keeps it.
 */
Coroutine *qemu_coroutine_new_leader(void);

/* Free @co and its stack.  @co must not be running or suspended mid-call. */
void qemu_coroutine_delete(Coroutine *co);

/*
 * Suspend @from (which must be the running one) and resume @to, passing
 * @action to it.  Returns, in @from, the action of whoever switches back.
 * COROUTINE_TERMINATE tells the backend that @from will only ever be
 * resumed again after reuse from the pool (it drops sanitizer state).
 */
CoroutineAction qemu_coroutine_switch(Coroutine *from, Coroutine *to,
                                      CoroutineAction action);

/* "asm" or "ucontext": which switch this build uses, for reports. */
const char *qemu_coroutine_backend_name(void);

/*
 * The body of every coroutine, provided by the core: run the entry
 * function, switch out with COROUTINE_TERMINATE, and when re-entered after
 * reuse from the pool run the new entry function.  Never returns.
 */
void QEMU_NORETURN qemu_coroutine_run(Coroutine *co);

#endif /* QBLOCK_QEMU_COROUTINE_INT_H */
