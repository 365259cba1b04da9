"""Credentials for the hosts mfci downloads from, the way uv and pip find them.

A URL gets credentials from, in order: the configured source (index or channel URL)
it lives under — its `user:password@`, its `/t/<token>/` path or token query — then a
configured source on the same host (an index's files are often served from another
path), then netrc, then the keyring command when a keyring provider is configured.
Credentials are chosen per URL, so a redirect to another host never carries them.
"""

from __future__ import annotations

import base64
import netrc
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from .secrets import scrub, secrets_in_url

KEYRING_TIMEOUT = 30
_keyring_answers: dict[tuple[str, str], str | None] = {}
_keyring_guard = threading.Lock()


@dataclass(frozen=True)
class Source:
    configured: str   # as the user wrote it, secrets included
    public: str       # scrubbed: what ids, records and keys hold

    @property
    def host(self) -> str:
        return urlsplit(self.public).netloc


@dataclass(frozen=True)
class Credentials:
    sources: tuple[Source, ...] = ()
    netrc_file: str | None = None
    keyring_command: str | None = None   # e.g. "keyring", when a keyring provider is configured
    environ: dict = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, urls, netrc_file: str | None = None, keyring_command: str | None = None,
           environ: dict | None = None) -> "Credentials":
        sources = tuple(Source(url, scrub(url)) for url in dict.fromkeys(urls) if "://" in url)
        # Longest public prefix first: the most specific source answers.
        sources = tuple(sorted(sources, key=lambda s: len(s.public), reverse=True))
        return cls(sources, netrc_file, keyring_command, dict(environ or {}))

    def request(self, url: str) -> tuple[str, dict[str, str]]:
        """(the URL to fetch, the headers to send) for a URL as records hold it (scrubbed)."""
        parts = urlsplit(url)
        if "@" in parts.netloc:  # credentials written into the URL itself
            userinfo, host = parts.netloc.rsplit("@", 1)
            user, _, password = userinfo.partition(":")
            return urlunsplit(parts._replace(netloc=host)), _basic(user, password)
        for source in self.sources:
            if _under(url, source.public):
                return self._from_source(url, source)
        for source in self.sources:
            if source.host == parts.netloc and "@" in urlsplit(source.configured).netloc:
                return url, _basic(*self._userinfo(source))
        found = self._netrc(parts.hostname)
        return url, _basic(*found) if found else {}

    def _userinfo(self, source: Source) -> tuple[str, str]:
        """A source's user and password; a user without one asks the keyring (as uv does)."""
        user, password = _userinfo(source.configured)
        if not password:
            password = self._keyring(source.public, user) or ""
        return user, password

    def _from_source(self, url: str, source: Source) -> tuple[str, dict[str, str]]:
        configured = urlsplit(source.configured)
        headers = {}
        if "@" in configured.netloc:
            headers = _basic(*self._userinfo(source))
        if secrets_in_url(source.configured) and not headers:
            # A token in the path or the query: fetch under the configured URL itself.
            rest = url[len(source.public):]
            base = urlunsplit(configured._replace(query="", fragment=""))
            target = urlsplit(base.rstrip("/") + rest if rest.startswith("/") else base + rest)
            query = "&".join(q for q in (target.query, configured.query) if q)
            return urlunsplit(target._replace(query=query)), {}
        return url, headers

    def _netrc(self, host: str | None) -> tuple[str, str] | None:
        if not host:
            return None
        try:
            entry = netrc.netrc(self.netrc_file).authenticators(host)
        except (OSError, netrc.NetrcParseError):
            return None
        return (entry[0] or "", entry[2] or "") if entry else None

    def _keyring(self, url: str, user: str) -> str | None:
        """uv's subprocess keyring protocol: `keyring get <service> <username>`, for the
        index URL, then its host; asked once per (URL, user) for the life of the process."""
        if not self.keyring_command or not user:
            return None
        key = (url, user)
        with _keyring_guard:
            if key in _keyring_answers:
                return _keyring_answers[key]
            from .errors import WorkError
            from .io.process import run

            answer = None
            for service in (url, urlsplit(url).netloc):
                try:
                    done = run([self.keyring_command, "get", service, user], timeout=KEYRING_TIMEOUT,
                               what=f"asking the keyring for {urlsplit(url).netloc}", env=self.environ or None)
                except WorkError:
                    break
                if done.ok and done.stdout.strip():
                    answer = done.stdout.strip().splitlines()[0]
                    break
            _keyring_answers[key] = answer
            if answer:
                from .secrets import register

                register(answer)
            return answer


def _under(url: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return url == prefix or url.startswith(prefix + "/")


def _userinfo(url: str) -> tuple[str, str]:
    userinfo = urlsplit(url).netloc.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    return user, password


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
