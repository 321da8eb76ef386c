"""Target URL checks: webhooks must not become a way to make the service call into the
network it sits on (SSRF). http/https only, no credentials in the URL, and no private,
loopback, link-local or otherwise non-public address unless ASCENT_WEBHOOKS_ALLOW_PRIVATE.

Names are checked when a subscription is saved (literal addresses and ``localhost``) and
resolved again before every delivery, since DNS can change after the check. The delivery then
connects to the very address that was checked (``pinned``): letting the HTTP client resolve
the name a second time would let a DNS answer that changes between the two lookups (DNS
rebinding) point the POST at a private address after the check passed."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

LOCAL_NAMES = ("localhost", "localhost.localdomain")


class UnsafeUrl(ValueError):
    pass


def _host_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        httpx.URL(url.strip())  # what the sender will need to parse
    except (ValueError, httpx.InvalidURL) as exc:
        raise UnsafeUrl("not a valid URL") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL are not allowed; verify the signature instead")
    return parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ``UnsafeUrl`` for a URL that must never be a webhook target."""
    host, _ = _host_port(url)
    if allow_private:
        return
    if host.lower().rstrip(".") in LOCAL_NAMES or host.lower().rstrip(".").endswith(".localhost"):
        raise UnsafeUrl("loopback hosts are refused (ASCENT_WEBHOOKS_ALLOW_PRIVATE=true allows)")
    try:
        public = is_public(host)
    except ValueError:
        return  # a name: resolved and checked before each delivery
    if not public:
        raise UnsafeUrl("private, loopback and reserved addresses are refused "
                        "(ASCENT_WEBHOOKS_ALLOW_PRIVATE=true allows them)")


def check_resolved(url: str, *, allow_private: bool) -> str | None:
    """Before a delivery: every address the host resolves to must be public. Returns the
    address to connect to (the first one checked), or None when there is nothing to pin (a
    literal address, or private targets allowed: then nothing is refused either)."""
    check_url(url, allow_private=allow_private)
    if allow_private:
        return None
    host, port = _host_port(url)
    try:
        is_public(host)
        return None  # a literal address, checked above: the client connects to it as is
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"cannot resolve {host}: {exc}") from exc
    if not infos:
        raise UnsafeUrl(f"cannot resolve {host}: no address")
    for info in infos:
        if not is_public(str(info[4][0])):
            raise UnsafeUrl(f"{host} resolves to a non-public address")
    return str(infos[0][4][0]).split("%", 1)[0]


@dataclass(frozen=True)
class Pinned:
    """A request to ``url`` sent to ``address``: the URL's host replaced by the address, the
    original ``Host`` header, and the name for TLS (SNI and certificate check)."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


def pinned(url: str, address: str | None) -> Pinned:
    original = httpx.URL(url.strip())
    if address is None:
        return Pinned(original, {}, {})
    return Pinned(original.copy_with(host=address),
                  {"host": original.netloc.decode("ascii")},
                  {"sni_hostname": original.raw_host.decode("ascii")})
