/*
 * check.c: the format-independent side of image checks and of the
 * format-specific image information (qblock-img check and info,
 * query-named-block-nodes).  The work is the driver's: see the
 * bdrv_co_check and bdrv_get_specific_info slots in block_int.h.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "qapi/error.h"

int coroutine_fn bdrv_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                               BdrvCheckMode fix)
{
    int ret;

    memset(res, 0, sizeof(*res));
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (!bs->drv->bdrv_co_check) {
        return -ENOTSUP;
    }
    bdrv_inc_in_flight(bs);
    ret = bs->drv->bdrv_co_check(bs, res, fix);
    bdrv_dec_in_flight(bs);
    return ret;
}

typedef struct CheckCo {
    BlockDriverState *bs;
    BdrvCheckResult *res;
    BdrvCheckMode fix;
    int ret;
    bool done;
} CheckCo;

static void coroutine_fn bdrv_check_entry(void *opaque)
{
    CheckCo *c = opaque;

    c->ret = bdrv_co_check(c->bs, c->res, c->fix);
    c->done = true;
}

int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res,
               BdrvCheckMode fix)
{
    CheckCo c = { .bs = bs, .res = res, .fix = fix };

    GLOBAL_STATE_CODE();
    bdrv_poll_co(bdrv_check_entry, &c, &c.done);
    return c.ret;
}

ImageInfoSpecific *bdrv_get_specific_info(BlockDriverState *bs,
                                          Error **errp)
{
    if (!bs->drv || !bs->drv->bdrv_get_specific_info) {
        return NULL;
    }
    return bs->drv->bdrv_get_specific_info(bs, errp);
}
