from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world"})


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"item_id": item_id})  # attributed to "/items/<int:item_id>"


urlpatterns = [
    path("", index),
    path("items/<int:item_id>", item),
]
