"""Helpers for qblock's Python iotests: a QMP client, the daemon, filters.

A test imports this module (check puts this directory on PYTHONPATH), starts
the daemon under test, talks QMP to it, and prints what it saw through
log(), which writes JSON with sorted keys so that the member order of a
reply (a hash-table order in QEMU) never matters:

    import iotests
    from iotests import log

    with iotests.Daemon() as d:         # started and negotiated
        log(d.cmd('query-version', id=1), filters=[iotests.filter_version])

The environment comes from check: QBLOCKD (the daemon under test, which may
be QEMU's qemu-storage-daemon), QBLOCK_IMG, QBLOCK_IO, QEMU_IMG, QEMU_IO,
QEMU_NBD and QEMU_SYSTEM when installed, TEST_DIR, SOCK_DIR and IMGFMT.
Everything a test prints (stdout and stderr) is compared with its .out file,
so anything that varies between runs or machines goes through a filter.

Every daemon started here is killed by PID when the test ends, however it
ends (the context manager, an atexit hook, and check's own session kill).
"""

import atexit
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

# Output is compared as one stream: keep stdout and stderr in order.
sys.stdout.reconfigure(line_buffering=True)
sys.stderr.reconfigure(line_buffering=True)

TEST_DIR = os.environ.get('TEST_DIR') or os.getcwd()
SOCK_DIR = os.environ.get('SOCK_DIR') or TEST_DIR
IMGFMT = os.environ.get('IMGFMT') or 'qcow2'
QBLOCKD = os.environ.get('QBLOCKD') or 'qblockd'
QBLOCK_IMG = os.environ.get('QBLOCK_IMG')
QBLOCK_IO = os.environ.get('QBLOCK_IO')
QEMU_IMG = os.environ.get('QEMU_IMG')
QEMU_IO = os.environ.get('QEMU_IO')
QEMU_NBD = os.environ.get('QEMU_NBD')
QEMU_SYSTEM = os.environ.get('QEMU_SYSTEM')
NBDKIT = os.environ.get('NBDKIT')
NBDCOPY = os.environ.get('NBDCOPY')
NBDINFO = os.environ.get('NBDINFO')

SKIP_STATUS = 77
DEFAULT_TIMEOUT = 60.0


def skip(reason):
    """Say why this test cannot run here and leave with status 77."""
    print('SKIP: %s' % reason)
    sys.exit(SKIP_STATUS)


# ---------------------------------------------------------------------------
# Printing

def log(msg, filters=(), indent=None):
    """Print a string, or a JSON value with sorted keys, after filters.

    Each filter takes the value and returns the filtered value; string
    filters can be lifted to JSON values with filter_strings().
    """
    for f in filters:
        msg = f(msg)
    if isinstance(msg, (dict, list, tuple, bool, int, float)) or msg is None:
        print(json.dumps(msg, sort_keys=True, indent=indent))
    else:
        print(msg)


# ---------------------------------------------------------------------------
# Filters.  String filters take and return a str; value filters take and
# return a JSON value and never modify their argument.

def filter_test_dirs(text):
    """Replace the scratch and socket directories by TEST_DIR / SOCK_DIR."""
    for path, name in sorted(((SOCK_DIR, 'SOCK_DIR'), (TEST_DIR, 'TEST_DIR')),
                             key=lambda p: -len(p[0])):
        if path:
            text = text.replace(path, name)
    return text


def _program_names():
    names = []
    real = os.path.realpath(QBLOCKD)
    for p in (QBLOCKD, real):
        if p not in names:
            names.append(p)
    for p in (os.path.basename(QBLOCKD), os.path.basename(real)):
        if p not in names:
            names.append(p)
    return names


def filter_program(text):
    """Replace the daemon's name (full path first, then base name) with
    QBLOCKD, so that 'qemu-storage-daemon: ...' and 'qblockd: ...' read the
    same.  Only whole words are replaced."""
    for name in _program_names():
        text = re.sub(r'(?<![\w/.-])' + re.escape(name) + r'(?![\w-])',
                      'QBLOCKD', text)
    return text


TRACE_PREFIX = re.compile(r'^\d+@\d+\.\d{6}:', re.MULTILINE)


def filter_trace_prefix(text):
    """Drop the '<pid>@<sec>.<usec>:' that a log backend may put in front
    of a trace line (qblock always does; QEMU 7.2 only with -msg
    timestamp=on)."""
    return TRACE_PREFIX.sub('', text)


def filter_pointers(text):
    return re.sub(r'\b0x[0-9a-fA-F]+\b|\(nil\)', 'PTR', text)


def filter_pid(pid, text):
    return re.sub(r'\b%d\b' % pid, 'PID', text)


def filter_strings(str_filter):
    """Lift a string filter to one that rewrites every string in a JSON
    value (keys too)."""
    def walk(v):
        if isinstance(v, str):
            return str_filter(v)
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v
    return walk


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def filter_timestamp(ts):
    """An event's timestamp becomes SECS/USECS if it has the right shape;
    anything else is left as it is, so that the .out comparison shows it."""
    if isinstance(ts, dict) and set(ts) == {'seconds', 'microseconds'} and \
            _is_int(ts['seconds']) and _is_int(ts['microseconds']) and \
            ts['seconds'] > 0 and 0 <= ts['microseconds'] < 1000000:
        return {'seconds': 'SECS', 'microseconds': 'USECS'}
    return ts


def filter_qmp_event(event):
    if isinstance(event, dict) and 'timestamp' in event:
        event = dict(event)
        event['timestamp'] = filter_timestamp(event['timestamp'])
    return event


def filter_version_info(v):
    """A VersionInfo ({"qemu": {major, minor, micro}, "package"}) with its
    values replaced by placeholders when they have the right types."""
    if not isinstance(v, dict):
        return v
    v = dict(v)
    q = v.get('qemu')
    if isinstance(q, dict):
        q = dict(q)
        for k in ('major', 'minor', 'micro'):
            if _is_int(q.get(k)) and q[k] >= 0:
                q[k] = k.upper()
        v['qemu'] = q
    if isinstance(v.get('package'), str):
        v['package'] = 'PACKAGE'
    return v


def filter_greeting(g):
    if isinstance(g, dict) and isinstance(g.get('QMP'), dict):
        g = dict(g)
        g['QMP'] = dict(g['QMP'])
        g['QMP']['version'] = filter_version_info(g['QMP'].get('version'))
    return g


def filter_version(reply):
    """The reply of query-version (or a list of replies), its values
    replaced by placeholders."""
    if isinstance(reply, list):
        return [filter_version(r) for r in reply]
    if isinstance(reply, dict) and 'return' in reply:
        reply = dict(reply)
        reply['return'] = filter_version_info(reply['return'])
    return reply


def filter_qmp(value):
    """The usual filters for anything read from QMP: event timestamps and
    the test's directories."""
    return filter_strings(filter_test_dirs)(filter_qmp_event(value))


# ---------------------------------------------------------------------------
# QMP client

class QMPError(Exception):
    pass


class QMPTimeout(QMPError):
    pass


class QMPClosed(QMPError):
    pass


class QMPClient:
    """One QMP connection over a unix socket.

    Messages are read as a stream of JSON values, so a pretty-printing
    monitor works too.  Events that arrive while a reply is awaited are
    queued and handed out by get_events() and event_wait().  Every line
    that does not end in CRLF is counted in crlf_errors (QEMU ends every
    line of output with CRLF).  The traffic is written to log_path.
    """

    def __init__(self, path, log_path=None, timeout=DEFAULT_TIMEOUT):
        self.path = path
        self.timeout = timeout
        self.sock = None
        self.buf = b''
        self.events = []
        self.greeting = None
        self.crlf_errors = 0
        self.closed = False
        self.log_file = open(log_path, 'a', encoding='utf-8') \
            if log_path else None
        self.sync_count = 0

    def _log(self, direction, text):
        if self.log_file:
            self.log_file.write('%.6f %s %s\n' % (time.time(), direction,
                                                  text.rstrip('\r\n')))
            self.log_file.flush()

    def connect(self, read_greeting=True, timeout=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        self.sock = s
        self._log('--', 'connected to %s' % self.path)
        if read_greeting:
            self.greeting = self.recv(timeout=timeout)
            if not (isinstance(self.greeting, dict) and 'QMP' in
                    self.greeting):
                raise QMPError('expected a greeting, got %r' %
                               (self.greeting,))
        return self.greeting

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
            self._log('--', 'closed')
        if self.log_file:
            self.log_file.close()
            self.log_file = None

    # -- sending

    def send_raw(self, data):
        """Write bytes (or a str) to the socket exactly as given."""
        if isinstance(data, str):
            data = data.encode('utf-8')
        self._log('>>', data.decode('utf-8', 'replace'))
        self.sock.sendall(data)

    def send(self, msg):
        """Write one JSON value; no reply is awaited."""
        self.send_raw(json.dumps(msg))

    # -- receiving

    def _fill(self, deadline):
        """Read once from the socket; return False at end of file."""
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise QMPTimeout('no message within the timeout')
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            raise QMPTimeout('no message within the timeout')
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b''
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _decode_one(self):
        """Take one complete JSON value off the buffer, or return None."""
        text = self.buf.lstrip(b' \t\r\n')
        if not text:
            self.buf = b''
            return None
        # A message ends with a newline; try every newline in turn, so a
        # pretty-printed value spanning lines is found as well.
        start = 0
        while True:
            nl = text.find(b'\n', start)
            if nl < 0:
                return None
            chunk = text[:nl + 1]
            try:
                value = json.loads(chunk.decode('utf-8'))
            except ValueError:
                start = nl + 1
                continue
            if not chunk.endswith(b'\r\n'):
                self.crlf_errors += 1
            self._log('<<', chunk.decode('utf-8', 'replace'))
            self.buf = text[nl + 1:]
            return value

    def recv(self, timeout=None):
        """The next message, event or not; QMPClosed at end of file."""
        if timeout is None:
            timeout = self.timeout
        deadline = time.monotonic() + timeout
        while True:
            msg = self._decode_one()
            if msg is not None:
                return msg
            if not self._fill(deadline):
                msg = self._decode_one()
                if msg is not None:
                    return msg
                if self.buf.strip():
                    raise QMPClosed('connection closed after a partial '
                                    'message: %r' % self.buf[:200])
                raise QMPClosed('connection closed')

    def recv_reply(self, timeout=None):
        """The next message that is not an event (events are queued)."""
        while True:
            msg = self.recv(timeout)
            if isinstance(msg, dict) and 'event' in msg:
                self.events.append(msg)
                continue
            return msg

    def poll(self, timeout=0.3):
        """The next message if one arrives within timeout, else None."""
        try:
            return self.recv(timeout)
        except QMPTimeout:
            return None

    def wait_closed(self, timeout=None):
        """Read until the server closes the connection; return what came
        before the end (events included)."""
        msgs = []
        try:
            while True:
                msgs.append(self.recv(timeout))
        except QMPClosed:
            return msgs

    # -- commands

    def cmd(self, command, /, args=None, req_id=None, reply_timeout=None,
            **kwargs):
        """Run a command and return its reply (a dict).

        Arguments come from args (sent as given) and from keyword
        arguments, whose underscores become dashes (node_name=... sends
        "node-name"; name=... is fine too).  req_id, when not None, is sent
        as the "id" member.
        """
        msg = {'execute': command}
        arguments = dict(args or {})
        for k, v in kwargs.items():
            arguments[k.replace('_', '-')] = v
        if args is not None or kwargs:
            msg['arguments'] = arguments
        if req_id is not None:
            msg['id'] = req_id
        self.send(msg)
        return self.recv_reply(reply_timeout)

    def negotiate(self, **kwargs):
        return self.cmd('qmp_capabilities', **kwargs)

    def cmd_raw(self, data, replies=None, sync=True, timeout=None):
        """Send bytes as they are and return the replies they caused.

        With replies=N, exactly N non-event messages are read.  Otherwise a
        marker request with a unique id follows the data, and everything
        before the marker's reply is returned (the marker's reply is
        dropped).  The marker works before negotiation too, since the
        error reply echoes the id; data that leaves an object or string
        open swallows the marker, and the call times out.
        """
        self.send_raw(data)
        if replies is not None:
            return [self.recv_reply(timeout) for _ in range(replies)]
        if not sync:
            return []
        self.sync_count += 1
        marker = '__iotests_sync_%d' % self.sync_count
        self.send({'execute': 'query-version', 'id': marker})
        out = []
        while True:
            msg = self.recv_reply(timeout)
            if isinstance(msg, dict) and msg.get('id') == marker:
                return out
            out.append(msg)

    # -- events

    def _event_matches(self, event, name, match):
        if name is not None and event.get('event') != name:
            return False
        return match is None or dict_match(match, event)

    def event_wait(self, name=None, timeout=DEFAULT_TIMEOUT, match=None):
        """Wait for an event called name (None: any) whose members match
        the dict match (recursively, see dict_match); return it.  Earlier
        queued events that do not match stay queued."""
        for i, ev in enumerate(self.events):
            if self._event_matches(ev, name, match):
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout('event %s did not arrive' % name)
            msg = self.recv(left)
            if not (isinstance(msg, dict) and 'event' in msg):
                raise QMPError('unexpected message while waiting for an '
                               'event: %r' % (msg,))
            if self._event_matches(msg, name, match):
                return msg
            self.events.append(msg)

    def get_events(self, wait=0.0):
        """Return and forget every queued event, after reading for wait
        seconds (0: only what has already arrived)."""
        deadline = time.monotonic() + wait
        while True:
            left = max(0.0, deadline - time.monotonic())
            try:
                msg = self.recv(left if left > 0 else 0.001)
            except QMPTimeout:
                break
            if isinstance(msg, dict) and 'event' in msg:
                self.events.append(msg)
            else:
                raise QMPError('unexpected non-event message: %r' % (msg,))
        events, self.events = self.events, []
        return events

    def clear_events(self):
        self.events = []


def _log_msg(msg, filters):
    log(msg, filters=[filter_qmp] + list(filters))


def xcmd(d, command, args=None, filters=()):
    """Send a command and log, in the order they arrive, the events
    queued before it, the events that come before its reply, and the
    reply (the event order around a reply is part of what QEMU shows).
    Returns the reply."""
    for ev in d.qmp.get_events():
        _log_msg(ev, filters)
    msg = {'execute': command}
    if args is not None:
        msg['arguments'] = args
    d.qmp.send(msg)
    # The events that came before the reply, for callers that wait for
    # one of them next (it may already be here).
    d.xcmd_events = []
    while True:
        reply = d.qmp.recv()
        _log_msg(reply, filters)
        if not (isinstance(reply, dict) and 'event' in reply):
            return reply
        d.xcmd_events.append(reply)


def xwait(d, name, match=None, filters=(), timeout=DEFAULT_TIMEOUT):
    """Log every event until (and including) the first called name that
    matches match; return that one.  If the last xcmd() already logged
    such an event (it came before the reply), return it at once."""
    for i, ev in enumerate(getattr(d, 'xcmd_events', [])):
        if ev.get('event') == name and (match is None or
                                        dict_match(match, ev)):
            del d.xcmd_events[:i + 1]
            return ev
    d.xcmd_events = []
    deadline = time.monotonic() + timeout
    while True:
        if d.qmp.events:
            ev = d.qmp.events.pop(0)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout('event %s did not arrive' % name)
            ev = d.qmp.recv(left)
        _log_msg(ev, filters)
        if isinstance(ev, dict) and ev.get('event') == name and \
                (match is None or dict_match(match, ev)):
            return ev


def dict_match(pattern, value):
    """True if every member of pattern is in value with a matching value;
    lists match element by element; anything else must be equal."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and dict_match(v, value[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and len(pattern) == len(value) and \
            all(dict_match(p, v) for p, v in zip(pattern, value))
    return pattern == value


# ---------------------------------------------------------------------------
# The daemon

_live_daemons = []


def _kill_live_daemons():
    for d in list(_live_daemons):
        d.kill()


atexit.register(_kill_live_daemons)


def monitor_args(chardev_id, path):
    """The options that put one more QMP monitor on a unix socket."""
    return ['--chardev', 'socket,id=%s,path=%s,server=on,wait=off' %
            (chardev_id, path), '--monitor', 'chardev=%s' % chardev_id]


class _Background:
    """What Daemon and Peer share: a process started by launch(), its
    output in log_path, killed by PID (kill()) when the test ends or the
    with block is left."""

    proc = None
    log_path = None

    def _kill_proc(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()

    def log_text(self):
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def __enter__(self):
        if self.proc is None:
            self.launch()
        return self

    def __exit__(self, *exc):
        self.kill()
        return False


class Daemon(_Background):
    """The daemon under test ($QBLOCKD), with a QMP monitor on
    SOCK_DIR/<name>.sock.

    launch() starts it, waits for the socket, connects, reads the greeting
    and (with negotiate=True) sends qmp_capabilities.  Its stdout and
    stderr go to TEST_DIR/<name>.log (log_text() reads it).  kill() and
    the context manager end it by PID with SIGKILL; terminate(sig) sends a
    signal and waits for the exit status.

    kind='system' starts a QEMU system emulator (binary defaults to
    $QEMU_SYSTEM) with -machine none and a QMP monitor, for facts that
    qemu-storage-daemon cannot show (see reference_daemon()).
    """

    def __init__(self, args=(), name='qblockd', binary=None, negotiate=True,
                 monitor=True, kind='daemon', timeout=DEFAULT_TIMEOUT):
        self.args = list(args)
        self.name = name
        self.kind = kind
        if binary is None:
            binary = QEMU_SYSTEM if kind == 'system' else QBLOCKD
        self.binary = binary
        self.negotiate_on_launch = negotiate
        self.with_monitor = monitor
        self.timeout = timeout
        self.sock_path = os.path.join(SOCK_DIR, name + '.sock')
        self.log_path = os.path.join(TEST_DIR, name + '.log')
        self.qmp_log_path = os.path.join(TEST_DIR, name + '.qmp.log')
        self.proc = None
        self.qmp = None
        self.exitcode = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def argv(self):
        argv = [self.binary]
        if self.with_monitor:
            if self.kind == 'system':
                argv += ['-machine', 'none', '-nodefaults', '-display', 'none',
                         '-no-user-config',
                         '-chardev', 'socket,id=mon0,path=%s,server=on,'
                         'wait=off' % self.sock_path,
                         '-mon', 'chardev=mon0,mode=control']
            else:
                argv += monitor_args('mon0', self.sock_path)
        return argv + self.args

    def launch(self):
        if not self.binary or not os.access(self.binary, os.X_OK):
            raise QMPError('cannot run the daemon %r' % (self.binary,))
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        logf = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf)
        finally:
            logf.close()
        _live_daemons.append(self)
        if self.with_monitor:
            self.qmp = self._connect()
            if self.negotiate_on_launch:
                reply = self.qmp.negotiate()
                if reply != {'return': {}}:
                    raise QMPError('qmp_capabilities failed: %r' % (reply,))
        return self

    def _connect(self):
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                raise QMPError('%s exited with status %d before its monitor '
                               'was up; its log says:\n%s' %
                               (self.binary, self.proc.returncode,
                                self.log_text()))
            if os.path.exists(self.sock_path):
                client = QMPClient(self.sock_path, self.qmp_log_path,
                                   self.timeout)
                try:
                    client.connect()
                    return client
                except (ConnectionRefusedError, FileNotFoundError):
                    client.close()
            if time.monotonic() > deadline:
                raise QMPTimeout('the monitor socket %s did not appear' %
                                 self.sock_path)
            time.sleep(0.01)

    def cmd(self, command, /, args=None, req_id=None, **kwargs):
        return self.qmp.cmd(command, args=args, req_id=req_id, **kwargs)

    def connect(self, path=None, name=None, read_greeting=True):
        """Open another connection (to this monitor, or to path)."""
        path = path or self.sock_path
        log_path = os.path.join(TEST_DIR, '%s.qmp.log' %
                                (name or os.path.basename(path)))
        c = QMPClient(path, log_path, self.timeout)
        c.connect(read_greeting=read_greeting)
        return c

    def wait(self, timeout=None):
        """Wait for the process to exit; return its exit status (negative:
        the signal that killed it)."""
        if self.proc is None:
            return None
        try:
            self.exitcode = self.proc.wait(timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise QMPTimeout('%s (pid %d) did not exit' %
                             (self.binary, self.proc.pid))
        self._forget()
        return self.exitcode

    def terminate(self, sig=signal.SIGTERM, timeout=None):
        """Send sig and return the exit status."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        """End the process now (SIGKILL by PID) if it still runs."""
        self._kill_proc()
        if self.proc is not None:
            self.exitcode = self.proc.returncode
        self._forget()

    def _forget(self):
        if self.qmp:
            self.qmp.close()
        if self in _live_daemons:
            _live_daemons.remove(self)


class Peer(_Background):
    """A program a test runs in the background (qemu-nbd, nbdkit, a fake
    server), killed by PID when the test ends, as daemons are.

    launch() starts argv and, with wait_path, waits until that socket
    exists (and fails if the program exits first).  Output goes to
    TEST_DIR/<name>.log.
    """

    def __init__(self, argv, wait_path=None, name='peer',
                 timeout=DEFAULT_TIMEOUT):
        self.argv = [str(a) for a in argv]
        self.wait_path = wait_path
        self.name = name
        self.timeout = timeout
        self.log_path = os.path.join(TEST_DIR, name + '.log')
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def launch(self):
        if self.wait_path and os.path.exists(self.wait_path):
            os.unlink(self.wait_path)
        with open(self.log_path, 'ab') as logf:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf)
        _live_daemons.append(self)
        deadline = time.monotonic() + self.timeout
        while self.wait_path and not os.path.exists(self.wait_path):
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with status %d; its log says:'
                                   '\n%s' % (self.argv[0],
                                             self.proc.returncode,
                                             self.log_text()))
            if time.monotonic() > deadline:
                raise RuntimeError('%s did not create %s' %
                                   (self.argv[0], self.wait_path))
            time.sleep(0.01)
        return self

    def kill(self):
        self._kill_proc()
        if self in _live_daemons:
            _live_daemons.remove(self)


class NBDWriter:
    """A guest-like NBD client: batches of writes, each batch one real
    qemu-io process connected to uri (so there are as many connections
    as batches).  A batch counts only if qemu-io acknowledged every write;
    history keeps them in order, and replay() gives a reference file the
    same writes, to compare the result with."""

    def __init__(self, uri, filt=filter_test_dirs):
        self.uri = uri
        self.filt = filt
        self.pending = []
        self.history = []
        self.ok = True

    def write(self, pattern, offset, length):
        line = 'write -P 0x%02x %d %d' % (pattern, offset, length)
        self.pending.append(line)
        self.history.append(line)

    def sync(self):
        args = [QEMU_IO, '-f', 'raw']
        for line in self.pending:
            args += ['-c', line]
        status, out = run(args + [self.uri])
        if status != 0 or out.count('wrote ') != len(self.pending):
            log('a batch failed: %s' % self.filt(out))
            self.ok = False
        self.pending = []

    def close(self):
        self.sync()
        return self.ok

    def replay(self, path):
        """Apply every write to the raw file path; True if all worked."""
        args = [QEMU_IO, '-f', 'raw']
        for line in self.history:
            args += ['-c', line]
        status, _ = run(args + [path])
        return status == 0


# ---------------------------------------------------------------------------
# What is the daemon under test?

_version_cache = {}


def program_version(binary):
    """The first line of 'binary --version' ('' if it cannot run)."""
    if binary not in _version_cache:
        try:
            out = subprocess.run([binary, '--version'], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=30).stdout
            _version_cache[binary] = out.decode('utf-8', 'replace') \
                .splitlines()[0] if out else ''
        except (OSError, subprocess.TimeoutExpired):
            _version_cache[binary] = ''
    return _version_cache[binary]


def daemon_is_qblockd():
    return program_version(QBLOCKD).startswith('qblockd')


def daemon_is_qemu():
    return program_version(QBLOCKD).startswith('qemu-storage-daemon')


def require_qblockd(what):
    """Skip unless the daemon under test is qblockd (for checks of what
    qblock specifies beyond QEMU)."""
    if not daemon_is_qblockd():
        skip('%s is qblock-specific; the daemon under test is %s' %
             (what, program_version(QBLOCKD) or QBLOCKD))


def _qemu_version_number(line):
    m = re.search(r' version (\S+)', line)
    return m.group(1) if m else None


def reference_daemon(commands, **kwargs):
    """A Daemon (not launched) that has every QMP command in commands.

    That is the daemon under test, unless it is QEMU's storage daemon and
    lacks one of them: qemu-storage-daemon 7.2 has no trace-event-* commands,
    which live in QEMU's system emulator.  Then, so that the golden output
    still comes from real QEMU, the same QEMU release's system emulator
    ($QEMU_SYSTEM, -machine none) stands in; without it the test is
    skipped.  qblockd is always tested itself.
    """
    d = Daemon(**kwargs)
    if not daemon_is_qemu():
        return d
    with Daemon(name='probe-commands') as probe:
        have = set(c['name'] for c in probe.cmd('query-commands')['return'])
    if set(commands) <= have:
        return d
    missing = ' '.join(sorted(set(commands) - have))
    if not QEMU_SYSTEM:
        skip('%s lacks %s and no QEMU system emulator is installed to show '
             'QEMU\'s replies' % (os.path.basename(QBLOCKD), missing))
    want = _qemu_version_number(program_version(QBLOCKD))
    got = _qemu_version_number(program_version(QEMU_SYSTEM))
    if want != got:
        skip('%s lacks %s, and %s is version %s, not %s' %
             (os.path.basename(QBLOCKD), missing, QEMU_SYSTEM, got, want))
    kwargs = dict(kwargs)
    kwargs['kind'] = 'system'
    return Daemon(**kwargs)


# ---------------------------------------------------------------------------
# Other programs

def run(argv, timeout=DEFAULT_TIMEOUT, input=None):
    """Run a program; return (exit status, stdout+stderr as text)."""
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def run_split(argv, timeout=DEFAULT_TIMEOUT):
    """Run a program; return (exit status, stdout, stderr) as text."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    return (p.returncode, p.stdout.decode('utf-8', 'replace'),
            p.stderr.decode('utf-8', 'replace'))


def require_program(path, what):
    if not path or not os.access(path, os.X_OK):
        skip('%s is not installed' % what)


def verify_image_format(supported=(), unsupported=()):
    if (supported and IMGFMT not in supported) or IMGFMT in unsupported:
        skip('image format %s is not supported by this test' % IMGFMT)


def verify_platform(supported=(), unsupported=()):
    plat = sys.platform
    if (supported and not any(plat.startswith(p) for p in supported)) or \
            any(plat.startswith(p) for p in unsupported):
        skip('platform %s is not supported by this test' % plat)


def qemu_img(*args, check=True):
    """Run QEMU's qemu-img (skip the test if it is missing); return its
    output."""
    require_program(QEMU_IMG, 'qemu-img')
    status, out = run([QEMU_IMG] + [str(a) for a in args])
    if check and status != 0:
        raise RuntimeError('qemu-img %s failed (%d): %s' %
                           (' '.join(map(str, args)), status, out))
    return out


def qemu_img_create(path, size, fmt=None, *options):
    """Create an image with QEMU's qemu-img (format defaults to IMGFMT)."""
    return qemu_img('create', '-f', fmt or IMGFMT, *options, path, size)


def qemu_io(*args, check=True):
    require_program(QEMU_IO, 'qemu-io')
    status, out = run([QEMU_IO] + [str(a) for a in args])
    if check and status != 0:
        raise RuntimeError('qemu-io %s failed (%d): %s' %
                           (' '.join(map(str, args)), status, out))
    return out


def scratch_path(name):
    return os.path.join(TEST_DIR, name)


# ---------------------------------------------------------------------------
# A small command-line client, for bash tests (see common.rc: _qmp).
#
#   python3 iotests.py qmp SOCKET [--no-negotiate]
#
# Reads requests from stdin, one JSON value per line (blank lines and lines
# starting with # are ignored), sends each and prints its reply with sorted
# keys; the greeting is printed first, events after the reply they came
# with.  Everything printed goes through filter_qmp, and the greeting through
# filter_greeting.

def _qmp_main(argv):
    if not argv:
        print('usage: iotests.py qmp SOCKET [--no-negotiate]',
              file=sys.stderr)
        return 2
    c = QMPClient(argv[0])
    log(c.connect(), filters=[filter_greeting])
    if '--no-negotiate' not in argv[1:]:
        c.negotiate()
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        c.send_raw(line)
        log(c.recv_reply(), filters=[filter_qmp])
        for ev in c.get_events():
            log(ev, filters=[filter_qmp])
    c.close()
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'qmp':
        sys.exit(_qmp_main(sys.argv[2:]))
    print('usage: iotests.py qmp SOCKET [--no-negotiate]', file=sys.stderr)
    sys.exit(2)
