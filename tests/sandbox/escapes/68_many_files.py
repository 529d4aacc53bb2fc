# exhaust inodes / the caller's directory listing with many small files
# layer: os (resource exhaustion: the kernel layers and limits stop it, not the language layer)
# expect-error: PolicyViolation
for i in range(100000):
    with open(f"f_{i}.txt", "w") as f:
        f.write("x")
