"""The app's routes plus the benches' baselines, served by the same Django and gunicorn:

- /bench/bare/<case>/: a minimal view rendering the case's newest PAGE_SIZE rows from a plain
  query (by seq), no sign-in, no badge, no chrome: what any Django page of that many rows
  costs here.
- /bench/insert/: a minimal POST view doing one INSERT (into bench_ping, made by
  bench/http_post.py), no authentication."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as app_urlpatterns
from locker.models import Entry
from locker.web.views.timeline import PAGE_SIZE

ROWS = Template(
    "<!doctype html><title>rows</title><ol>{% for e in rows %}<li>{{ e.kind }} "
    "<time>{{ e.occurred_at|default:e.recorded_at|date:'Y-m-d H:i' }}</time> #{{ e.seq }} "
    "{{ e.text }}</li>{% endfor %}</ol>"
)


def bare_timeline(request: HttpRequest, case_id: str) -> HttpResponse:
    rows = list(Entry.objects.filter(case_id=case_id).order_by("-seq")[:PAGE_SIZE])
    for row in rows:
        row.text = row.body.get("number") or row.body.get("text") or ""  # type: ignore[attr-defined]
    return HttpResponse(ROWS.render(Context({"rows": rows})))


@csrf_exempt
def bare_insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ping (body) VALUES (%s)", [request.body.decode()])
    return HttpResponse('{"ok": true}', status=201, content_type="application/json")


urlpatterns = [
    path("bench/bare/<uuid:case_id>/", bare_timeline),
    path("bench/insert/", bare_insert),
    *app_urlpatterns,
]
