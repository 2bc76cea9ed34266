"""Sync stage: how far the sound is from the picture, where, and how to correct it.

``check_sync`` (``sync.delay``) measures and returns a ``SyncReport`` (``sync.report``),
from the two signals of ``sync.signals`` compared by the search of ``sync.search`` over the
speech timelines ``sync.sources`` picks; ``fix_sync`` (``sync.correct``) corrects; ``sync.plot`` and ``sync.html_report`` draw a report for people. Importing this
package loads nothing heavy.
"""
