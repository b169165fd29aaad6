"""The build room of the embedded default models (build-time only; not part of the secbert-edge wheel).

Everything here exists to build and evaluate the two defaults shipped under models/: the data generators
(guard_data, judge_data), the real-text readers (corpora), the held-out evaluation (heldout), masked-LM pretraining
(pretrain) and the build itself (build). It imports secbert_edge's export/training side (the export extra); the
runtime never imports it. Entry points: models/build_demo.py, models/evaluate.py, models/probe.py,
models/bench_default.py (each puts models/ on sys.path by being run from it; pytest does so with its pythonpath).
"""
