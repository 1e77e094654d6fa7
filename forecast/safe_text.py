"""Text from data made safe for the places it goes: spreadsheets and one-line fields.

Base layer: imports only the standard library (every layer above may use it).

* ``csv_cell`` / ``csv_frame``: OWASP's CSV-injection guidance. A text cell that begins with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is a formula to a spreadsheet; it is written with a leading
  apostrophe (``'=HYPERLINK(...)``), which spreadsheets show as text. Numbers (also numbers written as text,
  ``-0.5``) are left alone; a carriage return inside text is written as a line feed (quoted). Every CSV the
  tool writes goes through ``csv_frame``.
* ``bad_character``: the first character a one-line text field must not hold (control characters,
  line and paragraph separators, bidirectional controls such as RIGHT-TO-LEFT OVERRIDE, zero-width and
  other invisible format characters), named for the error line.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Cc control, Cf format (bidi controls, zero-width, BOM, soft hyphen), Zl/Zp separators, Cs surrogates
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def _is_number(s: str) -> bool:
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


def csv_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will not execute it: text starting with a formula prefix gets a leading
    apostrophe; numbers and every other value pass unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _is_number(value):
        value = "'" + value
    # a bare CR is no line terminator to the CSV writer (it leaves the field unquoted), but ends the row for
    # readers: written as the line break it means, inside a quoted field
    return value.replace("\r\n", "\n").replace("\r", "\n")


def csv_frame(df):
    """A copy of the DataFrame ``df`` with every text cell passed through ``csv_cell`` (numeric columns untouched)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype).startswith(("string", "str")):
            out[col] = out[col].map(csv_cell)
    return out


def json_text(obj: Any) -> str:
    """``obj`` as indented UTF-8 JSON whose invisible and line-breaking characters (controls, bidi controls,
    zero-width, U+2028/U+2029) are ``\\uXXXX`` escapes: the same data when parsed, nothing hidden when read
    or pasted into a page's script."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    return "".join(json.dumps(c)[1:-1] if unicodedata.category(c) in _REFUSED_CATEGORIES and c != "\n"
                   else c for c in text) + "\n"


def bad_character(text: str) -> str | None:
    """A description of the first character one-line text must not hold (``'U+202E RIGHT-TO-LEFT OVERRIDE'``),
    or None when the text is clean."""
    for c in str(text):
        if unicodedata.category(c) in _REFUSED_CATEGORIES:
            return f"U+{ord(c):04X} {unicodedata.name(c, 'control character')}"
    return None
