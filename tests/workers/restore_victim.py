"""A restore that kills its own process (SIGKILL) when it reaches a given step.

Run as ``python -m tests.workers.restore_victim STEP BACKUP_ID`` with the test's
``COACHMATCH_*`` settings in the environment: the kill test in ``test_restore``
uses it to stop a restore at an exact point, as a power cut or ``kill -9`` would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from matching.config import Settings
from matching.runtime import close_runtime, open_runtime
from workers import restore


async def main(step: str, backup_id: str) -> None:
    runtime = await open_runtime(Settings.from_environ(os.environ))

    def progress(name: str, fraction: float | None) -> None:
        if name == step and fraction is None:
            os.kill(os.getpid(), signal.SIGKILL)

    try:
        await restore.restore_backup(
            runtime.settings, runtime.vault.keyring, runtime.journal, backup_id, progress=progress
        )
    finally:
        await close_runtime(runtime)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
