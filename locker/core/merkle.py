"""Merkle trees as RFC 6962 (Certificate Transparency) defines them, section 2.1: one tree
per anchoring round, over the canonical bytes of the checkpoints the round covers, so that a
single third-party time-stamp over the root vouches for every checkpoint in it, and each
checkpoint carries a short proof (log2 of the round's size hashes) that it is in the tree.

Leaf hash: SHA-256(0x00 || leaf bytes). Node hash: SHA-256(0x01 || left || right). A tree of
n > 1 leaves splits at k, the largest power of two below n: left subtree leaves [0, k), right
[k, n). The inclusion proof (RFC 6962 "audit path") lists the sibling hashes from the leaf
upwards; verification is RFC 9162 section 2.1.3.2.

Pure: no database, no settings."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """An inclusion proof that does not lead to the root; the message says where it failed."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def tree(leaf_hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root and every leaf's inclusion proof, in one pass (n log n hashes at most,
    instead of a walk of the whole tree per proof)."""
    if not leaf_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    proofs: list[list[bytes]] = [[] for _ in leaf_hashes]

    def subtree(low: int, high: int) -> bytes:
        if high - low == 1:
            return leaf_hashes[low]
        middle = low + _split(high - low)
        left = subtree(low, middle)
        right = subtree(middle, high)
        # Deeper levels appended their siblings first: each proof runs leaf to root.
        for index in range(low, middle):
            proofs[index].append(right)
        for index in range(middle, high):
            proofs[index].append(left)
        return node_hash(left, right)

    return subtree(0, len(leaf_hashes)), proofs


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    return tree(leaf_hashes)[0]


def root_from_proof(
    leaf: bytes, *, leaf_index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that `proof` leads to from `leaf` (a leaf hash) at `leaf_index` in a tree of
    `tree_size` leaves. RFC 9162 section 2.1.3.2; raises ProofError if the proof has the
    wrong length for that position."""
    if not 0 <= leaf_index < tree_size:
        raise ProofError(f"leaf index {leaf_index} is outside a tree of {tree_size}")
    index, last, result = leaf_index, tree_size - 1, leaf
    for sibling in proof:
        if last == 0:
            raise ProofError("the proof is longer than the path to the root")
        if index & 1 or index == last:
            result = node_hash(sibling, result)
            if not index & 1:
                while index and not index & 1:
                    index >>= 1
                    last >>= 1
        else:
            result = node_hash(result, sibling)
        index >>= 1
        last >>= 1
    if last != 0:
        raise ProofError("the proof is shorter than the path to the root")
    return result


def verify_inclusion(
    leaf: bytes, *, leaf_index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows `leaf` at `leaf_index` in the tree with `root`."""
    if root_from_proof(leaf, leaf_index=leaf_index, tree_size=tree_size, proof=proof) != root:
        raise ProofError("the proof leads to another root")
