"""Safe readers and field parsers shared by every loader.

Each parser takes a ``where`` string (file, row, column) so that an error names its place, the
problem and the fix in one line. Nothing here writes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import Any

import yaml

from forecast.errors import InputError, suggest
from forecast.paths import project_root

MAX_BYTES = 5 * 1024 * 1024
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
TRUE = {"true", "yes", "1"}
FALSE = {"false", "no", "0"}


def display(path: Path) -> str:
    """A path as the user should see it: relative to the project when inside it."""
    path = Path(path)
    # the folders resolved, not the file itself: a link (an editor's lock file is one) is named, not its target
    full = path.parent.resolve() / path.name if path.name not in ("", ".", "..") else path.resolve()
    try:
        return str(full.relative_to(project_root()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    path = Path(path)
    where = display(path)
    if not path.is_file():
        raise InputError(where, "file not found", "create it or point the config at the right file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InputError(where, f"file is {size} bytes, over the {MAX_BYTES}-byte limit",
                         "split it or remove what does not belong")
    return decode_text(path.read_bytes(), where)


def decode_text(raw: bytes, where: str) -> str:
    """A file's bytes as text, or the one-line reason they are not (the checks every reader applies; a writer
    runs them on what it is about to write)."""
    if len(raw) > MAX_BYTES:
        raise InputError(where, f"file is {len(raw)} bytes, over the {MAX_BYTES}-byte limit",
                         "split it or remove what does not belong")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(where, f"not UTF-8 text (byte {e.start})", "save the file as UTF-8") from None
    if "\x00" in text:
        raise InputError(where, "contains NUL bytes", "save it as plain UTF-8 text")
    if not text.strip():
        raise InputError(where, "file is empty", "restore its content (see git history)")
    return text


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that keeps ISO dates as strings (parsed and checked by ``parse_date``) and refuses
    aliases (a few hundred bytes of nested aliases expand to gigabytes: "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


_SafeLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(yaml.CSafeLoader):
        """``_SafeLoader``'s YAML read by libyaml (about eight times faster: the evidence log is read at every run),
        for text that cannot hold an alias: ``parse_yaml`` gives any other text, and any text libyaml refuses, to
        ``_SafeLoader``, whose checks and messages stay the only ones."""

    _FastLoader.yaml_implicit_resolvers = _SafeLoader.yaml_implicit_resolvers
else:  # pragma: no cover - PyYAML built without libyaml
    _FastLoader = None

# where an alias (``*name``) could start a node: at the start of the text or of a line, after a space, a flow
# indicator or a key or value indicator (PyYAML reads ``{a:*x}`` as an alias). Text without one holds no alias; a
# ``*`` inside a plain or quoted string may match too: then the checked loader reads it, as before
_MAYBE_ALIAS = re.compile(r"(?:^|[\s\[\]{},:?-])\*")


def read_yaml(path: Path, *, mapping: bool = True) -> Any:
    return parse_yaml(read_text(path), display(path), mapping=mapping)


def parse_yaml(text: str, where: str, *, mapping: bool = True) -> Any:
    """YAML text parsed as ``read_yaml`` parses a file (``where`` names it in errors)."""
    data = _fast(text)
    try:
        if data is _REFUSED:
            data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise InputError(where, "nested too deeply", "flatten the structure") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else "somewhere"
        problem = getattr(e, "problem", None) or "cannot be parsed"
        raise InputError(f"{where}, {line}", f"malformed YAML ({problem})",
                         "fix the indentation or quoting there") from None
    if mapping and not isinstance(data, dict):
        raise InputError(where, f"expected a mapping of keys to values, got {type(data).__name__}",
                         "write it as `key: value` lines")
    return data


_REFUSED = object()


def _fast(text: str) -> Any:
    """``text`` parsed by libyaml when it cannot hold an alias, else (or when libyaml refuses it) ``_REFUSED``."""
    if _FastLoader is None or _MAYBE_ALIAS.search(text):
        return _REFUSED
    try:
        return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a CSafeLoader subclass
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):  # said by the slow loader, with its message
        return _REFUSED


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and rows as ``(line_number, {column: text})``; a row of the wrong width is refused."""
    text = read_text(path)
    where = display(path)
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        rows = list(reader)
    except csv.Error as e:
        raise InputError(f"{where}, row {reader.line_num}", f"broken CSV ({e})",
                         "check the quotes on that row") from None
    header = [h.strip() for h in rows[0]]
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise InputError(f"{where}, header", f"duplicate column(s) {sorted(dupes)}", "rename or remove one")
    out = []
    line = 1
    for fields in rows[1:]:
        line += 1
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise InputError(f"{where}, row {line}",
                             f"has {len(fields)} fields but the header has {len(header)}",
                             "quote any field that contains a comma")
        out.append((line, {h: f.strip() for h, f in zip(header, fields, strict=True)}))
    if not out:
        raise InputError(where, "has a header but no rows", "add rows or restore the file")
    return header, out


def check_keys(raw: dict, allowed: set[str], where_of, error: type[InputError] = InputError) -> None:
    """Refuse the first unknown key (sorted) of a mapping: one line naming where it is (``where_of(key)``)
    and every key allowed. The one "unknown key" check every loader and the config use."""
    unknown = set(raw) - set(allowed)
    if unknown:
        raise error(where_of(sorted(unknown, key=str)[0]), "unknown key", f"use only: {', '.join(sorted(allowed))}")


def check_new_id(seen: dict[str, Any], ident: str, where: str, what: str) -> None:
    """Refuse an id already in ``seen`` (id -> row number), naming the other row; then record it."""
    if ident in seen:
        raise InputError(f"{where}, column 'id'", f"duplicate id {ident!r} (also row {seen[ident]})",
                         f"give each {what} its own id")


def require_columns(header: list[str], required: list[str], where: str) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(where, f"missing column(s) {missing}", "add them to the header")


def parse_id(value: Any, where: str) -> str:
    s = str(value).strip() if value is not None else ""
    if not _ID.match(s):
        raise InputError(where, f"{s!r} is not a valid id",
                         "use 1-80 letters, digits, '_', '-' or '.', starting with a letter or digit")
    return s


def parse_float(value: Any, where: str, lo: float | None = None, hi: float | None = None,
                what: str = "a number") -> float:
    if isinstance(value, bool):
        raise InputError(where, f"{value!r} is not {what}", f"write {what}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(where, f"{value!r} is not {what}", f"write {what}") from None
    if not math.isfinite(x):
        raise InputError(where, f"{value!r} is not finite", f"write {what}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise InputError(where, f"{x:g} is outside [{lo:g}, {hi:g}]", f"use {what} from {lo:g} to {hi:g}")
    return x


def parse_prob(value: Any, where: str) -> float:
    """A probability from 0 to 1; a percentage ("72%") is refused with the number to write instead (0.72)."""
    text = str(value).strip() if isinstance(value, str) else ""
    if text.endswith("%"):
        try:
            pct = float(text[:-1])
        except ValueError:
            pct = None
        if pct is not None and math.isfinite(pct) and 0 <= pct <= 100:
            raise InputError(where, f"{text!r} is a percentage", f"write it as a probability: {pct / 100:g}")
    try:
        return parse_float(value, where, 0.0, 1.0, "a probability")
    except InputError as e:
        raise InputError(e.where, e.problem, "write a probability from 0 to 1 (0.72 for 72%)") from None


def parse_int(value: Any, where: str, lo: int | None = None, hi: int | None = None) -> int:
    x = parse_float(value, where, lo, hi, "a whole number")
    if x != int(x):
        raise InputError(where, f"{value!r} is not a whole number", "write a whole number")
    return int(x)


def parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in TRUE:
        return True
    if s in FALSE:
        return False
    raise InputError(where, f"{value!r} is not true/false", "write true or false")


def parse_choice(value: Any, where: str, choices: list[str] | set[str], what: str = "value") -> str:
    s = str(value).strip() if value is not None else ""
    if s not in choices:
        raise InputError(where, f"unknown {what} {s!r}", suggest(s, sorted(choices)))
    return s


def parse_date(value: Any, where: str, *, not_after: dt.date | None = None) -> dt.date:
    if isinstance(value, dt.datetime):
        d = value.date()
    elif isinstance(value, dt.date):
        d = value
    else:
        s = str(value).strip() if value is not None else ""
        try:
            d = dt.date.fromisoformat(s) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s) else None
        except ValueError:
            d = None
        if d is None:
            raise InputError(where, f"{s!r} is not a date", "write it as YYYY-MM-DD")
    if not_after is not None and d > not_after:
        raise InputError(where, f"{d.isoformat()} is in the future (after {not_after.isoformat()})",
                         "use the date the event happened or became known")
    return d


def parse_binary_or_missing(value: str, where: str) -> float:
    s = str(value).strip()
    if s in ("", "·", "NA", "na"):
        return math.nan
    if s in ("0", "1"):
        return float(s)
    raise InputError(where, f"{s!r} is not 0, 1 or blank", "code 1 = happened, 0 = did not, blank = unknown")
