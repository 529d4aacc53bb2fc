# exhaust inodes / the caller's directory listing with many small files
# expect-error: PolicyViolation
for i in range(100000):
    with open(f"f_{i}.txt", "w") as f:
        f.write("x")
