"""The dealer's batch pages: upload a CSV or XLSX (with the template), follow a batch live, read its
rows, download its errors, acknowledgement and CPIs. Thin: the writes are batches.services'.
Anyone but a dealer gets a 404, as does another organisation's batch."""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from batches import downloads, files, selectors, services
from batches.forms import BatchUploadForm
from batches.models import Batch, BatchState, RowStatus
from dossiers.errors import InvalidInput
from portal.models import Role, User

ROWS_PER_PAGE = 100


def _dealer(request: HttpRequest) -> User:
    user: User = request.user
    if user.role != Role.DEALER or user.organisation_id is None:
        raise Http404
    return user


def _batch(request: HttpRequest, batch_id: int) -> Batch:
    try:
        return selectors.batch_get(user=_dealer(request), batch_id=batch_id)
    except Batch.DoesNotExist as exc:
        raise Http404 from exc


@never_cache
@login_required
def batch_list(request: HttpRequest) -> HttpResponse:
    """The organisation's batches and the upload form. The form carries its own idempotency key:
    sent twice (a double click, a reload), it makes one batch."""
    user = _dealer(request)
    form = BatchUploadForm(request.POST or None, request.FILES or None)
    error_list = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        try:
            read = files.file_rows(content=content, filename=upload.name or "")
            batch, _created = services.batch_receive(
                user=user,
                idempotency_key=form.cleaned_data["key"],
                content_sha256=services.content_hash_file(content),
                source=read.source,
                rows=[services.RowInput(row.row_number, row.data, row.columns) for row in read.rows],
                filename=upload.name or "",
            )
        except InvalidInput as exc:
            error_list = [{"href": "#id_file", "text": error.message} for error in exc.errors]
            for error in exc.errors:
                form.add_error("file", error.message)
        except services.IdempotencyConflict:
            form.add_error(
                "file",
                _(
                    "Ce formulaire a déjà servi pour un autre fichier : rechargez la page pour déposer un nouveau lot."
                ),
            )
            error_list = [{"href": "#id_file", "text": form.errors["file"][0]}]
        else:
            return redirect("batch-detail", batch_id=batch.pk)
    elif request.method == "POST":
        error_list = [
            {"href": f"#id_{name}", "text": message}
            for name, errors in form.errors.items()
            for message in errors
        ]
    if request.method != "POST" or error_list:
        # A new key for each form shown, so that a corrected file is a new batch.
        form.initial["key"] = uuid.uuid4().hex
        form.data = form.data.copy() if form.is_bound else form.data
        if form.is_bound:
            form.data["key"] = form.initial["key"]
    page = Paginator(selectors.batches_for_user(user=user), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "batches/list.html",
        {"form": form, "error_list": error_list, "page": page, "max_rows": services.max_rows()},
    )


def _progress(batch: Batch) -> dict:
    counts = selectors.batch_counts(batch=batch)
    return {
        "state": batch.state,
        "state_label": str(BatchState(batch.state).label),
        "progress": selectors.batch_progress(batch=batch, counts=counts),
        "counts": counts,
        "done": batch.state == BatchState.DONE,
    }


@never_cache
@login_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(request, batch_id)
    status = request.GET.get("statut", "")
    if status not in RowStatus.values:
        status = ""
    page = Paginator(selectors.batch_rows(batch=batch, status=status or None), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    cpis = selectors.row_cpis(rows=rows)
    return render(
        request,
        "batches/detail.html",
        {
            "batch": batch,
            "live": _progress(batch),
            "page": page,
            "rows": [(row, cpis.get(row.dossier_id)) for row in rows],
            "status": status,
            "statuses": RowStatus.choices,
            "progress_url": reverse("batch-progress", args=[batch.pk]),
        },
    )


@never_cache
@login_required
def batch_progress(request: HttpRequest, batch_id: int) -> JsonResponse:
    """The counts and progress the batch page polls while the batch runs."""
    return JsonResponse(_progress(_batch(request, batch_id)))


@login_required
def batch_errors_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    return downloads.errors_csv(batch=_batch(request, batch_id))


@login_required
def batch_cpi_zip(request: HttpRequest, batch_id: int) -> HttpResponse:
    return downloads.cpi_zip(batch=_batch(request, batch_id))


@login_required
def batch_acknowledgement(request: HttpRequest, batch_id: int) -> HttpResponse:
    response = downloads.acknowledgement(batch=_batch(request, batch_id))
    if response is None:
        raise Http404(downloads.ACKNOWLEDGEMENT_NOT_READY)
    return response


@login_required
def template_csv(request: HttpRequest) -> HttpResponse:
    _dealer(request)
    response = HttpResponse(files.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-lot-vehicules-neufs.csv"'
    return response


@login_required
def template_xlsx(request: HttpRequest) -> HttpResponse:
    _dealer(request)
    response = HttpResponse(
        files.template_xlsx(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="modele-lot-vehicules-neufs.xlsx"'
    return response
