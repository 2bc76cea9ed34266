"""Face stage: where the mouth is and what shape it has (tracking, mouth measures, quality, smoothing)."""
