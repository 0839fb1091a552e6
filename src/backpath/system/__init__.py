"""The process and its files: atomic outputs, signals, memory, workers that die with their parent."""
