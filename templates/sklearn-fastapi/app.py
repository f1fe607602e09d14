"""Serves model.pkl over HTTP with FastAPI.

GET /          health: answers once the model is loaded (the Kubernetes probes call it)
POST /predict  {"features": [5.1, 3.5, 1.4, 0.2]} or a batch {"features": [[...], [...]]}
               -> {"prediction": [0]}; a body that does not match gets 422 from FastAPI
"""
import os
import pickle
from typing import List, Union

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL_PATH = os.environ.get("MODEL_PATH", "model.pkl")

with open(MODEL_PATH, "rb") as model_file:
    model = pickle.load(model_file)
N_FEATURES = model.n_features_in_

app = FastAPI(title="model")


class PredictRequest(BaseModel):
    features: Union[List[List[float]], List[float]]

    class Config:
        # Shown in /docs and in /openapi.json, where mlkube finds a request for a smoke test.
        schema_extra = {"example": {"features": [5.1, 3.5, 1.4, 0.2]}}


@app.get("/")
def health():
    return {"status": "ok"}


# A plain (not async) function: FastAPI runs it in a thread pool, so a slow prediction does not
# stall the event loop that serves the health checks.
@app.post("/predict")
def predict(request: PredictRequest):
    rows = request.features if request.features and isinstance(request.features[0], list) else [request.features]
    if not rows or any(len(row) != N_FEATURES for row in rows):
        raise HTTPException(status_code=400, detail=f"each sample needs {N_FEATURES} features")
    return {"prediction": model.predict(rows).tolist()}
