"""The domain core of dsure-portal: certificates, revisions, auth keys, the audit chain.

Plain Python and peewee. This package never imports flask or werkzeug; the web app
imports it, never the reverse (tests/registry/test_layering.py enforces that).
"""
