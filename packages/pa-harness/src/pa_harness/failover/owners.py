"""Which process is on the other end of a loopback TCP connection (Linux `/proc`), to tell PA instances apart.

The simulator sees a connection's peer address; the client socket with that local port belongs to exactly one
process, whose open file descriptors name the socket's inode. Several PA instances log in with the same account,
so this is the only way the simulator's records can be attributed to one of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


def socket_owner(local_port: int, remote_port: int, pids: Iterable[int]) -> int | None:
    """The pid among `pids` holding the TCP socket `local_port` -> `remote_port`; None when none of them does."""
    inode = _socket_inode(local_port, remote_port)
    if inode is None:
        return None
    link = f"socket:[{inode}]"
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            names = os.listdir(fd_dir)
        except OSError:  # the process is gone
            continue
        for name in names:
            try:
                if os.readlink(fd_dir / name) == link:
                    return pid
            except OSError:
                continue
    return None


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    for table in _TABLES:
        try:
            lines = table.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == local_port and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                return inode
    return None
