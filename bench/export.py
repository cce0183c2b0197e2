"""A session's export with 10,000 registrants and their attendance: how long the CSV (a ZIP
of CSV files) and the XLSX take, and how much memory they hold, on SQLite or PostgreSQL.

One command: `.venv/bin/python bench/export.py [--registrants 10000] [--small 2500]
[--attended 0.7] [--database-url [URL]] [--runs 2]`.

It makes its own database: SQLite in a temporary data directory by default, or with
--database-url a PostgreSQL database it creates and drops (default
postgres://postgres@127.0.0.1:5432/antenne_bench_export; the name must contain "bench").
In this process (Django set up on that database) it migrates, then bulk-creates two ended
sessions of the same webinar (three registration questions): one with --registrants
registrants and one with --small, each with UTM parameters and answers; --attended of
them joined the room (a fifth of those from a second device, a tenth by telephone), a
third of those wrote in the chat (one message each, two for some), one in ten asked a
question, upvotes, three closed polls answered by the attendees. On PostgreSQL it runs
ANALYZE (as autovacuum would soon do).

After one untimed export (the first pays for imports and template loading), for each
session and format it runs `analytics.services.run_export` as the task does
(the file written in the data dir, progress in the row, the link emailed as an outbox
row) --runs times and prints the best and worst wall time, rows per second and the file
size; then once more under tracemalloc for the peak of Python memory allocated during the
export (slower: not timed). Memory that does not grow from --small to --registrants is what
streaming means here. It also times the report's figures (`analytics.figures.compute`) of
the large session. It checks that each file has one row per registrant. Exit status 1 when a
check fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import secrets
import sys
import tempfile
import time
import tracemalloc
import zipfile
from datetime import timedelta

from common import drop_database, recreate_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/antenne_bench_export"


def configure(args: argparse.Namespace, data_dir: str) -> None:
    for name in [n for n in os.environ if n.startswith(("ANTENNE_", "DJANGO_"))]:
        del os.environ[name]
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(
        ANTENNE_DATA_DIR=data_dir,
        ANTENNE_SECRET_KEY=secrets.token_urlsafe(50),
        ANTENNE_AUTO_EXPORT_ON_END="false",
        DJANGO_SETTINGS_MODULE="antenne.settings",
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url


def build(args: argparse.Namespace) -> dict:
    """The user, the webinar and its two sessions, every row bulk-created."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from antenne.accounts.models import Team, User
    from antenne.core.permissions import Role
    from antenne.events.models import Event, Session
    from antenne.registrations.models import Registration, RegistrationField
    from antenne.rooms.models import (
        ChatMessage,
        Poll,
        PollVote,
        Presence,
        Question,
        QuestionVote,
    )

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter() - started
    rng = random.Random(8)
    now = timezone.now()
    anim = User.objects.create(email="anim@bench.example", role=Role.ANIMATOR)
    team = Team.objects.create(name="Bench", contact_email="bench@bench.example")
    event = Event.objects.create(title="Budget 2027", team=team, owner=anim, published=True)
    fields = [
        RegistrationField.objects.create(event=event, label="Service", kind="text"),
        RegistrationField.objects.create(
            event=event, label="Région", kind="choice", choices=["Nord", "Sud", "Est", "Ouest"]
        ),
        RegistrationField.objects.create(event=event, label="Déjà venu", kind="checkbox"),
    ]
    sources = ["newsletter", "site", "linkedin", "partenaire", ""]

    def session_of(size: int, offset: int) -> Session:
        start = now - timedelta(hours=3 + offset)
        session = Session.objects.create(
            event=event,
            starts_at=start,
            duration_minutes=90,
            state=Session.State.ENDED,
            started_at=start,
            ended_at=start + timedelta(minutes=90),
        )
        session.animators.set([anim])
        people = Registration.objects.bulk_create(
            [
                Registration(
                    session=session,
                    email=f"person{offset}-{n:05d}@bench.example",
                    first_name='=HYPERLINK("http://x","y")' if n == 0 else f"Prénom{n}",
                    last_name=f"Nom{n}",
                    language="fr",
                    join_key=secrets.token_urlsafe(32),
                    consent_at=start - timedelta(days=3),
                    consent_version="0123456789abcdef",
                    utm={
                        "utm_source": sources[n % len(sources)],
                        "utm_medium": "email",
                        "utm_campaign": "printemps",
                    }
                    if n % 5
                    else {},
                    answers={
                        fields[0].key: {"label": "Service", "value": f"Service {n % 40}"},
                        fields[1].key: {"label": "Région", "value": ["Nord", "Sud"][n % 2]},
                        fields[2].key: {"label": "Déjà venu", "value": n % 3 == 0},
                    },
                )
                for n in range(size)
            ],
            batch_size=1000,
        )
        came = people[: int(size * args.attended)]
        presences = []
        for n, person in enumerate(came):
            joined = start + timedelta(minutes=rng.randint(0, 20), seconds=rng.randint(0, 59))
            left = joined + timedelta(minutes=rng.randint(5, 70))
            device = "phone" if n % 10 == 0 else "desktop"
            presences.append(
                Presence(
                    session=session,
                    registration=person,
                    device=device,
                    joined_at=joined,
                    left_at=left,
                    seen_at=left,
                )
            )
            if n % 5 == 1:  # a second device, overlapping
                presences.append(
                    Presence(
                        session=session,
                        registration=person,
                        device="mobile",
                        joined_at=joined + timedelta(minutes=3),
                        left_at=left + timedelta(minutes=5),
                        seen_at=left,
                    )
                )
        Presence.objects.bulk_create(presences, batch_size=2000)
        ChatMessage.objects.bulk_create(
            [
                ChatMessage(
                    session=session,
                    registration=person,
                    author_name=person.full_name,
                    role="attendee",
                    text=f"Message {n} : merci pour cette présentation !",
                )
                for n, person in enumerate(came)
                if n % 3 == 0
                for _ in range(2 if n % 12 == 0 else 1)
            ],
            batch_size=2000,
        )
        questions = Question.objects.bulk_create(
            [
                Question(
                    session=session,
                    registration=person,
                    author_name=person.full_name,
                    text=f"Question {n} : et pour les collectivités ?",
                    votes=n % 7,
                )
                for n, person in enumerate(came)
                if n % 10 == 0
            ],
            batch_size=2000,
        )
        QuestionVote.objects.bulk_create(
            [
                QuestionVote(
                    question=questions[n % len(questions)], registration=p, voter=f"r:{p.pk}"
                )
                for n, p in enumerate(came)
                if n % 4 == 0
            ],
            batch_size=2000,
        )
        for number, options in enumerate((["Oui", "Non"], ["A", "B", "C", "D"], ["1", "2", "3"])):
            poll = Poll.objects.create(
                session=session,
                question=f"Sondage {number + 1}",
                options=options,
                multiple=number == 1,
                state="closed",
            )
            PollVote.objects.bulk_create(
                [
                    PollVote(
                        poll=poll,
                        registration=p,
                        voter=f"r:{p.pk}",
                        choices=[n % len(options)] if number != 1 else [0, n % 3 + 1],
                    )
                    for n, p in enumerate(came)
                    if n % (number + 2)
                ],
                batch_size=2000,
            )
        return session

    large = session_of(args.registrants, 0)
    small = session_of(args.small, 1) if args.small else None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "user": anim,
        "large": large,
        "small": small,
        "migrate": migrated,
        "data": time.perf_counter() - started - migrated,
        "vendor": connection.vendor,
    }


def export_once(user, session, fmt: str) -> tuple[float, object]:
    from django.conf import settings

    from antenne.analytics import services
    from antenne.analytics.models import Export

    export = Export.objects.create(session=session, requested_by=user, format=fmt)
    started = time.perf_counter()
    state = services.run_export(export_id=export.pk)
    elapsed = time.perf_counter() - started
    export.refresh_from_db()
    if state != "done":
        raise SystemExit(f"export {export.pk} ended {state}: {export.error}")
    return elapsed, settings.EXPORTS_DIR / export.file_name


def rows_in(path, fmt: str) -> int:
    if fmt == "csv":
        with zipfile.ZipFile(path) as archive, archive.open("registrants.csv") as member:
            return sum(1 for _line in member) - 1
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    count = sum(1 for _row in book["registrants"].iter_rows(values_only=True)) - 1
    book.close()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrants", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_500, help="0: no small session")
    parser.add_argument("--attended", type=float, default=0.7)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--database-url",
        nargs="?",
        const=DEFAULT_URL,
        help=f"a PostgreSQL database to create and drop (alone: {DEFAULT_URL})",
    )
    args = parser.parse_args()
    if args.database_url:
        recreate_database(args.database_url)
    failures: list[str] = []
    lines: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="antenne-bench-") as data_dir:
            configure(args, data_dir)
            built = build(args)
            from antenne.analytics import figures

            # One untimed export first: the first one pays for imports and template loading.
            export_once(built["user"], built["small"] or built["large"], "csv")
            sessions = [("large", built["large"], args.registrants)]
            if built["small"] is not None:
                sessions.append(("small", built["small"], args.small))
            for _label, session, size in sessions:
                for fmt in ("csv", "xlsx"):
                    times = []
                    for _run in range(args.runs):
                        elapsed, path = export_once(built["user"], session, fmt)
                        times.append(elapsed)
                    found = rows_in(path, fmt)
                    if found != size:
                        failures.append(f"{fmt} of {size:,}: {found:,} rows")
                    tracemalloc.start()
                    export_once(built["user"], session, fmt)
                    _current, peak = tracemalloc.get_traced_memory()
                    tracemalloc.stop()
                    lines.append(
                        f"{fmt:<5} {size:>7,} registrants  {min(times):6.2f} to {max(times):.2f} s"
                        f"  {size / min(times):>7,.0f} rows/s"
                        f"  {os.path.getsize(path) / 1e6:5.1f} MB"
                        f"  peak Python memory {peak / 1e6:5.1f} MB"
                    )
            started = time.perf_counter()
            computed = figures.compute(built["large"])
            report = time.perf_counter() - started
            from django.db import connections

            connections.close_all()
    finally:
        if args.database_url:
            drop_database(args.database_url)

    print(
        f"export of a session's registrants and attendance; {built['vendor']}; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"set-up              migrate {built['migrate']:.1f} s, data {built['data']:.1f} s")
    for line in lines:
        print(line)
    print(
        f"report figures      {report:.2f} s for {args.registrants:,} registrants "
        f"({computed['attendees']:,} attendees, peak {computed['peak_viewers']:,})"
    )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS    {maxrss:.0f} MB (data creation included)")
    for failure in failures:
        print(f"CHECK FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
