"""Offline Amplifier modules: a real ``AmplifierSession`` with no network and no API keys.

Used by the tests and by ``amplifier-model-router verify``. Not entry points (the user's Amplifier
never sees them): importable packages in :mod:`.modules`, put on ``sys.path`` by
:func:`offline_mount_plan`:

- ``model-router-loop`` (orchestrator, loop-basic's shape) - :mod:`.loop`
- ``model-router-context`` (in-memory context) - :mod:`.context`
- ``provider-model-router-sim`` (catalog-backed provider with faults) - :mod:`.provider`
- ``tool-model-router-delegate`` (tool-delegate's contract) - :mod:`.delegate`

:func:`offline_mount_plan` builds the session config; :data:`RECORDER` tells which provider and
model every session's calls went to. The prompt script language is described in :mod:`.script`.
"""

from __future__ import annotations

from .plan import offline_mount_plan
from .recorder import RECORDER, CallRecorder, CatalogCall, CompletionCall

__all__ = ["RECORDER", "CallRecorder", "CatalogCall", "CompletionCall", "offline_mount_plan"]
