"""Edit requests: one schema, loaders for the public formats, and the embedded dataset."""
from .answers import AliasGroups, alias_groups, matches, normalize_answer, starts_with
from .loading import RequestList, load_requests
from .schema import EditDataError, EditRequest, Probe

__all__ = [
    "AliasGroups", "EditDataError", "EditRequest", "Probe", "RequestList",
    "alias_groups", "load_requests", "matches", "normalize_answer", "starts_with",
]
