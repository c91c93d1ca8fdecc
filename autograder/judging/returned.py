"""Validating structures the sandbox returned before the trusted side uses them.

The untrusted reader (``running/untrusted.py``) guarantees float64 arrays of bounded total size;
what they mean (node numbers, a program table, counts) is checked here, against limits this side
holds itself: a limit kept in the sandbox is a variable student code can raise. A custom
comparison raises ``InvalidReturn`` with words for the student; the judge turns it into a failed
check (the student's error), never a grader failure.
"""
import numpy as np


class InvalidReturn(Exception):
    """What came back cannot be what the task asks for: the message says why, for the student."""


def finite(array, what, max_size):
    """array as float64, after checking it is finite and has at most max_size entries."""
    array = np.asarray(array, dtype=np.float64)
    if array.size > max_size:
        raise InvalidReturn(f"{what} has {array.size} entries; at most {max_size} are accepted")
    if not np.all(np.isfinite(array)):
        raise InvalidReturn(f"{what} holds NaN or infinity")
    return array


def integers(array, what, max_size, low, high):
    """array as int64 after checking every entry is a whole number in [low, high]."""
    array = finite(array, what, max_size)
    if np.any(array != np.round(array)) or np.any(array < low) or np.any(array > high):
        raise InvalidReturn(f"{what} holds entries that are not whole numbers from {low} to {high}")
    return array.astype(np.int64)


def program_table(codes, args, leaf_values, leaf_index, *, n_codes, arity, max_nodes):
    """(codes, args, leaf_values, leaf_index) of a program returned by the sandbox, checked:
    at most max_nodes nodes, known op codes, each op's inputs numbered before it (so the graph is
    acyclic and its last node is the root), finite scalar leaves, leaf_index a leaf.

    codes: (n,) op codes, 0 = leaf; args: (n, 2) input numbers, -1 where unused; arity: {code:
    number of inputs}. -> the same four, as int64 / float64 arrays and an int."""
    codes = integers(codes, "the graph's op codes", max_nodes, 0, n_codes - 1)
    n = codes.size
    if codes.ndim != 1 or n == 0:
        raise InvalidReturn("the graph came back empty")
    args = integers(args, "the graph's edges", 2 * max_nodes, -1, max_nodes)
    if args.shape != (n, 2):
        raise InvalidReturn("the graph's edges do not match its nodes")
    leaf_values = finite(leaf_values, "the leaves' values", max_nodes)
    if leaf_values.shape != (n,):
        raise InvalidReturn("the leaves' values do not match the graph's nodes")
    for i, code in enumerate(codes.tolist()):
        used = args[i, :arity.get(code, 0)]
        if np.any(used < 0) or np.any(used >= i):
            raise InvalidReturn("the graph has a cycle (a node is among its own inputs, directly or "
                                "through others): set each Tensor's parents when you create it and "
                                "never change them afterwards")
    index = integers(leaf_index, "the leaf's number", 1, 0, n - 1)
    if index.size != 1 or codes[int(index.ravel()[0])] != 0:
        raise InvalidReturn("the second thing returned must be a leaf of the graph")
    return codes, args, leaf_values, int(index.ravel()[0])
