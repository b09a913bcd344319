"""The API's OpenAPI schema (``/api/schema/``) and its browsable reference (``/api/docs/``),
both for signed-in people only. The reference page is Swagger UI from our own static files
(drf-spectacular-sidecar) started by a static script (the CSP allows no inline script and no
other host)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated


class SchemaView(SpectacularAPIView):
    """OpenAPI 3: JSON unless YAML is asked for (``?format=yaml`` or ``Accept: application/yaml``).
    Signed-in people and API tokens only (REST_FRAMEWORK's default permission)."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
    permission_classes = [IsAuthenticated]  # drf-spectacular's default would let anyone read it


@login_required
def docs_page(request):
    return render(request, "web/api_docs.html")
