/*
 * osdep.c: the few helpers behind osdep.h that are not inline.
 */
#include "qemu/osdep.h"

size_t qemu_real_host_page_size(void)
{
    static size_t page_size;

    if (!page_size) {
        long ps = sysconf(_SC_PAGESIZE);
        page_size = ps > 0 ? (size_t)ps : 4096;
    }
    return page_size;
}
