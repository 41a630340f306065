#!/usr/bin/env python3
"""Build assets/fonts/PackbenchSans-Regular.ttf, the font subset packbench ships.

packbench prints Korean and Chinese labels on any printer and machine, so it carries
its own font: a subset of Noto Sans CJK SC Regular (SIL OFL 1.1) holding Latin,
every Hangul syllable, GB2312 (all 6,763 Hanzi plus its symbols), the non-Hanja
symbol rows of KS X 1001, CJK punctuation and full-width forms. The SC face is used
because GB2312 Hanzi should have Chinese glyph shapes; its Hangul is the same as the
KR face's. The family is renamed so the modified font does not carry the original name.

The outlines stay CFF: both ab_glyph (rasterising) and printpdf 0.12.8 (parsing, subsetting
on save, embedding as CIDFontType0C) handle them, verified by rendering labels and reading
them back with pdftotext and pdftoppm + zbarimg, and CFF is 2.7 MB where TrueType outlines
are 4.3 MB. Should a future printpdf or viewer have trouble with CFF, `--truetype` converts
the outlines to quadratic TrueType ones (the fontTools otf2ttf recipe, via cu2qu) and writes
PackbenchSans-Regular.ttf instead; change the file name in src/labels/font.rs to match.

This script runs on a developer machine only; the product never needs fontTools or
fonts-noto-cjk at run time. Exact commands used to make the committed file:

    apt-get install -y fonts-noto-cjk       # NotoSansCJK-Regular.ttc, version 2.004
    pip install fonttools                   # 4.68.0 was used
    python3 assets/fonts/make-subset.py     # writes assets/fonts/PackbenchSans-Regular.otf
"""

import os
import sys

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, newTable

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FACE_INDEX = 2  # 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
FAMILY = "Packbench Sans"
POSTSCRIPT = "PackbenchSans-Regular"
HERE = os.path.dirname(os.path.abspath(__file__))

# Maximum error, in font units (1000 per em), allowed when approximating the cubic
# curves with quadratic ones. One unit is 0.005 mm at a 5 mm font size: invisible.
MAX_ERR = 1.0


def decode_double_byte(encoding, rows):
    """Every character of a two-byte EUC-style code page, by decoding each code point."""
    chars = set()
    for lead in rows:
        for trail in range(0xA1, 0xFF):
            try:
                chars.update(bytes([lead, trail]).decode(encoding))
            except UnicodeDecodeError:
                pass
    return chars


def wanted_code_points():
    cps = set()
    cps.update(range(0x20, 0x7F))  # Basic Latin
    cps.update(range(0xA0, 0x100))  # Latin-1 Supplement
    cps.update(range(0x2010, 0x2028))  # dashes, quotes, bullets, ellipsis
    cps.update(range(0x2030, 0x203C))  # per mille, primes, guillemets, reference mark
    cps.update([0x20A9, 0x20AC, 0x2116, 0x2122])  # won, euro, numero, trade mark
    cps.update(range(0x2460, 0x2474))  # circled numbers 1-20
    cps.update(range(0x3000, 0x3040))  # CJK symbols and punctuation
    cps.update(range(0x3130, 0x3190))  # Hangul compatibility jamo
    cps.update(range(0xAC00, 0xD7A4))  # all 11,172 Hangul syllables
    cps.update(range(0xFF00, 0xFFF0))  # half-width and full-width forms
    # GB2312 in full: rows A1-A9 are symbols, B0-F7 the 6,763 Hanzi.
    cps.update(ord(c) for c in decode_double_byte("gb2312", range(0xA1, 0xF8)))
    # KS X 1001 symbol rows only (A1-AF); its Hanja rows are not needed on labels.
    cps.update(ord(c) for c in decode_double_byte("euc_kr", range(0xA1, 0xB0)))
    return cps


def cff_to_glyf(font):
    """Replace the CFF table with glyf/loca (the fontTools otf2ttf recipe, via cu2qu)."""
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_ERR, reverse_direction=True))
        glyphs[name] = pen.glyph()

    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    glyf.compile(font)
    for name in glyph_order:
        glyphs[name].recalcBounds(glyf)

    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    maxp.maxTwilightPoints = 0
    maxp.maxStorage = 0
    maxp.maxFunctionDefs = 0
    maxp.maxInstructionDefs = 0
    maxp.maxStackElements = 0
    maxp.maxSizeOfInstructions = 0
    maxp.maxComponentElements = max(
        len(g.components) if hasattr(g, "components") else 0 for g in glyphs.values()
    )
    maxp.compile(font)

    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = glyph_order
    font.sfntVersion = "\000\001\000\000"


def rename(font):
    """Give the modified font its own name, as the OFL asks of modified versions."""
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [POSTSCRIPT]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} Regular"
        top.FamilyName = FAMILY
    name = font["name"]
    keep = {0, 7, 8, 9, 10, 11, 12, 13, 14}
    name.names = [n for n in name.names if n.nameID in keep]
    for pid, eid, lang in ((3, 1, 0x409), (1, 0, 0)):
        name.setName(FAMILY, 1, pid, eid, lang)
        name.setName("Regular", 2, pid, eid, lang)
        name.setName(f"{POSTSCRIPT};subset of Noto Sans CJK SC 2.004", 3, pid, eid, lang)
        name.setName(f"{FAMILY} Regular", 4, pid, eid, lang)
        name.setName("Version 2.004; packbench subset", 5, pid, eid, lang)
        name.setName(POSTSCRIPT, 6, pid, eid, lang)


def main():
    truetype = "--truetype" in sys.argv[1:]
    out = os.path.join(HERE, "PackbenchSans-Regular." + ("ttf" if truetype else "otf"))
    collection = TTCollection(SOURCE)
    font = collection.fonts[FACE_INDEX]

    options = subset.Options()
    options.layout_features = []  # no shaping is done; GSUB/GPOS would only add bytes
    options.hinting = False
    options.notdef_outline = True  # a visible box for characters the subset lacks
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["BASE", "VORG", "vhea", "vmtx", "GDEF", "GPOS", "GSUB", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted_code_points()))
    subsetter.subset(font)

    rename(font)
    font.recalcTimestamp = False  # keep the source's date so reruns give identical bytes
    if truetype:
        cff_to_glyf(font)
    font.save(out)
    print(f"{out}: {os.path.getsize(out)} bytes, {len(font.getGlyphOrder())} glyphs")


if __name__ == "__main__":
    sys.exit(main())
