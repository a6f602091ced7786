"""The headers every web-console file answers with, wherever it is served from: the
local server (`devserver`) and CloudFront's response-headers policy (template.yaml;
a test holds the two to this module).

The console is static files on the API's own site, so its policy allows only this
origin: scripts and styles from files (no `unsafe-inline`), the QR code as a `data:`
image, `fetch` to the API on the same origin, nothing framed, nothing framing it.
"""

from __future__ import annotations

from kuploy_access.http.problems import TRANSPORT_HEADERS

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

CONSOLE_HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    # A sign-in link's `login_code` sits in the console's URL until the page clears it.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    **TRANSPORT_HEADERS,
}

# No build step, so no content-hashed file names: browsers revalidate every file
# (a 304 costs a round trip, a stale script after a deploy would cost correctness).
CONSOLE_CACHE_CONTROL = "no-cache"

CONSOLE_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}
