"""Writes N different iris models (model-0.pkl ... ) into /out: the benchmark's "model change" edits.
Run inside the base image so the scikit-learn version matches the serving image. A random C per
model makes every pickle unique, so no build (in this run or an earlier one) can reuse a layer."""
import pickle
import random
import sys

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

iris = load_iris()
for index in range(int(sys.argv[1])):
    model = LogisticRegression(max_iter=1000, C=1.0 + random.random() * 0.5)
    model.fit(iris.data, iris.target)
    assert list(model.predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])) == [0, 2]
    with open(f"/out/model-{index}.pkl", "wb") as model_file:
        pickle.dump(model, model_file)
