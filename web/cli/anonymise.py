"""``coachmatch anonymise``: JSON lines in, anonymised JSON lines out.

Input, one object a line on stdin: ``{"id", "text", "candidate"?: {"first", "last"}}``.
Output, one a line on stdout: ``{"id", "text", "findings": [{"type", "start", "end"}]}``
with the anonymised text and offsets into the original one.

A line that is not such an object stops the run at once with exit code 2 and one
line on stderr naming the line NUMBER (never its content: it holds personal data);
the lines before it have been written. A failure inside the anonymiser exits 1.
``--prepare`` builds the lookup cache (an install step) and prints where it is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from matching.config import Settings

if TYPE_CHECKING:  # imported when used: loading deduce takes a moment and some memory
    from anonymiser.text import Anonymiser, CandidateName
    from anonymiser.text.findings import PlaceholderSet

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class BadLine(Exception):
    """A line that is not a valid request; the message never holds the content."""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "anonymise",
        help="anonymise JSON lines from stdin",
        description='Reads {"id", "text", "candidate"?: {"first", "last"}} lines on '
        'stdin and writes {"id", "text", "findings"} lines with the anonymised text.',
    )
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="build the lookup cache (install step) and print where it is",
    )
    parser.add_argument(
        "--placeholders",
        choices=("nl", "en"),
        default="nl",
        help="placeholder language (default nl)",
    )
    parser.set_defaults(handler=_run)


def _run(args: Any, settings: Settings) -> int:
    from anonymiser.text import Anonymiser, AnonymiserError

    cache_dir = settings.effective_cache_dir
    if args.prepare:
        return _prepare(cache_dir)
    try:
        anonymiser = Anonymiser.load(cache_dir)
    except AnonymiserError:
        print(
            "coachmatch: the anonymiser could not start; run `coachmatch anonymise "
            "--prepare` and check the cache folder",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return process(anonymiser, sys.stdin.buffer, sys.stdout.buffer, placeholders=args.placeholders)


def _prepare(cache_dir: Path) -> int:
    from anonymiser.text import AnonymiserError, prepare

    try:
        where = prepare(cache_dir)
    except AnonymiserError:
        print("coachmatch: building the anonymiser's lookup cache failed", file=sys.stderr)
        return EXIT_FAILURE
    print(f"anonymiser lookup cache ready in {where}")
    return 0


def process(
    anonymiser: Anonymiser,
    lines: Iterable[bytes],
    out: IO[bytes],
    *,
    placeholders: PlaceholderSet = "nl",
) -> int:
    """Anonymise every request line; returns the exit code."""
    from anonymiser.text import AnonymiserError

    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            ident, text, candidate = parse_line(raw)
        except BadLine as exc:
            print(f"coachmatch: line {number}: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        try:
            result = anonymiser.anonymise(text, candidate=candidate, placeholders=placeholders)
        except AnonymiserError:
            print(f"coachmatch: line {number}: the anonymiser failed on this text", file=sys.stderr)
            return EXIT_FAILURE
        record = {
            "id": ident,
            "text": result.text,
            "findings": [{"type": f.type, "start": f.start, "end": f.end} for f in result.findings],
        }
        out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        out.flush()
    return 0


def parse_line(raw: bytes) -> tuple[str | int, str, CandidateName | None]:
    """``(id, text, candidate)`` of one input line, or BadLine."""
    from anonymiser.text import CandidateName

    try:
        data = json.loads(raw)
    except ValueError:  # also invalid UTF-8
        raise BadLine("not valid JSON") from None
    if not isinstance(data, dict):
        raise BadLine("not a JSON object")
    if "id" not in data:
        raise BadLine("missing field 'id'")
    ident = data["id"]
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise BadLine("'id' must be a string or a number")
    if "text" not in data:
        raise BadLine("missing field 'text'")
    text = data["text"]
    if not isinstance(text, str):
        raise BadLine("'text' must be a string")
    candidate = data.get("candidate")
    if candidate is None:
        return ident, text, None
    if not isinstance(candidate, dict):
        raise BadLine("'candidate' must be an object with 'first' and 'last'")
    first, last = candidate.get("first", ""), candidate.get("last", "")
    if not isinstance(first, str) or not isinstance(last, str):
        raise BadLine("'candidate' must have 'first' and 'last' strings")
    if not first.strip() and not last.strip():
        return ident, text, None
    return ident, text, CandidateName(first=first, last=last)
