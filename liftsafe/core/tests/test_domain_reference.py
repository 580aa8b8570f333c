"""Every citation of the domain reference points at a section that exists.

The project's domain reference is ``docs/domain/`` (one file per top-level section, headings
``# §3 …`` / ``## §3.4 …``). Code comments, docstrings and rule sources cite it as
``docs/domain §3.4`` (lists ``§3.5, §4.1``, ranges ``§1.3-§1.6``). Older citations say ``FACTS §3.4``
(a file outside the repository, with the same numbering); they are mapped to the same sections here
and reported by ``test_no_citation_of_the_external_facts_file_remains``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "docs" / "domain"

#: a citation: the prefix, then one or more section numbers joined by "," "/" "-" "–" or "and"
CITATION = re.compile(
    r"(?P<prefix>docs/domain|FACTS)\s+(?P<refs>§\d+(?:\.\d+)*(?:\s*(?:,|/|-|–|and)\s*§\d+(?:\.\d+)*)*)"
)
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+§(\d+(?:\.\d+)*)\s", re.MULTILINE)
SCANNED_SUFFIXES = {".py", ".json", ".html", ".txt", ".toml", ".md", ".po", ".j2", ".js"}


def _sources() -> list[Path]:
    """The repository's own text files that can cite the reference: code, templates, mappings,
    translation catalogues (citations appear in user-facing rule sources), docs/*.md, bench/*.md, README."""
    files = [p for p in (ROOT / "liftsafe").rglob("*") if p.is_file() and p.suffix in SCANNED_SUFFIXES]
    files += sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "bench").glob("*.md"))
    files.append(ROOT / "README.md")
    this = Path(__file__).resolve()
    return [p for p in files if p.is_file() and p.resolve() != this]


def _citations(prefix: str) -> list[tuple[str, int, str]]:
    """(file relative to the repo, line number, cited section) for every citation with ``prefix``."""
    found = []
    for path in _sources():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for match in CITATION.finditer(text):
            if match.group("prefix") != prefix:
                continue
            line = text.count("\n", 0, match.start()) + 1
            for number in SECTION.findall(match.group("refs")):
                found.append((str(path.relative_to(ROOT)), line, number))
    return found


def _sections() -> set[str]:
    sections = set()
    for path in DOMAIN.glob("*.md"):
        sections.update(HEADING.findall(path.read_text(encoding="utf-8")))
    return sections


def test_every_top_level_section_has_its_own_file_and_the_readme_indexes_it():
    sections = _sections()
    top = sorted({s for s in sections if "." not in s}, key=int)
    assert top == [str(n) for n in range(0, 16)]
    readme = (DOMAIN / "README.md").read_text(encoding="utf-8")
    assert "docs/domain §3.4" in readme  # how to cite
    for n in top:
        files = [p.name for p in DOMAIN.glob(f"{int(n):02d}-*.md")]
        assert len(files) == 1, f"§{n} must be one file named {int(n):02d}-<subject>.md, found {files}"
        assert f"({files[0]})" in readme, f"README.md does not index {files[0]}"
        assert f"# §{n} " in (DOMAIN / files[0]).read_text(encoding="utf-8")
    assert (DOMAIN / "glossary.md").is_file()


def test_every_subsection_of_the_original_numbering_exists():
    """The numbering that the code's citations were written against (§0 … §15.9) is kept exactly."""
    expected = {str(n) for n in range(16)}
    expected |= {f"1.{i}" for i in range(1, 7)} | {f"3.{i}" for i in range(1, 7)}
    expected |= {"4.1", "4.2", "4.3", "5.1"} | {f"15.{i}" for i in range(1, 10)}
    missing = expected - _sections()
    assert not missing, f"sections missing from docs/domain: {sorted(missing, key=lambda s: [int(x) for x in s.split('.')])}"


@pytest.mark.parametrize("prefix", ["docs/domain", "FACTS"])
def test_every_cited_section_exists_in_docs_domain(prefix):
    citations = _citations(prefix)
    sections = _sections()
    dangling = [f"{f}:{line}: {prefix} §{n}" for f, line, n in citations if n not in sections]
    assert not dangling, "citations of sections that docs/domain does not have:\n" + "\n".join(dangling)


def test_the_citation_pattern_reads_lists_and_ranges():
    refs = [SECTION.findall(m.group("refs")) for m in CITATION.finditer(
        "x (docs/domain §3.5, §4.1) y FACTS §1.3-§1.6. z docs/domain §3.4/§13: w §9")]
    assert refs == [["3.5", "4.1"], ["1.3", "1.6"], ["3.4", "13"]]


def test_no_citation_of_the_external_facts_file_remains():
    remaining = _citations("FACTS")
    assert not remaining, (
        f"{len(remaining)} citations still say 'FACTS §…' (a file outside the repository). Rewrite them to "
        "'docs/domain §…' (same numbers), e.g. sed -i 's/FACTS §/docs/domain §/g'. First ones:\n"
        + "\n".join(f"{f}:{line}: FACTS §{n}" for f, line, n in remaining[:20])
    )
