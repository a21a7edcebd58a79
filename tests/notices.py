"""Notice PDFs for the tests, as different sureties' programs would print them.

- ``own_notice``: the platform's own notice (registry.notices.pdf, fpdf2, embedded IPAexGothic).
- ``other_program_notice``: another generator (reportlab) with the seed's spacing
  (「工 事 名 :」, 「認 証 キー :」), label, colon and value drawn as separate strings, and
  a non-embedded Japanese CID font (HeiseiKakuGo-W5), as many business systems print.
- ``column_notice``: a table whose labels are drawn first and the values after, so text
  extraction gives all the labels, then all the values.
- ``raw_pdf``: a PDF written object by object, for broken and hostile files.
"""
from __future__ import annotations

import io
import zlib

from registry.notices.pdf import NoticeContent, render_notice

SEED_KEY = "Z28YUE4J3Bux"


def content(number: str = "10001-000001", key: str = SEED_KEY, *, jv: bool = False,
            work: str = "市道角田線舗装補修工事", product: str = "前払金保証") -> NoticeContent:
    principal = (("角田・仙南特定建設工事共同企業体", "代表者 角田建設株式会社 代表取締役 山田 一郎")
                 if jv else ("角田建設株式会社",))
    return NoticeContent(
        contract_number=number, auth_key=key, work_name=work, principal_lines=principal,
        product_label=product, surety_lines=("東日本建設業保証株式会社", "取扱箇所 宮城支店"),
        lookup_url=f"http://portal.test/lookup#n={number}&k={key}",
        portal_lookup_url="http://portal.test/lookup", dated="令和8年4月1日")


def own_notice(number: str = "10001-000001", key: str = SEED_KEY, **kwargs) -> bytes:
    return render_notice(content(number, key, **kwargs))


def merged(*pdfs: bytes) -> bytes:
    """Several PDFs as one file (a contractor forwarding both guarantees of a work)."""
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter()
    for data in pdfs:
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _canvas():
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas
    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    out = io.BytesIO()
    return canvas.Canvas(out, pagesize=A4), out


SEED_LINES = ("工 事 名", "受 注 者 名", "商品(保証区分)", "保証契約番号", "認 証 キー")


def other_program_notice(*notices: tuple[str, str], jv: bool = False) -> bytes:
    """One page per (number, key), in seed 003's spacing."""
    pdf, out = _canvas()
    for number, key in notices:
        pdf.setFont("HeiseiKakuGo-W5", 15)
        pdf.drawCentredString(297, 780, "電子保証にかかる「認証キー」のお知らせ")
        pdf.setFont("HeiseiKakuGo-W5", 10)
        pdf.drawString(60, 740, "電子証書を「保証確認サービス(D-Sure)」に掲載しましたので、お知らせします。")
        principal = "〇〇・△△特定建設工事共同企業体 代表者 〇〇建設 株式会社" if jv else "〇〇建設 株式会社"
        values = ("●●●●工事", principal, "前払金保証", number, key)
        y = 680
        for label, value in zip(SEED_LINES, values):
            pdf.drawString(80, y, label)
            pdf.drawString(190, y, ":")
            pdf.drawString(205, y, value)
            if label == "受 注 者 名":
                y -= 14
                pdf.drawString(80, y, "(JVの場合は代表者)")
            y -= 30
        pdf.drawString(60, y - 10, "【発注者様へのお問い合わせ】")
        pdf.drawString(60, y - 25, "「保証確認サービス(D-Sure)」にログインし、上記の「保証契約番号」と「認証キー」をもって電子証書を開覧ください。")
        pdf.drawRightString(530, y - 70, "東日本建設業保証株式会社")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def column_notice(number: str, key: str) -> bytes:
    """Labels drawn as one column, then the values as another."""
    pdf, out = _canvas()
    pdf.setFont("HeiseiKakuGo-W5", 11)
    pdf.drawString(60, 780, "電子保証にかかる「認証キー」のお知らせ")
    rows = (("保証契約番号", number), ("認証キー", key))
    for i, (label, _) in enumerate(rows):
        pdf.drawString(80, 700 - 24 * i, label)
    for i, (_, value) in enumerate(rows):
        pdf.drawString(220, 700 - 24 * i, value)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def scanned_notice() -> bytes:
    """A page with only an image on it, as a scanner makes."""
    from reportlab.lib.utils import ImageReader
    from PIL import Image
    image = Image.new("L", (400, 200), 255)
    for x in range(40, 360):
        image.putpixel((x, 100), 0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf, out = _canvas()
    pdf.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 50, 400, 400, 200)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def pages_of_text(count: int) -> bytes:
    pdf, out = _canvas()
    for i in range(count):
        pdf.setFont("HeiseiKakuGo-W5", 11)
        pdf.drawString(60, 780, f"{i + 1}ページ")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def encrypted(data: bytes, *, user_password: str, owner_password: str = "owner") -> bytes:
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_pdf(content: bytes, *, compress: bool = True) -> bytes:
    """A one-page PDF whose page content stream is ``content`` (Flate-compressed)."""
    stream = zlib.compress(content, 9) if compress else content
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d%s >>\nstream\n" % (len(stream), b" /Filter /FlateDecode" if compress else b"")
        + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
