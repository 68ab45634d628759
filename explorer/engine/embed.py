"""``embed_catalog``: the one-call facade over model loading and the model classes.

It sits on top of the engine (it imports the sources and every model class; nothing in the engine
imports it), so the engine's imports run one way. ``EmbeddingResult`` lives in result.py and the
batch loop in runner.py; both are re-exported here for callers of the earlier layout.
"""

from __future__ import annotations

from explorer.engine.base import EmbeddingSession
from explorer.engine.models import model_class
from explorer.engine.result import EmbeddingResult
from explorer.engine.runner import DEFAULT_BATCH_SIZE, run_embedding
from explorer.engine.session import OnnxModel
from explorer.engine.sources import load_model

__all__ = ["EmbeddingResult", "embed_catalog", "run_embedding", "DEFAULT_BATCH_SIZE"]


def embed_catalog(catalog, model, *, output=None, reduction=None, bands=None, seed=0, batch_size=None,
                  progress=None, cache=True, pipeline=None, partial=None, **model_options) -> EmbeddingResult:
    """Embed every object of ``catalog``; rows aligned with ``catalog.objects`` through ``object_index``.

    ``model`` is an OnnxModel, a source for ``load_model`` (store name, Hub alias, .onnx path), or a
    model-class instance, whose own output/reduction/bands are then used. ``output`` and
    ``reduction`` default to the family's (see ``explorer.families``). ``cache``: True for
    ``store_root()/embeddings``, a folder path, or False. ``model_options`` go to the model class
    (multiband: ``band_groups``, ``allow_extra_bands``; every family: ``mag_zp``; sized families: ``size``).
    ``progress(done_windows, total_windows)`` is called after each batch. ``pipeline``: prepare the
    next batch in a producer thread while the session runs one (True / False; None: only for CUDA
    sessions, see ``explorer.engine.runner.use_pipeline``); the embeddings do not change.
    ``partial(peek)``: after each batch, ``peek()`` gives the objects finished so far (``runner.Partial``;
    not called when the cache has the catalog).
    """
    if isinstance(model, EmbeddingSession):
        embedder = model
    else:
        onnx_model = model if isinstance(model, OnnxModel) else load_model(model)
        kwargs = dict(output=output, reduction=reduction, seed=seed, **model_options)
        if bands is not None:
            kwargs["bands"] = bands
        embedder = model_class(onnx_model.kind)(onnx_model, **kwargs)
    return embedder.embed_catalog(catalog, batch_size=batch_size, progress=progress, cache=cache, pipeline=pipeline,
                                  partial=partial)
