"""A supervisor imports an archive of past reports for their jurisdiction (issue 14):
upload a zip, follow the job, read the closing table. The work is
``disclosure.jobs.archive`` (the same as ``manage.py import_archive``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import jobs, permissions
from ..interchange import InvalidDocument
from ..jobs.archive import OUTCOMES, max_archive_bytes, progress_text, queue_archive
from ..models import Job, Membership, Organization
from ..services.uploads import FILENAME_TOO_LONG, MAX_FILENAME_CHARS

RECENT_JOBS = 10


def _supervised(user, org_code: str) -> Organization:
    """An organization whose subtree this user supervises; 404 for everyone else."""
    org = Organization.objects.filter(code=org_code).first()
    if org is None or Membership.Role.SUPERVISOR not in permissions.roles_for(user, org):
        raise Http404("没有找到这个机关。")
    return org


def _job(request: HttpRequest, org: Organization, pk) -> Job:
    job = Job.objects.filter(pk=pk, kind=Job.Kind.ARCHIVE, organization=org).select_related("actor").first()
    if job is None:
        raise Http404("没有找到这次导入。")
    return job


@login_required
@require_GET
def archive_page(request: HttpRequest, org_code: str) -> HttpResponse:
    org = _supervised(request.user, org_code)
    recent = Job.objects.filter(kind=Job.Kind.ARCHIVE, organization=org).select_related("actor")[:RECENT_JOBS]
    return render(
        request,
        "review/archive.html",
        {"org": org, "recent": recent, "max_mb": max_archive_bytes() // 1048576},
    )


@login_required
@require_POST
def archive_upload(request: HttpRequest, org_code: str) -> HttpResponse:
    org = _supervised(request.user, org_code)
    file = request.FILES.get("file")
    back = redirect("review:archive", org.code)
    if file is None:
        messages.error(request, "请选择要导入的压缩包。")
        return back
    if file.size > max_archive_bytes():
        limit = max_archive_bytes() // 1048576
        messages.error(request, f"压缩包过大（{file.size / 1048576:.1f} MB），上限为 {limit} MB。")
        return back
    if len(file.name) >= MAX_FILENAME_CHARS:
        messages.error(request, FILENAME_TOO_LONG)
        return back
    try:
        job = queue_archive(
            org,
            actor=request.user,
            filename=file.name,
            data=file.read(),
            drafts=request.POST.get("drafts") == "1",
            mapping_text=request.POST.get("mapping", ""),
        )
    except InvalidDocument as exc:
        for message in exc.messages:
            messages.error(request, message)
        return back
    return redirect("review:archive_job", org.code, job.pk)


@login_required
@require_GET
def archive_job(request: HttpRequest, org_code: str, pk) -> HttpResponse:
    org = _supervised(request.user, org_code)
    job = _job(request, org, pk)
    rows = job.result.get("rows", []) if job.status == Job.Status.SUCCEEDED else []
    counts = job.result.get("counts", {})
    return render(
        request,
        "review/archive_job.html",
        {
            "org": org,
            "job": job,
            "rows": [{**r, "outcome_label": OUTCOMES[r["outcome"]]} for r in rows],
            "counts": [(OUTCOMES[o], counts.get(o, 0)) for o in OUTCOMES] if counts else [],
            "progress": progress_text(job),
            "status_url": reverse("review:archive_job_status", args=[org.code, job.pk]),
        },
    )


@login_required
@require_GET
def archive_job_status(request: HttpRequest, org_code: str, pk) -> JsonResponse:
    org = _supervised(request.user, org_code)
    job = _job(request, org, pk)
    response = JsonResponse({**jobs.payload(job), "progress": progress_text(job)})
    response["Cache-Control"] = "no-store"
    return response
