"""Quick start: train the notebook's network on IMDB and score it on the test set."""

from sklearn.pipeline import Pipeline

from skimdb import IMDBNet, MultiHotVectorizer
from skimdb.datasets import load_data

(X_train, y_train), (X_test, y_test) = load_data(num_words=10000)
pipe = Pipeline([("vec", MultiHotVectorizer()), ("clf", IMDBNet(random_state=0))])
pipe.fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")
