"""TF2 checkpoint reader: CRC32C, table parsing, and refusals of corrupted or foreign files."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from explorer.convert.tfckpt import _crc_py, crc32c, masked_crc32c, read_checkpoint, unmask_crc
from explorer.errors import ConversionError


def test_crc32c_known_values():
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC32C check value
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 test vector (32 zero bytes)
    assert crc32c(bytes([0xFF]) * 32) == 0x62A8AB43


@pytest.mark.parametrize("n", [1, 4095, 16384, 16385, 100_003])
def test_vectorised_crc_matches_bytewise(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc_py(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def test_mask_roundtrip():
    for value in (0, 1, 0xE3069283, 0xFFFFFFFF):
        masked = ((((value >> 15) | (value << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
        assert unmask_crc(masked) == value
    assert unmask_crc(masked_crc32c(b"abc")) == crc32c(b"abc")


@pytest.fixture(scope="module")
def macho_dir(tmp_path_factory, shared_models):
    out = tmp_path_factory.mktemp("macho")
    with zipfile.ZipFile(shared_models / "checkpoints" / "macho.zip") as zf:
        zf.extractall(out)
    return out / "macho"


def _copy(macho_dir, tmp_path):
    dst = tmp_path / "macho"
    shutil.copytree(macho_dir, dst)
    return dst


def _flip(path, pos: int, mask: int) -> None:
    """Corrupt one byte of ``path`` (a copy, never ../shared) by XOR-ing ``mask`` into it."""
    raw = bytearray(path.read_bytes())
    raw[pos] ^= mask
    path.write_bytes(bytes(raw))


def test_reads_every_tensor(macho_dir):
    ck = read_checkpoint(macho_dir)
    assert len(ck.tensors) == 38
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in ck.strings
    kin = ck.variables()["layer_with_weights-0/inp_transform/kernel"]
    assert kin.shape == (1, 256) and kin.dtype == np.float32 and np.isfinite(kin).all()
    # prefix, .index file and folder name the same checkpoint
    assert read_checkpoint(macho_dir / "weights.index").tensors.keys() == ck.tensors.keys()


def test_corrupted_tensor_names_the_tensor(macho_dir, tmp_path):
    ck = read_checkpoint(macho_dir)
    dst = _copy(macho_dir, tmp_path)
    data = dst / "weights.data-00000-of-00001"
    # flip one byte inside the wq kernel of block 1: find its bytes in the file
    target = ck.tensors["layer_with_weights-0/enc_layers/1/mha/wq/kernel/.ATTRIBUTES/VARIABLE_VALUE"].tobytes()
    _flip(data, data.read_bytes().index(target) + 1000, 0x01)
    with pytest.raises(ConversionError, match=r"CRC mismatch for tensor 'layer_with_weights-0/enc_layers/1/mha/wq/kernel"):
        read_checkpoint(dst)


def test_corrupted_object_graph(macho_dir, tmp_path):
    dst = _copy(macho_dir, tmp_path)
    _flip(dst / "weights.data-00000-of-00001", -10, 0x20)  # the object graph is stored last
    with pytest.raises(ConversionError, match="_CHECKPOINTABLE_OBJECT_GRAPH"):
        read_checkpoint(dst)


def test_corrupted_index_block(macho_dir, tmp_path):
    dst = _copy(macho_dir, tmp_path)
    _flip(dst / "weights.index", 100, 0x04)
    with pytest.raises(ConversionError, match="CRC mismatch in the data block"):
        read_checkpoint(dst)


def test_truncated_data_file(macho_dir, tmp_path):
    dst = _copy(macho_dir, tmp_path)
    data = dst / "weights.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100_000])
    with pytest.raises(ConversionError, match="truncated"):
        read_checkpoint(dst)


def test_missing_data_file(macho_dir, tmp_path):
    dst = _copy(macho_dir, tmp_path)
    (dst / "weights.data-00000-of-00001").unlink()
    with pytest.raises(ConversionError, match="data file .* not found"):
        read_checkpoint(dst)


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "weights.index").write_bytes(b"this is a text file, not a sorted string table" * 3)
    with pytest.raises(ConversionError, match="not a TensorFlow checkpoint index"):
        read_checkpoint(tmp_path / "weights")
