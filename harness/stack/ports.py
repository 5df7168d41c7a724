"""Free loopback TCP ports for the services of a stack.

The kernel picks them (bind to port 0). Between picking and the service binding there is a short
window another process could take the port; ports handed out by this process are remembered so two
stacks started by one harness never get the same one.
"""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"
_issued: set[int] = set()


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct free ports: all sockets are held open together, so the kernel cannot repeat one."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            if port in _issued:
                continue  # keep it bound so the kernel moves on to another one
            ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    _issued.update(ports)
    return ports


def free_port(host: str = LOOPBACK) -> int:
    """One free port on `host` (loopback by default)."""
    return free_ports(1, host)[0]
