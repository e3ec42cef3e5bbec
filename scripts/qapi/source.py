"""Source locations of schema definitions.

A QAPISourceInfo names a file and a line, the file that included it (so an
error can print the include chain, as a C compiler does) and the definition
being checked, so that messages read

    block.json: In struct 'Foo':
    block.json:12: member 'bar' uses unknown type 'Baz'
"""

import copy


class QAPISchemaPragma:
    """The 'pragma' settings; their scope is the whole schema."""

    def __init__(self):
        self.doc_required = False
        self.command_name_exceptions = []
        self.command_returns_exceptions = []
        self.member_name_exceptions = []


class QAPISourceInfo:
    """A position in a schema file, plus the definition it belongs to."""

    def __init__(self, fname, parent):
        self.fname = fname
        self.line = 1
        self.parent = parent
        self.pragma = parent.pragma if parent else QAPISchemaPragma()
        self.defn_meta = None
        self.defn_name = None

    def set_defn(self, meta, name):
        """Record that this position starts definition @name of kind @meta."""
        self.defn_meta = meta
        self.defn_name = name

    def next_line(self):
        """A copy of this position, one line further down."""
        info = copy.copy(self)
        info.line += 1
        return info

    def loc(self):
        return '%s:%d' % (self.fname, self.line)

    def in_defn(self):
        if self.defn_name:
            return "%s: In %s '%s':\n" % (self.fname, self.defn_meta,
                                          self.defn_name)
        return ''

    def include_path(self):
        ret = ''
        parent = self.parent
        while parent:
            ret = 'In file included from %s:\n' % parent.loc() + ret
            parent = parent.parent
        return ret

    def __str__(self):
        return self.include_path() + self.in_defn() + self.loc()
