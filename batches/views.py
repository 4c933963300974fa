"""The dealer's batch pages: upload a CSV or XLSX (with the template), follow a batch live, read its
rows, download its errors, acknowledgement and CPIs. Thin: the writes are batches.services'.
Anyone but a dealer gets a 404, as does another organisation's batch."""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache

from batches import downloads, files, selectors, services
from batches.forms import BatchUploadForm
from batches.models import Batch, BatchRow, BatchState, RowStatus
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
    """The organisation's batches and the upload form; a refused file shows every one of its
    errors at once, and nothing is stored."""
    user = _dealer(request)
    form = BatchUploadForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    summary_title = ""
    if form.is_bound:
        if form.is_valid():
            try:
                batch = _receive(user=user, upload=form.cleaned_data["file"], key=form.cleaned_data["key"])
            except InvalidInput as exc:
                errors = [str(error.message) for error in exc.errors]
                summary_title = ngettext(
                    "Fichier refusé : une erreur, aucun véhicule enregistré",
                    "Fichier refusé : %(n)d erreurs, aucun véhicule enregistré",
                    len(errors),
                ) % {"n": len(errors)}
            else:
                return redirect("batch-detail", batch_id=batch.pk)
        else:
            errors = [str(message) for messages in form.errors.values() for message in messages]
    page = Paginator(selectors.batches_for_user(user=user), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "batches/list.html",
        {
            "form": form,
            "errors": errors,
            # The file input is the form's only visible field: every error leads to it.
            "error_list": [{"href": "#id_file", "text": error} for error in errors],
            "summary_title": summary_title,
            # A fresh key on every form shown, whatever was posted before.
            "key": uuid.uuid4().hex,
            "page": page,
            "max_rows": number_format(services.max_rows(), force_grouping=True),
            "refusal": _refusal(user),
        },
    )


def _receive(*, user: User, upload, key: str) -> Batch:
    """Read the file and receive its batch, or InvalidInput naming every problem of the file.

    The batch's idempotency key is the form's own key with the file's hash: the same form sent
    twice with the same file (a double click, a POST sent again) makes one batch, while the form
    sent again with another file (a corrected one, or after going back) makes a new batch."""
    content = upload.read()
    read = files.file_rows(content=content, filename=upload.name or "")
    digest = services.content_hash_file(content)
    batch, _created = services.batch_receive(
        user=user,
        idempotency_key=f"web-{key}-{digest[:32]}",
        content_sha256=digest,
        source=read.source,
        rows=[services.RowInput(row.row_number, row.data, row.columns) for row in read.rows],
        filename=upload.name or "",
    )
    return batch


def _refusal(user: User) -> str:
    """Why this dealer's organisation may not file a batch (shown instead of the form), or ""."""
    try:
        # The very check batch_receive makes (services' own), read here before any upload.
        services.batch_organisation(user)
    except InvalidInput as exc:
        return " ".join(str(error.message) for error in exc.errors)
    return ""


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
            "rows": [(row, _row_errors(row), cpis.get(row.dossier_id)) for row in rows],
            "status": status,
            "statuses": RowStatus.choices,
            "progress_url": reverse("batch-progress", args=[batch.pk]),
        },
    )


def _row_errors(row: BatchRow) -> list[dict[str, str]]:
    """A refused row's errors as the dealer reads them: the column as their file names it (its
    French header when the file had no such column, nothing for a JSON field path), the message,
    the value received. Never the rule's code nor a field path."""
    shown = []
    for error in row.errors:
        field = error.get("field", "")
        column = (row.columns or {}).get(field) or files.COLUMNS.get(field, "")
        shown.append({"column": column, "message": error.get("message", ""), "value": error.get("value", "")})
    return shown


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
