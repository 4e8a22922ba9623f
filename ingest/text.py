"""Join printed lines into running text while keeping track of pages."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ingest.pdf_reader import Line

# A hyphen at the end of a line, after a letter, is a break inside a word when
# the next line starts with a lower-case letter.
_TRAILING_HYPHEN = re.compile(r"(?<=[A-Za-z])[-\u2010\u00ad]$")


@dataclass
class PagedText:
    """Text joined from lines, with the page on which each character was printed."""

    text: str = ""
    # Start offset of each joined line and the page it came from, in text order.
    line_starts: list[int] = field(default_factory=list)
    line_pages: list[int] = field(default_factory=list)

    def page_at(self, offset: int) -> int:
        index = bisect_right(self.line_starts, offset) - 1
        return self.line_pages[max(index, 0)] if self.line_pages else 0


def join_lines(lines: list[Line], first_line_skip: int = 0) -> PagedText:
    """Join lines with spaces, repairing words hyphenated at a line end.

    `first_line_skip` characters are dropped from the first line, so a caller
    can cut off an item head. NOTE: a real hyphen at a line end before a
    lower-case word ("non-" + "negative") is also removed.
    """
    parts: list[str] = []
    result = PagedText()
    length = 0
    for index, line in enumerate(lines):
        piece = line.text[first_line_skip:] if index == 0 else line.text
        piece = piece.strip()
        if not piece:
            continue
        if parts:
            previous = parts[-1]
            if _TRAILING_HYPHEN.search(previous) and piece[0].islower():
                parts[-1] = previous[:-1]
                length -= 1
            else:
                parts.append(" ")
                length += 1
        result.line_starts.append(length)
        result.line_pages.append(line.page)
        parts.append(piece)
        length += len(piece)
    result.text = "".join(parts)
    return result
