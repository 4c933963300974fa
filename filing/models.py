"""A citizen's filing in progress: the procedure, the step reached and the inputs as entered,
until the dossier exists (then the Dossier draft holds the truth and the filing points to it)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossiers.models import Dossier, Procedure


class FilingDraft(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("usager"),
        on_delete=models.CASCADE,
        related_name="filing_drafts",
        db_index=False,  # filing_draft_user_idx (Meta) serves the lookups by user
    )
    procedure = models.CharField(_("démarche"), max_length=30, choices=Procedure.choices)
    # The furthest step reached (filing.steps): where "Reprendre" leads.
    step = models.CharField(_("étape"), max_length=20)
    # {step name: {field: text as entered}} for the steps before the dossier exists. Each step's
    # inputs are written only once they passed that step's checks.
    data = models.JSONField(_("saisies"), default=dict, blank=True)
    dossier = models.OneToOneField(
        Dossier,
        verbose_name=_("dossier"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="filing_draft",
    )
    created_at = models.DateTimeField(_("commencée le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("démarche en cours")
        verbose_name_plural = _("démarches en cours")
        indexes = [models.Index(fields=["user", "-updated_at"], name="filing_draft_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.procedure} {self.step}"
