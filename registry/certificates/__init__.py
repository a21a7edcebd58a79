"""Certificates: what a surety posts and an obligee opens.

Owns the signed document and its rules (documents), accepting revisions (ingest), the
visible history and status (history), signatures and their verification (signatures,
verification), auth keys and the lookup (auth_keys, normalise, lookup), an organisation's
list (portfolio), how a certificate reads on paper (presentation) and what a surety
reads back of its own (surety_readback).
"""
