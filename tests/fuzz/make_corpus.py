#!/usr/bin/env python3
"""make_corpus.py: writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<harness>/)
from the genuine data excerpts, cut to a few KB each: MIT-BIH headers, annotation and signal
excerpts (a consistent 512-sample record), the Sleep-EDF hypnogram, one-record cuts of the two
EDFlib generator files; plus small .npy files written by numpy, safetensors files and HARTH-layout
CSV text (no genuine HARTH, .npy or safetensors file is available). It is run by hand when the
corpus should change, never by the build; corpus/README.md says where every file comes from.

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py [DATA_DIR]   (default ../shared/data)
Needs numpy (Debian's python3-numpy) for the .npy seeds.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
DATA = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "data"))


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(rel):
    with open(os.path.join(DATA, rel), "rb") as f:
        return f.read()


# ---- WFDB: the harness's first byte picks the target (0 header, 1 annotations, 2 decoder, 3 record)
def decode_212(b, n):
    out = []
    for i in range(0, len(b) - 2, 3):
        v0 = b[i] | ((b[i + 1] & 0x0F) << 8)
        v1 = b[i + 2] | ((b[i + 1] & 0xF0) << 4)
        out += [v0 - 4096 if v0 > 2047 else v0, v1 - 4096 if v1 > 2047 else v1]
    return out[:n]


def atr_cut(b, at_least):
    """Whole annotation words up to at least `at_least` bytes, then the 0x0000 end word."""
    p = 0
    while p + 2 <= len(b) and p < at_least:
        w = b[p] | (b[p + 1] << 8)
        t, v = w >> 10, w & 0x3FF
        p += 2
        if w == 0:
            break
        if t == 63:  # AUX: v bytes, padded to even
            p += v + (v & 1)
        elif t == 59:  # SKIP: a 4-byte interval follows
            p += 4
    return b[:p] + b"\x00\x00"


for rec in ("100", "201", "203"):
    put("wfdb", "hea_%s" % rec, b"\x00" + read("mitdb/%s.hea" % rec))
    put("wfdb", "atr_%s" % rec, b"\x01" + atr_cut(read("mitdb/%s.atr" % rec), 1500))
dat = read("mitdb/100.dat")[:1536]  # 512 samples of each of 2 channels, format 212
put("wfdb", "dec_212_100", b"\x02" + bytes([0]) + struct.pack("<H", 1024 + 2) + dat)
s = decode_212(dat, 1024)
lines = read("mitdb/100.hea").decode().splitlines()
hdr = ["100 2 360 512"]
for ch, line in enumerate(lines[1:3]):  # initial value and checksum of the 512-sample excerpt
    f = line.split()
    f[5], f[6] = str(s[ch]), str(((sum(s[ch::2]) + 32768) & 0xFFFF) - 32768)
    hdr.append(" ".join(f))
put("wfdb", "rec_100", b"\x03" + ("\n".join(hdr) + "\n").encode() + b"\x00" + dat)


# ---- EDF / EDF+: the whole hypnogram (4.6 KB), and the generator files cut to one data record
def edf_one_record(b):
    ns = int(b[252:256])
    hb = 256 * (ns + 1)
    spr = [int(b[256 + 216 * ns + 8 * i:256 + 216 * ns + 8 * i + 8]) for i in range(ns)]
    h = bytearray(b[:hb])
    h[236:244] = b"1       "
    return bytes(h) + b[hb:hb + 2 * sum(spr)]


put("edf", "sleepedf_hypnogram", read("sleepedf/SC4001EC-Hypnogram.edf"))
put("edf", "edflib_generator_1rec", edf_one_record(read("edf/test_generator.edf")))
put("edf", "edflib_subsecond_1rec", edf_one_record(read("edf/test_subsecond.edf")))

# ---- HARTH CSV text in the public layouts (no genuine HARTH file is available)
rows = ["2019-01-12 00:00:00.%03d,-0.953613,-0.0791016,0.108398,-0.963867,0.0493164,0.0126953,%d" % (20 * i, c)
        for i, c in enumerate((6, 6, 7, 1, 130))]
head = "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label"
put("harth", "plain.csv", ("\n".join([head] + rows) + "\n").encode())
put("harth", "index_crlf.csv", ("\r\n".join(["," + head] + ["%d,%s" % (i, r) for i, r in enumerate(rows)]) + "\r\n").encode())
put("harth", "nan_row.csv", ("\n".join([head, rows[0], rows[1].replace("-0.0791016", "nan")]) + "\n").encode())

# ---- .npy written by numpy
import io  # noqa: E402
import numpy as np  # noqa: E402

for name, arr in (("f4_2x3", np.arange(6, dtype="<f4").reshape(2, 3)), ("i4_5", np.arange(5, dtype="<i4")),
                  ("f8_2x2x2", np.linspace(-1, 1, 8).reshape(2, 2, 2)), ("i8_3", np.array([-1, 0, 7], "<i8")),
                  ("u1_4", np.arange(4, dtype="u1")), ("f4_fortran", np.asfortranarray(np.ones((2, 3), "<f4")))):
    bio = io.BytesIO()
    np.save(bio, arr)
    put("npy", name + ".npy", bio.getvalue())


# ---- safetensors in the layout of the reference writer (header JSON padded to 8 with spaces)
def safetensors(tensors, meta):
    hdr, body = ({"__metadata__": meta} if meta else {}), b""
    for name, (dtype, shape, data) in tensors.items():
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body


put("safetensors", "two", safetensors({"conv1.weight": ("F32", [2, 1, 1], struct.pack("<2f", 0.5, -1.0)),
                                       "bn1.num_batches_tracked": ("I64", [], struct.pack("<q", 3))}, {"format": "pt"}))
put("safetensors", "empty_meta", safetensors({"x": ("F64", [1], struct.pack("<d", 2.0))}, None))
print("wrote the corpus under", OUT)
