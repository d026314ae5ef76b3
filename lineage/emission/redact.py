"""Credentials out of anything emission prints or stores (outbox meta, status, log lines).

A configured URL may carry a password (``http://user:secret@host``, ``postgresql://u:pw@db/x``) and a
backend error message may quote it; tokens travel in ``?token=`` query strings and ``Bearer`` headers.
:func:`redact` masks all of these, plus the literal values of the secrets the environment holds
(:data:`SECRET_ENV`), which catches a password quoted outside a URL too.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"
# Variables whose values are secrets, or URLs whose password part is one.
SECRET_ENV = ("OBS_LINEAGE_TOKEN", "OPENLINEAGE_API_KEY", "OPENLINEAGE__TRANSPORT__AUTH__APIKEY")
URL_ENV = ("OBS_LINEAGE_URL", "OBS_LINEAGE_DB", "OPENLINEAGE_URL", "OPENLINEAGE__TRANSPORT__URL",
           "OBS_LINEAGE_SPOOL")
MIN_SECRET_LEN = 4  # shorter literal values would mask ordinary words

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_QUERY = re.compile(r"(?P<key>[?&;](?:token|access_token|api_key|apikey|password|secret|sig|signature)=)[^&#\s]*",
                    re.IGNORECASE)
_BEARER = re.compile(r"(?P<key>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)


def env_secrets() -> list[str]:
    """Secret values configured in the environment (tokens, URL passwords, raw and percent-decoded)."""
    found: list[str] = [os.environ.get(name, "") for name in SECRET_ENV]
    for name in URL_ENV:
        try:
            password = urlsplit(os.environ.get(name, "")).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    return [s for s in dict.fromkeys(found) if len(s) >= MIN_SECRET_LEN]


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, token query parameters, auth headers and known secret values masked."""
    out = str(text)
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", out)
    out = _QUERY.sub(lambda m: f"{m['key']}{MASK}", out)
    out = _BEARER.sub(lambda m: f"{m['key']}{MASK}", out)
    for secret in sorted({*env_secrets(), *(s for s in secrets if s and len(s) >= MIN_SECRET_LEN)},
                         key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


# Third-party loggers that quote a configured URL (openlineage-python logs its whole transport config at
# DEBUG; httpx logs each request URL at INFO). A logger's filters see only its own records, so each is named.
QUOTING_LOGGERS = (
    "openlineage.client.client", "openlineage.client.transport.factory", "openlineage.client.transport.http",
    "openlineage.client.transport.async_http", "openlineage.client.transport.kafka", "httpx",
    "urllib3.connectionpool",
)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through :func:`redact` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = RedactingFilter()


def install_log_redaction(names: Iterable[str] = QUOTING_LOGGERS) -> None:
    """Attach the redacting filter to ``names`` (idempotent); the emitter calls it when it is built."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
