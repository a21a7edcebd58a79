"""What a new password must be: one rule for every path that sets one (the account page,
an admin's /staff forms, the operator's `user add` and `user set-password`).

At least 12 characters; not guessable by the estimate of zxcvbn (Dropbox's estimator,
which ships the 30,000 most common passwords of public breaches, English words, names,
keyboard walks, repeats and sequences: all offline, nothing leaves the machine); and
containing neither the email's local part nor the organisation's name. Comparisons are
on the NFKC, case-folded text, so 全角 letters are no way round the rule. Messages say
why in Japanese and never repeat what was typed.
"""
from __future__ import annotations

import re
import unicodedata


from ..errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# zxcvbn's 0..4 score; 3 means about 10^8 guesses or more ("safely unguessable" for an
# online attack, some protection offline), its authors' advice for a password policy.
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); the head is what is guessable.
_ESTIMATED_LENGTH = 72
# Pieces of an email's local part shorter than this ("a", "jp") are in too many words
# to refuse; zxcvbn still weighs them (they are passed to it as user inputs).
_MIN_PIECE = 4
_ORGANISATION_SUFFIXES = ("市", "町", "村", "区", "株式会社", "有限会社")

WHY = {
    "repeat": "同じ文字や言葉を繰り返しています",
    "sequence": "連続した文字や数字(abc、123 など)が中心です",
    "spatial": "キーボードの並び(qwerty など)が中心です",
    "passwords": "よく使われるパスワード(過去に漏えいしたパスワードの一覧にあるもの)に近いものです",
    "user_inputs": "メールアドレスや組織名に近いものです",
    "words": "辞書にある単語や人名だけでできています",
    "date": "日付や年が中心です",
    "short": "短く単純な並びです",
}


class WeakPassword(InvalidInput):
    """A password the policy refuses; the message says why."""

    reason = "weak_password"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


def _email_pieces(email: str | None) -> list[str]:
    local = _fold(email).partition("@")[0]
    pieces = {local, *re.split(r"[._+\-]+", local)}
    return sorted((p for p in pieces if len(p) >= _MIN_PIECE), key=len, reverse=True)


def _organisation_names(name: str | None) -> list[str]:
    folded = _fold(name).replace(" ", "").replace("\u3000", "")
    names = {folded}
    for suffix in _ORGANISATION_SUFFIXES:
        stem = folded.removesuffix(suffix).removeprefix(suffix)
        if len(stem) >= 2:
            names.add(stem)
    return sorted((n for n in names if len(n) >= 2), key=len, reverse=True)


def _why_guessable(sequence: list[dict]) -> str:
    """The reason of the longest recognised part of the password."""
    recognised = [m for m in sequence if m["pattern"] != "bruteforce"]
    if not recognised:
        return WHY["short"]
    match = max(recognised, key=lambda m: len(m["token"]))
    pattern = match["pattern"]
    if pattern == "dictionary":
        name = match.get("dictionary_name")
        return WHY["passwords" if name == "passwords" else
                   "user_inputs" if name == "user_inputs" else "words"]
    if pattern in ("date", "regex"):  # zxcvbn's only regex is "recent year"
        return WHY["date"]
    return WHY.get(pattern, WHY["short"])


def check_password_strength(password: str, *, email: str | None = None,
                            organisation_name: str | None = None,
                            organisation_code: str | None = None) -> None:
    """Raise WeakPassword (with the reason, in Japanese) unless ``password`` may be used
    by the account of ``email`` in the organisation named ``organisation_name``."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"パスワードは{MAX_PASSWORD_LENGTH}文字以内にしてください。")
    folded = _fold(password)
    if any(piece in folded for piece in _email_pieces(email)):
        raise WeakPassword("パスワードにメールアドレスの@より前の部分が含まれています。"
                           "推測されやすいため使えません。")
    if any(name in folded for name in _organisation_names(organisation_name)):
        raise WeakPassword("パスワードに組織名が含まれています。推測されやすいため使えません。")
    hints = [*_email_pieces(email), *_organisation_names(organisation_name),
             *([organisation_code] if organisation_code else [])]
    # Line breaks read as spaces: zxcvbn's date matcher ends its patterns with "$", which
    # also matches before a final newline, and then fails on the newline itself.
    estimated = unicodedata.normalize("NFKC", password)[:_ESTIMATED_LENGTH]
    # Imported on first use: its frequency lists cost every worker ~12 MiB, and passwords
    # are set far more rarely than pages are served (issue 11: worker RSS).
    from zxcvbn import zxcvbn

    estimate = zxcvbn(estimated.replace("\r", " ").replace("\n", " "), user_inputs=hints)
    if estimate["score"] < MIN_SCORE:
        raise WeakPassword(f"推測されやすいパスワードです({_why_guessable(estimate['sequence'])})。"
                           "単語をいくつかつなげた、長い文章のようなパスワードにしてください。")
