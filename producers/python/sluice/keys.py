"""CURVE keys (PROTOCOL.md §1.1), read as the C++ tools read them.

Key files are CZMQ certificates (what `sluice keygen NAME` writes: NAME.key,
mode 0600, with the secret key; NAME.pub, the public one). A peer gives its
own `.key` (`SLUICE_CURVE_KEY`) and the broker's `.pub`
(`SLUICE_BROKER_KEY`): both or neither."""

import os
import re
import stat

_FIELD = re.compile(r'^\s*(public-key|secret-key)\s*=\s*"([^"]*)"\s*$')



def read_certificate(path):
    """(public, secret or None) of a CZMQ certificate, as Z85 bytes."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read(65536)
    except OSError as e:
        raise ValueError(f"{path}: cannot read the key file: {e.strerror}") from None
    found = {}
    section = None
    for line in text.splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        if not line[0].isspace():
            section = line.strip()
            continue
        m = _FIELD.match(line)
        if m and section == "curve":
            found[m.group(1)] = m.group(2)
    public = found.get("public-key")
    if public is None or len(public) != 40:
        raise ValueError(f"{path}: not a CURVE certificate (no 40-character public-key in a curve section)")
    secret = found.get("secret-key")
    if secret is not None and len(secret) != 40:
        raise ValueError(f"{path}: its secret-key is not 40 characters of Z85")
    return public.encode("ascii"), secret.encode("ascii") if secret else None


def load_pair(curve_key, broker_key):
    """The keys a DEALER needs, or None without CURVE.

    Refuses as the C++ tools do: one file without the other, a `.pub`
    given as the own key, a secret key readable by group or others."""
    if not curve_key and not broker_key:
        return None
    if not curve_key or not broker_key:
        given, missing = ("curve_key", "broker_key") if curve_key else ("broker_key", "curve_key")
        raise ValueError(f"{given} needs {missing} too (SLUICE_CURVE_KEY and SLUICE_BROKER_KEY: both or neither)")
    public, secret = read_certificate(curve_key)
    if secret is None:
        raise ValueError(f"{curve_key}: has no secret-key (a .pub given as the own key? give NAME.key)")
    mode = os.stat(curve_key).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{curve_key}: readable by group or others (mode {stat.S_IMODE(mode):04o}); chmod 600 it")
    server, _ = read_certificate(broker_key)
    return {"public": public, "secret": secret, "server": server}


def apply(sock, pair):
    if pair:
        sock.curve_serverkey = pair["server"]
        sock.curve_publickey = pair["public"]
        sock.curve_secretkey = pair["secret"]
