"""Content check before a mass email: another webinar's title, a wrong date, a link to another
webinar or someone's personal link, a replay placeholder without a replay."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from django.utils import translation

from antenne.mailing.content_check import (
    DATE,
    LINK,
    MISSING_REPLAY,
    OTHER_EVENT,
    PERSONAL_LINK,
    Flag,
    check_content,
)
from tests.factories import EventFactory, SessionFactory

pytestmark = pytest.mark.django_db

# 23:30 UTC on 1 December is 00:30 on 2 December in Paris (UTC+1 in winter): the session's
# date, for the people it is written to, is 2 December 2026 (a Wednesday).
PARIS_AFTER_MIDNIGHT = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


@pytest.fixture
def session():
    event = EventFactory(title="Budget 2027")
    return SessionFactory(event=event, starts_at=PARIS_AFTER_MIDNIGHT, time_zone="Europe/Paris")


def check(session, body, *, subject="", replay_url="", language="fr"):
    texts = {language: {"subject": subject, "body": body}}
    return check_content(texts=texts, session=session, replay_url=replay_url)


def found(flags: list[Flag]) -> list[tuple[str, str]]:
    return [(flag.kind, flag.match) for flag in flags]


def test_the_classic_accident_gives_one_flag_per_finding(session):
    EventFactory(title="Santé numérique")
    body = "Bonjour {first_name},\nMerci d'avoir participé à « Santé numérique » le 3 novembre."

    flags = check(session, body)

    assert found(flags) == [(OTHER_EVENT, "Santé numérique"), (DATE, "3 novembre")]
    assert all(flag.language == "fr" and flag.field == "body" for flag in flags)


def test_a_text_written_for_this_session_has_no_flag(session):
    EventFactory(title="Santé numérique")
    body = (
        "Bonjour {first_name},\nMerci d'avoir participé à « {event_title} » (Budget 2027) "
        "le mercredi 2 décembre 2026 à 00:30, le {session_start}.\n"
        "Le replay : {replay_url}\nVotre lien : {join_url}\n"
        f"Pour toute question : 01 23 45 67 89 ou https://antenne.test/e/{session.event_id}/."
    )

    assert check(session, body, subject="Merci !", replay_url="https://video.example/r") == []


# Other webinars' titles


@pytest.mark.parametrize(
    "written",
    ["Santé numérique", "SANTE NUMERIQUE", "sante\u0301 nume\u0301rique", "Santé\n  numérique"],
)
def test_another_title_is_found_whatever_its_case_accents_and_spacing(session, written):
    EventFactory(title="Santé numérique")

    flags = check(session, f"Revoir {written}, c'était bien.")

    assert found(flags) == [(OTHER_EVENT, written)]


def test_a_title_written_with_combining_accents_and_curly_apostrophe_is_found_whole(session):
    EventFactory(title="Rendez-vous de l'été")
    written = "rendez-vous de l\u2019e\u0301te\u0301"

    assert found(check(session, f"Au {written}.")) == [(OTHER_EVENT, written)]


def test_a_title_inside_other_words_is_not_flagged(session):
    EventFactory(title="Data Week")

    assert check(session, "Notre Big Data Weekend, et les Data Weeks.") == []
    assert found(check(session, "Comme à la Data Week.")) == [(OTHER_EVENT, "Data Week")]


def test_short_titles_are_ordinary_words(session):
    EventFactory(title="Forum")
    EventFactory(title=" Atelier ")

    assert found(check(session, "Au forum, l'atelier.")) == [(OTHER_EVENT, "atelier")]


def test_a_title_contained_in_this_events_title_is_not_flagged():
    EventFactory(title="Budget 2027")
    session = SessionFactory(
        event=EventFactory(title="Budget 2027 — session 2"), starts_at=PARIS_AFTER_MIDNIGHT
    )

    assert check(session, "Merci d'avoir suivi Budget 2027 — session 2.") == []


def test_the_longest_title_is_named_once(session):
    EventFactory(title="Open data")
    EventFactory(title="Open data avancé")

    with translation.override("en"):
        flags = check(session, "Après Open data avancé, revoyez Open Data avancé et open data.")

    assert [(flag.match, flag.message) for flag in flags] == [
        ("Open data avancé", 'Names another webinar of the workspace: "Open data avancé".'),
        ("open data", 'Names another webinar of the workspace: "Open data".'),
    ]


def test_titles_are_read_in_one_query(session, django_assert_num_queries):
    EventFactory.create_batch(30)
    EventFactory(title="Santé numérique")

    with django_assert_num_queries(1):
        flags = check(session, "Voir Santé numérique et Webinaire inconnu.")

    assert found(flags) == [(OTHER_EVENT, "Santé numérique")]


# Dates


@pytest.mark.parametrize(
    ("written", "match"),
    [
        ("03/11/2026", "03/11/2026"),
        ("03/11/26", "03/11/26"),
        ("le 03/11,", "03/11"),
        ("3.11.2026", "3.11.2026"),
        ("2026-11-03", "2026-11-03"),
        ("le 1er novembre 2026", "1er novembre 2026"),
        ("le 3 novembre.", "3 novembre"),
        ("lundi 3 novembre 2026", "lundi 3 novembre 2026"),
        ("mar. 3 nov. à 14:00", "mar. 3 nov"),
        ("3 Decembre", "3 Decembre"),
        ("on 3 November 2026", "3 November 2026"),
        ("on November 3, 2026.", "November 3, 2026"),
        ("on December 1st", "December 1st"),
        ("Dec 1", "Dec 1"),
        ("the 3rd of Dec. at noon", "3rd of Dec"),
        ("le 2 décembre 2025", "2 décembre 2025"),
        ("le 02/12/2025", "02/12/2025"),
    ],
)
def test_a_date_that_is_not_the_sessions_is_flagged(session, written, match):
    with translation.override("en"):
        flags = check(session, f"Rendez-vous {written} !")

    assert found(flags) == [(DATE, match)]
    assert flags[0].message == "A date that is not this session's date (2 December 2026)."


@pytest.mark.parametrize(
    "written",
    [
        "2 décembre",
        "le 2 DECEMBRE 2026",
        "mercredi 2 décembre 2026",
        "02/12/2026",
        "02/12/26",
        "02/12",
        "2.12.2026",
        "2026-12-02",
        "December 2nd, 2026",
        "Wednesday, December 2",
        "Dec. 2",
        "2 Dec 2026",
    ],
)
def test_the_sessions_local_date_is_not_flagged(session, written):
    assert check(session, f"C'était le {written}, merci.") == []


@pytest.mark.parametrize(
    ("starts_at", "time_zone", "good", "bad"),
    [
        # 23:30 in Paris on 1 December is 22:30 UTC: the same day either way.
        (datetime(2026, 12, 1, 22, 30, tzinfo=UTC), "Europe/Paris", "1er décembre", "2 décembre"),
        # 00:30 in Paris on 2 December is still 1 December in UTC.
        (PARIS_AFTER_MIDNIGHT, "Europe/Paris", "2 décembre", "1er décembre"),
        # 02:00 UTC on 2 December is 21:00 on 1 December in New York.
        (datetime(2026, 12, 2, 2, 0, tzinfo=UTC), "America/New_York", "1 December", "Dec 2"),
    ],
)
def test_dates_are_read_in_the_sessions_time_zone(starts_at, time_zone, good, bad):
    session = SessionFactory(starts_at=starts_at, time_zone=time_zone)

    assert check(session, f"Le {good} à 21:00.") == []
    assert found(check(session, f"Le {bad} à 21:00.")) == [(DATE, bad)]


@pytest.mark.parametrize("written", ["31/02/2026", "30/02", "29.02.2026"])
def test_an_impossible_date_is_flagged(session, written):
    with translation.override("en"):
        flags = check(session, f"Le {written}.")

    assert found(flags) == [(DATE, written)]
    assert flags[0].message == "An impossible date (this session's date is 2 December 2026)."


def test_a_weekday_that_does_not_fit_the_date_is_flagged(session):
    """Last year's text for the same day: 2 December 2025 was a Tuesday."""
    with translation.override("en"):
        flags = check(session, "Rendez-vous mardi 2 décembre !")

    assert found(flags) == [(DATE, "mardi 2 décembre")]
    assert flags[0].message == (
        "The day of the week does not match this session's date (Wednesday 2 December 2026)."
    )


@pytest.mark.parametrize(
    "text",
    [
        "Début à 14:00, fin à 15h30.",
        "Appelez le 01 23 45 67 89 ou le 01.23.45.67.89 ou le +33 1 23 45 67 89.",
        "La version 2.0 coûte 12,50 € ou 1.500 € les 45/13.",
        "Une 1/2 journée, 3/4 d'heure, 1 h 1/4.",
        "Rendez-vous en décembre 2026 à Marseille, mai 2027 aussi, 12 participants.",
        "Compte rendu : https://blog.example/2025/11/03/budget et https://x.example/?d=03/11/2025",
        "Le {session_date} à {session_time} ({{session_start}}), {starts_in}.",
    ],
)
def test_things_that_are_not_dates_are_not_flagged(session, text):
    assert check(session, text) == []


# Links


@pytest.mark.parametrize(
    ("written", "kind", "match"),
    [
        (
            "https://antenne.test/join/k3y-0f-al1x/.",
            PERSONAL_LINK,
            "https://antenne.test/join/k3y-0f-al1x/",
        ),
        ("«https://ANTENNE.test/join/abc»", PERSONAL_LINK, "https://ANTENNE.test/join/abc"),
        ("(https://antenne.test/e/{other_event}/registered/)", LINK, None),
        ("https://antenne.test/app/events/{other_event}/edit/;", LINK, None),
        ("https://antenne.test/app/sessions/{other_session}/!", LINK, None),
        ("https://antenne.test/app/sessions/{sibling_session}/", LINK, None),
    ],
)
def test_links_to_other_webinars_and_personal_links_are_flagged(session, written, kind, match):
    other = SessionFactory(starts_at=PARIS_AFTER_MIDNIGHT)
    sibling = SessionFactory(event=session.event, starts_at=PARIS_AFTER_MIDNIGHT)
    written = written.format(
        other_event=other.event_id, other_session=other.pk, sibling_session=sibling.pk
    )

    flags = check(session, f"Votre lien : {written} Bonne journée.")

    assert found(flags) == [(kind, match or written.strip("();!"))]


def test_personal_link_message_tells_what_to_write_instead(session):
    with translation.override("en"):
        (flag,) = check(session, "Lien : https://antenne.test/join/abcdef/")

    assert flag.message == (
        "Someone's personal join link: write {join_url} so that each registrant gets their own."
    )


def test_links_to_this_webinar_other_sites_and_placeholders_are_not_flagged(session):
    body = (
        f"https://antenne.test/e/{session.event_id}/ "
        f"https://antenne.test/app/events/{session.event_id}/ "
        f"https://antenne.test/app/sessions/{session.pk}/reminders/ "
        "https://antenne.test/join/{join_key}/ https://antenne.test/join/ {join_url} "
        "https://other.example/join/abc/ https://other.example/e/999999/ https://antenne.test/"
    )

    assert check(session, body) == []


# Replay


def test_a_replay_placeholder_without_a_replay_is_flagged(session):
    with translation.override("en"):
        flags = check(session, "Le replay : {replay_url} (ou {replay_url})")

    assert found(flags) == [(MISSING_REPLAY, "{replay_url}")]
    assert flags[0].message == (
        "The text uses {replay_url} but this session has no replay link yet."
    )


def test_a_replay_placeholder_with_a_replay_or_escaped_is_not_flagged(session):
    assert check(session, "Le replay : {replay_url}", replay_url="https://v.example/1") == []
    assert check(session, "Écrivez {{replay_url}} pour le lien.") == []
    assert found(check(session, "{{{replay_url}}}")) == [(MISSING_REPLAY, "{replay_url}")]


# Identity and order


def test_flag_ids_are_stable_across_runs_and_differ_by_language_and_field(session):
    EventFactory(title="Santé numérique")
    texts = {
        "fr": {"subject": "Santé numérique", "body": "Merci pour Santé numérique."},
        "en": {"subject": "Santé numérique", "body": "Thanks."},
    }

    first = check_content(texts=texts, session=session)
    again = check_content(texts=texts, session=session)

    assert first == again
    assert len({flag.id for flag in first}) == 3
    expected = hashlib.sha256("other_event|fr|body|santé numérique".encode()).hexdigest()[:16]
    assert [flag.id for flag in first if (flag.language, flag.field) == ("fr", "body")] == [
        expected
    ]


def test_a_finding_repeated_in_one_field_is_one_flag(session):
    EventFactory(title="Santé numérique")

    flags = check(
        session, "Santé numérique, santé numérique et SANTÉ NUMÉRIQUE, le 3/11 et le 03/11."
    )

    assert found(flags) == [(OTHER_EVENT, "Santé numérique"), (DATE, "3/11"), (DATE, "03/11")]


def test_flags_are_sorted_by_language_then_subject_before_body_then_position(session):
    EventFactory(title="Santé numérique")
    texts = {
        "fr": {"body": "Le 3 novembre, Santé numérique.", "subject": "Santé numérique"},
        "en": {"body": "On 3 November", "subject": "Thanks"},
    }

    flags = check_content(texts=texts, session=session)

    assert [(flag.language, flag.field, flag.kind) for flag in flags] == [
        ("en", "body", DATE),
        ("fr", "subject", OTHER_EVENT),
        ("fr", "body", DATE),
        ("fr", "body", OTHER_EVENT),
    ]


def test_messages_are_in_english_when_asked(session):
    EventFactory(title="Santé numérique")

    with translation.override("en"):
        flags = check(session, "Merci pour Santé numérique le 3 novembre.", language="en")

    assert [flag.message for flag in flags] == [
        'Names another webinar of the workspace: "Santé numérique".',
        "A date that is not this session's date (2 December 2026).",
    ]
    assert [flag.language for flag in flags] == ["en", "en"]
