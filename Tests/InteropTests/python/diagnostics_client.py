#!/usr/bin/env python3
"""A client of ndrc.hitech.v1.Diagnostics over the gRPC-style ZeroMQ protocol.

Written from proto-schemas/WIRE.md alone (protocol version 1), to show that the page is
enough to talk to the server from another language. It needs pyzmq (with CURVE) and the
protobuf runtime (see requirements.txt), and Debian's `protoc` to generate the message
classes at run time.

It runs a series of checks, each on its own stream of ONE DEALER socket, prints one JSON
object with the results on stdout, and exits 0 only when every check passed (1 otherwise,
with the failed checks on stderr; 2 when it cannot start at all).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

try:
    import zmq
except ImportError as error:  # pragma: no cover - reported to the caller
    sys.stderr.write(
        f"missing Python package: {error}; run "
        "`pip install -r Tests/InteropTests/python/requirements.txt`\n"
    )
    sys.exit(2)

# --- WIRE.md section 2: messages -------------------------------------------------------------

VERSION = 0x01

OPEN = 0x01
MESSAGE = 0x02
HALF_CLOSE = 0x03
CANCEL = 0x04
CREDIT = 0x05
HEADERS = 0x11
STATUS = 0x12

KIND_NAMES = {
    OPEN: "OPEN",
    MESSAGE: "MESSAGE",
    HALF_CLOSE: "HALF_CLOSE",
    CANCEL: "CANCEL",
    CREDIT: "CREDIT",
    HEADERS: "HEADERS",
    STATUS: "STATUS",
}

STATUS_NAMES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED",
]
OK, UNKNOWN, INVALID_ARGUMENT, UNIMPLEMENTED = 0, 2, 3, 12

# WIRE.md section 4: each direction of each stream has a window of 64 MESSAGE frames.
WINDOW = 64
CREDIT_BATCH = 32

SERVICE = "/ndrc.hitech.v1.Diagnostics/"

# Every receive waits at most this long (seconds) unless a check says otherwise.
RECEIVE_TIMEOUT = 5.0


def status_name(code: int) -> str:
    return STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else f"UNKNOWN({code})"


def header(kind: int, stream_id: int, version: int = VERSION) -> bytes:
    """Frame 0: version (1 byte), kind (1 byte), stream id (u64 big-endian)."""
    return struct.pack(">BBQ", version, kind, stream_id)


def metadata_frames(metadata: list[tuple[str, str | bytes]]) -> list[bytes]:
    frames: list[bytes] = []
    for key, value in metadata:
        frames.append(key.encode("utf-8"))
        if key.endswith("-bin"):
            frames.append(bytes(value))  # raw binary, no base64
        else:
            frames.append(value.encode("utf-8") if isinstance(value, str) else bytes(value))
    return frames


def parse_metadata(frames: list[bytes]) -> list[tuple[str, str | bytes]]:
    if len(frames) % 2 != 0:
        raise ProtocolError(f"odd number of metadata frames ({len(frames)})")
    pairs: list[tuple[str, str | bytes]] = []
    for i in range(0, len(frames), 2):
        key = frames[i].decode("utf-8")
        if not key:
            raise ProtocolError("empty metadata key")
        value = frames[i + 1] if key.endswith("-bin") else frames[i + 1].decode("utf-8")
        pairs.append((key, value))
    return pairs


class ProtocolError(Exception):
    """The server sent something WIRE.md does not allow."""


class CheckFailed(Exception):
    pass


class Event:
    """One message received from the server, decoded per WIRE.md section 2."""

    def __init__(self, kind: int, stream_id: int, body: list[bytes]):
        self.kind = kind
        self.stream_id = stream_id
        self.body = body
        self.metadata: list[tuple[str, str | bytes]] = []
        self.message: bytes | None = None
        self.code: int | None = None
        self.status_message: str | None = None
        self.credit: int | None = None
        if kind == HEADERS:
            self.metadata = parse_metadata(body)
        elif kind == MESSAGE:
            if len(body) != 1:
                raise ProtocolError(f"MESSAGE with {len(body)} body frames")
            self.message = body[0]
        elif kind == STATUS:
            if len(body) < 2 or len(body[0]) != 4:
                raise ProtocolError(f"malformed STATUS body: {[f.hex() for f in body]}")
            (code,) = struct.unpack(">I", body[0])
            # "A receiver treats an unknown code as UNKNOWN."
            self.code = code if code <= 16 else UNKNOWN
            self.status_message = body[1].decode("utf-8")
            self.metadata = parse_metadata(body[2:])
        elif kind == CREDIT:
            if len(body) != 1 or len(body[0]) != 4:
                raise ProtocolError("malformed CREDIT body")
            (self.credit,) = struct.unpack(">I", body[0])
        else:
            raise ProtocolError(f"server sent kind 0x{kind:02x}")

    def __repr__(self) -> str:
        name = KIND_NAMES.get(self.kind, hex(self.kind))
        if self.kind == STATUS:
            return f"STATUS({status_name(self.code)}, {self.status_message!r}) on stream {self.stream_id}"
        return f"{name} on stream {self.stream_id}"


class Connection:
    """One DEALER socket; demultiplexes the server's messages by stream id."""

    def __init__(self, socket: zmq.Socket):
        self.socket = socket
        self.poller = zmq.Poller()
        self.poller.register(socket, zmq.POLLIN)
        self.next_stream_id = 1  # count up from 1, never reuse
        self.queues: dict[int, collections.deque[Event]] = collections.defaultdict(collections.deque)
        self.arrivals: list[int] = []  # stream ids in the order their messages arrived

    def new_stream_id(self) -> int:
        stream_id = self.next_stream_id
        self.next_stream_id += 1
        return stream_id

    def send(self, kind: int, stream_id: int, body: list[bytes] = ()) -> None:
        self.send_raw([header(kind, stream_id), *body])

    def send_raw(self, frames: list[bytes]) -> None:
        self.socket.send_multipart(frames)

    def open(self, method: str, metadata: list[tuple[str, str | bytes]] = ()) -> int:
        stream_id = self.new_stream_id()
        self.send(OPEN, stream_id, [method.encode("utf-8"), *metadata_frames(list(metadata))])
        return stream_id

    def _receive_one(self, timeout: float) -> bool:
        """Reads one message from the socket into the queues; False on timeout."""
        events = dict(self.poller.poll(max(0, int(timeout * 1000))))
        if self.socket not in events:
            return False
        frames = self.socket.recv_multipart()
        if len(frames) < 1 or len(frames[0]) != 10:
            raise ProtocolError(f"server message with a header of {len(frames[0]) if frames else 0} bytes")
        version, kind, stream_id = struct.unpack(">BBQ", frames[0])
        if version != VERSION:
            raise ProtocolError(f"server message with version {version}")
        self.arrivals.append(stream_id)
        self.queues[stream_id].append(Event(kind, stream_id, frames[1:]))
        return True

    def next_event(self, stream_id: int, timeout: float = RECEIVE_TIMEOUT) -> Event | None:
        """The next message on a stream, or None when none arrives within `timeout`."""
        deadline = time.monotonic() + timeout
        while not self.queues[stream_id]:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._receive_one(remaining):
                if not self.queues[stream_id]:
                    return None
        return self.queues[stream_id].popleft()

    def drain(self, timeout: float) -> list[Event]:
        """Everything that arrives within `timeout`, on any stream."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._receive_one(remaining):
                break
        events = [event for queue in self.queues.values() for event in queue]
        self.queues.clear()
        return events


class Call:
    """The client side of one stream: collects HEADERS, MESSAGEs and STATUS in order."""

    def __init__(self, connection: Connection, method: str, metadata=(), credit_batch=CREDIT_BATCH):
        self.connection = connection
        self.method = method
        self.stream_id = connection.open(method, metadata)
        self.headers: list[tuple[str, str | bytes]] | None = None
        self.messages: list[bytes] = []
        self.status: Event | None = None
        self.order: list[str] = []
        self.credit_batch = credit_batch
        self.unacknowledged = 0  # messages processed but not yet returned as credit
        self.credits_sent = 0

    def send_message(self, payload: bytes) -> None:
        self.connection.send(MESSAGE, self.stream_id, [payload])

    def half_close(self) -> None:
        self.connection.send(HALF_CLOSE, self.stream_id)

    def cancel(self) -> None:
        self.connection.send(CANCEL, self.stream_id)

    @property
    def done(self) -> bool:
        return self.status is not None

    def step(self, timeout: float = RECEIVE_TIMEOUT) -> Event:
        """Receives the next message on this stream; raises CheckFailed on timeout."""
        event = self.connection.next_event(self.stream_id, timeout)
        if event is None:
            raise CheckFailed(
                f"{self.method} (stream {self.stream_id}): nothing received within {timeout} s "
                f"after {self.order}"
            )
        if self.status is not None:
            raise CheckFailed(f"{self.method}: {event!r} after STATUS")
        self.order.append(KIND_NAMES[event.kind])
        if event.kind == HEADERS:
            if self.headers is not None or self.messages:
                raise CheckFailed(f"{self.method}: HEADERS after {self.order[:-1]}")
            self.headers = event.metadata
        elif event.kind == MESSAGE:
            if self.headers is None:
                raise CheckFailed(f"{self.method}: MESSAGE before HEADERS")
            self.messages.append(event.message)
            # Flow control (WIRE.md section 4): return credit as we consume messages.
            if self.credit_batch:
                self.unacknowledged += 1
                if self.unacknowledged >= self.credit_batch:
                    self.connection.send(CREDIT, self.stream_id, [struct.pack(">I", self.unacknowledged)])
                    self.credits_sent += self.unacknowledged
                    self.unacknowledged = 0
        elif event.kind == STATUS:
            self.status = event
        # CREDIT from the server (for our request messages) needs nothing: we send one MESSAGE.
        return event

    def finish(self, timeout: float = RECEIVE_TIMEOUT) -> "Call":
        deadline = time.monotonic() + timeout
        while not self.done:
            self.step(max(0.01, deadline - time.monotonic()))
        return self

    @property
    def code(self) -> int | None:
        return None if self.status is None else self.status.code


def unary(connection: Connection, method: str, request: bytes, metadata=()) -> Call:
    call = Call(connection, SERVICE + method, metadata)
    call.send_message(request)
    call.half_close()
    return call.finish()


def expect_ok(call: Call) -> None:
    if call.code != OK:
        raise CheckFailed(
            f"{call.method}: status {status_name(call.code)} {call.status.status_message!r}, expected OK"
        )
    if call.order[0] != "HEADERS":
        raise CheckFailed(f"{call.method}: the server did not answer HEADERS first: {call.order}")


# --- the checks ------------------------------------------------------------------------------


class Client:
    def __init__(self, connection: Connection, pb):
        self.connection = connection
        self.pb = pb
        self.results: dict = {}
        self.checks: dict[str, dict] = {}
        self.observations: dict[str, object] = {}
        self.unreachable = ""

    def check(self, name: str, function) -> None:
        if self.unreachable:
            self.checks[name] = {"ok": False, "detail": "not run: " + self.unreachable}
            return
        try:
            detail = function()
            self.checks[name] = {"ok": True, "detail": detail or ""}
        except zmq.Again:
            # A DEALER blocks on send until a connection (with IMMEDIATE, a completed CURVE
            # handshake) exists; the reference client calls this UNAVAILABLE.
            self.unreachable = (
                f"UNAVAILABLE: no connection after {RECEIVE_TIMEOUT} s (server down, wrong server "
                "key, or our key not registered)"
            )
            self.checks[name] = {"ok": False, "detail": self.unreachable}
        except (CheckFailed, ProtocolError, UnicodeDecodeError) as error:
            self.checks[name] = {"ok": False, "detail": f"{type(error).__name__}: {error}"}
        except Exception as error:  # keep going: report every check
            self.checks[name] = {"ok": False, "detail": f"unexpected {type(error).__name__}: {error}"}

    def ping_works(self, payload: bytes) -> Call:
        call = unary(self.connection, "Ping", self.pb.PingRequest(payload=payload).SerializeToString())
        expect_ok(call)
        if len(call.messages) != 1:
            raise CheckFailed(f"Ping: {len(call.messages)} responses, expected 1")
        response = self.pb.PingResponse.FromString(call.messages[0])
        if response.payload != payload:
            raise CheckFailed(f"Ping: payload {response.payload!r} is not the echo of {payload!r}")
        return call

    # Ping with a payload: the server echoes it.
    def check_ping(self) -> str:
        payload = bytes(range(256)) + "héllo wörld".encode("utf-8")
        call = self.ping_works(payload)
        response = self.pb.PingResponse.FromString(call.messages[0])
        if not response.HasField("server_time"):
            raise CheckFailed("Ping: no server_time")
        self.results["server_role"] = response.server_role
        self.results["ping_order"] = call.order
        return f"{len(payload)}-byte payload echoed by role {response.server_role!r}, order {call.order}"

    # WhoAmI: the identity the server's ZAP handler gave our key.
    def check_whoami(self) -> str:
        call = unary(self.connection, "WhoAmI", self.pb.WhoAmIRequest().SerializeToString())
        expect_ok(call)
        if len(call.messages) != 1:
            raise CheckFailed(f"WhoAmI: {len(call.messages)} responses, expected 1")
        response = self.pb.WhoAmIResponse.FromString(call.messages[0])
        self.results["identity"] = response.authenticated_identity
        self.results["peer_address"] = response.peer_address
        if not response.authenticated_identity:
            raise CheckFailed("WhoAmI: empty authenticated_identity over CURVE")
        return f"identity {response.authenticated_identity!r} from {response.peer_address!r}"

    def read_count(self, call: Call, expected: int) -> list[int]:
        call.finish(timeout=30)
        expect_ok(call)
        indices = [self.pb.CountResponse.FromString(m).index for m in call.messages]
        if indices != list(range(expected)):
            raise CheckFailed(f"Count: indices {indices[:5]}...{indices[-5:]} ({len(indices)}), expected 0..{expected - 1}")
        return indices

    # Count 300: more than the 64-message window, so we must return CREDIT.
    def check_count(self) -> str:
        call = Call(self.connection, SERVICE + "Count")
        call.send_message(self.pb.CountRequest(count=300).SerializeToString())
        call.half_close()
        indices = self.read_count(call, 300)
        self.results["count"] = len(indices)
        return f"indices 0..299 in order, status OK, {call.credits_sent} credits returned"

    # Flow control the other way round: without CREDIT the server stops at 64 messages.
    def check_window(self) -> str:
        call = Call(self.connection, SERVICE + "Count", credit_batch=0)
        call.send_message(self.pb.CountRequest(count=200).SerializeToString())
        call.half_close()
        while len(call.messages) < WINDOW and not call.done:
            call.step()
        # Anything beyond the window would arrive now.
        extra = self.connection.next_event(call.stream_id, timeout=0.5)
        if extra is not None:
            raise CheckFailed(f"the server sent {extra!r} beyond the {WINDOW}-message window without credit")
        # Return the credit in one frame and read the rest.
        self.connection.send(CREDIT, call.stream_id, [struct.pack(">I", 200 - WINDOW)])
        self.read_count(call, 200)
        return f"stopped at {WINDOW} messages until CREDIT {200 - WINDOW}, then 0..199 and OK"

    # Two streams at once, their frames interleaved on the one socket.
    def check_concurrent(self) -> str:
        first_arrival = len(self.connection.arrivals)
        a = Call(self.connection, SERVICE + "Count")
        b = Call(self.connection, SERVICE + "Count")
        c = Call(self.connection, SERVICE + "Ping")
        a.send_message(self.pb.CountRequest(count=150).SerializeToString())
        b.send_message(self.pb.CountRequest(count=120).SerializeToString())
        c.send_message(self.pb.PingRequest(payload=b"between").SerializeToString())
        b.half_close()
        c.half_close()
        a.half_close()
        # Read them alternately so that each stream's credit comes from its own consumption.
        deadline = time.monotonic() + 30
        while not (a.done and b.done and c.done):
            if time.monotonic() > deadline:
                raise CheckFailed(f"concurrent streams unfinished: {a.order[-3:]}, {b.order[-3:]}, {c.order[-3:]}")
            progressed = False
            for call in (a, b, c):
                if not call.done:
                    event = self.connection.next_event(call.stream_id, timeout=0.05)
                    if event is not None:
                        self.connection.queues[call.stream_id].appendleft(event)
                        call.step()
                        progressed = True
            if not progressed:
                self.connection._receive_one(0.2)
        arrivals = [s for s in self.connection.arrivals[first_arrival:] if s in (a.stream_id, b.stream_id)]
        switches = sum(1 for x, y in zip(arrivals, arrivals[1:]) if x != y)
        self.observations["concurrent_switches_between_count_streams"] = switches
        self.read_count(a, 150)
        self.read_count(b, 120)
        expect_ok(c)
        if self.pb.PingResponse.FromString(c.messages[0]).payload != b"between":
            raise CheckFailed("the Ping between two Counts was not echoed")
        return f"streams {a.stream_id}, {b.stream_id}, {c.stream_id}: Count 150, Count 120 and Ping all OK"

    # A method the server does not have.
    def check_unimplemented(self) -> str:
        call = unary(self.connection, "NoSuchMethod", b"")
        if call.code != UNIMPLEMENTED:
            raise CheckFailed(f"status {status_name(call.code)}, expected UNIMPLEMENTED")
        if call.order != ["STATUS"]:
            raise CheckFailed(f"expected STATUS alone (no HEADERS), got {call.order}")
        # An unknown service, with a request body that is not even a valid message.
        unknown_service = Call(self.connection, "/ndrc.hitech.v1.NoSuchService/Ping")
        unknown_service.send_message(b"\xff")
        unknown_service.half_close()
        unknown_service.finish()
        if unknown_service.code != UNIMPLEMENTED:
            raise CheckFailed(f"unknown service: {status_name(unknown_service.code)}, expected UNIMPLEMENTED")
        return f"STATUS UNIMPLEMENTED {call.status.status_message!r} alone"

    # A request over the default 4 MiB message limit (WIRE.md section 5).
    def check_oversized_request(self) -> str:
        payload = b"\x00" * (4 * 1024 * 1024 + 1)
        call = unary(self.connection, "Ping", self.pb.PingRequest(payload=payload).SerializeToString())
        if call.code != 8:
            raise CheckFailed(f"status {status_name(call.code)}, expected RESOURCE_EXHAUSTED; order {call.order}")
        if "MESSAGE" in call.order:
            raise CheckFailed(f"a response to an oversized request: {call.order}")
        self.ping_works(b"after an oversized request")
        return f"STATUS RESOURCE_EXHAUSTED {call.status.status_message!r}, order {call.order}"

    # A readable header with an unknown kind, on a stream the client has opened.
    def check_unknown_kind(self) -> str:
        call = Call(self.connection, SERVICE + "Ping")
        self.connection.send(0x7E, call.stream_id, [b"whatever"])
        call.finish()
        if call.code != INVALID_ARGUMENT:
            raise CheckFailed(f"status {status_name(call.code)}, expected INVALID_ARGUMENT; order {call.order}")
        if "MESSAGE" in call.order:
            raise CheckFailed(f"a response before the INVALID_ARGUMENT status: {call.order}")
        self.observations["unknown_kind_on_open_stream"] = call.order
        # The same on a stream id the server has never seen: WIRE.md says both "frames for a
        # stream that the receiver does not know are ignored" (section 3) and "a readable
        # header with a malformed body (unknown kind ...) is answered with STATUS
        # INVALID_ARGUMENT on that stream" (section 5). Either is accepted; we record which.
        fresh = self.connection.new_stream_id()
        self.connection.send(0x7E, fresh, [b"whatever"])
        event = self.connection.next_event(fresh, timeout=1.0)
        if event is None:
            self.observations["unknown_kind_on_unknown_stream"] = "no answer"
        elif event.kind == STATUS and event.code == INVALID_ARGUMENT:
            self.observations["unknown_kind_on_unknown_stream"] = "STATUS INVALID_ARGUMENT"
        else:
            raise CheckFailed(f"unknown kind on a fresh stream answered with {event!r}")
        self.ping_works(b"after unknown kind")
        return f"STATUS INVALID_ARGUMENT {call.status.status_message!r}, order {call.order}"

    # Other malformed bodies under a readable header (WIRE.md section 5 lists them too).
    def check_malformed_bodies(self) -> str:
        details = []
        # OPEN without a method path ("missing frames").
        stream = self.connection.new_stream_id()
        self.connection.send(OPEN, stream)
        details.append(self.expect_invalid(stream, "OPEN without a method path"))
        # OPEN with a method path that is not UTF-8.
        stream = self.connection.new_stream_id()
        self.connection.send(OPEN, stream, [b"/ndrc.hitech.v1.Diagnostics/\xff\xfe"])
        details.append(self.expect_invalid(stream, "OPEN with a non-UTF-8 path"))
        # OPEN with an odd number of metadata frames.
        stream = self.connection.new_stream_id()
        self.connection.send(OPEN, stream, [(SERVICE + "Ping").encode(), b"lonely-key"])
        details.append(self.expect_invalid(stream, "OPEN with a key and no value"))
        # MESSAGE with two body frames on an open stream.
        call = Call(self.connection, SERVICE + "Ping")
        self.connection.send(MESSAGE, call.stream_id, [b"", b""])
        details.append(self.expect_invalid(call.stream_id, "MESSAGE with two frames"))
        self.ping_works(b"after malformed bodies")
        return "; ".join(details)

    def expect_invalid(self, stream_id: int, what: str) -> str:
        events = []
        while True:
            event = self.connection.next_event(stream_id)
            if event is None:
                raise CheckFailed(f"{what}: no answer within {RECEIVE_TIMEOUT} s (got {events})")
            events.append(event)
            if event.kind == STATUS:
                break
        if events[-1].code != INVALID_ARGUMENT:
            raise CheckFailed(f"{what}: {events}, expected STATUS INVALID_ARGUMENT")
        if len(events) != 1:
            raise CheckFailed(f"{what}: {events}, expected STATUS alone")
        return f"{what}: INVALID_ARGUMENT"

    # Headers that cannot be read are dropped without an answer; the socket keeps working.
    def check_short_header(self) -> str:
        victims = [
            [b"\x01\x01\x00\x00\x00"],                                    # 5 bytes
            [b"\x01\x01\x00\x00\x00", (SERVICE + "Ping").encode()],       # 5 bytes and a path
            [b"\x01\x01" + b"\x00" * 9, (SERVICE + "Ping").encode()],     # 11 bytes
            [header(OPEN, 0xFFFF_FFFF_0000_0001, version=2), (SERVICE + "Ping").encode()],  # version 2
            [b""],                                                        # empty frame
        ]
        for frames in victims:
            self.connection.send_raw(frames)
        answers = self.connection.drain(1.0)
        if answers:
            raise CheckFailed(f"unreadable headers were answered: {answers}")
        self.ping_works(b"after short header")
        return f"{len(victims)} unreadable messages, no answer in 1 s, Ping still works"

    # A deadline in metadata on a call that makes it in time.
    def check_timeout_metadata(self) -> str:
        payload = b"with a deadline"
        call = unary(
            self.connection, "Ping", self.pb.PingRequest(payload=payload).SerializeToString(),
            metadata=[("grpc-timeout", "5S"), ("x-interop-client", "python"), ("x-trace-bin", b"\x00\xff\x01")],
        )
        expect_ok(call)
        if self.pb.PingResponse.FromString(call.messages[0]).payload != payload:
            raise CheckFailed("Ping with grpc-timeout: payload not echoed")
        return "Ping with grpc-timeout 5S (and custom text and -bin metadata) OK"

    # A deadline that passes: the client stops waiting, reports DEADLINE_EXCEEDED and sends
    # CANCEL; the server's own status (the handler chooses it) is only recorded.
    def check_deadline_passes(self) -> str:
        call = Call(self.connection, SERVICE + "Count", metadata=[("grpc-timeout", "300m")], credit_batch=0)
        started = time.monotonic()
        call.send_message(self.pb.CountRequest(count=1_000_000).SerializeToString())
        call.half_close()
        deadline = started + 0.3
        while not call.done and time.monotonic() < deadline:
            event = self.connection.next_event(call.stream_id, timeout=max(0.0, deadline - time.monotonic()))
            if event is not None:
                self.connection.queues[call.stream_id].appendleft(event)
                call.step()
        client_status = "DEADLINE_EXCEEDED" if not call.done else status_name(call.code)
        if not call.done:
            call.cancel()
        if len(call.messages) > WINDOW:
            raise CheckFailed(f"{len(call.messages)} messages without credit")
        # After CANCEL the server "sends nothing more on it" — but a STATUS it sent at its own
        # deadline may already be under way, so at most one STATUS may still arrive.
        late = self.connection.drain(1.0)
        late_on_stream = [e for e in late if e.stream_id == call.stream_id]
        others = [e for e in late if e.stream_id != call.stream_id]
        if others:
            raise CheckFailed(f"frames on other streams: {others}")
        statuses = [e for e in late_on_stream if e.kind == STATUS]
        unexpected = [e for e in late_on_stream if e.kind not in (MESSAGE, STATUS)]
        if unexpected or len(statuses) > (0 if call.done else 1):
            raise CheckFailed(f"after CANCEL: {late_on_stream}")
        if len(call.messages) + len(late_on_stream) - len(statuses) > WINDOW:
            raise CheckFailed(f"more than {WINDOW} messages without credit")
        server_status = status_name(call.code) if call.done else (
            status_name(statuses[0].code) if statuses else "none")
        self.observations["deadline_passed"] = {
            "client_reports": client_status,
            "server_status": server_status,
            "messages_before_deadline": len(call.messages),
            "frames_after_cancel": [repr(e) for e in late_on_stream],
        }
        self.ping_works(b"after deadline")
        return f"client reported {client_status} after 300 ms, server status {server_status}"

    # What the server does at a deadline when the client does not cancel: WIRE.md leaves the
    # status to the handler, so this is only recorded. The client cancels after 2 s.
    def check_server_deadline(self) -> str:
        call = Call(self.connection, SERVICE + "Count", metadata=[("grpc-timeout", "200m")], credit_batch=0)
        call.send_message(self.pb.CountRequest(count=1_000_000).SerializeToString())
        call.half_close()
        started = time.monotonic()
        while not call.done and time.monotonic() - started < 2.0:
            event = self.connection.next_event(call.stream_id, timeout=max(0.0, 2.0 - (time.monotonic() - started)))
            if event is not None:
                self.connection.queues[call.stream_id].appendleft(event)
                call.step()
        if len(call.messages) > WINDOW:
            raise CheckFailed(f"{len(call.messages)} messages without credit")
        elapsed = time.monotonic() - started
        if call.done:
            outcome = f"STATUS {status_name(call.code)} {call.status.status_message!r} after {elapsed:.2f} s"
        else:
            outcome = "no STATUS within 2 s"
            # Is a STATUS waiting behind messages that wait for credit? Give credit and see.
            before = len(call.messages)
            self.connection.send(CREDIT, call.stream_id, [struct.pack(">I", 10_000)])
            more_until = time.monotonic() + 2.0
            while not call.done and time.monotonic() < more_until:
                event = self.connection.next_event(call.stream_id, timeout=max(0.0, more_until - time.monotonic()))
                if event is not None:
                    self.connection.queues[call.stream_id].appendleft(event)
                    call.step()
            outcome += f"; after CREDIT 10000: {len(call.messages) - before} more messages, " + (
                f"then STATUS {status_name(call.code)} {call.status.status_message!r}" if call.done else "no STATUS")
            if not call.done:
                call.cancel()
                self.connection.drain(0.3)
        self.observations["server_at_deadline_without_cancel"] = outcome
        self.ping_works(b"after server deadline")
        return outcome

    # CANCEL ends a stream: nothing more arrives on it, the socket keeps working.
    def check_cancel(self) -> str:
        call = Call(self.connection, SERVICE + "Count", credit_batch=0)
        call.send_message(self.pb.CountRequest(count=1_000).SerializeToString())
        call.half_close()
        while len(call.messages) < 10:
            call.step()
        call.cancel()
        # Whatever the server sent before it saw CANCEL may still be in flight; after that
        # nothing, and no STATUS ("the server stops the handler and sends nothing more on it").
        late = [e for e in self.connection.drain(1.0) if e.stream_id == call.stream_id]
        if any(e.kind != MESSAGE for e in late) or len(call.messages) + len(late) > WINDOW:
            raise CheckFailed(f"after CANCEL: {late}")
        self.ping_works(b"after cancel")
        return f"cancelled after {len(call.messages)} messages; {len(late)} in flight, no STATUS"

    def run(self) -> None:
        self.check("ping", self.check_ping)
        self.check("whoami", self.check_whoami)
        self.check("count_300_with_credit", self.check_count)
        self.check("window_64_without_credit", self.check_window)
        self.check("concurrent_streams", self.check_concurrent)
        self.check("unknown_method_unimplemented", self.check_unimplemented)
        self.check("oversized_request_resource_exhausted", self.check_oversized_request)
        self.check("unknown_kind_invalid_argument", self.check_unknown_kind)
        self.check("malformed_bodies_invalid_argument", self.check_malformed_bodies)
        self.check("short_header_ignored", self.check_short_header)
        self.check("grpc_timeout_metadata", self.check_timeout_metadata)
        self.check("deadline_passes", self.check_deadline_passes)
        self.check("server_deadline", self.check_server_deadline)
        self.check("cancel", self.check_cancel)


# --- set-up ----------------------------------------------------------------------------------


def generate_classes(repo_root: str, out_dir: str):
    schemas = os.path.join(repo_root, "proto-schemas")
    proto = os.path.join(schemas, "ndrc", "hitech", "v1", "diagnostics_service.proto")
    command = ["protoc", f"--python_out={out_dir}", "-I", schemas, "-I", "/usr/include", proto]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit("protoc not found (Debian: apt-get install protobuf-compiler)")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"{' '.join(command)} failed: {error.stderr}")
    sys.path.insert(0, out_dir)
    try:
        from ndrc.hitech.v1 import diagnostics_service_pb2
    except ImportError as error:
        sys.stderr.write(
            f"cannot import the generated classes ({error}); run "
            "`pip install -r Tests/InteropTests/python/requirements.txt`\n"
        )
        sys.exit(2)
    return diagnostics_service_pb2


def read_key(path: str) -> bytes:
    with open(path, "r", encoding="ascii") as file:
        key = file.read().strip()
    if len(key) != 40:
        raise SystemExit(f"{path}: a Z85 CURVE key has 40 characters, not {len(key)}")
    return key.encode("ascii")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="e.g. tcp://127.0.0.1:5555")
    parser.add_argument("--server-key", required=True, help="file with the server's Z85 public key")
    parser.add_argument("--secret-key", required=True, help="file with our Z85 secret key")
    parser.add_argument("--public-key", required=True, help="file with our Z85 public key")
    parser.add_argument("--repo-root", required=True, help="the repository, for proto-schemas/")
    args = parser.parse_args()

    if not zmq.has("curve"):
        sys.stderr.write("this libzmq/pyzmq has no CURVE support\n")
        return 2

    with tempfile.TemporaryDirectory(prefix="interop-pb-") as out_dir:
        pb = generate_classes(args.repo_root, out_dir)

        context = zmq.Context()
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        # A DEALER with no completed connection blocks on send; never hang.
        socket.setsockopt(zmq.SNDTIMEO, int(RECEIVE_TIMEOUT * 1000))
        socket.curve_secretkey = read_key(args.secret_key)
        socket.curve_publickey = read_key(args.public_key)
        socket.curve_serverkey = read_key(args.server_key)
        # Optional per WIRE.md section 1, but it keeps messages from queueing before the
        # CURVE handshake has completed.
        socket.setsockopt(zmq.IMMEDIATE, 1)
        socket.connect(args.endpoint)
        try:
            client = Client(Connection(socket), pb)
            client.run()
        finally:
            socket.close(0)
            context.term()

    failed = {name: check["detail"] for name, check in client.checks.items() if not check["ok"]}
    output = {
        "identity": client.results.get("identity"),
        "peer_address": client.results.get("peer_address"),
        "server_role": client.results.get("server_role"),
        "count": client.results.get("count"),
        "ok": not failed,
        "checks": client.checks,
        "observations": client.observations,
    }
    print(json.dumps(output, indent=2, default=repr))
    for name, detail in failed.items():
        sys.stderr.write(f"check {name} failed: {detail}\n")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
