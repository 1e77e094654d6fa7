"""The corpus of bad and hostile inputs: its shared constants, checks and data-file mutators.

Every case must end in a clear ONE-LINE ``InputError``/``ConfigError`` (its ``str()`` names the file, the row or key,
and the fix) or be safely neutralised: never a raw traceback, never a write outside the target folder, never script
in a report. Nothing in the corpus fits a model: ``forecast.model.fit.fit`` is replaced by a guard that raises
``WouldFit`` (tests/hostile/conftest.py).

The corpus found 19 bugs when it was written (billion-laughs aliases, traversing config-group choices, unvalidated
scenario names, interpolated free text, ...); all are fixed and their cases pass. One module per section:
``test_data_files`` · ``test_bytes`` · ``test_yaml_structure`` · ``test_duplicate_ids`` · ``test_conf_files`` ·
``test_hydra_target`` · ``test_path_traversal`` · ``test_report_text`` · ``test_command_line`` · ``test_properties``
· ``test_settings_flags_evidence`` (typed settings, Hydra's own flags, early dates, the evidence log both ways).
"""

from __future__ import annotations

import copy
import csv
import html
import io
import os
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from forecast.cli.main import main
from forecast.errors import InputError
from forecast.inputs.data import load_ontology, load_polls, load_precedents
from forecast.inputs.evidence import load_evidence

from ..conftest import ROOT, TODAY

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "forecast_example.json"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
PAYLOADS = ["<script>alert(1)</script>", "{{7*7}}", "${7*7}", "javascript:alert(1)", '"><img src=x onerror=alert(1)>']
HOSTILE = " ".join(PAYLOADS)
MARKER = "pwned-by-hostile-test"  # the file name every traversal attempt aims at


class WouldFit(BaseException):  # noqa: N818 - not an error the code may catch: it escapes every `except Exception`
    """Raised by the fit guard: a case got past validation and would have started sampling."""


def one_line(err: BaseException, *names: str) -> str:
    """The error is an InputError whose message is one printable line, names each of ``names`` and gives a fix."""
    msg = str(err)
    assert isinstance(err, InputError), f"{type(err).__name__} instead of InputError: {msg}"
    assert msg and msg.isprintable(), f"not one printable line: {msg!r}"
    assert err.fix, f"no fix in {msg!r}"
    for n in names:
        assert n in msg, f"{n!r} not named in {msg!r}"
    return msg


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder under ``root``."""
    out: dict[str, bytes | None] = {}
    for p in sorted(Path(root).rglob("*")):
        out[str(p.relative_to(root))] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


def listings(*dirs: Path) -> dict[str, list[str]]:
    return {str(d): sorted(os.listdir(d)) if d.is_dir() else [] for d in dirs}


def ancestors(path: Path, stop: Path) -> list[Path]:
    """``path`` and its parents up to and including ``stop``: where a ``../`` chain starting at ``path`` lands."""
    path, stop = path.resolve(), stop.resolve()
    out = [path]
    while out[-1] != stop and out[-1].parent != out[-1]:
        out.append(out[-1].parent)
    return out


def no_marker_anywhere(*roots: Path) -> None:
    """No file named after MARKER under ``roots`` (recursively) nor directly in the checkout or next to it."""
    for r in roots:
        hits = [p for p in Path(r).rglob(f"*{MARKER}*")] if Path(r).is_dir() else []
        assert not hits, f"a traversal wrote {hits}"
    for d in (ROOT, ROOT.parent, ROOT / "reports", ROOT / "data", Path(tempfile.gettempdir())):
        assert not [n for n in (os.listdir(d) if d.is_dir() else []) if MARKER in n], f"a traversal wrote into {d}"


class _ActiveContent(HTMLParser):
    """Collects everything in an HTML page that could run code or load something."""

    FORBIDDEN = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "base", "form",
                 "link", "template", "noscript"}
    URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "srcset", "data"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.FORBIDDEN:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            v = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            elif name in self.URL_ATTRS and re.match(r"(javascript|vbscript|data:text|data:application)", v):
                self.found.append(f"<{tag} {name}={value!r}>")
            elif name == "src" and tag == "img" and not v.startswith("data:image/png;base64,"):
                self.found.append(f"<img src={value!r}>")
            elif name == "style" and ("url(" in v or "expression(" in v):
                self.found.append(f"<{tag} style={value!r}>")
            elif name == "http-equiv" and v == "refresh":
                self.found.append("<meta refresh>")

    handle_startendtag = handle_starttag


def active_content(page: str) -> list[str]:
    p = _ActiveContent()
    p.feed(page)
    p.close()
    return p.found


def hrefs(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href\s*=\s*"([^"]*)"', page, flags=re.IGNORECASE)]


def assert_inert_html(page: str) -> None:
    assert active_content(page) == []
    assert "<script" not in page.lower()
    for tag in re.findall(r"<[A-Za-z][^>]*>", page):  # no handler inside a real tag (quoted values are inert text)
        assert not re.search(r"\son\w+\s*=", re.sub(r"\"[^\"]*\"|'[^']*'", "", tag), flags=re.IGNORECASE), tag
    assert not any(h.strip().lower().startswith("javascript:") for h in hrefs(page))


# ---------------------------------------------------------------------- data-file mutators
def write_csv_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def read_csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def cell(file: str, row_id: str, column: str, value: str):
    """Set one cell of a data CSV (by row id and column name), quoting as a spreadsheet would."""
    def mutate(d: Path) -> None:
        rows = read_csv_rows(d / file)
        j = rows[0].index(column)
        row = next(r for r in rows[1:] if r and r[0] == row_id)
        row[j] = value
        write_csv_rows(d / file, rows)
    return mutate


def add_row(file: str, **values: str):
    """Append a row (named cells; the rest blank), written as a well-formed CSV line."""
    def mutate(d: Path) -> None:
        rows = read_csv_rows(d / file)
        rows.append([values.get(h, "") for h in rows[0]])
        write_csv_rows(d / file, rows)
    return mutate


def append_text(file: str, text: str):
    def mutate(d: Path) -> None:
        with open(d / file, "a", encoding="utf-8") as fh:
            fh.write(text)
    return mutate


def put_text(file: str, text: str):
    return lambda d: (d / file).write_text(text, encoding="utf-8")


def put_bytes(file: str, data: bytes):
    return lambda d: (d / file).write_bytes(data)


def sub(file: str, old: str, new: str):
    def mutate(d: Path) -> None:
        text = (d / file).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {file}"
        (d / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return mutate


def yaml_edit(file: str, edit):
    """Load a YAML data file, let ``edit(mapping)`` change it, write it back."""
    def mutate(d: Path) -> None:
        doc = yaml.safe_load((d / file).read_text(encoding="utf-8"))
        edit(doc)
        (d / file).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return mutate


DELETE = object()


def merged(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in changes.items():
        if v is DELETE:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merged(out[k], v)
        else:
            out[k] = v
    return out


EV_POLL = {"id": "E-2026-10-h-poll", "date_known": "2026-10-20", "source": "https://example.org/poll",
           "summary": "A test poll", "kind": "poll",
           "poll": {"pollster": "P", "date": "2026-10-15", "n": 1000, "share_opposed": 0.7, "wording": "w"}}
EV_EPISODE = {"id": "E-2026-10-h-raid", "date_known": "2026-10-20", "source": "test corpus", "kind": "episode",
              "summary": "A test raid", "episode": {"action_type": "one_time_raid", "date": "2026-10-10",
                                                    "responses": {"diplomatic_protest": 1}}}
EV_SIGNAL = {"id": "E-2026-10-h-signal", "date_known": "2026-10-20", "source": "test corpus", "kind": "signal",
             "summary": "A test signal", "signal": {"actions": ["one_time_raid"], "response": "expel_agents",
                                                    "lower": 0.1, "upper": 0.3, "mass": 0.8}}


def entry(base: dict | str, name: str | None = None, **changes: Any):
    """Write an evidence file: ``base`` merged with ``changes`` (or raw YAML text), named ``<id>.yaml``."""
    def mutate(d: Path) -> None:
        if isinstance(base, str):
            (d / "evidence" / (name or "E-raw.yaml")).write_text(base, encoding="utf-8")
            return
        doc = merged(base, changes)
        fname = name or f"{doc.get('id', 'E-noid')}.yaml"
        (d / "evidence" / fname).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return mutate


def load_all(d: Path) -> None:
    o = load_ontology(d)
    load_precedents(d / "precedents.csv", o, TODAY)
    load_polls(d / "polls.csv", TODAY)
    load_evidence(d / "evidence", o, TODAY)


ATTR, COMP = "ontology/attributes.yaml", "ontology/composites.yaml"
ACTIONS, RESPONSES = "ontology/actions.csv", "ontology/responses.csv"
PREC, POLLS = "precedents.csv", "polls.csv"


# ---------------------------------------------------------------------- the command line
def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def assert_cli_error(code: int, err: str, pattern: str, log_lines: bool = False) -> str:
    """Exit 2; stderr ends with exactly one `forecast: error:` line; the rest is progress; no traceback."""
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    errors = [ln for ln in lines if ln.startswith("forecast: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    for ln in lines:
        assert ln.startswith("forecast: ") or (log_lines and LOG_LINE.match(ln)), f"stray stderr line {ln!r}"
    assert re.search(pattern, errors[0]), errors[0]
    return errors[0]


POLL_FLAGS = ["--id", "E-cli", "--date-known", "2026-11-01", "--source", "s", "--summary", "x", "--pollster", "p",
              "--date", "2026-10-30", "--n", "900", "--share-opposed", "0.8"]


def poll_flags(**changes: str) -> list[str]:
    out = list(POLL_FLAGS)
    for k, v in changes.items():
        out[out.index("--" + k.replace("_", "-")) + 1] = v
    return out


# ---------------------------------------------------------------------- conf files
def put_scenario(home: Path, text: str, name: str = "bad") -> str:
    (home / "conf" / "scenario" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return name


SC_OK = {"name": "bad", "title": "t", "action": "one_time_raid", "profile": {}, "description": "d"}


def scenario_text(**changes: Any) -> str:
    return yaml.safe_dump(merged(SC_OK, changes), sort_keys=False)


def edit_priors(home: Path, edit) -> None:
    path = home / "conf" / "priors" / "article.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
