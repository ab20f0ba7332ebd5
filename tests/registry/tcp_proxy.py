"""A loopback TCP proxy the tests can cut, stall and restore, to take the database away for real.

`cut()`: connections are refused (a server that is down). `stall()`: connections are
accepted and never answered, open ones are broken (a database behind a partition or a
dead host behind a pooler: clients wait until their connect timeout).
`lose_commit_reply(after)`: once, on the first connection that sends `after`, the next
COMMIT reaches the server but its reply never comes back: the connection breaks (a
transaction whose client cannot know whether it was stored).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.stalled = False
        self._lose_after: bytes | None = None
        self.commit_replies_lost = 0

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and break every open connection: the database is 'down'."""
        if self._listener:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def stall(self) -> None:
        """Keep accepting, answer nothing, break the open connections."""
        self.stalled = True
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def resume(self) -> None:
        """After stall(): new connections reach the database again."""
        self.stalled = False
        with self._lock:
            for conn in self._conns:  # the unanswered ones
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def lose_commit_reply(self, after: bytes) -> None:
        self._lose_after = after

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.stalled:
                with self._lock:
                    self._conns.append(client)  # held open, never read from or answered
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            pair = {"armed": False, "mute": False}
            for a, b, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(a, b, outbound, pair),
                                 daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, outbound: bool,
              pair: dict[str, bool]) -> None:
        try:
            while data := source.recv(65536):
                if outbound and self._lose_after and self._lose_after in data:
                    self._lose_after, pair["armed"] = None, True
                elif outbound and pair["armed"] and b"COMMIT" in data:
                    pair["mute"] = True  # the server commits; its answer is not passed on
                    sink.sendall(data)
                    time.sleep(0.5)
                    self.commit_replies_lost += 1
                    for conn in (source, sink):
                        with contextlib.suppress(OSError):
                            conn.shutdown(socket.SHUT_RDWR)
                    return
                if not pair["mute"]:
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
