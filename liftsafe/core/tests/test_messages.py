"""liftsafe.core.messages: platform notes stored as kind + parameters, translated when shown (issue 16, "Mixed
language"). The scans below keep every creation site honest: each ``encode(kind)`` names a registered kind, and no
audit reason or platform note is written as a sentence (a literal must be an old code a kind recognises)."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.utils import translation

from liftsafe.core import messages as M

ROOT = Path(M.__file__).resolve().parents[1]  # liftsafe/
SOURCES = [p for p in sorted(ROOT.rglob("*.py")) if "tests" not in p.parts and "migrations" not in p.parts]

ENCODE = re.compile(r"(?<![.\w])encode\(\s*(?:\"(?P<lit>[^\"]+)\"|msg\.(?P<const>[A-Z_]+))")
#: where a reason / platform note is handed over as text
SITES = re.compile(r"(?:\b(?:save_with_history|stamp|_save)\([^\n]*?|_change_reason\s*=\s*|default_change_reason=|\bnote=|"
                   r"\b_?reason=)(?P<f>f?)(?P<q>\")(?P<text>[^\"\n]*)\"")


def _kinds():
    return M.registered_kinds()


def test_every_encoded_kind_is_registered():
    kinds, found, bad = _kinds(), 0, []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for m in ENCODE.finditer(text):
            if m.group("lit"):
                code = m.group("lit")
            else:
                app = path.relative_to(ROOT).parts[0]
                code = getattr(importlib.import_module(f"liftsafe.{app}.messages"), m.group("const"), None)
            found += 1
            if code not in kinds:
                bad.append(f"{path.relative_to(ROOT)}: {m.group(0)} → {code!r}")
    assert not bad, "unregistered message kinds:\n" + "\n".join(bad)
    assert found >= 30  # the creation sites in registry, hazards, emergency, exchange, demo and the importer


def test_no_platform_note_is_written_as_a_sentence():
    """A literal reason/note handed to the history or a note field must be recognised by a kind (old short codes
    such as monitoring's "acknowledged"); a formatted f-string sentence is never allowed."""
    bad = []
    for path in SOURCES:
        if path.name == "messages.py" or path == ROOT / "core" / "history.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for m in SITES.finditer(line):
                if "Field(" in line or "description=" in line or line[: m.start("q")].rstrip().endswith("encode("):
                    continue
                if m.group("f") or (m.group("text") and M.parse(m.group("text")) is None):
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "store encode(kind, **params) instead of a sentence:\n" + "\n".join(bad)


def test_render_in_both_languages_and_old_text_as_is(db):
    note = M.encode("core.via_api")
    with translation.override("en"):
        assert M.render(note) == "changed through the API"
        assert M.render("API") == "changed through the API"  # an old row
        assert M.render("checked on site by Wang") == "checked on site by Wang"
    with translation.override("zh-hans"):
        assert M.render(note) == "通过 API 修改"
        assert M.render("checked on site by Wang") == "checked on site by Wang"
    assert M.render("@nosuch.kind") == "@nosuch.kind" and M.render("") == ""


def test_encode_decode_fit():
    s = M.encode("core.created", who="王", n=3)
    assert M.decode(s) == ("core.created", {"n": 3, "who": "王"})
    long = M.encode("core.created", text="长" * 300, n=1)
    short = M.fit(long, 100)
    assert len(short) <= 100 and M.decode(short)[1]["n"] == 1 and M.decode(short)[1]["text"].endswith("…")
    assert M.fit("plain " * 40, 100) == ("plain " * 40)[:100]
    with pytest.raises(ValueError):
        M.encode("Not a kind")
    with pytest.raises(ValueError):
        M.register("core.created", "another template")
