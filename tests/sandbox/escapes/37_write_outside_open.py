# write outside the workdir with open()
with open("{CANARY}", "w") as f:
    f.write("pwned")
