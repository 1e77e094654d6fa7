"""Every citation lands on a file: each repository path that the configuration, the data, the package, the tests
and the README cite exists, each claim or precedent they cite by id is in docs/sources/, and the source notes agree
with what the model reads (docs/sources/claims.md with conf/priors/article.yaml, docs/sources/precedents.md with
data/precedents.csv).

A citation is a path rooted at a top-level folder of the repository (``conf/``, ``data/``, ``docs/``, ...) or at
one of the working folders the project's notes once lived in outside it (the research notes, the article's copy,
the shared folder: ``ROOTS``), or a root document (an upper-case Markdown name); it is read from every text
file and package module, and from the comments and docstrings of the tests.
Paths the tool writes at run time (the reports and cache folders) and placeholders (``<id>``, three dots) are not
citations. Each checker is shown to fail on a planted mistake.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import tokenize
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("conf", "data", "forecast", "tests")
ROOTS = ("conf", "data", "forecast", "tests", "bench", "docs", "tools", ".ci", "research", "seed", "notes", "shared")
BINARY = {".png", ".nc", ".pyc", ".gif", ".jpg"}
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")
_ROOTS = "|".join(map(re.escape, ROOTS))
CITED = re.compile(rf"(?<![\w./~$<>{{-])(?:\.\./)*((?:{_ROOTS})/[\w./-]*|[A-Z][A-Z0-9_-]*\.md)")
ID_CITED = re.compile(r"docs/sources/(claims|precedents)\.md((?:(?:,?\s*(?:and\s+)?|/)[CP]\d{2}(?:-[a-z]+)?\b)*)")
HEADING = re.compile(r"^### ([CP]\d{2}(?:-[a-z]+)?) · ", re.M)


def scanned_files() -> list[Path]:
    files = [p for d in SCANNED for p in (ROOT / d).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix not in BINARY]
    return sorted(files) + [ROOT / "README.md"]


@functools.cache
def texts(path: Path, root: Path = ROOT) -> tuple[tuple[int, str], ...]:
    """(line, text) pieces of a file that may cite: the whole of a text file or of a package module (a path-shaped
    token there is in a comment, a docstring or a message a user reads); a test's comments and docstrings only
    (its other strings are test data: hostile input, paths inside temporary project homes)."""
    source = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".py" or path.relative_to(root).parts[0] != "tests":
        return ((1, source),)
    pieces, prev = [], tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            pieces.append((tok.start[0], tok.string))
        elif tok.type == tokenize.STRING and prev in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            pieces.append((tok.start[0], tok.string))  # a string standing as a statement: a docstring
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            prev = tok.type
    return tuple(pieces)


def citations(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    out = []
    for line, text in texts(path, root):
        text = URL.sub(" ", text)
        for m in CITED.finditer(text):
            cited = m.group(1).rstrip(".")
            if "..." not in cited:
                out.append((line + text[:m.start()].count("\n"), cited))
    return out


def missing_paths(files: list[Path], root: Path = ROOT) -> list[str]:
    bad = []
    for f in files:
        for line, cited in citations(f, root):
            bare_doc = "/" not in cited  # a root document's name: at the root or beside the citing file
            if not ((root / cited).exists() or (bare_doc and (f.parent / cited).exists())):
                bad.append(f"{f.relative_to(root)}:{line}: {cited}")
    return bad


def missing_ids(files: list[Path], root: Path = ROOT) -> list[str]:
    """Claim and precedent ids cited after docs/sources/claims.md or precedents.md that have no entry there."""
    have = {kind: set(HEADING.findall((root / "docs" / "sources" / f"{kind}.md").read_text(encoding="utf-8")))
            for kind in ("claims", "precedents")}
    bad = []
    for f in files:
        for line, text in texts(f, root):
            for m in ID_CITED.finditer(text):
                for cid in re.findall(r"[CP]\d{2}(?:-[a-z]+)?", m.group(2)):
                    if cid not in have[m.group(1)]:
                        bad.append(f"{f.relative_to(root)}:{line + text[:m.start()].count(chr(10))}: "
                                   f"{m.group(1)}.md has no entry {cid}")
    return bad


def sections(doc: str) -> dict[str, str]:
    """Each ``### <id> · ...`` entry of a source note, up to the next heading."""
    parts = re.split(r"^(?=##)", doc, flags=re.M)
    return {m.group(1): p for p in parts if (m := HEADING.match(p))}


def claims_doc_problems(claims: dict, doc: str) -> list[str]:
    """What docs/sources/claims.md says that conf/priors/article.yaml does not (or leaves out)."""
    sec, bad = sections(doc), []
    for key, c in claims.items():
        s = sec.get(c["id"])
        if s is None or f"· {key}" not in s.splitlines()[0]:
            bad.append(f"{c['id']} ({key}): no entry '### {c['id']} · {key}'")
            continue
        need = [c["quote"], c["location"]]
        e = c.get("elicit")
        if e:
            need.append(f"{e['family']} with {e['mass'] * 100:.0f}% in [{e['lower']:.2f}, {e['upper']:.2f}]")
        con = c["constrains"]
        if con["kind"] == "cell":
            need += [f"`{con['response']}`", *(f"`{a}`" for a in con["actions"])]
        elif con["kind"] == "ordering":
            need += [f"P(`{r}` | `{a}`)" for a, r in con["cells"]]
        else:
            need.append(f"`{con.get('target') or con.get('covariate')}`")
        bad += [f"{c['id']} ({key}): the entry lacks {n!r}" for n in need if n not in s]
    return bad


def precedents_doc_problems(rows: list[dict], responses: list[str], doc: str) -> list[str]:
    """Where docs/sources/precedents.md codes an episode otherwise than data/precedents.csv (or lacks a source)."""
    sec, bad = sections(doc), []

    def listed(s: str, label: str) -> set[str]:
        m = re.search(rf"^- \*\*{re.escape(label)}:\*\* (.*)$", s, re.M)
        return set(re.findall(r"`([^`]+)`", m.group(1))) if m else {"<missing line>"}

    for r in rows:
        s = sec.get(r["id"])
        if s is None or r["date"] not in s.splitlines()[0]:
            bad.append(f"{r['id']}: no entry '### {r['id']} · {r['date']} · ...'")
            continue
        for label, code in (("happened (1)", "1"), ("did not happen (0)", "0")):
            want = {x for x in responses if (r.get(x) or "").strip() == code}
            if listed(s, label) != want:
                bad.append(f"{r['id']}: '{label}' lists {sorted(listed(s, label))}, the CSV codes {sorted(want)}")
        if f"`{r['action_type']}`" not in s:
            bad.append(f"{r['id']}: action type {r['action_type']} not in the entry")
        bad += [f"{r['id']}: source {u.strip()} not in the entry" for u in r["sources"].split("|")
                if u.strip() and u.strip() not in s]
    return bad


def _claims() -> dict:
    return yaml.safe_load((ROOT / "conf" / "priors" / "article.yaml").read_text(encoding="utf-8"))


def _record() -> tuple[list[dict], list[str]]:
    with open(ROOT / "data" / "precedents.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with open(ROOT / "data" / "ontology" / "responses.csv", newline="", encoding="utf-8") as fh:
        responses = [r["id"] for r in csv.DictReader(fh)]
    return rows, responses


def _doc(name: str) -> str:
    return (ROOT / "docs" / "sources" / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------- the repository as it is
def test_every_cited_path_exists():
    files = scanned_files()
    assert len(files) > 100 and sum(len(citations(f)) for f in files) > 100, "the scanner found almost nothing"
    bad = missing_paths(files)
    assert not bad, "cited but not in the repository (write the file, or cite where it is):\n" + "\n".join(bad)


def test_every_cited_claim_and_precedent_has_an_entry():
    bad = missing_ids(scanned_files())
    assert not bad, "\n".join(bad)


def test_the_claims_note_says_what_the_priors_encode():
    bad = claims_doc_problems(_claims(), _doc("claims.md"))
    assert not bad, "docs/sources/claims.md disagrees with conf/priors/article.yaml:\n" + "\n".join(bad)


def test_the_precedents_note_codes_what_the_record_codes():
    rows, responses = _record()
    bad = precedents_doc_problems(rows, responses, _doc("precedents.md"))
    assert not bad, "docs/sources/precedents.md disagrees with data/precedents.csv:\n" + "\n".join(bad)


# ---------------------------------------------------------------------- each checker fails on a planted mistake
def test_a_planted_missing_citation_is_caught(tmp_path):
    (tmp_path / "docs" / "sources").mkdir(parents=True)
    for kind in ("claims", "precedents"):
        (tmp_path / "docs" / "sources" / f"{kind}.md").write_text(_doc(f"{kind}.md"), encoding="utf-8")
    (tmp_path / "conf").mkdir()
    (tmp_path / "data").mkdir()
    yml = tmp_path / "conf" / "planted.yaml"
    yml.write_text("# the article: ../shared/seed/article.txt; its claims: research/claims.md C15\n"
                   "note: 'see docs/sources/claims.md C15 and C99, docs/sources/nowhere.md, DESIGN.md'\n"
                   "fine: 'docs/sources/claims.md C48, https://example.org/research/claims.md, data/<id>.yaml'\n",
                   encoding="utf-8")
    (tmp_path / "forecast").mkdir()
    py = tmp_path / "forecast" / "planted.py"
    py.write_text('"""Module."""\n# cites bench/reports/gone-report.md\n'
                  'MSG = "see docs/sources/precedents.md P15/P77"\n', encoding="utf-8")
    bad = missing_paths([yml, py], tmp_path)
    assert sorted(b.split(": ", 1)[1] for b in bad) == sorted([
        "shared/seed/article.txt", "research/claims.md", "docs/sources/nowhere.md", "DESIGN.md",
        "bench/reports/gone-report.md"]), bad
    assert bad[0].startswith("conf/planted.yaml:1: ")
    ids = missing_ids([yml, py], tmp_path)
    assert [b.rsplit(" ", 1)[1] for b in ids] == ["C99", "P77"], ids


def test_a_stale_claims_note_is_caught():
    claims = _claims()
    doc = _doc("claims.md")
    moved = {k: dict(v) for k, v in claims.items()}
    e = moved["intolerable_humiliation"]["elicit"] = dict(claims["intolerable_humiliation"]["elicit"])
    e["upper"] = 0.75  # a claim's range changed in the config, not in the note
    moved["steadfast_rejection"] = {**claims["steadfast_rejection"], "quote": claims["steadfast_rejection"]["quote"]
                                    + " (edited)"}
    bad = claims_doc_problems(moved, doc)
    assert len(bad) == 2 and bad[0].startswith("C05 (steadfast_rejection)") and "[0.20, 0.75]" in bad[1], bad
    assert claims_doc_problems(claims, doc.replace("### C54 · ", "### C55 · ")) == [
        "C54 (embedded_agents_avoid_crisis): no entry '### C54 · embedded_agents_avoid_crisis'"]


def test_a_stale_precedents_note_is_caught():
    rows, responses = _record()
    doc = _doc("precedents.md")
    flipped = [dict(r) for r in rows]
    p15 = next(r for r in flipped if r["id"] == "P15")
    p15["expel_agents"] = "1"  # the record recoded, the note not
    p15["sources"] += " | https://example.org/new-source"
    bad = precedents_doc_problems(flipped, responses, doc)
    assert len(bad) == 3 and all(b.startswith("P15: ") for b in bad), bad
    assert "new-source" in bad[2]
