"""Reading (保証契約番号, 認証キー) pairs out of notices, whoever printed them (DESIGN §9).
No database, no Flask: bytes or text in, pairs or a reason out."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.errors import UnreadableNotice
from registry.notices.pdf import DEFAULT_FONT
from registry.notices.reading import (MAX_CONTENT_BYTES, MAX_NOTICE_BYTES, MAX_PAIRS,
                                      MAX_PASTED_CHARS, NoticePair, find_pairs, pairs_in_pdf,
                                      pairs_in_text, pdf_text)
from tests import notices

needs_font = pytest.mark.skipif(not os.path.isfile(DEFAULT_FONT),
                                reason="fonts-ipaexfont-gothic is not installed")
K1, K2 = "Z28YUE4J3Bux", "aB3cD4eF5gH6"


def refusal(read, data) -> str:
    with pytest.raises(UnreadableNotice) as caught:
        read(data)
    return caught.value.reason


# --- notices that read -------------------------------------------------------------

@needs_font
def test_our_own_notice_reads_back():
    assert pairs_in_pdf(notices.own_notice("10001-000001", K1)) == [NoticePair("10001-000001", K1)]


@needs_font
def test_our_own_notice_for_a_jv_with_a_long_work_name_reads_back():
    data = notices.own_notice("20001-000002", K2, jv=True, product="契約保証",
                              work="市道角田線舗装補修工事(その2)及び関連する排水施設の改良工事ならびに附帯工事一式")
    assert pairs_in_pdf(data) == [NoticePair("20001-000002", K2)]


@needs_font
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_poppler_extracts_our_notice_with_its_japanese():
    text = subprocess.run(["pdftotext", "-", "-"], input=notices.own_notice("10001-000001", K1),
                          capture_output=True, check=True).stdout.decode()
    for expected in ("電子保証にかかる「認証キー」のお知らせ", "市道角田線舗装補修工事", "角田建設株式会社",
                     "前払金保証", "10001-000001", K1, "東日本建設業保証株式会社"):
        assert expected in text


def test_a_notice_printed_by_another_program_in_the_seeds_spacing_reads():
    data = notices.other_program_notice(("10001-000001", K1))
    assert "認 証 キー" in pdf_text(data)  # the spaces inside the label are really there
    assert pairs_in_pdf(data) == [NoticePair("10001-000001", K1)]


def test_a_jv_notice_from_another_program_reads():
    data = notices.other_program_notice(("20001-000002", K2), jv=True)
    assert pairs_in_pdf(data) == [NoticePair("20001-000002", K2)]


def test_two_notices_in_one_file_give_both_pairs_in_order():
    data = notices.other_program_notice(("10001-000001", K1), ("10001-000002", K2))
    assert pairs_in_pdf(data) == [NoticePair("10001-000001", K1), NoticePair("10001-000002", K2)]


@needs_font
def test_two_of_our_notices_merged_into_one_file_give_both_pairs():
    data = notices.merged(notices.own_notice("10001-000001", K1),
                          notices.own_notice("10001-000002", K2, product="契約保証"))
    assert pairs_in_pdf(data) == [NoticePair("10001-000001", K1), NoticePair("10001-000002", K2)]


def test_a_table_whose_values_come_after_all_its_labels_reads():
    assert pairs_in_pdf(notices.column_notice("10001-000001", K1)) == [NoticePair("10001-000001", K1)]


def test_a_pdf_with_only_an_owner_password_opens_as_business_pdfs_do():
    data = notices.encrypted(notices.other_program_notice(("10001-000001", K1)), user_password="")
    assert pairs_in_pdf(data) == [NoticePair("10001-000001", K1)]


@pytest.mark.parametrize("text", [
    # The seed's own lines, spacing and all.
    "工 事 名 : ●●●●工事\n受 注 者 名 : 〇〇建設 株式会社\n(JVの場合は代表者)\n"
    "商品(保証区分) : 前払金保証\n保証契約番号 : 10001-000001\n認 証 キー : Z28YUE4J3Bux\n",
    # Full-width everything, the value on the next line.
    "保証契約番号：１０００１－０００００１\n認証キー：\nＺ２８ＹＵＥ４Ｊ３Ｂｕｘ\n",
    # An email: label and value far apart, a long-vowel mark for the dash, half-width kana.
    "いつもお世話になっております。\n保証契約番号\n\n10001ー000001\n\nｷｰ の前に 認証ｷｰ\n\n【 Z28YUE4J3Bux 】\n",
    # No dash after the label, key letter-spaced by a viewer's copy.
    "保証契約番号 10001000001 認証キー Z 2 8 Y U E 4 J 3 B u x",
    # The key before the number.
    "認証キー: Z28YUE4J3Bux / 保証契約番号: 10001-000001",
    # Control characters some extractors leave between two-byte characters.
    "\x00保\x00証\x00契\x00約\x00番\x00号\x00 \x00:\x00 \x001\x000\x000\x000\x001\x00-\x000\x000\x000\x000\x000\x001"
    "\n\x00認\x00証\x00キ\x00ー\x00 \x00:\x00 " + "".join("\x00" + c for c in K1),
])
def test_pasted_text_in_many_shapes_gives_the_pair(text):
    assert pairs_in_text(text) == [NoticePair("10001-000001", K1)]


def test_the_seed_guide_itself_gives_its_sample_pair():
    """Seed 003 (the municipal guide, beside the repository as shared/seeds) shows a notice."""
    root = Path(__file__).resolve().parents[2]
    seeds = [p for d in (root.parent / "shared" / "seeds", Path("/work/shared/seeds")) if d.is_dir()
             for p in d.glob("003_*.txt")]
    if not seeds:
        pytest.skip("the seed guides (shared/seeds) are not beside this clone")
    assert find_pairs(seeds[0].read_text(encoding="utf-8")) == [NoticePair("00000-000000", K1)]


@pytest.mark.parametrize("text", [
    "認証キーは発注者様にお知らせください。保証契約番号 10001-000001",   # a label in a sentence
    "認証キー: Z28YUE4J3BuxQ\n保証契約番号: 10001-000001",                  # 13 characters
    "認証キー: Z28YUE4J3Bu\n保証契約番号: 10001-000001",                    # 11 characters
    "認証キー: Z28YUE4J3B0x\n保証契約番号: 10001-000001",                   # a 0: not the alphabet
    "保証契約番号: 10001-000001 Z28YUE4J3Bux",                               # a key without its label
    "認証キー: Z28YUE4J3Bux\n電話 022-262-8531",                            # no contract number
])
def test_text_without_a_labelled_pair_gives_none(text):
    assert find_pairs(text) == []


# --- bad input ----------------------------------------------------------------------

def test_what_is_not_a_pdf_is_refused():
    assert refusal(pairs_in_pdf, b"\x89PNG\r\n\x1a\n" + b"\0" * 100) == "not_pdf"
    assert refusal(pairs_in_pdf, "保証契約番号 10001-000001".encode()) == "not_pdf"
    assert refusal(pairs_in_pdf, b"") == "not_pdf"


def test_a_file_over_two_mebibytes_is_refused_unread():
    assert refusal(pairs_in_pdf, b"%PDF-1.7\n" + b" " * MAX_NOTICE_BYTES) == "too_large"


def test_a_pdf_that_needs_a_password_is_refused():
    data = notices.encrypted(notices.other_program_notice(("10001-000001", K1)), user_password="secret")
    assert refusal(pairs_in_pdf, data) == "encrypted"


@pytest.mark.parametrize("data", [
    b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R",       # cut off
    b"%PDF-1.7\n" + bytes(range(256)) * 40,                     # noise after the header
])
def test_a_broken_pdf_is_refused(data):
    assert refusal(pairs_in_pdf, data) == "broken"


def test_a_truncated_notice_is_refused():
    data = notices.other_program_notice(("10001-000001", K1))
    assert refusal(pairs_in_pdf, data[: len(data) // 3]) in ("broken", "no_text")


def test_a_scan_without_text_says_so():
    assert refusal(pairs_in_pdf, notices.scanned_notice()) == "no_text"


def test_a_decompression_bomb_is_refused_without_being_inflated():
    # 1 MB of spaces around one string, 40 MB in all, deflates to ~40 KB.
    content = b"BT /F1 12 Tf 72 720 Td (hello) Tj ET\n" + b" " * 40_000_000
    data = notices.raw_pdf(content)
    assert len(data) < 200_000
    assert refusal(pairs_in_pdf, data) == "too_much"


def test_more_drawing_instructions_than_notices_have_are_refused_before_parsing():
    # ~300 KB of text operators: under every decompression limit, but a page of a notice
    # has a few KB, and parsing costs time per byte.
    operators = b"".join(b"BT /F1 8 Tf 10 %d Td (x) Tj ET\n" % (i % 800) for i in range(12_000))
    assert len(operators) > MAX_CONTENT_BYTES
    assert refusal(pairs_in_pdf, notices.raw_pdf(operators)) == "too_much"


def test_a_pdf_with_too_many_pages_is_refused():
    assert refusal(pairs_in_pdf, notices.pages_of_text(25)) == "too_much"


def test_a_pdf_with_text_but_no_pair_says_so():
    assert refusal(pairs_in_pdf, notices.pages_of_text(1)) == "no_pair"
    assert refusal(pairs_in_pdf, notices.raw_pdf(b"BT /F1 12 Tf 72 720 Td (Invoice 2026) Tj ET")) == "no_pair"


def test_more_pairs_than_a_notice_holds_are_refused():
    text = "\n".join(f"保証契約番号 10001-{i:06d} 認証キー {K1}" for i in range(MAX_PAIRS + 1))
    assert refusal(pairs_in_text, text) == "too_many_pairs"
    assert len(pairs_in_text("\n".join(text.splitlines()[:MAX_PAIRS]))) == MAX_PAIRS


def test_pasted_text_too_long_or_without_a_pair_is_refused():
    assert refusal(pairs_in_text, "保証契約番号 10001-000001 認証キー " + K1 + " " * MAX_PASTED_CHARS) == "text_too_long"
    assert refusal(pairs_in_text, "よろしくお願いいたします。") == "no_pair"
