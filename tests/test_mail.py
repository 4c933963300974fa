"""The mail helper: French subject, text and HTML bodies from templates, sent as one multipart mail."""

import logging

import pytest
from django.core import mail
from django.utils import translation

from portal.mail import mail_render, mail_send, mail_send_many

ISSUED = {
    "reference": "CG-2026-0000042",
    "plate": "GA-123-BC",
    "make": "RENAULT",
    "model": "CLIO",
    "url": "https://carte-grise.example.fr",
}
EXPIRED = {
    "reference": "CG-2026-0000043",
    "procedure": "Changement de titulaire",
    "url": "https://carte-grise.example.fr",
}


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def test_certificate_notice_has_the_french_subject_text_and_an_html_version():
    sent = mail_send(to=["camille@example.fr"], template="certificate_issued", context=ISSUED)

    assert sent == 1
    [message] = mail.outbox
    assert message.to == ["camille@example.fr"]
    assert message.subject == "Votre certificat d'immatriculation GA-123-BC est disponible"
    # The same text as the notice the issuing code wrote before it used the templates.
    assert message.body == (
        "Bonjour,\n\n"
        "Votre demande CG-2026-0000042 est acceptée : le certificat d'immatriculation du "
        "véhicule RENAULT CLIO, immatriculé GA-123-BC, est produit.\n\n"
        "Vous pouvez le télécharger dès maintenant depuis votre espace sur le portail carte "
        "grise : https://carte-grise.example.fr\n\n"
        "Ce message est envoyé automatiquement, merci de ne pas y répondre."
    )
    html = html_of(message)
    assert '<html lang="fr">' in html
    assert "<strong>CG-2026-0000042</strong>" in html and "RENAULT CLIO" in html
    assert '<a href="https://carte-grise.example.fr">portail carte grise</a>' in html
    assert "merci de ne pas y répondre" in html


def test_complement_expiry_notice_renders_the_text_of_the_sweep():
    message = mail_render(to=["a@example.fr", "b@example.fr"], template="complement_expired", context=EXPIRED)

    assert message.to == ["a@example.fr", "b@example.fr"]
    assert message.subject == "Votre demande CG-2026-0000043 est refusée : complément non reçu"
    assert message.body == (
        "Bonjour,\n\n"
        "Un complément vous a été demandé pour la demande de certificat d'immatriculation "
        "CG-2026-0000043 (Changement de titulaire). Il n'a pas été reçu dans le délai d'un mois : "
        "la demande est donc refusée et close.\n\n"
        "Vous pouvez déposer une nouvelle demande à tout moment depuis votre espace sur le "
        "portail carte grise : https://carte-grise.example.fr\n\n"
        "Ce message est envoyé automatiquement, merci de ne pas y répondre."
    )
    assert "(Changement de titulaire)" in html_of(message)
    assert mail.outbox == []  # rendering sends nothing


def test_values_are_escaped_in_html_and_left_as_typed_in_text():
    context = {**ISSUED, "make": "A&B <MOTORS>", "model": "L'ÉTOILE"}
    message = mail_render(to=["camille@example.fr"], template="certificate_issued", context=context)

    assert "véhicule A&B <MOTORS> L'ÉTOILE," in message.body
    html = html_of(message)
    assert "A&amp;B &lt;MOTORS&gt; L&#x27;ÉTOILE" in html and "<MOTORS>" not in html


def test_messages_are_in_french_whatever_language_is_active():
    with translation.override("en"):
        message = mail_render(to=["camille@example.fr"], template="certificate_issued", context=ISSUED)
    assert message.subject.startswith("Votre certificat")
    assert message.body.startswith("Bonjour,")


def test_many_messages_leave_together():
    messages = [
        mail_render(to=[f"usager{n}@example.fr"], template="certificate_issued", context=ISSUED)
        for n in range(3)
    ]
    assert mail_send_many(messages=messages, purpose="certificate notices") == 3
    assert [m.to for m in mail.outbox] == [
        ["usager0@example.fr"],
        ["usager1@example.fr"],
        ["usager2@example.fr"],
    ]
    assert mail_send_many(messages=[], purpose="certificate notices") == 0


def test_a_mail_server_outage_is_logged_not_raised(settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    message = mail_render(to=["camille@example.fr"], template="certificate_issued", context=ISSUED)

    with caplog.at_level(logging.ERROR, logger="portal.mail"):
        assert mail_send_many(messages=[message], purpose="certificate notices") == 0

    assert "1 certificate notices could not be sent" in caplog.text


@pytest.mark.parametrize("template", ["certificate_issued", "complement_expired"])
def test_every_message_has_its_three_templates(template):
    message = mail_render(to=["x@example.fr"], template=template, context={**ISSUED, **EXPIRED})
    assert message.subject and "\n" not in message.subject
    assert message.body.startswith("Bonjour,") and html_of(message).lstrip().startswith("<!DOCTYPE html>")
