"""Benchmark of the request flow over HTTP: submissions, the accept race, the coach feed.

Run from the repository root::

    python bench/requests.py                    # 100,000 open requests, 1,000 coaches, SQLite
    python bench/requests.py --quick            # small sizes, a smoke run of a minute
    python bench/requests.py --database-url postgresql://user@host/empty_db --json

Everything runs in one go against one real server: ``coachmatch run`` (uvicorn,
embedded workers, its own temporary data folder) in a subprocess on a free
loopback port. The load comes from this process: a fixed number of requests in
flight, a warm-up before every timed phase, over keep-alive connections of a
lean HTTP/1.1 client (``--client httpx`` uses ``httpx.AsyncClient`` instead; it
costs more CPU per request than the server's trivial endpoint, see ``LeanClient``).

Before the server starts, the data is written straight into the tables, in a
few big transactions, the way the services would have written it: every
candidate a data subject with its own data key (wrapped by the master key) and
encrypted name and e-mail, every request with its encrypted motivation and
anonymised summary as the broadcast leaves it (status ``open``), and its offers
to the coaches it fits. Coaches are data subjects too, with an encrypted TOTP
secret and one argon2 password hash made once and shared (argon2 is slow on
purpose; the login path is not what is measured). Sessions come from the real
session service, and the race coaches accept the data-processing agreement
through the real agreement service. Coaches fall into groups of about ten by
topic and province, and every request is offered to the group it fits: about
1,000 open offers per coach at the default sizes.

Figures, against the server:

(a) ``GET /api/ping`` (a trivial JSON endpoint of the same app): requests/s and
    latency; then ``POST /api/requests`` with the same concurrency, for the same
    time. Target: submissions at least 0.3x the ping rate. A 201 means the request
    is stored (sealed in the intake inbox, see ``matching/filing.py``); its filing,
    broadcast and e-mails run in the server's embedded workers meanwhile, as they
    do in production, and the bench waits until they are all done before going on.
(b) The accept race: every round, a fresh open request offered to all race
    coaches (200); each has a warm connection, and all send ``POST
    /api/coach/requests/{id}/accept`` at once. Latency per request, p99 over all
    rounds (target 100 ms); exactly one 200 per round, every other answer 409.
    A warm-up round is not timed.
(c) ``GET /api/coach/requests`` (its first page) of coaches taken in turn among
    all of them, over the full data set: one at a time, which is the latency the
    target (p99 50 ms) is about, then with as many in flight as in (a), where
    requests also queue behind each other (shown, no target).

The server is what ``coachmatch run`` runs (``web.cli.serve.serve``: migrations,
the site, the embedded workers), with one change to its socket, see :func:`serve`.

On PostgreSQL (``--database-url``) the database must exist and be empty; the
bench migrates it and leaves the seeded data behind (drop the database after).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from anonymiser.crypto import FieldCipher, KeyWrapper, field_aad, generate_data_key  # noqa: E402
from anonymiser.generalise import Province  # noqa: E402
from matching import agreement, consent, credentials, db, filing, sessions  # noqa: E402
from matching.catalogue import TOPICS  # noqa: E402
from matching.config import Settings  # noqa: E402
from matching.consent import CONTACT, PRIVACY_STATEMENT_VERSION  # noqa: E402
from matching.runtime import Runtime, close_runtime, open_runtime  # noqa: E402
from matching.tables import ContactRequest, OutboxJob, WaitingIntake  # noqa: E402
from matching.vault import CURRENT_KEY_VERSION, KIND_DEK, dek_owner  # noqa: E402
from web.sessions import SESSION_COOKIE  # noqa: E402

# Targets from issue 4.
TARGET_SUBMIT_RATIO = 0.3
TARGET_RACE_P99_MS = 100.0
TARGET_FEED_P99_MS = 50.0

PASSWORD = "bench password, not secret"
GROUP_SIZE = 10  # coaches per (topic, province) group: each request is offered to ~10
TOPIC_CODES = tuple(TOPICS)
FEED_PROVINCES = tuple(p.value for p in Province)[:10]
RACE_PROVINCE = Province.LIMBURG.value  # no feed coach and no submission is in Limburg
RACE_TOPIC = TOPIC_CODES[0]
# A city per feed province: submissions give one, so each fits one group of coaches.
CITIES = {
    "groningen": "Groningen",
    "fryslan": "Leeuwarden",
    "drenthe": "Assen",
    "overijssel": "Zwolle",
    "flevoland": "Lelystad",
    "gelderland": "Arnhem",
    "utrecht": "Utrecht",
    "noord-holland": "Haarlem",
    "zuid-holland": "Leiden",
    "zeeland": "Middelburg",
}
AGE_BANDS = ("25-34", "35-44", "45-54", "55-64")
SEED_CHUNK = 5_000  # requests per seeding transaction
START_TIMEOUT_SECONDS = 90.0
# Ten seconds of submissions leave about 15,000 broadcasts and 150,000 e-mails behind.
DRAIN_TIMEOUT_SECONDS = 3600.0
SUBMIT_WARMUP = 20  # enough to load the anonymiser; their broadcasts end before the timing


@dataclasses.dataclass(frozen=True)
class Plan:
    requests: int
    coaches: int
    race_coaches: int
    race_rounds: int
    seconds: float  # per throughput phase (ping, submissions, feed)
    concurrency: int
    warmup: int

    @property
    def groups(self) -> int:
        return max(1, min(len(TOPIC_CODES) * len(FEED_PROVINCES), self.coaches // GROUP_SIZE))


FULL = Plan(
    requests=100_000,
    coaches=1_000,
    race_coaches=200,
    race_rounds=20,
    seconds=10.0,
    concurrency=16,
    warmup=200,
)
QUICK = Plan(
    requests=2_000,
    coaches=50,
    race_coaches=20,
    race_rounds=3,
    seconds=2.0,
    concurrency=8,
    warmup=20,
)


# -- text ------------------------------------------------------------------------------

_SENTENCES = (
    "Ik werk al een aantal jaren in de zorg en merk dat ik vastloop in mijn functie.",
    "Mijn werk geeft me steeds minder energie en ik weet niet goed wat ik anders wil.",
    "Na een reorganisatie ben ik van functie veranderd en dat past niet bij mij.",
    "Ik zou graag met iemand sparren over mijn volgende stap.",
    "Thuis is het druk en ik wil een betere balans tussen werk en privé vinden.",
    "Ik twijfel of ik voor mezelf wil beginnen of in loondienst wil blijven.",
    "Leidinggeven vind ik leuk, maar ik loop aan tegen lastige gesprekken met mijn team.",
    "Ik ben een tijd uitgevallen en wil rustig en goed begeleid weer aan de slag.",
    "Mijn leidinggevende raadde me aan om een coach te zoeken.",
    "Ik heb een opleiding afgerond en zoek een baan die beter bij me past.",
    "Ik wil meer zelfvertrouwen krijgen in vergaderingen en presentaties.",
    "Het liefst spreek ik af in de avond of online.",
)


def anonymised_text(rng: random.Random) -> str:
    return " ".join(rng.sample(_SENTENCES, rng.randint(4, 7)))


# -- seeding ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CoachLogin:
    id: uuid.UUID
    session_id: str = dataclasses.field(repr=False)
    csrf_token: str = dataclasses.field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"cookie": f"{SESSION_COOKIE}={self.session_id}", "x-csrf-token": self.csrf_token}


@dataclasses.dataclass
class Seeded:
    feed_coaches: list[CoachLogin]
    race_coaches: list[CoachLogin]
    race_requests: list[uuid.UUID]  # one per round, the warm-up round first
    offers: int
    seconds: float


Row = dict[str, Any]


class BulkWriter:
    """Straight inserts, many rows at once: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

    def __init__(self, runtime: Runtime) -> None:
        self._url = runtime.settings.database_url
        self._sqlite = runtime.settings.is_sqlite
        self._engine: Any = runtime.engine

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Callable[[str, list[Row]], Awaitable[None]]]:
        if self._sqlite:
            import sqlite3

            conn = sqlite3.connect(db.sqlite_path(self._url), timeout=60)
            # Setup only, not what is measured: no fsync, a big page cache (random UUID
            # keys touch pages all over the indexes). The file stays in WAL mode.
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA cache_size = -262144")
            try:
                with conn:

                    async def insert_sqlite(table: str, rows: list[Row]) -> None:
                        if rows:
                            columns = list(rows[0])
                            conn.executemany(
                                f"INSERT INTO {table} ({', '.join(columns)}) "
                                f"VALUES ({', '.join('?' * len(columns))})",
                                [tuple(_sqlite_value(r[c]) for c in columns) for r in rows],
                            )

                    yield insert_sqlite
            finally:
                conn.close()
            return
        async with self._engine.pool.acquire() as conn, conn.transaction():

            async def insert_postgres(table: str, rows: list[Row]) -> None:
                if rows:
                    columns = list(rows[0])
                    records = [tuple(_postgres_value(r[c]) for c in columns) for r in rows]
                    await conn.copy_records_to_table(table, records=records, columns=columns)

            yield insert_postgres


def _sqlite_value(value: Any) -> Any:
    # As piccolo stores them on SQLite: UUIDs and times as text (UTC), JSON as text.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        return str(value.astimezone(datetime.UTC))
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _postgres_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


class Subjects:
    """Data subjects as :func:`matching.subjects.create_subject` writes them, in bulk."""

    def __init__(self, runtime: Runtime) -> None:
        self._vault = runtime.vault
        self._kek: KeyWrapper = runtime.vault.keyring.current

    def new(
        self, kind: str, name: str, email: str, now: datetime.datetime
    ) -> tuple[Row, Row, FieldCipher]:
        """The subject's key row and subject row, and its cipher (for its other fields)."""
        subject_id = uuid.uuid4()
        dek = generate_data_key()
        owner = dek_owner(subject_id, CURRENT_KEY_VERSION)
        key_row = {
            "subject_id": subject_id,
            "key_version": CURRENT_KEY_VERSION,
            "kek_id": self._kek.kek_id,
            "wrapped": self._kek.wrap(dek, kind=KIND_DEK, owner=owner),
            "created_at": now,
        }
        cipher = FieldCipher(dek)
        subject_row = {
            "id": subject_id,
            "kind": kind,
            "created_at": now,
            "last_active_at": now,
            "email_index": self._vault.email_index(email),
            "name": seal(cipher, "data_subject", "name", subject_id, name),
            "email": seal(cipher, "data_subject", "email", subject_id, email),
            "phone": None,
        }
        return key_row, subject_row, cipher


def seal(cipher: FieldCipher, table: str, column: str, row_id: uuid.UUID, value: str) -> bytes:
    return cipher.encrypt(value.encode(), field_aad(table, column, row_id, CURRENT_KEY_VERSION))


def _group_profile(group: int) -> tuple[str, str]:
    topic = TOPIC_CODES[group % len(TOPIC_CODES)]
    province = FEED_PROVINCES[(group // len(TOPIC_CODES)) % len(FEED_PROVINCES)]
    return topic, province


async def seed(runtime: Runtime, plan: Plan, rng: random.Random) -> Seeded:
    started = time.perf_counter()
    writer = BulkWriter(runtime)
    subjects = Subjects(runtime)
    now = datetime.datetime.now(datetime.UTC)
    password_hash = await asyncio.to_thread(credentials.hash_password, PASSWORD)

    feed: list[uuid.UUID] = []
    race: list[uuid.UUID] = []
    groups: dict[int, list[uuid.UUID]] = {}
    async with writer.transaction() as insert:
        keys, people, coaches = [], [], []
        for i in range(plan.coaches + plan.race_coaches):
            racer = i >= plan.coaches
            group = -1 if racer else i % plan.groups
            topic, province = (RACE_TOPIC, RACE_PROVINCE) if racer else _group_profile(group)
            key, person, cipher = subjects.new(
                "coach", f"Coach {i}", f"coach{i}@bench.example", now
            )
            coach_id = uuid.uuid4()
            coaches.append(
                {
                    "id": coach_id,
                    "subject_id": person["id"],
                    "email_index": person["email_index"],
                    "password_hash": password_hash,
                    "totp_secret": seal(
                        cipher, "coach", "totp_secret", coach_id, credentials.new_totp_secret()
                    ),
                    "totp_enabled": False,
                    "totp_last_step": 0,
                    "topics": [topic],
                    "regions": [province],
                    "languages": ["nl", "en"],
                    # Race coaches may win every round; capacity must not be why they lose.
                    "capacity": plan.race_rounds + 10 if racer else 5,
                    "paused": False,
                    "active": True,
                    "created_at": now,
                }
            )
            keys.append(key)
            people.append(person)
            if racer:
                race.append(coach_id)
            else:
                feed.append(coach_id)
                groups.setdefault(group, []).append(coach_id)
        await insert("subject_key", keys)
        await insert("data_subject", people)
        await insert("coach", coaches)

    offers = 0
    race_requests: list[uuid.UUID] = []
    batches: list[list[tuple[str, str, list[uuid.UUID]]]] = []
    todo = [
        (*_group_profile(g), groups[g])
        for g in (rng.randrange(plan.groups) for _ in range(plan.requests))
    ]
    for start in range(0, len(todo), SEED_CHUNK):
        batches.append(todo[start : start + SEED_CHUNK])
    batches.append([(RACE_TOPIC, RACE_PROVINCE, race)] * (plan.race_rounds + 1))
    for n, batch in enumerate(batches):
        ids, rows = _request_rows(subjects, batch, now, rng, first=n * SEED_CHUNK)
        offers += len(rows["offer"])
        if n == len(batches) - 1:
            race_requests = ids
        async with writer.transaction() as insert:
            for table in ("subject_key", "data_subject", "consent", "contact_request", "offer"):
                await insert(table, rows[table])
        if plan.requests >= 20_000 and n < len(batches) - 1:
            print(
                f"  seeded {min((n + 1) * SEED_CHUNK, plan.requests):,} requests", file=sys.stderr
            )

    lifetime = datetime.timedelta(hours=runtime.settings.session_absolute_hours)
    feed_logins: list[CoachLogin] = []
    race_logins: list[CoachLogin] = []
    for coach_id in race:
        await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")
    for coach_ids, logins in ((feed, feed_logins), (race, race_logins)):
        for coach_id in coach_ids:
            session_id, info = await sessions.open_session("coach", coach_id, lifetime=lifetime)
            logins.append(CoachLogin(coach_id, session_id, info.csrf_token))
    return Seeded(feed_logins, race_logins, race_requests, offers, time.perf_counter() - started)


def _request_rows(
    subjects: Subjects,
    batch: Sequence[tuple[str, str, list[uuid.UUID]]],
    now: datetime.datetime,
    rng: random.Random,
    *,
    first: int,
) -> tuple[list[uuid.UUID], dict[str, list[Row]]]:
    """Open requests as the broadcast leaves them, each with its candidate and offers."""
    rows: dict[str, list[Row]] = {
        t: [] for t in ("subject_key", "data_subject", "consent", "contact_request", "offer")
    }
    ids = []
    for n, (topic, province, coach_ids) in enumerate(batch):
        i = first + n
        key, person, cipher = subjects.new(
            "candidate", f"Kandidaat {i} Bench", f"kandidaat{i}@bench.example", now
        )
        subject_id, request_id = person["id"], uuid.uuid4()
        ids.append(request_id)
        # Spread over the last 13 days, so the feed has an order to keep.
        sent = now - datetime.timedelta(seconds=rng.uniform(60, 13 * 86_400))
        rows["subject_key"].append(key)
        rows["data_subject"].append(person)
        rows["consent"].append(
            {
                "id": uuid.uuid4(),
                "subject_id": subject_id,
                "purpose": CONTACT,
                "statement_version": PRIVACY_STATEMENT_VERSION,
                "given_at": sent,
                "withdrawn_at": None,
            }
        )
        rows["contact_request"].append(
            {
                "id": request_id,
                "candidate_id": subject_id,
                "status": "open",
                "language": "nl",
                "topics": [topic],
                "province": province,
                "age_band": rng.choice(AGE_BANDS),
                "field_of_work": None,
                "employment": None,
                "motivation": seal(
                    cipher, "contact_request", "motivation", request_id, anonymised_text(rng)
                ),
                "draft": None,
                "summary": seal(
                    cipher, "contact_request", "summary", request_id, anonymised_text(rng)
                ),
                "token_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                "link_sealed": None,
                "created_at": sent,
                "expires_at": sent + datetime.timedelta(days=14),
                "broadcast_at": sent,
                "matched_at": None,
                "matched_coach_id": None,
                "closed_at": None,
                "ended_at": None,
            }
        )
        rows["offer"].extend(
            {
                "id": uuid.uuid4(),
                "request_id": request_id,
                "coach_id": coach_id,
                "status": "offered",
                "offered_at": sent,
                "answered_at": None,
                "decline_reason": None,
            }
            for coach_id in coach_ids
        )
    return ids, rows


# -- the server ------------------------------------------------------------------------


class Server:
    """``coachmatch run`` in a subprocess, on a free loopback port, with its own data folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.data_dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COACHMATCH_")}
        env.update(
            COACHMATCH_DATA_DIR=str(self.settings.data_dir),
            COACHMATCH_DATABASE_URL=self.settings.database_url,
            COACHMATCH_CACHE_DIR=str(self.settings.effective_cache_dir),
            COACHMATCH_ALLOWED_HOSTS="127.0.0.1",
            COACHMATCH_SESSION_IDLE_MINUTES=str(self.settings.session_idle_minutes),
        )
        return env

    async def start(self) -> None:
        self._launch()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    break
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/api/ping")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not start; its log:\n{self.tail()}")

    def _launch(self) -> None:
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--serve", str(self.port)],
                cwd=ROOT,
                env=self.environ(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def serve(port: int) -> int:
    """The server process: what ``coachmatch run --host 127.0.0.1 --port P`` runs.

    Settings from the environment, the socket from ``bind_socket``, then ``serve``
    (migrations, the site, the embedded workers), all as the command does it.
    """
    import logging

    from web.cli.serve import bind_socket
    from web.cli.serve import serve as serve_site

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings.from_environ(os.environ)
    sock = bind_socket("127.0.0.1", port)
    asyncio.run(serve_site(settings, sock))
    return 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the client ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client(Protocol):
    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Reply: ...

    async def warm(self, connections: int) -> None:
        """Hold this many open, recently used connections (the next requests take them)."""

    async def aclose(self) -> None: ...


class LeanClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams.

    The default load generator: ``httpx.AsyncClient`` spends about 1 ms of CPU per
    request here (at most ~1,000 requests/s, fewer with 16 in flight), more than
    the server spends on a trivial endpoint, so the figures would be the client's.
    This one writes pre-built request bytes and reads ``Content-Length`` or chunked
    answers, which is all the API sends. Idle connections are dropped before the
    server's keep-alive limit (uvicorn: 5 s) so none is found closed mid-request.
    """

    KEEP_IDLE_SECONDS = 4.0

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._idle: list[_Connection] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Reply:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"host: {self._host}:{self._port}"]
        if json_body is not None or method not in ("GET", "HEAD"):
            lines.append(f"content-length: {len(body)}")
        if json_body is not None:
            lines.append("content-type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        conn, reused = await self._take()
        try:
            reply, keep = await conn.exchange(data)
        except (asyncio.IncompleteReadError, ConnectionError):
            conn.close()
            if not reused:
                raise
            conn = await self._open()  # the server closed an idle connection: once more
            reply, keep = await conn.exchange(data)
        except BaseException:
            conn.close()
            raise
        if keep:
            conn.used = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def warm(self, connections: int) -> None:
        taken = [(await self._take())[0] for _ in range(connections)]
        ping = f"GET /api/ping HTTP/1.1\r\nhost: {self._host}:{self._port}\r\n\r\n".encode()
        await asyncio.gather(*(conn.exchange(ping) for conn in taken))
        now = time.monotonic()
        for conn in taken:
            conn.used = now
        self._idle += taken

    async def aclose(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()

    async def _take(self) -> tuple[_Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if time.monotonic() - conn.used < self.KEEP_IDLE_SECONDS and not conn.at_eof():
                return conn, True
            conn.close()
        return await self._open(), False

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        return _Connection(reader, writer)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self.used = time.monotonic()

    def at_eof(self) -> bool:
        return self._reader.at_eof()

    def close(self) -> None:
        self._writer.close()

    async def exchange(self, data: bytes) -> tuple[Reply, bool]:
        """Send one request, read its answer; also says whether the connection stays open."""
        self._writer.write(data)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip().lower()
        keep = fields.get(b"connection") != b"close"
        if b"chunked" in fields.get(b"transfer-encoding", b""):
            body = await self._chunked()
        elif b"content-length" in fields:
            body = await self._reader.readexactly(int(fields[b"content-length"]))
        elif status in (204, 304) or status < 200:
            body = b""
        else:
            body, keep = await self._reader.read(), False
        return Reply(status, body), keep

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # no trailers are sent
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)


class HttpxClient:
    """``httpx.AsyncClient`` behind the same interface (``--client httpx``), to compare."""

    def __init__(self, url: str, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(base_url=url, limits=limits, timeout=60)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Reply:
        response = await self._client.request(method, path, headers=headers, json=json_body)
        return Reply(response.status_code, response.content)

    async def warm(self, connections: int) -> None:
        await asyncio.gather(*(self._client.get("/api/ping") for _ in range(connections)))

    async def aclose(self) -> None:
        await self._client.aclose()


# -- load ------------------------------------------------------------------------------


@dataclasses.dataclass
class Figures:
    """Latencies (seconds) and status codes of one phase."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, latency: float, status: int) -> None:
        self.latencies.append(latency)
        self.statuses[status] += 1

    def extend(self, other: Figures) -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.seconds += other.seconds

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000

    def summary(self, prefix: str) -> dict[str, Any]:
        return {
            f"{prefix}_count": self.count,
            f"{prefix}_per_second": self.rate,
            f"{prefix}_p50_ms": self.percentile_ms(50),
            f"{prefix}_p99_ms": self.percentile_ms(99),
            f"{prefix}_max_ms": max(self.latencies, default=float("nan")) * 1000,
            f"{prefix}_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


Call = Callable[[int], Awaitable[int]]  # the i-th request; returns the status code


async def load(
    call: Call,
    *,
    concurrency: int,
    seconds: float,
    warmup: int,
    settle: Callable[[], Awaitable[object]] | None = None,
) -> Figures:
    """``concurrency`` requests in flight for ``seconds``, after ``warmup`` untimed ones.

    ``settle`` runs between the warm-up and the timed part (to let background work end).
    """
    counter = iter(range(sys.maxsize))
    await asyncio.gather(*(_drain(call, counter, warmup) for _ in range(concurrency)))
    if settle is not None:
        await settle()
    figures = Figures()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            i = next(counter)
            t0 = time.perf_counter()
            status = await call(i)
            figures.add(time.perf_counter() - t0, status)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    figures.seconds = time.perf_counter() - started
    return figures


async def _drain(call: Call, counter: Iterator[int], total: int) -> None:
    for i in counter:
        if i >= total:
            return
        await call(i)


# -- the phases ------------------------------------------------------------------------


def submission(i: int, rng: random.Random) -> dict[str, Any]:
    """A request as the candidate's form sends it: the required fields, a city and an age."""
    topic, province = _group_profile(rng.randrange(len(TOPIC_CODES) * len(FEED_PROVINCES)))
    return {
        "name": f"Sanne Bench{i}",
        "email": f"sanne.bench{i}@example.org",
        "motivation": anonymised_text(rng),
        "topics": [topic],
        "consents": {CONTACT: True, consent.ADDRESS: True, consent.AGE: True},
        "city": CITIES[province],
        "age": str(rng.randint(25, 60)),
        "language": "nl",
    }


async def pending_work() -> int:
    """Jobs not done yet (filing, broadcasts, mails) plus requests still waiting to be
    filed or broadcast."""
    jobs = await OutboxJob.count().where(OutboxJob.done_at.is_null() & (OutboxJob.attempts < 10))
    unfiled = await WaitingIntake.count().where(WaitingIntake.attempts < filing.MAX_ATTEMPTS)
    waiting = await ContactRequest.count().where(ContactRequest.status == "pending")
    return int(jobs) + int(unfiled) + int(waiting)


async def wait_for_workers(limit: float = DRAIN_TIMEOUT_SECONDS) -> float:
    """Wait until the server's workers have nothing left to do; returns the seconds waited."""
    started = time.perf_counter()
    while await pending_work():
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"the workers did not finish within {limit:.0f} s")
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


async def race(client: Client, coaches: Sequence[CoachLogin], request_id: uuid.UUID) -> Figures:
    """One round: every coach holds a warm connection, then all accept at once."""
    await client.warm(len(coaches))
    go = asyncio.Event()
    figures = Figures()
    path = f"/api/coach/requests/{request_id}/accept"

    async def accept(coach: CoachLogin) -> None:
        await go.wait()
        t0 = time.perf_counter()
        reply = await client.request("POST", path, headers=coach.headers)
        figures.add(time.perf_counter() - t0, reply.status)

    tasks = [asyncio.create_task(accept(c)) for c in coaches]
    await asyncio.sleep(0)  # every task waits at the gate
    started = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    figures.seconds = time.perf_counter() - started
    return figures


async def run_phases(
    plan: Plan, seeded: Seeded, server: Server, rng: random.Random, client_kind: str
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    client: Client
    if client_kind == "httpx":
        client = HttpxClient(server.url, max(plan.concurrency, plan.race_coaches) + 8)
    else:
        client = LeanClient("127.0.0.1", server.port)
    try:

        async def ping(i: int) -> int:
            return (await client.request("GET", "/api/ping")).status

        async def submit(i: int) -> int:
            reply = await client.request("POST", "/api/requests", json_body=submission(i, rng))
            return reply.status

        coaches = list(seeded.feed_coaches)
        rng.shuffle(coaches)

        async def feed(i: int) -> int:
            coach = coaches[i % len(coaches)]
            reply = await client.request("GET", "/api/coach/requests", headers=coach.headers)
            return reply.status

        busy, seconds = plan.concurrency, plan.seconds
        pings = await load(ping, concurrency=busy, seconds=seconds, warmup=plan.warmup)
        # The warm-up's broadcasts (the first loads the anonymiser) end before the timing.
        submissions = await load(
            submit, concurrency=busy, seconds=seconds, warmup=SUBMIT_WARMUP, settle=wait_for_workers
        )
        drain = await wait_for_workers()
        result |= pings.summary("ping") | submissions.summary("submit")
        result["submit_ratio"] = submissions.rate / pings.rate if pings.rate else 0.0
        result["submit_created"] = submissions.statuses[201]
        result["broadcast_drain_seconds"] = drain
        result["broadcasts_per_second"] = submissions.count / (submissions.seconds + drain)

        rounds = Figures()
        winners = []
        for n, request_id in enumerate(seeded.race_requests):
            figures = await race(client, seeded.race_coaches, request_id)
            winners.append(figures.statuses[200])
            if n:  # the first round is the warm-up
                rounds.extend(figures)
        result |= rounds.summary("race")
        result["race_rounds"] = len(winners) - 1
        result["race_rounds_one_winner"] = sum(1 for w in winners if w == 1)
        result["race_all_rounds_one_winner"] = all(w == 1 for w in winners)
        result["race_5xx"] = sum(v for k, v in rounds.statuses.items() if k >= 500)
        result["race_round_wall_ms"] = rounds.seconds / max(1, len(winners) - 1) * 1000

        sample = await client.request("GET", "/api/coach/requests", headers=coaches[0].headers)
        result["feed_sample_status"] = sample.status
        result["feed_sample_bytes"] = len(sample.body)
        result["feed_sample_items"] = _items(sample)
        # The target is the latency of the feed over the full data set: one coach at a
        # time. With more in flight, requests also queue behind each other (shown too).
        alone = await load(feed, concurrency=1, seconds=seconds, warmup=plan.warmup)
        result |= alone.summary("feed")
        result |= (await load(feed, concurrency=busy, seconds=seconds, warmup=0)).summary(
            "feed_loaded"
        )
    finally:
        await client.aclose()
    return result


def _items(reply: Reply) -> int | None:
    try:
        body = reply.json()
    except ValueError:
        return None
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return len(value)
    return None


# -- the run ---------------------------------------------------------------------------


async def bench(
    plan: Plan, database_url: str | None, cache_dir: Path, seed_value: int, client_kind: str
) -> dict[str, Any]:
    rng = random.Random(seed_value)
    with tempfile.TemporaryDirectory(prefix="coachmatch-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        url = database_url or f"sqlite:///{data_dir / 'coachmatch.sqlite3'}"
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            cache_dir=cache_dir,
            allowed_hosts=("127.0.0.1",),
            session_idle_minutes=24 * 60,  # seeding a big set takes a while
        )
        settings.validate()
        await asyncio.to_thread(_prepare_anonymiser, cache_dir)
        runtime = await open_runtime(settings)
        try:
            if await ContactRequest.count() or await OutboxJob.count():
                raise RuntimeError("the database is not empty: give the bench a fresh one")
            print(
                f"seeding {plan.requests:,} requests, {plan.coaches:,} coaches ...", file=sys.stderr
            )
            seeded = await seed(runtime, plan, rng)
            if not settings.is_sqlite:
                # PostgreSQL's autovacuum would have analysed tables that grew over months;
                # a bulk load is not. SQLite never analyses by itself, so it is left as is.
                await runtime.engine.run_ddl("ANALYZE")
            print(f"seeded in {seeded.seconds:.1f} s; starting the server", file=sys.stderr)
            server = Server(settings)
            await server.start()
            try:
                result = await run_phases(plan, seeded, server, rng, client_kind)
            except BaseException:
                print(f"server log:\n{server.tail()}", file=sys.stderr)
                raise
            finally:
                server.stop()
        finally:
            await close_runtime(runtime)
    return {
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "requests": plan.requests,
        "coaches": plan.coaches,
        "race_coaches": plan.race_coaches,
        "concurrency": plan.concurrency,
        "client": client_kind,
        "phase_seconds": plan.seconds,
        "offers": seeded.offers,
        "offers_per_coach": seeded.offers / max(1, plan.coaches),
        "seed_seconds": seeded.seconds,
        **result,
        "targets": {
            "submit_ratio_min": TARGET_SUBMIT_RATIO,
            "race_p99_ms_max": TARGET_RACE_P99_MS,
            "feed_p99_ms_max": TARGET_FEED_P99_MS,
        },
        "ok": verdicts(result),
    }


def _prepare_anonymiser(cache_dir: Path) -> None:
    from anonymiser.text import prepare

    prepare(cache_dir)


def verdicts(result: dict[str, Any]) -> dict[str, bool]:
    return {
        "submit_ratio": result["submit_ratio"] >= TARGET_SUBMIT_RATIO
        and result["submit_created"] == result["submit_count"],
        "race_p99": result["race_p99_ms"] <= TARGET_RACE_P99_MS,
        "race_one_winner": bool(result["race_all_rounds_one_winner"]) and not result["race_5xx"],
        "feed_p99": result["feed_p99_ms"] <= TARGET_FEED_P99_MS
        and set(result["feed_statuses"]) == {"200"}
        and set(result["feed_loaded_statuses"]) == {"200"},
    }


def report(r: dict[str, Any]) -> str:
    def mark(key: str) -> str:
        return "ok" if r["ok"][key] else "BELOW"

    def statuses(prefix: str) -> str:
        return ", ".join(f"{v}x {k}" for k, v in r[f"{prefix}_statuses"].items())

    lines = [
        f"request flow on {r['database']}: {r['requests']:,} open requests, {r['coaches']:,} "
        f"coaches ({r['offers_per_coach']:.0f} open offers each), {r['race_coaches']} race "
        f"coaches; {r['concurrency']} requests in flight unless said, {r['phase_seconds']:.0f} s "
        f"per phase, {r['client']} client",
        "",
        f"{'':<36}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}   {'target':<17}result",
    ]

    def row(label: str, prefix: str, target: str, verdict: str) -> str:
        return (
            f"{label:<36}{r[f'{prefix}_per_second']:>8.0f}{r[f'{prefix}_p50_ms']:>9.1f}"
            f"{r[f'{prefix}_p99_ms']:>9.1f}{r[f'{prefix}_max_ms']:>9.1f}   {target:<17}{verdict}"
        )

    lines.append(row("GET /api/ping (baseline)", "ping", "", ""))
    lines.append(
        row(
            "POST /api/requests",
            "submit",
            f">= {TARGET_SUBMIT_RATIO:.1f}x ping",
            f"{r['submit_ratio']:.2f}x {mark('submit_ratio')}",
        )
    )
    lines.append(
        row(
            f"accept race ({r['race_coaches']} at once)",
            "race",
            f"p99 <= {TARGET_RACE_P99_MS:.0f} ms",
            mark("race_p99"),
        )
    )
    lines.append(
        row(
            "GET /api/coach/requests (1 in flight)",
            "feed",
            f"p99 <= {TARGET_FEED_P99_MS:.0f} ms",
            mark("feed_p99"),
        )
    )
    lines.append(row(f"  the same, {r['concurrency']} in flight", "feed_loaded", "", ""))
    lines += [
        "",
        f"submissions: {statuses('submit')}; their broadcasts and mails done "
        f"{r['broadcast_drain_seconds']:.1f} s after the phase "
        f"({r['broadcasts_per_second']:.0f} requests/s end to end)",
        f"race: exactly one winner in {r['race_rounds_one_winner']} of {r['race_rounds'] + 1} "
        f"rounds (1 warm-up) -> {mark('race_one_winner')}; timed answers {statuses('race')}; "
        f"a round takes {r['race_round_wall_ms']:.0f} ms from the start to the last answer",
        f"feed: {statuses('feed')}, {statuses('feed_loaded')}; a sample answer has "
        f"{r['feed_sample_items']} items, "
        f"{r['feed_sample_bytes']:,} bytes",
        f"seeding took {r['seed_seconds']:.1f} s ({r['offers']:,} offers)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--requests", type=int, help="open requests to seed (100,000)")
    parser.add_argument("--coaches", type=int, help="feed coaches to seed (1,000)")
    parser.add_argument("--race-coaches", type=int, help="coaches in the accept race (200)")
    parser.add_argument("--race-rounds", type=int, help="timed race rounds (20)")
    parser.add_argument("--seconds", type=float, help="duration of each throughput phase (10)")
    parser.add_argument("--concurrency", type=int, help="requests in flight (16)")
    parser.add_argument(
        "--database-url",
        help="postgresql://... of an empty database (default: SQLite in a temporary folder)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "coachmatch-bench-anonymiser-cache",
        help="the anonymiser's lookup cache (built once if missing)",
    )
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="load generator: a lean HTTP/1.1 client (default) or httpx.AsyncClient",
    )
    parser.add_argument("--seed", type=int, default=4, help="random seed of the data")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)
    plan = QUICK if args.quick else FULL
    overrides = {
        name: getattr(args, name)
        for name in ("requests", "coaches", "race_coaches", "race_rounds", "seconds", "concurrency")
        if getattr(args, name) is not None
    }
    plan = dataclasses.replace(plan, **overrides)
    if min(plan.requests, plan.coaches, plan.race_coaches, plan.race_rounds, plan.concurrency) < 1:
        parser.error("sizes must be at least 1")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be postgresql://...")
    try:
        result = asyncio.run(bench(plan, args.database_url, args.cache_dir, args.seed, args.client))
    except (RuntimeError, OSError) as exc:
        print(f"bench/requests.py: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
