#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (corpus/<target>/) from the format vectors
(proto-types/tests/data/format-vectors.json, rfc6962.json). Deterministic: run it again after
a format change and commit the result. Files are named by the SHA-1 of their content, as
libFuzzer names what it adds."""

import base64
import hashlib
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent / "proto-types" / "tests" / "data"
V = json.loads((DATA / "format-vectors.json").read_text())
RFC = json.loads((DATA / "rfc6962.json").read_text())

# The selector byte of each type in caseledger_fuzz::DECODED_TYPES.
SUBMISSION, PAYLOAD, ENTRY, ENTRY_BODY, PROPOSAL, CHAIN_HEAD = 0, 1, 2, 3, 4, 5
HASH_LEN = 34  # an encoded EntryHash at the end of an entry


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def write(target, blobs):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    for blob in blobs:
        (d / hashlib.sha1(blob).hexdigest()).write_bytes(blob)
    print(f"{target}: {len(blobs)} seeds")


entries = [bytes.fromhex(e["entry_hex"]) for e in V["entries"]]
submissions = [bytes.fromhex(V["submission_hex"])] + [
    bytes.fromhex(a["submission_hex"]) for a in V["actions"]
]

# decode: one selector byte, then canonical bytes.
decode = [bytes([SUBMISSION]) + s for s in submissions]
decode.append(bytes([PAYLOAD]) + bytes.fromhex(V["payload_hex"]))
decode += [bytes([ENTRY]) + e for e in entries]
decode += [bytes([ENTRY_BODY]) + e[:-HASH_LEN] for e in entries]
# A proposal is a submission's postcard bytes followed by the stamp (a varint).
decode += [
    bytes([PROPOSAL]) + s + varint(1_780_000_000_000 + i) for i, s in enumerate(submissions[:4])
]
last = V["entries"][-1]
head = b"\x01" + varint(len(entries)) + b"\x00\x20" + bytes.fromhex(last["hash_hex"])
decode.append(bytes([CHAIN_HEAD]) + head + varint(last["accepted_at_ms"]))
decode += [bytes([SUBMISSION]) + bytes.fromhex(r["hex"]) for r in V["rejects"]]
write("decode", decode)


def frame(items):
    return b"".join(struct.pack(">I", len(i)) + i for i in items)


write("chain", [frame(entries), frame(entries[:1]), frame(entries[:3]), frame([])])

# merkle_proofs: mode 0 inclusion, 1 consistency, 2 honest tree.
roots = [bytes.fromhex(h) for h in RFC["roots_hex"]] if "roots_hex" in RFC else []
leaves = [bytes.fromhex(h) for h in V["merkle"]["leaf_hashes_hex"]]
vroots = [bytes.fromhex(h) for h in V["merkle"]["roots_hex"]]
merkle = []
for p in V["merkle"]["inclusion"]:
    proof = b"".join(bytes.fromhex(h) for h in p["proof_hex"])
    merkle.append(
        b"\x00" + leaves[p["index"]] + struct.pack(">QQ", p["index"], p["tree_size"])
        + vroots[p["tree_size"]] + proof
    )
for p in V["merkle"]["consistency"]:
    proof = b"".join(bytes.fromhex(h) for h in p["proof_hex"])
    merkle.append(
        b"\x01" + struct.pack(">QQ", p["first"], p["second"]) + vroots[p["first"]]
        + vroots[p["second"]] + proof
    )
merkle += [b"\x02" + bytes([n, n // 2, n // 3, 0, n]) for n in (0, 1, 6, 7, 8, 100, 255)]
write("merkle_proofs", merkle)

note = V["checkpoint"]["note"]
body = note.split("\n\n")[0] + "\n"
one_sig = note.rsplit("\n", 2)[0] + "\n"
write("checkpoint", [note.encode(), body.encode(), one_sig.encode()])


def receipt(index):
    p = next(
        p for p in V["merkle"]["inclusion"] if p["index"] == index and p["tree_size"] == len(entries)
    )
    lines = ["c2sp.org/tlog-proof@v1", "extra " + base64.b64encode(entries[index]).decode(), f"index {index}"]
    lines += [base64.b64encode(bytes.fromhex(h)).decode() for h in p["proof_hex"]]
    return ("\n".join(lines) + "\n\n" + note).encode()


write("receipt", [receipt(i) for i in range(len(entries))])

# submission_json: the JSON bodies a client posts are written by
# `cargo run --example json_seeds` (serde's JSON of the action samples).
