"""What people type, made comparable: full-width digits, stray dashes and spaces."""
from __future__ import annotations

import re
import unicodedata

# Dashes a clerk's IME produces that NFKC does not map to "-": hyphen, non-breaking
# hyphen, figure dash, en/em dash, horizontal bar, minus sign, katakana prolonged mark.
_DASHES_AND_SPACES = re.compile("[\\s\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\ufe63]")
_CONTRACT_DIGITS = re.compile(r"^[0-9]{11}$")


def normalise_contract_number(typed: str) -> str | None:
    """``12345-678901`` from anything a person might type for it, or None."""
    digits = _DASHES_AND_SPACES.sub("", unicodedata.normalize("NFKC", typed or ""))
    if not _CONTRACT_DIGITS.match(digits):
        return None
    return f"{digits[:5]}-{digits[5:]}"


def normalise_auth_key(typed: str) -> str:
    """Auth keys are case-sensitive; only width and whitespace are forgiven."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", typed or ""))
