"""mouthsync: measure, fix and validate lip sync in talking-head video, offline on a CPU.

Stages live in folders and data flows one way: ``media`` -> ``audio`` / ``face`` -> ``sync``
(later ``validate``, ``synth``, ``report``). ``core`` holds what every stage shares.
"""

__version__ = "0.1.0"
