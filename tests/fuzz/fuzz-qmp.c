/*
 * fuzz-qmp: libFuzzer target for QMP input.
 *
 * The input bytes go through the same path as bytes from a monitor socket:
 * the JSON streamer frames and parses them, and every complete value is
 * dispatched against the full command table, as a negotiated connection
 * would.  Replies are written with QEMU's writer, so the writer is fuzzed
 * too.  quit only sets a flag here.
 *
 * Build and run with `make fuzz` (clang, ASan, UBSan).
 */
#include "qemu/osdep.h"

#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/json-stream.h"
#include "qemu/json-writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool quit_seen;

static void fuzz_quit(void)
{
    quit_seen = true;
}

static void fuzz_emit(void *opaque, JsonNode *req, Error *err)
{
    g_autoptr(GString) out = g_string_new(NULL);
    JsonNode *rsp;

    if (!req) {
        rsp = qmp_error_response(err);
        error_free(err);
    } else {
        rsp = qmp_dispatch(&qmp_commands, req, false);
        json_node_unref(req);
    }
    if (rsp) {
        json_writer_append(out, rsp, false);
        json_writer_append(out, rsp, true);
        json_node_unref(rsp);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;
    JSONStreamer *js;

    if (!initialized) {
        qemu_init_main_loop(&error_abort);
        monitor_init_globals();
        monitor_set_quit_handler(fuzz_quit);
        initialized = true;
    }
    js = json_streamer_new(fuzz_emit, NULL);
    json_streamer_feed(js, (const char *)data, size);
    json_streamer_flush(js);
    json_streamer_free(js);
    return 0;
}
