"""A hypothesis state machine: people come, act, are erased (by request and by
retention), time passes, backups are made and restored in any order, and no erased
person is ever in the database again. On SQLite, and on PostgreSQL when given."""

from __future__ import annotations

import asyncio
import datetime
import shutil
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from matching import db, retention, subjects
from matching.erasure import still_present
from matching.erasure_journal import ErasureReason
from matching.runtime import Runtime, close_runtime, open_runtime
from matching.tables import Subject
from tests.conftest import _truncate_postgres, make_settings
from workers import backups, restore

START = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)
MACHINE_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class NeverBack(RuleBasedStateMachine):
    database_url: str | None = None  # set by the test: None is SQLite in the data folder

    people = Bundle("people")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="never-back-"))
        data_dir = self.folder / "data"
        overrides: dict[str, Any] = {}
        if self.database_url:
            overrides["database_url"] = self.database_url
        self.settings = make_settings(data_dir, **overrides)
        self.now = START
        self.erased: set[UUID] = set()
        self.backups: list[str] = []
        self.count = 0

    def run(self, coro: Any) -> Any:
        with time_machine.travel(self.now, tick=False):
            return self.loop.run_until_complete(coro)

    @initialize()
    def open(self) -> None:
        if self.database_url:  # every example starts from an empty database
            db.bind(db.make_engine(self.database_url))
            self.run(_truncate_postgres())
        self.runtime: Runtime = self.run(open_runtime(self.settings))

    def teardown(self) -> None:
        if hasattr(self, "runtime"):
            self.run(close_runtime(self.runtime))
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule(target=people)
    def someone_arrives(self) -> UUID:
        self.count += 1
        return self.run(  # type: ignore[no-any-return]
            subjects.create_subject(
                self.runtime.vault,
                "candidate",
                name=f"Person {self.count}",
                email=f"person{self.count}@example.org",
            )
        )

    @rule(person=people)
    def someone_acts(self, person: UUID) -> None:
        self.run(subjects.touch(person))  # a no-op for someone erased

    @rule(person=people)
    def someone_asks_to_be_erased(self, person: UUID) -> None:
        self.run(
            self.runtime.erasure.erase(person, reason=ErasureReason.CANDIDATE_REQUEST, actor="test")
        )
        self.erased.add(person)

    @rule(days=st.integers(min_value=1, max_value=500))
    def time_passes_and_retention_runs(self, days: int) -> None:
        self.now += datetime.timedelta(days=days)
        self.run(retention.run(self.runtime, self.now.date()))
        self.erased |= self.runtime.journal.erased_ids()

    @rule()
    def a_backup_is_made(self) -> None:
        manifest = self.run(
            backups.create_backup(self.settings, self.runtime.vault.keyring, now=self.now)
        )
        self.backups.append(manifest.id)

    @precondition(lambda self: bool(self.backups))
    @rule(data=st.data())
    def a_backup_is_restored(self, data: st.DataObject) -> None:
        backup_id = data.draw(st.sampled_from(self.backups))
        report = self.run(
            restore.restore_backup(
                self.settings, self.runtime.vault.keyring, self.runtime.journal, backup_id
            )
        )
        assert report.swapped

    @invariant()
    def nobody_erased_is_ever_back(self) -> None:
        if not hasattr(self, "runtime"):
            return
        assert self.erased <= self.runtime.journal.erased_ids()
        assert self.run(still_present(self.erased)) == set()
        present = {row["id"] for row in self.run(Subject.select(Subject.id))}
        assert not present & self.erased


def test_nobody_erased_comes_back_on_sqlite() -> None:
    NeverBack.database_url = None
    run_state_machine_as_test(NeverBack, settings=MACHINE_SETTINGS)


@pytest.mark.postgres
def test_nobody_erased_comes_back_on_postgresql(postgres_database_url: str) -> None:
    NeverBack.database_url = postgres_database_url
    try:  # fewer examples: every restore here is a pg_dump, a new database and a rename
        run_state_machine_as_test(NeverBack, settings=settings(MACHINE_SETTINGS, max_examples=12))
    finally:
        NeverBack.database_url = None
