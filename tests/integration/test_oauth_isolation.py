"""The OAuth client libraries load in the OAuth function only (issue 13): importing any
other function, the authorizer included, loads none of Authlib, joserfc or requests.
(The OAuth function itself loads them on its first provider call, through
`wiring.provider_directory`.) `make bench` measures the import times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devserver.embedded_aws import LOCAL_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
OAUTH_LIBRARIES = ("authlib", "joserfc", "requests")

_PROGRAM = """
import importlib.util, json, sys
sys.path.insert(0, {shared!r})
loaded = {{}}
for name, path in {functions!r}:
    spec = importlib.util.spec_from_file_location("app_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded[name] = sorted({{m.split(".")[0] for m in sys.modules}} & set({libraries!r}))
print(json.dumps(loaded))
"""


def _loaded_after_import(functions: list[tuple[str, str]]) -> dict[str, list[str]]:
    program = _PROGRAM.format(shared=str(ROOT / "shared"), functions=functions, libraries=OAUTH_LIBRARIES)
    env = {**LOCAL_ENVIRONMENT, "PUBLIC_BASE_URL": "http://127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    answer = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=120
    )
    return json.loads(answer.stdout)


def test_no_function_but_oauth_loads_an_oauth_library():
    others = sorted(
        (path.parent.name, str(path)) for path in (ROOT / "functions").glob("*/app.py") if path.parent.name != "oauth"
    )
    assert len(others) >= 12
    loaded = _loaded_after_import(others)
    assert loaded == {name: [] for name, _ in others}


def test_only_the_oauth_function_ships_them():
    """sam build installs a function's own requirements.txt into that function alone."""
    own = sorted(path.parent.name for path in (ROOT / "functions").glob("*/requirements.txt"))
    assert own == ["oauth"]
    wanted = (ROOT / "functions" / "oauth" / "requirements.txt").read_text()
    assert all(f"{library}==" in wanted for library in OAUTH_LIBRARIES)
    layer = (ROOT / "shared" / "requirements.txt").read_text().lower()
    assert not any(f"{library}==" in layer for library in OAUTH_LIBRARIES)
