"""Each person's notification settings: which kinds they receive, and their address."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .kinds import kinds_for
from .models import OptOut
from .services import BadAddress, save_preferences, smtp_configured


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    error, status = "", 200
    if request.method == "POST":
        try:
            if request.POST.get("save") != "1":  # the page's form always says so; an empty form is not "all off"
                raise BadAddress("nothing to save: send the settings form")
            save_preferences(request, set(request.POST.getlist("receive")), request.POST.get("email", ""))
            return redirect("notify-settings")
        except BadAddress as exc:
            error, status = str(exc), exc.status
    off = set(OptOut.objects.filter(user=request.user).values_list("kind", flat=True))
    kinds = [{"name": k.name, "label": k.label, "on": k.name not in off} for k in kinds_for(request.user)]
    return render(request, "notify/settings.html", {"kinds": kinds, "error": error,
                                                    "smtp": smtp_configured()}, status=status)
