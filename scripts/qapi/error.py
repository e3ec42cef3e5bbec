"""Exceptions that report a schema error to the user.

Every error names a position (see source.py); the generator prints
str(error) and exits with status 1.
"""


class QAPIError(Exception):
    """A schema error at @info (None for errors about the whole run)."""

    def __init__(self, info, msg, col=None):
        super().__init__(msg)
        self.info = info
        self.msg = msg
        self.col = col

    def __str__(self):
        if self.info is None:
            return self.msg
        loc = str(self.info)
        if self.col is not None:
            loc += ':%d' % self.col
        return loc + ': ' + self.msg


class QAPIParseError(QAPIError):
    """A syntax error; carries the column of the offending character."""

    def __init__(self, parser, msg):
        col = 1
        for ch in parser.src[parser.line_pos:parser.pos]:
            if ch == '\t':
                col = ((col - 1) // 8 + 1) * 8 + 1
            else:
                col += 1
        super().__init__(parser.info, msg, col)


class QAPISemError(QAPIError):
    """A semantic error: the text parses, but does not make sense."""
