"""Offline Amplifier modules: a real ``AmplifierSession`` with no network and no API keys.

Used by the tests and by ``amplifier-model-router verify``. Not entry points (the user's Amplifier
never sees them): importable packages in :mod:`.modules`, put on ``sys.path`` by
:func:`offline_mount_plan`:

- ``model-router-loop`` (orchestrator, loop-basic's shape) - :mod:`.loop`
- ``model-router-context`` (in-memory context) - :mod:`.context`
- ``provider-model-router-sim`` (catalog-backed provider with faults; it answers the prompt's
  script, :mod:`.script`) - :mod:`.provider`
- ``tool-model-router-delegate`` (tool-delegate's contract) - :mod:`.delegate`

amplifier-core ships none of these (its ``testing`` helpers neither call providers nor run
tools), and loop-basic, context-simple and tool-delegate are not on PyPI.

:func:`offline_mount_plan` builds the session config; :data:`RECORDER` tells which provider and
model every session's calls went to.
"""

from __future__ import annotations

from .plan import offline_mount_plan
from .recorder import RECORDER, CallRecorder, CatalogCall, CompletionCall

__all__ = ["RECORDER", "CallRecorder", "CatalogCall", "CompletionCall", "offline_mount_plan"]
