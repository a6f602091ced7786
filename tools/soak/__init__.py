"""`make soak-load`: a mixed workload from many clients against the local server, judged.

Sign-ins, refreshes, API-key reads, invitations and their acceptance, from N concurrent
clients (each from its own loopback address, with its own accounts and organization) for
a set time against `python -m devserver`, which the tool starts itself. Afterwards the
organizations are checked over HTTP (invariants.py), and the report (report.py) judges:
no 5xx, no unexpected answer, no invariant violated, the server's memory flat. A failed
judgement exits non-zero.
"""
