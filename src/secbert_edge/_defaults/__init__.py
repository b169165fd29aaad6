"""The embedded default model packages, installed as package data (see runtime/defaults.py)."""
