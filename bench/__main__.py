"""`python -m bench` (`make bench`)."""

from __future__ import annotations

from bench.report import main

raise SystemExit(main())
