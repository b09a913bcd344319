"""The jobs page: every background job with its status, attempts and log (admins only: a
job's parameters and logs name evidence, so the page is not for every role)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render

from ..access.policy import NotVisible, require
from ..custody.services import record_request
from ..numbers import parse_uuid
from .models import Job

PAGE = 50


def _require(request, action, object_id=""):
    """Only those who may see the jobs pages go on; others get the (audited) 403 page."""
    require(request, "jobs.view", action=action, object_type="job", object_id=object_id,
            reason="admin role required", message="The jobs page is for administrators.")


@login_required
def job_list(request):
    _require(request, "job.list")
    status = request.GET.get("status", "")
    qs = Job.objects.all()
    if status in Job.Status.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    by_status = dict(Job.objects.values_list("status").annotate(n=Count("id")))
    counts = [(s, by_status.get(s, 0)) for s in Job.Status.values]
    record_request(request, "job.list", object_type="job", detail={"status": status})
    return render(request, "jobs/list.html", {"page": page, "status": status, "counts": counts})


@login_required
def job_detail(request, job_id):
    _require(request, "job.view", str(job_id)[:64])
    uid = parse_uuid(job_id)
    job = Job.objects.filter(pk=uid).first() if uid else None
    if job is None:
        raise NotVisible("No such job.")
    record_request(request, "job.view", object_type="job", object_id=str(job.id))
    return render(request, "jobs/detail.html", {"job": job})
