/*
 * qblockd: the qblock storage daemon.
 *
 * Its command line is qemu-storage-daemon's: options are applied in the
 * order given (a --monitor must follow its --chardev), errors name the
 * option ("qblockd: --chardev socket: chardev: no id specified") and exit
 * with status 1.  After start-up it runs the main AioContext until a quit
 * command or SIGTERM/SIGINT/SIGHUP, then shuts down in order: jobs are
 * cancelled, monitors flush their replies, chardevs close and remove
 * their socket files, the PID file goes, and the exit status is 0.
 *
 * Signals are taken through a signalfd in the event loop, so a handler
 * never runs in the middle of anything.
 */
#include "qemu/osdep.h"

#include <getopt.h>
#include <sys/file.h>
#include <sys/signalfd.h>

#include "block/blockdev.h"
#include "block/export.h"
#include "block/nbd.h"
#include "monitor/chardev.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qapi-visit.h"
#include "qemu/aio.h"
#include "qemu/job.h"
#include "qemu/json-stream.h"
#include "qemu/keyval.h"
#include "qemu/trace-control.h"
#include "storage-daemon/hmp-cmds.h"
#include "trace.h"

static bool exit_requested;
static char *pidfile_path;
static int daemon_pipe = -1;        /* write end, in a daemonized child */

static void help(void)
{
    printf(
"Usage: qblockd [options]\n"
"qblock storage daemon: block nodes, jobs and the live mirror over QMP\n"
"\n"
"  -h, --help             print this text and quit\n"
"  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
"                         turn trace events on, from patterns or a\n"
"                         file, and choose where they are written\n"
"  -V, --version          print the version and quit\n"
"\n"
"  --blockdev [driver=]<driver>[,node-name=<N>][,discard=ignore|unmap]\n"
"             [,cache.direct=on|off][,cache.no-flush=on|off]\n"
"             [,read-only=on|off][,auto-read-only=on|off]\n"
"             [,force-share=on|off][,detect-zeroes=on|off|unmap]\n"
"             [,driver specific parameters...]\n"
"                         open a block node (a format or protocol\n"
"                         driver with its options)\n"
"\n"
"  --chardev <options>    a byte channel for a monitor:\n"
"                         socket,id=<id>,path=<path>[,server=on|off]\n"
"                         [,wait=on|off]\n"
"                         socket,id=<id>,host=<host>,port=<port>\n"
"                         [,server=on|off][,wait=on|off][,nodelay=on|off]\n"
"                         null,id=<id>\n"
"\n"
"  --daemonize            run in the background; the command returns\n"
"                         when start-up has finished (status 0) or\n"
"                         failed (status 1)\n"
"\n"
"  --export [type=]nbd,id=<id>,node-name=<node-name>[,name=<export-name>]\n"
"           [,writable=on|off][,writethrough=on|off][,bitmaps.0=<name>]\n"
"           [,description=<description>][,allocation-depth=on|off]\n"
"                         export the specified block node over NBD\n"
"                         (requires --nbd-server)\n"
"\n"
"  --monitor [chardev=]name[,mode=control][,pretty[=on|off]]\n"
"                         serve QMP on that chardev\n"
"\n"
"  --nbd-server addr.type=inet,addr.host=<host>,addr.port=<port>\n"
"               [,max-connections=<n>]\n"
"  --nbd-server addr.type=unix,addr.path=<path>[,max-connections=<n>]\n"
"  --nbd-server addr.type=fd,addr.str=<fd>[,max-connections=<n>]\n"
"                         start an NBD server for exporting block nodes\n"
"\n"
"  --pidfile <path>       once started, write the process id there\n"
"                         (locked; removed at exit)\n"
"\n"
"The command line and QMP follow qemu-storage-daemon's (QEMU 7.2).\n");
}

static void version(void)
{
    printf("qblockd version " QBLOCK_VERSION
           " (QMP interface of QEMU %d.%d)\n",
           QBLOCK_QEMU_MAJOR, QBLOCK_QEMU_MINOR);
}

static void request_exit(void)
{
    exit_requested = true;
    aio_notify(qemu_get_aio_context());
}

/* --------------------------------------------------------------- signals */

static int signal_fd = -1;

static void signal_read(void *opaque)
{
    struct signalfd_siginfo si;
    ssize_t n;

    RETRY_ON_EINTR(n = read(signal_fd, &si, sizeof(si)));
    if (n == sizeof(si)) {
        trace_qblockd_signal(si.ssi_signo);
        request_exit();
    }
}

static void signals_init(void)
{
    sigset_t set;

    /* A client that goes away must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Blocked before any thread starts, so every thread inherits it. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) {
        error_report("signalfd: %s", g_strerror(errno));
        exit(1);
    }
    aio_set_fd_handler(qemu_get_aio_context(), signal_fd, signal_read, NULL,
                       NULL);
}

/* --------------------------------------------------------------- options */

static bool add_monitor(const char *optarg, Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    g_autoptr(MonitorOptions) opts = NULL;
    QapiInput in;
    bool keyval = optarg[0] != '{';

    /* The JSON form and the keyval form feed the same schema type. */
    if (keyval) {
        tree = keyval_parse(optarg, "chardev", NULL, errp);
    } else {
        tree = json_parse_string(optarg, errp);
    }
    if (!tree) {
        return false;
    }
    qapi_input_init(&in, keyval);
    if (!qapi_input_MonitorOptions(&in, NULL, tree, &opts, errp)) {
        return false;
    }
    if (!chardev_find(opts->chardev)) {
        error_setg(errp, "chardev \"%s\" not found", opts->chardev);
        return false;
    }
    if (opts->has_mode && opts->mode != MONITOR_MODE_CONTROL) {
        error_setg(errp, "Only QMP is supported");
        return false;
    }
    return monitor_new_qmp(opts->chardev,
                           opts->has_pretty && opts->pretty, errp) != NULL;
}

static bool add_nbd_server(const char *optarg, Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    g_autoptr(NbdServerOptions) opts = NULL;
    QapiInput in;
    bool keyval = optarg[0] != '{';

    if (keyval) {
        tree = keyval_parse(optarg, NULL, NULL, errp);
    } else {
        tree = json_parse_string(optarg, errp);
    }
    if (!tree) {
        return false;
    }
    qapi_input_init(&in, keyval);
    if (!qapi_input_NbdServerOptions(&in, NULL, tree, &opts, errp)) {
        return false;
    }
    return nbd_server_start_options(opts, errp);
}

static bool write_pidfile(const char *path, Error **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        return false;
    }
    /* The lock is held for the process's life: one daemon per file. */
    if (lockf(fd, F_TLOCK, 0) < 0) {
        error_setg_errno(errp, errno, "Cannot lock pid file");
        close(fd);
        return false;
    }
    if (ftruncate(fd, 0) < 0 ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        error_setg_errno(errp, errno, "Failed to write pid file");
        close(fd);
        return false;
    }
    pidfile_path = g_strdup(path);
    return true;
}

/*
 * --daemonize: the parent waits until the daemon has started (or failed)
 * and exits with its verdict, so that a caller can rely on the sockets
 * existing once the parent returns.  As QEMU, fork twice: the daemon is
 * in a new session but not its leader, so it never gets a controlling
 * terminal back.
 */
static void daemonize(void)
{
    int fds[2];
    pid_t pid;
    char status;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_report("pipe: %s", g_strerror(errno));
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        error_report("fork: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        ssize_t n;

        close(fds[1]);
        RETRY_ON_EINTR(n = read(fds[0], &status, 1));
        exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    pid = fork();
    if (pid < 0) {
        error_report("fork: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        /* The parent hears from the grandchild through the pipe. */
        _exit(0);
    }
    daemon_pipe = fds[1];
}

static void daemonize_done(void)
{
    char status = 0;
    int null_fd;

    if (daemon_pipe < 0) {
        return;
    }
    if (chdir("/") < 0) {
        /* Not fatal: only relative paths given later would suffer. */
    }
    null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        close(null_fd);
    }
    if (write(daemon_pipe, &status, 1) != 1) {
        /* The parent is gone; nobody to tell. */
    }
    close(daemon_pipe);
    daemon_pipe = -1;
}

enum {
    OPTION_BLOCKDEV = 256,
    OPTION_CHARDEV,
    OPTION_DAEMONIZE,
    OPTION_EXPORT,
    OPTION_MONITOR,
    OPTION_NBD_SERVER,
    OPTION_PIDFILE,
};

static const struct option long_options[] = {
    { "help", no_argument, NULL, 'h' },
    { "trace", required_argument, NULL, 'T' },
    { "version", no_argument, NULL, 'V' },
    { "blockdev", required_argument, NULL, OPTION_BLOCKDEV },
    { "chardev", required_argument, NULL, OPTION_CHARDEV },
    { "daemonize", no_argument, NULL, OPTION_DAEMONIZE },
    { "export", required_argument, NULL, OPTION_EXPORT },
    { "monitor", required_argument, NULL, OPTION_MONITOR },
    { "nbd-server", required_argument, NULL, OPTION_NBD_SERVER },
    { "pidfile", required_argument, NULL, OPTION_PIDFILE },
    { NULL, 0, NULL, 0 },
};

/*
 * First pass: the options that change how the process starts (help,
 * version, daemonize); the second pass applies the rest in order.
 */
static bool scan_for_daemonize(int argc, char **argv)
{
    bool want = false;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "-hT:V", long_options, NULL)) != -1) {
        if (c == OPTION_DAEMONIZE) {
            want = true;
        }
    }
    opterr = 1;
    return want;
}

/*
 * The option as it was typed, for messages: "-T" or "--trace".  Only a
 * separate argument tells; an attached one ("--trace=x") gets @name.
 */
static const char *option_as_typed(char **argv, const char *name)
{
    if (optind >= 2 && argv[optind - 1] == optarg) {
        return argv[optind - 2];
    }
    return name;
}

static void trace_list_events(void)
{
    for (size_t i = 0; i < trace_event_count; i++) {
        printf("%s\n", trace_event_names[i]);
    }
}

static void process_options(int argc, char **argv)
{
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "-hT:V", long_options, NULL)) != -1) {
        Error *err = NULL;
        bool ok = true;

        switch (c) {
        case '?':
            exit(1);
        case 'h':
            help();
            exit(0);
        case 'V':
            version();
            exit(0);
        case 'T':
            if (!strcmp(optarg, "help")) {
                trace_list_events();
                exit(0);
            }
            error_set_location("%s %s", option_as_typed(argv, "--trace"),
                               optarg);
            ok = trace_opt_parse(optarg, &err);
            break;
        case OPTION_BLOCKDEV:
            error_set_location("--blockdev %s", optarg);
            ok = blockdev_add_cmdline(optarg, &err);
            break;
        case OPTION_CHARDEV:
            error_set_location("--chardev %s", optarg);
            ok = chardev_new_from_opts(optarg, &err) != NULL;
            break;
        case OPTION_MONITOR:
            error_set_location("--monitor %s", optarg);
            ok = add_monitor(optarg, &err);
            break;
        case OPTION_EXPORT:
            error_set_location("--export %s", optarg);
            ok = blk_exp_add_cmdline(optarg, &err);
            break;
        case OPTION_NBD_SERVER:
            error_set_location("--nbd-server %s", optarg);
            ok = add_nbd_server(optarg, &err);
            break;
        case OPTION_DAEMONIZE:
            break;
        case OPTION_PIDFILE:
            g_free(pidfile_path);
            pidfile_path = g_strdup(optarg);
            break;
        case 1:
            error_set_location("%s", optarg);
            error_setg(&err, "Unexpected argument");
            ok = false;
            break;
        default:
            g_assert_not_reached();
        }
        if (!ok) {
            error_report_err(err);
            exit(1);
        }
        error_set_location(NULL);
    }
}

int main(int argc, char **argv)
{
    AioContext *ctx;
    Error *err = NULL;
    g_autofree char *pidfile = NULL;

    g_set_prgname("qblockd");
    trace_init_from_env();

    if (scan_for_daemonize(argc, argv)) {
        daemonize();
    }
    qemu_init_main_loop(&error_fatal);
    ctx = qemu_get_aio_context();
    signals_init();
    monitor_init_globals();
    hmp_register_daemon_commands();
    monitor_set_quit_handler(request_exit);
    bdrv_init();

    process_options(argc, argv);

    /* The PID file says "started", so it is written last. */
    pidfile = g_steal_pointer(&pidfile_path);
    if (pidfile && !write_pidfile(pidfile, &err)) {
        error_reportf_err(err, "cannot create PID file: ");
        chardev_close_all();
        exit(1);
    }
    daemonize_done();
    trace_qblockd_started(getpid());

    while (!exit_requested) {
        aio_poll(ctx, true);
    }

    trace_qblockd_exit();
    /*
     * As QEMU's daemon: all I/O stops (a running job pauses), then every
     * job is cancelled, forced (a ready mirror does not pivot), paused
     * or error-stopped ones too, and their events reach the monitors
     * before the reply to quit does (monitor_cleanup sends it).
     */
    bdrv_drain_all_begin();
    job_cancel_sync_all();
    bdrv_drain_all_end();
    /* Exports go before the nodes they hold; clients are disconnected. */
    nbd_server_stop();
    blk_exp_close_all();
    monitor_cleanup();
    blockdev_close_all();
    chardev_close_all();
    if (pidfile_path) {
        unlink(pidfile_path);
    }
    return 0;
}
