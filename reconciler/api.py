"""The product's Python API: one public function per operation (STYLE §4).

The CLI and the web dashboard are thin skins over these functions. Each function raises
`reconciler.errors.ReconcilerError` (or a subclass) for anything a user can fix.
"""

from __future__ import annotations

# Each operation lives in its own section below. Helpers implementing an operation replace
# only their own section.

# --- validate (issue 3) ---------------------------------------------------------------------

# --- init / status (issue 4) -----------------------------------------------------------------

# --- plan / apply / history / revert (issue 5) -----------------------------------------------

# --- drift / import (issue 6) ----------------------------------------------------------------
