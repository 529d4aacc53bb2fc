"""What each kernel layer of the sandbox stops, and which of them a run's isolation string lacks.

`ExecResult.isolation` names the layers a run actually got (e.g.
``zygote+userns+netns+ipcns+rlimits+landlock(v7)+seccomp+audithook``); hosts that refuse user namespaces,
Landlock or seccomp (some container runtimes, Docker's default profile, old kernels) give fewer. The app and an
export's serve.py say which are missing and what that leaves to the layers that remain.
"""

from __future__ import annotations

KERNEL_LAYERS = {
    "userns": "no network at all and none of the host's shared memory (user, network and IPC namespaces)",
    "landlock": "file access confined to the run's folder and the Python installation (Landlock)",
    "seccomp": "no sockets, new processes, file-metadata changes or signals to other processes (seccomp)",
}
REMAINING = (
    "Generated code still runs in a separate, fresh process with a minimal environment (no API keys), resource "
    "limits and an audit hook that refuses files outside its folder, sockets and new processes; the audit hook "
    "lives in the child's own memory, so it is the weakest of the layers."
)


def missing_layers(isolation: str) -> dict[str, str]:
    """The kernel layers `isolation` lacks, each with what it would have stopped ({} when all are active or the
    string is empty, i.e. nothing has run yet)."""
    if not isolation:
        return {}
    parts = {part.split("(")[0] for part in isolation.split("+")}
    return {name: meaning for name, meaning in KERNEL_LAYERS.items() if name not in parts}
