"""HTTP requests pinned to one checked address (SSRF protection against DNS rebinding).

`addresses.resolve_allowed` resolves the host once and checks every address; `post(url, address,
...)` then connects to that address and only that one: the URL, the `Host` header, TLS's SNI and
the certificate check keep the host name (urllib3 still sees the name as the connection's host),
only the socket's destination is replaced. After connecting, the socket's peer is compared with
the pinned address, so nothing in between (a proxy from the environment, a second lookup) can
send the request elsewhere; the environment's proxies are not used at all.
"""

import ipaddress
import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class PinnedAddressError(OSError):
    """The connection reached a peer other than the checked address."""


def _same(peer: str, pinned: str) -> bool:
    return ipaddress.ip_address(peer.split("%")[0]) == ipaddress.ip_address(pinned.split("%")[0])


def _pinned_connection(base: type[HTTPConnection], address: str) -> type[HTTPConnection]:
    class Pinned(base):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            name: str = self._dns_host  # type: ignore[has-type]
            self._dns_host = address  # where the socket goes; `host` (SNI, Host, certificate) is the name again below
            try:
                sock = super()._new_conn()
            finally:
                self._dns_host = name
            peer = str(sock.getpeername()[0])
            if not _same(peer, address):
                sock.close()
                raise PinnedAddressError(f"connected to {peer}, not the checked address")
            return sock

    return Pinned


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections all go to `address`."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        address = self.address

        class Http(HTTPConnectionPool):
            ConnectionCls = _pinned_connection(HTTPConnection, address)

        class Https(HTTPSConnectionPool):
            ConnectionCls = _pinned_connection(HTTPSConnection, address)

        self.poolmanager.pool_classes_by_scheme = {"http": Http, "https": Https}


def post(url: str, address: str, **kwargs) -> requests.Response:
    """POST `url`, connecting to `address` only (no proxies, no redirects followed)."""
    with requests.Session() as session:
        session.trust_env = False  # an environment proxy would make its own connection
        adapter = PinnedAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session.post(url, allow_redirects=False, **kwargs)
