"""The wire format of schemas/PROTOCOL.md: frames, command codes, bounded
msgpack decoding.

Every body is a msgpack map; decoding is bounded like the broker's
(§2.1: at most 2^22 values, a message at most 64 MiB)."""

import msgpack

PROTOCOL = b"SLUICE1"

READY, HEARTBEAT, RESULT, BYE, JOB, CANCEL, ACK, RECALL = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
SUBMIT, RUN, STATUS, LIST, RETRY, CANCEL_JOB, WORKERS, STATS = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17
EXTRACTIONS, RUNS, SCHEDULES, PAUSE, RESUME, RELOAD = 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D
REPLY, ERROR, DONE = 0x20, 0x21, 0x22

NAMES = {
    READY: "READY", HEARTBEAT: "HEARTBEAT", RESULT: "RESULT", BYE: "BYE", JOB: "JOB", CANCEL: "CANCEL",
    ACK: "ACK", RECALL: "RECALL", SUBMIT: "SUBMIT", RUN: "RUN", STATUS: "STATUS", LIST: "LIST",
    RETRY: "RETRY", CANCEL_JOB: "CANCEL_JOB", WORKERS: "WORKERS", STATS: "STATS",
    EXTRACTIONS: "EXTRACTIONS", RUNS: "RUNS", SCHEDULES: "SCHEDULES", PAUSE: "PAUSE", RESUME: "RESUME",
    RELOAD: "RELOAD", REPLY: "REPLY", ERROR: "ERROR", DONE: "DONE",
}

MAX_MESSAGE_BYTES = 64 << 20  # §1: ZMQ_MAXMSGSIZE
MAX_ELEMENTS = 1 << 22        # §2.1
MAX_OUTPUTS_BYTES = 1 << 20   # §5.3: outputs <= 1 MiB encoded
MAX_ERROR_BYTES = 2000
MAX_TAIL_BYTES = 4096
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"


class ProtocolError(Exception):
    """A message that is not sluice framing, or a body we will not decode."""


def pack(body):
    return msgpack.packb(body, use_bin_type=True)


def frames(command, body=None):
    out = [PROTOCOL, bytes([command])]
    if body is not None:
        out.append(body if isinstance(body, bytes) else pack(body))
    return out


def unpack(data):
    """One msgpack value from `data`, within the limits of §2.1."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"a body of {len(data)} bytes, over {MAX_MESSAGE_BYTES}")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False,
                               max_str_len=len(data), max_bin_len=len(data), max_ext_len=len(data),
                               max_array_len=min(len(data), MAX_ELEMENTS),
                               max_map_len=min(len(data), MAX_ELEMENTS // 2))
    except Exception as e:  # msgpack raises several types; all mean "not decodable"
        raise ProtocolError(f"undecodable body: {e}") from None


def parse(msg):
    """(command, body map) of a received multipart message."""
    if len(msg) not in (2, 3) or msg[0] != PROTOCOL or len(msg[1]) != 1:
        raise ProtocolError(f"not SLUICE1 framing ({len(msg)} frames)")
    body = unpack(msg[2]) if len(msg) == 3 and msg[2] else {}
    if not isinstance(body, dict):
        raise ProtocolError(f"the body of {NAMES.get(msg[1][0], hex(msg[1][0]))} is not a map")
    return msg[1][0], body


def clamp_text(text, limit, keep="head"):
    """`text` (str or bytes) as UTF-8 of at most `limit` bytes, cut between
    characters: the head, or the tail (output tails)."""
    if isinstance(text, str):
        b = text.encode("utf-8", "surrogateescape")
    else:
        b = bytes(text)
    if len(b) <= limit:
        return b.decode("utf-8", "replace")
    # Valid UTF-8 cut anywhere loses at most one character at the cut, which
    # "ignore" drops; other ill-formed bytes were repaired before the cut.
    b = b.decode("utf-8", "replace").encode("utf-8")
    return (b[-limit:] if keep == "tail" else b[:limit]).decode("utf-8", "ignore")
