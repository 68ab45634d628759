"""Astromer checkpoint -> ONNX converter (no TensorFlow, no protobuf package) and store import.

    from explorer.convert import convert_checkpoint, import_checkpoint
    entry = import_checkpoint("macho.zip")          # -> store entry "astromer1-macho"
"""

from explorer.convert.importer import CONVERTER_VERSION, ConvertedModel, convert_checkpoint, import_checkpoint, suggest_name
from explorer.convert.verify import VerificationReport, find_reference, verify_end_to_end, verify_tensors

__all__ = [
    "CONVERTER_VERSION",
    "ConvertedModel",
    "convert_checkpoint",
    "import_checkpoint",
    "suggest_name",
    "VerificationReport",
    "find_reference",
    "verify_tensors",
    "verify_end_to_end",
]
