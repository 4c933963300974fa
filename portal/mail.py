"""The one way the portal sends e-mail: French subject, text and HTML rendered from templates.

A message named `<name>` is three templates under `templates/mail/`: `<name>_subject.txt` (one
line), `<name>.txt` (the plain-text body) and `<name>.html` (the same text as HTML). Messages are
rendered in French whatever language is active (a Celery worker has none), and sent through
Django's e-mail backend as multipart/alternative, text first, so that every client shows one.

Mail here is always a notice that follows a committed change (a certificate issued, a dossier
closed): the change stands whatever happens to the mail. So `mail_send_many` logs a failure of the
mail server instead of raising it, and callers send from `transaction.on_commit`.
"""

import logging
from collections.abc import Sequence

from django.conf import settings
from django.core import mail
from django.template.loader import render_to_string
from django.utils import translation

logger = logging.getLogger(__name__)


def mail_render(
    *, to: list[str], template: str, context: dict, from_email: str | None = None
) -> mail.EmailMultiAlternatives:
    """The message `template` for `to`, rendered now with `context` (nothing is sent)."""
    with translation.override(settings.LANGUAGE_CODE):
        # A subject is one line: a template's trailing newline or a wrapped line would break
        # the header.
        subject = " ".join(render_to_string(f"mail/{template}_subject.txt", context).split())
        text = render_to_string(f"mail/{template}.txt", context).strip()
        html = render_to_string(f"mail/{template}.html", context)
    message = mail.EmailMultiAlternatives(subject=subject, body=text, from_email=from_email, to=to)
    message.attach_alternative(html, "text/html")
    return message


def mail_send_many(*, messages: Sequence[mail.EmailMessage], purpose: str = "messages") -> int:
    """Send `messages` over one connection; the number sent (0 if the mail server failed).

    `purpose` names the messages in the log line written when the server fails, e.g.
    "certificate notices".
    """
    if not messages:
        return 0
    try:
        return mail.get_connection().send_messages(list(messages)) or 0
    except Exception:  # the change the mail announces is committed; an outage must not undo it
        logger.exception("mail: %d %s could not be sent", len(messages), purpose)
        return 0


def mail_send(*, to: list[str], template: str, context: dict, from_email: str | None = None) -> int:
    """Render the message `template` for `to` and send it; 1 if sent, 0 otherwise."""
    message = mail_render(to=to, template=template, context=context, from_email=from_email)
    return mail_send_many(messages=[message], purpose=f"{template} message")
