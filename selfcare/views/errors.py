"""The answer to an error no view handled (selfcare.urls.handler500, handler404).

The database unreachable (restarted, failed over, out of connections) is not
a bug of the page: the request answers 503 with Retry-After, so that a
browser's user, an API client and the load balancer know to try again
shortly, on a page of the portal's own that needs nothing that is down. Any
other error answers Django's plain 500 page. Both are logged with their
traceback by Django; neither shows it.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext
from django.views.defaults import page_not_found as django_page_not_found
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_S = 60
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def _database_unavailable(error: BaseException | None) -> bool:
    # Django wraps the driver's error; follow the chain in case a caller wrapped it again.
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, DATABASE_UNAVAILABLE):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    if not _database_unavailable(sys.exc_info()[1]):
        return django_server_error(request)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": gettext("Service temporarily unavailable, try again in a minute.")}, status=503
        )
    else:
        # No request context: its processors would query the database that is down.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL of no route (selfcare.urls.handler404): under /api/, DRF's JSON 404 rather than the HTML page.

    An API path whose id is not a number matches no route, and a client
    reading JSON would otherwise get the portal's HTML page.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return django_page_not_found(request, exception)
