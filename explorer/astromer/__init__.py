"""The ASTROMER library's public API without TensorFlow: ``SingleBandEncoder`` and ``make_pretraining``.

    from explorer.astromer import SingleBandEncoder, make_pretraining
    enc = SingleBandEncoder.from_pretraining("atlas")          # store, ../shared checkpoint, or download
    X = enc.encode(list_of_Lx3_arrays, oids_list=ids)          # == embed_catalog(..., output="mean")
    train = make_pretraining(train_lcs, batch_size=64, max_obs=200, msk_frac=0.5, rnd_frac=0.2, same_frac=0.2)
    enc.fit(train, valid, epochs=3, lr=1e-4, project_path="runs/eros")   # PyTorch (extra "train")
    enc.install("astromer1-eros", catalog=catalog)             # ONNX via the converter, into the store

Inference uses the ONNX Runtime engine; training uses PyTorch, imported only by ``fit``.
"""

from explorer.astromer.data import PretrainingData, make_pretraining
from explorer.astromer.encoder import SingleBandEncoder, lightcurve_arrays
from explorer.astromer.weights import AstromerWeights, read_checkpoint_weights, weights_from_store

__all__ = ["SingleBandEncoder", "make_pretraining", "PretrainingData", "AstromerWeights", "read_checkpoint_weights", "weights_from_store",
           "lightcurve_arrays"]
