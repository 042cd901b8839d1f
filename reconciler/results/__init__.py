"""What operations return, each with `to_json()`: every layer may import these (STYLE §1).

render/ and the faces lay these out; they never import apply/ or live/ to reach them. One module
per operation family below, every type re-exported here: `from reconciler.results import X`.
"""

from reconciler.results.explain import ExplainReport, Origin, Provenance
from reconciler.results.imports import ImportedClient, ImportedModule, ImportReport
from reconciler.results.runs import (
    OUTCOMES,
    ApplyReport,
    ClientResult,
    ClientSnapshot,
    Clock,
    Outcome,
    RunDetail,
    RunInfo,
    RunList,
    RunMeta,
    summarize_results,
    utc_now,
)
from reconciler.results.status import ClientStatus, InitResult, StatusReport
from reconciler.results.validation import ValidationReport

__all__ = [
    "OUTCOMES",
    "ApplyReport",
    "ClientResult",
    "ClientSnapshot",
    "ClientStatus",
    "Clock",
    "ExplainReport",
    "ImportReport",
    "ImportedClient",
    "ImportedModule",
    "InitResult",
    "Origin",
    "Outcome",
    "Provenance",
    "RunDetail",
    "RunInfo",
    "RunList",
    "RunMeta",
    "StatusReport",
    "ValidationReport",
    "summarize_results",
    "utc_now",
]
