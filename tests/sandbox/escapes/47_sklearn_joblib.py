# joblib reached through sklearn to load a pickle
import sklearn.utils
sklearn.utils.parallel.joblib.load("evil.pkl")
