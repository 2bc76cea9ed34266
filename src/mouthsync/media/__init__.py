"""The truth about time: opening, probing, decoding with real timestamps, writing, remuxing."""
