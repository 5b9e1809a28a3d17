#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fuzz/io/make_seeds.py: writes the hand-made seed inputs of hvabs_fuzz_io to fuzz/corpus/io/.
"""Each seed is a list of operations encoded exactly as fuzz_io.c decodes
them (see its OP_* enum, pick_add(), op_lookup(), op_bulk_add() ...).
Run: fuzz/io/make_seeds.py [OUTDIR]   (default: fuzz/corpus/io)
Check what a seed does: FZ_TRACE=1 build-fz-*/fuzz/io/hvabs_fuzz_io SEED
"""
import os
import struct
import sys

OP_ADD, OP_ADD2, OP_REMOVE, OP_LOOKUP, OP_LOOKUP2, OP_LOOKUP_EXIT, OP_SWEEP, OP_BULK_ADD, \
    OP_BULK_REMOVE, OP_DESTROY = range(10)
MMIO, PIO = 0, 1
LENS = {0: 0, 1: 1, 2: 2, 4: 3, 8: 4}
ACC = {1: 0, 2: 1, 4: 2, 8: 3}
U64 = (1 << 64) - 1


def addr_code(kind, k=0):
    """pick_addr: 'win' 0x1000+k, 'pio' 0xffe0+k, 'top' UINT64_MAX-k, 'low' k (k < 32), or an int."""
    if isinstance(kind, int):
        return bytes([7]) + struct.pack("<Q", kind)
    return bytes([{"win": 0, "pio": 3, "top": 4, "low": 6}[kind] | (k << 3)])


def size_code(size):
    """pick_size: 0, 1, 2, 4, 8, 16, 'end' (to the top), 'over' (one past), 'port' (to 0xffff),
    'max' (UINT64_MAX), or any int (encoded in full)."""
    simple = {0: 0, 1: 1, 2: 3, 4: 4, 8: 5, 16: 6, "end": 9, "over": 10, "port": 11, "max": 12}
    if size in simple:
        return bytes([simple[size]])
    return bytes([13]) + struct.pack("<Q", size)


def add(kind, k=0, size=1, length=0, space=MMIO, rd=True, wr=True, dm=None, decline=False,
        self_remove=False, version=1, bad_len=None, bad_flags=False):
    """One IO handler add. dm: datamatch data (write-only handler, unless rd is forced)."""
    a = 0
    if version != 1:
        a |= 0xc0 | (1 if version == 2 else 0)
    a |= 0x20 | space if space > 1 else space
    if rd:
        a |= 0x10
    if wr:
        a |= 0x08
    b = 0x40  # 64-bit data follows
    if dm is not None:
        b |= 1
    if bad_flags:
        b |= 0x80 | 2
    if decline:
        b |= 0x10
    if self_remove:
        b |= 0x20
    else:
        b |= 0x02
    if not rd and not wr:
        a |= 0x1c
        b |= 0x20
    lb = (0x80 | bad_len) if bad_len is not None else LENS[length]
    return (bytes([OP_ADD, a, b]) + addr_code(kind, k) + size_code(size) + bytes([lb])
            + struct.pack("<Q", dm or 0))


def lookup_entry(idx, where="first", length=None, write=False, data=None, other_space=False):
    """An access aimed at live entry idx: where in first/last/before/after; data None: the entry's."""
    a = ACC[length or 1] << 1 | (0x10 if length else 0) | (0x08 if write else 0)
    if other_space:
        a |= 0x40 | 1
    b = {"first": 0, "last": 1, "before": 2, "after": 3}[where]
    if data is None:
        b |= 4
        tail = b""
    else:
        tail = struct.pack("<Q", data)
    return bytes([OP_LOOKUP, a, b, idx]) + tail


def lookup_any(kind, k=0, length=1, write=False, data=0, space=MMIO):
    a = 0x80 | space | ACC[length] << 1 | (0x08 if write else 0)
    return bytes([OP_LOOKUP, a, 4]) + addr_code(kind, k) + struct.pack("<Q", data)


def lookup_exit(idx=None, length=1, write=False, count=1, last=False, data=b"\x11" * 32):
    a = ACC[length] << 1 | (0x08 if write else 0) | (count & 3) << 4 | (0x40 if last else 0)
    if idx is None:
        return bytes([OP_LOOKUP_EXIT, a | 0x80]) + addr_code("win") + data[:32].ljust(32, b"\0")
    return bytes([OP_LOOKUP_EXIT, a, idx]) + data[:32].ljust(32, b"\0")


def sweep(write=False):
    return bytes([OP_SWEEP, int(write)])


def bulk(count, kind="win", k=0, space=MMIO, stride_idx=0, size_is_stride=True, widths="any",
         dm=False, rd=False, data_i=True, decline=False, from_top=False):
    """count 4..35, or 64..159 (hundreds: leaf splits; the first such op of an input only); stride_idx into {1, 2, 4, 8, 16, 0, 3, 0x1000};
    widths: 'any' (0), 'four' (4), 'cycle' (1, 2, 4, 8)."""
    a = space | (2 if from_top else 0)
    b = stride_idx | (0x08 if size_is_stride else 0)
    c = int(rd) | {"any": 0, "four": 4, "cycle": 2}[widths] | (8 if dm else 0) | (0x10 if data_i else 0)
    c |= 0x20 if decline else 0
    assert 4 <= count <= 35 or 64 <= count <= 159
    n16 = 0x8000 + (count - 64 - 0x8000) % 96 if count >= 64 else count - 4
    return bytes([OP_BULK_ADD, a, b, c]) + struct.pack("<H", n16) + addr_code(kind, k)


def bulk_remove(k, off=0):
    return bytes([OP_BULK_REMOVE, k - 1, off])


def remove(idx):
    return bytes([OP_REMOVE]) + struct.pack("<H", idx)


DESTROY = bytes([OP_DESTROY])

SEEDS = {
    "basic": add("win", 0, 8) + add("win", 4, 8) + add("win", 8, 8, rd=False) + lookup_entry(0)
    + lookup_entry(0, "last", 4, write=True, data=0x1234) + lookup_entry(0, "after") + lookup_entry(1, "before")
    + lookup_entry(1, "first", 2, write=True, data=5) + remove(0) + lookup_any("win", 0, 4) + sweep(),
    "widths": add("win", 4, 1, 1) + add("win", 4, 1, 2) + add("win", 4, 1, 4) + add("win", 4, 1, 8)
    + add("win", 4, 1, 0) + add("win", 4, 2, 4) + lookup_any("win", 4, 1) + lookup_any("win", 4, 2, True, 7)
    + lookup_any("win", 4, 4) + lookup_any("win", 4, 8, True, U64) + sweep(True),
    "datamatch": add("win", 2, 0, 4, rd=False, dm=1) + add("win", 2, 0, 4, rd=False, dm=2)
    + add("win", 2, 0, 4, rd=False, dm=1) + add("win", 2, 0, 4, dm=3) + add("win", 2, 0, 1, rd=False, dm=0x101)
    + add("win", 2, 0, 1, rd=False, dm=0x01) + lookup_any("win", 2, 4, True, 2)
    + lookup_any("win", 2, 4, True, 0x100000001) + lookup_any("win", 2, 1, True, 0x01)
    + lookup_any("win", 2, 4) + sweep(True),
    "pio": add("pio", 0, "port", space=PIO) + add("pio", 31, 2, space=PIO) + add("pio", 31, 1, space=PIO)
    + add("low", 8, 4, 1, space=PIO) + add("low", 8, 4, 1) + lookup_any("pio", 31, 1, space=PIO)
    + lookup_any("low", 9, 1, True, 0x99, space=PIO) + lookup_exit(3, 1, True, 3, data=bytes(range(32)))
    + lookup_exit(3, 1, False, 2) + lookup_exit(0, 2, False, 0, last=True) + sweep(),
    "top": add("top", 3, "end") + add("top", 7, 4) + add("top", 7, "over") + add("top", 0, 1, 8)
    + add("low", 1, "max") + add(1, 0, U64) + add("low", 0, "end") + lookup_any("top", 0, 8, True, 1)
    + lookup_any("top", 0, 8) + lookup_any("top", 4, 4) + lookup_entry(0, "after") + lookup_exit(0, 4, False)
    + sweep(),
    "bulk-hundreds": bulk(150, widths="cycle", stride_idx=0, size_is_stride=True, rd=True) + sweep()
    + bulk_remove(2) + sweep(True) + bulk(30, "low", 0, stride_idx=4, size_is_stride=False, widths="four")
    + sweep() + bulk_remove(1),
    "bulk-stack": bulk(150, "win", 1, stride_idx=5, size_is_stride=False, widths="four", dm=True)
    + lookup_any("win", 1, 4, True, 100) + lookup_any("win", 1, 4, True, 149) + lookup_any("win", 1, 4, True, 150)
    + sweep(True) + bulk_remove(3, 1) + sweep(True),
    "bulk-top": bulk(120, "top", 0, stride_idx=6, from_top=True) + bulk(35, "pio", 0, PIO, stride_idx=1,
                                                                          from_top=True) + sweep(True) + remove(5) + sweep(True),
    "callbacks": add("win", 0, 4, self_remove=True) + add("win", 8, 4, decline=True)
    + add("win", 16, 4, 4, rd=False, dm=9, self_remove=True) + lookup_entry(0) + lookup_entry(0, "first")
    + lookup_entry(0, "first", 4, True) + lookup_entry(1, "last", 4, True, 3)
    + lookup_exit(1, 4, True, data=b"\x09\0\0\0") + add("win", 0, 4, self_remove=True) + lookup_exit(1, 4),
    "invalid": add("win", 0, 4, version=0) + add("win", 0, 4, version=2) + add("win", 0, 4, space=3)
    + add("win", 0, 4, bad_len=3) + add("win", 0, 4, bad_flags=True) + add("win", 0, 4, 4, rd=True, dm=1)
    + add("win", 0, 4, 0, rd=False, dm=1) + add("win", 0, 4, rd=False, wr=False) + add("pio", 0, 64, space=PIO)
    + add("win", 0, 4),
    "destroy": add("win", 0, 4) + bulk(10) + DESTROY + add("win", 0, 4) + lookup_any("win", 0, 1)
    + lookup_exit(None, 1),
}

# Regression inputs of findings (hand-made: the decoder changed after the crash input was saved).
REGRESS = {
    # core/io.c io_match(): datamatch compared only the low len bytes of the data, so the 1-byte
    # handler with data 0x100 (sorted after the one with data 0) took a write of 0
    "datamatch-high-bits": add("win", 2, 0, 1, rd=False, dm=0x00) + add("win", 2, 0, 1, rd=False, dm=0x100)
    + lookup_any("win", 2, 1, True, 0x00) + lookup_any("win", 2, 1, True, 0x100)
    + lookup_exit(1, 1, True, data=b"\0"),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "io")
    os.makedirs(out, exist_ok=True)
    for prefix, table in (("seed-", SEEDS), ("regress-", REGRESS)):
        for name, data in table.items():
            with open(os.path.join(out, prefix + name), "wb") as f:
                f.write(data)
    print(f"{len(SEEDS)} seeds, {len(REGRESS)} regression inputs in {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
