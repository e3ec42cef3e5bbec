/*
 * mirror.h: starting the mirror block job (block/mirror.c).
 *
 * blockdev-mirror and drive-mirror (block/mirror-qmp.c) check their
 * arguments as QEMU does, open or create the target, and hand everything
 * to mirror_start().
 */
#ifndef QBLOCK_BLOCK_MIRROR_H
#define QBLOCK_BLOCK_MIRROR_H

#include "block/blockjob.h"

/* What happens to the target's backing chain at the pivot. */
typedef enum MirrorBackingMode {
    /* drive-mirror, new image: the source's base (top) or the source
     * itself (none) becomes the target's backing. */
    MIRROR_SOURCE_BACKING_CHAIN,
    /* drive-mirror mode=existing: open the backing file it names. */
    MIRROR_OPEN_BACKING_CHAIN,
    /* blockdev-mirror: the user set up the target as wanted. */
    MIRROR_LEAVE_BACKING_CHAIN,
} MirrorBackingMode;

typedef struct MirrorStartArgs {
    const char *job_id;          /* NULL: QEMU's default (see blockjob.h) */
    BlockDriverState *bs;        /* the source, a root node */
    BlockDriverState *target;
    const char *replaces;        /* node replaced at completion, or NULL */
    const char *filter_node_name; /* NULL: an implicit filter */
    MirrorSyncMode sync;
    MirrorBackingMode backing_mode;
    bool zero_target;
    int64_t speed;
    uint32_t granularity;        /* 0: from the target's cluster size */
    int64_t buf_size;            /* 0: 16 MiB */
    BlockdevOnError on_source_error;
    BlockdevOnError on_target_error;
    bool unmap;
    MirrorCopyMode copy_mode;
    bool auto_finalize;
    bool auto_dismiss;
} MirrorStartArgs;

/*
 * Put the filter above the source, create the job and start it.  NULL
 * with @errp set if anything fails; the graph is then as before.
 */
BlockJob *mirror_start(const MirrorStartArgs *args, Error **errp);

#endif /* QBLOCK_BLOCK_MIRROR_H */
