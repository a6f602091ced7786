"""python -m tools.soak [--clients 50] [--duration 600] [--warmup 60] [--seed 16] [--no-memory-judgement]

Starts `python -m devserver` on a free port, runs the soak against it, prints the table
and exits 1 when a judgement fails."""

from __future__ import annotations

import argparse
import sys

from tools.soak.local_server import LocalServer
from tools.soak.report import judge, render
from tools.soak.runner import SoakOptions, run_soak


def main(argv: list[str] | None = None) -> int:
    defaults = SoakOptions()
    parser = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--duration", type=float, default=defaults.duration_s, help="seconds, warm-up included")
    parser.add_argument("--warmup", type=float, default=defaults.warmup_s, help="seconds")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--no-memory-judgement", action="store_true", help="print the memory figures without judging them"
    )
    args = parser.parse_args(argv)
    if args.warmup >= args.duration:
        parser.error("--warmup must be shorter than --duration")
    options = SoakOptions(clients=args.clients, duration_s=args.duration, warmup_s=args.warmup, seed=args.seed)
    server = LocalServer().start()
    try:
        print(f"soak: {options.clients} clients against {server.base_url} (pid {server.pid})", flush=True)
        result = run_soak(options, server.base_url, server.pid)
    finally:
        server.stop()
    judge_memory = not args.no_memory_judgement
    judgement = judge(result, judge_memory)
    print(render(result, judgement, judge_memory), flush=True)
    return 0 if judgement.passed else 1


if __name__ == "__main__":
    sys.exit(main())
