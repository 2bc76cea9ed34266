"""What is said and when: speech activity, phones, visemes, lip events, mouth-shape export.

Public entry points: :func:`mouthsync.audio.timeline.speech_timeline` and
:func:`mouthsync.audio.visemes.expected_opening`.
"""
