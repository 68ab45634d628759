"""``SingleBandEncoder``: the ASTROMER library's model class, without TensorFlow.

Inference runs on the explorer's ONNX Runtime engine (the same windows, preprocessing and session
code as ``embed_catalog``); training runs on PyTorch (optional extra ``train``), with a module built
from the same weights, and the trained weights go back to ONNX through the converter's graph builder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer.astromer.arrays import lightcurve_arrays
from explorer.astromer.weights import AstromerWeights, read_checkpoint_weights
from explorer.errors import ModelError

__all__ = ["SingleBandEncoder", "lightcurve_arrays"]

WINDOW = 200  # the public interface's positions; the ONNX graph is built for exactly this


class SingleBandEncoder:
    """An Astromer encoder (ASTROMER library API): ``from_pretraining``, ``load_weights``, ``encode``, ``fit``.

    The constructor arguments describe the architecture, as in the original; weights loaded later
    must match them (``from_pretraining`` builds the instance from the checkpoint's own config).
    ``base`` is kept for the record: Astromer v1 checkpoints always use 10000 whatever it says.
    ``maxlen`` must be 200, the public ONNX interface's window.
    """

    def __init__(self, num_layers=2, d_model=256, num_heads=4, dff=128, base=1000, dropout=0.1, maxlen=200,
                 batch_size=None):
        for label, value in (("num_layers", num_layers), ("d_model", d_model), ("num_heads", num_heads),
                             ("dff", dff)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ModelError(f"SingleBandEncoder: {label} must be a positive integer, got {value!r}")
        if d_model % num_heads:
            raise ModelError(f"SingleBandEncoder: d_model = {d_model} is not divisible by num_heads = {num_heads}")
        if maxlen != WINDOW:
            raise ModelError(f"SingleBandEncoder: maxlen = {maxlen!r}; the ONNX interface has {WINDOW} positions")
        if not 0.0 <= float(dropout) < 1.0:
            raise ModelError(f"SingleBandEncoder: dropout must be in [0, 1), got {dropout!r}")
        self.num_layers, self.d_model, self.num_heads, self.dff = int(num_layers), int(d_model), int(num_heads), int(dff)
        self.base, self.dropout, self.maxlen, self.batch_size = base, float(dropout), int(maxlen), batch_size
        self.weights: AstromerWeights | None = None
        self.name: str | None = None          # store name the weights came from, if any
        self._onnx_path: Path | None = None   # that store model's file, while the weights are unchanged
        self.history = None                   # FitHistory of the last fit

    def __repr__(self) -> str:
        state = f"weights from {self.name or (self.weights.source if self.weights else None)!r}" if self.weights else "no weights"
        return (f"SingleBandEncoder(num_layers={self.num_layers}, d_model={self.d_model}, num_heads={self.num_heads}, "
                f"dff={self.dff}, maxlen={self.maxlen}; {state})")

    # -- weights ----------------------------------------------------------------------------------------
    @classmethod
    def from_pretraining(cls, name="macho") -> "SingleBandEncoder":
        """A pretrained encoder: 'macho', 'atlas', a store name, or a checkpoint / saved-weights path.

        A survey name is looked up in the model store (``astromer1-<name>``), then as ``<name>.zip`` in
        the checkpoint folders (converted, checked against its reference when one exists, and installed),
        then downloaded from the original library's address; ModelError says how to get the weights
        when none of these works.
        """
        from explorer.astromer.pretrained import resolve_pretrained

        weights, store_name, onnx_path = resolve_pretrained(name)
        spec = weights.spec
        enc = cls(num_layers=spec.num_layers, d_model=spec.d_model, num_heads=spec.num_heads, dff=spec.ffn_dim,
                  base=spec.config.get("base", spec.pe_base), dropout=float(spec.config.get("dropout", 0.1)))
        enc._set_weights(weights, store_name, onnx_path)
        return enc

    def _check_architecture(self, weights: AstromerWeights, where: str) -> None:
        spec = weights.spec
        if spec.nsp:
            raise ModelError(f"{where} is an NSP model (CLS + segment input); SingleBandEncoder needs a plain encoder")
        mine = (self.num_layers, self.d_model, self.num_heads, self.dff)
        theirs = (spec.num_layers, spec.d_model, spec.num_heads, spec.ffn_dim)
        if mine != theirs:
            raise ModelError(
                f"{where} holds a {theirs[0]}-layer encoder with d_model {theirs[1]}, {theirs[2]} heads and dff "
                f"{theirs[3]}, but this SingleBandEncoder was built with {mine[0]}, {mine[1]}, {mine[2]}, {mine[3]}"
            )

    def _set_weights(self, weights: AstromerWeights, store_name=None, onnx_path=None) -> None:
        self._check_architecture(weights, weights.source or "these weights")
        self.weights, self.name, self._onnx_path = weights, store_name, onnx_path

    def load_weights(self, weights_folder) -> None:
        """Load weights: an original checkpoint (folder with ``weights.index`` or ``weights.h5``, archive)
        or a folder written by :meth:`fit` / :meth:`save_weights`."""
        folder = Path(weights_folder)
        if not folder.exists() and not Path(str(folder) + ".index").exists():
            raise ModelError(f"weights folder {folder} not found")
        weights = read_checkpoint_weights(folder)
        self._set_weights(weights, None, None)

    def save_weights(self, folder) -> Path:
        """Write the current weights (encoder and pre-training head) into ``folder``; :meth:`load_weights` reads them back."""
        return self._need_weights().save(folder)

    def _need_weights(self) -> AstromerWeights:
        if self.weights is None:
            raise ModelError("this SingleBandEncoder has no weights: call from_pretraining(name) or load_weights(folder)")
        return self.weights

    # -- inference ----------------------------------------------------------------------------------------
    def onnx_model(self, *, threads=None):
        """The engine's OnnxModel of the current weights (the store file when unchanged, else a cached build)."""
        from explorer.engine import load_model
        from explorer.store import store_root

        weights = self._need_weights()
        if self._onnx_path is not None and Path(self._onnx_path).is_file():
            return load_model(Path(self._onnx_path), kind="astromer1", threads=threads)
        path = store_root() / "astromer" / "onnx" / f"{weights.sha256()[:32]}.onnx"
        if not path.is_file():
            from explorer.atomic import atomic_write_bytes

            atomic_write_bytes(path, weights.to_onnx().SerializeToString())
        return load_model(path, kind="astromer1", threads=threads)

    def _window_outputs(self, data, outputs, batch_size):
        """Run every non-overlapping window of ``data``; (per-window outputs, window -> light curve, obs)."""
        from explorer.engine.models import Astromer1
        from explorer.engine.reductions import NonOverlappingWindows
        from explorer.engine.windows import all_segments, build_windows

        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ModelError(f"batch_size must be a positive integer, got {batch_size!r}")
        embedder = Astromer1(self.onnx_model(), output="mean")
        windows = build_windows(all_segments(data.offsets), NonOverlappingWindows(), WINDOW)
        arrays = embedder.model_arrays(data)
        n = len(windows.row)
        buffers = embedder.make_buffers(min(batch_size, max(n, 1)))
        session = embedder.model.session
        out = {o: [] for o in outputs}
        with np.errstate(all="ignore"):
            for b0 in range(0, n, batch_size):
                feeds = embedder.prepare(windows.obs[b0:b0 + batch_size], arrays, buffers)
                for o, v in zip(outputs, session.run(list(outputs), feeds)):
                    out[o].append(v)
        dim = self.d_model
        got = {o: (np.concatenate(v) if v else np.zeros((0,) + ((WINDOW, dim) if o == "sequence" else (dim,)), np.float32))
               for o, v in out.items()}
        return got, windows.row_segment[windows.row], windows.obs

    def encode(self, dataset, oids_list=None, labels=None, batch_size=1, concatenate=True, *, output="mean"):
        """Embed a list of Lx3 [time, mag, err] light curves in windows of ``maxlen`` (non-overlapping).

        ``concatenate=True``: one row per object id (ids from ``oids_list``; arrays sharing an id are one
        object), in order of first appearance: with ``output="mean"`` (or ``"max"``) the average of its
        windows' outputs, float32 [n_objects, d_model], the same numbers as ``embed_catalog(...,
        output="mean", reduction="non-overlapping-windows")`` (NaN row for an empty light curve); with
        ``output="sequence"`` the original library's return, a list of [n_observations, d_model] arrays
        (the valid positions of its windows, concatenated). ``concatenate=False``: one entry per window
        (``mean``/``max``: [n_windows, d_model]; ``sequence``: a list of [n_valid, d_model] arrays).
        ``labels`` is accepted for compatibility and only checked for length.
        """
        if output not in ("mean", "max", "sequence"):
            raise ModelError(f"output must be 'mean', 'max' or 'sequence', got {output!r}")
        data, ids = lightcurve_arrays(dataset, oids_list)
        if labels is not None and len(labels) != len(ids):
            raise ModelError(f"labels has {len(labels)} entries for {len(ids)} light curves")
        got, win_lc, win_obs = self._window_outputs(data, (output,), batch_size)
        values = got[output]
        n_valid = (win_obs >= 0).sum(axis=1)
        if not concatenate:
            if output == "sequence":
                return [values[i, :n_valid[i]] for i in range(len(values))]
            return values
        position: dict[str, int] = {}
        obj_of_lc = np.array([position.setdefault(i, len(position)) for i in ids], np.int64)  # first appearance
        order = list(position)
        win_obj = obj_of_lc[win_lc]
        if output == "sequence":
            return [np.concatenate([values[w, :n_valid[w]] for w in np.flatnonzero(win_obj == k)] or
                                   [np.zeros((0, self.d_model), np.float32)]) for k in range(len(order))]
        # float64 accumulation then one division, as the engine's non-overlapping-windows reduction
        acc = np.zeros((len(order), values.shape[1]), np.float64)
        np.add.at(acc, win_obj, values)
        counts = np.bincount(win_obj, minlength=len(order))
        with np.errstate(invalid="ignore", divide="ignore"):
            result = (acc / counts[:, None]).astype(np.float32)
        return result

    # -- training ----------------------------------------------------------------------------------------
    def fit(self, train_batches, valid_batches, epochs=2, patience=40, lr=0.001, project_path=".", verbose=0, *,
            device=None, seed=0, progress=None):
        """Fine-tune on masked-magnitude reconstruction (needs PyTorch: ``pip install -e .[train]``).

        ``train_batches``/``valid_batches``: iterables of batches from :func:`make_pretraining`. After
        each epoch the validation loss decides: a better one saves the weights into ``project_path``
        (``weights.npz`` + ``astromer.json``), ``patience`` epochs without one stop training. ``log.csv``
        in ``project_path`` gets ``epoch, train_loss, val_loss`` per epoch. The best weights are loaded
        back at the end. Returns a FitHistory (also in ``self.history``).
        """
        from explorer.astromer.fitting import fit_encoder

        return fit_encoder(self, train_batches, valid_batches, epochs=epochs, patience=patience, lr=lr,
                           project_path=project_path, verbose=verbose, device=device, seed=seed, progress=progress)

    def install(self, name, *, catalog=None, bands=None, overwrite=False, extra_card=None):
        """Export the current weights to ONNX (converter's graph builder) and install them in the model store."""
        from explorer.astromer.fitting import install_encoder

        return install_encoder(self, name, catalog=catalog, bands=bands, overwrite=overwrite, extra_card=extra_card)
