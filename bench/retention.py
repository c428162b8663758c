"""Benchmark of retention, backups and restores on a big database (bench only).

Run from the repository root::

    python bench/retention.py                 # 1,000,000 subjects, 10,000 due, SQLite
    python bench/retention.py --quick         # 20,000 subjects: a smoke run
    python bench/retention.py --database-url postgresql://user@host/empty_db

The data is written straight into the tables in big transactions: every subject
a row with its wrapped data key and a consent, as the services would leave them.
The encrypted fields and wrapped keys are random bytes of the real sizes (what
is measured never decrypts them, and random bytes compress as badly as real
ciphertext). ``last_active_at`` is spread over the last two years, except for the
``--due`` subjects, who were last active two years and a week ago.

Figures, all in one run against the same database:

(a) ``retention run`` with the due subjects (target: under 30 s), then the same
    rule with a tenth of them and with none due: the cost follows what is due,
    not what is stored;
(b) ``backup create`` against a plain snapshot of the same database (SQLite's
    backup API into a file, or ``pg_dump`` to ``/dev/null``), target at most 1.5x;
(c) a restore of that backup after the retention run, with its journal of
    ``--due`` entries (each names a subject in the backup, so each is erased again
    in staging), against a restore before it, with an empty journal (target at
    most 1.2x): the medians of ``--rounds`` runs of each, start to end. The
    restores run with ``swap=False``: the swap is one copy, the same for both.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching import bulk, db, retention  # noqa: E402
from matching.config import Settings  # noqa: E402
from matching.runtime import Runtime, close_runtime, open_runtime  # noqa: E402
from matching.tables import Consent, Subject, SubjectKey  # noqa: E402
from workers import backups, restore  # noqa: E402

TARGET_RETENTION_SECONDS = 30.0
TARGET_BACKUP_RATIO = 1.5
TARGET_RESTORE_RATIO = 1.2
SEED_BATCH = 20_000
AS_OF = datetime.date(2026, 11, 30)


@dataclasses.dataclass(frozen=True)
class Plan:
    subjects: int
    due: int


FULL = Plan(subjects=1_000_000, due=10_000)
QUICK = Plan(subjects=20_000, due=1_000)


async def seed(runtime: Runtime, plan: Plan) -> list[uuid.UUID]:
    """Subjects, keys and consents; returns the ids of the due subjects."""
    kek = runtime.vault.keyring.current.kek_id
    now = datetime.datetime.combine(AS_OF, datetime.time(), tzinfo=datetime.UTC)
    two_years = retention.erase_before(AS_OF)
    due: list[uuid.UUID] = []
    started = time.perf_counter()
    for start in range(0, plan.subjects, SEED_BATCH):
        subjects, keys, consents = [], [], []
        for n in range(start, min(start + SEED_BATCH, plan.subjects)):
            subject_id = uuid.uuid4()
            if n < plan.due:
                active = two_years - datetime.timedelta(days=7, seconds=n)
                due.append(subject_id)
            else:  # within the last two years, never due
                active = now - datetime.timedelta(seconds=(n * 61) % (700 * 86_400))
            subjects.append(
                {
                    "id": subject_id,
                    "kind": "candidate",
                    "created_at": active,
                    "last_active_at": active,
                    "email_index": secrets.token_hex(32),
                    "name": os.urandom(48),
                    "email": os.urandom(56),
                }
            )
            keys.append({"subject_id": subject_id, "kek_id": kek, "wrapped": os.urandom(61)})
            consents.append(
                {"subject_id": subject_id, "purpose": "contact", "statement_version": "2026-11"}
            )
        async with db.write_transaction():
            await bulk.insert(Subject, subjects)
            await bulk.insert(SubjectKey, keys)
            await bulk.insert(Consent, consents)
        if (start // SEED_BATCH) % 10 == 9:
            print(f"  seeded {start + SEED_BATCH:,} subjects", file=sys.stderr)
    print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return due


async def timed_retention(runtime: Runtime, as_of: datetime.date) -> dict[str, Any]:
    started = time.perf_counter()
    report = await retention.run(runtime, as_of)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "erased": report.counts["inactive_subjects"],
    }


async def bench_retention(runtime: Runtime, plan: Plan, due: list[uuid.UUID]) -> dict[str, Any]:
    """All due subjects in one run; then a tenth of that many; then none."""
    tenth = plan.due // 10
    # Make only the first (due - tenth) due now; the last tenth a day later.
    later = due[plan.due - tenth :]
    await Subject.update(
        {Subject.last_active_at: retention.erase_before(AS_OF) + datetime.timedelta(hours=12)}
    ).where(Subject.id.is_in(later))
    first = await timed_retention(runtime, AS_OF)
    second = await timed_retention(runtime, AS_OF + datetime.timedelta(days=1))
    none = await timed_retention(runtime, AS_OF + datetime.timedelta(days=1))
    return {"main": first, "tenth": second, "none": none}


def plain_snapshot(settings: Settings, folder: Path) -> float:
    started = time.perf_counter()
    if settings.is_sqlite:
        target_path = folder / "plain-snapshot.sqlite3"
        source = sqlite3.connect(db.sqlite_path(settings.database_url))
        target = sqlite3.connect(target_path)
        source.backup(target)
        target.close()
        source.close()
        target_path.unlink()
    else:
        dsn, password = backups.without_password(settings.database_url)
        env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
        with open(os.devnull, "wb") as sink:
            subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--dbname={dsn}"],
                stdout=sink,
                env=env,
                check=True,
            )
    return time.perf_counter() - started


async def bench_backup(runtime: Runtime, folder: Path) -> dict[str, Any]:
    plain = await asyncio.to_thread(plain_snapshot, runtime.settings, folder)
    started = time.perf_counter()
    manifest = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    ours = time.perf_counter() - started
    return {
        "plain_seconds": round(plain, 2),
        "backup_seconds": round(ours, 2),
        "ratio": round(ours / plain, 2),
        "backup_id": manifest.id,
        "plain_bytes": manifest.plain_bytes,
        "sealed_bytes": manifest.sealed_bytes,
    }


async def timed_restores(
    runtime: Runtime, backup_id: str, rounds: int
) -> list[restore.RestoreReport]:
    return [
        await restore.restore_backup(
            runtime.settings, runtime.vault.keyring, runtime.journal, backup_id, swap=False
        )
        for _ in range(rounds)
    ]


def compare_restores(
    alone: list[restore.RestoreReport], replayed: list[restore.RestoreReport]
) -> dict[str, Any]:
    """The medians of whole restores, start to end: a 1 GB restore on a shared machine
    varies by half a second from run to run (mostly the disk)."""
    t_alone = statistics.median(r.total_seconds for r in alone)
    t_replayed = statistics.median(r.total_seconds for r in replayed)
    return {
        "rounds": len(alone),
        "alone_seconds": round(t_alone, 2),
        "with_journal_seconds": round(t_replayed, 2),
        "ratio": round(t_replayed / t_alone, 2),
        "alone_runs": [r.total_seconds for r in alone],
        "with_journal_runs": [r.total_seconds for r in replayed],
        "journal_entries": replayed[-1].journal_entries,
        "erased_by_replay": replayed[-1].erased_by_replay,
        "steps_alone": alone[-1].seconds,
        "steps_with_journal": replayed[-1].seconds,
    }


async def bench(plan: Plan, database_url: str | None, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="coachmatch-retention-") as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"
        settings = Settings(
            data_dir=data_dir,
            database_url=database_url or f"sqlite:///{data_dir / 'coachmatch.sqlite3'}",
            anonymiser_processes=0,
            scheduler=False,
        )
        settings.validate()
        runtime = await open_runtime(settings)
        try:
            if await Subject.count():
                raise RuntimeError("the database is not empty: give the bench a fresh one")
            print(f"seeding {plan.subjects:,} subjects ({plan.due:,} due) ...", file=sys.stderr)
            due = await seed(runtime, plan)
            if not settings.is_sqlite:
                await runtime.engine.run_ddl("ANALYZE")
            # The backup holds everyone, the due subjects included: (c) replays them.
            print("backup ...", file=sys.stderr)
            backup = await bench_backup(runtime, folder)
            # Before the retention run nobody was erased: the journal is empty.
            print("restore alone ...", file=sys.stderr)
            alone = await timed_restores(runtime, backup["backup_id"], rounds)
            print("retention ...", file=sys.stderr)
            kept = await bench_retention(runtime, plan, due)
            print("restore with the journal ...", file=sys.stderr)
            replayed = await timed_restores(runtime, backup["backup_id"], rounds)
            restored = compare_restores(alone, replayed)
        finally:
            await close_runtime(runtime)
    return {
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "subjects": plan.subjects,
        "due": plan.due,
        "retention": kept,
        "backup": backup,
        "restore": restored,
        "ok": {
            "retention": kept["main"]["seconds"] < TARGET_RETENTION_SECONDS,
            "backup": backup["ratio"] <= TARGET_BACKUP_RATIO,
            "restore": restored["ratio"] <= TARGET_RESTORE_RATIO,
        },
    }


def report(r: dict[str, Any]) -> str:
    k, b, s = r["retention"], r["backup"], r["restore"]

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW"

    return "\n".join(
        [
            f"retention and backups on {r['database']}: {r['subjects']:,} subjects, "
            f"{r['due']:,} due",
            "",
            f"retention run, {k['main']['erased']:,} due: {k['main']['seconds']:.1f} s "
            f"(target < {TARGET_RETENTION_SECONDS:.0f} s) {verdict(r['ok']['retention'])}",
            f"  {k['tenth']['erased']:,} due: {k['tenth']['seconds']:.2f} s; none due: "
            f"{k['none']['seconds']:.2f} s",
            f"backup {b['backup_seconds']:.1f} s against a plain snapshot "
            f"{b['plain_seconds']:.1f} s = {b['ratio']:.2f}x "
            f"(target <= {TARGET_BACKUP_RATIO}x) {verdict(r['ok']['backup'])}",
            f"  {b['plain_bytes'] / 2**20:,.0f} MiB snapshot, "
            f"sealed {b['sealed_bytes'] / 2**20:,.0f} MiB",
            f"restore with {s['journal_entries']:,} journal entries "
            f"{s['with_journal_seconds']:.1f} s against restore alone "
            f"{s['alone_seconds']:.1f} s = {s['ratio']:.2f}x "
            f"(target <= {TARGET_RESTORE_RATIO}x) {verdict(r['ok']['restore'])}",
            f"  medians of {s['rounds']} runs each: alone {s['alone_runs']}, "
            f"with journal {s['with_journal_runs']}",
            f"  erased again in staging: {s['erased_by_replay']:,}",
            f"  steps alone: {s['steps_alone']}",
            f"  steps with journal: {s['steps_with_journal']}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 subjects: a smoke run")
    parser.add_argument("--subjects", type=int, help="subjects to seed (1,000,000)")
    parser.add_argument("--due", type=int, help="subjects due for erasure (10,000)")
    parser.add_argument("--database-url", help="postgresql://... of an empty database")
    parser.add_argument("--rounds", type=int, default=3, help="restores of each kind (3)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    plan = dataclasses.replace(
        plan,
        **{k: v for k, v in (("subjects", args.subjects), ("due", args.due)) if v is not None},
    )
    if not 0 < plan.due <= plan.subjects:
        parser.error("--due must be between 1 and --subjects")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be postgresql://...")
    try:
        result = asyncio.run(bench(plan, args.database_url, args.rounds))
    except (RuntimeError, OSError) as exc:
        print(f"bench/retention.py: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
