"""Translation catalogs: complete zh-Hans catalogs, every template string translated, polib compilation."""
import gettext
import os
import time
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.utils.text import smart_split

from liftsafe.core.i18n import PACKAGE_DIR, catalog_paths, compile_catalogs

CATALOGS = [PACKAGE_DIR / p / "zh_Hans/LC_MESSAGES/django.po" for p in ("locale", "core/locale", "registry/locale")]
TEMPLATES = [PACKAGE_DIR / "templates" / "base.html", PACKAGE_DIR / "templates" / "404.html",
             *sorted((PACKAGE_DIR / "templates" / "core").glob("*.html")),
             *sorted((PACKAGE_DIR / "templates" / "registry").glob("*.html"))]


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'" else s


def template_msgids(text: str) -> set[tuple[str, str | None]]:
    """(msgid, msgid_plural) of every {% trans %} / {% blocktrans %} in a template, as makemessages writes them."""
    out = set()
    tokens = Lexer(text).tokenize()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type == TokenType.BLOCK:
            bits = list(smart_split(tok.contents))
            if bits[0] in ("trans", "translate"):
                out.add((_unquote(bits[1]), None))
            elif bits[0] in ("blocktrans", "blocktranslate"):
                singular, plural, cur = [], None, None
                cur = singular
                i += 1
                while not (tokens[i].token_type == TokenType.BLOCK and tokens[i].contents.split()[0] in ("endblocktrans", "endblocktranslate")):
                    t = tokens[i]
                    if t.token_type == TokenType.BLOCK and t.contents == "plural":
                        plural = []
                        cur = plural
                    elif t.token_type == TokenType.VAR:
                        cur.append(f"%({t.contents.strip()})s")
                    elif t.token_type == TokenType.TEXT:
                        cur.append(t.contents.replace("%", "%%"))
                    i += 1
                out.add(("".join(singular), "".join(plural) if plural is not None else None))
        i += 1
    return out


def test_catalogs_exist_and_are_compiled_by_polib():
    found = catalog_paths()
    for po in CATALOGS:
        assert po in found, po
        assert po.with_suffix(".mo").exists(), "pytest_sessionstart should have compiled it"


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_every_msgid_has_a_translation(po_path):
    po = polib.pofile(str(po_path))
    assert len(po) > 20
    untranslated = [e.msgid for e in po if not e.obsolete and not e.translated()]
    assert untranslated == []
    assert po.fuzzy_entries() == []


def test_every_template_string_is_in_the_catalog():
    translated = {}
    for po_path in CATALOGS:
        for e in polib.pofile(str(po_path)):
            if e.translated():
                translated[(e.msgid, e.msgid_plural or None)] = e.msgstr or e.msgstr_plural.get(0)
    msgids = set()
    for path in TEMPLATES:
        msgids |= template_msgids(path.read_text(encoding="utf-8"))
    assert len(msgids) > 60  # the extractor really found the templates' strings
    missing = sorted(m for m in msgids if m not in translated)
    assert missing == [], f"add these to liftsafe/locale/zh_Hans/LC_MESSAGES/django.po: {missing}"


def test_extractor_sees_trans_and_blocktrans():
    text = '{% load i18n %}{% trans "Hello" %}{% blocktrans count n=x %}{{ n }} lift{% plural %}{{ n }} lifts{% endblocktrans %}'
    assert template_msgids(text) == {("Hello", None), ("%(n)s lift", "%(n)s lifts")}


PO = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "Elevator"
msgstr "电梯"

#, fuzzy
msgid "Draft"
msgstr "草稿"
'''


def test_compile_catalogs_writes_when_stale_only(tmp_path):
    po = tmp_path / "app" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(PO, encoding="utf-8")
    mo = po.with_suffix(".mo")
    assert compile_catalogs(tmp_path) == [mo]
    with mo.open("rb") as fh:
        t = gettext.GNUTranslations(fh)
    assert t.gettext("Elevator") == "电梯"
    assert t.gettext("Draft") == "Draft"  # fuzzy entries are left out, as msgfmt does
    assert compile_catalogs(tmp_path) == []  # up to date
    later = time.time() + 5
    os.utime(po, (later, later))
    assert compile_catalogs(tmp_path) == [mo]
    assert compile_catalogs(tmp_path, force=True) == [mo]


def test_compile_catalogs_names_a_broken_file(tmp_path):
    po = tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text("this is not a po file\n", encoding="utf-8")
    with pytest.raises((OSError, ValueError), match="django.po"):
        compile_catalogs(tmp_path)


def test_compiletranslations_command(capsys):
    call_command("compiletranslations", "--force")
    out = capsys.readouterr().out
    for po in CATALOGS:
        assert str(po.with_suffix(".mo")) in out
    assert Path(CATALOGS[0].with_suffix(".mo")).stat().st_size > 1000


PLACEHOLDER = __import__("re").compile(r"%\((\w+)\)[sdrf]")


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_translations_keep_the_placeholders(po_path):
    """A msgstr must use the same %(name)s placeholders as its msgid, or formatting raises at run time."""
    bad = []
    for e in polib.pofile(str(po_path)):
        want = set(PLACEHOLDER.findall(e.msgid))
        strs = [e.msgstr] if not e.msgid_plural else list(e.msgstr_plural.values())
        for s in strs:
            if s and set(PLACEHOLDER.findall(s)) != want:
                bad.append((e.msgid, s))
    assert bad == []
