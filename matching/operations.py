"""What an admin sees of the periodic work: backups, restore drills, retention runs.

Read from the audit log (every backup, drill and retention run is recorded there)
and from the outbox (a backup job that keeps failing). A backup is overdue when
none was made in :data:`BACKUP_OVERDUE_AFTER`: the schedule makes one a day.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from matching import audit, schedule
from matching.tables import AuditEntry, LegalHold, OutboxJob

BACKUP_OVERDUE_AFTER = datetime.timedelta(hours=26)


@dataclasses.dataclass(frozen=True)
class LastRun:
    at: datetime.datetime
    details: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.details.get("ok", True))


@dataclasses.dataclass(frozen=True)
class OperationsStatus:
    last_backup: LastRun | None
    backup_failing: bool  # the last backup job failed and is being retried
    backup_overdue: bool
    last_drill: LastRun | None
    last_retention: LastRun | None
    legal_holds: int

    @property
    def attention(self) -> bool:
        """Whether something needs an admin: a failing, missing or overdue backup, or
        a drill that did not prove its point."""
        drill_failed = self.last_drill is not None and not self.last_drill.ok
        return self.backup_failing or self.backup_overdue or drill_failed


async def status(now: datetime.datetime) -> OperationsStatus:
    last_backup = await _last(audit.Action.BACKUP_CREATED)
    failed = (
        (OutboxJob.actor == schedule.BACKUP_ACTOR)
        & OutboxJob.done_at.is_null()
        & OutboxJob.last_error.is_not_null()
    )
    if last_backup is not None:  # a failure a later backup made good is over
        failed &= OutboxJob.created_at > last_backup.at
    failing = await OutboxJob.exists().where(failed)
    return OperationsStatus(
        last_backup=last_backup,
        backup_failing=failing,
        backup_overdue=last_backup is None or now - last_backup.at > BACKUP_OVERDUE_AFTER,
        last_drill=await _last(audit.Action.RESTORE_DRILL),
        last_retention=await _last(audit.Action.RETENTION_RUN),
        legal_holds=int(await LegalHold.count().where(LegalHold.until >= now.date())),
    )


async def _last(action: audit.Action) -> LastRun | None:
    rows = (
        await AuditEntry.select(AuditEntry.at, AuditEntry.details)
        .where(AuditEntry.action == action.value)
        .order_by(AuditEntry.seq, ascending=False)
        .limit(1)
        .output(load_json=True)
    )
    if not rows:
        return None
    details = rows[0]["details"]
    return LastRun(rows[0]["at"], details if isinstance(details, dict) else {})
