"""The wire format between the sandbox (probe) and the grader (judge): JSON, arrays as raw bytes.

This module is shipped into the sandbox as ``autograder/wire.py`` (the probe side uses
:func:`encode_plain` and :func:`report`), so it depends on numpy and the standard library only.
Nothing is ever unpickled: arrays travel as base64 bytes of a whitelisted dtype.

A report is a small header frame (``{"token", "exercise"}``, at most :data:`HEADER_MAX` bytes)
followed by the body frame; the grader reads and checks the header before it reads any of the
body, and never reads a body longer than its limit.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
from typing import Any

import numpy as np

DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"}
HEADER_MAX = 4096
REPLY_MAX = 1 << 20


class ProtocolError(ValueError):
    """A message that breaks the wire format or its limits."""


def encode_plain(value: Any) -> Any:
    """Plain data -> JSON-able structure (arrays as base64 bytes). Used inside the sandbox."""
    if isinstance(value, np.ndarray):
        arr = value if value.flags.c_contiguous else np.ascontiguousarray(value)  # (ascontiguousarray makes 0-d 1-d)
        if arr.dtype.name not in DTYPES:
            return {"__object__": f"ndarray[{arr.dtype}]"}
        return {"__nd__": [arr.dtype.name, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return {"__float__": repr(v)} if v != v or v in (float("inf"), float("-inf")) else v
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        return [encode_plain(v) for v in value]
    if isinstance(value, dict):
        return {str.__str__(str(k)): encode_plain(v) for k, v in value.items()}
    return {"__object__": type(value).__name__}


def decode_plain(value: Any, depth: int = 0) -> Any:
    """The trusted side: JSON structure -> plain data (only numpy arrays and builtins)."""
    if depth > 64:
        raise ProtocolError("probe data nested too deeply")
    if isinstance(value, list):
        return [decode_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__nd__"}:
            try:
                dtype, shape, data = value["__nd__"]
                ok = dtype in DTYPES and isinstance(shape, list) and isinstance(data, str)
                ok = ok and all(type(s) is int and s >= 0 for s in shape)
                if not ok:
                    raise ValueError
                arr = np.frombuffer(base64.b64decode(data, validate=True), dtype=np.dtype(dtype))
                return arr.reshape(shape).copy()
            except (ValueError, TypeError) as exc:
                raise ProtocolError("bad array in probe data") from exc
        if set(value) == {"__float__"}:
            if value["__float__"] not in ("nan", "inf", "-inf"):
                raise ProtocolError("bad float in probe data")
            return float(value["__float__"])
        return {str(k): decode_plain(v, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ProtocolError(f"unexpected {type(value).__name__} in probe data")


# ---------------------------------------------------------------------------- framing
def recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(1 << 20, n - got))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">Q", len(payload)) + payload)


def recv_frame(sock: socket.socket, limit: int) -> bytes:
    """One length-prefixed frame; longer than ``limit`` -> ProtocolError before reading it."""
    (size,) = struct.unpack(">Q", recv_exact(sock, 8))
    if size > limit:
        raise ProtocolError(f"a message of {size} bytes is over the limit of {limit}")
    return recv_exact(sock, size)


def recv_json(sock: socket.socket, limit: int) -> Any:
    try:
        return json.loads(recv_frame(sock, limit))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"not JSON ({type(exc).__name__})") from exc


def send_json(sock: socket.socket, value: Any) -> None:
    send_frame(sock, json.dumps(value).encode())


def report(path: str, token: str, exercise: str, data: Any) -> dict:
    """Probe side: send one exercise's data to the judge and return its reply."""
    body = json.dumps(encode_plain(data)).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        send_json(s, {"token": str(token), "exercise": str(exercise)})
        try:
            send_frame(s, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused after the header: the reply says why
        try:
            reply = recv_json(s, REPLY_MAX)
        except (ConnectionError, OSError):
            reply = {"refused": "the grader closed the connection"}
    return reply if isinstance(reply, dict) else {}
