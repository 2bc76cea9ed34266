"""Sync stage: how far the sound is from the picture, where, and how to correct it.

``check_sync`` / ``SyncReport`` (``sync.delay``) measure; ``fix_sync`` (``sync.correct``)
corrects; ``sync.plot`` and ``sync.html_report`` draw a report for people. Importing this
package loads nothing heavy.
"""
