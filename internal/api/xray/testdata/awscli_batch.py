# Runs several AWS CLI command lines in one Python process (the CLI's own
# entry point, awscli.clidriver), so a test pays the interpreter start-up
# once. Input on stdin: [{"args": [...], "env": {...}}, ...].
# Output on stdout: [{"code": N, "out": "...", "err": "..."}, ...].
import contextlib
import io
import json
import os
import sys

from awscli.clidriver import create_clidriver

commands = json.load(sys.stdin)
results = []
real_stdout = sys.stdout
for command in commands:
    for key, value in command.get("env", {}).items():
        os.environ[key] = value
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = create_clidriver().main(command["args"])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    results.append({"code": code, "out": out.getvalue(), "err": err.getvalue()})
json.dump(results, real_stdout)
