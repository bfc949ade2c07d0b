"""The cross-company walk: every URL pattern, as every role of Rossi, with Bianchi's ids.

It reads the URL configuration itself, so the routes that later features add
are walked without editing this file. A route whose URL names an object
(`pk`, `id`, `*_pk`, `*_id`) must say which model that is: a `tenant_model`
on the view (selfcare.views.base.CompanyView) or, for a DRF view, its
`tenant_model` or `queryset.model`. The walk then asks for a Bianchi row of
that model and requires 404 on every method; a route it cannot map fails the
walk rather than going unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Routes that take no company data: framework and third-party pages.
SKIPPED_PREFIXES = ("admin", "i18n", "djdt", "static")
ID_PARAM = re.compile(r"^(pk|id|.+_pk|.+_id)$")


@dataclass(frozen=True)
class Route:
    name: str
    params: tuple[str, ...]
    callback: Callable[..., Any]

    @property
    def id_params(self) -> tuple[str, ...]:
        return tuple(p for p in self.params if ID_PARAM.match(p))


def _walk(patterns: list[Any], namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            child_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(entry.url_patterns, child_ns)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", str(entry.pattern))) or tuple(
                entry.pattern.regex.groupindex
            )
            yield Route(name=name, params=params, callback=entry.callback)


def routes() -> list[Route]:
    found = []
    for route in _walk(get_resolver().url_patterns):
        if "format" in route.params:
            continue  # DRF's format-suffix twins of routes walked already
        if route.name.split(":", 1)[0] in SKIPPED_PREFIXES:
            continue
        found.append(route)
    return found


def tenant_model_of(route: Route) -> type[models.Model] | None:
    view_class = getattr(route.callback, "view_class", None) or getattr(route.callback, "cls", None)
    model = getattr(view_class, "tenant_model", None)
    if model is None and view_class is not None:
        queryset = getattr(view_class, "queryset", None)
        model = getattr(queryset, "model", None)
    return model


def url_of(route: Route, ids: dict[str, Any]) -> str:
    return reverse(route.name, kwargs=ids)


def assert_never_found(
    client: Client, route: Route, foreign: dict[type[models.Model], models.Model]
) -> list[str]:
    """Every method on the route with the foreign row's id: the problems found (empty when all 404)."""
    model = tenant_model_of(route)
    if model is None:
        return [f"{route.name}: names an object ({', '.join(route.id_params)}) but no tenant_model"]
    row = foreign.get(model)
    if row is None:
        return [f"{route.name}: no foreign row of {model.__name__} to try (add one to the walk's fixture)"]
    try:
        url = url_of(route, dict.fromkeys(route.params, row.pk))
    except Exception as error:  # A route whose other params this walk cannot fill is a problem to fix.
        return [f"{route.name}: cannot build its URL ({error})"]
    problems = []
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url)
        if response.status_code != 404:
            problems.append(f"{method.upper()} {url} ({route.name}) answered {response.status_code}, not 404")
    return problems


def assert_lists_show_nothing_foreign(client: Client, route: Route, markers: list[str]) -> list[str]:
    """A route without ids, fetched with GET: no marker of the foreign company in what it shows."""
    try:
        url = url_of(route, {})
    except Exception:
        return []  # a route with other parameters (keys, slugs) names no company data
    response = client.get(url)
    if response.status_code >= 500:
        return [f"GET {url} ({route.name}) failed with {response.status_code}"]
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content).decode(errors="replace")  # type: ignore[attr-defined]
    else:
        body = response.content.decode(errors="replace")
    return [f"GET {url} ({route.name}) shows {marker!r}" for marker in markers if marker in body]
