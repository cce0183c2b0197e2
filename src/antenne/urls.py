from django.conf import settings
from django.urls import include, path
from django.views.i18n import set_language

from antenne.api.api import api
from antenne.core import views as core_views
from antenne.media import views as media_views

handler400 = "antenne.core.views.bad_request"
handler403 = "antenne.core.views.permission_denied"
handler404 = "antenne.core.views.page_not_found"
handler500 = "antenne.core.views.server_error"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
    path("app/", include("antenne.control.urls")),
    path("media/sessions/<int:session_id>/feeds", media_views.feeds, name="media-feeds"),
    path(
        "media/sessions/<int:session_id>/feeds/<int:feed_id>",
        media_views.feed,
        name="media-feed",
    ),
    path(
        "media/sessions/<int:session_id>/subscriptions",
        media_views.subscriptions,
        name="media-subscriptions",
    ),
    path(
        "media/sessions/<int:session_id>/subscriptions/<str:token>",
        media_views.subscription,
        name="media-subscription",
    ),
    path("media/", include("antenne.media.urls")),
    path("", include("antenne.public.urls")),
]

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))
