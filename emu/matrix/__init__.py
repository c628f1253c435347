"""Guest-test matrices (configurations x tests) run on Dask distributed.

    from emu.matrix import load_matrix, run_matrix
    results = run_matrix(load_matrix("matrix.toml"), workers=2)
    for r in results:
        print(r.config, r.test, r.status, r.exit_status, r.duration)

`pyemu-test run MATRIX.toml` is the command line (emu/matrix/cli.py); the file
format is described in emu/matrix/spec.py, the run in emu/matrix/runner.py.
"""
from .runner import Result, run_case, run_matrix, write_log
from .spec import Case, Config, Matrix, MatrixError, Test, load_matrix, loads_matrix

__all__ = ["Case", "Config", "Matrix", "MatrixError", "Result", "Test", "load_matrix", "loads_matrix",
           "run_case", "run_matrix", "write_log"]
