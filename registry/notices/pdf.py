"""The 「認証キー」のお知らせ as one A4 PDF page, laid out as the sureties' notice (seed 003):
title, the words to the contractor, 工事名, 受注者名, 商品(保証区分), 保証契約番号, 認証キー, the
words to the obligee with a QR code of the lookup page, and the surety.

The font is IPAexGothic (Debian's fonts-ipaexfont-gothic), embedded as a subset. It has
TrueType outlines, so fpdf2 writes it with the standard Identity-H encoding and a
ToUnicode map, which poppler, pypdf and pdfminer all read back as text. (Noto Sans CJK,
the other Japanese font Debian ships, has CFF outlines in a collection; fpdf2 writes those
with a custom CMap that pypdf and pdfminer misread.) The IPA Font License allows
embedding. Nothing here is stored: the PDF exists only as the bytes returned.
"""
from __future__ import annotations

import dataclasses
import os


DEFAULT_FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"
FONT_PACKAGE = "fonts-ipaexfont-gothic"

TITLE = "電子保証にかかる「認証キー」のお知らせ"
TO_PRINCIPAL = (
    "電子証書を「保証確認サービス(D-Sure)」に掲載しましたので、お知らせします。",
    "つきましては、お客様にて下記内容をご確認いただき、次のいずれかの方法でこのPDFファイルを"
    "発注者様にご提出ください。",
    "　①電子契約システムへのアップロード　又は　②電子メールに添付して送信",
    "電子保証のご利用にあたっては、発注者様への「保証契約番号」と「認証キー」のご提出をもって、"
    "前払金請求手続(前払金保証)、又は請負契約締結手続(契約保証)が完了いたします。",
    "ご不明な点がございましたら、当社の営業部・支店までお問い合わせください。",
)
TO_OBLIGEE_HEADING = "【発注者様へのお願い】"


class NoticeFontMissing(RuntimeError):
    """The notice cannot be printed: its Japanese font is not installed."""


def font_problem(path: str) -> str | None:
    """Why ``path`` cannot serve as the notice font, or None when it can."""
    if not os.path.isfile(path):
        return (f"the notice font {path} is missing: install Debian's {FONT_PACKAGE} "
                "or set DSURE_NOTICE_FONT to a TrueType Japanese font")
    return None


@dataclasses.dataclass(frozen=True)
class NoticeContent:
    contract_number: str
    auth_key: str
    work_name: str
    principal_lines: tuple[str, ...]   # the principal, or a JV and its representative
    product_label: str                 # 前払金保証 …
    surety_lines: tuple[str, ...]      # name, branch, TEL
    lookup_url: str                    # <portal>/lookup#n=…&k=…
    portal_lookup_url: str             # <portal>/lookup, printed for typing
    dated: str                         # 令和8年4月1日


class _Page:
    """Cursor-based drawing in millimetres on one A4 page."""

    LEFT, RIGHT, WIDTH = 22.0, 188.0, 166.0

    def __init__(self, font_path: str):
        problem = font_problem(font_path)
        if problem:
            raise NoticeFontMissing(problem)
        # fpdf2 is imported here, not at the top: it costs every worker ~19 MiB, and most
        # workers never draw a notice (issue 11: worker RSS).
        from fpdf import FPDF

        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(self.LEFT, 20, 210 - self.RIGHT)
        self.pdf.add_font("gothic", fname=font_path)
        self.pdf.add_page()

    def text(self, text: str, size: float, *, align: str = "L", x: float | None = None,
             width: float | None = None, gap: float = 1.5) -> None:
        self.pdf.set_font("gothic", size=size)
        self.pdf.set_x(self.LEFT if x is None else x)
        self.pdf.multi_cell(width or self.WIDTH, size * 0.5, text, align=align,
                            new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(gap)

    def rule(self) -> None:
        y = self.pdf.get_y()
        self.pdf.set_line_width(0.3)
        self.pdf.line(self.LEFT, y, self.RIGHT, y)


def _items(page: _Page, content: NoticeContent) -> None:
    """The five lines the obligee needs, label : value, between two rules."""
    rows = [("工事名", (content.work_name,)),
            ("受注者名\n(JVの場合は代表者)", content.principal_lines),
            ("商品(保証区分)", (content.product_label,)),
            ("保証契約番号", (content.contract_number,)),
            ("認証キー", (content.auth_key,))]
    pdf = page.pdf
    page.rule()
    pdf.ln(4)
    for label, values in rows:
        top = pdf.get_y()
        emphasis = label in ("保証契約番号", "認証キー")
        page.text(label, 10.5, x=page.LEFT + 6, width=48, gap=0)
        label_bottom = pdf.get_y()
        pdf.set_xy(page.LEFT + 54, top)
        pdf.set_font("gothic", size=10.5)
        pdf.cell(5, 5.25, ":")
        pdf.set_y(top)
        page.text("\n".join(values), 14 if emphasis else 10.5, x=page.LEFT + 60,
                  width=page.WIDTH - 62, gap=0)
        pdf.set_y(max(pdf.get_y(), label_bottom) + 4)
    page.rule()
    pdf.ln(5)


def _qr(page: _Page, url: str, x: float, y: float, size: float) -> None:
    """The QR code as filled squares (vector: sharp at any printer resolution)."""
    import segno  # with fpdf, at first use (see render_notice)
    code = segno.make(url, error="m")
    matrix = list(code.matrix)
    module = size / (len(matrix) + 8)   # a quiet zone of four modules each side
    page.pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        col = 0
        while col < len(cells):
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < len(cells) and cells[col]:
                col += 1
            page.pdf.rect(x + (start + 4) * module, y + (row + 4) * module,
                          (col - start) * module, module, style="F")


def _to_obligee(page: _Page, content: NoticeContent) -> None:
    pdf = page.pdf
    top = pdf.get_y()
    qr_size = 36
    text_width = page.WIDTH - qr_size - 6
    page.text(TO_OBLIGEE_HEADING, 10.5, width=text_width, gap=1)
    page.text("「保証確認サービス(D-Sure)」にログインし、上記の「保証契約番号」と「認証キー」を"
              "もって電子証書を閲覧ください。", 10.5, width=text_width)
    page.text("右のQRコードを読み取ると照会画面が開き、保証契約番号と認証キーが入力されます"
              "(「照会する」を押してください)。このPDFファイルを照会画面に読み込ませることも"
              "できます。", 9, width=text_width)
    page.text(f"照会画面: {content.portal_lookup_url}", 9, width=text_width)
    _qr(page, content.lookup_url, page.RIGHT - qr_size, top - 2, qr_size)
    pdf.set_y(max(pdf.get_y(), top + qr_size) + 8)


def render_notice(content: NoticeContent, *, font_path: str = DEFAULT_FONT) -> bytes:
    """The notice as PDF bytes (one A4 page)."""
    page = _Page(font_path)
    pdf = page.pdf
    pdf.set_title(TITLE)
    pdf.set_creator("dsure-portal")
    page.text(content.dated, 10.5, align="R", gap=6)
    page.text(TITLE, 16, align="C", gap=8)
    for paragraph in TO_PRINCIPAL:
        page.text(paragraph, 10.5, gap=2)
    pdf.ln(4)
    _items(page, content)
    _to_obligee(page, content)
    page.text("\n".join(content.surety_lines), 11, align="R", gap=0)
    return bytes(pdf.output())
