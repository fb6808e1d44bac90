#!/usr/bin/env python3
"""Verifies a signed receipt and its inclusion proof, written from proto-schemas/RECEIPTS.md alone.

    verify_receipt.py --receipt sent/NAME.receipt.json --key centre.pub --proof sent/NAME.receipt.json.proof.json

The receipt is the proto3 JSON the province node keeps; the proof bundle is what
`hitech receipt prove` writes (a SignedTreeHead and an InclusionProof in proto3 JSON). Prints a
JSON summary; exit 0 when everything verifies, 1 when anything does not (each problem listed),
2 when the inputs cannot be read.
"""
import argparse
import base64
import hashlib
import json
import struct
import sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as error:  # pragma: no cover
    print(f"verify_receipt.py: {error}: pip install -r Tests/InteropTests/python/requirements.txt", file=sys.stderr)
    sys.exit(2)


class Reader:
    """RECEIPTS.md §2: str = u32 length + UTF-8; integers fixed-width big-endian; h = 32 bytes."""

    def __init__(self, data):
        self.data, self.offset = data, 0

    def take(self, n):
        if n > len(self.data) - self.offset:
            raise ValueError("truncated")
        chunk = self.data[self.offset:self.offset + n]
        self.offset += n
        return chunk

    def str(self):
        (n,) = struct.unpack(">I", self.take(4))
        return self.take(n).decode("utf-8")

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def i64(self):
        return struct.unpack(">q", self.take(8))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def h(self):
        return self.take(32)

    def end(self):
        if self.offset != len(self.data):
            raise ValueError("bytes after the end")


def decode_attestation(data):
    r = Reader(data)
    if r.str() != "hitech-receipt-v1":
        raise ValueError("not a hitech-receipt-v1 attestation")
    a = dict(reporter_code=r.str(), base_id=r.str(), report_year=r.i32(), revision=r.i32(),
             submission_id=r.str(), content_sha256=r.h(), status=r.str(), accession_number=r.str(),
             received_at=(r.i64(), r.i32()), round_clock_at=(r.i64(), r.i32()), log_index=r.i64())
    r.end()
    return a


def decode_tree_head(data):
    r = Reader(data)
    if r.str() != "hitech-tree-head-v1":
        raise ValueError("not a hitech-tree-head-v1 tree head")
    head = dict(tree_size=r.u64(), root_hash=r.h(), timestamp=(r.i64(), r.i32()))
    r.end()
    return head


def sha256(data):
    return hashlib.sha256(data).digest()


def verify_inclusion(leaf_hash, index, size, path, root):
    """RFC 9162 §2.1.3.2, as RECEIPTS.md §5 writes it."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def b64(value):
    return base64.b64decode(value or "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipt", required=True)
    parser.add_argument("--key", required=True, help="the centre's public key file: 64 hex digits")
    parser.add_argument("--proof", required=True)
    args = parser.parse_args()
    try:
        receipt = json.load(open(args.receipt))
        bundle = json.load(open(args.proof))
        public = bytes.fromhex(open(args.key).read().strip())
    except (OSError, ValueError) as error:
        print(f"verify_receipt.py: {error}", file=sys.stderr)
        return 2
    problems = []
    key = Ed25519PublicKey.from_public_bytes(public)
    key_id = sha256(public)[:8].hex()

    def signed(data, signature, named):
        if named != key_id:
            problems.append(f"signed by key {named}, not {key_id}")
            return
        try:
            key.verify(signature, data)
        except InvalidSignature:
            problems.append(f"a signature by {named} does not verify")

    # 1. The receipt: its attestation, signed; its fields are what was signed.
    attestation_bytes = b64(receipt.get("attestation"))
    attestation = decode_attestation(attestation_bytes)
    signed(attestation_bytes, b64(receipt.get("signature")), receipt.get("signingKeyId", ""))
    expected = dict(reporter_code=receipt.get("reporterCode", ""), base_id=receipt.get("baseId", ""),
                    report_year=receipt.get("reportYear", 0), revision=receipt.get("revision", 0),
                    accession_number=receipt.get("accessionNumber", ""),
                    content_sha256=b64(receipt.get("contentSha256")),
                    log_index=int(receipt.get("logIndex", 0)))
    if receipt.get("status") != "RECEIPT_STATUS_DUPLICATE":
        expected["submission_id"] = receipt.get("submissionId", "")
    for field, value in expected.items():
        if attestation[field] != value:
            problems.append(f"{field}: the receipt says {value!r}, the attestation {attestation[field]!r}")

    # 2. The tree head: signed; its fields are what was signed.
    head_json = bundle["treeHead"]
    head_bytes = b64(head_json.get("encoded"))
    head = decode_tree_head(head_bytes)
    signed(head_bytes, b64(head_json.get("signature")), head_json.get("signingKeyId", ""))
    if head["tree_size"] != int(head_json.get("treeSize", 0)) or head["root_hash"] != b64(head_json.get("rootHash")):
        problems.append("treeHead: its fields are not what was signed")

    # 3. The leaf is this attestation, at its index, in that tree.
    proof = bundle["inclusionProof"]
    if b64(proof.get("attestation")) != attestation_bytes:
        problems.append("inclusionProof: its leaf is not this receipt's attestation")
    path = [b64(p) for p in proof.get("path", [])]
    leaf_hash = sha256(b"\x00" + attestation_bytes)
    included = all(len(p) == 32 for p in path) and verify_inclusion(
        leaf_hash, attestation["log_index"], head["tree_size"], path, head["root_hash"])
    if not included:
        problems.append(f"inclusionProof: leaf {attestation['log_index']} is not in the tree of {head['tree_size']} leaves")

    print(json.dumps({
        "accession_number": attestation["accession_number"], "log_index": attestation["log_index"],
        "tree_size": head["tree_size"], "key_id": key_id, "problems": problems,
    }))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
