"""The API keeps its OpenAPI contract: schemathesis, in-process, for each role.

Every operation of `api/v1/openapi.json` is exercised with schemathesis's engine (the one
`st run` uses: examples, coverage, fuzzing and stateful phases, positive and negative data,
every check) against the application served by pytest-django's live server on loopback
(the engine's in-process WSGI transport cannot run the stateful phase in this version), with
an admin's, an animator's and a member's token. Bounded and reproducible: a fixed number of
examples per operation and a fixed seed, no example database, one worker, nothing but
127.0.0.1. Any failure fails the test with its reproduction.

`positive_data_acceptance` is kept with 422 added to its expected statuses, because a domain
rule the schema cannot state (a session in the past, an account that is not an animator)
answers 422 with its own code; `schema_valid_data_is_not_refused_as_invalid` then holds
the line the built-in check stands for: data the schema calls valid is never refused by
the request's validation (400, or 422 `request.invalid`)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic
from schemathesis.specs.openapi.checks import is_unexpected_http_status_case

from antenne.accounts import services
from antenne.core.permissions import Role
from tests.factories import (
    AccessRequestFactory,
    EventFactory,
    RegistrationFactory,
    SessionFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True)]

SEED = 16
MAX_EXAMPLES = 10


@schemathesis.check
def schema_valid_data_is_not_refused_as_invalid(ctx, response, case):
    """Positive data passes the request's validation: never 400, never `request.invalid`."""
    if case.meta is None or is_unexpected_http_status_case(case):
        return
    if not case.meta.generation.mode.is_positive:
        return
    code = None
    if response.status_code == 422:
        try:
            code = response.json().get("code")
        except ValueError:
            code = None
    if response.status_code == 400 or code == "request.invalid":
        raise AssertionError(
            f"Data valid for the schema was refused: {response.status_code} {response.text[:500]}"
        )
    return


def _config(token: str, *, coverage: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            "continue-on-failure": True,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "database": "none",
            },
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
                },
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": 10},
            },
        }
    )


@pytest.fixture
def workspace():
    """Something for every operation to find: a team, a webinar with a session coming,
    a registrant, a speaker, a pending access request, and the three roles."""
    team = TeamFactory()
    admin = UserFactory(role=Role.ADMIN, team=team, email="admin@service.example")
    animator = UserFactory(role=Role.ANIMATOR, team=team, email="anim@service.example")
    member = UserFactory(role=Role.MEMBER, team=team, email="membre@service.example")
    event = EventFactory(team=team, owner=animator)
    session = SessionFactory(
        event=event, animators=[animator], starts_at=timezone.now() + timedelta(days=30)
    )
    RegistrationFactory(session=session)
    session.speakers.create(email="orateur@public.example", name="Oratrice")
    AccessRequestFactory()
    return {Role.ADMIN: admin, Role.ANIMATOR: animator, Role.MEMBER: member}


def _describe(statistic: Statistic) -> list[str]:
    lines = []
    for label, grouped in sorted(statistic.failures.items()):
        for group in grouped.values():
            for failure in group.failures:
                lines.append(
                    f"{label}: {failure.title}\n    {failure.message.strip()[:400]}\n"
                    f"    {(group.code_sample or '').strip()[:400]}"
                )
    return lines


# The coverage phase (every boundary and mutation the schema implies, 3,000 requests) runs
# with the admin's token, who reaches every operation; the other roles run the examples,
# fuzzing and stateful phases, which is where their permissions show.
@pytest.mark.parametrize("role", [Role.ADMIN, Role.ANIMATOR, Role.MEMBER])
def test_the_api_keeps_its_openapi_contract(live_server, workspace, role):
    _token, raw = services.create_api_token(actor=None, user=workspace[role], name="contract")
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/v1/openapi.json", config=_config(raw, coverage=role == Role.ADMIN)
    )
    statistic = Statistic()
    errors = []
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            statistic.on_scenario_finished(event.recorder)
        elif isinstance(event, events.EngineFinished) and event.failures:
            statistic.record_run_check_failures(event.failures, label="run checks")
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
    elapsed = time.monotonic() - started
    failures = _describe(statistic)
    report = "\n".join([*failures, *errors])
    print(
        f"schemathesis {role}: {statistic.total_cases} cases, {len(failures)} unique failures, "
        f"{len(errors)} errors, {elapsed:.1f}s"
    )
    assert statistic.total_cases > 0
    assert not [*failures, *errors], report
