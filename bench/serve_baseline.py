"""The wrapper users write today: FastAPI around a joblib-loaded scikit-learn
model, or around an onnxruntime session. It speaks the same OIP v2 JSON as
mle serve (so one load generator drives both) and parses it the fast way,
request.json() and numpy, not per-field pydantic models.

    MLE_BASELINE=sklearn MLE_BASELINE_MODEL=pipe.joblib uvicorn serve_baseline:app --workers 2
    MLE_BASELINE=onnxruntime MLE_BASELINE_MODEL=mlp.onnx uvicorn serve_baseline:app --workers 2
"""

from __future__ import annotations

import os

import numpy as np
from fastapi import FastAPI, HTTPException, Request

KIND = os.environ["MLE_BASELINE"]
PATH = os.environ["MLE_BASELINE_MODEL"]
DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64}

app = FastAPI()

if KIND == "sklearn":
    import joblib

    model = joblib.load(PATH)

    def predict(x: np.ndarray) -> list[dict]:
        label = model.predict(x)
        proba = model.predict_proba(x)
        return [
            {"name": "label", "datatype": "INT64", "shape": list(label.shape), "data": label.tolist()},
            {"name": "probabilities", "datatype": "FP64", "shape": list(proba.shape), "data": proba.ravel().tolist()},
        ]
else:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one worker process per core
    sess = ort.InferenceSession(PATH, opts, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    out_names = [o.name for o in sess.get_outputs()]

    def predict(x: np.ndarray) -> list[dict]:
        outs = sess.run(None, {in_name: x})
        res = []
        for name, o in zip(out_names, outs):
            o = np.asarray(o)
            res.append({"name": name, "datatype": "FP32" if o.dtype == np.float32 else str(o.dtype).upper(),
                        "shape": list(o.shape), "data": o.ravel().tolist()})
        return res


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    body = await request.json()
    try:
        t = body["inputs"][0]
        x = np.asarray(t["data"], dtype=DTYPES[t["datatype"]]).reshape(t["shape"])
    except (KeyError, IndexError, ValueError, TypeError) as e:
        raise HTTPException(status_code=400, detail=f"bad request: {e}")
    return {"model_name": name, "outputs": predict(x)}
