"""What an admin sees of the periodic work: backups, restore drills, retention runs,
and submitted requests that cannot be filed.

Read from the audit log (every backup, drill and retention run is recorded there)
and from the outbox (a backup job that keeps failing). A backup is overdue when
none was made in :data:`BACKUP_OVERDUE_AFTER`: the schedule makes one a day.

The dashboard shows it; :func:`alert_admins` (an hourly scheduled job) also mails
every active admin while a backup fails or is overdue, once a day while it lasts.
"""

from __future__ import annotations

import dataclasses
import datetime
from uuid import UUID

from matching import audit, filing, notifications, outbox, schedule
from matching.erasure import SYSTEM_ACTOR
from matching.runtime import Runtime
from matching.tables import Admin, LegalHold, OutboxJob, ScheduledRun

BACKUP_OVERDUE_AFTER = datetime.timedelta(hours=26)
ALERT_TEMPLATE = "backup_alert"
#: An alert is mailed again after this long while the problem lasts.
ALERT_REPEAT_AFTER = datetime.timedelta(hours=23, minutes=30)


@dataclasses.dataclass(frozen=True)
class LastRun(audit.Recorded):
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
    stuck_requests: int = 0  # submissions no job files any more (matching.filing)

    @property
    def attention(self) -> bool:
        """Whether something needs an admin: a failing, missing or overdue backup, a
        drill that did not prove its point, or a request that cannot be filed."""
        drill_failed = self.last_drill is not None and not self.last_drill.ok
        return self.backup_failing or self.backup_overdue or drill_failed or self.stuck_requests > 0


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
        stuck_requests=await filing.stuck(),
    )


async def _last(action: audit.Action) -> LastRun | None:
    found = await audit.latest(action)
    return LastRun(found[0].at, found[0].details) if found else None


async def alert_admins(runtime: Runtime, job_id: UUID, now: datetime.datetime) -> int:
    """The hourly watch: mail every active admin about a failing or overdue backup,
    unless they were mailed about the same problem (no backup made since) in the
    last :data:`ALERT_REPEAT_AFTER`. Completes the job in the transaction that
    queues the mails (a second delivery mails nobody); returns how many admins
    were mailed."""
    current = await status(now)
    reason = await _alert_reason(current, now)
    async with outbox.unit_of_work(runtime):
        if not await outbox.complete(job_id) or reason is None:
            return 0
        if await _alerted_about_this_already(current, now):
            return 0
        admins = await Admin.select(Admin.subject_id).where(Admin.active == True)  # noqa: E712
        if not admins:
            return 0  # nobody to tell yet: the first admin hears of it within the hour
        await outbox.enqueue_rows(
            [notifications.mail_job(row["subject_id"], ALERT_TEMPLATE) for row in admins]
        )
        await audit.record(
            SYSTEM_ACTOR,
            audit.Action.BACKUP_ALERT,
            purpose="backup",
            details={"reason": reason, "admins": len(admins)},
        )
    return len(admins)


async def _alert_reason(current: OperationsStatus, now: datetime.datetime) -> str | None:
    """Why admins should be mailed now (``failing``, ``overdue``), if they should.

    No backup at all counts only once the first scheduled one is overdue: a new
    site is not alarming before its first backup was due.
    """
    if current.backup_failing:
        return "failing"
    if not current.backup_overdue:
        return None
    if current.last_backup is not None:
        return "overdue"
    scheduled = await ScheduledRun.exists().where(
        (ScheduledRun.task == schedule.BACKUP_TASK)
        & (ScheduledRun.created_at < now - BACKUP_OVERDUE_AFTER)
    )
    return "overdue" if scheduled else None


async def _alerted_about_this_already(current: OperationsStatus, now: datetime.datetime) -> bool:
    """Whether admins were mailed within :data:`ALERT_REPEAT_AFTER` about the problem
    that is going on now: a backup made since that mail ended that problem."""
    alerted = await audit.latest(audit.Action.BACKUP_ALERT)
    if not alerted or now - alerted[0].at >= ALERT_REPEAT_AFTER:
        return False
    return current.last_backup is None or current.last_backup.at < alerted[0].at
