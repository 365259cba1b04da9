"""Credentials for the hosts mfci resolves against and downloads from, the way uv, pip
and the seed find them.

A URL gets credentials from, in order: the configured source (index or channel URL)
it lives under — its `user:password@`, its `/t/<token>/` path or token query — then a
configured source on the same host (an index's files are often served from another
path), then the seed's CONDA_SRCS_AUTH_INFO for its host, then netrc, then the keyring
command when a keyring provider is configured. Credentials are chosen per URL, so a
redirect to another host never carries them. The resolvers get their index and channel
URLs from here too (`for_tool`), so resolution and downloads authenticate alike.
"""

from __future__ import annotations

import base64
import netrc
import threading
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote, urlsplit, urlunsplit

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
    hosts: tuple[tuple[str, str, str], ...] = ()   # (host, user, password): CONDA_SRCS_AUTH_INFO

    @classmethod
    def of(cls, urls, netrc_file: str | None = None, keyring_command: str | None = None,
           environ: dict | None = None, hosts: dict | None = None) -> "Credentials":
        host_auth = tuple((host, user, password) for host, (user, password) in sorted((hosts or {}).items()))
        return cls(_sources(urls), netrc_file, keyring_command, dict(environ or {}), host_auth)

    def with_sources(self, urls) -> "Credentials":
        """These credentials and the sources an environment file names itself."""
        return replace(self, sources=_sources([*(s.configured for s in self.sources), *urls]))

    def configured(self, public: str) -> str:
        """A source as configured (secrets included) from its scrubbed form, as ids hold it."""
        trimmed = public.rstrip("/")
        return next((s.configured for s in self.sources if s.public.rstrip("/") == trimmed), public)

    def for_tool(self, url: str) -> str:
        """An index or channel URL as uv or rattler must get it (through their environment
        or API, never argv): as configured, with the credentials a download of it would
        carry written in when it names none itself."""
        configured = self.configured(url)
        parts = urlsplit(configured)
        if parts.scheme not in ("http", "https"):
            return configured
        if "@" in parts.netloc:   # a user without a password asks the keyring, as uv would
            user, password = _userinfo(configured)
            answer = None if password else self._keyring(scrub(configured), unquote(user))
            if not answer:
                return configured
            return urlunsplit(parts._replace(netloc=f"{user}:{quote(answer, safe='')}@{parts.hostname}"
                                             + (f":{parts.port}" if parts.port else "")))
        found = None if secrets_in_url(configured) else self._by_host(parts.hostname)
        if not found:
            return configured
        user, password = (quote(part, safe="") for part in found)
        return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))

    def request(self, url: str) -> tuple[str, dict[str, str]]:
        """(the URL to fetch, the headers to send) for a URL as records hold it (scrubbed)."""
        parts = urlsplit(url)
        if "@" in parts.netloc:  # credentials written into the URL itself
            userinfo, host = parts.netloc.rsplit("@", 1)
            user, _, password = userinfo.partition(":")
            return urlunsplit(parts._replace(netloc=host)), _basic(user, password)
        for source in self.sources:
            if _under(url, source.public):
                target, headers = self._from_source(url, source)
                if target != url or headers:
                    return target, headers
                break   # a source without credentials of its own: its host's, if any
        for source in self.sources:
            if source.host == parts.netloc and "@" in urlsplit(source.configured).netloc:
                return url, _basic(*self._userinfo(source))
        found = self._by_host(parts.hostname)
        return url, _basic(*found) if found else {}

    def _by_host(self, host: str | None) -> tuple[str, str] | None:
        """Credentials kept per host: CONDA_SRCS_AUTH_INFO, then netrc."""
        for name, user, password in self.hosts:
            if name == host:
                return user, password
        return self._netrc(host)

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


def _sources(urls) -> tuple[Source, ...]:
    sources = tuple(Source(url, scrub(url)) for url in dict.fromkeys(urls) if "://" in url)
    # Longest public prefix first: the most specific source answers.
    return tuple(sorted(sources, key=lambda s: len(s.public), reverse=True))


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
