"""C naming rules and small helpers shared by the back ends.

The rules are QEMU's, so that a C programmer who knows QEMU finds the same
names here: 'block-job-cancel' -> qmp_block_job_cancel, member 'buf-size' ->
buf_size, enum 'MirrorSyncMode' value 'top' -> MIRROR_SYNC_MODE_TOP.
"""

import re

# Words that would not compile as a C identifier, or that a libc header
# defines as a macro; c_name() prefixes them with 'q_' ('unix' -> q_unix).
_C_WORDS = frozenset('''
    auto break case char const continue default do double else enum extern
    float for goto if int long register return short signed sizeof static
    struct switch typedef union unsigned void volatile while
    inline restrict _Bool _Complex _Imaginary
    _Alignas _Alignof _Atomic _Generic _Noreturn _Static_assert _Thread_local
    asm typeof
    bool true false
    unix errno mips sparc i386 linux
'''.split())

POINTER_SUFFIX = ' *'


def c_name(name, protect=True):
    """Map a QAPI name to a C identifier: every character that is not a
    letter, digit or underscore becomes '_'; with @protect, a C keyword or a
    name starting with a digit gets the prefix 'q_'."""
    name = re.sub(r'[^A-Za-z0-9_]', '_', name)
    if protect and (name in _C_WORDS or name[0].isdigit()):
        return 'q_' + name
    return name


def camel_to_upper(value):
    """'BlockdevDriver' -> 'BLOCKDEV_DRIVER', 'QMPCapability' ->
    'QMP_CAPABILITY': an underscore goes before an upper-case letter that
    starts a lower-case run, or that follows a digit."""
    name = c_name(value, False)
    if value.isupper():
        return name
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and name[i - 1] != '_':
            if i + 1 < len(name) and name[i + 1].islower():
                out.append('_')
            elif name[i - 1].isdigit():
                out.append('_')
        out.append(ch)
    return ''.join(out).lstrip('_').upper()


def c_enum_const(type_name, const_name, prefix=None):
    """The C constant of enum value @const_name of @type_name."""
    if prefix is None:
        prefix = camel_to_upper(type_name)
    return prefix + '_' + c_name(const_name, False).upper()


class IfCond:
    """An 'if' condition: None (always), a macro name (true when the
    macro is defined), or {'all': [...]}, {'any': [...]}, {'not': cond}."""

    def __init__(self, cond=None):
        self.cond = cond

    def __bool__(self):
        return self.cond is not None

    @staticmethod
    def _cgen(cond, outer):
        if isinstance(cond, str):
            return 'defined(%s)' % cond
        if 'not' in cond:
            return '!' + IfCond._cgen(cond['not'], True)
        op, sep = ('all', ' && ') if 'all' in cond else ('any', ' || ')
        parts = [IfCond._cgen(c, True) for c in cond[op]]
        if len(parts) == 1:
            return parts[0]
        text = sep.join(parts)
        return '(' + text + ')' if outer else text

    def cgen(self):
        """The condition as a C preprocessor expression."""
        return self._cgen(self.cond, False)

    @staticmethod
    def _docgen(cond, outer):
        if isinstance(cond, str):
            return cond
        if 'not' in cond:
            return 'not ' + IfCond._docgen(cond['not'], True)
        op, sep = ('all', ' and ') if 'all' in cond else ('any', ' or ')
        parts = [IfCond._docgen(c, True) for c in cond[op]]
        if len(parts) == 1:
            return parts[0]
        text = sep.join(parts)
        return '(' + text + ')' if outer else text

    def docgen(self):
        """The condition for a human reader."""
        return self._docgen(self.cond, False) if self.cond else ''

    def gen_if(self):
        return '#if %s\n' % self.cgen() if self.cond else ''

    def gen_endif(self):
        return '#endif /* %s */\n' % self.cgen() if self.cond else ''


def wrap_if(ifcond, text):
    """@text between #if and #endif lines for @ifcond (unchanged if none)."""
    if not ifcond or not text:
        return text
    return ifcond.gen_if() + text + ifcond.gen_endif()


def c_string(text):
    """@text as a C string literal."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append('\\' + ch)
        elif ch == '\n':
            out.append('\\n')
        elif ord(ch) < 32 or ord(ch) > 126:
            for byte in ch.encode('utf-8'):
                out.append('\\%03o' % byte)
        else:
            out.append(ch)
    return '"' + ''.join(out) + '"'
