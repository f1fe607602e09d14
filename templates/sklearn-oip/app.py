"""Serves model.pkl over the Open Inference Protocol's REST API (KServe v2, MLServer and Triton
speak it), with Python's standard library only.

GET  /v2/health/live, /v2/health/ready    200 once the model is loaded
GET  /v2                                   server metadata
GET  /v2/models/{{name}}                   model metadata: the inputs and outputs, their datatypes and shapes
GET  /v2/models/{{name}}/ready             200 when the model is ready
POST /v2/models/{{name}}/infer             {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32",
                                           "data": [5.1, 3.5, 1.4, 0.2]}]} -> {"outputs": [{"name": "predict", ...}]}
POST /v2/repository/index                  the models this server has
Anything else is 404, and a request the model cannot take is 400 with {"error": "..."}.
"""
import json
import os
import pickle
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_NAME = "{{name}}"
MODEL_PATH = os.environ.get("MODEL_PATH", "model.pkl")
PORT = int(os.environ.get("PORT", "8080"))

with open(MODEL_PATH, "rb") as model_file:
    model = pickle.load(model_file)
N_FEATURES = model.n_features_in_

METADATA = {
    "name": MODEL_NAME,
    "versions": [],
    "platform": "sklearn",
    "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, N_FEATURES]}],
    "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}],
}


def infer(request):
    """One input tensor of rows of features, row-major (flat or nested), in; one output of classes out."""
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise ValueError("send exactly one input tensor")
    tensor = inputs[0]
    shape, data = tensor.get("shape"), tensor.get("data")
    if not isinstance(shape, list) or len(shape) != 2 or shape[1] != N_FEATURES:
        raise ValueError(f"input shape must be [rows, {N_FEATURES}], got {shape}")
    flat = [value for row in data for value in row] if data and isinstance(data[0], list) else data
    if not isinstance(flat, list) or len(flat) != shape[0] * shape[1]:
        raise ValueError(f"data must hold {shape[0]} x {shape[1]} numbers")
    rows = [flat[index:index + N_FEATURES] for index in range(0, len(flat), N_FEATURES)]
    classes = model.predict(rows).tolist()
    return {
        "model_name": MODEL_NAME,
        "id": request.get("id") or str(uuid.uuid4()),
        "outputs": [{"name": "predict", "datatype": "INT64", "shape": [len(classes)], "data": classes}],
    }


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{MODEL_NAME}/ready"):
            return self.answer(200, {})
        if self.path == "/v2":
            return self.answer(200, {"name": "sklearn-oip", "version": "1", "extensions": ["model_repository"]})
        if self.path == f"/v2/models/{MODEL_NAME}":
            return self.answer(200, METADATA)
        self.answer(404, {"error": f"not found: {self.path}"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/v2/repository/index":
            return self.answer(200, [{"name": MODEL_NAME, "version": "", "state": "READY", "reason": ""}])
        if self.path != f"/v2/models/{MODEL_NAME}/infer":
            return self.answer(404, {"error": f"not found: {self.path}"})
        try:
            self.answer(200, infer(json.loads(body)))
        except (ValueError, TypeError, AttributeError) as error:
            self.answer(400, {"error": str(error)})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)  # listening from here on
    print(f"Open Inference Protocol server for model {MODEL_NAME} listening on port {PORT}", flush=True)
    server.serve_forever()
