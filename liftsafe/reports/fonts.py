"""The CJK font the report renderers embed (PDF) and draw with (charts).

Reports are Chinese by default, so the PDF and the chart images need a font
with CJK glyphs; without one every Chinese character becomes a "tofu" box.
Nothing here downloads a font: the font comes from a Debian package installed
by the project's own setup (``scripts/bootstrap.sh`` and ``test.sh`` install
``fonts-noto-cjk`` when it is missing and they run as root).

Search order (first hit wins):

1. ``LIFTSAFE_CJK_FONT`` (``/path/to/font.ttc`` or ``/path/to/font.ttc:2`` with a
   collection index), for machines with a font elsewhere;
2. Noto Sans CJK SC from ``fonts-noto-cjk`` (OpenType/CFF outlines in a font
   collection; index 2 is the Simplified Chinese face), plus its bold face;
3. WenQuanYi Micro Hei / Zen Hei (``fonts-wqy-microhei`` / ``fonts-wqy-zenhei``,
   TrueType outlines);
4. whatever ``fc-match :lang=zh-cn`` answers, if that font really has CJK glyphs.

fpdf2 (>= 2.8) embeds a face of a collection with ``collection_font_number``,
CFF outlines included (subset, so a report PDF stays small); matplotlib (>= 3.10)
registers every face of a collection with ``font_manager.addfont``.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEBIAN_PACKAGE = "fonts-noto-cjk"
PROBE = "故障率"  # characters every candidate must cover

# (regular path, collection index, bold path or None, bold index, Debian package)
CANDIDATES: tuple[tuple[str, int, str | None, int, str], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2,
     "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2, "fonts-noto-cjk"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0,
     "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf", 0, "fonts-noto-cjk"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, None, 0, "fonts-wqy-microhei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, None, 0, "fonts-wqy-zenhei"),
)


class MissingFontError(RuntimeError):
    """No font with Chinese glyphs is installed; the message names the Debian package to install."""


@dataclass(frozen=True)
class CjkFont:
    """One CJK font face on disk.

    Attributes:
        path: font file (``.ttc``, ``.otf`` or ``.ttf``).
        index: face index inside a collection (0 for a single font).
        family: the face's family name (e.g. ``"Noto Sans CJK SC"``), as matplotlib knows it.
        bold_path / bold_index: a bold face of the same family, or ``None`` (renderers then use the regular face).
        package: the Debian package it comes from, when known.
    """

    path: str
    index: int
    family: str
    bold_path: str | None = None
    bold_index: int = 0
    package: str = ""


def _family_and_coverage(path: str, index: int) -> tuple[str, bool]:
    """(family name, whether the face maps every character of PROBE) of face ``index`` of ``path``."""
    from fontTools.ttLib import TTFont

    font = TTFont(path, fontNumber=index, lazy=True)
    try:
        name = font["name"]
        family = (name.getDebugName(16) or name.getDebugName(1) or Path(path).stem).strip()
        cmap = font.getBestCmap() or {}
        return family, all(ord(ch) in cmap for ch in PROBE)
    finally:
        font.close()


def _from_env() -> CjkFont | None:
    raw = os.environ.get("LIFTSAFE_CJK_FONT", "").strip()
    if not raw:
        return None
    path, _, idx = raw.rpartition(":") if raw.rsplit(":", 1)[-1].isdigit() else (raw, "", "0")
    if not Path(path).is_file():
        raise MissingFontError(f"LIFTSAFE_CJK_FONT={raw!r}: no such font file")
    family, ok = _family_and_coverage(path, int(idx))
    if not ok:
        raise MissingFontError(f"LIFTSAFE_CJK_FONT={raw!r}: the font has no Chinese glyphs")
    return CjkFont(path, int(idx), family)


def _from_fc_match() -> CjkFont | None:
    if not shutil.which("fc-match"):
        return None
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", ":lang=zh-cn"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.splitlines()
    if len(lines) < 1 or not lines[0] or not Path(lines[0]).is_file():
        return None
    path, index = lines[0], int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0
    if not path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
        return None
    try:
        family, ok = _family_and_coverage(path, index)
    except Exception:  # noqa: BLE001 - a broken font file is "no font"
        return None
    return CjkFont(path, index, family) if ok else None


@functools.lru_cache(maxsize=1)
def cjk_font() -> CjkFont:
    """The CJK font to render reports with (cached for the process).

    Returns:
        CjkFont: see the module docstring for the search order.

    Raises:
        MissingFontError: no installed font covers Chinese; the message says
            ``apt-get install fonts-noto-cjk`` (run ``scripts/bootstrap.sh`` as root,
            which does that).
    """
    found = _from_env()
    if found:
        return found
    for path, index, bold, bold_index, package in CANDIDATES:
        if Path(path).is_file():
            try:
                family, ok = _family_and_coverage(path, index)
            except Exception:  # noqa: BLE001
                continue
            if ok:
                has_bold = bool(bold) and Path(bold).is_file()
                return CjkFont(path, index, family, bold if has_bold else None, bold_index if has_bold else 0, package)
    found = _from_fc_match()
    if found:
        return found
    raise MissingFontError(
        "No font with Chinese glyphs is installed, so report PDFs and charts cannot show Chinese text. "
        f"Install the Debian package {DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}; scripts/bootstrap.sh does it "
        "when run as root), or set LIFTSAFE_CJK_FONT=/path/to/font.ttc[:index].")
