"""The dashboard state: a thin composite of small browser-free parts, one concern each.

=============  ====================================================================================
part           owns
=============  ====================================================================================
``session``    the catalogs one may open and the open one (``parts/catalogs.py``)
``models``     the model, its output and reduction (``parts/models.py``)
``pipeline``   representation and UMAP settings -> vectors -> the map view and its quality (``parts/pipeline.py``)
``display``    colour and rating columns, column values (``parts/display.py``)
``labelling``  the labels file, the label set, suggestions (``parts/labelling.py``)
``filtering``  filters and linked summaries (``parts/filtering.py``)
``pointer``    tapped object, selection, hover, search (``parts/selection.py``)
``curves``     the tapped light curve's fold and period (``parts/lightcurves.py``)
``tuning``     fine-tuning (``parts/finetuning.py``)
``discovery``  label these next, classify the catalog, find the odd ones (``parts/discovery.py``)
``messages``   status line and alerts (``parts/common.py``)
=============  ====================================================================================

Each part's inputs are parameters the view edits through ``from_param`` widgets, its outputs constant
parameters replaced whole.  The composite wires the parts (who follows the catalog, in which order),
runs long work through one ``JobRunner`` and keeps the notebook / test API: any parameter or method
of a part can be read from the state (``state.selected_id``, ``state.run()``), and a part's input
parameter set on it (``state.model = ...``).  A second, linked map (``ExplorerState.linked(main)``)
shares the session, labels, display, filters, pointer and light curves of the main state and has its
own models, pipeline, messages and job runner: what is shared is one object, never a synchronised copy.
"""

from __future__ import annotations

import pandas as pd
import param

from explorer.errors import ExplorerError

from .jobs import JobRunner
from .parts.catalogs import CatalogSession, open_catalog  # noqa: F401  (re-exported)
from .parts.common import (EMBEDDINGS, HOW_TO_GET_A_MODEL, INTERNAL_COLUMNS, MAPS, NO_LABEL,  # noqa: F401
                           SEED, SUGGESTION, USER_LABEL, Messages, ResultCache)
from .parts.discovery import Discovery
from .parts.display import Display
from .parts.filtering import Filtering
from .parts.finetuning import FineTuning
from .parts.labelling import Labelling
from .parts.lightcurves import PERIOD_COLUMNS, LightCurves  # noqa: F401
from .parts.models import REDUCTIONS, ModelChoice, default_model, model_choices, model_label  # noqa: F401
from .parts.pipeline import Pipeline
from .parts.selection import Selection
from .parts import urlstate
from .parts.vectors import METRICS, REPRESENTATIONS, Embedding, EmbeddingSpec, MapView, umap_coords  # noqa: F401

# names importable from here, as before the parts (tests, notebooks, benchmarks, the offload worker)
__all__ = ["ExplorerState", "ResultCache", "open_catalog", "umap_coords", "default_model", "model_choices",
           "model_label", "EMBEDDINGS", "MAPS", "USER_LABEL", "NO_LABEL", "SUGGESTION", "INTERNAL_COLUMNS",
           "HOW_TO_GET_A_MODEL", "SEED", "PERIOD_COLUMNS", "REDUCTIONS", "REPRESENTATIONS", "METRICS", "Embedding",
           "EmbeddingSpec",
           "MapView"]

SHARED_PARTS = ("session", "labelling", "display", "filtering", "pointer", "curves", "discovery")
OWN_PARTS = ("messages", "models", "pipeline", "tuning")
PARTS = ("session", "models", "pipeline", "display", "labelling", "filtering", "pointer", "curves", "tuning",
         "discovery", "messages")
_REFERENCES = {"session", "models", "pipeline", "labelling", "display", "filtering", "selection", "messages",
               "jobs", "name"}


class ExplorerState(param.Parameterized):
    """Everything the dashboard shows and does, computable without a browser (see the module docstring)."""

    session = param.ClassSelector(class_=CatalogSession, constant=True, doc="Catalogs and the open one.")
    models = param.ClassSelector(class_=ModelChoice, constant=True, doc="The model choice.")
    pipeline = param.ClassSelector(class_=Pipeline, constant=True, doc="Vectors and the map view.")
    display = param.ClassSelector(class_=Display, constant=True, doc="Colour and rating choices.")
    labelling = param.ClassSelector(class_=Labelling, constant=True, doc="Labels and suggestions.")
    filtering = param.ClassSelector(class_=Filtering, constant=True, doc="Filters and linked summaries.")
    pointer = param.ClassSelector(class_=Selection, constant=True, doc="Tapped object, selection, hover, search.")
    curves = param.ClassSelector(class_=LightCurves, constant=True, doc="Fold and period of the tapped object.")
    tuning = param.ClassSelector(class_=FineTuning, constant=True, doc="Fine-tuning.")
    discovery = param.ClassSelector(class_=Discovery, constant=True, doc="Classify the catalog, find the odd ones.")
    messages = param.ClassSelector(class_=Messages, constant=True, doc="Status line and alerts.")
    jobs = param.ClassSelector(class_=JobRunner, constant=True, doc="The runner of background work.")

    URL_KEYS = urlstate.URL_KEYS

    def __init__(self, catalog=None, *, model: str | None = None, embed_cache: ResultCache | None = None,
                 map_cache: ResultCache | None = None, labels_path=None, labels_user: str | None = None,
                 shared: "ExplorerState | None" = None, **params):
        messages = Messages()
        jobs = JobRunner(on_error=messages.fail, on_cancel=messages.say)
        if shared is None:
            session = CatalogSession(messages=messages)
            labelling = Labelling(labels_path=labels_path, labels_user=labels_user, session=session,
                                  messages=messages)
            display = Display(session=session, labelling=labelling)
            filtering = Filtering(session=session, display=display, labelling=labelling, messages=messages)
            pointer = Selection(session=session, filtering=filtering, messages=messages)
            curves = LightCurves(session=session, selection=pointer, messages=messages, jobs=jobs)
            discovery = Discovery(session=session, labelling=labelling, display=display, messages=messages, jobs=jobs)
        else:
            session, labelling, display, filtering, pointer, curves, discovery = (
                getattr(shared, n) for n in SHARED_PARTS)
        models = ModelChoice(messages=messages)
        pipeline = Pipeline(embed_cache=embed_cache, map_cache=map_cache, session=session, models=models,
                            labelling=labelling, display=display, messages=messages, jobs=jobs)
        tuning = FineTuning(session=session, models=models, messages=messages, jobs=jobs)
        super().__init__(session=session, models=models, pipeline=pipeline, display=display, labelling=labelling,
                         filtering=filtering, pointer=pointer, curves=curves, tuning=tuning, discovery=discovery,
                         messages=messages, jobs=jobs, **params)
        # the order parts follow a new catalog: the map goes first, so that no pane draws a stale view
        session.follow(pipeline)
        if shared is None:
            for part in (labelling, display, filtering, pointer, curves, discovery):
                session.follow(part)
            session.on_choice = lambda choice: self.jobs.submit(f"Opening catalog {choice}", self._open_and_run, choice)
            self.refresh_catalog_list()
            if catalog is not None:
                self.open_catalog(catalog)
        elif session.catalog is not None:
            pipeline.reset_for(session.catalog)
        if model is not None:
            models.set_model_objects(extra=str(model))
            models.model = str(model)

    @classmethod
    def linked(cls, main: "ExplorerState", *, autostart: bool = True, fixed: bool = False) -> "ExplorerState":
        """A second state over the same catalog, labels, display, filters, pointer and light curves.

        ``autostart=False``: nothing is computed until asked (the Compare tab); ``fixed=True``: its map is
        given from outside and never computed (the sky). Both are set before its models are listed, which
        may otherwise start a map already in memory.
        """
        twin = cls(embed_cache=main.pipeline.embed_cache, map_cache=main.pipeline.map_cache, shared=main)
        twin.pipeline.autostart, twin.pipeline.fixed = autostart, fixed
        twin.models.refresh_models(main.models.model_infos)
        return twin

    # ------------------------------------------------------------------ forwarding to the parts
    @classmethod
    def owner_name(cls, name: str) -> str | None:
        """Which part has parameter ``name`` (None when none has)."""
        for part in PARTS:
            klass = cls.param[part].class_
            if name in klass.param and name not in _REFERENCES:
                return part
        return None

    def owner(self, name: str):
        """The part owning parameter ``name``, or the job runner for its own parameters."""
        part = self.owner_name(name)
        if part is None:
            if name in JobRunner.param:
                return self.jobs
            raise AttributeError(f"no part of the state has a parameter {name!r}")
        return getattr(self, part)

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: a part's parameter or method, read through the state
        if name.startswith("_"):
            raise AttributeError(name)
        for part in PARTS:
            obj = getattr(self, part, None)
            if obj is not None and hasattr(obj, name):
                return getattr(obj, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        part = None if name.startswith("_") or name in type(self).param else self.owner_name(name)
        if part is not None:
            setattr(getattr(self, part), name, value)
        else:
            super().__setattr__(name, value)

    # ------------------------------------------------------------------ catalogs
    def refresh_catalog_list(self) -> None:
        """List the catalogs of the allowed folders as ``catalog_choice`` options (the open one kept)."""
        self.session.refresh_catalog_list()

    def open_catalog(self, source, *, label: str | None = None, what: str | None = None, **kwargs):
        """Open a catalog (Catalog, DataFrame, allowed path or a ``catalog_choice`` name) and show it;
        everything tied to the previous catalog is reset by its part (the tapped object and the
        selection are kept by object_id when the new catalog has them)."""
        cat = self.session.open(source, label=label, what=what, **kwargs)
        notice = self.labelling.notice()
        self.messages.say(f"Catalog {cat.name}: {len(cat)} objects, {cat.n_observations} observations."
                          + (f" {notice}" if notice else ""))
        return cat

    def open_upload(self, filename: str, data: bytes):
        """Open an uploaded Parquet/CSV file (served limits, ids as written); errors name the file."""
        cat = self.session.open_upload(filename, data)
        self.messages.say(f"Catalog {cat.name}: {len(cat)} objects, {cat.n_observations} observations.")
        return cat

    def _open_and_run(self, source, **kwargs) -> None:
        self.messages.say("Opening catalog...")
        self.open_catalog(source, **kwargs)
        if self.pipeline.can_compute():
            self.pipeline.run()

    # ------------------------------------------------------------------ jobs
    @property
    def busy(self) -> bool:
        """True while a background job runs or waits."""
        return self.jobs.running

    def wait(self, timeout: float | None = None) -> bool:
        """Block until background work is done; False on timeout."""
        return self.jobs.wait(timeout)

    # ------------------------------------------------------------------ the map on screen
    def embed(self, progress=None):
        """Compute the chosen representation (cached by content); returns its EmbeddingResult (None for
        the features alone)."""
        return self.pipeline.embed(progress).result

    @property
    def result(self):
        """The EmbeddingResult of the vectors last computed (None before, or for given matrices)."""
        return self.pipeline.embedding.result if self.pipeline.embedding is not None else None

    @property
    def matrix(self):
        """The vectors last computed."""
        return self.pipeline.embedding.matrix if self.pipeline.embedding is not None else None

    def missing_text(self) -> str:
        """What the map on screen lacks, in words."""
        view = self.pipeline.map
        return view.embedding.missing_text() if view is not None else ""

    def quality_text(self) -> str:
        """The map's quality figures in words, with the best representation rated so far."""
        view = self.pipeline.map
        return self.display.quality_text(view.quality, view.catalog) if view is not None else ""

    def select_at(self, x: float, y: float, max_distance: float | None = None):
        """Tap at map position (x, y): the nearest object becomes ``selected_id``; returns its row."""
        return self.pointer.select_at(self.pipeline.map, x, y, max_distance)

    def select_box(self, x0: float, y0: float, x1: float, y1: float) -> list[str]:
        """Box select: passing objects inside the box become the selection (object_ids returned)."""
        return self.pointer.select_box(self.pipeline.map, x0, y0, x1, y1)

    def select_lasso(self, xs, ys) -> list[str]:
        """Lasso select: passing objects inside the polygon become the selection (object_ids returned)."""
        return self.pointer.select_lasso(self.pipeline.map, xs, ys)

    def hover_at(self, x: float, y: float, radius: float | None = None) -> str:
        """The object under the pointer at (x, y) becomes ``hovered_id``."""
        return self.pointer.hover_at(self.pipeline.map, x, y, radius)

    def neighbours(self, key=None, k: int | None = None) -> pd.DataFrame:
        """k nearest objects to ``key`` (default: the tapped object) in the vector space of the map on
        screen (standardised and block-weighted as the map, with its distance)."""
        key = self.pointer.selected_id if key is None else key
        view = self.pipeline.map
        cols = ["object_id", "row", "distance"]
        if key in (None, "") or view is None or view.catalog is not self.session.catalog:
            return pd.DataFrame(columns=cols)
        row = self.session.row_of(key)
        rows, dist = view.neighbours(row, int(k or self.display.k_neighbours))
        return pd.DataFrame({"object_id": view.catalog.object_ids[rows].astype(str), "row": rows, "distance": dist})

    def light_curve_frame(self, key=None) -> pd.DataFrame:
        """The object's observations plus ``used`` (fed to the model of the map on screen) and ``phase``."""
        view = self.pipeline.map
        emb = view.embedding if view is not None else self.pipeline.embedding
        return self.curves.light_curve_frame(key, emb)

    def points_frame(self, column: str | None = None) -> pd.DataFrame:
        """Map table of embedded objects: x, y, row, object_id, user_label, the colour column as ``color``
        and ``passes`` (False: filtered out, drawn grey)."""
        view = self.pipeline.map
        if view is None or view.catalog is not self.session.catalog:
            return pd.DataFrame(columns=["x", "y", "row", "object_id", USER_LABEL, "color", "passes"])
        rows, cat = view.index.valid_rows, view.catalog
        values, _ = self.display.color_values(column, cat)
        return pd.DataFrame({"x": view.coords[rows, 0], "y": view.coords[rows, 1], "row": rows,
                             "object_id": cat.object_ids[rows].astype(str),
                             USER_LABEL: self.labelling.label_array(cat)[rows], "color": values[rows],
                             "passes": self.filtering.passes(rows)})

    def summary(self, column: str, *, bins: int = 30, log: bool | None = None, highlight=None) -> pd.DataFrame:
        """Counts of one linked chart (``highlight``: ``highlighted()`` when already computed)."""
        highlight = self.pointer.highlighted() if highlight is None else highlight
        return self.filtering.summary(column, highlight, bins=bins, log=log)

    # ------------------------------------------------------------------ labels
    @property
    def selection(self) -> pd.DataFrame:
        """The selected objects' rows of ``catalog.objects`` (selection order) plus their ``user_label``."""
        cat = self.session.require()
        rows = cat.indices_of(self.pointer.selection_ids)
        frame = cat.objects.iloc[rows].drop(columns=[c for c in INTERNAL_COLUMNS[1:] if c in cat.objects.columns])
        frame = frame.reset_index(drop=True)
        labels = self.labelling.labels
        frame[USER_LABEL] = labels.reindex(frame["object_id"].astype(str)).to_numpy() if len(labels) else pd.NA
        view = self.pipeline.map
        if view is not None and view.catalog is cat and len(rows):
            frame["x"], frame["y"] = view.coords[rows, 0], view.coords[rows, 1]
        return frame

    def assign_label(self, label: str | None = None, target: str = "tapped") -> list[str]:
        """Give ``label`` (default: ``label_choice``) to the tapped object or the selection; returns the ids."""
        if target == "tapped":
            ids = [self.pointer.selected_id] if self.pointer.selected_id else []
        elif target == "selection":
            ids = list(self.pointer.selection_ids)
        else:
            raise ValueError(f"target must be 'tapped' or 'selection', got {target!r}")
        return self.labelling.assign(ids, label, what="tapped object" if target == "tapped" else "selection")

    def suggest(self, k: int = 10) -> pd.DataFrame:
        """Propose labels for unlabelled objects from their labelled neighbours in the map's space."""
        view = self.pipeline.map
        return self.labelling.suggest(view.embedding if view is not None else None, self.pipeline.metric, k=k)

    def label_next(self) -> list[str]:
        """The objects to label next, chosen in the space of the map on screen (see ``Discovery``)."""
        return self.discovery.label_next(self.pipeline.map)

    def classify(self) -> pd.DataFrame:
        """Classify every object from the manual labels, in the space of the map on screen."""
        return self.discovery.classify(self.pipeline.map)

    def find_anomalies(self) -> pd.DataFrame:
        """Rank every object by how odd it is (with the saved feedback), in the map's space."""
        return self.discovery.find_anomalies(self.pipeline.map)

    def fine_tune(self, name: str | None = None, **kwargs):
        """Fine-tune the chosen Astromer model on the open catalog's chosen bands (see ``FineTuning``)."""
        bands = list(self.pipeline.bands_arg() or []) or None
        return self.tuning.fine_tune(name, bands=bands, **kwargs)

    # ------------------------------------------------------------------ export and URL
    def provenance(self) -> dict:
        """Provenance record of the map on screen (its own model/output/reduction, UMAP parameters)."""
        from .export import build_provenance

        view = self.pipeline.map
        emb = view.embedding if view is not None else self.pipeline.embedding
        meta = emb.meta if emb is not None else {}
        spec = emb.spec if emb is not None else None
        umap = {k: v for k, v in view.params.items() if k != "method"} if view is not None and view.stage == "umap" \
            else None
        m = self.models
        return build_provenance(
            self.session.catalog, embedding_meta=meta, projection=umap,
            model=(spec.model if spec else m.model) or None, output=spec.output if spec else m.output,
            reduction=spec.reduction if spec else m.reduction,
            bands=list(spec.bands) if spec and spec.bands else self.pipeline.bands_arg(),
            seed=meta.get("seed", SEED), representation=spec.representation if spec else None)

    def export(self, what: str, fmt: str = "csv") -> tuple[bytes, str]:
        """``(bytes, filename)`` of an export: ``labels``, ``selection``, ``embeddings`` or ``coordinates``."""
        from . import export as ex

        prov = self.provenance()
        if what == "labels":
            return ex.export_labels(self.labelling.label_store, prov, fmt)  # with each label's origin
        if what == "selection":
            return ex.export_selection(self.selection, prov, fmt)
        if what in ("predictions", "anomalies"):
            made = self.discovery.provenance(what)  # says what to do first when there is nothing yet
            table = self.discovery.predictions if what == "predictions" else self.discovery.anomalies
            return ex.export_table(table, {**prov, what: made}, fmt, kind=what)
        view, cat = self.pipeline.map, self.session.catalog
        if view is None or view.catalog is not cat:
            raise ExplorerError("nothing to export yet: the map is not computed")
        rows = view.index.valid_rows
        ids = cat.object_ids[rows]
        if what == "embeddings":
            return ex.export_embeddings(ids, view.embedding.matrix[rows], prov, fmt, xy=view.coords[rows])
        if what == "coordinates":
            return ex.export_coordinates(ids, view.coords[rows], prov, fmt, labels=self.labelling.labels)
        raise ExplorerError(f"unknown export {what!r} (labels, selection, embeddings, coordinates, predictions, "
                            "anomalies)")

    def url_query(self) -> dict[str, str]:
        """The view as URL query values (all strings); see ``parts/urlstate.py``."""
        return urlstate.url_query(self)[0]

    def apply_url_query(self, query: dict) -> list[str]:
        """Restore a view from URL query values (parsed with bounds); returns the problems."""
        return urlstate.apply_url_query(self, query)

    def restore(self, query: dict) -> list[str]:
        """Apply a URL query, report what could not be applied, then compute the map when a model is usable."""
        problems = self.apply_url_query(query)
        if problems:
            self.messages.fail("restoring the shared view", "; ".join(problems))
        if self.session.catalog is not None and self.pipeline.can_compute():
            self.pipeline.run()
            if problems:  # still said once the map is ready, by key only (the values are in the notification)
                keys = list(dict.fromkeys(p.split(" ", 1)[0].rstrip(":") for p in problems))
                self.messages.say(f"{self.messages.status} Not applied from the shared link: {', '.join(keys)} "
                                  "(see the notification).")
        elif self.session.catalog is not None and self.models.model:
            self.models.check_model()  # says why the chosen model cannot be used
        return problems

    def open_embeddings(self, out_dir) -> list[str]:
        """Show what a scale-out job wrote to ``out_dir`` for the open catalog, without recomputing;
        returns the ids of catalog objects the folder lacks (named in the status)."""
        from .parts.given import open_embeddings

        return open_embeddings(self, out_dir)
