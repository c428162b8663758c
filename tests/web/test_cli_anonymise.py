"""``coachmatch anonymise``: JSON lines in and out, as a pipeline runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EMAIL = "jan.de.vries@voorbeeld.design"
SECRET = "Zwanenburg-4471-geheim"


def _cli(
    data_dir: Path, cache_dir: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "COACHMATCH_DATA_DIR": str(data_dir),
        "COACHMATCH_CACHE_DIR": str(cache_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "web.cli", "anonymise", *args],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data folder and a lookup cache built once by ``--prepare``."""
    data_dir = tmp_path_factory.mktemp("data")
    cache_dir = tmp_path_factory.mktemp("cache")
    done = _cli(data_dir, cache_dir, "--prepare")
    assert done.returncode == 0, done.stderr.decode()
    [line] = done.stdout.decode().splitlines()
    assert line.startswith("anonymiser lookup cache ready in ")
    built = Path(line.removeprefix("anonymiser lookup cache ready in "))
    assert built.is_dir() and built.resolve().is_relative_to(cache_dir.resolve())
    return data_dir, cache_dir


def _lines(*objects: object) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)


def _errors(done: subprocess.CompletedProcess[bytes]) -> list[str]:
    return done.stderr.decode().splitlines()


def test_prepare_again_is_a_no_op(dirs: tuple[Path, Path]) -> None:
    done = _cli(*dirs, "--prepare")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("anonymiser lookup cache ready in ")


def test_json_lines_in_and_out(dirs: tuple[Path, Path]) -> None:
    first = f"Mail me op {EMAIL} of bel 06 12 34 56 78. Ik zoek rust in mijn werk."
    second = "Ik zoek een coach voor loopbaanvragen. Geen persoonsgegevens hier."
    stdin = _lines({"id": "a1", "text": first}, {"id": 7, "text": second}) + b"\n  \n"
    done = _cli(*dirs, stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""
    out = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["a1", 7]  # blank lines are skipped
    assert all(set(o) == {"id", "text", "findings"} for o in out)
    assert EMAIL not in out[0]["text"] and "[e-mailadres]" in out[0]["text"]
    assert "[telefoonnummer]" in out[0]["text"]
    assert out[0]["text"].endswith("Ik zoek rust in mijn werk.")
    types = {f["type"] for f in out[0]["findings"]}
    assert {"email", "phone"} <= types
    [email] = [f for f in out[0]["findings"] if f["type"] == "email"]
    assert first[email["start"] : email["end"]] == EMAIL  # offsets into the original
    assert out[1] == {"id": 7, "text": second, "findings": []}


def test_candidate_name_and_english_placeholders(dirs: tuple[Path, Path]) -> None:
    text = "hoi, ik ben quirijn vlasblom en ik zoek een nieuwe baan. Groet, Quirijn Vlasblom"
    stdin = _lines({"id": "c", "text": text, "candidate": {"first": "Quirijn", "last": "Vlasblom"}})
    done = _cli(*dirs, "--placeholders", "en", stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    [out] = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert "vlasblom" not in out["text"].lower() and "quirijn" not in out["text"].lower()
    assert "[name]" in out["text"] and "[naam]" not in out["text"]


def test_bad_json_stops_at_that_line_without_echoing_it(dirs: tuple[Path, Path]) -> None:
    stdin = (
        _lines({"id": 1, "text": "Een gewone zin."})
        + b'{"id": 2, "text": "'
        + SECRET.encode()
        + b'"\n'
        + _lines({"id": 3, "text": "Nog een zin."})
    )
    done = _cli(*dirs, stdin=stdin)
    assert done.returncode == 2
    assert _errors(done) == ["coachmatch: line 2: not valid JSON"]
    assert SECRET.encode() not in done.stderr + done.stdout
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"text": "Hallo ' + SECRET.encode() + b'"}', "missing field 'id'"),
        (b'{"id": "x"}', "missing field 'text'"),
        (b'{"id": "x", "text": 12}', "'text' must be a string"),
        (b'["x", "' + SECRET.encode() + b'"]', "not a JSON object"),
        (b'{"id": true, "text": "t"}', "'id' must be a string or a number"),
        (
            b'{"id": "x", "text": "t", "candidate": "' + SECRET.encode() + b'"}',
            "'candidate' must be an object with 'first' and 'last'",
        ),
        (
            b'{"id": "x", "text": "t", "candidate": {"first": 1, "last": "B"}}',
            "'candidate' must have 'first' and 'last' strings",
        ),
        (b'{"id": "x", "text": "\xff\xfe ' + SECRET.encode() + b'"}', "not valid JSON"),
    ],
)
def test_invalid_request_line(dirs: tuple[Path, Path], line: bytes, message: str) -> None:
    done = _cli(*dirs, stdin=b"\n" + line + b"\n")
    assert done.returncode == 2
    assert _errors(done) == [f"coachmatch: line 2: {message}"]
    assert SECRET.encode() not in done.stderr + done.stdout
    assert done.stdout == b""


def test_cache_dir_defaults_to_data_dir(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "COACHMATCH_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", "anonymise", "--prepare"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    where = Path(done.stdout.decode().strip().removeprefix("anonymiser lookup cache ready in "))
    assert where.resolve().is_relative_to((tmp_path / "cache").resolve())
