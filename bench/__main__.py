"""`python -m bench` (`make bench`), `python -m bench --check` (`make bench-check`)."""

from __future__ import annotations

from bench.report import main

raise SystemExit(main())
