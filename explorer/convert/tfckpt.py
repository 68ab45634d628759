"""Reader for TensorFlow 2 checkpoints ("tensor bundles") with numpy and the standard library only.

A checkpoint is ``PREFIX.index`` (a LevelDB-style sorted string table whose values are protobuf
messages) plus ``PREFIX.data-SSSSS-of-NNNNN`` files holding the raw tensor bytes. Every block CRC of
the index and every tensor CRC of the data files is checked (CRC32C, masked). See
``../shared/models/ASTROMER-FORMAT.md`` section 2 for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.errors import ConversionError

__all__ = ["crc32c", "masked_crc32c", "unmask_crc", "read_checkpoint", "Checkpoint", "TensorEntry"]

# --------------------------------------------------------------------------------------------------
# CRC32C (Castagnoli, reflected polynomial 0x82F63B78)

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8


def _make_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]
_LANE_BYTES = 2048  # bytes per lane in the vectorised path
_shift_tables: tuple[np.ndarray, ...] | None = None


def _crc_py(data: bytes | memoryview, reg: int) -> int:
    table = _TABLE_LIST
    for byte in bytes(data):
        reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
    return reg


def _crc_lanes(lanes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Raw CRC registers of many equal-length byte rows at once (one numpy op per column)."""
    for j in range(lanes.shape[1]):
        reg = _TABLE[(reg ^ lanes[:, j]) & 0xFF] ^ (reg >> 8)
    return reg


def _zero_shift_tables() -> tuple[np.ndarray, ...]:
    """Byte tables of the linear map "feed _LANE_BYTES zero bytes" on a raw CRC register."""
    global _shift_tables
    if _shift_tables is None:
        basis = np.array([v << (8 * k) for k in range(4) for v in range(256)], dtype=np.uint32)
        shifted = _crc_lanes(np.zeros((basis.size, _LANE_BYTES), np.uint8), basis)
        _shift_tables = tuple(shifted[256 * k : 256 * (k + 1)] for k in range(4))
    return _shift_tables


def crc32c(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """CRC32C of ``data`` (standard: initial value and final xor 0xFFFFFFFF)."""
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    n = buf.size
    if n < 8 * _LANE_BYTES:
        return _crc_py(buf.tobytes(), 0xFFFFFFFF) ^ 0xFFFFFFFF
    # CRC is linear: compute equal-length chunks in parallel (the first one carries the initial
    # value), then chain them with the "append L zero bytes" operator.
    n_lanes = n // _LANE_BYTES
    lanes = buf[: n_lanes * _LANE_BYTES].reshape(n_lanes, _LANE_BYTES)
    init = np.zeros(n_lanes, np.uint32)
    init[0] = 0xFFFFFFFF
    regs = [int(r) for r in _crc_lanes(lanes, init)]
    t0, t1, t2, t3 = (t.tolist() for t in _zero_shift_tables())
    reg = regs[0]
    for r in regs[1:]:
        reg = t0[reg & 0xFF] ^ t1[(reg >> 8) & 0xFF] ^ t2[(reg >> 16) & 0xFF] ^ t3[reg >> 24] ^ r
    reg = _crc_py(buf[n_lanes * _LANE_BYTES :].tobytes(), reg)
    return reg ^ 0xFFFFFFFF


def masked_crc32c(data) -> int:
    """The masked CRC32C stored by LevelDB tables and TensorFlow bundles."""
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """Inverse of the CRC mask: subtract the constant, rotate left by 15."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --------------------------------------------------------------------------------------------------
# Protobuf wire format (varints and length-delimited fields are all these messages use)


def _varint(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ConversionError(f"truncated or malformed varint in {what}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes, what: str) -> list[tuple[int, int, int | bytes]]:
    """Decode a protobuf message into (field number, wire type, value) triples."""
    out = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos, what)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos, what)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos, what)
            value, pos = bytes(buf[pos : pos + length]), pos + length
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise ConversionError(f"unsupported protobuf wire type {wire} in {what}")
        if pos > len(buf):
            raise ConversionError(f"truncated protobuf message in {what}")
        out.append((field, wire, value))
    return out


# --------------------------------------------------------------------------------------------------
# Sorted string table (the .index file)

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
_BLOCK_TRAILER = 5


def _block_handle(buf: bytes, pos: int, what: str) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos, what)
    size, pos = _varint(buf, pos, what)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int, path: Path, what: str) -> bytes:
    end = offset + size + _BLOCK_TRAILER
    if offset < 0 or end > len(data):
        raise ConversionError(f"{path}: {what} block at {offset}+{size} lies outside the file ({len(data)} bytes)")
    block = data[offset : offset + size]
    ctype = data[offset + size]
    stored = int.from_bytes(data[offset + size + 1 : end], "little")
    if masked_crc32c(data[offset : offset + size + 1]) != stored:
        raise ConversionError(f"{path}: CRC mismatch in the {what} block at offset {offset}: the index file is corrupted")
    if ctype != 0:
        raise ConversionError(f"{path}: {what} block uses compression type {ctype} (only uncompressed tables are supported)")
    return block


def _block_entries(block: bytes, path: Path, what: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise ConversionError(f"{path}: {what} block is too short")
    n_restarts = int.from_bytes(block[-4:], "little")
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise ConversionError(f"{path}: {what} block has a bad restart count {n_restarts}")
    entries = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos, what)
        unshared, pos = _varint(block, pos, what)
        vlen, pos = _varint(block, pos, what)
        if shared > len(key) or pos + unshared + vlen > limit:
            raise ConversionError(f"{path}: malformed entry in the {what} block")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + vlen]))
        pos += vlen
    return entries


def _read_table(path: Path) -> list[tuple[bytes, bytes]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConversionError(f"cannot read checkpoint index {path}: {exc}") from None
    if len(data) < _FOOTER_LEN or int.from_bytes(data[-8:], "little") != _TABLE_MAGIC:
        raise ConversionError(f"{path} is not a TensorFlow checkpoint index (no sorted-string-table magic number)")
    footer = data[-_FOOTER_LEN:]
    _, _, pos = _block_handle(footer, 0, "footer")  # metaindex: unused by tensor bundles
    idx_off, idx_size, _ = _block_handle(footer, pos, "footer")
    index = _read_block(data, idx_off, idx_size, path, "index")
    entries = []
    for _, handle in _block_entries(index, path, "index"):
        off, size, _ = _block_handle(handle, 0, "index entry")
        entries.extend(_block_entries(_read_block(data, off, size, path, "data"), path, "data"))
    return entries


# --------------------------------------------------------------------------------------------------
# Tensor bundle

_DTYPES = {
    1: np.dtype("<f4"),
    2: np.dtype("<f8"),
    3: np.dtype("<i4"),
    4: np.dtype("u1"),
    5: np.dtype("<i2"),
    6: np.dtype("i1"),
    9: np.dtype("<i8"),
    10: np.dtype("?"),
    19: np.dtype("<f2"),
}
_DT_STRING = 7


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives: dtype code, shape, shard, byte range and masked CRC."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc: int | None


@dataclass
class Checkpoint:
    """A decoded checkpoint: numeric tensors by key, plus the raw object-graph bytes."""

    prefix: Path
    tensors: dict[str, np.ndarray]
    strings: dict[str, list[bytes]]

    def variables(self) -> dict[str, np.ndarray]:
        """Numeric tensors keyed by variable path (``.../.ATTRIBUTES/VARIABLE_VALUE`` removed)."""
        suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
        return {k[: -len(suffix)] if k.endswith(suffix) else k: v for k, v in self.tensors.items()}


def _parse_entry(name: str, value: bytes, index: Path) -> TensorEntry:
    what = f"{index} entry {name!r}"
    dtype, shape, shard, offset, size, crc = None, [], 0, 0, 0, None
    for field, _, val in _fields(value, what):
        if field == 1:
            dtype = val
        elif field == 2:
            for f2, _, dim in _fields(val, what):
                if f2 == 2:
                    size_v = next((v for f3, _, v in _fields(dim, what) if f3 == 1), 0)
                    shape.append(size_v - (1 << 64) if size_v >= 1 << 63 else size_v)
        elif field == 3:
            shard = val
        elif field == 4:
            offset = val
        elif field == 5:
            size = val
        elif field == 6:
            crc = val
        elif field == 7:
            raise ConversionError(f"{what}: partitioned (sliced) variables are not supported")
    if dtype is None:
        raise ConversionError(f"{what}: no dtype")
    if any(d < 0 for d in shape):
        raise ConversionError(f"{what}: unknown dimension in shape {shape}")
    return TensorEntry(name, dtype, tuple(shape), shard, offset, size, crc)


def _decode_strings(entry: TensorEntry, raw: bytes, where: str) -> list[bytes]:
    count = int(np.prod(entry.shape)) if entry.shape else 1
    pos = 0
    lengths = []
    for _ in range(count):
        n, pos = _varint(raw, pos, where)
        lengths.append(n)
    crc_field = raw[pos : pos + 4]
    lengths_bytes = b"".join(n.to_bytes(4, "little") for n in lengths)
    if masked_crc32c(lengths_bytes) != int.from_bytes(crc_field, "little"):
        raise ConversionError(f"{where}: CRC mismatch in the string lengths of tensor {entry.name!r}")
    pos += 4
    out = []
    for n in lengths:
        out.append(raw[pos : pos + n])
        pos += n
    if entry.crc is not None and masked_crc32c(lengths_bytes + crc_field + b"".join(out)) != entry.crc:
        raise ConversionError(f"{where}: CRC mismatch for tensor {entry.name!r}: the data file is corrupted")
    return out


def _resolve_prefix(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        ck = path / "checkpoint"
        if ck.is_file():
            for line in ck.read_text(errors="replace").splitlines():
                if line.startswith("model_checkpoint_path:"):
                    name = line.split(":", 1)[1].strip().strip('"')
                    return path / name
        indexes = sorted(path.glob("*.index"))
        if len(indexes) == 1:
            return indexes[0].with_suffix("")
        raise ConversionError(f"{path}: no TensorFlow checkpoint (expected one PREFIX.index file)")
    if path.suffix == ".index":
        return path.with_suffix("")
    if path.name.startswith("weights.data-") or ".data-" in path.name:
        return path.with_name(path.name.split(".data-")[0])
    return path


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a TF2 checkpoint (prefix, ``.index`` file, or folder) and check every CRC.

    Raises ConversionError naming the file or tensor at fault.
    """
    prefix = _resolve_prefix(Path(path))
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        raise ConversionError(f"checkpoint index {index} not found")
    entries = _read_table(index)
    if not entries or entries[0][0] != b"":
        raise ConversionError(f"{index}: no bundle header (the first key must be empty)")
    num_shards = 1
    for field, _, val in _fields(entries[0][1], f"{index} header"):
        if field == 1:
            num_shards = val
        elif field == 2 and val != 0:
            raise ConversionError(f"{index}: big-endian checkpoints are not supported")
    shards: dict[int, bytes] = {}

    def shard_bytes(shard: int) -> tuple[bytes, Path]:
        name = prefix.with_name(f"{prefix.name}.data-{shard:05d}-of-{num_shards:05d}")
        if shard not in shards:
            if not name.is_file():
                raise ConversionError(f"checkpoint data file {name} not found")
            shards[shard] = name.read_bytes()
        return shards[shard], name

    tensors: dict[str, np.ndarray] = {}
    strings: dict[str, list[bytes]] = {}
    for key, value in entries[1:]:
        name = key.decode("utf-8", errors="replace")
        entry = _parse_entry(name, value, index)
        if entry.shard >= num_shards:
            raise ConversionError(f"{index}: tensor {name!r} is in shard {entry.shard} of {num_shards}")
        data, data_path = shard_bytes(entry.shard)
        if entry.offset + entry.size > len(data):
            raise ConversionError(
                f"{data_path}: tensor {name!r} at {entry.offset}+{entry.size} lies past the end of the file "
                f"({len(data)} bytes): the data file is truncated"
            )
        raw = data[entry.offset : entry.offset + entry.size]
        if entry.dtype == _DT_STRING:
            strings[name] = _decode_strings(entry, raw, str(data_path))
            continue
        if entry.dtype not in _DTYPES:
            raise ConversionError(f"{index}: tensor {name!r} has unsupported dtype code {entry.dtype}")
        dt = _DTYPES[entry.dtype]
        count = int(np.prod(entry.shape, dtype=np.int64)) if entry.shape else 1
        if count * dt.itemsize != entry.size:
            raise ConversionError(
                f"{index}: tensor {name!r} of shape {list(entry.shape)} needs {count * dt.itemsize} bytes, "
                f"the index says {entry.size}"
            )
        if entry.crc is not None and masked_crc32c(raw) != entry.crc:
            raise ConversionError(f"{data_path}: CRC mismatch for tensor {name!r}: the data file is corrupted")
        tensors[name] = np.frombuffer(raw, dtype=dt).reshape(entry.shape).astype(dt.newbyteorder("="))
    return Checkpoint(prefix=prefix, tensors=tensors, strings=strings)
