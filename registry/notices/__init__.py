"""Notices: the 「電子保証にかかる「認証キー」のお知らせ」 at both ends (DESIGN §9) — issuing
it for a surety as a PDF (issuing, pdf) and reading (number, key) pairs back out of a
notice a clerk uploads or pastes (reading)."""
