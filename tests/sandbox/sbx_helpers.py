"""Helpers shared by the sandbox tests (unique module name on purpose)."""

import os
import socket
import sys
import threading

import numpy as np
import pandas as pd

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

HERE = os.path.dirname(os.path.abspath(__file__))


def write_input_csv(workdir):
    rng = np.random.default_rng(42)
    n = 120
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.integers(18, 95, n),
            "income": rng.normal(50000, 15000, n).round(2),
            "city": rng.choice(["Oslo", "Lyon", "Porto", "Bonn"], n),
            "signup": pd.date_range("2021-01-01", periods=n, freq="3D").strftime("%Y-%m-%d"),
            "churn": rng.integers(0, 2, n),
        }
    )
    df.to_csv(os.path.join(workdir, "input.csv"), index=False)


class Listener:
    """TCP listener on 127.0.0.1 that records every connection and byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            c.settimeout(0.5)
            try:
                self.received += c.recv(65536)
            except OSError:
                pass
            c.close()

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()
