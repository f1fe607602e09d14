"""Serves model.pkl over HTTP with Flask.

GET /          health: answers once the model is loaded (the Kubernetes probes call it)
POST /predict  {"features": [5.1, 3.5, 1.4, 0.2]} or a batch {"features": [[...], [...]]}
               -> {"prediction": [0]}
"""
import os
import pickle

from flask import Flask, jsonify, request

MODEL_PATH = os.environ.get("MODEL_PATH", "model.pkl")

with open(MODEL_PATH, "rb") as model_file:
    model = pickle.load(model_file)
N_FEATURES = model.n_features_in_

app = Flask(__name__)


def as_rows(features):
    """One sample (a list of numbers) or a batch (a list of such lists) as rows; None if malformed."""
    if not isinstance(features, list) or not features:
        return None
    rows = features if isinstance(features[0], list) else [features]
    for row in rows:
        if not isinstance(row, list) or len(row) != N_FEATURES:
            return None
        if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in row):
            return None
    return rows


@app.get("/")
def health():
    return jsonify(status="ok")


@app.post("/predict")
def predict():
    payload = request.get_json(silent=True)
    rows = as_rows(payload.get("features") if isinstance(payload, dict) else None)
    if rows is None:
        message = f'send JSON {{"features": [...]}} with {N_FEATURES} numbers, or a list of such lists'
        return jsonify(error=message), 400
    return jsonify(prediction=model.predict(rows).tolist())


if __name__ == "__main__":
    # Flask's own server is enough for the dev loop; put gunicorn in front for production traffic.
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8080")))
