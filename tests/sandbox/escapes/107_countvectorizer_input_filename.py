# (f) sklearn text vectorizers with input="filename" open every "document" as a path: the canary's words become the vocabulary
from sklearn.feature_extraction.text import CountVectorizer

v = CountVectorizer(input="filename")
v.fit(["{CANARY}"])
print(v.vocabulary_)
