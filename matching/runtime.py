"""Everything a process needs to work with the domain, built once at start-up.

``web`` (the site and the command line) and ``workers`` open a :class:`Runtime`
from :class:`~matching.config.Settings` and pass it to services.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from piccolo.engine.base import Engine

from matching import db
from matching.config import Settings
from matching.erasure import ErasureService
from matching.erasure_journal import ErasureJournal
from matching.group_commit import GroupCommit
from matching.keyring import load_keyring
from matching.outbox import Job
from matching.scrubbing import Scrubber
from matching.sessions import SessionTouches
from matching.traffic import Traffic
from matching.vault import Vault

Dispatch = Callable[[Sequence[UUID]], Awaitable[None]]
SendClaimed = Callable[[Sequence[Job]], Awaitable[None]]


async def leave_for_sweeper(job_ids: Sequence[UUID]) -> None:
    """Default dispatch where no broker is attached: the sweeper sends the jobs later."""


@dataclasses.dataclass
class Runtime:
    settings: Settings
    engine: Engine
    vault: Vault
    journal: ErasureJournal
    erasure: ErasureService
    scrubber: Scrubber
    # Sends jobs that were committed to the outbox; workers replace the default.
    dispatch: Dispatch = leave_for_sweeper
    # Sends jobs written already claimed (see GroupCommit); only while a broker is attached.
    send_claimed: SendClaimed | None = None
    group_commit: GroupCommit = dataclasses.field(init=False, repr=False)
    # The site's requests in flight (counted by web); embedded jobs give way to them.
    traffic: Traffic = dataclasses.field(default_factory=Traffic, repr=False)
    # Sessions' last-seen times, written in batches (see matching.sessions).
    session_touches: SessionTouches = dataclasses.field(default_factory=SessionTouches, repr=False)

    def __post_init__(self) -> None:
        self.group_commit = GroupCommit(self)


async def open_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Create the data folder, connect, migrate, load the keys."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = db.make_engine(settings.database_url)
    db.bind(engine)
    await db.start(engine)
    try:
        if migrate:
            await db.migrate()
        vault = Vault(load_keyring(settings))
        await vault.ensure_secrets()
    except BaseException:
        await db.stop(engine)  # no pooled connection may outlive a failed start
        raise
    journal = ErasureJournal(settings.erasure_journal_path)
    return Runtime(
        settings=settings,
        engine=engine,
        vault=vault,
        journal=journal,
        erasure=ErasureService(journal=journal, vault=vault),
        scrubber=Scrubber(settings.effective_cache_dir, processes=settings.anonymiser_processes),
    )


async def close_runtime(runtime: Runtime) -> None:
    await runtime.group_commit.close()
    await runtime.session_touches.close()
    await asyncio.to_thread(runtime.scrubber.close)
    await db.stop(runtime.engine)
