"""Where callbacks may go: the guard against server-side request forgery.

A callback URL is refused when its host is, or resolves to, an address of this machine or of a
private network: loopback, RFC 1918, link-local (cloud metadata at 169.254.169.254), carrier-grade
NAT, benchmarking, documentation, reserved, multicast, unspecified, IPv6 unique-local … in every
spelling (``127.1``, ``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``). The operator may allow
subnets explicitly. The check runs at channel creation and again at every delivery, where the
request then goes to the address that was checked, so a name cannot be re-pointed in between.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

BLOCKED_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",
        "::ffff:0:0:0/96",
        "64:ff9b::/96",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)

BLOCKED_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class CallbackRefused(ValueError):
    """The URL may not receive callbacks; ``reason`` says why in words fit for the API caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A checked callback: connect to ``address``, speak to ``host``."""

    scheme: str
    host: str
    port: int
    address: str


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP means, in any of the spellings resolvers accept."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if ":" in bare:
        return None
    try:
        # inet_aton reads the legacy forms too: 127.1, 2130706433, 0x7f.1, 0177.0.0.1.
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


class CallbackGuard:
    def __init__(self, allowed: Sequence[str] = (), resolver: Resolver = system_resolver) -> None:
        self.allowed: tuple[Network, ...] = tuple(ipaddress.ip_network(net, strict=False) for net in allowed)
        self.resolver = resolver

    def address_allowed(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in net for net in self.allowed):
            return True
        return not any(address in net for net in BLOCKED_NETWORKS if net.version == address.version)

    def parse(self, url: str) -> tuple[str, str, int]:
        """Scheme, host and port of an acceptable URL shape, or ``CallbackRefused``."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise CallbackRefused("is not a valid URL") from exc
        if parts.scheme not in ("http", "https"):
            raise CallbackRefused("must be an http or https URL")
        if parts.username is not None or parts.password is not None:
            raise CallbackRefused("must not contain credentials")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise CallbackRefused("must name a host")
        return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)

    def check(self, url: str, *, resolve: bool) -> Target | None:
        """The target to connect to, refusing forbidden addresses.

        Without ``resolve`` a name that cannot be checked yet passes (it is checked at delivery);
        with it, the name must resolve and every address it resolves to must be allowed.
        """
        scheme, host, port = self.parse(url)
        literal = literal_address(host)
        if literal is not None:
            if not self.address_allowed(literal):
                raise CallbackRefused("points to an address that may not receive callbacks")
            return Target(scheme, host, port, str(literal))
        if (host in BLOCKED_NAMES or host.endswith(".localhost")) and not self.allowed:
            raise CallbackRefused("points to an address that may not receive callbacks")
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host, port)]
        except (OSError, UnicodeError, ValueError) as exc:
            if resolve:
                raise CallbackRefused("has a host name that does not resolve") from exc
            return None
        if not addresses:
            if resolve:
                raise CallbackRefused("has a host name that does not resolve")
            return None
        if not all(self.address_allowed(a) for a in addresses):
            raise CallbackRefused("points to an address that may not receive callbacks")
        return Target(scheme, host, port, str(addresses[0]))
