"""The model choice: which models the engine lists, the chosen one, its output and reduction."""

from __future__ import annotations

import logging

import param

from explorer.families import default_output, outputs_for
from explorer.errors import ExplorerError, ModelError

from .common import HOW_TO_GET_A_MODEL, Messages, Part

log = logging.getLogger(__name__)

REDUCTIONS = ("non-overlapping-windows", "beginning", "middle", "end", "random-subsample", "beginning,middle,end")
ALL_OUTPUTS = outputs_for(None)  # every output giving one vector per object, of every model family


def model_choices() -> list:
    """Every model the engine knows (``ModelInfo``), hub first; empty when the engine cannot list any."""
    from explorer.engine import list_models

    try:
        infos = list(list_models())
    except ExplorerError as exc:
        log.warning("cannot list models: %s", exc)
        return []
    order = {"hub": 0, "store": 1, "path": 2}
    return sorted(infos, key=lambda m: (order.get(m.source, 3), m.name))


def default_model(infos=None) -> str | None:
    """The Hub model when cached/reachable, else ``astromer1-macho`` from the store, else any available model."""
    infos = model_choices() if infos is None else infos
    available = [m for m in infos if m.available]
    for m in available:
        if m.source == "hub":
            return m.name
    for m in available:
        if m.name == "astromer1-macho":
            return m.name
    return available[0].name if available else None


def model_label(info) -> str:
    """How a model is named in the chooser: name, source, and why it cannot be used when it cannot."""
    label = f"{info.name} [{info.source}]"
    return label if info.available else f"{label} - unavailable"


class ModelChoice(Part):
    """The model, its output and reduction; the outputs offered follow the model's kind."""

    model = param.Selector(default=None, objects=[], allow_None=True, label="Model",
                           doc="Model name as the engine lists it; unavailable ones are marked and refused.")
    output = param.Selector(default="mean", objects=list(ALL_OUTPUTS), label="Output",
                            doc="Which model output to embed with.")
    reduction = param.Selector(default="non-overlapping-windows", objects=list(REDUCTIONS), label="Reduction",
                               doc="How long light curves are cut to the model's sequence length.")
    model_infos = param.List(default=[], constant=True, doc="ModelInfo of every model the engine lists.")
    messages = param.ClassSelector(class_=Messages, constant=True, doc="Where the choice speaks.")

    def set_model_objects(self, extra: str | None = None) -> None:
        """Offer every listed model (plus ``extra`` / the chosen one, marked when not listed)."""
        names = {model_label(info): info.name for info in self.model_infos}
        for name in (extra, self.model):
            if name and name not in names.values():
                names[f"{name} - unavailable (not listed)"] = name
        self.param.model.objects = names

    def refresh_models(self, infos: list | None = None) -> list:
        """Re-list the models the engine can load (or take ``infos``); picks the default model when none is chosen."""
        self._out(model_infos=model_choices() if infos is None else list(infos))
        self.set_model_objects()
        if not self.model:
            self.model = default_model(self.model_infos)
        self._fit_output_to_model()
        return self.model_infos

    def model_info(self, name: str | None = None):
        """The engine's ModelInfo of a model (default: the chosen one), None when it is not listed."""
        name = name or self.model
        for info in self.model_infos:
            if info.name == name:
                return info
        return None

    def model_kind(self, name: str | None = None) -> str | None:
        """Kind of a model ("astromer1", "astromer2", "atcat") from the listing, None when unknown."""
        info = self.model_info(name)
        return info.kind if info is not None else None

    def model_available(self, name: str | None = None) -> bool:
        """True when the model is listed and usable without network."""
        info = self.model_info(name)
        return bool(info is not None and info.available)

    def check_model(self, name: str | None = None) -> str:
        """The model name when it can be used; ModelError saying why not otherwise."""
        name = name or self.model
        if not name:
            raise ModelError(HOW_TO_GET_A_MODEL)
        info = self.model_info(name)
        known = ", ".join(i.name for i in self.model_infos if i.available) or "none"
        if info is None:
            raise ModelError(f"model {name!r} is not one of the listed models (available: {known})")
        if not info.available:
            raise ModelError(f"model {name!r} is unavailable: {info.detail}. Choose an available model "
                             f"(available: {known}).")
        return name

    def output_options(self) -> list[str]:
        """Outputs valid for the chosen model's kind."""
        return list(outputs_for(self.model_kind()))

    @param.depends("model", watch=True)
    def _fit_output_to_model(self):
        options = self.output_options()
        self.param.output.objects = options
        if self.output not in options:
            preferred = default_output(self.model_kind())
            self.output = preferred if preferred in options else options[0]

    @param.depends("model", watch=True)
    def say_model_state(self):
        """Say why the chosen model cannot be used, when it cannot."""
        if self.model and self.model_infos and not self.model_available():
            try:
                self.check_model()
            except ModelError as exc:
                self.messages.fail(f"choosing model {self.model!r}", exc)
