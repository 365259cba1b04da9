"""What counts as a secret, and the one way to take secrets out of anything that leaves
the process: ids, records, object keys, logs, command lines, flow code's environment.

Secrets are credentials in URLs (`user:password@`, Anaconda-style `/t/<token>/` path
segments, token-like query parameters) and the literal values registered when settings
are read (index passwords, channel tokens, connection strings): whatever text mfci prints
or stores goes through `scrub_text` or `scrub`.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "****"
# Anaconda-style channel tokens open the path: https://conda.anaconda.org/t/<TOKEN>/channel
TOKEN_SEGMENT = re.compile(r"^/t/[^/]+(?=/|$)")
SECRET_QUERY_NAMES = re.compile(
    r"token|auth|key|secret|password|passwd|pwd|sig|signature|credential|x-amz-|x-goog-|sas|se$|sp$|sv$",
    re.IGNORECASE)
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>`]+")
SECRET_VARIABLE = re.compile(
    r"^(AWS_|AZURE_|GOOGLE_|GCLOUD_|GCP_|CLOUDSDK_|ARM_|ACTIONS_ID_TOKEN|ACTIONS_RUNTIME_TOKEN"
    r"|METAFLOW_SERVICE_AUTH_KEY|METAFLOW_SERVICE_HEADERS)"
    r"|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY|ACCESS_KEY|API_KEY|CONNECTION_STRING|AUTH",
    re.IGNORECASE,
)

_known: set[str] = set()
_guard = threading.Lock()


def register(value: str | None) -> None:
    """Remember a literal secret (at least 4 characters) so that scrub_text removes it."""
    if value and len(value) >= 4:
        with _guard:
            _known.add(value)


def register_url(url: str) -> None:
    """Remember every secret a configured URL carries (its password, token, token query)."""
    for secret in secrets_in_url(url):
        register(secret)


def secrets_in_url(url: str) -> list[str]:
    """The secret parts of a URL: password (and user), path token, secret query values."""
    parts = urlsplit(url)
    found = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        found += [password or user]
    found += [m.group(0)[3:] for m in TOKEN_SEGMENT.finditer(parts.path)]
    found += [value for name, value in parse_qsl(parts.query, keep_blank_values=True)
              if SECRET_QUERY_NAMES.search(name) and value]
    return found


def has_secret(url: str) -> bool:
    return bool(secrets_in_url(url))


def scrub(url: str) -> str:
    """The URL without any secret: what may be hashed, stored, used as a key or logged.
    A token path segment goes entirely (`…/t/<token>/chan` → `…/chan`), so a rotated
    token leaves every id and key unchanged."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = TOKEN_SEGMENT.sub("", parts.path)
    query = parts.query
    if query:
        kept = [(n, v) for n, v in parse_qsl(query, keep_blank_values=True) if not SECRET_QUERY_NAMES.search(n)]
        query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def mask(url: str) -> str:
    """The URL with its secrets replaced by ****, for showing settings to their owner."""
    text = url
    for secret in secrets_in_url(url):
        text = text.replace(secret, MASK)
    return text


def scrub_text(text: str) -> str:
    """A tool's output (or any message) with every registered secret and every URL's
    secret parts removed."""
    with _guard:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return URL_IN_TEXT.sub(lambda m: scrub(m.group(0)), text)


def is_secret_variable(name: str, value: str) -> bool:
    """An environment variable that carries a credential (by name, or a URL with one)."""
    if SECRET_VARIABLE.search(name):
        return True
    return any(has_secret(m.group(0)) for m in URL_IN_TEXT.finditer(value))
