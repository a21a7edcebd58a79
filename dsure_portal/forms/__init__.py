"""Flask-WTF forms, one module per audience (auth, certificates, audit)."""
