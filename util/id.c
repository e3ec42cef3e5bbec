/*
 * id.c: well-formed user IDs (see include/qemu/id.h).
 */
#include "qemu/osdep.h"

#include "qemu/id.h"

bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}
