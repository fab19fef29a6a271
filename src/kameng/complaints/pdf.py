"""Complaint documents as PDF: Chinese text in an embedded font subset that viewers render and tools extract.

The font is Noto Sans CJK SC (SIL Open Font License) from the `noto-cjk-sans-otc` wheel, so a plain
`make install` on a fresh machine has it; KAMENG_CJK_FONT (a .ttf/.otf/.ttc path, optionally
`path#face`) or Debian's fonts-noto-cjk are the fallbacks. Its outlines are CFF, which fpdf2 embeds
through a custom encoding CMap that several extractors cannot read back; so each document gets the
font subset to exactly the characters it uses, converted to TrueType outlines (fontTools cu2qu), which
fpdf2 embeds as a standard CIDFontType2 with Identity-H encoding and a ToUnicode map.
"""

import functools
import os
import tempfile
import unicodedata
from datetime import datetime
from io import BytesIO
from pathlib import Path

import noto_cjk_sans_otc

from .documents import Document

FAMILY = "NotoSansCJKSC"
SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
FOOTER = "第 {page} 页 / 共 {{nb}} 页"
DIGITS = "0123456789"


@functools.lru_cache(maxsize=1)
def font_source() -> tuple[str, int]:
    """(path, face index) of the CJK font: the env override, the wheel, then the system's."""
    override = os.environ.get("KAMENG_CJK_FONT", "")
    if override:
        path, _, face = override.partition("#")
        if not os.path.exists(path):
            raise RuntimeError(f"KAMENG_CJK_FONT points at a missing file: {path}")
        return path, int(face) if face else _simplified_chinese_face(path)
    candidates = [str(noto_cjk_sans_otc.FONT_PATH), *SYSTEM_FONTS]
    for path in candidates:
        if os.path.exists(path):
            return path, _simplified_chinese_face(path)
    raise RuntimeError("no CJK font found: install the project (noto-cjk-sans-otc) or set KAMENG_CJK_FONT")


def _simplified_chinese_face(path: str) -> int:
    """In a collection, the proportional Simplified Chinese face ("Noto Sans CJK SC"); else 0."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(path, lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            name = font["name"].getDebugName(4) or ""
            if name.endswith(" SC") and "Mono" not in name:
                return index
        return 0
    finally:
        collection.close()


def font_subset(text: str) -> bytes:
    """A TrueType-outline font holding just the glyphs `text` needs."""
    return _subset_of("".join(sorted(set(text))))


@functools.lru_cache(maxsize=8)
def _subset_of(text: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path, face = font_source()
    font = TTFont(path, fontNumber=face, lazy=True)
    try:
        options = subset.Options()
        options.layout_features = []  # no shaping: Chinese needs none, and fpdf2 does not shape here
        options.hinting = False
        options.notdef_outline = True
        options.name_IDs = ["*"]
        options.drop_tables += ["VORG", "vhea", "vmtx", "GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text + " ")
        subsetter.subset(font)
        if "CFF " in font:
            _cff_to_truetype(font)
        out = BytesIO()
        font.save(out)
        return out.getvalue()
    finally:
        font.close()


def _cff_to_truetype(font) -> None:
    """Replace CFF (cubic) outlines with glyf (quadratic) ones, as fontTools' otf2ttf recipe does."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        # CFF contours run counter-clockwise, TrueType ones clockwise.
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    font["post"].formatType = 3.0  # no glyph names: CID-keyed CFF has none worth keeping
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


# ---- layout --------------------------------------------------------------------------------

STYLES = {  # kind → (size pt, line height mm, align, gray level, space before mm)
    "title": (18, 10, "C", 0, 0),
    "subtitle": (9.5, 5.5, "C", 90, 0),
    "heading": (13, 8, "L", 0, 3),
    "para": (10.5, 6, "L", 0, 1),
    "item": (10.5, 6, "L", 0, 0),
    "note": (9, 5, "L", 90, 2),
    "sign": (11, 7, "R", 0, 3),
}


def render(document: Document, *, subject: str = "", created_at: datetime | None = None) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos

    class ComplaintPDF(FPDF):
        def footer(self):
            self.set_y(-14)
            self.set_font(FAMILY, size=8)
            self.set_text_color(110)
            self.cell(0, 6, f"{document.title} · " + FOOTER.format(page=self.page_no()), align="C")
            self.set_text_color(0)

    used = "".join(b.text for b in document.blocks) + document.title + FOOTER + DIGITS + "·"
    with tempfile.TemporaryDirectory(prefix="kameng-font-") as tmp:
        font_file = Path(tmp) / "complaint-cjk.ttf"
        font_file.write_bytes(font_subset(used))
        pdf = ComplaintPDF(format="A4", unit="mm")
        pdf.add_font(FAMILY, fname=str(font_file))
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(True, margin=20)
        pdf.set_title(document.title)
        pdf.set_subject(subject or document.title)
        pdf.set_creator("kameng 卡盟")
        pdf.set_lang("zh-CN")
        if created_at is not None:
            pdf.set_creation_date(created_at)
        pdf.add_page()
        keep_from = _closing_start(document)
        for index, block in enumerate(document.blocks):
            size, height, align, gray, before = STYLES.get(block.kind, STYLES["para"])
            if index == keep_from:
                # the closing words and the signature lines stay together: the signature never
                # sits alone on a page (a page of just "投诉人：… 日期：…" proves nothing it follows)
                needed = sum(_height(pdf, b) for b in document.blocks[index:])
                if pdf.get_y() + needed > pdf.page_break_trigger and needed < pdf.eph:
                    pdf.add_page()
            elif block.kind == "heading" and index + 1 < len(document.blocks):
                # a heading is never the last line of a page: it moves on with the start of its text
                following = document.blocks[index + 1]
                start = min(_height(pdf, following), STYLES.get(following.kind, STYLES["para"])[1] * 2 + 3)
                if pdf.get_y() + _height(pdf, block) + start > pdf.page_break_trigger:
                    pdf.add_page()
            indent, text = _indent(block)
            if before:
                pdf.ln(before)
            pdf.set_font(FAMILY, size=size)
            pdf.set_text_color(gray)
            pdf.set_x(pdf.l_margin + indent)
            lines = wrap(pdf, text, _text_width(pdf, indent))
            # Each line already fits: multi_cell only places them (and breaks pages between them).
            pdf.multi_cell(
                pdf.epw - indent,
                height,
                "\n".join(lines),
                align=align,
                wrapmode=WrapMode.CHAR,
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            if block.kind == "title":
                pdf.ln(2)
        pdf.set_text_color(0)
        return bytes(pdf.output())


def _closing_start(document: Document) -> int | None:
    """Index of the closing group: the trailing signature lines, the block just before them (the
    closing statement, the note or the addressee) and any short salutation lines before that (此致)."""
    first_sign = next((i for i, b in enumerate(document.blocks) if b.kind == "sign"), None)
    if not first_sign:
        return first_sign
    start = first_sign - 1
    while start > 0 and document.blocks[start - 1].kind == "para" and len(document.blocks[start - 1].text) <= 12:
        start -= 1
    if document.blocks[start].kind == "heading":
        return first_sign  # a heading belongs to what follows it, not to the signature
    return start


def _indent(block) -> tuple[float, str]:
    """List items are indented (4 mm, and 1.5 mm per leading space of nesting); others start at the margin."""
    if block.kind != "item":
        return 0.0, block.text
    stripped = block.text.lstrip(" ")
    return 4 + (len(block.text) - len(stripped)) * 1.5, stripped


def _text_width(pdf, indent: float) -> float:
    # multi_cell keeps its cell margin on both sides; a hair less so rounding never re-breaks a line
    return pdf.epw - indent - 2 * pdf.c_margin - 0.05


def _height(pdf, block) -> float:
    size, height, _, _, before = STYLES.get(block.kind, STYLES["para"])
    pdf.set_font(FAMILY, size=size)
    indent, text = _indent(block)
    return before + height * max(len(wrap(pdf, text, _text_width(pdf, indent))), 1)


# ---- line breaking ---------------------------------------------------------------------------
# Chinese breaks between any two characters; Latin text (words, numbers, keys, order numbers,
# usernames such as "merchant1") only at spaces, so "Windows" never comes out as "W / indows".
# Closing punctuation never starts a line and opening punctuation never ends one (避头尾).

_NO_LINE_START = set("，。、；：？！）」』】》〉…％·”’,.;:?!)]}%")
_NO_LINE_END = set("（「『【《〈“‘([{")


def _breaks_anywhere(ch: str) -> bool:
    """CJK ideographs, kana, hangul and full-width forms: a line may break before and after each."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def tokens(text: str) -> list[str]:
    """The units a line is built of: one CJK character, one run of other characters between spaces
    (a Latin word, a number, a licence key), or a space; punctuation glued to its neighbour."""
    units: list[str] = []
    run = ""
    for ch in text:
        if ch == " " or _breaks_anywhere(ch):
            if run:
                units.append(run)
                run = ""
            units.append(ch)
        else:
            run += ch
    if run:
        units.append(run)
    glued: list[str] = []
    for unit in units:
        if glued and unit != " " and glued[-1] != " " and (unit[0] in _NO_LINE_START or glued[-1][-1] in _NO_LINE_END):
            glued[-1] += unit
        else:
            glued.append(unit)
    return glued


def wrap(pdf, text: str, width: float) -> list[str]:
    """`text` broken into lines of at most `width` (mm) in the current font; "\n" starts a new line.
    A unit longer than a whole line (a 64-character hash, a long URL) is broken by characters."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for unit in tokens(paragraph):
            if unit == " ":
                if line:
                    line += " "
                continue
            if pdf.get_string_width(line + unit) <= width:
                line += unit
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = ""
            while pdf.get_string_width(unit) > width:
                cut = max(1, _longest_fitting(pdf, unit, width))
                lines.append(unit[:cut])
                unit = unit[cut:]
            line = unit
        lines.append(line.rstrip())
    return lines


def _longest_fitting(pdf, text: str, width: float) -> int:
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if pdf.get_string_width(text[:mid]) <= width:
            low = mid
        else:
            high = mid - 1
    return low
