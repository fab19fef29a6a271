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
                # the closing statement and the signature lines stay together: never a page of just the date
                needed = sum(_height(pdf, b) for b in document.blocks[index:])
                if pdf.get_y() + needed > pdf.page_break_trigger:
                    pdf.add_page()
            text = block.text
            indent = 0.0
            if block.kind == "item":
                stripped = text.lstrip(" ")
                indent = 4 + (len(text) - len(stripped)) * 1.5
                text = stripped
            if before:
                pdf.ln(before)
            pdf.set_font(FAMILY, size=size)
            pdf.set_text_color(gray)
            pdf.set_x(pdf.l_margin + indent)
            pdf.multi_cell(
                pdf.epw - indent, height, text, align=align, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            if block.kind == "title":
                pdf.ln(2)
        pdf.set_text_color(0)
        return bytes(pdf.output())


def _closing_start(document: Document) -> int | None:
    """Index of the closing group: the trailing signature lines and the paragraph just before them."""
    first_sign = next((i for i, b in enumerate(document.blocks) if b.kind == "sign"), None)
    if first_sign and document.blocks[first_sign - 1].kind == "para":
        return first_sign - 1
    return first_sign


def _height(pdf, block) -> float:
    from fpdf.enums import WrapMode

    size, height, align, _, before = STYLES.get(block.kind, STYLES["para"])
    pdf.set_font(FAMILY, size=size)
    lines = pdf.multi_cell(pdf.epw, height, block.text, wrapmode=WrapMode.CHAR, dry_run=True, output="LINES")
    return before + height * max(len(lines), 1)
