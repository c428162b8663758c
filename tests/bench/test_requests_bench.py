"""Smoke test of ``bench/requests.py``: a ``--quick`` run against a real server prints
every figure, and the race it runs has exactly one winner per round.

The targets themselves are not asserted: the quick sizes are too small to mean
anything and the machine is shared. Run the full bench for the figures.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast

import pytest

from tests.conftest import SHARED_ANONYMISER_CACHE, make_settings

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "requests.py"
NEEDED = (
    ("GET", "/api/ping"),
    ("POST", "/api/requests"),
    ("GET", "/api/coach/requests"),
    ("POST", "/api/coach/requests/{}/accept"),
)

pytestmark = pytest.mark.slow


def _routes(data_dir: Path) -> set[tuple[str, str]]:
    """(method, path) of every route the site serves, path parameters as ``{}``."""
    from matching.traffic import Traffic
    from web.app import create_app

    # Building the app reads only the settings; nothing starts, nothing is opened.
    stand_in = SimpleNamespace(settings=make_settings(data_dir), traffic=Traffic())
    app = create_app(cast(Any, stand_in))
    return {
        (method, re.sub(r"\{[^}]*\}", "{}", route.path))
        for route in app.routes
        for method in getattr(route, "methods", ())
    }


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coachmatch_bench_requests", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_every_figure(tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    missing = [f"{m} {p}" for m, p in NEEDED if (m, p) not in routes]
    if missing:
        pytest.skip(f"the bench needs endpoints the site does not serve yet: {missing}")

    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--json",
            "--cache-dir",
            str(SHARED_ANONYMISER_CACHE),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"the bench failed:\n{done.stderr[-4000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])

    for prefix in ("ping", "submit", "race", "feed", "feed_loaded"):
        assert result[f"{prefix}_count"] > 0, prefix
        for figure in ("per_second", "p50_ms", "p99_ms", "max_ms"):
            value = result[f"{prefix}_{figure}"]
            assert math.isfinite(value) and value > 0, (prefix, figure, value)
    assert result["submit_statuses"] == {"201": result["submit_count"]}
    assert result["feed_statuses"] == {"200": result["feed_count"]}
    assert result["feed_loaded_statuses"] == {"200": result["feed_loaded_count"]}
    assert result["feed_sample_items"] > 0
    # The race: one 200 in every round (the warm-up too), every other answer a 409.
    assert result["race_all_rounds_one_winner"] is True
    assert result["race_rounds_one_winner"] == result["race_rounds"] + 1
    assert result["race_statuses"] == {
        "200": result["race_rounds"],
        "409": result["race_count"] - result["race_rounds"],
    }
    assert result["race_5xx"] == 0
    assert set(result["ok"]) == {"submit_ratio", "race_p99", "race_one_winner", "feed_p99"}

    table = _bench_module().report(result)
    for label in (
        "GET /api/ping",
        "POST /api/requests",
        "accept race",
        "GET /api/coach/requests",
        "  the same",
    ):
        [line] = [line for line in table.splitlines() if line.startswith(label)]
        assert re.search(r"\d+\.\d", line), line
    assert re.search(r"(ok|BELOW)$", table.splitlines()[4]), table
    assert "exactly one winner in" in table
