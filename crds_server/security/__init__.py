"""Security: the limits on what a request may cost, early refusal of bodies,
login throttling, pipeline keys, production-safety checks and private file modes.

Every protection the server gives an anonymous caller lives here, so an
auditor reads one package (docs/operations.md, "Security", says what it
guarantees and what the reverse proxy must add).
"""
