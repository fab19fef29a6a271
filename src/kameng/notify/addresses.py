"""Where the platform may send a merchant's requests (SSRF protection): public https only, every
address the host name resolves to must be a public one, unless KAMENG_WEBHOOK_ALLOW_PRIVATE=1
(tests, intranets). Checked when the URL is saved and again before every request, so a name that
later resolves inward is refused then."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from kameng.errors import DomainError, Error


def private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def check_url(url: str, *, schemes: tuple[str, ...] = ("https",), private_schemes: tuple[str, ...] = ("http",)) -> str:
    """The URL if the platform may call it; raises url_not_allowed otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    allowed = schemes + (private_schemes if private_allowed() else ())
    if len(url) > 1000 or parts.scheme.lower() not in allowed or not parts.hostname:
        raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url")
    check_host(parts.hostname, parts.port)
    return url


def check_host(host: str, port: int | None = None) -> None:
    """Every address `host` resolves to must be public (or private ones allowed)."""
    if private_allowed():
        return
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url")
