#!/usr/bin/env python3
"""Python baseline for `packbench label bench`: the same Korean 4x6 in shipping label made
with the usual Python tools, timed on the same machine.

- PDF: reportlab, Code 128 modules from python-barcode and QR modules from qrcode drawn as
  rectangles, text in reportlab's built-in Korean CID font (HYGothic-Medium). reportlab
  embeds only TrueType (glyf) fonts, and the CJK fonts at hand (Noto Sans CJK, packbench's
  subset) are CFF-based OpenType, so the PDF relies on the viewer's Asian font pack instead of
  embedding glyphs; it is smaller and less portable than packbench's.
- ZPL and TSPL: every text field rasterised with Pillow from packbench's own font subset
  (FreeType reads CFF), sent as ^GFA (plain ASCII hex, no run-length compression) / BITMAP;
  barcodes and QR as printer commands. That is the same work packbench's engine does.

The label's fields, sizes and positions follow label-templates/shipping-kr-4x6.toml
(simplified: no shrink-to-fit or wrapping search, one size per field).

Usage: python3 bench-baseline/label_baseline.py [--seconds 2] [--batch 1000]
Needs: pip install reportlab python-barcode qrcode pillow
"""

import argparse
import io
import json
import os
import time

import barcode
import qrcode
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FONT = os.path.join(ROOT, "assets", "fonts", "PackbenchSans-Regular.otf")
SAMPLE = os.path.join(ROOT, "label-templates", "samples", "shipping-kr.json")
W_MM, H_MM = 101.6, 152.4
DPM = 203 / 25.4

# (field, x_mm, y_mm, w_mm, h_mm, size_mm, bold) as in shipping-kr-4x6.toml.
TEXTS = [
    (lambda d: d["courier"]["name"], 3, 3, 58, 10, 7, True),
    (lambda d: d["route"], 62, 2, 36.6, 12, 9, True),
    (lambda d: "받는 분", 3, 45, 30, 5, 3.2, False),
    (lambda d: "우편번호 " + d["recipient"]["postcode"], 60, 45, 38.6, 5, 3.2, False),
    (lambda d: d["recipient"]["name"], 3, 50, 60, 11, 8, True),
    (lambda d: d["recipient"]["phone_masked"], 64, 50, 34.6, 11, 4.5, False),
    (lambda d: d["recipient"]["address"], 3, 62, 95.6, 20, 5.5, False),
    (lambda d: "보내는 분  %s  %s" % (d["sender"]["name"], d["sender"]["phone"]), 3, 84.5, 95.6, 5, 3.5, False),
    (lambda d: d["sender"]["address"], 3, 89.5, 95.6, 7.5, 3, False),
    (lambda d: "품목  " + d["items_summary"], 3, 99, 95.6, 13, 4, False),
    (lambda d: "배송메모  " + d["note"] if d["note"] else "", 5, 114.5, 91.6, 10, 4.5, True),
    (lambda d: "주문 %s  (합포장 %s건)" % (", ".join(d["orders"]), d["bundle_count"]), 28, 129, 70.6, 10, 3.5, False),
    (lambda d: "포장 %s  %s" % (d["packed_at"], d["packer"]), 28, 140, 70.6, 5, 3.2, False),
    (lambda d: "중량 %s g" % d["weight_g"], 28, 145, 70.6, 5, 3.2, False),
    (lambda d: d["waybill"], 3, 37, 95.6, 4, 3.5, False),
]
LINES = [(3, 15, 95.6, 0.5), (3, 43, 95.6, 0.5), (3, 83, 95.6, 0.5), (3, 97.5, 95.6, 0.3)]

_fonts = {}


def font(px):
    if px not in _fonts:
        _fonts[px] = ImageFont.truetype(FONT, px)
    return _fonts[px]


def text_bitmap(text, w_mm, h_mm, size_mm, bold):
    """The text drawn 1-bit into its box (clipped), cropped to ink."""
    w, h = max(1, round(w_mm * DPM)), max(1, round(h_mm * DPM))
    img = Image.new("1", (w, h), 0)
    draw = ImageDraw.Draw(img)
    f = font(max(6, round(size_mm * DPM)))
    draw.text((0, 0), text, font=f, fill=1)
    if bold:
        draw.text((1, 0), text, font=f, fill=1)
    box = img.getbbox()
    return (img.crop(box), box) if box else (None, None)


def code128_modules(data):
    return barcode.get("code128", data).build()[0]


def zpl(d):
    out = ["^XA", "^CI28", "^PW812", "^LL1218", "^LH0,0"]
    for field, x, y, w, h, size, bold in TEXTS:
        text = field(d)
        if not text:
            continue
        img, box = text_bitmap(text, w, h, size, bold)
        if img is None:
            continue
        bpr = (img.width + 7) // 8
        data = img.tobytes().hex().upper()
        total = bpr * img.height
        out.append("^FO%d,%d^GFA,%d,%d,%d,%s^FS" % (round(x * DPM) + box[0], round(y * DPM) + box[1], total, total, bpr, data))
    for x, y, w, t in LINES:
        out.append("^FO%d,%d^GB%d,%d,%d^FS" % (round(x * DPM), round(y * DPM), round(w * DPM), round(t * DPM), round(t * DPM)))
    out.append("^FO40,136^BY2^BCN,150,N,N,N^FD>;%s^FS" % d["waybill"])
    out.append("^BY2,3,10^FO40,1030^BQN,2,4^FDMA,%s^FS" % d["waybill"])
    out += ["^PQ1", "^XZ"]
    return "\n".join(out).encode()


def tspl(d):
    out = [b"SIZE 101.6 mm,152.4 mm", b"GAP 3 mm,0 mm", b"DIRECTION 1", b"CLS"]
    for field, x, y, w, h, size, bold in TEXTS:
        text = field(d)
        if not text:
            continue
        img, box = text_bitmap(text, w, h, size, bold)
        if img is None:
            continue
        bpr = (img.width + 7) // 8
        inverted = bytes(255 - b for b in img.tobytes())
        out.append(b"BITMAP %d,%d,%d,%d,0," % (round(x * DPM) + box[0], round(y * DPM) + box[1], bpr, img.height) + inverted)
    for x, y, w, t in LINES:
        out.append(b"BAR %d,%d,%d,%d" % (round(x * DPM), round(y * DPM), round(w * DPM), round(t * DPM)))
    out.append(b'BARCODE 40,136,"128M",150,0,0,2,2,"!105%s"' % d["waybill"].encode())
    out.append(b'QRCODE 40,1030,M,4,A,0,"%s"' % d["waybill"].encode())
    out.append(b"PRINT 1,1")
    return b"\r\n".join(out) + b"\r\n"


pdfmetrics.registerFont(UnicodeCIDFont("HYGothic-Medium"))


def pdf_page(c, d):
    c.setPageSize((W_MM * mm, H_MM * mm))
    for field, x, y, w, h, size, bold in TEXTS:
        text = field(d)
        if not text:
            continue
        c.setFont("HYGothic-Medium", size * mm)
        c.drawString(x * mm, (H_MM - y - size) * mm, text)
    for x, y, w, t in LINES:
        c.rect(x * mm, (H_MM - y - t) * mm, w * mm, t * mm, stroke=0, fill=1)
    modules = code128_modules(d["waybill"])
    m = 0.25 * mm
    x0 = 10 * mm
    i = 0
    while i < len(modules):
        if modules[i] == "1":
            j = i
            while j < len(modules) and modules[j] == "1":
                j += 1
            c.rect(x0 + i * m, (H_MM - 36) * mm, (j - i) * m, 18 * mm, stroke=0, fill=1)
            i = j
        else:
            i += 1
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    q.add_data(d["waybill"])
    q.make()
    qm = 0.75 * mm
    for r, row in enumerate(q.get_matrix()):
        for col, dark in enumerate(row):
            if dark:
                c.rect((5 * mm) + col * qm, (H_MM - 130) * mm - r * qm, qm, qm, stroke=0, fill=1)
    c.showPage()


def pdf(batch):
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for d in batch:
        pdf_page(c, d)
    c.save()
    return buf.getvalue()


def make_batch(base, n):
    family = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"]
    given = ["민지", "서준", "하은", "도윤", "지우", "예준", "서연", "시우", "수아", "주원"]
    roads = ["테헤란로", "세종대로", "올림픽로", "판교역로", "해운대로", "중앙대로"]
    items = ["티셔츠 L 화이트", "양말 x3", "후드티 XL 네이비", "볼캡 블랙", "에코백", "니트 장갑 M"]
    out = []
    for i in range(n):
        d = json.loads(json.dumps(base))
        body = 60001234567 + i * 13
        d["waybill"] = "%d%d" % (body, body % 7)
        d["recipient"]["name"] = family[i % 10] + given[(i // 10) % 10]
        d["recipient"]["address"] = "서울특별시 강남구 %s %d, %d층 %d호" % (roads[i % 6], 100 + i % 400, 1 + i % 20, 100 + i % 50)
        d["recipient"]["phone_masked"] = "010-****-%04d" % (i % 10000)
        d["items_summary"] = "%s x%d; %s x1" % (items[i % 6], 1 + i % 3, items[(i // 3) % 6])
        d["note"] = "부재 시 경비실에 맡겨 주세요" if i % 3 == 0 else ""
        d["weight_g"] = 500 + i % 3000
        out.append(d)
    return out


def timed(what, labels_per_call, seconds, fn):
    size = len(fn())  # warm-up
    start = time.perf_counter()
    calls = 0
    while calls == 0 or time.perf_counter() - start < seconds:
        size = len(fn())
        calls += 1
    elapsed = time.perf_counter() - start
    n = calls * labels_per_call
    print("%-40s %10.0f labels/s  %9.3f ms/label  %10d bytes (%.1f KB/label)"
          % (what, n / elapsed, elapsed * 1000 / n, size, size / 1024 / labels_per_call))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    base = json.load(open(SAMPLE, encoding="utf-8"))
    batch = make_batch(base, args.batch)
    timed("python zpl single label", 1, args.seconds, lambda: zpl(base))
    timed("python tspl single label", 1, args.seconds, lambda: tspl(base))
    timed("python pdf single label", 1, args.seconds, lambda: pdf([base]))
    timed("python zpl batch of %d" % args.batch, args.batch, args.seconds, lambda: b"".join(zpl(d) for d in batch))
    timed("python tspl batch of %d" % args.batch, args.batch, args.seconds, lambda: b"".join(tspl(d) for d in batch))
    timed("python pdf batch of %d" % args.batch, args.batch, args.seconds, lambda: pdf(batch))


if __name__ == "__main__":
    main()
