/*
 * hmp-cmds.h: the HMP commands of qblockd (see hmp-cmds.c).
 */
#ifndef QBLOCK_STORAGE_DAEMON_HMP_CMDS_H
#define QBLOCK_STORAGE_DAEMON_HMP_CMDS_H

/* Register "qemu-io" with the monitor; call once at start-up. */
void hmp_register_daemon_commands(void);

#endif /* QBLOCK_STORAGE_DAEMON_HMP_CMDS_H */
