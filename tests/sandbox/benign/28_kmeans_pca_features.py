# expect: cluster_features.csv
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler


def transform(df):
    out = df.copy()
    num = out[["age", "income"]].fillna(out[["age", "income"]].median())
    z = StandardScaler().fit_transform(num)
    km = KMeans(n_clusters=4, n_init=4, random_state=0).fit(z)
    out["cluster"] = km.labels_
    out["dist_to_center"] = np.linalg.norm(z - km.cluster_centers_[km.labels_], axis=1)
    comps = PCA(n_components=2, random_state=0).fit_transform(z)
    out["pc1"], out["pc2"] = comps[:, 0], comps[:, 1]
    return out


res = transform(pd.read_csv("input.csv"))
res.to_csv("cluster_features.csv", index=False)
