"""全国地方公共団体コード: five digits and a check digit (modulus 11, weights 6..2)."""
from __future__ import annotations

import re

_SIX_DIGITS = re.compile(r"[0-9]{6}")  # fullmatch: "$" would let "042081\n" in


def check_digit(first_five: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


def is_valid_obligee_code(code: str) -> bool:
    return bool(_SIX_DIGITS.fullmatch(code)) and int(code[5]) == check_digit(code[:5])
