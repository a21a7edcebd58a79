"""The obligee desk (DESIGN §10): an obligee's own record of the contract behind a
certificate, the checks of the certificate against it and against the standard contract
terms, the import of a whole contract register, and the clerk's work queue.

Owns the ``obligee_contract`` table. Sits on the certificates side (models, history,
verification, portfolio, lookup) and the audit chain; nothing below it imports it except
``ingest``, which asks it to re-check a certificate when a new revision is stored, in the
same transaction.

- ``terms``: what a contract record holds and how it is read (API JSON, form, CSV text)
- ``rules``: the checks, each a plain function of (signed document, contract terms)
- ``records``: recording a contract and reading the checks of a certificate
- ``register``: the CSV contract register import
- ``queue``: the work-queue counts and the list filters behind them
"""
