/*
 * Tests of the intrusive list families in qemu/queue.h.
 *
 * Each family is driven through a random sequence of inserts and removals
 * while a GPtrArray holds the order the list must have; after every step
 * the list is walked forwards (and backwards for QTAILQ) and compared.
 */
#include "qemu/osdep.h"

#include "qemu/queue.h"

typedef struct Elem {
    int value;
    QSLIST_ENTRY(Elem) sl;
    QSIMPLEQ_ENTRY(Elem) sq;
    QLIST_ENTRY(Elem) l;
    QTAILQ_ENTRY(Elem) tq;
} Elem;

#define NELEMS 64
#define STEPS 4000

static Elem pool[NELEMS];

static void init_pool(void)
{
    int i;

    memset(pool, 0, sizeof(pool));
    for (i = 0; i < NELEMS; i++) {
        pool[i].value = i;
    }
}

/* Pick an element that is (or is not) in @oracle. */
static Elem *pick(GPtrArray *oracle, bool present)
{
    for (;;) {
        Elem *e = &pool[g_test_rand_int_range(0, NELEMS)];
        bool in = false;
        guint i;

        for (i = 0; i < oracle->len; i++) {
            if (oracle->pdata[i] == e) {
                in = true;
            }
        }
        if (in == present) {
            return e;
        }
    }
}

static guint oracle_index(GPtrArray *oracle, Elem *e)
{
    guint i;

    g_assert_true(g_ptr_array_find(oracle, e, &i));
    return i;
}

/* ---------------------------------------------------------------- QSLIST */

typedef QSLIST_HEAD(SlHead, Elem) SlHead;
typedef QLIST_HEAD(LHead, Elem) LHead;

static void check_slist(SlHead *head, GPtrArray *oracle)
{
    Elem *e;
    guint i = 0;

    QSLIST_FOREACH(e, head, sl) {
        g_assert_cmpuint(i, <, oracle->len);
        g_assert_true(e == oracle->pdata[i]);
        i++;
    }
    g_assert_cmpuint(i, ==, oracle->len);
    g_assert_cmpint(QSLIST_EMPTY(head), ==, oracle->len == 0);
}

static void test_qslist(void)
{
    SlHead head = QSLIST_HEAD_INITIALIZER(head);
    g_autoptr(GPtrArray) oracle = g_ptr_array_new();
    Elem *e, *next;
    int step;

    init_pool();
    for (step = 0; step < STEPS; step++) {
        int op = g_test_rand_int_range(0, 4);

        if (oracle->len < NELEMS && (op == 0 || oracle->len == 0)) {
            e = pick(oracle, false);
            QSLIST_INSERT_HEAD(&head, e, sl);
            g_ptr_array_insert(oracle, 0, e);
        } else if (oracle->len < NELEMS && op == 1) {
            Elem *after = pick(oracle, true);
            e = pick(oracle, false);
            QSLIST_INSERT_AFTER(after, e, sl);
            g_ptr_array_insert(oracle, oracle_index(oracle, after) + 1, e);
        } else if (op == 2) {
            e = QSLIST_FIRST(&head);
            QSLIST_REMOVE_HEAD(&head, sl);
            g_assert_null(QSLIST_NEXT(e, sl));
            g_ptr_array_remove_index(oracle, 0);
        } else {
            e = pick(oracle, true);
            QSLIST_REMOVE(&head, e, Elem, sl);
            g_ptr_array_remove(oracle, e);
        }
        check_slist(&head, oracle);
    }

    /* FOREACH_SAFE may remove the element it stands on. */
    QSLIST_FOREACH_SAFE(e, &head, sl, next) {
        if (e->value % 2) {
            QSLIST_REMOVE(&head, e, Elem, sl);
            g_ptr_array_remove(oracle, e);
        }
    }
    check_slist(&head, oracle);
}

/* -------------------------------------------------------------- QSIMPLEQ */

typedef QSIMPLEQ_HEAD(SqHead, Elem) SqHead;

static void check_simpleq(SqHead *head, GPtrArray *oracle)
{
    Elem *e;
    guint i = 0;

    QSIMPLEQ_FOREACH(e, head, sq) {
        g_assert_cmpuint(i, <, oracle->len);
        g_assert_true(e == oracle->pdata[i]);
        i++;
    }
    g_assert_cmpuint(i, ==, oracle->len);
    /* The tail pointer must agree with the walk, or the next tail insert
     * would link into the wrong place. */
    g_assert_true(QSIMPLEQ_LAST(head, Elem, sq) ==
                  (oracle->len ? oracle->pdata[oracle->len - 1] : NULL));
}

static void test_qsimpleq(void)
{
    SqHead head = QSIMPLEQ_HEAD_INITIALIZER(head);
    g_autoptr(GPtrArray) oracle = g_ptr_array_new();
    Elem *e;
    int step;

    init_pool();
    for (step = 0; step < STEPS; step++) {
        int op = g_test_rand_int_range(0, 5);

        if (oracle->len < NELEMS && (op == 0 || oracle->len == 0)) {
            e = pick(oracle, false);
            QSIMPLEQ_INSERT_TAIL(&head, e, sq);
            g_ptr_array_add(oracle, e);
        } else if (oracle->len < NELEMS && op == 1) {
            e = pick(oracle, false);
            QSIMPLEQ_INSERT_HEAD(&head, e, sq);
            g_ptr_array_insert(oracle, 0, e);
        } else if (oracle->len < NELEMS && op == 2) {
            Elem *after = pick(oracle, true);
            e = pick(oracle, false);
            QSIMPLEQ_INSERT_AFTER(&head, after, e, sq);
            g_ptr_array_insert(oracle, oracle_index(oracle, after) + 1, e);
        } else if (op == 3) {
            QSIMPLEQ_REMOVE_HEAD(&head, sq);
            g_ptr_array_remove_index(oracle, 0);
        } else {
            e = pick(oracle, true);
            QSIMPLEQ_REMOVE(&head, e, Elem, sq);
            g_ptr_array_remove(oracle, e);
        }
        check_simpleq(&head, oracle);
    }
}

static void test_qsimpleq_concat(void)
{
    SqHead a = QSIMPLEQ_HEAD_INITIALIZER(a);
    SqHead b = QSIMPLEQ_HEAD_INITIALIZER(b);
    g_autoptr(GPtrArray) oracle = g_ptr_array_new();
    int i;

    init_pool();
    /* Concatenating an empty queue changes nothing; onto an empty one
     * moves everything, including the tail pointer. */
    QSIMPLEQ_CONCAT(&a, &b);
    check_simpleq(&a, oracle);
    for (i = 0; i < 4; i++) {
        QSIMPLEQ_INSERT_TAIL(&b, &pool[i], sq);
        g_ptr_array_add(oracle, &pool[i]);
    }
    QSIMPLEQ_CONCAT(&a, &b);
    g_assert_true(QSIMPLEQ_EMPTY(&b));
    check_simpleq(&a, oracle);

    for (i = 4; i < 8; i++) {
        QSIMPLEQ_INSERT_TAIL(&b, &pool[i], sq);
    }
    QSIMPLEQ_PREPEND(&a, &b);
    for (i = 4; i < 8; i++) {
        g_ptr_array_insert(oracle, i - 4, &pool[i]);
    }
    g_assert_true(QSIMPLEQ_EMPTY(&b));
    check_simpleq(&a, oracle);

    /* The tail insert after both splices lands at the real end. */
    QSIMPLEQ_INSERT_TAIL(&a, &pool[8], sq);
    g_ptr_array_add(oracle, &pool[8]);
    check_simpleq(&a, oracle);
}

/*
 * The mirror's use: the link lives inside otherwise unused memory (a free
 * buffer chunk), so taking chunks off the head and returning them at the
 * tail must never touch anything but the first bytes of a chunk.
 */
typedef struct Chunk {
    QSIMPLEQ_ENTRY(Chunk) next;
} Chunk;

static void test_qsimpleq_free_list(void)
{
    enum { CHUNK = 4096, NCHUNKS = 16 };
    QSIMPLEQ_HEAD(, Chunk) free_list = QSIMPLEQ_HEAD_INITIALIZER(free_list);
    g_autofree uint8_t *buf = g_malloc(CHUNK * NCHUNKS);
    Chunk *taken[NCHUNKS];
    int i, n = 0;

    for (i = 0; i < NCHUNKS; i++) {
        Chunk *c = (Chunk *)(buf + i * CHUNK);
        memset(buf + i * CHUNK, 0xa5, CHUNK);
        QSIMPLEQ_INSERT_TAIL(&free_list, c, next);
    }
    while (!QSIMPLEQ_EMPTY(&free_list)) {
        Chunk *c = QSIMPLEQ_FIRST(&free_list);
        QSIMPLEQ_REMOVE_HEAD(&free_list, next);
        g_assert_true((uint8_t *)c == buf + n * CHUNK);
        taken[n++] = c;
    }
    g_assert_cmpint(n, ==, NCHUNKS);
    for (i = 0; i < NCHUNKS; i++) {
        /* Bytes past the link were never written by the list. */
        g_assert_cmpint(((uint8_t *)taken[i])[sizeof(Chunk)], ==, 0xa5);
        g_assert_cmpint(((uint8_t *)taken[i])[CHUNK - 1], ==, 0xa5);
    }
    /* Returned in reverse order, they come out in that order again. */
    for (i = NCHUNKS - 1; i >= 0; i--) {
        QSIMPLEQ_INSERT_TAIL(&free_list, taken[i], next);
    }
    for (i = NCHUNKS - 1; i >= 0; i--) {
        g_assert_true(QSIMPLEQ_FIRST(&free_list) == taken[i]);
        QSIMPLEQ_REMOVE_HEAD(&free_list, next);
    }
}

/* ----------------------------------------------------------------- QLIST */

static void check_qlist(LHead *head, GPtrArray *oracle)
{
    Elem *e;
    guint i = 0;

    QLIST_FOREACH(e, head, l) {
        g_assert_cmpuint(i, <, oracle->len);
        g_assert_true(e == oracle->pdata[i]);
        g_assert_true(QLIST_IS_INSERTED(e, l));
        i++;
    }
    g_assert_cmpuint(i, ==, oracle->len);
}

static void test_qlist(void)
{
    LHead head = QLIST_HEAD_INITIALIZER(head);
    g_autoptr(GPtrArray) oracle = g_ptr_array_new();
    Elem *e;
    int step;

    init_pool();
    for (step = 0; step < STEPS; step++) {
        int op = g_test_rand_int_range(0, 5);

        if (oracle->len < NELEMS && (op == 0 || oracle->len == 0)) {
            e = pick(oracle, false);
            QLIST_INSERT_HEAD(&head, e, l);
            g_ptr_array_insert(oracle, 0, e);
        } else if (oracle->len < NELEMS && op == 1) {
            Elem *after = pick(oracle, true);
            e = pick(oracle, false);
            QLIST_INSERT_AFTER(after, e, l);
            g_ptr_array_insert(oracle, oracle_index(oracle, after) + 1, e);
        } else if (oracle->len < NELEMS && op == 2) {
            Elem *before = pick(oracle, true);
            e = pick(oracle, false);
            QLIST_INSERT_BEFORE(before, e, l);
            g_ptr_array_insert(oracle, oracle_index(oracle, before), e);
        } else {
            e = pick(oracle, true);
            QLIST_REMOVE(e, l);
            g_assert_false(QLIST_IS_INSERTED(e, l));
            /* A second, safe removal is harmless. */
            QLIST_SAFE_REMOVE(e, l);
            g_ptr_array_remove(oracle, e);
        }
        check_qlist(&head, oracle);
    }
}

/* ---------------------------------------------------------------- QTAILQ */

typedef QTAILQ_HEAD(TqHead, Elem) TqHead;

static void check_tailq(TqHead *head, GPtrArray *oracle)
{
    Elem *e;
    guint i = 0;

    QTAILQ_FOREACH(e, head, tq) {
        g_assert_cmpuint(i, <, oracle->len);
        g_assert_true(e == oracle->pdata[i]);
        g_assert_true(QTAILQ_IN_USE(e, tq));
        i++;
    }
    g_assert_cmpuint(i, ==, oracle->len);

    i = oracle->len;
    QTAILQ_FOREACH_REVERSE(e, head, tq) {
        g_assert_cmpuint(i, >, 0);
        i--;
        g_assert_true(e == oracle->pdata[i]);
    }
    g_assert_cmpuint(i, ==, 0);
    g_assert_true(QTAILQ_LAST(head) ==
                  (oracle->len ? oracle->pdata[oracle->len - 1] : NULL));
    g_assert_cmpint(QTAILQ_EMPTY(head), ==, oracle->len == 0);
}

static void test_qtailq(void)
{
    TqHead head = QTAILQ_HEAD_INITIALIZER(head);
    g_autoptr(GPtrArray) oracle = g_ptr_array_new();
    Elem *e, *next;
    int step;

    init_pool();
    check_tailq(&head, oracle);
    for (step = 0; step < STEPS; step++) {
        int op = g_test_rand_int_range(0, 6);

        if (oracle->len < NELEMS && (op == 0 || oracle->len == 0)) {
            e = pick(oracle, false);
            QTAILQ_INSERT_TAIL(&head, e, tq);
            g_ptr_array_add(oracle, e);
        } else if (oracle->len < NELEMS && op == 1) {
            e = pick(oracle, false);
            QTAILQ_INSERT_HEAD(&head, e, tq);
            g_ptr_array_insert(oracle, 0, e);
        } else if (oracle->len < NELEMS && op == 2) {
            Elem *after = pick(oracle, true);
            e = pick(oracle, false);
            QTAILQ_INSERT_AFTER(&head, after, e, tq);
            g_ptr_array_insert(oracle, oracle_index(oracle, after) + 1, e);
        } else if (oracle->len < NELEMS && op == 3) {
            Elem *before = pick(oracle, true);
            e = pick(oracle, false);
            QTAILQ_INSERT_BEFORE(before, e, tq);
            g_ptr_array_insert(oracle, oracle_index(oracle, before), e);
        } else {
            e = pick(oracle, true);
            QTAILQ_REMOVE(&head, e, tq);
            g_assert_false(QTAILQ_IN_USE(e, tq));
            g_ptr_array_remove(oracle, e);
        }
        check_tailq(&head, oracle);
    }

    QTAILQ_FOREACH_SAFE(e, &head, tq, next) {
        QTAILQ_REMOVE(&head, e, tq);
        g_ptr_array_remove(oracle, e);
        check_tailq(&head, oracle);
    }
    g_assert_true(QTAILQ_EMPTY(&head));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/queue/qslist/random", test_qslist);
    g_test_add_func("/queue/qsimpleq/random", test_qsimpleq);
    g_test_add_func("/queue/qsimpleq/concat-prepend", test_qsimpleq_concat);
    g_test_add_func("/queue/qsimpleq/free-list-in-chunks",
                    test_qsimpleq_free_list);
    g_test_add_func("/queue/qlist/random", test_qlist);
    g_test_add_func("/queue/qtailq/random", test_qtailq);
    return g_test_run();
}
