"""Which `Host` and `Origin` headers this server answers: its own names and addresses only, so a
web page whose name was re-pointed at this machine (DNS rebinding) cannot drive it."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from urllib.parse import urlsplit

import psutil

# Interfaces change (a laptop joins the school Wi-Fi after the server started): an unknown Host
# re-reads them, at most this often, so a flood of bad Hosts cannot make every request pay.
REFRESH_SECONDS = 10.0
# A DNS label: letters, digits, hyphens, underscores (seen in the wild), not at the ends.
LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine
    only: every address of 127.0.0.0/8, ::1 in any spelling, an IPv4-mapped one, `localhost`."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:  # a name: only `localhost` is sure to stay on this machine
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return (mapped or address).is_loopback


def host_name(header: str) -> str:
    """The name or address of a `Host` header, without its port, lower case, without brackets,
    a trailing dot or an IPv6 zone; an address in its one canonical spelling."""
    text = header.strip().lower()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0].rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def valid_name(name: str) -> bool:
    """A host name of dot-separated DNS labels, or an IP address."""
    if _is_ip(name):
        return True
    labels = name.split(".")
    return 0 < len(name) <= 253 and all(LABEL.match(label) for label in labels)


def normal_allowed_host(text: str) -> str:
    """An `--allow-host` value: a bare name or address (no scheme, port or path), normalised;
    ValueError otherwise."""
    bare = text.strip()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    name = host_name(bare) if _is_ip(bare) or ":" not in bare else ""
    if not valid_name(name):
        from engine.datasets import shown  # here, not at the top: see normal_origin

        raise ValueError(f"--allow-host: a host name or address without port, got {shown(text)}")
    return name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
        return True
    except ValueError:
        return False


def normal_origin(text: str) -> str:
    """An `--allow-origin` value as browsers write an Origin: `scheme://host[:port]`, http or
    https, lower case, without a default port; ValueError for anything else (`null` too: it is
    what sandboxed frames and local files send, so it would let any of them in)."""
    # The engine (and so NumPy) is imported here, not at the top: the console script imports
    # this module before it sets the BLAS variables, which NumPy reads once, as it loads.
    from engine.datasets import shown

    problem = f"--allow-origin: expected scheme://host[:port], got {shown(text)}"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError(problem) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(problem)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(problem)
    name = host_name(parts.hostname)
    if not valid_name(name):
        raise ValueError(problem)
    scheme = parts.scheme.lower()
    shown_host = f"[{name}]" if ":" in name else name
    default = {"http": 80, "https": 443}[scheme]
    return (
        f"{scheme}://{shown_host}" if port in (None, default) else f"{scheme}://{shown_host}:{port}"
    )


def machine_addresses() -> set[str]:
    """Every address of every network interface of this machine, canonical spelling."""
    found = set()
    for entries in psutil.net_if_addrs().values():
        for entry in entries:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(host_name(entry.address))
    return found


def machine_names() -> set[str]:
    """The names this machine calls itself, and its mDNS `.local` name (what a class types)."""
    names = {"localhost"}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            short = name.lower().rstrip(".")
            names.update({short, f"{short.split('.')[0]}.local"} if short != "localhost" else ())
    return names


class HostRule:
    """Decides whether a `Host` header names this server.

    On a loopback bind only loopback names and addresses pass. On a bind open to the room the
    machine's own names and addresses pass too (loopback included: the teacher's own tab), plus
    those given with `--allow-host` (a DNS name the school gave the laptop, a proxy's name).
    """

    def __init__(self, bind_host: str, allowed: tuple[str, ...] = ()) -> None:
        self.loopback_only = is_loopback_host(bind_host)
        self.fixed = {host_name(name) for name in allowed} | machine_names()
        if not self.loopback_only and bind_host not in ("", "0.0.0.0", "::"):
            self.fixed.add(host_name(bind_host))
        self.addresses: set[str] = set() if self.loopback_only else machine_addresses()
        self.read_at = time.monotonic()

    def allows(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_name(header)
        if is_loopback_host(name):
            return True
        if self.loopback_only:
            return False
        if name in self.fixed or name in self.addresses:
            return True
        if time.monotonic() - self.read_at >= REFRESH_SECONDS:
            self.addresses, self.read_at = machine_addresses(), time.monotonic()
            return name in self.addresses
        return False


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """A browser's handshake must come from the page's own origin or one given by --allow-origin.

    A missing Origin is let through: only browsers send it, and the check exists to stop other
    web pages from driving a learner's browser; scripts could forge any Origin anyway.
    """
    if origin is None:
        return True
    if origin in allowed:
        return True
    return host is not None and origin in (f"http://{host}", f"https://{host}")
