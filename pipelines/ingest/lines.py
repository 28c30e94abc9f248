"""Physical lines of a CSV text for the csv module, with a limit on a row's length and a resync past it.

The csv module reads whatever its source hands it: a quote left open makes one field of the rest of
the file, and after its error it starts again in the middle of that field, reading each of its lines
as a row. :class:`Lines` hands it one physical line at a time (never more than ROW_LIMIT + 1
characters at once, however long the line), stops a row as soon as it passes ROW_LIMIT characters,
and :meth:`Lines.skip_record` reads on to the end of that row's quoted field without keeping it.
Personal data: lines pass through; nothing is kept beyond the row being read.
"""

from __future__ import annotations

import io
import re

# Characters in one row as written (quotes, commas and line breaks included), and so in any field: a real
# row is a few hundred; a quote left open stops here, not at the end of the file.
ROW_LIMIT = 131_072


class TooLong(Exception):
    """The row being read is longer than ROW_LIMIT characters."""


# States of a CSV record being skipped: at a field's start, in an unquoted field (or after a closing
# quote), inside quotes, and just after a quote inside quotes (a closing quote or the first of a pair).
_START, _OTHER, _QUOTED, _QUOTE = range(4)
_SPECIAL = re.compile('[",\r\n]')


def _scan(piece: str, state: int) -> tuple[bool, int]:
    """(the record ends in this piece, state after it): CSV quoting as the csv module reads it.

    A piece is one physical line (or part of one), so a line break that ends the record ends the piece.
    """
    i, n = 0, len(piece)
    while i < n:
        if state == _QUOTED:
            j = piece.find('"', i)
            if j < 0:
                return False, _QUOTED
            i, state = j + 1, _QUOTE
        elif state in (_START, _QUOTE) and piece[i] == '"':
            i, state = i + 1, _QUOTED  # a field's opening quote, or the second of a doubled pair
        else:
            m = _SPECIAL.search(piece, i)
            if m is None:
                return False, _OTHER
            c, i = m.group(), m.end()
            if c == ",":
                state = _START
            elif c in "\r\n":
                return True, _START
            else:
                state = _OTHER  # a quote inside an unquoted field is text
    return False, state


class Lines:
    """The text's physical lines for the csv module, each read at most ROW_LIMIT + 1 characters at a time.

    Counts the lines handed out and skipped, and raises TooLong as soon as the record being read
    passes ``limit`` characters; :meth:`skip_record` then reads on to the record's end without keeping it.
    """

    def __init__(self, text: io.TextIOWrapper, limit: int = ROW_LIMIT) -> None:
        self.text, self.limit = text, limit
        self.lines = 0  # physical lines read so far
        self.used = 0  # characters of the current record
        self.held: list[str] = []  # pieces of the current record (at most about 2 x limit characters)
        self.partial = False  # the last piece read did not end a physical line

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        piece = self._read()
        if not piece:
            raise StopIteration
        self.used += len(piece)
        self.held.append(piece)
        if self.used > self.limit:
            raise TooLong
        return piece

    def _read(self) -> str:
        piece = self.text.readline(self.limit + 1)
        if piece:
            self.lines += 0 if self.partial else 1
            self.partial = not piece.endswith(("\n", "\r"))
        return piece

    def start_record(self) -> None:
        """The next piece begins a record."""
        self.used, self.held = 0, []

    def skip_record(self) -> None:
        """Read on to the end of the record begun at :meth:`start_record` (or to the end of the file)."""
        state, ended = _START, False
        for piece in self.held:
            ended, state = _scan(piece, state)
        self.held = []
        while not ended:
            piece = self._read()
            if not piece:
                return
            ended, state = _scan(piece, state)
