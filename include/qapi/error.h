/*
 * error.h: how control-path code reports failure.
 *
 * A function that can fail takes `Error **errp` as its last parameter and
 * says whether it worked through its return value alone (bool, a pointer,
 * or a negative errno).  On failure it sets *errp with error_setg() and
 * returns; the caller either passes its own errp down (the common case, no
 * Error object of its own), or handles the error and frees it.
 *
 * The caller picks what happens to an error through the errp it passes:
 *   NULL          the error is discarded
 *   &error_abort  a failure is a bug: print it and abort()
 *   &error_fatal  a failure ends the program: print it and exit(1)
 *   &local_err    the caller receives it (local_err starts NULL)
 *
 * An Error is moved into exactly one of error_propagate(),
 * error_report_err() or error_free().  Setting an error where one is already
 * set is a bug and aborts.
 *
 * Every error has a class for QMP: nearly all are GenericError; the few
 * others exist because QMP clients test for them (for example
 * DeviceNotActive for an unknown block job).
 *
 * Worked example:
 *
 *     static bool check_size(int64_t size, Error **errp)
 *     {
 *         if (size < 0) {
 *             error_setg(errp, "Image size must be non-negative");
 *             return false;
 *         }
 *         return true;
 *     }
 *
 *     Error *local_err = NULL;
 *     if (!check_size(n, &local_err)) {
 *         error_report_err(local_err);     (prints "prog: Image size...")
 *     }
 */
#ifndef QBLOCK_QAPI_ERROR_H
#define QBLOCK_QAPI_ERROR_H

/* The QMP error classes, spelled on the wire as error_class_name() says. */
typedef enum ErrorClass {
    ERROR_CLASS_GENERIC_ERROR = 0,
    ERROR_CLASS_COMMAND_NOT_FOUND,
    ERROR_CLASS_DEVICE_NOT_ACTIVE,
    ERROR_CLASS_DEVICE_NOT_FOUND,
    ERROR_CLASS_KVM_MISSING_CAP,
    ERROR_CLASS__MAX
} ErrorClass;

/* "GenericError", "CommandNotFound", ... */
const char *error_class_name(ErrorClass err_class);

/* The message, without hint. */
const char *error_get_pretty(const Error *err);

/* The hint appended with error_append_hint(), or NULL. */
const char *error_get_hint(const Error *err);

ErrorClass error_get_class(const Error *err);

/* The errno given to error_setg_errno(), or 0. */
int error_get_errno(const Error *err);

Error *error_copy(const Error *err);
void error_free(Error *err);

/* Free *errp if it is set and reset it to NULL. */
void error_free_or_abort(Error **errp);

/*
 * Set *@errp to a new error of class @err_class, unless @errp is NULL.
 * The src/func arguments are filled in by the macros below.
 */
void error_set_internal(Error **errp, const char *src, int line,
                        const char *func, ErrorClass err_class,
                        const char *fmt, ...) G_GNUC_PRINTF(6, 7);
void error_setg_errno_internal(Error **errp, const char *src, int line,
                               const char *func, int os_errno,
                               const char *fmt, ...) G_GNUC_PRINTF(6, 7);

#define error_set(errp, err_class, ...) \
    error_set_internal((errp), __FILE__, __LINE__, __func__, \
                       (err_class), __VA_ARGS__)

#define error_setg(errp, ...) \
    error_set_internal((errp), __FILE__, __LINE__, __func__, \
                       ERROR_CLASS_GENERIC_ERROR, __VA_ARGS__)

/* As error_setg(), with ": <strerror(os_errno)>" appended. */
#define error_setg_errno(errp, os_errno, ...) \
    error_setg_errno_internal((errp), __FILE__, __LINE__, __func__, \
                              (os_errno), __VA_ARGS__)

/*
 * Move @local_err into *@dst_errp.  If @dst_errp is NULL the error is
 * freed; if it is &error_abort or &error_fatal that happens now.  If
 * *@dst_errp is already set, @local_err is freed (the first error wins).
 * @local_err may be NULL, which does nothing.
 */
void error_propagate(Error **dst_errp, Error *local_err);

/* As error_propagate(), prefixing the message with the format first. */
void error_propagate_prepend(Error **dst_errp, Error *local_err,
                             const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Prefix the message of *@errp (if set) with the formatted string. */
void error_prepend(Error *const *errp, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/*
 * Append advice to *@errp's hint: printed by error_report_err() on its own
 * lines, never sent over QMP.  Does nothing if @errp is NULL, &error_fatal
 * or does not hold an error.
 */
void error_append_hint(Error *const *errp, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

/* Print "prog: message" and the hint to stderr, then free @err. */
void error_report_err(Error *err);

/* As error_report_err(), with the message prefixed first. */
void error_reportf_err(Error *err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Print "prog: message" to stderr (for errors that are not Error objects). */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void info_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Print to stderr as it is: a continuation line with no prefix. */
void error_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/*
 * Where the program is in its input, for messages about it: while set,
 * error_report() and friends print "prog: <location>: message".  qblockd
 * sets it to the option being processed ("--chardev socket,id=m").
 * Passing NULL clears it.
 */
void error_set_location(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/*
 * While reading a file named by an option: messages say
 * "prog:FILE:LINE: message" (no LINE if @line is 0), as QEMU's do, until
 * the matching error_pop_location().
 */
void error_push_location_file(const char *file, int line);
void error_pop_location(void);

/*
 * Say that *@errp is about a file (and line): when reported it prints as
 * "prog:FILE:LINE: message" whatever the current location.
 */
void error_set_file_location(Error *const *errp, const char *file, int line);

/*
 * Send error_report() and friends to a callback instead of stderr (the
 * QMP monitor uses this while a command runs); NULL restores stderr.
 */
typedef void ErrorReportFunc(void *opaque, const char *msg);
void error_set_report_func(ErrorReportFunc *func, void *opaque);

/* Pass as errp: a failure is a programming error; abort(). */
extern Error *error_abort;

/* Pass as errp: a failure ends the program with exit(1). */
extern Error *error_fatal;

#endif /* QBLOCK_QAPI_ERROR_H */
