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
    char *file_loc;         /* "FILE:" or "FILE:LINE:" the error is about */
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
/*
 * Where we are, as the text that goes between "prog:" and the message:
 * " --chardev socket,id=m:" for an option, "file.txt:3:" for a line of a
 * file (QEMU prints the two kinds that way).  A stack, so that a file read
 * while an option is processed can name its own lines.
 */
static GPtrArray *report_locations;

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

static const char *current_location(void)
{
    if (!report_locations || !report_locations->len) {
        return "";
    }
    return g_ptr_array_index(report_locations, report_locations->len - 1);
}

static void report_line(const char *prefix, const char *msg)
{
    const char *prog = g_get_prgname();
    const char *loc = current_location();

    if (report_func) {
        g_autofree char *full = g_strconcat(loc[0] == ' ' ? loc + 1 : loc,
                                            loc[0] ? " " : "", prefix, msg,
                                            NULL);
        report_func(report_opaque, full);
        return;
    }
    fprintf(stderr, "%s:%s %s%s\n", prog ? prog : "", loc, prefix, msg);
}

static void location_push(char *text)
{
    if (!report_locations) {
        report_locations = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(report_locations, text);
}

void error_set_location(const char *fmt, ...)
{
    va_list ap;

    if (report_locations) {
        g_ptr_array_set_size(report_locations, 0);
    }
    if (fmt) {
        g_autofree char *text = NULL;

        va_start(ap, fmt);
        text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        location_push(g_strdup_printf(" %s:", text));
    }
}

void error_push_location_file(const char *file, int line)
{
    location_push(line ? g_strdup_printf("%s:%d:", file, line)
                       : g_strdup_printf("%s:", file));
}

void error_pop_location(void)
{
    assert(report_locations && report_locations->len);
    g_ptr_array_set_size(report_locations, report_locations->len - 1);
}

void error_set_report_func(ErrorReportFunc *func, void *opaque)
{
    report_func = func;
    report_opaque = opaque;
}

static void location_push(char *text);

static void error_print(const Error *err)
{
    /* An error about a file names it, wherever it is reported. */
    if (err->file_loc) {
        location_push(g_strdup(err->file_loc));
    }
    report_line("", err->msg);
    if (err->file_loc) {
        error_pop_location();
    }
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
    copy->file_loc = g_strdup(err->file_loc);
    if (err->hint) {
        copy->hint = g_string_new(err->hint->str);
    }
    return copy;
}

void error_free(Error *err)
{
    if (err) {
        g_free(err->msg);
        g_free(err->file_loc);
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

void error_set_file_location(Error *const *errp, const char *file, int line)
{
    if (!errp || !*errp) {
        return;
    }
    g_free((*errp)->file_loc);
    (*errp)->file_loc = line ? g_strdup_printf("%s:%d:", file, line)
                             : g_strdup_printf("%s:", file);
}
