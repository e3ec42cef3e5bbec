/*
 * id.h: the rule QEMU applies to user-chosen IDs (node names, job IDs,
 * chardev IDs): a letter first, then letters, digits, '-', '.' or '_'.
 */
#ifndef QBLOCK_QEMU_ID_H
#define QBLOCK_QEMU_ID_H

bool id_wellformed(const char *id);

#endif /* QBLOCK_QEMU_ID_H */
