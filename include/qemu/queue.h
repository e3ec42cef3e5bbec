/*
 * queue.h: intrusive linked lists as macro families.
 *
 * Each family links objects through a field embedded in the object itself,
 * so inserting or removing never allocates.  Pick the smallest that does
 * the job:
 *
 *   QSLIST   singly linked list: O(1) insert/remove at the head; a stack.
 *            Removing an arbitrary element is O(n).
 *   QSIMPLEQ singly linked tail queue: O(1) insert at head or tail, O(1)
 *            remove at the head; a FIFO.  The mirror's free list of buffer
 *            chunks is one, with the link stored inside each free chunk.
 *   QLIST    doubly linked list: O(1) remove of any element, head insert.
 *   QTAILQ   doubly linked tail queue: O(1) remove anywhere, insert at
 *            either end, and reverse walks.
 *
 * Conventions shared by all families:
 *   - NAME_HEAD(name, type) declares a head struct (name may be empty);
 *     NAME_ENTRY(type) declares the link field inside the element.
 *   - NAME_HEAD_INITIALIZER(head) is a static initializer; NAME_INIT(head)
 *     initializes at run time.
 *   - NAME_FOREACH(var, head, field) walks the list; the element must not
 *     be removed during the walk.  NAME_FOREACH_SAFE(var, head, field,
 *     next) allows removing @var.
 *   - A removed element's link is not cleared unless the macro says so;
 *     QLIST_SAFE_REMOVE and QSLIST_REMOVE_HEAD leave it recognisable.
 *
 * Worked example (a FIFO of requests):
 *
 *     typedef struct Req {
 *         int64_t offset;
 *         QSIMPLEQ_ENTRY(Req) next;
 *     } Req;
 *     QSIMPLEQ_HEAD(, Req) pending = QSIMPLEQ_HEAD_INITIALIZER(pending);
 *
 *     QSIMPLEQ_INSERT_TAIL(&pending, req, next);
 *     while ((req = QSIMPLEQ_FIRST(&pending))) {
 *         QSIMPLEQ_REMOVE_HEAD(&pending, next);
 *         handle(req);
 *     }
 */
#ifndef QBLOCK_QEMU_QUEUE_H
#define QBLOCK_QEMU_QUEUE_H

/* ---------------------------------------------------------------- QSLIST */

#define QSLIST_HEAD(name, type)                                             \
struct name {                                                               \
    struct type *slh_first;                                                 \
}

#define QSLIST_HEAD_INITIALIZER(head) { NULL }

#define QSLIST_ENTRY(type)                                                  \
struct {                                                                    \
    struct type *sle_next;                                                  \
}

#define QSLIST_INIT(head) ((head)->slh_first = NULL)
#define QSLIST_EMPTY(head) ((head)->slh_first == NULL)
#define QSLIST_FIRST(head) ((head)->slh_first)
#define QSLIST_NEXT(elm, field) ((elm)->field.sle_next)

#define QSLIST_INSERT_HEAD(head, elm, field) do {                           \
    (elm)->field.sle_next = (head)->slh_first;                              \
    (head)->slh_first = (elm);                                              \
} while (0)

#define QSLIST_INSERT_AFTER(slistelm, elm, field) do {                      \
    (elm)->field.sle_next = (slistelm)->field.sle_next;                     \
    (slistelm)->field.sle_next = (elm);                                     \
} while (0)

#define QSLIST_REMOVE_HEAD(head, field) do {                                \
    __typeof__((head)->slh_first) qslist_old_ = (head)->slh_first;          \
    (head)->slh_first = qslist_old_->field.sle_next;                        \
    qslist_old_->field.sle_next = NULL;                                     \
} while (0)

#define QSLIST_REMOVE_AFTER(slistelm, field) do {                           \
    __typeof__(slistelm) qslist_gone_ = (slistelm)->field.sle_next;         \
    (slistelm)->field.sle_next = qslist_gone_->field.sle_next;              \
    qslist_gone_->field.sle_next = NULL;                                    \
} while (0)

#define QSLIST_REMOVE(head, elm, type, field) do {                          \
    if ((head)->slh_first == (elm)) {                                       \
        QSLIST_REMOVE_HEAD((head), field);                                  \
    } else {                                                                \
        struct type *qslist_cur_ = (head)->slh_first;                       \
        while (qslist_cur_->field.sle_next != (elm)) {                      \
            qslist_cur_ = qslist_cur_->field.sle_next;                      \
        }                                                                   \
        QSLIST_REMOVE_AFTER(qslist_cur_, field);                            \
    }                                                                       \
} while (0)

/* Take the whole list over into @dest, leaving @head empty. */
#define QSLIST_MOVE(dest, head) do {                                        \
    (dest)->slh_first = (head)->slh_first;                                  \
    (head)->slh_first = NULL;                                               \
} while (0)

#define QSLIST_FOREACH(var, head, field)                                    \
    for ((var) = (head)->slh_first; (var); (var) = (var)->field.sle_next)

#define QSLIST_FOREACH_SAFE(var, head, field, tvar)                         \
    for ((var) = QSLIST_FIRST((head));                                      \
         (var) && ((tvar) = QSLIST_NEXT((var), field), 1);                  \
         (var) = (tvar))

/* -------------------------------------------------------------- QSIMPLEQ */

/*
 * sqh_last points at the link field that the next tail insert writes: the
 * head's sqh_first while empty, else the last element's sqe_next.
 */
#define QSIMPLEQ_HEAD(name, type)                                           \
struct name {                                                               \
    struct type *sqh_first;                                                 \
    struct type **sqh_last;                                                 \
}

#define QSIMPLEQ_HEAD_INITIALIZER(head) { NULL, &(head).sqh_first }

#define QSIMPLEQ_ENTRY(type)                                                \
struct {                                                                    \
    struct type *sqe_next;                                                  \
}

#define QSIMPLEQ_INIT(head) do {                                            \
    (head)->sqh_first = NULL;                                               \
    (head)->sqh_last = &(head)->sqh_first;                                  \
} while (0)

#define QSIMPLEQ_EMPTY(head) ((head)->sqh_first == NULL)
#define QSIMPLEQ_FIRST(head) ((head)->sqh_first)
#define QSIMPLEQ_NEXT(elm, field) ((elm)->field.sqe_next)

#define QSIMPLEQ_INSERT_HEAD(head, elm, field) do {                         \
    if (((elm)->field.sqe_next = (head)->sqh_first) == NULL) {              \
        (head)->sqh_last = &(elm)->field.sqe_next;                          \
    }                                                                       \
    (head)->sqh_first = (elm);                                              \
} while (0)

#define QSIMPLEQ_INSERT_TAIL(head, elm, field) do {                         \
    (elm)->field.sqe_next = NULL;                                           \
    *(head)->sqh_last = (elm);                                              \
    (head)->sqh_last = &(elm)->field.sqe_next;                              \
} while (0)

#define QSIMPLEQ_INSERT_AFTER(head, listelm, elm, field) do {               \
    if (((elm)->field.sqe_next = (listelm)->field.sqe_next) == NULL) {      \
        (head)->sqh_last = &(elm)->field.sqe_next;                          \
    }                                                                       \
    (listelm)->field.sqe_next = (elm);                                      \
} while (0)

#define QSIMPLEQ_REMOVE_HEAD(head, field) do {                              \
    __typeof__((head)->sqh_first) qsq_old_ = (head)->sqh_first;             \
    if (((head)->sqh_first = qsq_old_->field.sqe_next) == NULL) {           \
        (head)->sqh_last = &(head)->sqh_first;                              \
    }                                                                       \
    qsq_old_->field.sqe_next = NULL;                                        \
} while (0)

#define QSIMPLEQ_REMOVE(head, elm, type, field) do {                        \
    if ((head)->sqh_first == (elm)) {                                       \
        QSIMPLEQ_REMOVE_HEAD((head), field);                                \
    } else {                                                                \
        struct type *qsq_cur_ = (head)->sqh_first;                          \
        while (qsq_cur_->field.sqe_next != (elm)) {                         \
            qsq_cur_ = qsq_cur_->field.sqe_next;                            \
        }                                                                   \
        if ((qsq_cur_->field.sqe_next =                                     \
             qsq_cur_->field.sqe_next->field.sqe_next) == NULL) {           \
            (head)->sqh_last = &qsq_cur_->field.sqe_next;                   \
        }                                                                   \
        (elm)->field.sqe_next = NULL;                                       \
    }                                                                       \
} while (0)

/* Append all of @head2 to @head1, leaving @head2 empty. */
#define QSIMPLEQ_CONCAT(head1, head2) do {                                  \
    if (!QSIMPLEQ_EMPTY((head2))) {                                         \
        *(head1)->sqh_last = (head2)->sqh_first;                            \
        (head1)->sqh_last = (head2)->sqh_last;                              \
        QSIMPLEQ_INIT((head2));                                             \
    }                                                                       \
} while (0)

/* Prepend all of @head2 to @head1, leaving @head2 empty. */
#define QSIMPLEQ_PREPEND(head1, head2) do {                                 \
    if (!QSIMPLEQ_EMPTY((head2))) {                                         \
        *(head2)->sqh_last = (head1)->sqh_first;                            \
        if (QSIMPLEQ_EMPTY((head1))) {                                      \
            (head1)->sqh_last = (head2)->sqh_last;                          \
        }                                                                   \
        (head1)->sqh_first = (head2)->sqh_first;                            \
        QSIMPLEQ_INIT((head2));                                             \
    }                                                                       \
} while (0)

/* The last element, or NULL; @type and @field name the element's link. */
#define QSIMPLEQ_LAST(head, type, field)                                    \
    (QSIMPLEQ_EMPTY((head)) ? NULL :                                        \
     container_of((head)->sqh_last, struct type, field.sqe_next))

#define QSIMPLEQ_FOREACH(var, head, field)                                  \
    for ((var) = ((head)->sqh_first); (var); (var) = ((var)->field.sqe_next))

#define QSIMPLEQ_FOREACH_SAFE(var, head, field, next)                       \
    for ((var) = ((head)->sqh_first);                                       \
         (var) && ((next) = ((var)->field.sqe_next), 1);                    \
         (var) = (next))

/* ----------------------------------------------------------------- QLIST */

#define QLIST_HEAD(name, type)                                              \
struct name {                                                               \
    struct type *lh_first;                                                  \
}

#define QLIST_HEAD_INITIALIZER(head) { NULL }

/* le_prev points at the link that points at this element. */
#define QLIST_ENTRY(type)                                                   \
struct {                                                                    \
    struct type *le_next;                                                   \
    struct type **le_prev;                                                  \
}

#define QLIST_INIT(head) ((head)->lh_first = NULL)
#define QLIST_EMPTY(head) ((head)->lh_first == NULL)
#define QLIST_FIRST(head) ((head)->lh_first)
#define QLIST_NEXT(elm, field) ((elm)->field.le_next)

#define QLIST_INSERT_HEAD(head, elm, field) do {                            \
    if (((elm)->field.le_next = (head)->lh_first) != NULL) {                \
        (head)->lh_first->field.le_prev = &(elm)->field.le_next;            \
    }                                                                       \
    (head)->lh_first = (elm);                                               \
    (elm)->field.le_prev = &(head)->lh_first;                               \
} while (0)

#define QLIST_INSERT_AFTER(listelm, elm, field) do {                        \
    if (((elm)->field.le_next = (listelm)->field.le_next) != NULL) {        \
        (listelm)->field.le_next->field.le_prev = &(elm)->field.le_next;    \
    }                                                                       \
    (listelm)->field.le_next = (elm);                                       \
    (elm)->field.le_prev = &(listelm)->field.le_next;                       \
} while (0)

#define QLIST_INSERT_BEFORE(listelm, elm, field) do {                       \
    (elm)->field.le_prev = (listelm)->field.le_prev;                        \
    (elm)->field.le_next = (listelm);                                       \
    *(listelm)->field.le_prev = (elm);                                      \
    (listelm)->field.le_prev = &(elm)->field.le_next;                       \
} while (0)

#define QLIST_REMOVE(elm, field) do {                                       \
    if ((elm)->field.le_next != NULL) {                                     \
        (elm)->field.le_next->field.le_prev = (elm)->field.le_prev;         \
    }                                                                       \
    *(elm)->field.le_prev = (elm)->field.le_next;                           \
    (elm)->field.le_next = NULL;                                            \
    (elm)->field.le_prev = NULL;                                            \
} while (0)

/* True if @elm is on some list (removed elements have le_prev NULL). */
#define QLIST_IS_INSERTED(elm, field) ((elm)->field.le_prev != NULL)

/* Remove @elm if it is on a list; harmless otherwise. */
#define QLIST_SAFE_REMOVE(elm, field) do {                                  \
    if (QLIST_IS_INSERTED((elm), field)) {                                  \
        QLIST_REMOVE((elm), field);                                         \
    }                                                                       \
} while (0)

#define QLIST_FOREACH(var, head, field)                                     \
    for ((var) = ((head)->lh_first); (var); (var) = ((var)->field.le_next))

#define QLIST_FOREACH_SAFE(var, head, field, next_var)                      \
    for ((var) = ((head)->lh_first);                                        \
         (var) && ((next_var) = ((var)->field.le_next), 1);                 \
         (var) = (next_var))

/* ---------------------------------------------------------------- QTAILQ */

/*
 * Each link holds the next pointer and a pointer to the previous element's
 * link.  The head's link doubles as the list's "previous of first" and
 * keeps the tail in tql_prev, which makes QTAILQ_LAST O(1).
 */
typedef struct QTailQLink {
    void *tql_next;
    struct QTailQLink *tql_prev;
} QTailQLink;

#define QTAILQ_HEAD(name, type)                                             \
union name {                                                                \
    struct type *tqh_first;                                                 \
    QTailQLink tqh_circ;                                                    \
}

#define QTAILQ_HEAD_INITIALIZER(head) { .tqh_circ = { NULL, &(head).tqh_circ } }

#define QTAILQ_ENTRY(type)                                                  \
union {                                                                     \
    struct type *tqe_next;                                                  \
    QTailQLink tqe_circ;                                                    \
}

#define QTAILQ_INIT(head) do {                                              \
    (head)->tqh_first = NULL;                                               \
    (head)->tqh_circ.tql_prev = &(head)->tqh_circ;                          \
} while (0)

#define QTAILQ_EMPTY(head) ((head)->tqh_first == NULL)
#define QTAILQ_FIRST(head) ((head)->tqh_first)
#define QTAILQ_NEXT(elm, field) ((elm)->field.tqe_next)

#define QTAILQ_INSERT_HEAD(head, elm, field) do {                           \
    if (((elm)->field.tqe_next = (head)->tqh_first) != NULL) {              \
        (head)->tqh_first->field.tqe_circ.tql_prev =                        \
            &(elm)->field.tqe_circ;                                         \
    } else {                                                                \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;                 \
    }                                                                       \
    (head)->tqh_first = (elm);                                              \
    (elm)->field.tqe_circ.tql_prev = &(head)->tqh_circ;                     \
} while (0)

#define QTAILQ_INSERT_TAIL(head, elm, field) do {                           \
    (elm)->field.tqe_next = NULL;                                           \
    (elm)->field.tqe_circ.tql_prev = (head)->tqh_circ.tql_prev;             \
    (head)->tqh_circ.tql_prev->tql_next = (elm);                            \
    (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;                     \
} while (0)

#define QTAILQ_INSERT_AFTER(head, listelm, elm, field) do {                 \
    if (((elm)->field.tqe_next = (listelm)->field.tqe_next) != NULL) {      \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                    \
            &(elm)->field.tqe_circ;                                         \
    } else {                                                                \
        (head)->tqh_circ.tql_prev = &(elm)->field.tqe_circ;                 \
    }                                                                       \
    (listelm)->field.tqe_next = (elm);                                      \
    (elm)->field.tqe_circ.tql_prev = &(listelm)->field.tqe_circ;            \
} while (0)

#define QTAILQ_INSERT_BEFORE(listelm, elm, field) do {                      \
    (elm)->field.tqe_circ.tql_prev = (listelm)->field.tqe_circ.tql_prev;    \
    (elm)->field.tqe_next = (listelm);                                      \
    (listelm)->field.tqe_circ.tql_prev->tql_next = (elm);                   \
    (listelm)->field.tqe_circ.tql_prev = &(elm)->field.tqe_circ;            \
} while (0)

#define QTAILQ_REMOVE(head, elm, field) do {                                \
    if (((elm)->field.tqe_next) != NULL) {                                  \
        (elm)->field.tqe_next->field.tqe_circ.tql_prev =                    \
            (elm)->field.tqe_circ.tql_prev;                                 \
    } else {                                                                \
        (head)->tqh_circ.tql_prev = (elm)->field.tqe_circ.tql_prev;         \
    }                                                                       \
    (elm)->field.tqe_circ.tql_prev->tql_next = (elm)->field.tqe_next;       \
    (elm)->field.tqe_circ.tql_prev = NULL;                                  \
    (elm)->field.tqe_circ.tql_next = NULL;                                  \
} while (0)

/* True if @elm is on some queue (removed elements have tql_prev NULL). */
#define QTAILQ_IN_USE(elm, field) ((elm)->field.tqe_circ.tql_prev != NULL)

/*
 * The element before a link is found by stepping back twice and forward
 * once: the previous element's link points back at its own predecessor's
 * link, whose tql_next is the previous element.  At the front this lands on
 * the head, whose tql_prev is the last link, whose tql_next is NULL; so
 * both macros return NULL at the end, with no type argument needed.
 */
#define QTAILQ_LAST(head)                                                   \
    ((__typeof__((head)->tqh_first))                                        \
     (head)->tqh_circ.tql_prev->tql_prev->tql_next)

#define QTAILQ_PREV(elm, field)                                             \
    ((__typeof__(elm))(elm)->field.tqe_circ.tql_prev->tql_prev->tql_next)

#define QTAILQ_FOREACH(var, head, field)                                    \
    for ((var) = ((head)->tqh_first); (var); (var) = ((var)->field.tqe_next))

#define QTAILQ_FOREACH_SAFE(var, head, field, next_var)                     \
    for ((var) = ((head)->tqh_first);                                       \
         (var) && ((next_var) = ((var)->field.tqe_next), 1);                \
         (var) = (next_var))

#define QTAILQ_FOREACH_REVERSE(var, head, field)                            \
    for ((var) = QTAILQ_LAST((head)); (var); (var) = QTAILQ_PREV((var), field))

#endif /* QBLOCK_QEMU_QUEUE_H */
