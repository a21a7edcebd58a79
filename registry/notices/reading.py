"""Reading the 「認証キー」のお知らせ (DESIGN §9): every (保証契約番号, 認証キー) pair in a
notice PDF or in pasted email text, whoever printed it.

Sureties print the notice with their own programs, fonts and spacing, and text extraction
adds its own breaks, so the labels are matched with any spacing inside (「認 証 キー :」),
after NFKC (full-width letters and digits), and a value may sit on a later line than its
label or after a column of other labels. A key is taken only right after its label and
only from the key's own alphabet; a contract number is taken wherever its shape
(5 digits, a dash, 6 digits) appears, and each key pairs with the nearest number before it.

The upload is bytes in memory and nothing here writes it anywhere. Reading is bounded: a
notice is a page or two, so a file that needs more pages, decoded bytes or text than a
pile of notices is refused instead of read (a decompression bomb costs next to nothing).
"""
from __future__ import annotations

import dataclasses
import io
import re
import unicodedata


from ..certificates.auth_keys import ALPHABET, LENGTH
from ..errors import UnreadableNotice
from ..certificates.normalise import normalise_contract_number

MAX_NOTICE_BYTES = 2 * 1024 * 1024
MAX_PAGES = 20
MAX_TEXT_CHARS = 200_000          # extracted from a whole file; a notice page has ~600
MAX_PASTED_CHARS = 50_000
MAX_PAIRS = 10                    # each pair is a counted lookup
# Drawing instructions (decoded page and form contents) in the whole file. A notice page
# has ~2-12 KB; parsing costs a few microseconds a byte, so this bounds the time too. A
# form (XObject) may be drawn up to _FORM_DRAWS times, and is counted that many times.
MAX_CONTENT_BYTES = 256 * 1024
_FORM_DRAWS = 4

# pypdf's own guards, tightened to what a notice can need (defaults are 75 MB per stream).
_PDF_LIMITS = dict(
    zlib_maximum_output_length=2_000_000, lzw_maximum_output_length=2_000_000,
    run_length_maximum_output_length=2_000_000, brotli_maximum_output_length=2_000_000,
    array_based_stream_maximum_output_length=2_000_000, jbig2_maximum_output_length=2_000_000,
    image_maximum_buffer_size=2_000_000, stream_decoding_work_maximum_length=8_000_000,
    stream_parsing_work_maximum_count=400_000, xform_maximum_invocations_per_extraction=_FORM_DRAWS,
    page_tree_maximum_entries=1_000, jbig2dec_binary=None,
)


@dataclasses.dataclass(frozen=True)
class NoticePair:
    contract_number: str   # 12345-678901
    auth_key: str


# --- text out of a PDF -----------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    """The text of a notice PDF, or UnreadableNotice saying why there is none."""
    if len(data) > MAX_NOTICE_BYTES:
        raise UnreadableNotice("too_large")
    if b"%PDF-" not in data[:1024]:  # the header may follow a little junk (PDF 32000 Annex H)
        raise UnreadableNotice("not_pdf")
    # pypdf is imported here, not at the top: it costs every worker ~17 MiB, and most
    # workers never read a notice (issue 11: worker RSS).
    import pypdf
    from pypdf.errors import LimitReachedError

    try:
        with pypdf.apply_configuration(**_PDF_LIMITS):
            text = _extract(pypdf.PdfReader(io.BytesIO(data), strict=False))
    except (UnreadableNotice, MemoryError):
        raise
    except LimitReachedError:
        raise UnreadableNotice("too_much") from None
    except Exception:  # noqa: BLE001 - any failure of a parser on a hostile file: unreadable
        raise UnreadableNotice("broken") from None
    if not text.strip():
        raise UnreadableNotice("no_text")
    return text


def _extract(reader) -> str:
    if reader.is_encrypted and not _opens_without_password(reader):
        raise UnreadableNotice("encrypted")
    if len(reader.pages) > MAX_PAGES:
        raise UnreadableNotice("too_much")
    if sum(_content_bytes(page) for page in reader.pages) > MAX_CONTENT_BYTES:
        raise UnreadableNotice("too_much")
    chunks, total = [], 0
    for page in reader.pages:
        chunk = page.extract_text() or ""
        total += len(chunk)
        if total > MAX_TEXT_CHARS:
            raise UnreadableNotice("too_much")
        chunks.append(chunk)
    return "\n".join(chunks)


def _streams(value) -> list:
    value = value.get_object() if value is not None else None
    if value is None:
        return []
    return [v.get_object() for v in value] if isinstance(value, list) else [value]


def _content_bytes(page, depth: int = 0) -> int:
    """Decoded bytes of the page's drawing instructions and of the forms it draws."""
    total = sum(len(stream.get_data()) for stream in _streams(page.get("/Contents")))
    resources = (page.get("/Resources") or {})
    resources = resources.get_object() if hasattr(resources, "get_object") else resources
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Form":
            total += len(xobject.get_data()) * _FORM_DRAWS
            if depth < 3:
                total += _content_bytes({"/Resources": xobject.get("/Resources")}, depth + 1)
    return total


def _opens_without_password(reader) -> bool:
    """Many business PDFs carry only an owner password (no editing): they open as is."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # noqa: BLE001 - an unsupported or broken encryption: still locked
        return False


# --- pairs out of text -----------------------------------------------------------------

def _spaced(word: str) -> str:
    """A label with any whitespace between its characters; ー may come out as a dash."""
    parts = ["[ー\\-−―‐ｰ]" if c == "ー" else re.escape(c) for c in word]
    return r"\s*".join(parts)


_KEY_LABEL = re.compile(_spaced("認証キー"))
_NUMBER_LABEL = re.compile(f"(?:{_spaced('保証契約番号')}|{_spaced('契約番号')})")
_SEPARATORS = re.compile(r"[\s:=\[\]【】「」『』]*")
_KEY_CHAR = f"[{re.escape(ALPHABET)}]"
# Twelve key characters, perhaps letter-spaced on one line, and nothing alphanumeric after.
_KEY_VALUE = re.compile(rf"(?:{_KEY_CHAR}[ \t]*){{{LENGTH - 1}}}{_KEY_CHAR}(?![0-9A-Za-z])")
_DASH = "\\-‐‑‒–—―−ー﹣"
_NUMBER_VALUE = re.compile(
    rf"(?<![0-9])((?:[0-9][ \t]?){{4}}[0-9])[ \t]*[{_DASH}][ \t]*((?:[0-9][ \t]?){{5}}[0-9])(?![0-9])")
_BARE_NUMBER = re.compile(r"[0-9]{11}(?![0-9])")  # right after its label only
# What may stand between a key's label and its value in a column layout.
_SKIPPABLE = (_KEY_LABEL, _NUMBER_LABEL, _NUMBER_VALUE, _BARE_NUMBER)
_MAX_SKIPS = 6


def _normalised(text: str) -> str:
    """NFKC, one kind of line break, and no control characters (some extractors emit NULs
    between the characters of a two-byte font)."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def _key_after(text: str, position: int) -> tuple[int, str] | None:
    """(where, key) for the key that follows a key label ending at ``position``."""
    for _ in range(_MAX_SKIPS):
        position = _SEPARATORS.match(text, position).end()
        value = _KEY_VALUE.match(text, position)
        if value:
            return value.start(), re.sub(r"\s", "", value.group())
        skipped = next((m for m in (p.match(text, position) for p in _SKIPPABLE) if m), None)
        if skipped is None or skipped.end() == position:
            return None
        position = skipped.end()
    return None


def _numbers(text: str) -> list[tuple[int, str]]:
    found = [(m.start(), normalise_contract_number(m.group(1) + m.group(2)))
             for m in _NUMBER_VALUE.finditer(text)]
    for label in _NUMBER_LABEL.finditer(text):
        bare = _BARE_NUMBER.match(text, _SEPARATORS.match(text, label.end()).end())
        if bare:
            found.append((bare.start(), normalise_contract_number(bare.group())))
    return sorted((at, n) for at, n in found if n is not None)


def _keys(text: str) -> list[tuple[int, str]]:
    keys = {}
    for label in _KEY_LABEL.finditer(text):
        found = _key_after(text, label.end())
        if found:
            keys[found[0]] = found[1]
    return sorted(keys.items())


def find_pairs(text: str) -> list[NoticePair]:
    """Every (contract number, auth key) pair in ``text``, in reading order, once each.
    A key pairs with the nearest number before it (and after the previous key); failing
    that, with the first unpaired number after it."""
    text = _normalised(text)
    numbers, keys = _numbers(text), _keys(text)
    claimed: set[int] = set()
    pairs: list[NoticePair] = []
    for i, (at, key) in enumerate(keys):
        since = keys[i - 1][0] if i else -1
        until = keys[i + 1][0] if i + 1 < len(keys) else len(text)
        before = [j for j, (n_at, _) in enumerate(numbers) if since < n_at < at]
        after = [j for j, (n_at, _) in enumerate(numbers) if at < n_at < until and j not in claimed]
        chosen = before[-1] if before else (after[0] if after else None)
        if chosen is None:
            continue
        claimed.add(chosen)
        pair = NoticePair(numbers[chosen][1], key)
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def _pairs_or_refusal(text: str) -> list[NoticePair]:
    pairs = find_pairs(text)
    if not pairs:
        raise UnreadableNotice("no_pair")
    if len(pairs) > MAX_PAIRS:
        raise UnreadableNotice("too_many_pairs")
    return pairs


def pairs_in_pdf(data: bytes) -> list[NoticePair]:
    """The pairs of a notice PDF; UnreadableNotice when there are none (or too many)."""
    return _pairs_or_refusal(pdf_text(data))


def pairs_in_text(text: str) -> list[NoticePair]:
    """The pairs in pasted text (an email, a notice's text copied out of a viewer)."""
    if len(text) > MAX_PASTED_CHARS:
        raise UnreadableNotice("text_too_long")
    return _pairs_or_refusal(text)
