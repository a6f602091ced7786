"""`make bench`: DynamoDB requests and time per flow, cold import cost, argon2 cost.

Run as `python -m bench` from the project root. It prints a report and exits 0 even
when a target is missed (the report says FAIL); it writes nothing but the cached
layer-like environment in `.venv-bench/`.
"""
