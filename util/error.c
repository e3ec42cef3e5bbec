/*
 * error.c: the Error object (see include/qapi/error.h for the contract).
 *
 * An Error is a message, an optional hint, a QMP class, and where it was
 * made.  It is deliberately a plain heap object owned by exactly one
 * pointer at a time: the helpers here move it, never share it.
 *
 * error_abort and error_fatal are never assigned; only their addresses are
 * compared, so the special errp values cost nothing to recognise.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"

struct Error {
    char *msg;
    GString *hint;
    ErrorClass err_class;
    int os_errno;
    const char *src;
    const char *func;
    int line;
};

Error *error_abort;
Error *error_fatal;

static ErrorReportFunc *report_func;
static void *report_opaque;
static char *report_location;

static const char *const error_class_names[ERROR_CLASS__MAX] = {
    [ERROR_CLASS_GENERIC_ERROR] = "GenericError",
    [ERROR_CLASS_COMMAND_NOT_FOUND] = "CommandNotFound",
    [ERROR_CLASS_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [ERROR_CLASS_DEVICE_NOT_FOUND] = "DeviceNotFound",
    [ERROR_CLASS_KVM_MISSING_CAP] = "KVMMissingCap",
};

const char *error_class_name(ErrorClass err_class)
{
    assert(err_class >= 0 && err_class < ERROR_CLASS__MAX);
    return error_class_names[err_class];
}

static void report_line(const char *prefix, const char *msg)
{
    const char *prog = g_get_prgname();
    g_autofree char *loc = report_location
        ? g_strconcat(report_location, ": ", NULL) : g_strdup("");

    if (report_func) {
        g_autofree char *full = g_strconcat(loc, prefix, msg, NULL);
        report_func(report_opaque, full);
        return;
    }
    if (prog) {
        fprintf(stderr, "%s: %s%s%s\n", prog, loc, prefix, msg);
    } else {
        fprintf(stderr, "%s%s%s\n", loc, prefix, msg);
    }
}

void error_set_location(const char *fmt, ...)
{
    va_list ap;

    g_free(report_location);
    report_location = NULL;
    if (fmt) {
        va_start(ap, fmt);
        report_location = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
}

void error_set_report_func(ErrorReportFunc *func, void *opaque)
{
    report_func = func;
    report_opaque = opaque;
}

static void error_print(const Error *err)
{
    report_line("", err->msg);
    if (err->hint) {
        fputs(err->hint->str, stderr);
    }
}

/*
 * Called when an error reaches &error_abort or &error_fatal: this is the
 * end of the program either way.
 */
static void error_handle_special(Error **errp, Error *err)
{
    if (errp == &error_abort) {
        fprintf(stderr, "Unexpected error in %s() at %s:%d:\n",
                err->func, err->src, err->line);
        error_print(err);
        abort();
    }
    if (errp == &error_fatal) {
        error_print(err);
        exit(1);
    }
}

static void error_setv(Error **errp, const char *src, int line,
                       const char *func, ErrorClass err_class, int os_errno,
                       const char *fmt, va_list ap)
{
    Error *err;
    int saved_errno = errno;

    if (!errp) {
        return;
    }
    assert(!*errp);

    err = g_new0(Error, 1);
    err->msg = g_strdup_vprintf(fmt, ap);
    if (os_errno) {
        char *with_errno = g_strdup_printf("%s: %s", err->msg,
                                           g_strerror(os_errno));
        g_free(err->msg);
        err->msg = with_errno;
    }
    err->err_class = err_class;
    err->os_errno = os_errno;
    err->src = src;
    err->line = line;
    err->func = func;

    error_handle_special(errp, err);
    *errp = err;
    errno = saved_errno;
}

void error_set_internal(Error **errp, const char *src, int line,
                        const char *func, ErrorClass err_class,
                        const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_setv(errp, src, line, func, err_class, 0, fmt, ap);
    va_end(ap);
}

void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...)
{
    va_list ap;

    /* A negative errno is a common slip (ret = -errno); accept both. */
    if (os_errno < 0) {
        os_errno = -os_errno;
    }
    va_start(ap, fmt);
    error_setv(errp, src, line, func, ERROR_CLASS_GENERIC_ERROR, os_errno,
               fmt, ap);
    va_end(ap);
}

const char *error_get_pretty(const Error *err)
{
    return err->msg;
}

const char *error_get_hint(const Error *err)
{
    return err->hint ? err->hint->str : NULL;
}

ErrorClass error_get_class(const Error *err)
{
    return err->err_class;
}

int error_get_errno(const Error *err)
{
    return err->os_errno;
}

Error *error_copy(const Error *err)
{
    Error *copy = g_new0(Error, 1);

    *copy = *err;
    copy->msg = g_strdup(err->msg);
    if (err->hint) {
        copy->hint = g_string_new(err->hint->str);
    }
    return copy;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        if (err->hint) {
            g_string_free(err->hint, true);
        }
        g_free(err);
    }
}

void error_free_or_abort(Error **errp)
{
    assert(errp && *errp);
    error_free(*errp);
    *errp = NULL;
}

void error_propagate(Error **dst_errp, Error *local_err)
{
    if (!local_err) {
        return;
    }
    error_handle_special(dst_errp, local_err);
    if (dst_errp && !*dst_errp) {
        *dst_errp = local_err;
    } else {
        error_free(local_err);
    }
}

static void error_vprepend(Error *const *errp, const char *fmt, va_list ap)
{
    char *prefix;
    char *msg;

    if (!errp || !*errp) {
        return;
    }
    prefix = g_strdup_vprintf(fmt, ap);
    msg = g_strconcat(prefix, (*errp)->msg, NULL);
    g_free(prefix);
    g_free((*errp)->msg);
    (*errp)->msg = msg;
}

void error_prepend(Error *const *errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vprepend(errp, fmt, ap);
    va_end(ap);
}

void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...)
{
    va_list ap;

    if (local_err && dst_errp && !*dst_errp) {
        va_start(ap, fmt);
        error_vprepend(&local_err, fmt, ap);
        va_end(ap);
    }
    error_propagate(dst_errp, local_err);
}

void error_append_hint(Error *const *errp, const char *fmt, ...)
{
    va_list ap;
    int saved_errno = errno;
    Error *err;

    if (!errp || errp == &error_fatal || !*errp) {
        return;
    }
    err = *errp;
    if (!err->hint) {
        err->hint = g_string_new(NULL);
    }
    va_start(ap, fmt);
    g_string_append_vprintf(err->hint, fmt, ap);
    va_end(ap);
    errno = saved_errno;
}

void error_report_err(Error *err)
{
    error_print(err);
    error_free(err);
}

void error_reportf_err(Error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vprepend(&err, fmt, ap);
    va_end(ap);
    error_report_err(err);
}

static void report_vprefixed(const char *prefix, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    report_line(prefix, msg);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprefixed("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprefixed("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_vprefixed("info: ", fmt, ap);
    va_end(ap);
}

void error_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}
