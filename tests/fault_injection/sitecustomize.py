"""Fault injection for tests/test_faults.py, loaded by a server subprocess whose PYTHONPATH starts with this folder
(Python imports ``sitecustomize`` at start-up), so production code carries no test hook.

It wraps ``onnxruntime.InferenceSession.run``: a batch whose ``input_ids`` hold the token sequence in
``SECBERT_FAULT_FAIL_IDS`` raises ONNX Runtime's own ``Fail``; one holding ``SECBERT_FAULT_SLOW_IDS`` first sleeps
``SECBERT_FAULT_SLEEP_S`` seconds (a slow model, to fill the queue or catch requests in flight), and then, while the
file named by ``SECBERT_FAULT_HOLD`` exists (at most HOLD_MAX_S), waits for it to go: a test that must act while a
job is scoring holds the job there until it has. Other batches, the warm-up included, run untouched.
"""

from __future__ import annotations

import os


def _ids(name: str) -> list[int] | None:
    value = os.environ.get(name)
    return [int(x) for x in value.split(",")] if value else None


FAIL = _ids("SECBERT_FAULT_FAIL_IDS")
SLOW = _ids("SECBERT_FAULT_SLOW_IDS")
SLEEP_S = float(os.environ.get("SECBERT_FAULT_SLEEP_S", "0.3"))
HOLD = os.environ.get("SECBERT_FAULT_HOLD")
HOLD_MAX_S = 60.0

if FAIL or SLOW:
    import time

    import numpy as np
    import onnxruntime as ort
    from onnxruntime.capi.onnxruntime_pybind11_state import Fail

    def _holds(ids: object, marker: list[int]) -> bool:
        rows = np.asarray(ids)
        if rows.ndim != 2 or rows.shape[1] < len(marker):
            return False
        windows = np.lib.stride_tricks.sliding_window_view(rows, len(marker), axis=1)
        return bool((windows == np.asarray(marker)).all(axis=-1).any())

    _run = ort.InferenceSession.run

    def run(self, output_names, input_feed, run_options=None):  # noqa: ANN001, ANN201  (ORT's own signature)
        ids = input_feed.get("input_ids")
        if ids is not None and SLOW and _holds(ids, SLOW):
            time.sleep(SLEEP_S)
            held = time.monotonic()
            while HOLD and os.path.exists(HOLD) and time.monotonic() - held < HOLD_MAX_S:
                time.sleep(0.05)
        if ids is not None and FAIL and _holds(ids, FAIL):
            raise Fail("injected fault: a kernel failed on this batch")
        return _run(self, output_names, input_feed, run_options)

    ort.InferenceSession.run = run
