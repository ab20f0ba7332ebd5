"""Request checks ahead of every Django view (the admin, the control room, the REST API)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.deprecation import MiddlewareMixin


class RefuseNulMiddleware(MiddlewareMixin):
    """A NUL in the path or the query string is refused with a 400 naming it. PostgreSQL
    cannot hold a NUL in text, so a search or a filter carrying one was a 500 from the
    database (the admin's changelists pass ?q= and filters straight to queries)."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if "\x00" in request.path:
            return refuse(request, "The URL path contains a NUL character.")
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return refuse(request, f"The query parameter {name.replace(chr(0), '%00')!r} "
                                       f"contains a NUL character.")
        return None


def refuse(request: HttpRequest, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):  # the REST API's error shape
        return JsonResponse({"detail": detail}, status=400)
    return HttpResponseBadRequest(detail, content_type="text/plain")
