"""Where the platform may send a merchant's requests (SSRF protection): public https only, every
address the host name resolves to must be a public one, unless KAMENG_WEBHOOK_ALLOW_PRIVATE=1
(tests, intranets). Checked when the URL is saved and again before every request, so a name that
later resolves inward is refused then. A webhook request is pinned to the address that was checked
(`resolve_allowed`, then kameng.notify.pinned connects to that address only): a name that answers a
public address to the check and 127.0.0.1 to the HTTP client (DNS rebinding) cannot slip through."""

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
    check_host(*_host_port(url, schemes, private_schemes))
    return url


def pin_url(url: str, *, schemes: tuple[str, ...] = ("https",), private_schemes: tuple[str, ...] = ("http",)) -> str:
    """check_url's verdict, resolved once: the address to connect to (kameng.notify.pinned)."""
    return resolve_allowed(*_host_port((url or "").strip(), schemes, private_schemes))


def _host_port(url: str, schemes: tuple[str, ...], private_schemes: tuple[str, ...]) -> tuple[str, int]:
    parts = urlsplit(url)
    allowed = schemes + (private_schemes if private_allowed() else ())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if len(url) > 1000 or parts.scheme.lower() not in allowed or not parts.hostname or port == -1:
        raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url")
    return parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)


def check_host(host: str, port: int | None = None) -> None:
    """Every address `host` resolves to must be public (or private ones allowed)."""
    if private_allowed():
        return
    resolve_allowed(host, port)


def resolve_allowed(host: str, port: int | None = None) -> str:
    """Resolve `host` once; every address must be public (unless private ones are allowed). Returns the
    address to connect to, so the request goes where the check looked and nowhere else."""
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError):
        raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url") from None
    if not infos:
        raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url")
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global and not private_allowed():
            raise DomainError(Error.WEBHOOK_URL_NOT_ALLOWED, param="url")
    return str(infos[0][4][0])
