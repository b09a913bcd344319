from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

from ..access.services import visible_clips
from ..custody.services import record


@login_required
def evidence_list(request):
    clips = visible_clips(request.user).order_by("-recording__trigger_on_time", "start_time")[:200]
    record("evidence.list", actor=request.user.username, source=request.META.get("REMOTE_ADDR", ""),
           detail={"count": len(clips)})
    return render(request, "web/evidence_list.html", {"clips": clips})


def healthz(request):
    return JsonResponse({"status": "ok"})
