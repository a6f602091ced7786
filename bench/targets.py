"""The targets `make bench` judges, in one place (bench/report.py prints them beside the figures).

Two kinds. Figures that do not depend on the machine's load (DynamoDB requests and
capacity units per operation, so their cost; items read per page; what the authorizer
imports; the argon2 parameters) are judged exactly, in `make bench-check` and in the fast
gate that `make test` runs (`python -m bench --fast --check`). Time ratios, each against a
reference measured in the same run, are judged by `make bench-check` only: on a shared
2-core machine they move with the load.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """The most one operation may cost: DynamoDB requests, read and write request units."""

    requests: int
    read: float
    write: float


# Ceilings at the figures of 2026-12-03 (issue 16): a change that adds a request or a
# capacity unit to an operation fails the gate until the budget here is raised on
# purpose, in the same commit, with its reason. Units are on-demand request units
# computed from the items' sizes (bench/capacity.py).
BUDGETS: dict[str, Budget] = {
    "sign-up": Budget(2, 0.0, 9.0),
    "verify email": Budget(5, 1.5, 7.0),
    "login": Budget(5, 4.5, 18.0),
    "2FA verify (TOTP code)": Budget(8, 0.5, 11.0),
    "GET /me": Budget(3, 1.5, 0.0),
    "refresh": Budget(2, 0.5, 6.0),
    "logout": Budget(2, 0.5, 1.0),
    "failed login": Budget(4, 4.5, 7.0),
    "login after a failure": Budget(5, 4.5, 18.0),
    "failed login, unknown address": Budget(4, 4.5, 7.0),
    "forgot password, known address": Budget(4, 1.0, 5.0),
    "forgot password, unknown address": Budget(4, 1.0, 5.0),
    "create organization": Budget(3, 0.5, 9.0),
    "invite (email sent)": Budget(6, 3.0, 18.0),
    "accept invitation": Budget(2, 1.0, 16.0),
    "permission check (GET /orgs/{id})": Budget(1, 2.0, 0.0),
    "list members (1 page of 50)": Budget(2, 2.5, 0.0),
    "audit log (1 page of 50)": Budget(2, 2.5, 0.0),
    "create API key": Budget(3, 2.5, 8.0),
    "rotate API key": Budget(4, 3.0, 12.0),
    "revoke API key": Budget(3, 2.5, 6.0),
    "deploy an application": Budget(3, 2.5, 8.0),
    "authorizer, user JWT": Budget(0, 0.0, 0.0),
    "authorizer, API key, cold cache": Budget(1, 1.0, 0.0),
    "authorizer, API key, warm cache": Budget(0, 0.0, 0.0),
    "authorizer, mistyped API key": Budget(0, 0.0, 0.0),
}

# Pages of 100 at 100 and at 10,000 items: one Query from the cursor's key with
# Limit = page size + 1, plus the permission check, whatever the size or depth.
PAGE_REQUESTS = 2
PAGE_MAX_ITEMS_READ = 101
# The large list's page may read a few bytes more per item (longer seeded values).
PAGE_MAX_UNIT_GROWTH = 1.25

# The authorizer loads none of these (its cold start budget; the README's "Cold starts").
FORBIDDEN_IN_AUTHORIZER = ("argon2", "pyotp", "pydantic", "pynamodb")

# -- time ratios, judged by `make bench-check` ------------------------------------------
AUTHORIZER_IMPORT_MAX_RATIO = 1.25  # × `import boto3`
HANDLER_IMPORT_MAX_RATIO = 1.6
# The provider sign-in's function is the only one whose tree holds `cryptography` (Authlib
# and joserfc check Google's and GitLab's ID tokens with it), and PyJWT imports it as it
# loads whenever it is installed: 60 modules more than any other handler (526), measured
# 1.48-1.84x since issue 13 and 1.74x with 15 runs on 2026-12-04.
OAUTH_IMPORT_MAX_RATIO = 1.9
# Each function's import with the build's byte code against the same import without (CPU
# time). What it guards is a build that ships no byte code, or byte code Lambda's Python
# would not use: that measures 0.85-1.0. A working build measured 0.36-0.49 for handlers
# and 0.47-0.55 for the authorizer from run to run on the 2-core machine (2026-12-04: it
# compiles the least code of its own, so the fixed part of its import weighs more); 0.5
# was inside that noise. One that costs less than BYTE_CODE_MIN_JUDGED_MS without byte
# code has next to nothing to compile (the OpenAPI function) and is not judged.
BYTE_CODE_MAX_RATIO = 0.65
BYTE_CODE_MIN_JUDGED_MS = 30.0
AUTHORIZER_MAX_DECODE_RATIO = 3.0  # user JWT and warm-cache key, × a bare jwt.decode
# Login's own work (the time outside DynamoDB) × one bare argon2id verify with the same
# parameters: the password check is most of a login, everything else at most half of it.
LOGIN_MAX_ARGON2_RATIO = 1.5  # the median of run-by-run ratios (timed side by side)
# Known and unknown addresses: the median of run-by-run ratios within 5% (or 2 ms) of 1,
# same calls. The two take turns going first in each run (bench/flows.py).
TIMING_MAX_DIFFERENCE = 0.05
TIMING_MIN_TOLERANCE_MS = 2.0
# A page at 10,000 items (the first and a deep one) × a page at 100, our own work.
PAGE_MAX_TIME_RATIO = 1.5
