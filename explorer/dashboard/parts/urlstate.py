"""The view as URL query values, and back: parsed here with bounds, so that a malformed or hostile
value is refused with a message and the page always builds."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import param

from explorer.errors import ExplorerError

URL_KEYS = ("catalog", "model", "output", "reduction", "bands", "color", "n_neighbors", "min_dist", "object",
            "rep", "concat", "metric", "guided", "tw", "rate")
MAX_VALUE = 1000  # characters of one URL value; longer ones are refused (and never written)
MAX_URL_ID = 200  # object ids longer than this are kept out of the shared URL
_INT = re.compile(r"^[0-9]{1,6}$")
_FLOAT = re.compile(r"^[0-9]{0,6}(\.[0-9]{0,8})?(e-?[0-9]{1,2})?$", re.IGNORECASE)


def encode_list(values) -> str:
    """A list as one URL value: items percent-encoded (commas included), joined by commas."""
    return ",".join(quote(str(v), safe="") for v in values)


def decode_list(text: str) -> list[str]:
    """The items of ``encode_list`` (plain ``a,b`` values of older links read the same)."""
    return [unquote(v) for v in text.split(",") if v]


def parse_int(text: str, what: str) -> int:
    """An integer URL value of at most six digits; ValueError naming ``what`` otherwise."""
    if not _INT.match(text):
        raise ValueError(f"{what} {text[:40]!r}{'...' if len(text) > 40 else ''}: not a small whole number")
    return int(text)


def parse_float(text: str, what: str) -> float:
    """A short decimal URL value; ValueError naming ``what`` otherwise."""
    if not text or not _FLOAT.match(text):
        raise ValueError(f"{what} {text[:40]!r}{'...' if len(text) > 40 else ''}: not a short decimal number")
    return float(text)


def url_query(state) -> tuple[dict[str, str], list[str]]:
    """``(query, notes)``: the view as URL values (all strings) and what was kept out of it, in words;
    uploads and in-memory catalogs have no ``catalog``."""
    s, notes = state, []
    query = {}
    src = s.session.sources.get(s.session.catalog_label)
    if s.catalog is not None and isinstance(src, str):
        query["catalog"] = s.session.catalog_label
    if s.models.model:
        query["model"] = s.models.model
    query.update(output=s.models.output, reduction=s.models.reduction, color=s.display.color_by,
                 n_neighbors=str(int(s.pipeline.n_neighbors)), min_dist=f"{float(s.pipeline.min_dist):g}")
    if s.catalog is not None and len(s.catalog.bands) > 1:
        query["bands"] = encode_list(s.pipeline.bands)
        query["concat"] = "1" if s.pipeline.concat_bands else "0"
    query.update(rep=s.pipeline.representation, metric=s.pipeline.metric)
    if s.pipeline.guided:
        query.update(guided="1", tw=f"{float(s.pipeline.target_weight):g}")
    if s.display.quality_column:
        query["rate"] = s.display.quality_column
    oid = s.pointer.selected_id
    if oid and len(oid) <= MAX_URL_ID:
        query["object"] = oid
    elif oid:
        notes.append(f"the tapped object's id is {len(oid)} characters long: it is not put in the shared link")
    for key, value in list(query.items()):
        if len(value) > MAX_VALUE:
            del query[key]
            notes.append(f"{key} is too long to share in the link ({len(value)} characters)")
    return query, notes


def apply_url_query(state, query: dict) -> list[str]:
    """Restore a view from URL query values (strings, parsed here with bounds); returns the problems.

    The catalog must be one of the listed catalogs or a path inside the allowed folders; the model one
    of the listed models (never a path).  Values that cannot be applied are named and left as they were.
    """
    problems: list[str] = []
    q = {}
    for k, v in query.items():
        if k not in URL_KEYS or v is None:
            continue
        v = str(v)
        if len(v) > MAX_VALUE:
            problems.append(f"{k}: a value of {len(v)} characters is longer than the {MAX_VALUE} allowed")
            continue
        q[k] = v
    session = state.session
    was = session.opening
    session.opening = True  # one restore, one computation: no auto-start per restored value
    try:
        _apply(state, q, problems)
    finally:
        session.opening = was
    return problems


def _apply(state, q: dict, problems: list) -> None:
    s = state

    def attempt(what, fn):
        try:
            fn()
        except (ExplorerError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{what}: {exc}")

    if "catalog" in q and q["catalog"] != s.session.catalog_label:
        attempt(f"catalog {q['catalog']!r}", lambda: s.open_catalog(q["catalog"]))
        s.session.opening = True  # open() resets it
    if "model" in q:
        if s.models.model_info(q["model"]) is None:
            problems.append(f"model {q['model']!r}: not one of the listed models")
        else:
            s.models.model = q["model"]
    choices = ((s.models, "output", "output"), (s.models, "reduction", "reduction"), (s.display, "color", "color_by"),
               (s.pipeline, "rep", "representation"), (s.pipeline, "metric", "metric"),
               (s.display, "rate", "quality_column"))
    for part, key, name in choices:
        if key in q:
            if q[key] in part.param[name].objects:
                setattr(part, name, q[key])
            else:
                problems.append(f"{key} {q[key]!r}: not one of {', '.join(map(str, part.param[name].objects))}")
    p = s.pipeline
    with param.parameterized.batch_call_watchers(p):
        if "bands" in q and s.catalog is not None:
            wanted = decode_list(q["bands"])
            unknown = [b for b in wanted if b not in s.catalog.bands]
            if unknown:
                problems.append(f"bands {', '.join(map(repr, unknown))}: not in catalog {s.catalog.name!r}")
            chosen = [b for b in wanted if b in s.catalog.bands]
            if chosen:
                p.bands = chosen
        for key, name in (("concat", "concat_bands"), ("guided", "guided")):
            if key in q:
                if q[key] in ("0", "1"):
                    setattr(p, name, q[key] == "1")
                else:
                    problems.append(f"{key} {q[key][:40]!r}: not 0 or 1")
        if "tw" in q:
            attempt("tw", lambda: setattr(p, "target_weight", parse_float(q["tw"], "tw")))
        if "n_neighbors" in q:
            attempt("n_neighbors", lambda: setattr(p, "n_neighbors", parse_int(q["n_neighbors"], "n_neighbors")))
        if "min_dist" in q:
            attempt("min_dist", lambda: setattr(p, "min_dist", parse_float(q["min_dist"], "min_dist")))
    if "object" in q:
        oid = q["object"]
        if s.catalog is not None and oid in set(s.catalog.object_ids.astype(str)):
            s.pointer.selected_id = oid
        else:
            problems.append(f"object {oid[:80]!r}: not in the open catalog")
