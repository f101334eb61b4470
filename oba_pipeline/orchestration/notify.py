"""Telling the data team when a refresh fails: a webhook (Microsoft Teams, Slack or plain JSON) and email.

Configured by environment variables (see the README); with none set, nothing is sent. A notification
that cannot be delivered is logged and never breaks the refresh that tried to send it.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from oba_pipeline.orchestration.runs import Problem

log = logging.getLogger(__name__)

WEBHOOK_FORMATS = ("slack", "teams", "json")


@dataclass(frozen=True)
class NotifySettings:
    """Where notifications go. Read from the environment with `NotifySettings.from_env()`."""

    webhook_url: str = ""
    webhook_format: str = "slack"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    email_from: str = ""
    email_to: tuple[str, ...] = ()
    timeout: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if env is None else env
        fmt = env.get("OBA_NOTIFY_WEBHOOK_FORMAT", "slack").strip().lower() or "slack"
        if fmt not in WEBHOOK_FORMATS:
            log.warning("OBA_NOTIFY_WEBHOOK_FORMAT=%r is not one of %s; sending Slack-style JSON", fmt,
                        ", ".join(WEBHOOK_FORMATS))
            fmt = "slack"
        user = env.get("OBA_NOTIFY_SMTP_USER", "")
        return cls(
            webhook_url=env.get("OBA_NOTIFY_WEBHOOK_URL", "").strip(),
            webhook_format=fmt,
            smtp_host=env.get("OBA_NOTIFY_SMTP_HOST", "").strip(),
            smtp_port=int(env.get("OBA_NOTIFY_SMTP_PORT", "587" if user else "25")),
            smtp_user=user,
            smtp_password=env.get("OBA_NOTIFY_SMTP_PASSWORD", ""),
            smtp_starttls=env.get("OBA_NOTIFY_SMTP_STARTTLS", "true" if user else "false").lower()
            in ("1", "true", "yes"),
            email_from=env.get("OBA_NOTIFY_EMAIL_FROM", "").strip(),
            email_to=tuple(a.strip() for a in env.get("OBA_NOTIFY_EMAIL_TO", "").split(",") if a.strip()),
        )

    @property
    def any(self) -> bool:
        return bool(self.webhook_url or (self.smtp_host and self.email_to))


@dataclass(frozen=True)
class Notice:
    """One run's failure, as the data team should read it."""

    partnership: str
    run_id: str
    problems: Sequence[Problem]
    serving: str  # what the dashboard serves now
    links: Mapping[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    @property
    def title(self) -> str:
        sources = sorted({p.source for p in self.problems})
        what = "refresh failed" if self.failed else "refresh warning"
        return f"OBA {what} ({self.partnership}): {', '.join(sources) or 'run'}"

    def text(self) -> str:
        lines = [self.title, "", f"Run: {self.run_id}", f"Dashboard: {self.serving}", ""]
        for problem in self.problems:
            lines += [f"- Source: {problem.source}", f"  Check: {problem.check} ({problem.severity})",
                      f"  What happened: {problem.message}", f"  What to do: {problem.action}", ""]
        lines += [f"{name}: {url}" for name, url in self.links.items()]
        return "\n".join(lines).rstrip() + "\n"


def webhook_payload(notice: Notice, fmt: str) -> dict[str, object]:
    """The JSON body for a Slack or Teams incoming webhook, or a plain structured document."""
    if fmt == "teams":
        # An Adaptive Card message, the form Teams' Workflows webhooks accept.
        body: list[dict[str, object]] = [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": notice.title, "wrap": True},
            {"type": "TextBlock", "text": f"Dashboard: {notice.serving}", "wrap": True},
        ]
        for problem in notice.problems:
            body.append({"type": "FactSet", "facts": [
                {"title": "Source", "value": problem.source}, {"title": "Check", "value": problem.check},
                {"title": "What happened", "value": problem.message}, {"title": "What to do", "value": problem.action},
            ]})
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": body},
        }]}
    if fmt == "json":
        return {"title": notice.title, "partnership": notice.partnership, "run_id": notice.run_id,
                "failed": notice.failed, "serving": notice.serving, "links": dict(notice.links),
                "problems": [p.__dict__ for p in notice.problems]}
    return {"text": notice.text()}


def send_webhook(notice: Notice, settings: NotifySettings, attempts: int = 3) -> bool:
    """POST the notice; retried with a short back-off, since chat services drop the odd request."""
    data = json.dumps(webhook_payload(notice, settings.webhook_format)).encode("utf-8")
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(settings.webhook_url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout) as response:  # noqa: S310 - configured URL
                if 200 <= response.status < 300:
                    return True
                log.warning("webhook answered %s (attempt %d)", response.status, attempt)
        except OSError as error:
            log.warning("webhook %s not reached (attempt %d): %s", settings.webhook_url, attempt, error)
        if attempt < attempts:
            time.sleep(min(2 ** attempt, 10))
    return False


def send_email(notice: Notice, settings: NotifySettings) -> bool:
    message = EmailMessage()
    message["Subject"] = notice.title
    message["From"] = settings.email_from or f"oba-toolkit@{settings.smtp_host}"
    message["To"] = ", ".join(settings.email_to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="oba-toolkit")
    message.set_content(notice.text())
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException) as error:
        log.warning("email to %s not sent through %s:%s: %s", message["To"], settings.smtp_host,
                    settings.smtp_port, error)
        return False


def notify(notice: Notice, settings: NotifySettings | None = None) -> dict[str, bool]:
    """Send the notice everywhere configured; returns which channels delivered it."""
    settings = settings or NotifySettings.from_env()
    sent: dict[str, bool] = {}
    if settings.webhook_url:
        sent["webhook"] = send_webhook(notice, settings)
    if settings.smtp_host and settings.email_to:
        sent["email"] = send_email(notice, settings)
    if not sent:
        log.info("no notification channel configured (OBA_NOTIFY_WEBHOOK_URL, OBA_NOTIFY_SMTP_HOST)")
    return sent
