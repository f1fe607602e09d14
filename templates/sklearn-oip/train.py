"""Trains the model and writes model.pkl.

The Dockerfile runs this at build time, so the pickle is always made by the scikit-learn version in
the image that loads it. Replace the data and the estimator with your own; keep writing model.pkl.
"""
import pickle

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

data = load_iris()
model = LogisticRegression(max_iter=1000)
model.fit(data.data, data.target)

with open("model.pkl", "wb") as model_file:
    pickle.dump(model, model_file)
print(f"trained on {len(data.data)} samples, training accuracy {model.score(data.data, data.target):.3f}")
