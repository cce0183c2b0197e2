"""`antenne demo`: a living workspace for newcomers, built through the real services so that
the audit log, the mailbox and every page look as they would after weeks of use."""

from __future__ import annotations

from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from antenne.accounts import access_requests, services
from antenne.accounts.models import AccessRequest, Team, User
from antenne.core.permissions import Role
from antenne.events import services as events
from antenne.events import speakers
from antenne.events.timeutils import local_to_utc

DEMO_DOMAIN = "demo.antenne.example"
TEAMS = [
    ("Mission Numérique Inclusive", "contact@inclusion.demo.antenne.example"),
    ("France Services Numérique", "equipe@franceservices.demo.antenne.example"),
    ("Atelier des Données", "bonjour@donnees.demo.antenne.example"),
]
PEOPLE = [
    ("claire.admin", "Claire Lefèvre", Role.ADMIN, None),
    ("camille.martin", "Camille Martin", Role.ANIMATOR, 0),
    ("yanis.benali", "Yanis Benali", Role.ANIMATOR, 1),
    ("ines.moreau", "Inès Moreau", Role.MEMBER, 1),
    ("lucas.bernard", "Lucas Bernard", Role.MEMBER, 2),
    ("sarah.nguyen", "Sarah Nguyen", Role.MEMBER, 0),
]
REQUESTS = [
    (
        "theo.garnier",
        "Théo Garnier",
        "Atelier des Données",
        "Nous lançons un cycle de webinaires "
        "mensuels sur l'ouverture des données pour les collectivités (environ 300 inscrits).",
    ),
    (
        "emma.roux",
        "Emma Roux",
        "Brigade Accessibilité",
        "Présenter le nouveau référentiel "
        "d'accessibilité aux équipes produit, deux sessions en décembre.",
    ),
]


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def fill_demo() -> list[str]:
    """Create the demo workspace once; later runs change nothing. Returns lines to print."""
    if User.objects.filter(email=_email("claire.admin")).exists():
        return ["The demo workspace is already there; nothing changed."]
    with transaction.atomic():
        admin = services.create_admin(email=_email("claire.admin"), full_name="Claire Lefèvre")
        teams = [
            services.save_team(actor=admin, name=name, contact_email=contact)
            for name, contact in TEAMS
        ]
        for local, name, role, team_index in PEOPLE[1:]:
            services.add_member(
                actor=admin,
                email=_email(local),
                full_name=name,
                role=role,
                team=teams[team_index] if team_index is not None else None,
            )
        services.set_team(actor=admin, user=admin, team=teams[0])
        for local, name, team, reason in REQUESTS:
            access_requests.submit_access_request(
                email=_email(local),
                full_name=name,
                team_name=team,
                team_contact_email=f"contact@{local.split('.')[1]}.{DEMO_DOMAIN}",
                reason=reason,
                language="fr",
            )
        approved = access_requests.submit_access_request(
            email=_email("nora.petit"),
            full_name="Nora Petit",
            team_name="Labo Participation",
            team_contact_email=f"labo@{DEMO_DOMAIN}",
            reason="Webinaires de restitution des consultations citoyennes.",
            language="fr",
        )
        access_requests.approve_access_request(
            actor=admin, access_request=approved, message="Bienvenue parmi les animateurs !"
        )
        refused = access_requests.submit_access_request(
            email=_email("paul.durand"),
            full_name="Paul Durand",
            team_name=teams[1].name,
            team_contact_email=teams[1].contact_email,
            reason="Tester l'outil.",
            language="fr",
        )
        access_requests.refuse_access_request(
            actor=admin,
            access_request=refused,
            message="Votre équipe a déjà deux animateurs ; voyez avec Yanis Benali.",
        )
        _demo_webinars(admin)
        login_url = services.issue_login_url(user=admin)
    pending = AccessRequest.objects.filter(status=AccessRequest.Status.PENDING).count()
    return [
        f"Demo workspace created: {Team.objects.count()} teams, {User.objects.count()} accounts, "
        f"{pending} pending animator access requests, {len(WEBINARS)} upcoming webinars.",
        "Log in as the demo admin (Claire Lefèvre) with this one-time link:",
        f"  {login_url}",
        f"Other demo accounts log in from the login page; their links arrive in the Mailbox "
        f"(addresses end in @{DEMO_DOMAIN}).",
    ]


WEBINARS = [
    # (title, team index, animator local part, days from now, hour in Paris, minutes, speakers)
    (
        "Ouvrir les données des collectivités : par où commencer ?",
        2,
        "camille.martin",
        1,
        10,
        60,
        [("amelie.roche@region.demo.antenne.example", "Amélie Roche", "Cheffe de projet données")],
    ),
    (
        "France Services : les nouveautés du portail agents",
        1,
        "yanis.benali",
        6,
        14,
        90,
        [
            ("ines.moreau@demo.antenne.example", "", ""),
            ("marc.leblanc@partenaire.demo.antenne.example", "Marc Leblanc", "Formateur"),
        ],
    ),
    (
        "Accessibilité numérique : atelier pratique",
        0,
        "camille.martin",
        13,
        11,
        45,
        [],
    ),
]


def _demo_webinars(admin: User) -> None:
    teams = list(Team.objects.order_by("pk"))
    today = timezone.localdate()
    for title, team_index, animator, days, hour, minutes, guests in WEBINARS:
        owner = User.objects.get(email=_email(animator))
        event = events.create_event(
            actor=owner,
            title=title,
            team=teams[team_index],
            description="Un webinaire de démonstration d'Antenne.",
        )
        session = events.schedule_session(
            actor=owner,
            event=event,
            starts_at=local_to_utc(today + timedelta(days=days), time(hour), "Europe/Paris"),
            time_zone="Europe/Paris",
            duration_minutes=minutes,
            capacity=500,
            confirm_conflicts=True,
        )
        for email, name, role in guests:
            speakers.add_speaker(actor=owner, session=session, email=email, name=name, title=role)
        if days > 3:
            events.update_event(actor=owner, event=event, published=True)
