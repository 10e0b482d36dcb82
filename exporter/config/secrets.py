"""The secrets policy: what of a URL or header may be a credential, kept out of logs, /probes and labels."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

SECRET_MIN_LENGTH = 6  # shorter parts of a query or header are no credential; hiding them would garble the log


def secrets_in(url: str, headers: Iterable[tuple[str, str]] = ()) -> tuple[str, ...]:
    """What of a URL and its (name, value) headers may be a credential, for the probes to keep
    out of logs and messages: the query string and each value in it, each header value and each of its words
    (the token after "Bearer"). A user name or password in a URL is refused at load."""
    query = urlsplit(url).query
    found = {query, *(value for _, value in parse_qsl(query, keep_blank_values=True)),
             *(part.partition("=")[2] for part in query.split("&"))}  # as written, before percent-decoding
    for _, value in headers:
        found.update((value, *value.split()))
    return tuple(sorted(s for s in found if len(s) >= SECRET_MIN_LENGTH))

