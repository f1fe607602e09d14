"""The iris service of fixtures/iris-sklearn plus two benchmark hooks (bench/ only):
GET /version answers a fingerprint of the files the image was built from, so a hand-run poll knows
the new version is the one answering; POST /flood writes log lines at a fixed rate for a while."""
import hashlib
import logging
import os
import pickle
import sys
import threading
import time

from flask import Flask, jsonify, request

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_PATH = os.environ.get("MODEL_PATH", os.path.join(HERE, "model.pkl"))
# The benchmark's code edits rewrite this line.
BENCH_EDIT = "initial"


def fingerprint():
    digest = hashlib.sha256()
    for name in ("app.py", "model.pkl", "requirements.txt"):
        with open(os.path.join(HERE, name), "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()


VERSION = fingerprint()
app = Flask(__name__)
with open(MODEL_PATH, "rb") as model_file:
    model = pickle.load(model_file)
flood = {"written": 0, "done": False, "running": False}


@app.route("/", methods=["GET"])
def index():
    return "Iris model service is running\n"


@app.route("/version", methods=["GET"])
def version():
    return VERSION


@app.route("/predict", methods=["POST"])
def predict():
    payload = request.get_json(silent=True) or {}
    if "features" not in payload:
        return jsonify({"error": "request body must be JSON with a 'features' key: 4 floats"}), 400
    features = payload["features"]
    if not isinstance(features, list) or len(features) != 4:
        return jsonify({"error": "'features' must be a list of 4 numbers"}), 400
    prediction = model.predict([features])
    return jsonify({"prediction": [int(value) for value in prediction]})


def write_lines(rate, seconds):
    # Paced by the clock, in small batches: exactly rate * seconds lines, evenly over the period.
    total = rate * seconds
    started = time.monotonic()
    while flood["written"] < total:
        due = min(total, int((time.monotonic() - started) * rate) + 1)
        batch = "".join(f"flood line {seq} of {total}: the quick brown fox jumps over the lazy dog\n" for seq in range(flood["written"], due))
        sys.stdout.write(batch)
        sys.stdout.flush()
        flood["written"] = due
        time.sleep(0.01)
    flood["done"] = True


@app.route("/flood", methods=["POST", "GET"])
def start_flood():
    if request.method == "GET":
        return jsonify(flood)
    if flood["running"]:
        return jsonify(flood), 409
    payload = request.get_json(silent=True) or {}
    # Request lines would mix with the flood: the pod then prints exactly the flood's lines, which
    # the benchmark compares with what reached mlkube's log store.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    flood["running"] = True
    threading.Thread(target=write_lines, args=(int(payload.get("rate", 5000)), int(payload.get("seconds", 30))), daemon=True).start()
    return jsonify(flood), 202


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
