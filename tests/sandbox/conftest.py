import socket
import threading

import pytest
from sbx_helpers import Listener

import sandbox


@pytest.fixture(scope="session", autouse=True)
def zygote():
    """One shared zygote for the whole sandbox suite."""
    assert sandbox.prewarm(), "zygote failed to start"
    yield


@pytest.fixture
def listener():
    lst = Listener()
    # positive control: the listener really accepts local connections
    probe = socket.create_connection(("127.0.0.1", lst.port), timeout=2)
    probe.sendall(b"probe")
    probe.close()
    for _ in range(50):
        if lst.received == b"probe":
            break
        threading.Event().wait(0.02)
    assert lst.connections == 1 and lst.received == b"probe"
    lst.connections, lst.received = 0, b""
    yield lst
    lst.close()
