"""Schema text -> expressions and documentation comments.

The syntax is JSON with three changes, as in QEMU: strings are in single
quotes, '#' starts a comment that runs to the end of the line, and the top
level is a sequence of objects with nothing between them.  A comment block
that starts with a line '##' and ends with a line '##' is documentation
(see QAPIDoc).

Two expressions are handled here rather than passed on:

    { 'include': 'file.json' }       parse that file in place (once)
    { 'pragma': { ... } }            set a schema-wide option

Everything else comes out as a QAPIExpression: the expression as Python
dicts, lists, strings and booleans (dicts keep their key order), where it
was defined, and its doc comment.
"""

import os
import re

from .error import QAPIParseError, QAPISemError
from .source import QAPISourceInfo


class QAPIExpression:
    """One top-level definition as parsed, before any checking."""

    def __init__(self, expr, info, doc=None):
        self.expr = expr
        self.info = info
        self.doc = doc


class QAPISchemaParser:
    """Parse @fname and, recursively, the files it includes.

    After construction, .exprs holds every definition in order (an
    included file's definitions in place of its include) and .docs every
    documentation block.  @previously_included is the set of absolute
    paths already parsed, shared by the whole run, so that a file included
    twice is read once.
    """

    def __init__(self, fname, previously_included=None, incl_info=None):
        self._fname = fname
        self._included = (previously_included
                          if previously_included is not None else set())
        self._included.add(os.path.abspath(fname))
        self.exprs = []
        self.docs = []
        self.src = ''
        self.info = QAPISourceInfo(fname, incl_info)
        self.line_pos = 0
        self.cursor = 0
        self.pos = 0
        self.tok = None
        self.val = None
        try:
            with open(fname, 'r', encoding='utf-8') as f:
                self.src = f.read()
        except OSError as e:
            raise QAPISemError(incl_info or None,
                               "can't read %s file '%s': %s"
                               % ('include' if incl_info else 'schema',
                                  fname, e.strerror)) from e
        if not self.src.endswith('\n'):
            self.src += '\n'
        self._parse()

    # Top level

    def _parse(self):
        cur_doc = None
        self.accept()
        while self.tok is not None:
            info = self.info
            if self.tok == '#':
                self._reject_expr_doc(cur_doc)
                cur_doc = self._get_doc(info)
                self.docs.append(cur_doc)
                continue
            if self.tok != '{':
                raise QAPIParseError(self, "expected '{'")
            expr = self._get_expr()
            if 'include' in expr:
                self._reject_expr_doc(cur_doc)
                self._include(expr, info)
            elif 'pragma' in expr:
                self._reject_expr_doc(cur_doc)
                self._pragma(expr, info)
            else:
                if cur_doc and not cur_doc.symbol:
                    raise QAPISemError(
                        cur_doc.info, "definition documentation required")
                self.exprs.append(QAPIExpression(expr, info, cur_doc))
            cur_doc = None
        self._reject_expr_doc(cur_doc)

    @staticmethod
    def _reject_expr_doc(doc):
        if doc and doc.symbol:
            raise QAPISemError(
                doc.info,
                "documentation for '%s' is not followed by the definition"
                % doc.symbol)

    def _include(self, expr, info):
        if len(expr) != 1:
            raise QAPISemError(info, "invalid 'include' directive")
        include = expr['include']
        if not isinstance(include, str):
            raise QAPISemError(info, "value of 'include' must be a string")
        incl_fname = os.path.join(os.path.dirname(self._fname), include)
        incl_abs = os.path.abspath(incl_fname)
        parent = info
        while parent:
            if incl_abs == os.path.abspath(parent.fname):
                raise QAPISemError(info, "inclusion loop for %s" % include)
            parent = parent.parent
        if incl_abs in self._included:
            return
        sub = QAPISchemaParser(incl_fname, self._included, info)
        self.exprs.extend(sub.exprs)
        self.docs.extend(sub.docs)

    def _pragma(self, expr, info):
        if len(expr) != 1:
            raise QAPISemError(info, "invalid 'pragma' directive")
        pragma = expr['pragma']
        if not isinstance(pragma, dict):
            raise QAPISemError(info, "value of 'pragma' must be an object")
        for name, value in pragma.items():
            if name == 'doc-required':
                if not isinstance(value, bool):
                    raise QAPISemError(
                        info, "pragma 'doc-required' must be boolean")
                info.pragma.doc_required = value
                continue
            attr = {
                'command-name-exceptions': 'command_name_exceptions',
                'command-returns-exceptions': 'command_returns_exceptions',
                'member-name-exceptions': 'member_name_exceptions',
            }.get(name)
            if attr is None:
                raise QAPISemError(info, "unknown pragma '%s'" % name)
            if (not isinstance(value, list)
                    or any(not isinstance(v, str) for v in value)):
                raise QAPISemError(
                    info, "pragma %s must be a list of strings" % name)
            setattr(info.pragma, attr, value)

    # Lexer

    def accept(self, skip_comment=True):
        """Read the next token into .tok (and its value into .val).

        Tokens are the punctuation characters themselves, "'" for a string,
        't' for a boolean, '#' for a comment that starts with '##' (any
        comment when @skip_comment is false: inside a doc block), and None
        at the end of the file.
        """
        while True:
            self.tok = self.src[self.cursor]
            self.pos = self.cursor
            self.cursor += 1
            self.val = None

            if self.tok == '#':
                is_doc = self.src[self.cursor] == '#'
                self.cursor = self.src.find('\n', self.cursor)
                if is_doc or not skip_comment:
                    self.val = self.src[self.pos:self.cursor]
                    return
            elif self.tok in '{}[],:':
                return
            elif self.tok == "'":
                self.val = self._get_string()
                return
            elif self.src.startswith('true', self.pos):
                self.val = True
                self.tok = 't'
                self.cursor += 3
                return
            elif self.src.startswith('false', self.pos):
                self.val = False
                self.tok = 't'
                self.cursor += 4
                return
            elif self.tok == '\n':
                if self.cursor == len(self.src):
                    self.tok = None
                    return
                self.info = self.info.next_line()
                self.line_pos = self.cursor
            elif not self.tok.isspace():
                match = re.match(r'[^\[\]{}:,\s\']+', self.src[self.pos:])
                raise QAPIParseError(self, "stray '%s'" % match.group(0))

    def _get_string(self):
        chars = []
        esc = False
        while True:
            ch = self.src[self.cursor]
            self.cursor += 1
            if ch == '\n':
                raise QAPIParseError(self, "missing terminating \"'\"")
            if esc:
                # Only \\ and \' are needed; nothing else is accepted.
                if ch not in "\\'":
                    raise QAPIParseError(self, "unknown escape \\%s" % ch)
                esc = False
            elif ch == '\\':
                esc = True
                continue
            elif ch == "'":
                return ''.join(chars)
            if ord(ch) < 32 or ord(ch) >= 127:
                raise QAPIParseError(self, "funny character in string")
            chars.append(ch)

    # Values

    def _get_members(self):
        expr = {}
        if self.tok == '}':
            self.accept()
            return expr
        if self.tok != "'":
            raise QAPIParseError(self, "expected string or '}'")
        while True:
            key = self.val
            self.accept()
            if self.tok != ':':
                raise QAPIParseError(self, "expected ':'")
            self.accept()
            if key in expr:
                raise QAPIParseError(self, "duplicate key '%s'" % key)
            expr[key] = self._get_expr()
            if self.tok == '}':
                self.accept()
                return expr
            if self.tok != ',':
                raise QAPIParseError(self, "expected ',' or '}'")
            self.accept()
            if self.tok != "'":
                raise QAPIParseError(self, "expected string")

    def _get_values(self):
        expr = []
        if self.tok == ']':
            self.accept()
            return expr
        if self.tok not in "{['t":
            raise QAPIParseError(
                self, "expected '{', '[', ']', string, or boolean")
        while True:
            expr.append(self._get_expr())
            if self.tok == ']':
                self.accept()
                return expr
            if self.tok != ',':
                raise QAPIParseError(self, "expected ',' or ']'")
            self.accept()

    def _get_expr(self):
        if self.tok == '{':
            self.accept()
            return self._get_members()
        if self.tok == '[':
            self.accept()
            return self._get_values()
        if self.tok is not None and self.tok in "'t":
            expr = self.val
            self.accept()
            return expr
        raise QAPIParseError(self, "expected '{', '[', string, or boolean")

    # Documentation

    def _get_doc(self, info):
        if self.val != '##':
            raise QAPIParseError(
                self, "junk after '##' at start of documentation comment")
        doc = QAPIDoc(info)
        self.accept(False)
        while self.tok == '#':
            if self.val.startswith('##'):
                if self.val != '##':
                    raise QAPIParseError(
                        self,
                        "junk after '##' at end of documentation comment")
                doc.end()
                self.accept()
                return doc
            line = self.val[1:]
            if line and not line.startswith(' '):
                raise QAPIParseError(
                    self, "missing space after #")
            doc.append(line[1:], self.info)
            self.accept(False)
        raise QAPIParseError(self, "documentation comment must end with '##'")


class QAPIDoc:
    """One documentation comment block.

    A block that documents a definition starts with the line '@NAME:' and
    may then hold, in this order: free text; one '@member: text' section per
    member (continued on indented lines); 'Features:' followed by
    '@feature: text' sections; and tagged sections 'Returns:', 'Errors:',
    'Since:', 'Note:', 'Notes:', 'Example:', 'Examples:', 'TODO:'.  A
    block without '@NAME:' is free text, typically a heading '= Title'.
    """

    TAGS = ('Returns', 'Errors', 'Since', 'Note', 'Notes', 'Example',
            'Examples', 'TODO')

    class Section:
        """Text under one heading: kind is 'body', 'member', 'feature' or a
        tag; name is the member or feature name, if any."""

        def __init__(self, kind, name=None, info=None):
            self.kind = kind
            self.name = name
            self.info = info
            self.lines = []
            self.member = None

        @property
        def text(self):
            return '\n'.join(self.lines).strip('\n')

    def __init__(self, info):
        self.info = info
        self.symbol = None
        self.sections = []
        self._cur = None
        self._in_features = False
        self._first = True

    def append(self, line, info):
        """Add one line (the text after '# ')."""
        if self._first:
            self._first = False
            match = re.match(r'@([^:\s]+):\s*$', line)
            if match:
                self.symbol = match.group(1)
                self._cur = None
                return
            if line.startswith('@'):
                raise QAPISemError(info, "line should end with ':'")
        if self.symbol is None:
            self._text(line)
            return
        match = re.match(r'@([^:\s]+):(\s(.*))?$', line)
        if match:
            kind = 'feature' if self._in_features else 'member'
            name = match.group(1)
            for sec in self.sections:
                if sec.kind == kind and sec.name == name:
                    raise QAPISemError(
                        info, "'@%s:' is documented twice" % name)
            self._start(kind, name, info)
            self._cur.lines.append(match.group(3) or '')
            return
        if line == 'Features:':
            self._in_features = True
            self._cur = None
            return
        match = re.match(r'(%s):(\s(.*))?$' % '|'.join(self.TAGS), line)
        if match:
            self._in_features = False
            self._start(match.group(1), None, info)
            self._cur.lines.append(match.group(3) or '')
            return
        self._text(line)

    def _start(self, kind, name, info):
        self._cur = QAPIDoc.Section(kind, name, info)
        self.sections.append(self._cur)

    def _text(self, line):
        cur = self._cur
        if cur is not None and cur.kind in ('member', 'feature'):
            # A member's text continues on indented lines; anything else
            # after a blank line is free text again.
            if line.startswith(' ') or (line and cur.lines[-1] != ''):
                cur.lines.append(line.strip())
                return
            if not line:
                cur.lines.append('')
                return
            cur = None
        if cur is None:
            if not line and not self.sections:
                return
            self._start('body', None, None)
            cur = self._cur
        cur.lines.append(line)

    def end(self):
        """The block is complete."""
        for sec in self.sections:
            while sec.lines and not sec.lines[-1].strip():
                sec.lines.pop()

    def body_sections(self):
        return [s for s in self.sections if s.kind == 'body']

    def member_sections(self, kind='member'):
        return [s for s in self.sections if s.kind == kind]

    def tagged_sections(self):
        return [s for s in self.sections
                if s.kind not in ('body', 'member', 'feature')]

    def heading(self):
        """(level, title) of a free-form block that is a heading, else
        None."""
        if self.symbol or not self.sections:
            return None
        first = self.sections[0].lines[0] if self.sections[0].lines else ''
        match = re.match(r'(=+)\s*(.*)$', first)
        if not match:
            return None
        return len(match.group(1)), match.group(2)

    def connect_member(self, name):
        """Mark the section for member @name as used; return it, or None."""
        for sec in self.sections:
            if sec.kind == 'member' and sec.name == name:
                sec.member = True
                return sec
        return None

    def connect_feature(self, name):
        for sec in self.sections:
            if sec.kind == 'feature' and sec.name == name:
                sec.member = True
                return sec
        return None

    def check(self):
        """Every documented member and feature must exist."""
        for sec in self.sections:
            if sec.kind in ('member', 'feature') and not sec.member:
                raise QAPISemError(
                    sec.info, "documented %s '%s' does not exist"
                    % (sec.kind, sec.name))

